//! Reading the emulator back for checks: published events, delivered objects, parameters, accounts.

use serde_json::Value;

use super::{Runtime, RuntimeError, aws_error, context, emulator_for};

impl Runtime {
    /// Events the functions have published so far (bus, event), in the order they were read.
    pub fn published(&self) -> Vec<(String, Value)> {
        self.published.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether two references (logical id, name or ARN) name the same function or machine.
    pub fn same_resource(&self, a: &str, b: &str) -> bool {
        if a == b {
            return true;
        }
        let function = |x: &str| self.template.function(x).map(|f| f.id.clone());
        let machine = |x: &str| self.template.machine(x).map(|m| m.id.clone());
        (function(a).is_some() && function(a) == function(b)) || (machine(a).is_some() && machine(a) == machine(b))
    }

    /// Objects in a bucket: what Firehose delivered.
    pub fn bucket_keys(&self, bucket: &str) -> Result<Vec<String>, RuntimeError> {
        emulator_for(&self.ctx)?.bucket_keys(bucket).map_err(|e| aws_error("ListObjects")(context(&e)))
    }

    /// An object's text (a report the functions wrote).
    pub async fn object_text(&self, bucket: &str, key: &str) -> Result<String, RuntimeError> {
        crate::schedule::read_text(&self.ctx.client::<aws_sdk_s3::Client>(), bucket, key)
            .await
            .map_err(|e| aws_error("GetObject")(e.to_string()))
    }

    /// How many parameters the central account holds under `path` (for scenario checks).
    pub async fn parameters_under(&self, path: &str) -> Result<usize, RuntimeError> {
        use platform_core::ports::ParameterStore;
        let store = platform_core::aws::SsmParameterStore::new(self.ctx.client());
        store.get_by_path(path).await.map(|p| p.len()).map_err(|e| aws_error("GetParametersByPath")(e.to_string()))
    }

    /// The organisation's accounts with this e-mail, each with the name of its OU (`None` for
    /// the root), for scenario checks.
    pub async fn accounts_by_email(&self, email: &str) -> Result<Vec<(String, Option<String>)>, RuntimeError> {
        let org = self.ctx.client::<aws_sdk_organizations::Client>();
        let accounts = org.list_accounts().send().await.map_err(|e| aws_error("ListAccounts")(context(&e)))?;
        let mut out = Vec::new();
        for a in accounts.accounts().iter().filter(|a| a.email().is_some_and(|e| e.eq_ignore_ascii_case(email))) {
            let id = a.id().unwrap_or_default().to_string();
            let parents =
                org.list_parents().child_id(&id).send().await.map_err(|e| aws_error("ListParents")(context(&e)))?;
            let parent = parents.parents().first().cloned();
            let ou = match parent {
                Some(p) if p.r#type().map(|t| t.as_str()) == Some("ORGANIZATIONAL_UNIT") => {
                    let ou = org
                        .describe_organizational_unit()
                        .organizational_unit_id(p.id().unwrap_or_default())
                        .send()
                        .await
                        .map_err(|e| aws_error("DescribeOrganizationalUnit")(context(&e)))?;
                    ou.organizational_unit().and_then(|o| o.name()).map(str::to_string)
                }
                _ => None,
            };
            out.push((id, ou));
        }
        Ok(out)
    }

    /// The deployment's guard table, through the recorded clients (a decision's writes are
    /// changes of the step that made it); named as the functions get it.
    pub fn guard_table(&self) -> platform_core::guard::GuardTable {
        let name = self
            .template
            .functions
            .values()
            .find_map(|f| f.environment.get("GUARD_TABLE_NAME").cloned())
            .unwrap_or_default();
        platform_core::guard::GuardTable::new(self.recorded.client(), name)
    }

    /// Writes a parameter in the central account, as another deployment would (scenario setup).
    pub async fn put_parameter(&self, name: &str, value: &str) -> Result<(), RuntimeError> {
        use platform_core::ports::ParameterStore;
        let store = platform_core::aws::SsmParameterStore::new(self.ctx.client());
        store.put(name, value, true).await.map_err(|e| aws_error("PutParameter")(e.to_string()))
    }

    /// A parameter of the central account, if it exists.
    pub async fn parameter(&self, name: &str) -> Result<Option<String>, RuntimeError> {
        use platform_core::ports::ParameterStore;
        let store = platform_core::aws::SsmParameterStore::new(self.ctx.client());
        let names = [name.to_string()];
        store.get_many(&names).await.map(|mut m| m.remove(name)).map_err(|e| aws_error("GetParameters")(e.to_string()))
    }
}

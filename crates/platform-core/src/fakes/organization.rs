//! An in-memory organisation behind both Organizations ports, scriptable for failure paths.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::error::{AwsError, ErrorClass};
use crate::organization::{Account, AccountDirectory, AccountState, Creation, MemberDirectory};

/// The root's id; accounts without a recorded parent sit here.
pub const ROOT: &str = "r-root";

#[derive(Debug, Default)]
pub struct Org {
    pub accounts: Vec<Account>,
    pub parents: BTreeMap<String, String>,
    pub tags: BTreeMap<String, BTreeMap<String, String>>,
    pub ous: BTreeMap<String, String>,
    /// Answers for DescribeCreateAccountStatus, in order (the last repeats); when empty the
    /// account is created at the first poll.
    pub creation_script: VecDeque<Creation>,
    pub requests: BTreeMap<String, (String, String)>,
    /// Requests DescribeCreateAccountStatus answered as finished (succeeded or failed).
    pub finished: std::collections::BTreeSet<String>,
    pub calls: Vec<String>,
    /// Errors to return, per operation, in order.
    pub failures: BTreeMap<&'static str, VecDeque<AwsError>>,
}

#[derive(Debug, Default)]
pub struct MemoryOrganization(pub Mutex<Org>);

impl MemoryOrganization {
    pub fn new() -> Self {
        let org = Org {
            ous: ["Development", "Staging", "Production", "Quarantine"]
                .iter()
                .map(|n| (n.to_string(), format!("ou-{}", n.to_lowercase())))
                .collect(),
            ..Org::default()
        };
        MemoryOrganization(Mutex::new(org))
    }

    fn call(&self, op: &'static str) -> Result<std::sync::MutexGuard<'_, Org>, AwsError> {
        // A poisoned lock only means another test thread panicked; the organisation is intact.
        let mut org = self.0.lock().unwrap_or_else(|p| p.into_inner());
        org.calls.push(op.to_string());
        if let Some(e) = org.failures.get_mut(op).and_then(VecDeque::pop_front) {
            return Err(e);
        }
        Ok(org)
    }

    /// An existing account in the OU named `ou` (created when missing), as the schedules list it.
    pub fn add_member(&self, id: &str, name: &str, ou: &str) {
        let mut org = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let ou_id = org.ous.entry(ou.to_string()).or_insert_with(|| format!("ou-{}", ou.to_lowercase())).clone();
        org.accounts.push(Account {
            id: id.into(),
            name: name.into(),
            email: format!("{name}@example.com"),
            state: AccountState::Active,
            ou: None,
        });
        org.parents.insert(id.to_string(), ou_id);
    }

    pub fn calls(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).calls.clone()
    }
}

pub fn throttled(op: &'static str) -> AwsError {
    AwsError::new(ErrorClass::Throttled, op, "rate exceeded")
}

#[async_trait]
impl AccountDirectory for MemoryOrganization {
    async fn find_by_email(&self, email: &str) -> Result<Option<Account>, AwsError> {
        let org = self.call("ListAccounts")?;
        Ok(org.accounts.iter().find(|a| a.email.eq_ignore_ascii_case(email)).cloned())
    }
    async fn account(&self, id: &str) -> Result<Account, AwsError> {
        let org = self.call("DescribeAccount")?;
        org.accounts
            .iter()
            .find(|a| a.id == id)
            .cloned()
            .ok_or_else(|| AwsError::new(ErrorClass::NotFound, "DescribeAccount", format!("no account {id}")))
    }
    async fn create_account(
        &self,
        name: &str,
        email: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let mut org = self.call("CreateAccount")?;
        let id = format!("car-{}", org.requests.len() + 1);
        org.requests.insert(id.clone(), (name.to_string(), email.to_string()));
        let account = format!("{:012}", 100_000_000_000u64 + org.requests.len() as u64);
        org.tags.insert(account, tags.clone());
        Ok(id)
    }
    async fn creation(&self, request_id: &str) -> Result<Creation, AwsError> {
        let mut org = self.call("DescribeCreateAccountStatus")?;
        let scripted = if org.creation_script.len() > 1 {
            org.creation_script.pop_front()
        } else {
            org.creation_script.front().cloned()
        };
        org.finished.insert(request_id.to_string());
        match scripted {
            Some(Creation::InProgress) => {
                org.finished.remove(request_id);
                Ok(Creation::InProgress)
            }
            Some(Creation::Succeeded { .. }) | None => {
                let (name, email) = org.requests.get(request_id).cloned().ok_or_else(|| {
                    AwsError::new(
                        ErrorClass::NotFound,
                        "DescribeCreateAccountStatus",
                        format!("no request {request_id}"),
                    )
                })?;
                let n: u64 = request_id.trim_start_matches("car-").parse().unwrap_or_default();
                let id = format!("{:012}", 100_000_000_000u64 + n);
                if !org.accounts.iter().any(|a| a.id == id) {
                    org.accounts.push(Account { id: id.clone(), name, email, state: AccountState::Active, ou: None });
                    org.parents.insert(id.clone(), ROOT.into());
                }
                Ok(Creation::Succeeded { account_id: id })
            }
            Some(other) => Ok(other),
        }
    }
    async fn creation_in_progress(&self, name: &str) -> Result<Option<String>, AwsError> {
        let org = self.call("ListCreateAccountStatus")?;
        Ok(org.requests.iter().find(|(id, (n, _))| n == name && !org.finished.contains(*id)).map(|(id, _)| id.clone()))
    }
    async fn created_by(&self, account: &str) -> Result<Option<String>, AwsError> {
        let org = self.call("ListCreateAccountStatus")?;
        // A finished request's account id is derived from its number (see `creation`).
        let made = |id: &String| {
            let n: u64 = id.trim_start_matches("car-").parse().unwrap_or_default();
            format!("{:012}", 100_000_000_000u64 + n) == account
        };
        Ok(org.requests.keys().find(|id| org.finished.contains(*id) && made(id)).cloned())
    }
    async fn ou_id(&self, name: &str) -> Result<Option<String>, AwsError> {
        let org = self.call("ListOrganizationalUnitsForParent")?;
        Ok(org.ous.get(name).cloned())
    }
    async fn parent(&self, account: &str) -> Result<String, AwsError> {
        let org = self.call("ListParents")?;
        Ok(org.parents.get(account).cloned().unwrap_or_else(|| ROOT.into()))
    }
    async fn move_account(&self, account: &str, from: &str, to: &str) -> Result<(), AwsError> {
        let mut org = self.call("MoveAccount")?;
        let current = org.parents.get(account).cloned().unwrap_or_else(|| ROOT.into());
        if current != from {
            return Err(AwsError::new(ErrorClass::NotFound, "MoveAccount", "SourceParentNotFoundException"));
        }
        org.parents.insert(account.to_string(), to.to_string());
        Ok(())
    }
    async fn tags(&self, account: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let org = self.call("ListTagsForResource")?;
        Ok(org.tags.get(account).cloned().unwrap_or_default())
    }
    async fn untag(&self, account: &str, keys: &[String]) -> Result<(), AwsError> {
        let mut org = self.call("UntagResource")?;
        if let Some(t) = org.tags.get_mut(account) {
            t.retain(|k, _| !keys.contains(k));
        }
        Ok(())
    }
    async fn tag(&self, account: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        let mut org = self.call("TagResource")?;
        org.tags.entry(account.to_string()).or_default().extend(tags.clone());
        Ok(())
    }
}

#[async_trait]
impl MemberDirectory for MemoryOrganization {
    async fn members(&self) -> Result<Vec<Account>, AwsError> {
        let org = self.call("ListAccounts")?;
        let ou_names: BTreeMap<&String, &String> = org.ous.iter().map(|(name, id)| (id, name)).collect();
        let mut out: Vec<Account> = org
            .accounts
            .iter()
            .map(|a| Account {
                ou: org.parents.get(&a.id).and_then(|p| ou_names.get(p)).map(|n| n.to_string()),
                ..a.clone()
            })
            .collect();
        out.sort_by(|x, y| x.id.cmp(&y.id));
        Ok(out)
    }
}

//! Adapters: member Parameter Store through the role (Organizations, StackSets, the ledger are platform-core's).

use std::collections::BTreeMap;

use async_trait::async_trait;
use platform_core::aws::MemberClients;
use platform_core::error::{AwsError, build_error, classify};

use crate::ports::MemberParameters;

pub use platform_core::aws::CloudFormationStackSets;
pub use platform_core::organization::Organizations;

/// Parameter Store in member accounts, through the automation role.
#[derive(Debug, Clone)]
pub struct MemberSsm {
    members: MemberClients,
}

impl MemberSsm {
    pub fn new(members: MemberClients) -> Self {
        MemberSsm { members }
    }
}

#[async_trait]
impl MemberParameters for MemberSsm {
    async fn get_by_path(&self, account: &str, region: &str, path: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let store = platform_core::aws::SsmParameterStore::new(self.members.client_in(account, region));
        platform_core::ports::ParameterStore::get_by_path(&store, path).await
    }
}

/// Route 53: the member's zone through the automation role, the parent zone in this account.
#[derive(Debug, Clone)]
pub struct Route53Delegation {
    members: MemberClients,
    own: aws_sdk_route53::Client,
}

impl Route53Delegation {
    pub fn new(members: MemberClients, own: aws_sdk_route53::Client) -> Self {
        Route53Delegation { members, own }
    }
}

/// Route 53 names end with a dot; config's and the request's do not.
fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

#[async_trait]
impl crate::ports::ZoneDelegation for Route53Delegation {
    async fn member_name_servers(&self, account: &str, zone_id: &str) -> Result<Vec<String>, AwsError> {
        // Route 53 is global: any region's endpoint serves it.
        let client: aws_sdk_route53::Client = self.members.client_in(account, "us-east-1");
        let out = client.get_hosted_zone().id(zone_id).send().await.map_err(|e| classify("GetHostedZone", e))?;
        let mut servers: Vec<String> =
            out.delegation_set().map(|d| d.name_servers().iter().map(|s| fqdn(s)).collect()).unwrap_or_default();
        servers.sort();
        Ok(servers)
    }

    async fn parent_zone(&self, domain: &str) -> Result<Option<String>, AwsError> {
        let name = fqdn(domain);
        let out = self
            .own
            .list_hosted_zones_by_name()
            .dns_name(&name)
            .send()
            .await
            .map_err(|e| classify("ListHostedZonesByName", e))?;
        let public: Vec<String> = out
            .hosted_zones()
            .iter()
            .filter(|z| z.name() == name && !z.config().is_some_and(|c| c.private_zone()))
            .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
            .collect();
        Ok(match public.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        })
    }

    async fn delegation(&self, zone_id: &str, name: &str) -> Result<Option<Vec<String>>, AwsError> {
        let name = fqdn(name);
        let out = self
            .own
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .start_record_name(&name)
            .start_record_type(aws_sdk_route53::types::RrType::Ns)
            .max_items(1)
            .send()
            .await
            .map_err(|e| classify("ListResourceRecordSets", e))?;
        Ok(out
            .resource_record_sets()
            .iter()
            .find(|r| r.name() == name && *r.r#type() == aws_sdk_route53::types::RrType::Ns)
            .map(|r| {
                let mut servers: Vec<String> = r.resource_records().iter().map(|v| fqdn(v.value())).collect();
                servers.sort();
                servers
            }))
    }

    async fn delegate(&self, zone_id: &str, name: &str, name_servers: &[String]) -> Result<(), AwsError> {
        use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
        let records = name_servers
            .iter()
            .map(|s| ResourceRecord::builder().value(fqdn(s)).build().map_err(|e| build_error("ResourceRecord", e)))
            .collect::<Result<Vec<_>, _>>()?;
        let set = ResourceRecordSet::builder()
            .name(fqdn(name))
            .r#type(RrType::Ns)
            .ttl(172_800)
            .set_resource_records(Some(records))
            .build()
            .map_err(|e| build_error("ResourceRecordSet", e))?;
        let change = Change::builder()
            .action(ChangeAction::Upsert)
            .resource_record_set(set)
            .build()
            .map_err(|e| build_error("Change", e))?;
        let batch = ChangeBatch::builder()
            .comment("platform-ops account vending: the client's zone")
            .changes(change)
            .build()
            .map_err(|e| build_error("ChangeBatch", e))?;
        self.own
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| classify("ChangeResourceRecordSets", e))?;
        Ok(())
    }
}

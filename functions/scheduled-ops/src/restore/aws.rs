//! RDS in the member accounts, through the schedules' role: snapshots listed, scratch instances restored, read and deleted.

use async_trait::async_trait;
use aws_sdk_rds::types::{DbInstance, DbSnapshot, Tag};
use chrono::{DateTime, Utc};
use platform_core::aws::MemberClients;
use platform_core::error::{AwsError, ClassifyExt, ErrorClass};

use crate::ports::{DatabaseInstance, RecoveryPoints, RestoreRequest, ScratchInstances, Snapshot};

/// The kinds of snapshot a restore may start from. Asked one by one: without `SnapshotType`
/// RDS lists automated and manual snapshots only, and AWS Backup's recovery points are the ones
/// the backup plan promises.
const KINDS: &[&str] = &["automated", "manual", "awsbackup"];

/// RDS in any member account, each call in the account's and region's own client.
#[derive(Debug, Clone)]
pub struct RdsDatabases {
    members: MemberClients,
}

impl RdsDatabases {
    pub fn new(members: MemberClients) -> Self {
        RdsDatabases { members }
    }

    fn client(&self, account: &str, region: &str) -> aws_sdk_rds::Client {
        self.members.client_in(account, region)
    }
}

#[async_trait]
impl RecoveryPoints for RdsDatabases {
    async fn snapshots(&self, account: &str, region: &str, instance: &str) -> Result<Vec<Snapshot>, AwsError> {
        let client = self.client(account, region);
        let mut out = Vec::new();
        for kind in KINDS {
            let mut pages = client
                .describe_db_snapshots()
                .db_instance_identifier(instance)
                .snapshot_type(*kind)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                match page.classify("DescribeDBSnapshots") {
                    Ok(page) => out.extend(page.db_snapshots().iter().map(|s| snapshot(s, kind))),
                    // Some RDS implementations answer "no such instance" rather than an empty
                    // list: either way there is nothing to restore.
                    Err(e) if e.class == ErrorClass::NotFound => break,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(out)
    }
}

fn snapshot(s: &DbSnapshot, kind: &str) -> Snapshot {
    Snapshot {
        id: s.db_snapshot_identifier().unwrap_or_default().to_string(),
        kind: s.snapshot_type().unwrap_or(kind).to_string(),
        status: s.status().unwrap_or_default().to_string(),
        created_at: s.snapshot_create_time().and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos())),
    }
}

fn instance(i: &DbInstance) -> DatabaseInstance {
    let endpoint = i.endpoint().and_then(|e| {
        let port = e.port().and_then(|p| u16::try_from(p).ok())?;
        Some((e.address()?.to_string(), port))
    });
    DatabaseInstance {
        name: i.db_instance_identifier().unwrap_or_default().to_string(),
        status: i.db_instance_status().unwrap_or_default().to_string(),
        subnet_group: i.db_subnet_group().and_then(|g| g.db_subnet_group_name()).map(str::to_string),
        security_groups: i
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id())
            .map(str::to_string)
            .collect(),
        parameter_group: i.db_parameter_groups().first().and_then(|g| g.db_parameter_group_name()).map(str::to_string),
        endpoint,
        tags: i
            .tag_list()
            .iter()
            .map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string()))
            .collect(),
        publicly_accessible: i.publicly_accessible().unwrap_or(false),
        deletion_protection: i.deletion_protection().unwrap_or(false),
        class: i.db_instance_class().unwrap_or_default().to_string(),
    }
}

#[async_trait]
impl ScratchInstances for RdsDatabases {
    async fn instance(&self, account: &str, region: &str, name: &str) -> Result<Option<DatabaseInstance>, AwsError> {
        let answer = self.client(account, region).describe_db_instances().db_instance_identifier(name).send().await;
        match answer.classify("DescribeDBInstances") {
            Ok(out) => Ok(out.db_instances().first().map(instance)),
            Err(e) if e.class == ErrorClass::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn restore(&self, account: &str, region: &str, r: &RestoreRequest) -> Result<(), AwsError> {
        let tags = r.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        self.client(account, region)
            .restore_db_instance_from_db_snapshot()
            .db_instance_identifier(&r.name)
            .db_snapshot_identifier(&r.snapshot)
            .db_instance_class(&r.class)
            .set_db_subnet_group_name(r.subnet_group.clone())
            .set_vpc_security_group_ids(Some(r.security_groups.clone()).filter(|g| !g.is_empty()))
            .set_db_parameter_group_name(r.parameter_group.clone())
            // A scratch copy of client data: never on the internet, never kept by a flag, one AZ.
            .publicly_accessible(false)
            .deletion_protection(false)
            .multi_az(false)
            .copy_tags_to_snapshot(false)
            .set_tags(Some(tags))
            .send()
            .await
            .classify("RestoreDBInstanceFromDBSnapshot")?;
        Ok(())
    }

    async fn delete(&self, account: &str, region: &str, name: &str) -> Result<(), AwsError> {
        self.client(account, region)
            .delete_db_instance()
            .db_instance_identifier(name)
            // The scratch copy is the test's, not a recovery point: nothing of it is kept.
            .skip_final_snapshot(true)
            .delete_automated_backups(true)
            .send()
            .await
            .classify("DeleteDBInstance")?;
        Ok(())
    }
}

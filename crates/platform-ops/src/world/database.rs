//! The seeded member account's database as the platform stack makes it, with the automated recovery point the restore test starts from.

use platform_core::error::{ClassifyExt, ErrorClass};

use super::member::Member;
use super::{Outcome, WorldError};

impl Member<'_> {
    /// `<prefix>-<env>` (stacksets/platform.yaml's instance), tagged for the backup plan. RDS
    /// (and the emulator) takes an automated snapshot when it is created: the recovery point.
    /// Deletion protection is off, as the platform stack leaves it outside prod; the emulator
    /// would copy it into every restore, where a scratch instance must never carry it.
    pub(super) async fn ensure_database(&mut self) -> Result<(), WorldError> {
        let rds = self.ctx.in_region(self.env.primary_region()).client::<aws_sdk_rds::Client>();
        let name = self.tree.resource_prefix(&self.env.name);
        let found =
            rds.describe_db_instances().db_instance_identifier(&name).send().await.classify("DescribeDBInstances");
        let outcome = match found {
            Ok(_) => Outcome::Exists,
            Err(e) if e.class == ErrorClass::NotFound => {
                let tag = |k: &str, v: &str| aws_sdk_rds::types::Tag::builder().key(k).value(v).build();
                rds.create_db_instance()
                    .db_instance_identifier(&name)
                    .db_instance_class("db.t4g.medium")
                    .engine("postgres")
                    .engine_version("17.4")
                    .allocated_storage(20)
                    .master_username("platform")
                    // The password is RDS's, in Secrets Manager: nothing secret in the seed.
                    .manage_master_user_password(true)
                    .storage_encrypted(true)
                    .publicly_accessible(false)
                    .deletion_protection(false)
                    .backup_retention_period(i32::try_from(self.env.backup.retention_days).unwrap_or(35).min(35))
                    .tags(tag("abc-trading:backup", "platform"))
                    .tags(tag("managed-by", "platform-ops"))
                    .send()
                    .await
                    .classify("CreateDBInstance")?;
                Outcome::Created
            }
            Err(e) => return Err(e.into()),
        };
        self.report.record(format!("database {name}"), outcome);
        // Not every RDS takes a snapshot on create: the seed needs one recovery point to restore.
        let automated =
            rds.describe_db_snapshots().db_instance_identifier(&name).send().await.classify("DescribeDBSnapshots")?;
        if automated.db_snapshots().is_empty() {
            let id = format!("{name}-seed");
            rds.create_db_snapshot()
                .db_instance_identifier(&name)
                .db_snapshot_identifier(&id)
                .send()
                .await
                .classify("CreateDBSnapshot")?;
            self.report.record(format!("snapshot {id}"), Outcome::Created);
        }
        Ok(())
    }
}

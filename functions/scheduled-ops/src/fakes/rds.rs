//! RDS in memory: snapshots, instances restored from them (available after a few reads), deletes.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use platform_core::error::{AwsError, ErrorClass};

use crate::ports::{DatabaseInstance, RecoveryPoints, RestoreRequest, ScratchInstances, Snapshot};

#[derive(Debug, Default)]
struct State {
    /// By (account, name).
    instances: BTreeMap<(String, String), (DatabaseInstance, u32)>,
    /// By (account, instance).
    snapshots: BTreeMap<(String, String), Vec<Snapshot>>,
    restores: u32,
    deletes: Vec<String>,
}

/// Refuses what RDS refuses: a restore to a name in use (`DBInstanceAlreadyExists`) or from a
/// snapshot it does not have (`DBSnapshotNotFound`), a delete of a missing instance
/// (`DBInstanceNotFound`) or of one with deletion protection. A restored instance is
/// `creating` for `ready_after` reads, then `available` at `<name>.<endpoint_domain>:5432`
/// (or `incompatible-restore` for ever, when told to fail); a deleted one reads `deleting`
/// once, then is gone.
#[derive(Debug)]
pub struct MemoryRds {
    state: Mutex<State>,
    ready_after: u32,
    endpoint_domain: String,
    fail_restores: bool,
}

impl MemoryRds {
    pub fn new(ready_after: u32, endpoint_domain: &str) -> MemoryRds {
        MemoryRds {
            state: Mutex::default(),
            ready_after,
            endpoint_domain: endpoint_domain.into(),
            fail_restores: false,
        }
    }

    /// Restores end `incompatible-restore` (a snapshot RDS cannot restore).
    pub fn failing_restores(mut self) -> MemoryRds {
        self.fail_restores = true;
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The platform's database, as the platform stack makes it (tagged for backup).
    pub fn add_source(&self, account: &str, name: &str) {
        let instance = DatabaseInstance {
            name: name.into(),
            status: "available".into(),
            subnet_group: Some(format!("{name}-subnets")),
            security_groups: vec!["sg-database".into()],
            parameter_group: Some(format!("{name}-tls")),
            endpoint: Some((format!("{name}.{}", self.endpoint_domain), 5432)),
            tags: vec![("abc-trading:backup".into(), "platform".into())],
            publicly_accessible: false,
            deletion_protection: true,
            class: "db.t4g.medium".into(),
        };
        self.lock().instances.insert((account.into(), name.into()), (instance, u32::MAX));
    }

    pub fn add_snapshot(&self, account: &str, instance: &str, snapshot: Snapshot) {
        self.lock().snapshots.entry((account.into(), instance.into())).or_default().push(snapshot);
    }

    /// An instance as it is now (without counting as a read).
    pub fn peek(&self, account: &str, name: &str) -> Option<DatabaseInstance> {
        self.lock().instances.get(&(account.to_string(), name.to_string())).map(|(i, _)| i.clone())
    }

    /// Instance names in the account.
    pub fn names(&self, account: &str) -> Vec<String> {
        self.lock().instances.keys().filter(|(a, _)| a == account).map(|(_, n)| n.clone()).collect()
    }

    /// How many restores RDS accepted.
    pub fn restores(&self) -> u32 {
        self.lock().restores
    }

    /// The instances a delete was accepted for, in order.
    pub fn deletes(&self) -> Vec<String> {
        self.lock().deletes.clone()
    }
}

fn refused(class: ErrorClass, operation: &'static str, code: &str, message: String) -> AwsError {
    AwsError { class, operation, code: Some(code.into()), message, source: None }
}

#[async_trait]
impl RecoveryPoints for MemoryRds {
    async fn snapshots(&self, account: &str, _region: &str, instance: &str) -> Result<Vec<Snapshot>, AwsError> {
        Ok(self.lock().snapshots.get(&(account.to_string(), instance.to_string())).cloned().unwrap_or_default())
    }
}

#[async_trait]
impl ScratchInstances for MemoryRds {
    async fn instance(&self, account: &str, _region: &str, name: &str) -> Result<Option<DatabaseInstance>, AwsError> {
        let mut state = self.lock();
        let key = (account.to_string(), name.to_string());
        let Some((instance, reads)) = state.instances.get_mut(&key) else { return Ok(None) };
        let seen = instance.clone();
        match instance.status.as_str() {
            "deleting" => {
                state.instances.remove(&key);
            }
            "creating" => {
                *reads += 1;
                if *reads >= self.ready_after {
                    if self.fail_restores {
                        instance.status = "incompatible-restore".into();
                    } else {
                        instance.status = "available".into();
                        instance.endpoint = Some((format!("{name}.{}", self.endpoint_domain), 5432));
                    }
                }
            }
            _ => {}
        }
        Ok(Some(seen))
    }

    async fn restore(&self, account: &str, _region: &str, r: &RestoreRequest) -> Result<(), AwsError> {
        let mut state = self.lock();
        if state.instances.contains_key(&(account.to_string(), r.name.clone())) {
            let message = format!("DB instance {} already exists", r.name);
            return Err(refused(
                ErrorClass::AlreadyExists,
                "RestoreDBInstanceFromDBSnapshot",
                "DBInstanceAlreadyExists",
                message,
            ));
        }
        let source = state
            .snapshots
            .iter()
            .find_map(|((a, i), list)| (a == account && list.iter().any(|s| s.id == r.snapshot)).then(|| i.clone()));
        let Some(source) = source else {
            let message = format!("DBSnapshot {} not found", r.snapshot);
            return Err(refused(
                ErrorClass::NotFound,
                "RestoreDBInstanceFromDBSnapshot",
                "DBSnapshotNotFound",
                message,
            ));
        };
        // RDS gives a restore naming no tags the snapshot's (the source's, copied to it).
        let tags = if r.tags.is_empty() {
            state.instances.get(&(account.to_string(), source)).map(|(i, _)| i.tags.clone()).unwrap_or_default()
        } else {
            r.tags.clone()
        };
        let instance = DatabaseInstance {
            name: r.name.clone(),
            status: "creating".into(),
            subnet_group: r.subnet_group.clone(),
            security_groups: r.security_groups.clone(),
            parameter_group: r.parameter_group.clone(),
            endpoint: None,
            tags,
            publicly_accessible: false,
            deletion_protection: false,
            class: r.class.clone(),
        };
        state.instances.insert((account.to_string(), r.name.clone()), (instance, 0));
        state.restores += 1;
        Ok(())
    }

    async fn delete(&self, account: &str, _region: &str, name: &str) -> Result<(), AwsError> {
        let mut state = self.lock();
        let Some((instance, _)) = state.instances.get_mut(&(account.to_string(), name.to_string())) else {
            let message = format!("DBInstance {name} not found");
            return Err(refused(ErrorClass::NotFound, "DeleteDBInstance", "DBInstanceNotFound", message));
        };
        if instance.deletion_protection {
            let message = format!("cannot delete protected DB instance {name}");
            return Err(refused(
                ErrorClass::InvalidRequest,
                "DeleteDBInstance",
                "InvalidParameterCombination",
                message,
            ));
        }
        instance.status = "deleting".into();
        state.deletes.push(name.to_string());
        Ok(())
    }
}

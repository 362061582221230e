//! The pager, tickets, incident records and alarm states in memory, with the real services' semantics, for tests and the local runtime.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use platform_core::error::{AwsError, ErrorClass};
use tokio::sync::Barrier;

use crate::ports::{
    AlarmStates, AlarmStatus, Claim, IncidentKey, IncidentRecord, Incidents, Pager, TicketOpen, TicketUpdate, Tickets,
};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The paging topic: every message published, in order; `fail_next` makes the next publish fail.
#[derive(Debug, Default)]
pub struct MemoryPager {
    messages: Mutex<Vec<String>>,
    failures: Mutex<u32>,
}

impl MemoryPager {
    pub fn messages(&self) -> Vec<serde_json::Value> {
        lock(&self.messages).iter().filter_map(|m| serde_json::from_str(m).ok()).collect()
    }

    pub fn fail_next(&self, times: u32) {
        *lock(&self.failures) = times;
    }
}

#[async_trait]
impl Pager for MemoryPager {
    async fn publish(&self, message: &str) -> Result<(), AwsError> {
        let mut failures = lock(&self.failures);
        if *failures > 0 {
            *failures -= 1;
            return Err(AwsError::new(ErrorClass::Transient, "Publish", "scripted failure"));
        }
        lock(&self.messages).push(message.to_string());
        Ok(())
    }
}

/// One OpsItem as OpsCenter would hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: String,
    pub opened: TicketOpen,
    /// `Open` or `Resolved`.
    pub status: String,
    pub data: BTreeMap<String, String>,
    pub updates: u32,
}

/// OpsItems: a create whose dedup string matches an open item answers that item's id (as
/// OpsCenter does), and an update of an id it does not know fails with `NotFound`.
#[derive(Debug, Default)]
pub struct MemoryTickets {
    items: Mutex<Vec<Ticket>>,
}

impl MemoryTickets {
    pub fn all(&self) -> Vec<Ticket> {
        lock(&self.items).clone()
    }

    pub fn get(&self, id: &str) -> Option<Ticket> {
        lock(&self.items).iter().find(|t| t.id == id).cloned()
    }

    fn write(&self, id: &str, update: &TicketUpdate, resolve: bool) -> Result<(), AwsError> {
        let mut items = lock(&self.items);
        let Some(t) = items.iter_mut().find(|t| t.id == id) else {
            return Err(AwsError::new(ErrorClass::NotFound, "UpdateOpsItem", format!("OpsItem `{id}` does not exist")));
        };
        t.data.extend(update.data.clone());
        t.updates += 1;
        if resolve {
            t.status = "Resolved".into();
        }
        Ok(())
    }
}

#[async_trait]
impl Tickets for MemoryTickets {
    async fn open(&self, ticket: &TicketOpen) -> Result<String, AwsError> {
        let mut items = lock(&self.items);
        if let Some(t) = items.iter().find(|t| t.opened.dedup == ticket.dedup && t.status == "Open") {
            return Ok(t.id.clone());
        }
        let id = format!("oi-{:012x}", items.len() + 1);
        items.push(Ticket {
            id: id.clone(),
            opened: ticket.clone(),
            status: "Open".into(),
            data: ticket.data.clone(),
            updates: 0,
        });
        Ok(id)
    }

    async fn update(&self, id: &str, update: &TicketUpdate) -> Result<(), AwsError> {
        self.write(id, update, false)
    }

    async fn resolve(&self, id: &str, update: &TicketUpdate) -> Result<(), AwsError> {
        self.write(id, update, true)
    }
}

/// Incident records with the guard table's conditional writes. `race(n)` holds the next `n`
/// reads until all `n` have read, so `n` concurrent deliveries decide on the same record.
#[derive(Debug, Default)]
pub struct MemoryIncidents {
    records: Mutex<BTreeMap<IncidentKey, IncidentRecord>>,
    gate: Mutex<Option<(Arc<Barrier>, usize)>>,
    put_failures: Mutex<u32>,
    lost_answers: Mutex<u32>,
}

impl MemoryIncidents {
    pub fn race(&self, readers: usize) {
        *lock(&self.gate) = Some((Arc::new(Barrier::new(readers)), readers));
    }

    /// The next `times` writes fail as a lost response would (after nothing was stored).
    pub fn fail_next_put(&self, times: u32) {
        *lock(&self.put_failures) = times;
    }

    /// The next `times` writes are stored, then answered as the SDK's retry of them would be:
    /// refused by their own condition (the first answer lost on the way).
    pub fn lose_next_answer(&self, times: u32) {
        *lock(&self.lost_answers) = times;
    }

    pub fn all(&self) -> BTreeMap<IncidentKey, IncidentRecord> {
        lock(&self.records).clone()
    }
}

#[async_trait]
impl Incidents for MemoryIncidents {
    async fn get(&self, key: &IncidentKey) -> Result<Option<IncidentRecord>, AwsError> {
        let barrier = {
            let mut gate = lock(&self.gate);
            match gate.as_mut() {
                Some((barrier, left)) if *left > 0 => {
                    *left -= 1;
                    Some(barrier.clone())
                }
                _ => None,
            }
        };
        let record = lock(&self.records).get(key).cloned();
        if let Some(b) = barrier {
            b.wait().await;
        }
        Ok(record)
    }

    async fn put(&self, key: &IncidentKey, record: &IncidentRecord, expected: Option<u64>) -> Result<Claim, AwsError> {
        {
            let mut failures = lock(&self.put_failures);
            if *failures > 0 {
                *failures -= 1;
                return Err(AwsError::new(ErrorClass::Transient, "PutItem", "scripted failure"));
            }
        }
        let mut records = lock(&self.records);
        if records.get(key).map(|r| r.version) != expected {
            return Ok(Claim::Taken);
        }
        records.insert(key.clone(), record.clone());
        let mut lost = lock(&self.lost_answers);
        if *lost > 0 {
            *lost -= 1;
            return Ok(Claim::Taken);
        }
        Ok(Claim::Won)
    }
}

/// Alarm states by name; an alarm never set does not exist. Every ask is counted.
#[derive(Debug, Default)]
pub struct MemoryAlarmStates {
    states: Mutex<BTreeMap<String, AlarmStatus>>,
    asked: Mutex<Vec<String>>,
}

impl MemoryAlarmStates {
    pub fn set(&self, alarm: &str, status: AlarmStatus) {
        lock(&self.states).insert(alarm.to_string(), status);
    }

    pub fn asked(&self) -> Vec<String> {
        lock(&self.asked).clone()
    }
}

#[async_trait]
impl AlarmStates for MemoryAlarmStates {
    async fn status(&self, alarm: &str) -> Result<Option<AlarmStatus>, AwsError> {
        lock(&self.asked).push(alarm.to_string());
        Ok(lock(&self.states).get(alarm).copied())
    }
}

//! The fleet's alarms and plan reports in memory, for tests and the local runtime's checks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;
use platform_core::error::AwsError;
use serde_json::Value;

use crate::ports::{AlarmStates, PlanReports};

/// Alarm names in ALARM; `alarming` answers by prefix as DescribeAlarms does.
#[derive(Debug, Default)]
pub struct MemoryAlarmStates {
    alarming: Mutex<BTreeSet<String>>,
}

impl MemoryAlarmStates {
    pub fn set(&self, name: &str, alarm: bool) {
        let mut names = self.alarming.lock().unwrap_or_else(|p| p.into_inner());
        if alarm {
            names.insert(name.to_string());
        } else {
            names.remove(name);
        }
    }
}

#[async_trait]
impl AlarmStates for MemoryAlarmStates {
    async fn alarming(&self, prefix: &str) -> Result<Vec<String>, AwsError> {
        let names = self.alarming.lock().unwrap_or_else(|p| p.into_inner());
        Ok(names.iter().filter(|n| n.starts_with(prefix)).cloned().collect())
    }
}

#[derive(Debug, Default)]
pub struct MemoryPlanReports {
    reports: Mutex<BTreeMap<String, Value>>,
}

impl MemoryPlanReports {
    pub fn get(&self, key: &str) -> Option<Value> {
        self.reports.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned()
    }

    pub fn keys(&self) -> Vec<String> {
        self.reports.lock().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect()
    }
}

#[async_trait]
impl PlanReports for MemoryPlanReports {
    async fn put(&self, key: &str, report: &Value) -> Result<(), AwsError> {
        self.reports.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_string(), report.clone());
        Ok(())
    }
}

//! The monitoring account's alarms in memory: what was put, what was deleted, refusing what CloudWatch refuses.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::error::{AwsError, ErrorClass};
use crate::monitoring::{AccountAlarm, AlarmStore, StoredAlarm};

/// Alarms by name, with every write and delete counted.
#[derive(Debug, Default)]
pub struct MemoryAlarms {
    pub alarms: Mutex<BTreeMap<String, StoredAlarm>>,
    pub puts: Mutex<Vec<String>>,
    pub deletes: Mutex<Vec<String>>,
    /// Every put fails with this class while set (CloudWatch throttles PutMetricAlarm early).
    pub failing: Mutex<Option<ErrorClass>>,
}

impl MemoryAlarms {
    /// An alarm someone wrote by hand (no definition of ours).
    pub fn seed_foreign(&self, name: &str) {
        self.alarms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), StoredAlarm { name: name.to_string(), definition: None });
    }

    pub fn fail_puts(&self, class: Option<ErrorClass>) {
        *self.failing.lock().unwrap_or_else(|p| p.into_inner()) = class;
    }

    pub fn puts(&self) -> Vec<String> {
        self.puts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[async_trait]
impl AlarmStore for MemoryAlarms {
    async fn alarms(&self, prefix: &str) -> Result<Vec<StoredAlarm>, AwsError> {
        let alarms = self.alarms.lock().unwrap_or_else(|p| p.into_inner());
        Ok(alarms.values().filter(|a| a.name.starts_with(prefix)).cloned().collect())
    }

    async fn put(&self, alarm: &AccountAlarm, _tags: &[(String, String)]) -> Result<(), AwsError> {
        if let Some(class) = *self.failing.lock().unwrap_or_else(|p| p.into_inner()) {
            return Err(AwsError::new(class, "PutMetricAlarm", format!("scripted failure for `{}`", alarm.name)));
        }
        // CloudWatch's limits: names up to 255 characters, a metric-math alarm up to 10 metrics.
        if alarm.name.len() > 255 || alarm.metrics.len() > 10 {
            return Err(AwsError::new(
                ErrorClass::InvalidRequest,
                "PutMetricAlarm",
                format!("alarm `{}` breaks CloudWatch's limits (name length, at most 10 metrics)", alarm.name),
            ));
        }
        let stored = StoredAlarm { name: alarm.name.clone(), definition: Some(alarm.definition()) };
        self.alarms.lock().unwrap_or_else(|p| p.into_inner()).insert(alarm.name.clone(), stored);
        self.puts.lock().unwrap_or_else(|p| p.into_inner()).push(alarm.name.clone());
        Ok(())
    }

    async fn delete(&self, names: &[String]) -> Result<(), AwsError> {
        if names.len() > 100 {
            return Err(AwsError::new(ErrorClass::InvalidRequest, "DeleteAlarms", "at most 100 alarm names a call"));
        }
        let mut alarms = self.alarms.lock().unwrap_or_else(|p| p.into_inner());
        for n in names {
            alarms.remove(n);
        }
        self.deletes.lock().unwrap_or_else(|p| p.into_inner()).extend(names.iter().cloned());
        Ok(())
    }
}

/// A metric by name and dimensions.
type MetricKey = (String, Vec<(String, String)>);

/// The log processor's sums in memory: a value per (metric, dimensions), every query recorded.
#[derive(Debug, Default)]
pub struct MemoryIndicators {
    pub values: Mutex<BTreeMap<MetricKey, f64>>,
    pub reads: Mutex<usize>,
}

impl MemoryIndicators {
    pub fn set(&self, metric: &str, dimensions: &[(&str, &str)], value: f64) {
        let dims = dimensions.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.values.lock().unwrap_or_else(|p| p.into_inner()).insert((metric.to_string(), dims), value);
    }
}

#[async_trait]
impl crate::monitoring::IndicatorSums for MemoryIndicators {
    async fn sums(
        &self,
        queries: &[crate::monitoring::SumQuery],
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<f64>, AwsError> {
        if from >= to || queries.len() > 500 {
            return Err(AwsError::new(
                ErrorClass::InvalidRequest,
                "GetMetricData",
                "an empty range or over 500 queries",
            ));
        }
        *self.reads.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        let values = self.values.lock().unwrap_or_else(|p| p.into_inner());
        Ok(queries
            .iter()
            .map(|q| values.get(&(q.metric.clone(), q.dimensions.clone())).copied().unwrap_or(0.0))
            .collect())
    }
}

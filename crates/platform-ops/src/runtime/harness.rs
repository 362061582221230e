//! How a run is made to misbehave as AWS does: injected faults and every delivery made twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use emulator::faults::{FaultKind, FaultPlan, FaultStats, Faults};

use super::Runtime;
use super::effects::{Comparison, Effects};

/// What a run of the local runtime is subjected to. The default: nothing.
#[derive(Debug, Clone, Default)]
pub struct Harness {
    /// Faults injected into every request the functions and state machines make.
    pub faults: Option<FaultPlan>,
    /// EventBridge and Lambda's asynchronous invocations deliver at least once: each event
    /// routed and each asynchronous invocation is delivered a second time.
    pub duplicate_deliveries: bool,
}

impl Harness {
    pub fn is_quiet(&self) -> bool {
        self.faults.as_ref().is_none_or(|p| p.rate <= 0.0) && !self.duplicate_deliveries
    }
}

/// `sdk` reaching the emulator through `faults`. Retries keep production's attempts (standard
/// mode, 3) but back off from 10 ms instead of about a second: the number of retries is what a
/// run shows, and a demo with a hundred faults should not sleep for two minutes.
pub fn faulty(sdk: &SdkConfig, faults: &Arc<Faults>) -> SdkConfig {
    sdk.to_builder()
        .http_client(faults.http_client())
        .retry_config(RetryConfig::standard().with_initial_backoff(Duration::from_millis(10)))
        .build()
}

/// The error Step Functions reports when its Lambda invoke meets `fault`; `None` when the
/// function runs and its answer arrives (a lost answer is decided after the function ran).
pub fn lambda_failure(fault: FaultKind) -> (&'static str, &'static str) {
    match fault {
        FaultKind::Throttled => ("Lambda.TooManyRequestsException", "Rate exceeded (injected)"),
        FaultKind::ServerError | FaultKind::Unavailable => {
            ("Lambda.ServiceException", "the Lambda service failed to invoke the function (injected)")
        }
        FaultKind::Reset | FaultKind::Timeout => {
            ("Lambda.SdkClientException", "unable to execute HTTP request: connection reset (injected)")
        }
        FaultKind::ResponseLost => {
            ("Lambda.SdkClientException", "the function ran, then its response was lost (injected)")
        }
    }
}

/// What a harnessed run counted beyond the fault layer's own figures.
#[derive(Debug, Default)]
pub struct Counters {
    redeliveries: AtomicU64,
    task_failures: AtomicU64,
}

impl Counters {
    pub fn redelivered(&self) {
        self.redeliveries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn task_failed(&self, n: usize) {
        self.task_failures.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// A harnessed run against its fault-free run: what was injected, what it cost, what took effect.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Reliability {
    pub rate: f64,
    pub seed: u64,
    pub duplicate_deliveries: bool,
    pub faults: FaultStats,
    /// Attempts the SDK clients repeated.
    pub sdk_retries: u64,
    /// Task attempts that failed inside executions, each retried or caught by its state machine.
    pub task_failures: u64,
    pub redeliveries: u64,
    pub effects: Comparison,
    /// Requests applied again that AWS would not act on again (same token, same value set).
    pub absorbed: u64,
}

impl Reliability {
    pub fn of(harness: &Harness, runtime: &Runtime, fault_free: &Effects) -> Reliability {
        let plan = harness.faults.clone().unwrap_or_else(FaultPlan::none);
        let faults = runtime.faults.stats();
        let effects = Effects::of(&runtime.faults.journal());
        Reliability {
            rate: plan.rate,
            seed: plan.seed,
            duplicate_deliveries: harness.duplicate_deliveries,
            sdk_retries: faults.retries(),
            faults,
            task_failures: runtime.counters.task_failures.load(Ordering::Relaxed),
            redeliveries: runtime.counters.redeliveries.load(Ordering::Relaxed),
            effects: Comparison::of(fault_free, &effects),
            absorbed: effects.absorbed,
        }
    }

    /// Nothing took effect twice and nothing the fault-free run did was left undone.
    pub fn passed(&self) -> bool {
        self.effects.duplicates() == 0 && self.effects.missing() == 0
    }
}

impl std::fmt::Display for Reliability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<String> = self.faults.injected.iter().map(|(k, n)| format!("{k} {n}")).collect();
        writeln!(
            f,
            "== reliability: faults at {:.1}% (seed {}){}",
            self.rate * 100.0,
            self.seed,
            if self.duplicate_deliveries { ", every delivery made twice" } else { "" }
        )?;
        writeln!(
            f,
            "  faults injected: {} ({})",
            self.faults.total(),
            if kinds.is_empty() { "none".into() } else { kinds.join(", ") }
        )?;
        writeln!(
            f,
            "  retried: {} SDK attempts over {} operations; {} task attempts failed and were retried or caught",
            self.sdk_retries, self.faults.operations, self.task_failures
        )?;
        writeln!(f, "  redeliveries: {}", self.redeliveries)?;
        writeln!(
            f,
            "  effects: {} took effect, {} in the fault-free run ({} repeats absorbed by idempotency); duplicate effects: {}, missing effects: {}",
            self.effects.actual,
            self.effects.expected,
            self.absorbed,
            self.effects.duplicates(),
            self.effects.missing()
        )?;
        for d in &self.effects.differences {
            writeln!(f, "    {}: {} (fault-free: {})", d.operation, d.actual, d.expected)?;
        }
        Ok(())
    }
}

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
    /// Functions killed at their timeout once, after the chosen action's calls went through.
    pub crash_points: Vec<CrashPoint>,
}

impl Harness {
    pub fn is_quiet(&self) -> bool {
        self.faults.as_ref().is_none_or(|p| p.rate <= 0.0) && !self.duplicate_deliveries && self.crash_points.is_empty()
    }
}

/// `FUNCTION:action` (`AccountVendingFunction:find-or-create`): the first invocation of that
/// action runs to its end (its side effects stand), then its answer never reaches the state
/// machine, as when Lambda kills a function at its timeout. The state machine's retry re-drives it.
/// `MACHINE:State` (`PlatformDeployStateMachine:ApplyTier`): the first execution reaching that
/// state stops once it has run, before its result is recorded, as when the process running the
/// execution dies there; it is then redriven as RedriveExecution does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CrashPoint {
    /// The function's (or state machine's) logical id in template.yaml.
    pub function: String,
    /// The function's action, or the state machine's state.
    pub action: String,
}

impl std::str::FromStr for CrashPoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some((function, action)) if !function.is_empty() && !action.is_empty() => {
                Ok(CrashPoint { function: function.to_string(), action: action.to_string() })
            }
            _ => Err(format!(
                "crash point `{s}` is not FUNCTION:action or MACHINE:State (e.g. AlarmScalerFunction:act, PlatformDeployStateMachine:ApplyTier)"
            )),
        }
    }
}

impl std::fmt::Display for CrashPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.function, self.action)
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
    /// Each crash point and whether it has fired.
    crashes: std::sync::Mutex<Vec<(CrashPoint, bool)>>,
}

impl Counters {
    pub fn new(crash_points: &[CrashPoint]) -> Counters {
        let crashes = crash_points.iter().map(|p| (p.clone(), false)).collect();
        Counters { crashes: std::sync::Mutex::new(crashes), ..Counters::default() }
    }

    /// The crash point of `function`'s `action` if it has not fired yet (it fires now).
    pub fn crash(&self, function: &str, action: &str) -> Option<CrashPoint> {
        let mut crashes = self.crashes.lock().unwrap_or_else(|e| e.into_inner());
        let (point, fired) =
            crashes.iter_mut().find(|(p, fired)| !*fired && p.function == function && p.action == action)?;
        *fired = true;
        Some(point.clone())
    }

    /// The actions (or states) of `target`'s crash points that have not fired yet.
    pub fn armed(&self, target: &str) -> Vec<String> {
        let crashes = self.crashes.lock().unwrap_or_else(|e| e.into_inner());
        crashes.iter().filter(|(p, fired)| !*fired && p.function == target).map(|(p, _)| p.action.clone()).collect()
    }

    /// The crash points that fired (`true`) or were never reached (`false`).
    pub fn crash_points(&self, fired: bool) -> Vec<String> {
        let crashes = self.crashes.lock().unwrap_or_else(|e| e.into_inner());
        crashes.iter().filter(|(_, f)| *f == fired).map(|(p, _)| p.to_string()).collect()
    }

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
    /// Functions killed after their calls went through, then re-driven by their state machine.
    pub crashes: Vec<String>,
    /// Crash points no invocation reached: a run that proves nothing about them fails.
    pub crash_points_missed: Vec<String>,
    /// SNS messages published again after a lost answer (SNS's at-least-once; see [`Effects`]).
    pub notifications_repeated: u64,
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
            crashes: runtime.counters.crash_points(true),
            crash_points_missed: runtime.counters.crash_points(false),
            // Identical messages sent on purpose (the same notice twice) repeat in both runs.
            notifications_repeated: effects.notifications_repeated.saturating_sub(fault_free.notifications_repeated),
        }
    }

    /// Nothing took effect twice, nothing the fault-free run did was left undone, and every
    /// crash point was reached.
    pub fn passed(&self) -> bool {
        self.effects.duplicates() == 0 && self.effects.missing() == 0 && self.crash_points_missed.is_empty()
    }
}

impl std::fmt::Display for Reliability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<String> = self.faults.injected.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let faults = match self.rate {
            r if r > 0.0 => format!("faults at {:.1}% (seed {})", r * 100.0, self.seed),
            _ => "no faults".to_string(),
        };
        writeln!(
            f,
            "== reliability: {faults}{}{}",
            if self.duplicate_deliveries { ", every delivery made twice" } else { "" },
            if self.crashes.is_empty() && self.crash_points_missed.is_empty() { "" } else { ", crash points" }
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
        if !self.crashes.is_empty() {
            writeln!(
                f,
                "  crashed after their calls went through, then re-driven (functions by their retry, executions by a redrive): {}",
                self.crashes.join(", ")
            )?;
        }
        if !self.crash_points_missed.is_empty() {
            writeln!(f, "  crash points never reached (FAILED): {}", self.crash_points_missed.join(", "))?;
        }
        writeln!(
            f,
            "  effects: {} took effect, {} in the fault-free run ({} repeats absorbed by idempotency); duplicate effects: {}, missing effects: {}",
            self.effects.actual,
            self.effects.expected,
            self.absorbed,
            self.effects.duplicates(),
            self.effects.missing()
        )?;
        if self.notifications_repeated > 0 {
            writeln!(
                f,
                "  notifications published again after a lost answer (SNS has no idempotency key): {}",
                self.notifications_repeated
            )?;
        }
        for d in &self.effects.differences {
            writeln!(f, "    {}: {} (fault-free: {})", d.operation, d.actual, d.expected)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GIVEN a crash point WHEN other actions run THEN it waits; WHEN its action runs THEN it
    /// fires once; and a point never reached fails the run (a crash run that crashed nothing
    /// proves nothing).
    #[test]
    fn crash_points_fire_once_and_a_missed_one_fails() {
        let act: CrashPoint = "AlarmScalerFunction:act".parse().expect("parses");
        let missed: CrashPoint = "AlarmScalerFunction:no-such-action".parse().expect("parses");
        assert!("no-colon".parse::<CrashPoint>().is_err());
        let counters = Counters::new(&[act.clone(), missed]);
        assert_eq!(counters.crash("AlarmScalerFunction", "decide"), None);
        assert_eq!(counters.crash("AlarmScalerFunction", "act"), Some(act));
        assert_eq!(counters.crash("AlarmScalerFunction", "act"), None, "once");
        assert_eq!(counters.crash_points(true), ["AlarmScalerFunction:act"]);
        let reliability = Reliability {
            rate: 0.0,
            seed: 0,
            duplicate_deliveries: false,
            faults: FaultStats::default(),
            sdk_retries: 0,
            task_failures: 1,
            redeliveries: 0,
            effects: Comparison::default(),
            absorbed: 0,
            crashes: counters.crash_points(true),
            crash_points_missed: counters.crash_points(false),
            notifications_repeated: 0,
        };
        assert!(!reliability.passed());
        assert!(reliability.to_string().contains("never reached (FAILED): AlarmScalerFunction:no-such-action"));
    }
}

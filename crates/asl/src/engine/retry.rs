//! Retriers: attempts repeated with backoff on the virtual clock.

use std::time::Duration;

use serde_json::Value;

use super::Failure;
use crate::definition::Retrier;

/// Runs `attempt` until it succeeds, a retrier gives up, or no retrier matches; backoff is
/// virtual time. Nothing is retried at or after the execution's `deadline`: the execution ends
/// there, and a retry would start after it.
pub(super) async fn with_retries<F, Fut>(
    retry: &[Retrier],
    start: Duration,
    deadline: Option<Duration>,
    attempt: F,
) -> Result<(Value, Duration), (Failure, Duration)>
where
    F: Fn(Duration, u32) -> Fut,
    Fut: std::future::Future<Output = Result<(Value, Duration), (Failure, Duration)>>,
{
    let mut used = vec![0u32; retry.len()];
    let mut now = start;
    let mut tries = 0u32;
    loop {
        match attempt(now, tries).await {
            Ok(done) => return Ok(done),
            Err((failure, at)) => {
                if deadline.is_some_and(|d| at >= d) {
                    return Err((failure, at));
                }
                let Some(i) = retry.iter().position(|r| failure.matches(&r.errors)) else {
                    return Err((failure, at));
                };
                let r = &retry[i];
                if used[i] >= r.max_attempts {
                    return Err((failure, at));
                }
                let mut delay = r.interval_seconds * r.backoff_rate.powi(used[i] as i32);
                if let Some(max) = r.max_delay_seconds {
                    delay = delay.min(max);
                }
                if r.full_jitter {
                    delay *= fastrand::f64();
                }
                used[i] += 1;
                tries += 1;
                now = at + Duration::from_secs_f64(delay.max(0.0));
            }
        }
    }
}

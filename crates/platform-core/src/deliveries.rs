//! At-least-once deliveries taken once: a delivery begun, completed, and recognised when it comes again.

// Lambda's asynchronous invocations, CloudWatch Logs subscriptions and Kinesis event source
// mappings deliver at least once. A function whose outputs are not idempotent by themselves
// (records appended, events published) begins each delivery by its key: a fresh one is
// processed and completed; one completed before is skipped; one another invocation is still
// processing is refused for now (its retry comes after the lease), and a lease that ran out (an
// invocation that died midway) is taken over, so a crash never loses a delivery.

use async_trait::async_trait;

use crate::error::AwsError;

/// Where a delivery stands when an invocation begins it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begun {
    /// Never seen, or its last holder's lease ran out: this invocation processes it.
    Fresh,
    /// Processed and completed before: nothing to do again.
    Done,
    /// Another invocation holds it until `lease_until` (epoch seconds).
    InProgress { lease_until: i64 },
}

/// The record of deliveries begun and completed (the guard table's `delivery#<function>#<key>`).
#[async_trait]
pub trait Deliveries: Send + Sync + std::fmt::Debug {
    /// Begins delivery `key` at `now` (epoch seconds), holding it for `lease_seconds`.
    async fn begin(&self, key: &str, now: i64, lease_seconds: i64) -> Result<Begun, AwsError>;
    /// Marks `key` done: a later delivery of it is skipped.
    async fn complete(&self, key: &str, now: i64) -> Result<(), AwsError>;
    /// Gives `key` up unfinished (a part failed and will come again): the retry need not wait
    /// out the lease. A delivery already done stays done.
    async fn release(&self, key: &str) -> Result<(), AwsError>;
}

/// How long a completed delivery is remembered: far past any redelivery (Lambda retries within
/// six hours, Kinesis within its retention).
pub const REMEMBERED_SECONDS: i64 = 8 * 24 * 3600;

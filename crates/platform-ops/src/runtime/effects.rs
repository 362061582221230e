//! The writes that took effect in a run, counted as AWS would count them, and compared between runs.

// A write took effect when the emulator applied it (answered 2xx), whether or not the caller
// ever saw the answer. The same request applied again is one effect where AWS makes it one: a
// request with an idempotency token, or a write that sets a value (a parameter, an item, a
// tag) rather than adding one (an event, a record, an account). Everything else applied twice is
// two effects: a second account, a second scaling, a second page.

use std::collections::{BTreeMap, HashSet};

use emulator::faults::Answered;

use super::calls::changing;

/// Writes that add rather than set: the same request twice is two of them.
const ADDING: &[&str] = &["PutEvents", "PutRecord", "PutRecordBatch", "PutLogEvents", "PutMetricData"];
/// Verbs whose same request twice leaves the world as once.
const SETTING: &[&str] = &[
    "Put",
    "Delete",
    "Tag",
    "Untag",
    "Set",
    "Attach",
    "Detach",
    "Associate",
    "Disassociate",
    "Enable",
    "Disable",
    "Register",
    "Deregister",
];

/// Effects per operation (`eks UpdateNodegroupConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Effects {
    pub by_operation: BTreeMap<String, u64>,
    /// Requests applied again that AWS would not act on again (same token, same value set).
    pub absorbed: u64,
    /// The same SNS message published again after its answer was lost: SNS has no idempotency
    /// key, so subscribers get it twice (those that act, on-call, dedupe by the incident key).
    /// Counted apart, not hidden.
    pub notifications_repeated: u64,
}

impl Effects {
    pub fn of(journal: &[Answered]) -> Effects {
        let mut out = Effects::default();
        let mut seen = HashSet::new();
        for a in journal.iter().filter(|a| a.applied() && changing(&a.operation)) {
            let same_again_is_once = a.token || sets(&a.operation);
            let notification = a.service == "sns" && a.operation == "Publish";
            if (same_again_is_once || notification) && !seen.insert((&a.service, &a.operation, a.digest)) {
                if notification {
                    out.notifications_repeated += 1;
                } else {
                    out.absorbed += 1;
                }
                continue;
            }
            *out.by_operation.entry(format!("{} {}", a.service, a.operation)).or_default() += 1;
        }
        out
    }

    pub fn total(&self) -> u64 {
        self.by_operation.values().sum()
    }

    /// As the timeline lists calls: `eks UpdateNodegroupConfig x1`.
    pub fn lines(&self) -> Vec<String> {
        self.by_operation.iter().map(|(op, n)| format!("{op} x{n}")).collect()
    }
}

fn sets(operation: &str) -> bool {
    !ADDING.contains(&operation) && SETTING.iter().any(|verb| operation.starts_with(verb))
}

/// One operation whose effects differ from the fault-free run's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    pub operation: String,
    pub expected: u64,
    pub actual: u64,
}

/// A run's effects against the fault-free run's.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Comparison {
    pub expected: u64,
    pub actual: u64,
    pub differences: Vec<Difference>,
}

impl Comparison {
    pub fn of(expected: &Effects, actual: &Effects) -> Comparison {
        let operations: std::collections::BTreeSet<&String> =
            expected.by_operation.keys().chain(actual.by_operation.keys()).collect();
        let differences = operations
            .into_iter()
            .filter_map(|op| {
                let e = expected.by_operation.get(op).copied().unwrap_or(0);
                let a = actual.by_operation.get(op).copied().unwrap_or(0);
                (e != a).then(|| Difference { operation: op.clone(), expected: e, actual: a })
            })
            .collect();
        Comparison { expected: expected.total(), actual: actual.total(), differences }
    }

    /// Effects beyond the fault-free run's: the ones that must never happen.
    pub fn duplicates(&self) -> u64 {
        self.differences.iter().map(|d| d.actual.saturating_sub(d.expected)).sum()
    }

    /// Effects of the fault-free run this run never had: work a fault made it give up.
    pub fn missing(&self) -> u64 {
        self.differences.iter().map(|d| d.expected.saturating_sub(d.actual)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(operation: &str, digest: u64, status: u16, token: bool) -> Answered {
        let service = operation.split_whitespace().next().unwrap_or_default().to_string();
        let operation = operation.split_whitespace().nth(1).unwrap_or_default().to_string();
        Answered { service, operation, status, digest, lost: false, token }
    }

    #[test]
    fn the_same_request_again_is_one_effect_only_where_aws_makes_it_one() {
        let journal = [
            answered("ssm PutParameter", 1, 200, false),
            answered("ssm PutParameter", 1, 200, false),
            answered("eks UpdateNodegroupConfig", 2, 200, true),
            answered("eks UpdateNodegroupConfig", 2, 200, true),
            answered("events PutEvents", 3, 200, false),
            answered("events PutEvents", 3, 200, false),
            answered("organizations CreateAccount", 4, 200, false),
            answered("organizations CreateAccount", 4, 200, false),
            // Refused: no effect at all.
            answered("dynamodb PutItem", 5, 400, false),
            // A read is no effect.
            answered("eks DescribeNodegroup", 6, 200, false),
            // The same message again: SNS delivers it twice, counted apart.
            answered("sns Publish", 7, 200, false),
            answered("sns Publish", 7, 200, false),
        ];
        let effects = Effects::of(&journal);
        assert_eq!(effects.absorbed, 2);
        assert_eq!(effects.notifications_repeated, 1);
        assert_eq!(effects.by_operation["sns Publish"], 1);
        assert_eq!(effects.by_operation["ssm PutParameter"], 1);
        assert_eq!(effects.by_operation["eks UpdateNodegroupConfig"], 1);
        assert_eq!(effects.by_operation["events PutEvents"], 2);
        assert_eq!(effects.by_operation["organizations CreateAccount"], 2);
        assert!(!effects.by_operation.contains_key("dynamodb PutItem"));
        assert_eq!(effects.total(), 7);
    }

    #[test]
    fn a_comparison_counts_duplicates_and_missing_effects_apart() {
        let base =
            Effects::of(&[answered("sns Publish", 1, 200, false), answered("eks UpdateNodegroupConfig", 2, 200, true)]);
        let run = Effects::of(&[answered("sns Publish", 1, 200, false), answered("sns Publish", 3, 200, false)]);
        let c = Comparison::of(&base, &run);
        assert_eq!((c.duplicates(), c.missing()), (1, 1));
        assert_eq!(Comparison::of(&base, &base).differences, []);
    }
}

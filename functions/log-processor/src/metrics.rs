//! Per-account, per-service and per-tier counters for one invocation, written as CloudWatch Embedded Metric Format documents.

use std::collections::BTreeMap;

pub use emf::NAMESPACE;

/// Counters for one service of one owner in one invocation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceMetrics {
    pub events: u64,
    pub bytes: u64,
    pub errors: u64,
    pub warnings: u64,
    pub redactions: u64,
    pub truncated: u64,
    /// Lines that looked like JSON but did not parse (kept as text).
    pub malformed: u64,
    pub signatures: BTreeMap<String, u64>,
    pub durations_ms: Vec<f64>,
}

impl ServiceMetrics {
    pub(crate) fn add(&mut self, m: ServiceMetrics) {
        self.events += m.events;
        self.bytes += m.bytes;
        self.errors += m.errors;
        self.warnings += m.warnings;
        self.redactions += m.redactions;
        self.truncated += m.truncated;
        self.malformed += m.malformed;
        for (sig, n) in m.signatures {
            *self.signatures.entry(sig).or_default() += n;
        }
        self.durations_ms.extend(m.durations_ms);
    }
}

/// One tier's service level indicators in one account: what its SLO burn alarms divide
/// (`Errors / Events` for availability, `SlowRequests / Requests` for latency).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TierMetrics {
    pub events: u64,
    pub errors: u64,
    /// Lines that carry a request duration.
    pub requests: u64,
    /// Requests slower than the tier's `latency_ms` objective.
    pub slow_requests: u64,
}

impl TierMetrics {
    pub fn add(&mut self, other: &TierMetrics) {
        self.events += other.events;
        self.errors += other.errors;
        self.requests += other.requests;
        self.slow_requests += other.slow_requests;
    }
}

/// One client account's counters (the subscription batch's `owner`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountMetrics {
    pub services: BTreeMap<String, ServiceMetrics>,
    pub tiers: BTreeMap<String, TierMetrics>,
}

/// Everything counted in one invocation: per account and service, per account and tier, and at
/// the batch level.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// By 12-digit account id; nothing else ever becomes an `Account` dimension.
    pub accounts: BTreeMap<String, AccountMetrics>,
    /// Services of batches whose owner is not an account id: published per service only.
    pub unattributed: BTreeMap<String, ServiceMetrics>,
    /// Data batches whose owner is not an account id (their events are in `unattributed`).
    pub unattributed_batches: u64,
    /// Events of services in no tier (unknown ones included): in no tier metric, counted here.
    pub untiered: u64,
    /// Batches that could not be decoded, by reason (`base64`, `gzip`, `too_large`, `json`).
    pub dropped: BTreeMap<&'static str, u64>,
    pub control_messages: u64,
    /// Redactions per rule across all services.
    pub redactions_by_rule: BTreeMap<String, u64>,
}

/// Whether a batch's `owner` can be an `Account` dimension: CloudWatch's control messages say
/// `CloudwatchLogs`, and a value from outside the id space would make one metric per value.
pub fn is_account_id(owner: &str) -> bool {
    owner.len() == 12 && owner.bytes().all(|b| b.is_ascii_digit())
}

/// `name`'s counters in `services`, created on first use (the name is copied only then).
pub fn service<'a>(services: &'a mut BTreeMap<String, ServiceMetrics>, name: &str) -> &'a mut ServiceMetrics {
    if !services.contains_key(name) {
        services.insert(name.to_string(), ServiceMetrics::default());
    }
    services.get_mut(name).unwrap_or_else(|| unreachable!("inserted above"))
}

/// The dimension sets of an account's service document: Events and Errors per service and per
/// account and service; the rest per service only (per-account copies would be paid for as
/// metrics nobody alarms on).
const PER_ACCOUNT: &[&[&str]] = &[&["Environment", "Service"], &["Environment", "Account", "Service"]];
const PER_SERVICE: &[&[&str]] = &[&["Environment", "Service"]];

impl Metrics {
    /// An account's counters; `id` must be an account id ([`is_account_id`]).
    pub fn account(&mut self, id: &str) -> &mut AccountMetrics {
        if !self.accounts.contains_key(id) {
            self.accounts.insert(id.to_string(), AccountMetrics::default());
        }
        self.accounts.get_mut(id).unwrap_or_else(|| unreachable!("inserted above"))
    }

    /// The counters of `service` across every owner.
    pub fn service_total(&self, name: &str) -> ServiceMetrics {
        let mut total = ServiceMetrics::default();
        let of_accounts = self.accounts.values().filter_map(|a| a.services.get(name));
        for m in of_accounts.chain(self.unattributed.get(name)) {
            total.add(m.clone());
        }
        total
    }

    pub fn merge(&mut self, other: Metrics) {
        for (id, a) in other.accounts {
            let mine = self.account(&id);
            for (name, m) in a.services {
                service(&mut mine.services, &name).add(m);
            }
            for (tier, t) in a.tiers {
                mine.tiers.entry(tier).or_default().add(&t);
            }
        }
        for (name, m) in other.unattributed {
            service(&mut self.unattributed, &name).add(m);
        }
        self.unattributed_batches += other.unattributed_batches;
        self.untiered += other.untiered;
        for (reason, n) in other.dropped {
            *self.dropped.entry(reason).or_default() += n;
        }
        self.control_messages += other.control_messages;
        for (rule, n) in other.redactions_by_rule {
            *self.redactions_by_rule.entry(rule).or_default() += n;
        }
    }

    /// One EMF document (a JSON line) per account and service, per account and tier, per
    /// service of unattributed batches, and one for the batch level. Dimension values are config
    /// names and 12-digit account ids, so cardinality stays bounded by the organisation.
    pub fn to_emf(&self, environment: &str, timestamp_ms: i64) -> String {
        let mut out = String::new();
        let mut push = |doc: emf::Document| {
            out.push_str(&doc.to_line());
            out.push('\n');
        };
        for (account, a) in &self.accounts {
            for (service, m) in &a.services {
                push(service_document(environment, Some(account), service, m, timestamp_ms));
            }
            for (tier, t) in &a.tiers {
                let doc = emf::Document::new(timestamp_ms)
                    .dimension("Environment", environment)
                    .dimension("Account", account.as_str())
                    .dimension("Tier", tier.as_str())
                    .metric("Events", "Count", t.events as f64)
                    .metric("Errors", "Count", t.errors as f64)
                    .metric("Requests", "Count", t.requests as f64)
                    .metric("SlowRequests", "Count", t.slow_requests as f64);
                push(doc);
            }
        }
        for (service, m) in &self.unattributed {
            push(service_document(environment, None, service, m, timestamp_ms));
        }
        let batch_level = self.control_messages + self.unattributed_batches + self.untiered;
        if !self.dropped.is_empty() || !self.redactions_by_rule.is_empty() || batch_level > 0 {
            let mut doc = emf::Document::new(timestamp_ms).dimension("Environment", environment);
            for (reason, n) in &self.dropped {
                doc = doc.metric(format!("Dropped.{reason}"), "Count", *n as f64);
            }
            for (rule, n) in &self.redactions_by_rule {
                doc = doc.metric(format!("Redactions.{rule}"), "Count", *n as f64);
            }
            doc = doc
                .metric("ControlMessages", "Count", self.control_messages as f64)
                .metric("UnattributedBatches", "Count", self.unattributed_batches as f64)
                .metric("Untiered", "Count", self.untiered as f64);
            push(doc);
        }
        out
    }
}

/// A service's document: with an account, Events and Errors under both dimension sets and the
/// rest per service; without one (an owner that is no account), everything per service only.
fn service_document(
    environment: &str,
    account: Option<&str>,
    service: &str,
    m: &ServiceMetrics,
    timestamp_ms: i64,
) -> emf::Document {
    let mut doc = emf::Document::new(timestamp_ms).dimension("Environment", environment);
    match account {
        Some(account) => {
            doc = doc
                .dimension("Account", account)
                .dimension("Service", service)
                .dimension_sets(PER_ACCOUNT)
                .metric("Events", "Count", m.events as f64)
                .metric("Errors", "Count", m.errors as f64)
                .dimension_sets(PER_SERVICE);
        }
        None => {
            doc = doc.dimension("Service", service).metric("Events", "Count", m.events as f64).metric(
                "Errors",
                "Count",
                m.errors as f64,
            );
        }
    }
    doc = doc
        .metric("Bytes", "Bytes", m.bytes as f64)
        .metric("Warnings", "Count", m.warnings as f64)
        .metric("Redactions", "Count", m.redactions as f64)
        .metric("Truncated", "Count", m.truncated as f64)
        .metric("Malformed", "Count", m.malformed as f64);
    for (sig, n) in &m.signatures {
        doc = doc.metric(format!("Signature.{sig}"), "Count", *n as f64);
    }
    let names = ["LatencyP50", "LatencyP90", "LatencyP99", "LatencyMax"];
    let ranks = nearest_ranks(&m.durations_ms, [0.50, 0.90, 0.99, 1.0]);
    for (name, v) in names.into_iter().zip(ranks) {
        if let Some(v) = v {
            doc = doc.metric(name, "Milliseconds", v);
        }
    }
    doc
}

/// Nearest-rank percentiles (each `p` in 0..=1) of `samples`; none of no samples. Each is
/// selected, not sorted for (sorting was most of the EMF stage once its documents were written
/// directly): after a rank, what lies above it is all a higher one needs to search.
pub fn nearest_ranks<const N: usize>(samples: &[f64], ps: [f64; N]) -> [Option<f64>; N] {
    let mut values = samples.to_vec();
    let mut from = 0;
    ps.map(|p| {
        let rank = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len().max(1)) - 1;
        // A lower rank than the last (ps out of order) is selected from the whole again.
        if rank < from {
            from = 0;
        }
        let rest = values.get_mut(from..).filter(|rest| !rest.is_empty())?;
        let (_, v, _) = rest.select_nth_unstable_by(rank - from, f64::total_cmp);
        from = rank;
        Some(*v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut shuffled: Vec<f64> = (1..=100).map(f64::from).collect();
        shuffled.reverse();
        assert_eq!(nearest_ranks(&shuffled, [0.5, 0.99, 1.0]), [Some(50.0), Some(99.0), Some(100.0)]);
        assert_eq!(nearest_ranks(&[], [0.5]), [None]);
        // Against sorting, on samples with repeats, at every size up to a few hundred.
        let mut rng = crate::synthetic::Rng(0x1234_5678);
        for len in 1..300 {
            let samples: Vec<f64> = (0..len).map(|_| rng.below(50) as f64 / 4.0).collect();
            let mut sorted = samples.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            let ps = [0.0, 0.5, 0.9, 0.9, 0.99, 1.0, 0.25, 0.75];
            let expected = ps.map(|p| sorted.get(((p * len as f64).ceil() as usize).clamp(1, len) - 1).copied());
            assert_eq!(nearest_ranks(&samples, ps), expected, "{samples:?}");
        }
    }

    #[test]
    fn emf_documents_follow_the_specification() {
        let mut m = Metrics::default();
        let s = service(&mut m.unattributed, "audit");
        s.events = 3;
        s.errors = 1;
        s.signatures.insert("OOMKilled".into(), 1);
        s.durations_ms = vec![5.0, 10.0, 20.0];
        m.dropped.insert("gzip", 1);
        let text = m.to_emf("dev", 1_700_000_000_000);
        let docs: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
        assert_eq!(docs.len(), 2);
        let d = &docs[0];
        let directive = &d["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "ABC/Trading");
        assert_eq!(directive["Dimensions"][0], json!(["Environment", "Service"]));
        for metric in directive["Metrics"].as_array().expect("metrics") {
            let name = metric["Name"].as_str().expect("name");
            assert!(d[name].is_number(), "every declared metric has a value: {name}");
        }
        assert_eq!(d["Service"], "audit");
        assert_eq!(d["Signature.OOMKilled"], 1.0);
        assert_eq!(d["LatencyP50"], 10.0);
        assert_eq!(docs[1]["Dropped.gzip"], 1.0);
        assert!(docs[1].get("Service").is_none());
    }

    fn documents(m: &Metrics) -> Vec<Value> {
        m.to_emf("dev", 1_700_000_000_000).lines().map(|l| serde_json::from_str(l).expect("json line")).collect()
    }

    /// What the EMF specification asks of a document: every directive's dimension names are
    /// top-level members with string values, and every declared metric has a value.
    fn assert_follows_the_specification(d: &Value) {
        let directives = d["_aws"]["CloudWatchMetrics"].as_array().expect("directives");
        assert!(!directives.is_empty(), "{d}");
        for directive in directives {
            assert_eq!(directive["Namespace"], "ABC/Trading");
            let sets = directive["Dimensions"].as_array().expect("dimension sets");
            assert!(!sets.is_empty(), "{d}");
            for key in sets.iter().flat_map(|set| set.as_array().expect("a set")) {
                let key = key.as_str().expect("a dimension name");
                assert!(d[key].is_string(), "dimension `{key}` is not a top-level string member: {d}");
            }
            for metric in directive["Metrics"].as_array().expect("metrics") {
                let name = metric["Name"].as_str().expect("name");
                assert!(d[name].is_number(), "declared metric `{name}` has no value: {d}");
            }
        }
    }

    fn counted(events: u64, errors: u64) -> ServiceMetrics {
        ServiceMetrics { events, errors, bytes: 10 * events, durations_ms: vec![5.0], ..ServiceMetrics::default() }
    }

    #[test]
    fn an_accounts_service_is_published_per_service_and_per_account() {
        let mut m = Metrics::default();
        m.account("111111111111").services.insert("audit".into(), counted(4, 1));
        let t = TierMetrics { events: 4, errors: 1, requests: 3, slow_requests: 2 };
        m.account("111111111111").tiers.insert("dependent".into(), t);
        m.untiered = 2;
        let docs = documents(&m);
        assert_eq!(docs.len(), 3, "service, tier, batch level");
        docs.iter().for_each(assert_follows_the_specification);

        let service = &docs[0];
        assert_eq!(
            service["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Environment", "Service"], ["Environment", "Account", "Service"]])
        );
        assert_eq!(
            service["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "Events", "Unit": "Count"}, {"Name": "Errors", "Unit": "Count"}])
        );
        assert_eq!(service["_aws"]["CloudWatchMetrics"][1]["Dimensions"], json!([["Environment", "Service"]]));
        let per_service: Vec<&str> = service["_aws"]["CloudWatchMetrics"][1]["Metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .filter_map(|x| x["Name"].as_str())
            .collect();
        assert_eq!(
            per_service,
            [
                "Bytes",
                "Warnings",
                "Redactions",
                "Truncated",
                "Malformed",
                "LatencyP50",
                "LatencyP90",
                "LatencyP99",
                "LatencyMax"
            ]
        );
        assert_eq!(
            (&service["Environment"], &service["Account"], &service["Service"], &service["Events"], &service["Errors"]),
            (&json!("dev"), &json!("111111111111"), &json!("audit"), &json!(4.0), &json!(1.0))
        );

        let tier = &docs[1];
        assert_eq!(tier["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Environment", "Account", "Tier"]]));
        assert_eq!(
            (&tier["Tier"], &tier["Events"], &tier["Errors"], &tier["Requests"], &tier["SlowRequests"]),
            (&json!("dependent"), &json!(4.0), &json!(1.0), &json!(3.0), &json!(2.0))
        );
        assert!(tier.get("Service").is_none());
        assert_eq!((&docs[2]["Untiered"], &docs[2]["UnattributedBatches"]), (&json!(2.0), &json!(0.0)));
    }

    #[test]
    fn two_owners_make_two_documents_and_an_unattributed_owner_is_no_dimension() {
        let mut m = Metrics::default();
        m.account("111111111111").services.insert("audit".into(), counted(2, 0));
        m.account("222222222222").services.insert("audit".into(), counted(3, 3));
        m.unattributed.insert("audit".into(), counted(1, 1));
        m.unattributed_batches = 1;
        let docs = documents(&m);
        docs.iter().for_each(assert_follows_the_specification);
        let audit: Vec<&Value> = docs.iter().filter(|d| d["Service"] == "audit").collect();
        assert_eq!(audit.len(), 3);
        assert_eq!((&audit[0]["Account"], &audit[0]["Events"]), (&json!("111111111111"), &json!(2.0)));
        assert_eq!((&audit[1]["Account"], &audit[1]["Errors"]), (&json!("222222222222"), &json!(3.0)));
        assert!(audit[2].get("Account").is_none(), "{}", audit[2]);
        assert_eq!(audit[2]["_aws"]["CloudWatchMetrics"], json!([audit[2]["_aws"]["CloudWatchMetrics"][0]]));
        assert_eq!(audit[2]["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Environment", "Service"]]));
        assert_eq!(docs.last().map(|d| &d["UnattributedBatches"]), Some(&json!(1.0)));
        assert_eq!(m.service_total("audit").events, 6);
    }

    #[test]
    fn only_twelve_digit_owners_are_accounts() {
        for owner in ["111111111111", "000000000000"] {
            assert!(is_account_id(owner), "{owner}");
        }
        for owner in ["CloudwatchLogs", "", "11111111111", "1111111111111", "11111111111a", "１１１１１１１１１１１１"]
        {
            assert!(!is_account_id(owner), "{owner}");
        }
    }

    #[test]
    fn merging_adds_accounts_tiers_and_batch_counts() {
        let mut a = Metrics::default();
        a.account("111111111111").services.insert("audit".into(), counted(1, 0));
        a.account("111111111111").tiers.insert("core".into(), TierMetrics { events: 1, ..TierMetrics::default() });
        let mut b = a.clone();
        b.unattributed_batches = 2;
        b.untiered = 1;
        a.merge(b);
        let acct = &a.accounts["111111111111"];
        assert_eq!((acct.services["audit"].events, acct.tiers["core"].events), (2, 2));
        assert_eq!((a.unattributed_batches, a.untiered), (2, 1));
    }
}

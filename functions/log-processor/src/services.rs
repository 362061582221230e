//! The service catalogue and the tiers' latency objectives, compiled in: which services are dimensions, their tier, and what a slow request is.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::Text;
use crate::metrics::TierMetrics;

/// The platform's services and their tiers (`config/services.toml`): a service name only becomes
/// a metric dimension if it is one of these, so a stray label cannot explode cardinality.
pub const SERVICES: &str = include_str!("../../../config/services.toml");
/// The service level objectives (`config/monitoring.toml` `[slo]`): each tier's `latency_ms`.
pub const MONITORING: &str = include_str!("../../../config/monitoring.toml");

/// The compiled-in config does not hold what the metrics need.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ServicesError {
    pub file: &'static str,
    pub message: String,
    /// The decoder's error, when the file did not decode.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

const SERVICES_FILE: &str = "config/services.toml";
const MONITORING_FILE: &str = "config/monitoring.toml";

fn services_error(message: impl Into<String>) -> ServicesError {
    ServicesError { file: SERVICES_FILE, message: message.into(), source: None }
}

fn monitoring_error(message: impl Into<String>) -> ServicesError {
    ServicesError { file: MONITORING_FILE, message: message.into(), source: None }
}

/// `file` did not decode (as TOML, or as the JSON compiled from it): the decoder's error kept.
fn undecodable(file: &'static str, as_what: &str, e: impl std::error::Error + Send + Sync + 'static) -> ServicesError {
    ServicesError { file, message: format!("does not decode {as_what}"), source: Some(Box::new(e)) }
}

// Only what the log processor reads; the config tree validates the files in full, and the other
// tables are left for it (no `deny_unknown_fields`).
#[derive(Debug, Deserialize)]
pub(crate) struct ServicesFile {
    pub(crate) services: Option<BTreeMap<Text, ServiceFile>>,
    #[serde(default)]
    pub(crate) tiers: Vec<TierFile>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ServiceFile {
    /// `job` for a Kubernetes Job (schema migrations); a Deployment when absent.
    #[serde(default)]
    pub(crate) kind: Option<Text>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TierFile {
    pub(crate) name: Text,
    pub(crate) services: Vec<Text>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MonitoringFile {
    pub(crate) slo: Option<SloFile>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SloFile {
    #[serde(default)]
    pub(crate) objectives: Vec<ObjectiveFile>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ObjectiveFile {
    pub(crate) tier: Text,
    pub(crate) latency_ms: u32,
}

/// One tier: its name (a dimension value) and its latency objective.
#[derive(Debug, Clone, PartialEq)]
pub struct Tier {
    pub name: Text,
    /// A request slower than this is slow; one of exactly this duration is not.
    pub latency_ms: f64,
}

/// The catalogue, validated: every service with its tier, every tier with its objective.
#[derive(Debug, Clone, PartialEq)]
pub struct Services {
    /// Service name -> its slot (its rank in name order) and index into `tiers` (`None`: in no tier).
    services: BTreeMap<Text, (usize, Option<usize>)>,
    tiers: Vec<Tier>,
}

/// One batch's tier counts, indexed like the catalogue's tiers: counted into an array on the hot
/// path and written into the account's map once per batch.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    tiers: Vec<TierMetrics>,
    /// Events of services in no tier.
    pub untiered: u64,
}

impl Services {
    /// The catalogue compiled into the function.
    pub fn compiled_in() -> Result<Services, ServicesError> {
        Services::checked(crate::compiled::services(), crate::compiled::monitoring())
    }

    /// `services` (services.toml) and `monitoring` (monitoring.toml), checked for what the metrics
    /// rely on: known services in at most one tier, one objective per tier and none for an unknown one.
    pub fn parse(services: &str, monitoring: &str) -> Result<Services, ServicesError> {
        let file: ServicesFile = toml::from_str(services).map_err(|e| undecodable(SERVICES_FILE, "as TOML", e))?;
        let monitoring: MonitoringFile =
            toml::from_str(monitoring).map_err(|e| undecodable(MONITORING_FILE, "as TOML", e))?;
        Services::checked(file, monitoring)
    }

    fn checked(file: ServicesFile, monitoring: MonitoringFile) -> Result<Services, ServicesError> {
        let known = file.services.ok_or_else(|| services_error("no [services] table"))?;
        let objectives = monitoring.slo.ok_or_else(|| monitoring_error("no [slo] table"))?.objectives;

        let mut map: BTreeMap<Text, Option<usize>> = known.keys().map(|s| (s.clone(), None)).collect();
        let mut tiers = Vec::with_capacity(file.tiers.len());
        for (i, t) in file.tiers.iter().enumerate() {
            if t.name.is_empty() || tiers.iter().any(|x: &Tier| x.name == t.name) {
                return Err(services_error(format!("tier `{}` is unnamed or named twice", t.name)));
            }
            for s in &t.services {
                match map.get_mut(s) {
                    None => return Err(services_error(format!("tier `{}` names `{s}`, not a service", t.name))),
                    Some(Some(other)) => {
                        let other = file.tiers.get(*other).map_or("", |x| &*x.name);
                        return Err(services_error(format!("`{s}` is in tiers `{other}` and `{}`", t.name)));
                    }
                    Some(tier) => *tier = Some(i),
                }
            }
            // A tier of Jobs (schema migrations) serves no request: no objective, nothing slow.
            let jobs_only = t.services.iter().all(|s| known.get(s).and_then(|v| v.kind.as_deref()) == Some("job"));
            let mut matching = objectives.iter().filter(|o| o.tier == t.name);
            let objective = match (matching.next(), matching.next()) {
                (None, _) if jobs_only => {
                    tiers.push(Tier { name: t.name.clone(), latency_ms: f64::INFINITY });
                    continue;
                }
                (Some(_), _) if jobs_only => {
                    return Err(monitoring_error(format!("tier `{}` runs jobs only and has no objective", t.name)));
                }
                (Some(o), None) => o,
                (None, _) => return Err(monitoring_error(format!("tier `{}` has no [[slo.objectives]]", t.name))),
                (Some(_), Some(_)) => return Err(monitoring_error(format!("tier `{}` has two objectives", t.name))),
            };
            if objective.latency_ms == 0 {
                return Err(monitoring_error(format!("tier `{}`: latency_ms must be at least 1", t.name)));
            }
            tiers.push(Tier { name: t.name.clone(), latency_ms: f64::from(objective.latency_ms) });
        }
        let names: BTreeSet<&str> = tiers.iter().map(|t| &*t.name).collect();
        if let Some(o) = objectives.iter().find(|o| !names.contains(&*o.tier)) {
            return Err(monitoring_error(format!("objective for `{}`, not a tier of services.toml", o.tier)));
        }
        let services = map.into_iter().enumerate().map(|(slot, (name, tier))| (name, (slot, tier))).collect();
        Ok(Services { services, tiers })
    }

    /// `name`'s slot (`0..len()`, in name order: the order of [`Services::names`], for counting
    /// into an array instead of a map), the catalogue's spelling of it (borrowed for the whole
    /// invocation) and its tier index.
    pub fn slot(&self, name: &str) -> Option<(usize, &str, Option<usize>)> {
        self.services.get_key_value(name).map(|(n, &(slot, tier))| (slot, &**n, tier))
    }

    /// Services in the catalogue.
    pub fn len(&self) -> usize {
        self.services.len()
    }

    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// Every service's name, by slot.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.services.keys().map(|k| &**k)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.services.contains_key(name)
    }

    pub fn tiers(&self) -> &[Tier] {
        &self.tiers
    }

    /// The tier `service` is in, if the catalogue knows both.
    pub fn tier_of(&self, service: &str) -> Option<&Tier> {
        self.services.get(service).and_then(|&(_, tier)| tier).and_then(|i| self.tiers.get(i))
    }

    pub fn tally(&self) -> Tally {
        Tally { tiers: vec![TierMetrics::default(); self.tiers.len()], untiered: 0 }
    }

    /// One log event of a service in `tier`: an error or not, a request of that duration or none.
    #[inline]
    pub fn count(&self, tally: &mut Tally, tier: Option<usize>, error: bool, duration_ms: Option<f64>) {
        let (Some(t), Some(objective)) =
            (tier.and_then(|i| tally.tiers.get_mut(i)), tier.and_then(|i| self.tiers.get(i)))
        else {
            tally.untiered += 1;
            return;
        };
        t.events += 1;
        t.errors += u64::from(error);
        if let Some(d) = duration_ms {
            t.requests += 1;
            t.slow_requests += u64::from(d > objective.latency_ms);
        }
    }

    /// Adds the batch's tier counts into an account's, by tier name (tiers it never saw stay absent).
    pub fn add_tally(&self, tally: &Tally, into: &mut BTreeMap<String, TierMetrics>) {
        for (tier, counts) in self.tiers.iter().zip(&tally.tiers) {
            if counts.events == 0 {
                continue;
            }
            match into.get_mut(&*tier.name) {
                Some(mine) => mine.add(counts),
                None => {
                    into.insert(tier.name.to_string(), *counts);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOGUE: &str = r#"
        [services.audit]
        [services.frontend]
        [services.batch]
        [[tiers]]
        name = "core"
        services = ["audit"]
        [[tiers]]
        name = "edge"
        services = ["frontend"]
    "#;
    const OBJECTIVES: &str = r#"
        [paging]
        provider = "pagerduty"
        [slo]
        window_days = 30
        [[slo.objectives]]
        tier = "core"
        latency_ms = 300
        availability = 99.9
        [[slo.objectives]]
        tier = "edge"
        latency_ms = 1000
    "#;

    #[test]
    fn the_compiled_in_catalogue_gives_every_tier_an_objective() {
        let s = Services::compiled_in().expect("config/services.toml and config/monitoring.toml agree");
        assert!(!s.tiers().is_empty());
        assert!(s.tiers().iter().all(|t| t.latency_ms >= 1.0));
        assert!(s.contains("audit"));
        assert!(s.slot("someones-experiment").is_none());
    }

    #[test]
    fn services_map_to_their_tier_and_threshold() {
        let s = Services::parse(CATALOGUE, OBJECTIVES).expect("valid");
        assert_eq!(s.tier_of("audit").map(|t| (&*t.name, t.latency_ms)), Some(("core", 300.0)));
        assert_eq!(s.tier_of("frontend").map(|t| t.latency_ms), Some(1000.0));
        assert_eq!(
            s.slot("batch").map(|(_, n, t)| (n, t)),
            Some(("batch", None)),
            "a service in no tier is still a service"
        );
        // The pipeline counts by slot and names the counters by `names()`: the two must agree.
        for (i, name) in s.names().enumerate() {
            assert_eq!(s.slot(name).map(|(slot, n, _)| (slot, n)), Some((i, name)));
        }
        assert_eq!(s.names().count(), s.len());
        assert!(s.tier_of("batch").is_none());
    }

    #[test]
    fn slow_means_strictly_over_the_objective() {
        let s = Services::parse(CATALOGUE, OBJECTIVES).expect("valid");
        let core = s.slot("audit").and_then(|(_, _, t)| t);
        let mut tally = s.tally();
        for d in [Some(299.9), Some(300.0), Some(300.001), None] {
            s.count(&mut tally, core, d.is_none(), d);
        }
        s.count(&mut tally, None, true, Some(5000.0));
        let mut tiers = BTreeMap::new();
        s.add_tally(&tally, &mut tiers);
        s.add_tally(&tally, &mut tiers);
        assert_eq!(tiers["core"], TierMetrics { events: 8, errors: 2, requests: 6, slow_requests: 2 });
        assert!(!tiers.contains_key("edge"), "a tier without events writes nothing");
        assert_eq!(tally.untiered, 1);
    }

    #[test]
    fn a_catalogue_the_metrics_cannot_trust_is_refused() {
        let no_objective = OBJECTIVES.replace("tier = \"edge\"", "tier = \"elsewhere\"");
        let twice = OBJECTIVES.replace("tier = \"edge\"", "tier = \"core\"");
        let stray = format!("{OBJECTIVES}\n[[slo.objectives]]\ntier = \"mystery\"\nlatency_ms = 5\n");
        let cases = [
            (CATALOGUE.replace("[\"audit\"]", "[\"audit\", \"frontend\"]"), OBJECTIVES.to_string(), "in tiers"),
            (CATALOGUE.replace("[\"audit\"]", "[\"nobody\"]"), OBJECTIVES.to_string(), "not a service"),
            (CATALOGUE.replace("[services.audit]", ""), OBJECTIVES.to_string(), "not a service"),
            (CATALOGUE.replace("name = \"edge\"", "name = \"core\""), OBJECTIVES.to_string(), "named twice"),
            (CATALOGUE.to_string(), no_objective, "no [[slo.objectives]]"),
            (CATALOGUE.to_string(), twice, "two objectives"),
            (CATALOGUE.to_string(), stray, "not a tier"),
            (CATALOGUE.to_string(), OBJECTIVES.replace("latency_ms = 300", "latency_ms = 0"), "at least 1"),
            (CATALOGUE.to_string(), OBJECTIVES.replace("latency_ms = 300", "latency_ms = -3"), "monitoring.toml"),
            (CATALOGUE.to_string(), "[paging]".to_string(), "no [slo]"),
            ("[[tiers]]\nname = \"x\"\nservices = []".to_string(), OBJECTIVES.to_string(), "no [services]"),
            ("not = [toml".to_string(), OBJECTIVES.to_string(), "services.toml"),
        ];
        for (catalogue, objectives, expected) in cases {
            let err = Services::parse(&catalogue, &objectives).expect_err(expected);
            assert!(err.to_string().contains(expected), "{err} (wanted `{expected}`)");
        }
        // A file that does not decode keeps the decoder's error as its source, where it says where.
        let err = Services::parse("not = [toml", OBJECTIVES).expect_err("bad toml");
        let source = std::error::Error::source(&err).expect("the TOML error is kept");
        assert!(source.to_string().contains("line 1"), "{source}");
    }
}

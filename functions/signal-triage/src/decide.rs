//! What a detection leads to, as a pure function of what triage gathered: notify, suppress, roll back, raise memory, escalate or freeze.

use chrono::{DateTime, Utc};
use platform_core::config::{Remediation, SignatureAction, SignatureRoute, TriageSettings};
use platform_core::quantity::mebibytes;
use serde::{Deserialize, Serialize};

use crate::ports::{AccountRelease, Sighting};

/// What the state machine routes on (`$.triage.kind`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display, strum::IntoStaticStr, strum::VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Kind {
    /// People are told: a `notify` signature, or one the config does not know.
    Notify,
    /// Seen within the window: counted, nobody told again.
    Suppressed,
    /// Platform deploy of the account's previous release.
    Rollback,
    /// Platform deploy of the account's current release with the workload's memory raised.
    RaiseMemory,
    /// A remediation that cannot act (no previous release, outside the bake window, at the
    /// memory ceiling, the control plane's own logs): people are told why.
    Escalate,
    /// A remediation inside trading hours: people are told instead of anything being changed.
    Frozen,
}

/// Everything the decision looks at.
#[derive(Debug, Clone)]
pub struct Situation<'a> {
    pub now: DateTime<Utc>,
    pub signature: &'a str,
    pub service: &'a str,
    /// The signature's route in the published config; `None`: unknown.
    pub route: Option<&'a SignatureRoute>,
    pub settings: &'a TriageSettings,
    pub sighting: Sighting,
    /// The detection came from the automation account's own logs (the control plane's).
    pub own_logs: bool,
    /// The account's current release, as platform deploy recorded it.
    pub release: Option<&'a AccountRelease>,
    /// The workload's memory limit now (its override, else the catalogue's); `None`: not a
    /// workload of the catalogue.
    pub memory_limit: Option<&'a str>,
    pub trading_hours: bool,
}

/// The decision, and for a remediation what to deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub kind: Kind,
    pub reason: String,
    /// For a rollback: the release to deploy; for raise-memory: the current one.
    pub release: Option<String>,
    /// For raise-memory: the workload's new memory limit.
    pub memory: Option<String>,
}

impl Decision {
    fn say(kind: Kind, reason: impl Into<String>) -> Decision {
        Decision { kind, reason: reason.into(), release: None, memory: None }
    }
}

pub fn decide(s: &Situation<'_>) -> Decision {
    if let Sighting::Suppressed { count, since } = s.sighting {
        return Decision::say(
            Kind::Suppressed,
            format!("{} of {} already reported at {since}: {count} suppressed since", s.signature, s.service),
        );
    }
    let Some(route) = s.route else {
        return Decision::say(Kind::Notify, format!("signature `{}` is not in the published config", s.signature));
    };
    let remediation = match (route.action, route.remediation) {
        (SignatureAction::Remediate, Some(r)) => r,
        (SignatureAction::Remediate, None) => {
            return Decision::say(Kind::Escalate, format!("`{}` is remediated but names no remediation", route.name));
        }
        (action, _) => return Decision::say(Kind::Notify, format!("`{}` is a {action} signature", route.name)),
    };
    if s.own_logs {
        return Decision::say(
            Kind::Escalate,
            format!(
                "{remediation} does not apply to the control plane's own logs: no release of the platform runs there"
            ),
        );
    }
    let proposed = match remediation {
        Remediation::Rollback => rollback(s),
        Remediation::RaiseMemory => raise_memory(s),
    };
    match proposed {
        Ok(d) if s.trading_hours => Decision::say(
            Kind::Frozen,
            format!("{} of {} held: remediations wait outside trading hours ({})", d.kind, s.service, d.reason),
        ),
        Ok(d) => d,
        Err(reason) => Decision::say(Kind::Escalate, reason),
    }
}

fn rollback(s: &Situation<'_>) -> Result<Decision, String> {
    let release = s.release.ok_or("the account has no recorded release to roll back")?;
    let previous = release
        .previous
        .as_ref()
        .ok_or_else(|| format!("release {} has no previous release to roll back to", release.name))?;
    let at = release.recorded_at.ok_or_else(|| format!("release {} has no recorded deploy time", release.name))?;
    let age = s.now - at;
    let window = chrono::Duration::minutes(i64::from(s.settings.bake_window_minutes));
    if age > window || age < chrono::Duration::zero() {
        return Err(format!(
            "release {} was deployed at {at}, outside the {} minute bake window: not the release's doing by rule",
            release.name, s.settings.bake_window_minutes
        ));
    }
    Ok(Decision {
        kind: Kind::Rollback,
        reason: format!(
            "{} {} minute(s) after release {}: back to {previous}",
            s.signature,
            age.num_minutes(),
            release.name
        ),
        release: Some(previous.clone()),
        memory: None,
    })
}

fn raise_memory(s: &Situation<'_>) -> Result<Decision, String> {
    let release = s.release.ok_or("the account has no recorded release to deploy with more memory")?;
    let limit = s.memory_limit.ok_or_else(|| format!("`{}` is not a workload of the catalogue", s.service))?;
    let mib = mebibytes(limit).ok_or_else(|| format!("memory limit `{limit}` of {} is not a quantity", s.service))?;
    let ceiling = u64::from(s.settings.memory_ceiling_mib);
    if mib >= ceiling {
        return Err(format!("{} is at {limit}, the memory ceiling ({ceiling}Mi): a person decides", s.service));
    }
    // Rounded to whole MiB and kept below the ceiling: the step is a factor of at most 4.
    let raised = ((mib as f64 * s.settings.memory_step).round() as u64).clamp(mib + 1, ceiling);
    Ok(Decision {
        kind: Kind::RaiseMemory,
        reason: format!("{} memory {limit} -> {raised}Mi (ceiling {ceiling}Mi), release {}", s.service, release.name),
        release: Some(release.name.clone()),
        memory: Some(format!("{raised}Mi")),
    })
}

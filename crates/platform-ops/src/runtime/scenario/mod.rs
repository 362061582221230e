//! Scenarios: event files replayed through the runtime, with the outcomes they must produce.

// `scenarios/<name>/scenario.json` lists steps; each step writes log lines, sends an event,
// invokes a function or runs a state machine, then checks what it expects.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

mod check;
mod replay;

use super::admission::{Refusal, Stop};
use super::{Dispatch, RuntimeError};
pub use check::contains;
pub use replay::replay;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub description: String,
    /// The environment the local runtime stands in for and its fleet (default: dev, no clients).
    #[serde(default)]
    pub world: crate::world::WorldOptions,
    /// The day the scenario runs as (its events' day): what `validate` judges support windows
    /// on when the scenario is demonstrated, so a demo does not fail on the wall clock.
    #[serde(default)]
    pub as_of: Option<chrono::NaiveDate>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub name: String,
    #[serde(flatten)]
    pub action: Action,
    #[serde(default)]
    pub expect: Vec<Expectation>,
    /// Checked when the step's dispatch ends, if it waited on a callback (a release waiting for
    /// approval) and so ended during a later step, or at the scenario's end.
    #[serde(default)]
    pub then: Vec<Expectation>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A person's decision on the release waiting for approval (`id`: its approval id, default
    /// the one waiting), as `platform-ops release approve|reject` makes it, at `at`.
    Decide {
        #[serde(default)]
        id: Option<String>,
        verdict: platform_core::approvals::Verdict,
        by: String,
        #[serde(default)]
        reason: Option<String>,
        at: chrono::DateTime<chrono::Utc>,
    },
    /// The virtual clock moves to `at`: callback tasks whose timeout passed time out.
    Advance { at: chrono::DateTime<chrono::Utc> },
    /// A parameter written as another deployment writes it (staging's fleet outcome, which a
    /// prod-only local runtime cannot produce): `value` as JSON text.
    Parameter { name: String, value: Value },
    /// Lines written to a log group (one per line of `file`), delivered to its subscribers.
    Logs { group: String, stream: String, file: String },
    /// An event (file) sent to a bus and routed by the template's rules; put by account `from`
    /// (default: the event's `account`), to which the bus's resource policy applies.
    Event {
        bus: String,
        file: String,
        #[serde(default)]
        from: Option<String>,
    },
    /// One function invoked with an event file.
    Invoke { function: String, file: String },
    /// A state machine (template name or definition file) run on an input file.
    Execution { machine: String, file: String },
    /// A schedule of the template (its event's logical id, or its end) fired at `at`.
    Schedule { name: String, at: chrono::DateTime<chrono::Utc> },
    /// Someone changes resources of `stack_set`'s instance in `account` (placeholders filled) and
    /// `region` by hand, behind CloudFormation's back: the next drift detection finds them.
    Drift {
        stack_set: String,
        account: String,
        region: String,
        resources: Vec<platform_core::stacksets::ResourceDrift>,
    },
    /// Alarm `name` of `account` set to `state` (ALARM, OK) at `at`, as CloudWatch sets it; its
    /// state change, with the alarm's own configuration, is put on `bus` by that account.
    Alarm {
        account: String,
        name: String,
        state: String,
        reason: String,
        bus: String,
        at: chrono::DateTime<chrono::Utc>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Expectation {
    /// A dispatch to `target` happened, with this outcome kind and an output containing `output`.
    Dispatch {
        target: String,
        outcome: String,
        #[serde(default)]
        output: Option<Value>,
        /// Text the failure's cause (as people read it) must contain: which value was refused.
        #[serde(default)]
        cause: Option<String>,
    },
    /// Events the step's functions published, by detail-type.
    Published { detail_type: String, count: usize },
    /// Objects in a bucket (what Firehose delivered), at least this many.
    Bucket { name: String, min_objects: usize },
    /// Exactly `count` JSON objects under `prefix` (placeholders filled) in `bucket` contain
    /// `contains` (a report's verdict, say): what was written, not only that something was.
    Reports { bucket: String, prefix: String, contains: Value, count: usize },
    /// Parameters under a path (recursively), at least this many.
    Parameters { path: String, min: usize },
    /// Exactly one account of the organisation has this e-mail, and it sits in the OU named `ou`
    /// (`root`: directly under the root).
    Account { email: String, ou: String },
    /// The step's dispatches made these changing calls (`sns Publish`), among others; with
    /// `only`, these and no other.
    Changes {
        include: Vec<String>,
        #[serde(default)]
        only: bool,
    },
    /// The step's event of this detail-type was refused `at` the bus (its resource policy) or the
    /// rules (none matched), and no target ran: no dispatch, no AWS change.
    Refused { at: Stop, detail_type: String },
    /// The step's decision was delivered to the waiting release, or refused with a message
    /// containing `message`.
    Decision {
        delivered: bool,
        #[serde(default)]
        message: Option<String>,
    },
    /// A task of a state machine waits at `state` for its callback.
    Waiting { state: String },
    /// The release ledger says `account` (placeholders filled) of `environment` runs `release`.
    Runs { environment: String, account: String, release: String },
    /// Every container of workload `service` in the cluster of `account` (placeholders filled) of
    /// `environment` runs an image tagged `tag`: what the cluster runs, not what was recorded.
    Image { environment: String, account: String, service: String, tag: String },
    /// The paging provider's stand-in holds exactly one incident whose key contains `key`, in
    /// `status` (triggered, resolved), having received exactly `actions` (trigger, resolve...).
    Paged { key: String, status: String, actions: Vec<String> },
}

/// One checked expectation.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub step: String,
    pub expectation: String,
    pub met: bool,
    pub actual: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub scenario: String,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.met)
    }
}

pub fn load(root: &Path, name: &str) -> Result<(PathBuf, Scenario), RuntimeError> {
    let dir = root.join("scenarios").join(name);
    let path = dir.join("scenario.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|source| RuntimeError::Read { path: path.display().to_string(), source })?;
    let scenario =
        serde_json::from_str(&text).map_err(|e| RuntimeError::Invalid(format!("{}: {e}", path.display())))?;
    Ok((dir, scenario))
}

/// A scenario file, with `{{name}}` placeholders filled from the world (`{{account:abc-trading-dev}}`
/// is that account's id, which the emulator chose) and `{{id}}` a fresh event id.
pub fn read_json(dir: &Path, file: &str, facts: &BTreeMap<String, String>) -> Result<Value, RuntimeError> {
    let path = dir.join(file);
    let mut text = std::fs::read_to_string(&path)
        .map_err(|source| RuntimeError::Read { path: path.display().to_string(), source })?;
    for (name, value) in facts {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    text = text.replace("{{id}}", &uuid::Uuid::new_v4().to_string());
    if let Some(start) = text.find("{{") {
        let end = text[start..].find("}}").map_or(text.len(), |e| start + e + 2);
        return Err(RuntimeError::Invalid(format!("{}: unknown placeholder {}", path.display(), &text[start..end])));
    }
    serde_json::from_str(&text).map_err(|e| RuntimeError::Invalid(format!("{}: {e}", path.display())))
}

/// What one step led to.
pub(super) struct Seen<'a> {
    pub(super) dispatches: &'a [Dispatch],
    pub(super) published: &'a [Value],
    pub(super) refused: &'a [Refusal],
    /// The world's facts, for placeholders in what is checked.
    pub(super) facts: &'a BTreeMap<String, String>,
    /// A `decide` step's result: what was delivered, or why it was refused.
    pub(super) decision: Option<&'a Result<String, String>>,
}

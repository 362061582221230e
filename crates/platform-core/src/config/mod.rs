//! Loads and validates the config tree (`config/`), the single source of truth for every flow.

mod images;
mod model;
mod monitoring;
mod publish;
mod published;
mod release;
mod serving;
mod signals;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;
use serde::de::DeserializeOwned;

pub use images::{ImagePolicy, ImageSeverity};
pub use model::*;
pub use monitoring::{
    AlarmSeverity, BurnRate, HealthAlarm, HealthSource, Indicator, Monitoring, Objective, PageProvider, Paging, Per,
    Slo, TicketSystem,
};
pub use publish::{PublishReport, config_parameters, publish};
pub use published::{Published, PublishedConfig, PublishedError, published_tree};
pub use release::{BusyAction, FreezeAction, ReleasePolicy, Wave};
pub use serving::{Backup, Edge, NODE_PORT_RANGE};
pub use signals::{Remediation, Severity, SignalRouting, SignatureAction, SignatureRoute, TriageSettings, is_anchor};
pub use validate::{
    FLEET_RELEASE_TIMEOUT_MINUTES, SUPPORTED_KUBERNETES_VERSIONS, SupportEnding, find_placeholder, support_ending,
};

/// Every organisation runs these; others (a client's UAT, say) may be added beside them.
pub const REQUIRED_ENVIRONMENTS: &[&str] = &["dev", "staging", "prod"];

/// One problem in the config tree, named by file and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub file: PathBuf,
    /// Dotted key path inside the file (`nodegroup.desired_size`); empty for the whole file.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.key, self.message)
        }
    }
}

/// Every problem found in one load; the tree is used only when there are none.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    pub issues: Vec<ConfigIssue>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config tree has {} problem(s):", self.issues.len())?;
        for issue in &self.issues {
            write!(f, "\n  {issue}")?;
        }
        Ok(())
    }
}

/// Collects issues while loading, so one run reports everything wrong at once.
#[derive(Debug, Default)]
pub(crate) struct Issues(Vec<ConfigIssue>, Vec<(PathBuf, String)>);

impl Issues {
    pub(crate) fn push(&mut self, file: &Path, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigIssue { file: file.to_path_buf(), key: key.into(), message: message.into() });
    }

    /// A placeholder at `key`: reported, and any other complaint about the same key is dropped,
    /// since it only restates that the value is not real.
    pub(crate) fn placeholder(&mut self, file: &Path, key: &str, message: String) {
        self.1.push((file.to_path_buf(), key.to_string()));
        self.push(file, key, message);
    }

    fn into_vec(self) -> Vec<ConfigIssue> {
        let placeholders = self.1;
        self.0
            .into_iter()
            .filter(|i| {
                i.message.contains("is a placeholder") || !placeholders.iter().any(|(f, k)| *f == i.file && *k == i.key)
            })
            .collect()
    }
}

/// Loads `dir` (the `config/` folder) and validates it, whatever the day: a Kubernetes version
/// EKS knows loads even past its support window, which `validate` (as of its day) reports. Work
/// never fails on the wall clock.
pub fn load(dir: &Path) -> Result<ConfigTree, ConfigErrors> {
    load_with(dir, None)
}

/// Loads and validates `dir` as of `today`: a Kubernetes version past EKS standard support is an error.
pub fn load_as_of(dir: &Path, today: NaiveDate) -> Result<ConfigTree, ConfigErrors> {
    load_with(dir, Some(today))
}

fn load_with(dir: &Path, today: Option<NaiveDate>) -> Result<ConfigTree, ConfigErrors> {
    let mut issues = Issues::default();

    let org_file = dir.join("organization.toml");
    let organization = parse_file::<Organization>(&org_file, &mut issues);
    if let Some(org) = &organization {
        validate::organization(&org_file, org, &mut issues);
    }

    let services_file = dir.join("services.toml");
    let catalog = parse_file::<RawServicesFile>(&services_file, &mut issues)
        .and_then(|raw| validate::catalog(&services_file, raw, &mut issues));

    let alarms_file = dir.join("remediation-alarms.toml");
    let alarms = parse_file::<RemediationAlarmsFile>(&alarms_file, &mut issues).map(|f| {
        validate::remediation_alarms(&alarms_file, &f.alarms, &mut issues);
        f.alarms
    });

    let signatures_file = dir.join("log-signatures.toml");
    let signals = parse_file::<signals::RawSignaturesFile>(&signatures_file, &mut issues)
        .map(|raw| signals::signal_routing(&signatures_file, raw, &mut issues));

    let monitoring_file = dir.join("monitoring.toml");
    let monitoring = parse_file::<Monitoring>(&monitoring_file, &mut issues).map(|mut m| {
        monitoring::validate(&monitoring_file, &m, catalog.as_ref(), &mut issues);
        // By name, as they are published (one parameter each) and read back.
        m.health.sort_by(|a, b| a.name.cmp(&b.name));
        m
    });

    let mut environments = BTreeMap::new();
    let mut env_files = BTreeMap::new();
    for file in environment_files(dir, &mut issues) {
        let Some(env) = parse_file::<Environment>(&file, &mut issues) else { continue };
        validate::environment(&file, &env, today, &mut issues);
        env_files.insert(env.name.clone(), file);
        environments.insert(env.name.clone(), env);
    }
    for required in REQUIRED_ENVIRONMENTS {
        if !environments.contains_key(*required) && !env_files.contains_key(*required) {
            let missing = dir.join("environments").join(format!("{required}.toml"));
            if !missing.exists() {
                issues.push(&missing, "", format!("environment `{required}` is required and has no file"));
            }
        }
    }
    validate::across_environments(&environments, &env_files, &mut issues);
    validate::promotion(&environments, &env_files, &mut issues);
    if let Some(org) = &organization {
        for (name, env) in &environments {
            validate::dry_run_targets(&env_files[name], org, env, &mut issues);
        }
    }

    if let Some(catalog) = &catalog {
        for (name, env) in &environments {
            validate::edge_service(&env_files[name], env, catalog, &mut issues);
        }
    }

    let issues = issues.into_vec();
    match (organization, catalog, alarms, signals, monitoring, issues.is_empty()) {
        (Some(organization), Some(catalog), Some(alarms), Some(signals), Some(monitoring), true) => {
            Ok(ConfigTree { organization, catalog, environments, alarms, signals, monitoring })
        }
        _ => Err(ConfigErrors { issues }),
    }
}

fn environment_files(dir: &Path, issues: &mut Issues) -> Vec<PathBuf> {
    let env_dir = dir.join("environments");
    let entries = match std::fs::read_dir(&env_dir) {
        Ok(entries) => entries,
        Err(e) => {
            issues.push(&env_dir, "", format!("cannot read environments folder: {e}"));
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        issues.push(&env_dir, "", "no environment files (*.toml)");
    }
    files
}

/// Reads one TOML file: syntax, placeholders, then the typed shape (unknown keys rejected).
fn parse_file<T: DeserializeOwned>(file: &Path, issues: &mut Issues) -> Option<T> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            issues.push(file, "", format!("cannot read file: {e}"));
            return None;
        }
    };
    let table: toml::Table = match toml::from_str(&text) {
        Ok(table) => table,
        Err(e) => {
            issues.push(file, "", toml_message(&e, &text));
            return None;
        }
    };
    // Placeholders are reported, and the file is still read: its other mistakes show in the same run.
    validate::placeholders(file, &table, issues);
    let deserializer = match toml::Deserializer::parse(&text) {
        Ok(d) => d,
        Err(e) => {
            issues.push(file, "", toml_message(&e, &text));
            return None;
        }
    };
    match serde_path_to_error::deserialize::<_, T>(deserializer) {
        Ok(value) => Some(value),
        Err(e) => {
            let key = e.path().to_string();
            let key = if key == "." { String::new() } else { key };
            issues.push(file, key, toml_message(e.inner(), &text));
            None
        }
    }
}

fn toml_message(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("{message} (line {line})")
        }
        None => message,
    }
}

/// `services.toml` as written: defaults plus per-service overrides.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServicesFile {
    pub defaults: RawDefaults,
    pub tiers: Vec<Tier>,
    pub services: BTreeMap<String, RawService>,
    #[serde(default)]
    pub smoke_checks: Vec<RawSmokeCheck>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSmokeCheck {
    pub name: String,
    pub service: String,
    /// The service's port unless named.
    pub port: Option<u16>,
    pub path: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDefaults {
    pub port: u16,
    pub health_path: String,
    pub replicas: u32,
    pub resources: Resources,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawService {
    #[serde(default)]
    pub kind: ServiceKind,
    pub image: String,
    pub port: Option<u16>,
    pub grpc_port: Option<u16>,
    pub health_path: Option<String>,
    pub replicas: Option<u32>,
    pub resources: Option<Resources>,
    #[serde(default)]
    pub database: bool,
}

/// The repository's own `config/` folder, for tests and the CLI's default.
pub fn repository_config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

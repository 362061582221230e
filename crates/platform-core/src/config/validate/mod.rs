//! The rules the config tree must satisfy; each problem names its file and key.

mod alarms;
mod environments;
mod names;
mod org;
mod placeholder;
mod release;
mod services;
mod serving;

pub(crate) use alarms::remediation_alarms;
pub use environments::{SUPPORTED_KUBERNETES_VERSIONS, SupportEnding, support_ending};
pub(crate) use environments::{across_environments, dry_run_targets, environment};
pub(crate) use org::organization;
pub use placeholder::find_placeholder;
pub(crate) use placeholder::placeholders;
pub use release::FLEET_RELEASE_TIMEOUT_MINUTES;
pub(crate) use release::promotion;
pub(crate) use services::catalog;
pub(crate) use serving::edge_service;

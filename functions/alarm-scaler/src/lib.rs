//! The alarm scaler: CloudWatch alarm transitions turned into guarded, idempotent scaling decisions.

// The alarm event and its target (`alarm`), the decision with every guardrail a pure, tested
// function (`guardrails`), the pods' needs from Container Insights (`demand`), the ports
// (`ports`) and their adapters (`aws`: the guard table on DynamoDB; EKS nodegroups, Auto Scaling
// groups and Container Insights through the automation role), and the handler's typed actions
// (`handler`: decide, explain, act, verify, record).

pub mod alarm;
pub mod aws;
pub mod demand;
#[cfg(feature = "fakes")]
pub mod fakes;
pub mod function;
pub mod guardrails;
pub mod handler;
pub mod ports;

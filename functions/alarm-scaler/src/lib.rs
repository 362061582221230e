//! The alarm scaler: CloudWatch alarm transitions turned into guarded, idempotent scaling decisions.
//!
//! Built so far: the alarm event and its target (`alarm`), the decision with every guardrail a
//! pure, tested function (`guardrails`), the ports (`ports`) and their adapters (`aws`: the guard
//! table on DynamoDB, EKS nodegroups and Auto Scaling groups through the automation role), and
//! the handler's typed actions (`handler`: decide, explain, act, verify, record).

pub mod alarm;
pub mod aws;
pub mod guardrails;
pub mod handler;
pub mod ports;

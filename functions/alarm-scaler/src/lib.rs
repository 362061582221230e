//! The alarm scaler: CloudWatch alarm transitions turned into guarded, idempotent scaling decisions.
//!
//! Built so far: the alarm event and its target (`alarm`), and the decision with every guardrail
//! a pure, tested function (`guardrails`). The guard table, the EKS and Auto Scaling adapters,
//! the handler's typed actions and the `alarm-remediation` state machine come next.

pub mod alarm;
pub mod guardrails;

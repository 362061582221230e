//! The log processor: CloudWatch Logs subscription payloads decoded, redacted and classified.
//!
//! Built so far: the bounded decoder, the line parser, the redaction engine, the signature
//! classifier, EMF metrics and the pipeline that ties them together. The Lambda handler and the
//! Firehose / EventBridge outputs come next (issue: log processing).

pub mod classify;
pub mod decode;
pub mod metrics;
pub mod parse;
pub mod pipeline;
pub mod redact;

//! The log processor: CloudWatch Logs subscription payloads decoded, redacted and classified.
//!
//! Built so far: the bounded decoder, the line parser, the redaction engine, the signature
//! classifier, EMF metrics, the pipeline that ties them together and delivery over narrow ports.
//! The Lambda handler and the Firehose / EventBridge adapters come next (issue: log processing).

pub mod classify;
pub mod decode;
pub mod forward;
pub mod metrics;
pub mod parse;
pub mod pipeline;
pub mod redact;

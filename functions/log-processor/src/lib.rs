//! The log processor: CloudWatch Logs subscription payloads decoded, redacted and classified.
//!
//! Built so far: the bounded decoder and the redaction engine. The handler, line parser,
//! signature classification, EMF metrics and the Firehose / EventBridge outputs come next
//! (issue: log processing).

pub mod decode;
pub mod redact;

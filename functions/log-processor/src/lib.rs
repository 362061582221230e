//! The log processor: CloudWatch Logs subscription payloads decoded, redacted and classified.
//!
//! Built so far: the bounded decoder, the line parser, the redaction engine and the signature
//! classifier. The handler, EMF metrics and the Firehose / EventBridge outputs come next
//! (issue: log processing).

pub mod classify;
pub mod decode;
pub mod parse;
pub mod redact;

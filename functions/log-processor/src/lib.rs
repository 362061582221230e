//! The log processor: CloudWatch Logs subscription payloads decoded, redacted and classified.
//!
//! Built so far: the bounded decoder, the line parser, the redaction engine, the signature
//! classifier, EMF metrics, the pipeline, delivery over narrow ports with Firehose and
//! EventBridge adapters, and the Lambda handler for direct and Kinesis deliveries.

#[cfg(feature = "lambda")]
pub mod aws;
pub mod classify;
pub mod decode;
#[cfg(feature = "lambda")]
pub mod forward;
#[cfg(feature = "lambda")]
pub mod handler;
pub mod json;
pub mod metrics;
pub mod parse;
pub mod pipeline;
pub mod redact;
mod scan;
pub mod synthetic;

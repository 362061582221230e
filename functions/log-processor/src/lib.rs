//! The log processor: CloudWatch Logs subscription payloads decoded, redacted and classified.

// The hot path: bounded decode (base64-simd, libdeflate sized by the gzip trailer), the batch
// read in one pass where CloudWatch wrote it (simd-json reads any other shape), tolerant line
// parsing, one literal scan per line shared by the redaction engine and the signature
// classifier, records written into one buffer, EMF metrics.
// Around it: delivery over narrow ports (Firehose, EventBridge) and the Lambda handler for direct
// and Kinesis deliveries.

#[cfg(feature = "lambda")]
pub mod aws;
pub mod batch;
pub mod cards;
pub mod classify;
pub mod compiled;
pub mod decode;
// The ports the fakes stand in for live behind `lambda`.
#[cfg(all(feature = "fakes", feature = "lambda"))]
pub mod fakes;
#[cfg(feature = "lambda")]
pub mod forward;
#[cfg(feature = "lambda")]
pub mod function;
#[cfg(feature = "lambda")]
pub mod handler;
pub mod json;
pub mod jsonline;
pub mod metrics;
pub mod parse;
pub mod pattern;
pub mod pipeline;
pub mod redact;
pub mod scan;
pub mod services;
pub mod synthetic;

/// Config text: borrowed from the binary when compiled in (a cold start allocates none of it),
/// owned when read from a file.
pub type Text = std::borrow::Cow<'static, str>;

/// `text` in ASCII lower case: the same text, not a copy, when it is already (most literals are).
pub(crate) fn ascii_lowercase(text: &Text) -> Text {
    if text.bytes().any(|b| b.is_ascii_uppercase()) { Text::Owned(text.to_ascii_lowercase()) } else { text.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_already_in_lower_case_is_not_copied() {
        assert!(matches!(ascii_lowercase(&Text::Borrowed("password=")), Text::Borrowed("password=")));
        assert_eq!(ascii_lowercase(&Text::Borrowed("Bearer ")), "bearer ");
        assert_eq!(ascii_lowercase(&Text::Owned("AKIA".into())), "akia");
    }
}

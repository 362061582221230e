//! Arbitrary text as a log line through parse, redact and classify: no panic, and redaction never
//! grows a line beyond what its replacements explain.
#![no_main]

use libfuzzer_sys::fuzz_target;
use log_processor::classify::Classifier;
use log_processor::parse::parse_line;
use log_processor::redact::Redactor;

thread_local! {
    static TOOLS: (Redactor, Classifier) = (
        Redactor::with_default_rules().expect("rules"),
        Classifier::with_default_catalogue().expect("catalogue"),
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else { return };
    let record = parse_line(line, 0, Some("fuzz"));
    TOOLS.with(|(redactor, classifier)| {
        let mut counts = redactor.new_counts();
        let redacted = redactor.redact(&record.message, &mut counts);
        if counts.total() == 0 {
            assert_eq!(redacted, record.message, "no redaction, no change");
        }
        let mut hits = Vec::new();
        classifier.classify(&redacted, &mut hits);
        assert!(hits.windows(2).all(|w| w[0] < w[1]), "signatures in catalogue order, once each");
    });
});

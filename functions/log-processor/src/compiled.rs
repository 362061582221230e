//! The config files compiled into the function, as code the build script generates from them.
//!
//! The TOML texts (`DEFAULT_RULES`, `DEFAULT_SIGNATURES`, `SERVICES`, `MONITORING`) stay the
//! source of truth and what people and tests read; a cold start runs the code `build.rs` made of
//! them (`build/values.rs`), which builds the same structs serde would, with nothing to parse: the
//! same checks run on them after. JSON decoding was 370k of the 1.42M instructions of the
//! function's init, and TOML 1.4M more before it.

use std::borrow::Cow;

use crate::scan::table::Table;

/// The compiled-in files as their structs: `rules()`, `catalogue()`, `services()`, `monitoring()`.
mod values {
    include!(concat!(env!("OUT_DIR"), "/config_values.rs"));
}

pub(crate) use values::{catalogue, monitoring, rules, services};

/// Each shipped pattern with its case-insensitive parts spelled out by the build script
/// (`build/patterns.rs`): the same regex, parsed without the case-folding table this binary
/// does not link.
mod patterns {
    include!(concat!(env!("OUT_DIR"), "/expanded_patterns.rs"));
}

pub(crate) use patterns::expanded_pattern;

/// A shipped pattern that does not load or compile in this build (in the function's, from its
/// spelled-out form).
#[derive(Debug, thiserror::Error)]
pub enum ShippedPatternError {
    #[error("shipped pattern `{pattern}` does not load")]
    Load {
        pattern: String,
        #[source]
        source: crate::pattern::PatternError,
    },
    #[error("shipped pattern `{pattern}` does not compile")]
    Compile {
        pattern: String,
        #[source]
        source: regex::Error,
    },
}

/// Compiles every shipped pattern (rules and signatures, enabled or not) as the function does on
/// first use; returns how many. What `src/bin/shipped_patterns.rs` runs in a build of its own.
pub fn compile_shipped_patterns() -> Result<usize, ShippedPatternError> {
    let rules = rules().into_iter().filter_map(|rule| rule.pattern);
    let signatures = catalogue().signatures.into_iter().filter_map(|signature| signature.pattern);
    let mut compiled = 0;
    for source in rules.chain(signatures) {
        let pattern = crate::pattern::Pattern::shipped(source.clone())
            .map_err(|e| ShippedPatternError::Load { pattern: source.to_string(), source: e })?;
        pattern.regex().map_err(|e| ShippedPatternError::Compile { pattern: source.to_string(), source: e.clone() })?;
        compiled += 1;
    }
    Ok(compiled)
}

/// The scanner's table for the compiled-in rules, made by the build script from these files.
mod scanner {
    include!(concat!(env!("OUT_DIR"), "/scanner_table.rs"));
}

/// The table the build script made, when `literals` (in the scanner's order) are the ones it was
/// made for; `None` for any other set, which then builds its own.
pub(crate) fn scanner_table(literals: &[&str]) -> Option<Table> {
    (literals == scanner::LITERALS).then_some(Table {
        longest: scanner::LONGEST,
        trans: Cow::Borrowed(&scanner::TRANS),
        classes: scanner::CLASSES,
        first_match: scanner::FIRST_MATCH,
        output_spans: Cow::Borrowed(&scanner::OUTPUT_SPANS),
        outputs: Cow::Borrowed(&scanner::OUTPUTS),
        stride: scanner::STRIDE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generated code builds what serde builds of the TOML, field for field.
    #[test]
    fn each_compiled_file_is_what_serde_reads_of_its_toml_source() {
        let file: crate::redact::RulesFile = toml::from_str(crate::redact::DEFAULT_RULES).expect("toml");
        assert_eq!(format!("{:?}", rules()), format!("{:?}", file.redaction.rules));
        assert!(file.redaction.rules.len() >= 10);
        let catalogue: crate::classify::CatalogueFile =
            toml::from_str(crate::classify::DEFAULT_SIGNATURES).expect("toml");
        assert_eq!(format!("{:?}", self::catalogue()), format!("{catalogue:?}"));
        assert!(catalogue._triage.is_some(), "the shipped catalogue has a [triage] table");
        let services: crate::services::ServicesFile = toml::from_str(crate::services::SERVICES).expect("toml");
        assert_eq!(format!("{:?}", self::services()), format!("{services:?}"));
        let monitoring: crate::services::MonitoringFile = toml::from_str(crate::services::MONITORING).expect("toml");
        assert_eq!(format!("{:?}", self::monitoring()), format!("{monitoring:?}"));
        assert!(monitoring.slo.is_some_and(|slo| !slo.objectives.is_empty()));
    }

    #[test]
    fn what_a_cold_start_builds_is_what_the_toml_sources_build() {
        use crate::classify::{Classifier, DEFAULT_SIGNATURES};
        use crate::redact::{DEFAULT_RULES, Redactor};
        use crate::services::{MONITORING, SERVICES as SERVICES_TOML, Services};
        let services = Services::compiled_in().expect("compiled in");
        assert_eq!(services, Services::parse(SERVICES_TOML, MONITORING).expect("toml"));
        assert!(services.len() >= 20, "{} services", services.len());
        let redactor = Redactor::with_default_rules().expect("compiled in");
        assert_eq!(format!("{redactor:?}"), format!("{:?}", Redactor::from_toml(DEFAULT_RULES).expect("toml")));
        let classifier = Classifier::with_default_catalogue().expect("compiled in");
        assert_eq!(
            format!("{classifier:?}"),
            format!("{:?}", Classifier::from_toml(DEFAULT_SIGNATURES).expect("toml"))
        );
    }
}

//! The config files compiled into the function, converted from TOML to JSON by the build script.
//!
//! The TOML texts (`DEFAULT_RULES`, `DEFAULT_SIGNATURES`, `SERVICES`, `MONITORING`) stay the
//! source of truth and what people and tests read; a cold start decodes these instead: the same
//! serde structs and checks, 1.4M fewer instructions at init (4.39M to 2.99M, callgrind), and no
//! TOML parser in the binary.

use std::borrow::Cow;

use serde::de::DeserializeOwned;

use crate::scan::table::Table;

/// `config/log-processing.toml`.
pub const RULES: &str = include_str!(concat!(env!("OUT_DIR"), "/log-processing.json"));
/// `config/log-signatures.toml`.
pub const SIGNATURES: &str = include_str!(concat!(env!("OUT_DIR"), "/log-signatures.json"));
/// `config/services.toml`.
pub const SERVICES: &str = include_str!(concat!(env!("OUT_DIR"), "/services.json"));
/// `config/monitoring.toml`'s `[slo]`, the one table the function reads.
pub const MONITORING: &str = include_str!(concat!(env!("OUT_DIR"), "/monitoring.json"));

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

/// One compiled-in file as `T`.
pub fn decode<T: DeserializeOwned>(json: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_compiled_file_is_its_toml_source() {
        for (json, toml_text, tables) in [
            (RULES, crate::redact::DEFAULT_RULES, None),
            (SIGNATURES, crate::classify::DEFAULT_SIGNATURES, None),
            (SERVICES, crate::services::SERVICES, None),
            (MONITORING, crate::services::MONITORING, Some(["slo"])),
        ] {
            let from_json: serde_json::Value = decode(json).expect("json");
            let mut from_toml: toml::Table = toml::from_str(toml_text).expect("toml");
            if let Some(tables) = tables {
                assert!(tables.iter().all(|t| from_toml.contains_key(*t)), "a kept table is missing");
                from_toml.retain(|name, _| tables.contains(&name));
            }
            let from_toml = serde_json::to_value(from_toml).expect("as json");
            assert_eq!(from_json, from_toml);
            assert!(from_json.as_object().is_some_and(|o| !o.is_empty()), "a file compiled in empty");
        }
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

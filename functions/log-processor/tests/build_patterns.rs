//! The build script's spelling-out of the shipped patterns: the same regex, parsed without case folding.

#[path = "../build/patterns.rs"]
mod patterns;

use patterns::{expanded, needs_a_missing_table};

#[test]
fn classes_and_case_folding_are_spelled_out_as_the_same_hir() {
    for source in [r"(?i)\bbearer\s+(?P<secret>[a-z]{8,})", r"\b\w*?(?i:password)\d+", r"[\s\S]*x", r"(?i)k"] {
        let printed = expanded(source).expect(source);
        assert_eq!(regex_syntax::parse(&printed).expect(&printed), regex_syntax::parse(source).expect(source));
        assert_eq!(needs_a_missing_table(&printed), None, "{printed}");
    }
    // A Perl class is written back where a class is exactly it (770 ranges for `\w` otherwise).
    let printed = expanded(r"(?i)\btoken\s*=\w+\d").expect("expands");
    assert!(printed.contains(r"\s*") && printed.contains(r"\w+") && printed.contains(r"\d"), "{printed}");
    assert!(printed.len() < 100, "{printed}");
    // Unicode case folding is kept, not narrowed to ASCII: the Kelvin sign is a `k`.
    let kelvin = regex::Regex::new(&expanded("(?i)k").expect("k")).expect("compiles");
    assert!(kelvin.is_match("\u{212A}"));
    assert!(expanded("(unclosed").is_err());
}

#[test]
fn what_only_a_missing_table_parses_is_found() {
    for p in [r"(?i)a", r"x(?i:a)", r"\pL", r"[\p{Greek}a]", r"(?ix)a"] {
        assert!(needs_a_missing_table(p).is_some(), "{p}");
    }
    for p in [r"(?-i)a", r"(?u)a", r"[a-z]", r"\b", r"[\x00-\x{10FFFF}]", r"\w", r"[\d_]", r"\s"] {
        assert_eq!(needs_a_missing_table(p), None, "{p}");
    }
}

#[test]
fn the_generated_lookup_names_each_pattern_once() {
    let sources = vec![r"(?i)a".to_string(), r"\d".to_string(), r"(?i)a".to_string()];
    let rs = patterns::emit(&sources).expect("emits");
    assert_eq!(rs.matches("=> Some(").count(), 2, "{rs}");
    assert!(patterns::emit(&["(?i)a(".to_string()]).is_err());
}

//! The redaction corpus: every secret in it is gone after redaction; every look-alike survives.

use log_processor::redact::Redactor;

// SECRETS, SECRET_VALUES, LOOK_ALIKES: shared with `src/bin/shipped_patterns.rs`, which runs
// them in a build without case folding, as the function is built.
include!("corpus/redaction.rs");

#[test]
fn no_secret_in_the_corpus_survives() {
    let redactor = Redactor::with_default_rules().expect("rules");
    let names: Vec<String> = redactor.rule_names().map(str::to_string).collect();
    for (rule, line) in SECRETS {
        let mut counts = redactor.new_counts();
        let out = redactor.redact(line, &mut counts);
        for secret in SECRET_VALUES {
            assert!(!out.contains(secret), "`{secret}` survived in {out:?} (from {line:?})");
        }
        let i = names.iter().position(|n| n == rule).expect("rule exists");
        assert!(counts.0[i] >= 1, "{rule} did not count a redaction in {line:?} -> {out:?}");
        assert!(out.contains(&format!("[REDACTED:{rule}]")) || counts.total() > 1, "{out}");
    }
}

#[test]
fn look_alikes_survive_unchanged() {
    let redactor = Redactor::with_default_rules().expect("rules");
    for line in LOOK_ALIKES {
        let mut counts = redactor.new_counts();
        assert_eq!(redactor.redact(line, &mut counts), *line, "{line}");
        assert_eq!(counts.total(), 0, "{line}");
    }
}

#[test]
fn context_around_a_secret_is_kept() {
    let redactor = Redactor::with_default_rules().expect("rules");
    let mut counts = redactor.new_counts();
    let out = redactor.redact("jdbc:postgresql://dbmaster:S3cr3t@database-service:5432/db_dev", &mut counts);
    assert_eq!(out, "jdbc:postgresql://dbmaster:[REDACTED:url-password]@database-service:5432/db_dev");
}

/// The review's findings, with the exact text that must come out: the context around each secret
/// stays, and the markers sit where the secrets were.
#[test]
fn review_findings_redact_exactly_the_secret() {
    let cases = [
        (
            "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE/",
            "aws_secret_access_key=[REDACTED:aws-secret-access-key]",
        ),
        ("ALTER ROLE app WITH PASSWORD 'hunter2'", "ALTER ROLE app WITH PASSWORD '[REDACTED:sql-password]'"),
        ("CREATE USER x PASSWORD 'y'", "CREATE USER x PASSWORD '[REDACTED:sql-password]'"),
        (
            "CREATE ROLE r LOGIN PASSWORD 'it''s, a secret' VALID UNTIL 'infinity'",
            "CREATE ROLE r LOGIN PASSWORD '[REDACTED:sql-password]' VALID UNTIL 'infinity'",
        ),
        (
            "CREATE USER 'app'@'%' IDENTIFIED BY 'My5ql!pw'",
            "CREATE USER 'app'@'%' IDENTIFIED BY '[REDACTED:sql-password]'",
        ),
        ("password hunter2", "password [REDACTED:password-spaced]"),
        (r#"{\"password\":\"x\"}"#, r#"{\"password\":\"[REDACTED:password-pair]\"}"#),
        ("postgres://user:p@ss@host/db", "postgres://user:[REDACTED:url-password]@host/db"),
        ("Authorization: Basic dXNlcjpodW50ZXIy", "Authorization: Basic [REDACTED:basic-auth]"),
        ("Cookie: a=1; b=2", "Cookie: [REDACTED:cookie]"),
        (r#"{"cookie":"a=1; b=2","host":"x"}"#, r#"{"cookie":"[REDACTED:cookie]","host":"x"}"#),
        (
            "X-Amz-Security-Token=IQo%2Fa%2B&X-Amz-Signature=abc",
            "X-Amz-Security-Token=[REDACTED:aws-session-token]&X-Amz-Signature=abc",
        ),
        (r#""token": "abc123""#, r#""token": "[REDACTED:token-pair]""#),
        (
            "a -----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOY\n-----END PGP PRIVATE KEY BLOCK----- b",
            "a [REDACTED:pem-private-key] b",
        ),
        // A marker is never redacted again: a later rule keyed on `password=` or `token=` leaves
        // the JWT rule's marker whole.
        ("password=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "password=[REDACTED:jwt]"),
        ("token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln rejected", "token=[REDACTED:jwt] rejected"),
    ];
    let redactor = Redactor::with_default_rules().expect("rules");
    for (line, expected) in cases {
        let mut counts = redactor.new_counts();
        assert_eq!(redactor.redact(line, &mut counts), expected, "{line}");
        assert_eq!(counts.total(), 1, "{line}");
    }
}

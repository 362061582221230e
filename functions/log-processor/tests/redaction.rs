//! The redaction corpus: every secret in it is gone after redaction; every look-alike survives.

use log_processor::redact::Redactor;

/// Lines as the services and the runbook's tools write them, each with one secret in it.
const SECRETS: &[(&str, &str)] = &[
    ("aws-access-key-id", "uploading with AKIAIOSFODNN7EXAMPLE to s3"),
    ("aws-access-key-id", r#"{"AccessKeyId":"ASIAY34FZKBOKMUTVV7A","Expiration":"2026-11-24"}"#),
    ("aws-secret-access-key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("aws-secret-access-key", r#"export AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY""#),
    ("url-password", "connecting to jdbc:postgresql://dbmaster:S3cr3t!pass@database-service:5432/db_dev"),
    ("url-password", "amqp://trader:hunter2@message-queue:5672/"),
    ("password-pair", "jdbc:postgresql://database-service:5432/db?user=dbmaster&password=Sup3rS3cret&ssl=true"),
    ("password-pair", r#"{"username":"ops","password":"correct-horse-battery"}"#),
    ("password-pair", "TF_VAR_database_password=ChangeIt2026 exported"),
    ("password-pair", "client_secret: 7f3a9c0e1b2d4f6a8c0e"),
    ("bearer-token", "Authorization: Bearer 9a8b7c6d5e4f3a2b1c0d9e8f"),
    ("jwt", "token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0cmFkZXItNDIifQ.Qm9ndXNTaWduYXR1cmVGb3JUZXN0cw rejected"),
    (
        "pem-private-key",
        "tls.key: -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END RSA PRIVATE KEY----- loaded",
    ),
    ("pem-private-key", "cert dump -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC (truncated"),
    ("card-number", "payment card 4111 1111 1111 1111 declined"),
    ("card-number", "pan=5500-0055-5555-5559 tokenised"),
    ("card-number", r#"{"card":"378282246310005"}"#),
];

/// The secret part of each line above, which must not survive.
const SECRET_VALUES: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "ASIAY34FZKBOKMUTVV7A",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "S3cr3t!pass",
    "hunter2",
    "Sup3rS3cret",
    "correct-horse-battery",
    "ChangeIt2026",
    "7f3a9c0e1b2d4f6a8c0e",
    "9a8b7c6d5e4f3a2b1c0d9e8f",
    "eyJzdWIiOiJ0cmFkZXItNDIifQ",
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
    "4111 1111 1111 1111",
    "5500-0055-5555-5559",
    "378282246310005",
];

/// Lines that look like secrets but are not, and must come through unchanged.
const LOOK_ALIKES: &[&str] = &[
    "order 4111111111111112 filled",                  // 16 digits, fails Luhn
    "trade id 20261124000000123456789 settled",       // 27 digits: too long for a card
    "latency p99 1234567 ns over 1000000 requests",   // short numbers
    "phone +44 20 7946 0958",                         // grouped digits, too few
    "connecting to http://market-data:8080/prices",   // URL without user-info
    "password policy updated",                        // the word, no value
    "AKIA is the prefix of long-term access key ids", // prefix alone
    "the bearer of this message",                     // the word, no token
    "-----BEGIN CERTIFICATE----- is public",          // a certificate, not a key
    "isin US0378331005 priced",                       // an ISIN, letters glued to digits
];

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

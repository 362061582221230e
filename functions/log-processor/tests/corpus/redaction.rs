// The redaction corpus: lines with secrets, the secrets, and look-alikes that must survive.
// Included by tests/redaction.rs and src/bin/shipped_patterns.rs (data only).

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
    // Review findings: each line below leaked before its rule was added or fixed.
    ("aws-secret-access-key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE+"),
    ("aws-secret-access-key", r#"{"SecretAccessKey":"Tk9UQVJFQUxLRVlKVVNUQVRFU1RWQUxVRTEyMzQ/"}"#),
    ("token-pair", "GET /oauth/callback?state=xyz&access_token=ya29.a0AfH6SMBx3vQ&expires_in=3599"),
    ("token-pair", r#"{"user":"ops","token": "s3cr3t-t0k3n-value"}"#),
    ("aws-session-token", "AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3Qx exported"),
    ("aws-session-token", "x-amz-security-token: FwoGZXIvYXdzEJr//////////wEaDGV4YW1wbGVzZXNz"),
    (
        "aws-session-token",
        "GET /key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEAIa%2Fexa%2Bmple&X-Amz-Expires=900",
    ),
    // Built with concat! so that secret scanners do not take the fixtures for leaked tokens.
    ("github-token", concat!("release job authenticated with gh", "p_iK2ZWeqhFWCEPyYngFb51yBMWXaSCrUZoL8g")),
    ("github-token", concat!("oauth grant gh", "o_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d issued")),
    ("github-token", concat!("user-to-server gh", "u_KLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFR")),
    ("github-token", concat!("GITHUB_TOKEN=gh", "s_IBXuDL7DxtpYlSXpfKtHF4vUCsMehGAkWvj7")),
    ("github-token", concat!("refresh gh", "r_FAc9QeWJKY40uvSwMFLZDe1f8rESQedUStPK rotated")),
    (
        "github-token",
        concat!(
            "pat github",
            "_pat_R0CsTy4Qwb8DwkNhFdnXsi_Vpzz63FfkCzJr4i0B3JrTAwR4y9ojfljoQoaF1LlqsajAIxNKu8iS2G8NPR"
        ),
    ),
    ("stripe-key", concat!("charging with sk", "_live_VdD53X83RZJzzzzgEOzdmenC")),
    ("stripe-key", concat!("restricted key rk", "_live_khvMdgaKjIg8xNbe3nNyjOq9 in use")),
    ("basic-auth", "Authorization: Basic YWRtaW46UzNjcjN0QmFzaWM="),
    ("basic-auth", r#"{"headers":{"authorization":"basic cmVwb3J0aW5nOlIzcDBydA=="}}"#),
    ("cookie", "request headers Cookie: SESSIONID=8f14e45fceea167a5a36dedd4bea2543; theme=dark"),
    ("cookie", "Set-Cookie: sid=c4ca4238a0b923820dcc509a6f75849b; Path=/; HttpOnly; Secure"),
    (
        "pem-private-key",
        "gpg export -----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGVsZWN0cm9uaWNTZWNyZXQ\n=q1Zx\n-----END PGP PRIVATE KEY BLOCK----- done",
    ),
    (
        "sql-password",
        "2026-11-24 10:00:00 UTC:10.0.1.5(40210):postgres@db_dev:[812]:LOG:  statement: ALTER ROLE app WITH PASSWORD 'hunter2'",
    ),
    ("sql-password", "statement: CREATE USER reporting PASSWORD 'R3p0rt!ng, it''s long'"),
    ("password-spaced", "retrying login with password Spaced-0ut!Pw"),
    ("password-pair", r#"{"log":"{\"user\":\"ops\",\"password\":\"Esc4ped-S3cret\"}"}"#),
    ("url-password", "postgres://dbmaster:p@ssW0rd@database-service:5432/db_dev"),
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
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE",
    "Tk9UQVJFQUxLRVlKVVNUQVRFU1RWQUxVRTEyMzQ",
    "ya29.a0AfH6SMBx3vQ",
    "s3cr3t-t0k3n-value",
    "IQoJb3JpZ2luX2Vj",
    "FwoGZXIvYXdzEJr",
    "iK2ZWeqhFWCEPyYngFb51yBMWXaSCrUZoL8g",
    "u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d",
    "KLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFR",
    "IBXuDL7DxtpYlSXpfKtHF4vUCsMehGAkWvj7",
    "FAc9QeWJKY40uvSwMFLZDe1f8rESQedUStPK",
    "R0CsTy4Qwb8DwkNhFdnXsi",
    "VdD53X83RZJzzzzgEOzdmenC",
    "khvMdgaKjIg8xNbe3nNyjOq9",
    "YWRtaW46UzNjcjN0QmFzaWM",
    "cmVwb3J0aW5nOlIzcDBydA",
    "8f14e45fceea167a5a36dedd4bea2543",
    "c4ca4238a0b923820dcc509a6f75849b",
    "lQOYBGVsZWN0cm9uaWNTZWNyZXQ",
    "R3p0rt!ng",
    "Spaced-0ut!Pw",
    "Esc4ped-S3cret",
    "ssW0rd",
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
    // Review findings: what the new and widened rules must leave alone.
    "payment instrument tokenised, token_type=card", // token words, no token
    "max_tokens=4096 for the summariser",            // a count, not a token
    "Basic configuration loaded",                    // the word, no credentials
    "cookie policy accepted",                        // the word, no header
    "password reset requested for user ops",         // the word, then plain words
    r#"FATAL:  password authentication failed for user "app""#, // the RDS PostgreSQL failure line
    "ALTER ROLE app WITH PASSWORD NULL",             // no password given
    "-----BEGIN PGP PUBLIC KEY BLOCK----- is public", // a public key block
    "ghp_ and github_pat_ prefixes are scanned",     // prefixes alone
    "sk_live_ keys rotate monthly",                  // prefix alone
    "connecting to https://market-data:8443/prices?contact=ops@abc.example", // `@` after the host
];

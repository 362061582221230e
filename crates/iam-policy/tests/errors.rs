//! Malformed policy documents give typed errors naming the bad value, and no input makes parsing panic.

use iam_policy::{Policy, PolicyError, Principal, Request, StatementError, evaluate, evaluate_documents};
use serde_json::{Value, json};

fn statement_error(statement: Value) -> (String, StatementError) {
    match Policy::from_value(&json!({"Version": "2012-10-17", "Statement": statement})) {
        Err(PolicyError::Statement { statement, problem }) => (statement, problem),
        other => panic!("expected a statement error, got {other:?}"),
    }
}

fn message(statement: Value) -> String {
    let (name, problem) = statement_error(statement);
    format!("statement {name}: {problem}")
}

#[test]
fn document_level_errors() {
    assert_eq!(Policy::from_value(&json!([])), Err(PolicyError::NotAnObject("[]".into())));
    assert_eq!(Policy::from_value(&json!({"Version": "2012-10-17"})), Err(PolicyError::MissingStatement));
    assert_eq!(
        Policy::from_value(&json!({"Version": "2012-10-18", "Statement": []})),
        Err(PolicyError::UnsupportedVersion("\"2012-10-18\"".into()))
    );
    assert_eq!(
        Policy::from_value(&json!({"Statements": []})).map_err(|e| e.to_string()),
        Err("unknown policy element `Statements`".into())
    );
    assert_eq!(
        Policy::from_value(&json!({"Statement": "Allow"})).map_err(|e| e.to_string()),
        Err("`Statement` must be an object or a list of objects, found \"Allow\"".into())
    );
    assert!(matches!(Policy::from_json("{\"Version\": "), Err(PolicyError::Json(_))));
    // A valid document for contrast: each error above is the document's fault, not the parser's.
    assert!(Policy::from_value(&json!({"Version": "2012-10-17", "Statement": []})).is_ok());
}

#[test]
fn statement_errors_name_the_statement_and_the_value() {
    assert_eq!(
        message(json!({"Sid": "Publish", "Effect": "allow", "Action": "events:PutEvents", "Resource": "*"})),
        "statement Publish: `Effect` must be \"Allow\" or \"Deny\", found \"allow\""
    );
    assert_eq!(
        message(json!([{"Effect": "Allow", "Action": "*"}, {"Effect": "Allow", "Action": "events PutEvents"}])),
        "statement #1: invalid action \"events PutEvents\": expected \"*\" or \"service:action\""
    );
    assert_eq!(message(json!({"Effect": "Allow", "Resource": "*"})), "statement #0: missing `Action` element");
    assert_eq!(
        message(json!({"Effect": "Allow", "Action": "*", "NotAction": "iam:*"})),
        "statement #0: both `Action` and `NotAction` are present"
    );
    assert_eq!(
        message(json!({"Effect": "Allow", "Action": "*", "Resources": "*"})),
        "statement #0: unknown statement element `Resources`"
    );
    assert_eq!(
        message(json!({"Effect": "Allow", "Action": ["s3:GetObject", 7]})),
        "statement #0: `Action` must be a string or a list of strings, found [\"s3:GetObject\",7]"
    );
    assert_eq!(
        message(json!({"Effect": "Allow", "Action": "*", "Principal": {"Aws": "*"}})),
        "statement #0: unknown principal type `Aws`"
    );
    assert_eq!(
        message(json!({"Effect": "Allow", "Action": "*", "Principal": {"AWS": "my-account"}})),
        "statement #0: invalid principal \"my-account\": expected \"*\" or an object such as {\"AWS\": ...}"
    );
}

#[test]
fn condition_errors_name_the_operator_key_and_value() {
    let with =
        |condition: Value| message(json!({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}));
    assert_eq!(
        with(json!({"StringEqual": {"aws:PrincipalOrgID": "o-1"}})),
        "statement #0: unknown condition operator `StringEqual`"
    );
    assert_eq!(
        with(json!({"NullIfExists": {"aws:TagKeys": "true"}})),
        "statement #0: unknown condition operator `NullIfExists`"
    );
    assert_eq!(
        with(json!({"NumericLessThan": {"s3:max-keys": "ten"}})),
        "statement #0: condition `NumericLessThan` on `s3:max-keys`: \"ten\" is not a number"
    );
    assert_eq!(
        with(json!({"DateGreaterThan": {"aws:CurrentTime": "2020-13-01"}})),
        "statement #0: condition `DateGreaterThan` on `aws:CurrentTime`: \"2020-13-01\" is not an ISO 8601 date or epoch seconds"
    );
    assert_eq!(
        with(json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/40"}})),
        "statement #0: condition `IpAddress` on `aws:SourceIp`: \"10.0.0.0/40\" is not an IP address or CIDR range"
    );
    assert_eq!(
        with(json!({"Bool": {"aws:SecureTransport": "yes"}})),
        "statement #0: condition `Bool` on `aws:SecureTransport`: \"yes\" is not \"true\" or \"false\""
    );
    assert_eq!(
        with(json!({"StringEquals": {"aws:PrincipalOrgID": {"id": "o-1"}}})),
        "statement #0: condition `StringEquals` on `aws:PrincipalOrgID`: value {\"id\":\"o-1\"} must be a string, number or boolean"
    );
    assert_eq!(
        with(json!({"StringEquals": "aws:PrincipalOrgID"})),
        "statement #0: condition operator `StringEquals` must map condition keys to values, found \"aws:PrincipalOrgID\""
    );
    assert_eq!(
        with(json!({"StringLike": {"s3:prefix": "home/${aws:username/"}})),
        "statement #0: malformed policy variable in \"home/${aws:username/\""
    );
    // Numbers and booleans written as JSON scalars are accepted, as IAM accepts them.
    assert!(Policy::from_value(&json!({"Statement": {"Effect": "Allow", "Action": "*", "Condition": {"NumericLessThan": {"s3:max-keys": 10}, "Bool": {"aws:SecureTransport": true}}}})).is_ok());
}

#[test]
fn evaluate_documents_reports_the_first_bad_document() {
    let good = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}});
    let request = Request::new(Principal::Anonymous, "s3:GetObject", "*");
    assert_eq!(evaluate_documents(std::slice::from_ref(&good), &request).map(|d| d.is_allowed()), Ok(true));
    let bad = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow"}});
    assert!(matches!(evaluate_documents(&[good, bad], &request), Err(PolicyError::Statement { .. })));
}

/// A deterministic pseudo-random generator: the same documents on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % below.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.next(items.len())).copied().unwrap_or_default()
    }

    fn value(&mut self, depth: usize) -> Value {
        const WORDS: &[&str] = &[
            "Version",
            "2012-10-17",
            "Statement",
            "Effect",
            "Allow",
            "Deny",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Principal",
            "NotPrincipal",
            "AWS",
            "Service",
            "Federated",
            "Condition",
            "StringLike",
            "ForAnyValue:StringNotEqualsIfExists",
            "ForAllValues:ArnLike",
            "Null",
            "NumericLessThan",
            "DateEquals",
            "IpAddress",
            "Bool",
            "*",
            "s3:*",
            "arn:aws:s3:::b/${aws:username}",
            "${",
            "${*}",
            "123456789012",
            "arn:aws:iam::123456789012:root",
            "aws:TagKeys",
            "true",
            "10",
            "2020-01-01",
            "10.0.0.0/8",
            "",
        ];
        match if depth > 3 { self.next(4) } else { self.next(7) } {
            0 => Value::Null,
            1 => json!(self.next(3) == 0),
            2 => json!(self.next(100)),
            3 => json!(self.pick(WORDS)),
            4 | 5 => Value::Object(
                (0..self.next(5)).map(|_| (self.pick(WORDS).to_string(), self.value(depth + 1))).collect(),
            ),
            _ => Value::Array((0..self.next(4)).map(|_| self.value(depth + 1)).collect()),
        }
    }
}

#[test]
fn no_document_makes_parsing_or_evaluation_panic() {
    let mut random = Lcg(0x5eed);
    let request = Request::new(Principal::Anonymous, "s3:GetObject", "arn:aws:s3:::b/dev/x")
        .with_context_values("aws:TagKeys", ["a", "b"])
        .with_context("aws:username", "dev");
    let (mut parsed, mut refused) = (0, 0);
    for _ in 0..20_000 {
        let statement = random.value(0);
        let document =
            if random.next(2) == 0 { json!({"Version": "2012-10-17", "Statement": statement}) } else { statement };
        match Policy::from_value(&document) {
            Ok(policy) => {
                parsed += 1;
                let _ = evaluate(&[policy], &request);
            }
            Err(error) => {
                refused += 1;
                assert!(!error.to_string().is_empty());
            }
        }
    }
    // Both paths are exercised, or the generator proves nothing.
    assert!(parsed > 100 && refused > 100, "parsed {parsed}, refused {refused}");
}

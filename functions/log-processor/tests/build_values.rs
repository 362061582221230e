//! The build script's emitter of the compiled-in config refuses what the structs' serde derives refuse.

#[path = "../build/values.rs"]
mod values;

use serde_json::json;

fn rule(extra: serde_json::Value) -> serde_json::Value {
    let mut rule = json!({"name": "jwt", "enabled": true, "pattern": "eyJ"});
    rule.as_object_mut().expect("a table").extend(extra.as_object().expect("a table").clone());
    json!({"redaction": {"rules": [rule]}})
}

#[test]
fn a_rule_is_emitted_with_its_defaults_and_escapes() {
    let emitted = values::rules(&rule(json!({"pattern": "a\"b\\\\s"}))).expect("emits");
    assert_eq!(
        emitted,
        r#"vec![crate::redact::RuleConfig { name: ::std::borrow::Cow::Borrowed("jwt"), enabled: true, triggers: Vec::new(), pattern: Some(::std::borrow::Cow::Borrowed("a\"b\\\\s")), kind: None }]"#
    );
}

#[test]
fn what_serde_would_refuse_fails_the_build() {
    let refused = [
        (rule(json!({"tirggers": ["x"]})), "`redaction.rules[0]` has unknown field `tirggers`"),
        (json!({"redaction": {"rules": [{"name": "jwt", "pattern": "x"}]}}), "missing field `enabled`"),
        (rule(json!({"enabled": "yes"})), "`redaction.rules[0].enabled` should be a boolean"),
        (rule(json!({"triggers": "eyJ"})), "`redaction.rules[0].triggers` should be an array"),
        (json!({"redaction": {"rules": []}, "extra": 1}), "`log-processing` has unknown field `extra`"),
    ];
    for (file, expected) in refused {
        let error = values::rules(&file).expect_err(expected);
        assert!(error.0.contains(expected), "{error} does not say {expected}");
    }
    let signature = |severity: &str| {
        json!({"signatures": [{"name": "S", "severity": severity, "action": "notify", "description": "d",
                               "all_of": [["x"]]}]})
    };
    assert!(values::catalogue(&signature("high")).expect("emits").contains("crate::classify::Severity::High"));
    let error = values::catalogue(&signature("urgent")).expect_err("no such severity");
    assert!(error.0.contains("one of low, medium, high, critical"), "{error}");
    let objective =
        |latency: serde_json::Value| json!({"slo": {"objectives": [{"tier": "core", "latency_ms": latency}]}});
    assert!(values::monitoring(&objective(json!(250))).expect("emits").contains("latency_ms: 250"));
    for latency in [json!(-1), json!(2.5), json!(5_000_000_000u64), json!("250")] {
        assert!(values::monitoring(&objective(latency.clone())).is_err(), "{latency} taken as a latency");
    }
    let services = json!({"services": {"cache": {"kind": 3}}});
    assert!(
        values::services(&services)
            .expect_err("kind is a string")
            .0
            .contains("services.cache.kind` should be a string")
    );
}

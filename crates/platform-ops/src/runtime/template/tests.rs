//! Loading, resolving and routing a template, on a small one and on the project's own.

use std::collections::BTreeMap;

use serde_json::json;

use super::{ACCOUNT, REGION, STACK, Template};

const TEMPLATE: &str = r#"
Parameters:
  Environment: {Type: String, Default: dev}
  Regions: {Type: CommaDelimitedList, Default: "eu-west-2,eu-west-1"}
Globals:
  Function:
    Environment:
      Variables:
        ENVIRONMENT: !Ref Environment
        REGIONS: !Join [",", !Ref Regions]
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: !Sub "abc-trading-${Environment}"}
  Topic:
    Type: AWS::SNS::Topic
  Scaler:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: alarm-scaler}}
    Properties:
      FunctionName: !Sub abc-trading-${Environment}-alarm-scaler
      Environment: {Variables: {TOPIC: !Ref Topic, BUS_ARN: !GetAtt Bus.Arn}}
      Events:
        Alarm:
          Type: EventBridgeRule
          Properties:
            Pattern: {source: [aws.cloudwatch], detail: {state: {value: [ALARM]}}}
            InputTransformer:
              InputPathsMap: {alarm: "$.detail.alarmName", state: "$.detail.state.value"}
              InputTemplate: '{"alarm": "<alarm>", "state": <state>, "env": "dev"}'
        Nightly:
          Type: ScheduleV2
          Properties: {ScheduleExpression: "cron(0 20 ? * MON-FRI *)", Input: '{"action": "scale-down"}'}
  Deploy:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: !Sub abc-trading-${Environment}-deploy
      DefinitionUri: state-machines/deploy.asl.json
      DefinitionSubstitutions: {ScalerArn: !GetAtt Scaler.Arn}
  Inline:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      StateMachineName: inline
      DefinitionString: !Sub '{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "${Environment}", "End": true}}}'
  ReleaseRule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref Bus
      EventPattern: {source: [abc.platform], detail-type: [{prefix: "Release"}]}
      Targets:
        - {Id: deploy, Arn: !Ref Deploy, InputPath: "$.detail"}
"#;

fn template() -> Template {
    Template::from_yaml(&serde_norway::from_str(TEMPLATE).expect("yaml"), &BTreeMap::new()).expect("loads")
}

/// The names a newcomer would type all reach the same function; others list the known ones.
#[test]
fn a_function_resolves_by_crate_logical_id_name_and_arn() {
    let t = template();
    let f = t.function("alarm-scaler").expect("by crate name");
    let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}", f.name);
    for name in [f.id.as_str(), f.name.as_str(), arn.as_str()] {
        assert_eq!(t.function(name).map(|g| &g.id), Some(&f.id), "{name}");
    }
    assert!(t.function("billing").is_none());
    assert!(t.function_names().contains(&format!("alarm-scaler ({}, abc-trading-dev-alarm-scaler)", f.id)));
}

#[test]
fn functions_get_their_environment_resolved() {
    let t = template();
    let f = t.function("abc-trading-dev-alarm-scaler").expect("by name");
    assert_eq!(f.binary, "alarm-scaler");
    assert_eq!(f.environment["ENVIRONMENT"], "dev");
    assert_eq!(f.environment["REGIONS"], "eu-west-2,eu-west-1");
    assert_eq!(f.environment["TOPIC"], format!("arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-Topic"));
    assert_eq!(f.environment["BUS_ARN"], format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/abc-trading-dev"));
    let m = t.machine("Deploy").expect("machine");
    assert_eq!(
        m.substitutions["ScalerArn"],
        format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:abc-trading-dev-alarm-scaler")
    );
    let prod = Template::from_yaml(
        &serde_norway::from_str(TEMPLATE).expect("yaml"),
        &BTreeMap::from([("Environment".to_string(), "prod".to_string())]),
    )
    .expect("loads");
    assert!(prod.function("abc-trading-prod-alarm-scaler").is_some());
}

#[test]
fn events_route_through_patterns_and_transformers() {
    let t = template();
    let alarm = json!({"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
                       "detail": {"alarmName": "cpu-high", "state": {"value": "ALARM"}}});
    let routed = t.route("default", &alarm);
    assert_eq!(routed.len(), 1);
    assert_eq!(routed[0].1.resource, "Scaler");
    assert_eq!(routed[0].2, json!({"alarm": "cpu-high", "state": "ALARM", "env": "dev"}));
    let ok = json!({"source": "aws.cloudwatch", "detail": {"state": {"value": "OK"}}});
    assert!(t.route("default", &ok).is_empty());

    let release = json!({"source": "abc.platform", "detail-type": "ReleaseRequested", "detail": {"version": "1.2.3"}});
    assert!(t.route("default", &release).is_empty(), "the rule is on the platform bus");
    let routed = t.route("abc-trading-dev", &release);
    assert_eq!((routed[0].1.resource.as_str(), &routed[0].2), ("Deploy", &json!({"version": "1.2.3"})));
    let inline = t.machine("Inline").expect("plain CloudFormation state machine");
    assert_eq!(
        inline.definition.as_deref(),
        Some(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "dev", "End": true}}}"#)
    );
    let schedule = t.rules.iter().find(|r| r.schedule.is_some()).expect("schedule");
    assert_eq!(schedule.targets[0].input.apply(&json!({})), json!({"action": "scale-down"}));
}

#[test]
fn the_project_template_loads() {
    let root = emulator::workspace_root();
    let missing = Template::load(&root.join("template.yaml"), &BTreeMap::new()).expect_err("parameters needed");
    assert!(missing.to_string().contains("Parameters.Environment"), "{missing}");
    let parameters = [
        ("Environment", "dev"),
        ("OrganizationId", "o-abcdefghij"),
        ("ManagementAccountId", ACCOUNT),
        ("AutomationAccountId", ACCOUNT),
        ("ImageRegistry", ACCOUNT),
        ("MemberRegions", "eu-west-2"),
        ("DomainName", "abc-trading-dev.com"),
    ];
    let overrides = parameters.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let t = Template::load(&root.join("template.yaml"), &overrides).expect("template.yaml loads");
    let f = t.function("LogProcessorFunction").expect("log processor");
    assert_eq!(f.binary, "log-processor");
    assert_eq!(f.environment["DELIVERY_STREAM_NAME"], "abc-trading-dev-logs");
    assert_eq!(f.environment["EVENT_BUS_NAME"], "abc-trading-dev");
    assert_eq!(f.environment["ENVIRONMENT"], "dev");
    let subs: Vec<_> = t.subscribers("/abc-trading/dev/platform-ops").collect();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].target, "LogProcessorFunction");
}

//! The local runtime's routing: a template's rules send events to state machines, and events a
//! function publishes are read back from the emulator and routed in turn.

use std::collections::BTreeMap;
use std::sync::Arc;

use emulator::Emulator;
use platform_ops::runtime::{Outcome, Runtime};
use serde_json::json;

const TEMPLATE: &str = r#"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Environment: {Type: String, Default: dev}
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: !Sub "abc-trading-${Environment}"}
  Archive:
    Type: AWS::S3::Bucket
    Properties: {BucketName: !Sub "abc-trading-${Environment}-logs-${AWS::AccountId}"}
  Stream:
    Type: AWS::KinesisFirehose::DeliveryStream
    Properties:
      DeliveryStreamName: !Sub "abc-trading-${Environment}-logs"
      ExtendedS3DestinationConfiguration: {BucketARN: !GetAtt Archive.Arn, RoleARN: arn:aws:iam::123456789012:role/x}
  Logs:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: log-processor}}
    Properties:
      FunctionName: !Sub "abc-trading-${Environment}-log-processor"
      Environment:
        Variables: {ENVIRONMENT: !Ref Environment, DELIVERY_STREAM_NAME: !Ref Stream, EVENT_BUS_NAME: !Ref Bus}
  Group:
    Type: AWS::Logs::LogGroup
    Properties: {LogGroupName: /abc-trading/dev/audit}
  Subscription:
    Type: AWS::Logs::SubscriptionFilter
    Properties: {LogGroupName: !Ref Group, FilterPattern: "", DestinationArn: !GetAtt Logs.Arn}
  Triage:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: !Sub "abc-trading-${Environment}-triage"
      DefinitionUri: state-machines/triage.asl.json
      DefinitionSubstitutions: {Environment: !Ref Environment}
      Events:
        Detected:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref Bus
            Pattern: {source: [abc.platform], detail-type: [FailureSignatureDetected], detail: {severity: [critical]}}
            InputTransformer:
              InputPathsMap: {service: "$.detail.service", signature: "$.detail.signature"}
              InputTemplate: '{"service": "<service>", "signature": "<signature>"}'
"#;

const TRIAGE: &str = r#"{"StartAt": "Page", "States": {"Page": {"Type": "Pass",
    "Parameters": {"page.$": "States.Format('${Environment}: {} on {}', $.signature, $.service)"}, "End": true}}}"#;

/// GIVEN a rule on the platform bus for critical detections WHEN log lines reach the log
/// processor through the subscription THEN the event it publishes is routed to the state machine,
/// with the rule's input transformer applied; the non-critical detection is not.
#[tokio::test(flavor = "multi_thread")]
async fn a_published_detection_is_routed_to_a_state_machine() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("template.yaml"), TEMPLATE).expect("template");
    std::fs::create_dir(dir.path().join("state-machines")).expect("dir");
    std::fs::write(dir.path().join("state-machines/triage.asl.json"), TRIAGE).expect("definition");

    let runtime = Arc::new(Runtime::new(dir.path(), emulator.sdk_config(), BTreeMap::new()).await.expect("runtime"));
    let lines = vec![
        r#"{"level":"ERROR","message":"Connection to database-service:5432 refused","service":"audit"}"#.to_string(),
        r#"{"level":"WARN","message":"Back-off restarting failed container audit","service":"audit"}"#.to_string(),
    ];
    let dispatches = runtime.write_logs("/abc-trading/dev/audit", "pod-1", &lines).await.expect("delivered");

    assert!(
        matches!(&dispatches[0].outcome, Outcome::Invoked { output, .. } if output["detections"] == 2),
        "{dispatches:?}"
    );
    let executions: Vec<_> = dispatches.iter().filter(|d| matches!(d.outcome, Outcome::Execution { .. })).collect();
    assert_eq!(executions.len(), 1, "only the critical detection matches: {dispatches:?}");
    match &executions[0].outcome {
        Outcome::Execution { status, output, .. } => {
            assert_eq!(status, "SUCCEEDED");
            assert_eq!(output.as_ref().expect("output")["page"], "dev: DatabaseUnreachable on audit");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(runtime.published().len(), 2);
    assert_eq!(runtime.bucket_keys("abc-trading-dev-logs-123456789012").expect("bucket").len(), 1);

    // A second start against the same emulator provisions nothing new and routes the same way.
    let again =
        Arc::new(Runtime::new(dir.path(), emulator.sdk_config(), BTreeMap::new()).await.expect("runtime again"));
    let sent = again
        .send_event(
            "abc-trading-dev",
            json!({"Source": "abc.platform", "DetailType": "FailureSignatureDetected",
            "Detail": {"severity": "critical", "service": "cache", "signature": "OOMKilled"}}),
        )
        .await
        .expect("routed");
    assert!(
        matches!(&sent[0].outcome, Outcome::Execution { output: Some(o), .. } if o["page"] == "dev: OOMKilled on cache"),
        "{sent:?}"
    );
}

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
        Variables: {ENVIRONMENT: !Ref Environment, DELIVERY_STREAM_NAME: !Ref Stream, EVENT_BUS_NAME: !Ref Bus, GUARD_TABLE_NAME: !Ref Guard}
  Guard:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "abc-trading-${Environment}-guard"
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}, {AttributeName: sk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
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
  Slow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: !Sub "abc-trading-${Environment}-slow"
      DefinitionUri: state-machines/slow.asl.json
      Events:
        Requested:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref Bus
            Pattern: {source: [abc.platform], detail-type: [SlowRequested]}
"#;

const SLOW: &str =
    r#"{"TimeoutSeconds": 5, "StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 60, "End": true}}}"#;

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
    std::fs::write(dir.path().join("state-machines/slow.asl.json"), SLOW).expect("definition");

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
            assert_eq!(*status, asl::Status::Succeeded);
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

    // An execution past its TimeoutSeconds is TIMED_OUT, spelt as Step Functions spells it.
    let slow = again
        .send_event("abc-trading-dev", json!({"Source": "abc.platform", "DetailType": "SlowRequested", "Detail": {}}))
        .await
        .expect("routed");
    assert!(matches!(&slow[0].outcome, Outcome::Execution { status: asl::Status::TimedOut, .. }), "{slow:?}");
    assert_eq!(serde_json::to_value(&slow[0].outcome).expect("json")["status"], "TIMED_OUT");
}

/// GIVEN the project template WHEN a state machine uses the DynamoDB, SNS and EventBridge
/// integrations THEN they go through the SDK to the emulator, with Step Functions' result shapes
/// and error names (a failed condition is caught by name).
#[tokio::test(flavor = "multi_thread")]
async fn service_integrations_reach_the_emulator() {
    let emulator = Emulator::start_for_workspace().expect("emulator");
    let root = emulator::workspace_root();
    let parameters: BTreeMap<String, String> = [
        ("Environment", "dev"),
        ("OrganizationId", "o-abcdefghij"),
        ("ManagementAccountId", "123456789012"),
        ("AutomationAccountId", "123456789012"),
        ("ImageRegistry", "123456789012"),
        ("MemberRegions", "eu-west-2"),
        ("DomainName", "abc-trading-dev.com"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    // Platform deploy and the scheduled operations read the published config at start, as on Lambda.
    let tree = platform_core::config::load(&root.join("config")).expect("config");
    let store = platform_core::aws::SsmParameterStore::new(aws_sdk_ssm::Client::new(&emulator.sdk_config()).into());
    platform_core::config::publish(&tree, &store, false).await.expect("published");
    // On-call reads its paging key at start: people create it before the stack.
    aws_sdk_ssm::Client::new(&emulator.sdk_config())
        .put_parameter()
        .name("/abc-trading/dev/on-call/paging-key")
        .value("test0paging0key")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("paging key");
    let runtime = Arc::new(Runtime::new(&root, emulator.sdk_config(), parameters).await.expect("runtime"));
    let dir = tempfile::tempdir().expect("tempdir");
    let machine = dir.path().join("integrations.asl.json");
    let env = &runtime.template().function("LogProcessorFunction").expect("function").environment;
    let table = env["GUARD_TABLE_NAME"].clone();
    let topic = env["NOTIFICATIONS_TOPIC_ARN"].clone();
    let definition = json!({
        "StartAt": "Lock",
        "States": {
            "Lock": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                     "Parameters": {"TableName": table, "Item": {"pk": {"S": "lock#deploy"}, "sk": {"S": "dev"}, "n": {"N": "1"}},
                                    "ConditionExpression": "attribute_not_exists(pk)"},
                     "ResultPath": null, "Next": "LockAgain"},
            "LockAgain": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                     "Parameters": {"TableName": table, "Item": {"pk": {"S": "lock#deploy"}, "sk": {"S": "dev"}},
                                    "ConditionExpression": "attribute_not_exists(pk)"},
                     "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "ResultPath": "$.held", "Next": "Read"}],
                     "Next": "Read"},
            "Read": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
                     "Parameters": {"TableName": table, "Key": {"pk": {"S": "lock#deploy"}, "sk": {"S": "dev"}}},
                     "ResultSelector": {"n.$": "$.Item.n.N"}, "ResultPath": "$.read", "Next": "Bump"},
            "Bump": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem",
                     "Parameters": {"TableName": table, "Key": {"pk": {"S": "lock#deploy"}, "sk": {"S": "dev"}},
                                    "UpdateExpression": "SET n = n + :one", "ExpressionAttributeValues": {":one": {"N": "1"}},
                                    "ReturnValues": "UPDATED_NEW"},
                     "ResultSelector": {"n.$": "$.Attributes.n.N"}, "ResultPath": "$.bumped", "Next": "Notify"},
            "Notify": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                     "Parameters": {"TopicArn": topic, "Message.$": "States.JsonToString($.bumped)"},
                     "ResultSelector": {"sent.$": "States.ArrayLength(States.Array($.MessageId))"}, "ResultPath": "$.notified", "Next": "Announce"},
            "Announce": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
                     "Parameters": {"Entries": [{"Source": "abc.platform", "DetailType": "DeployLocked", "EventBusName": "abc-trading-dev", "Detail": {"env": "dev"}}]},
                     "ResultSelector": {"failed.$": "$.FailedEntryCount"}, "ResultPath": "$.announced", "End": true}
        }
    });
    std::fs::write(&machine, definition.to_string()).expect("definition");
    let dispatches =
        runtime.dispatch_with_follow("test", machine.to_str().expect("path"), json!({})).await.expect("runs");
    match &dispatches[0].outcome {
        Outcome::Execution { status, output, error, .. } => {
            assert_eq!(*status, asl::Status::Succeeded, "{error:?}");
            let out = output.as_ref().expect("output");
            assert_eq!(out["held"]["Error"], "DynamoDB.ConditionalCheckFailedException");
            assert_eq!(out["read"]["n"], "1");
            assert_eq!(out["bumped"]["n"], "2");
            assert_eq!(out["notified"]["sent"], 1);
            assert_eq!(out["announced"]["failed"], 0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        dispatches[0].aws_changes,
        ["dynamodb PutItem x1", "dynamodb UpdateItem x1", "eventbridge PutEvents x1", "sns Publish x1"],
        "the timeline's AWS changes: writes that took effect (the PutItem its condition refused is none)"
    );
    assert_eq!(dispatches[0].aws_reads, ["dynamodb GetItem x1"], "and the reads apart");
    let published: Vec<_> = runtime.published().into_iter().map(|(_, e)| e["detail-type"].clone()).collect();
    assert_eq!(published, [json!("DeployLocked")], "the event went through the bus and was read back");
}

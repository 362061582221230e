//! Error responses as each AWS protocol puts them on the wire: what an SDK parses and classifies.

use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

/// How a request's service speaks, read from the request itself (its content type and target
/// header), so the answer is in the format the client's deserializer expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// awsJson1_0 / awsJson1_1: DynamoDB, Step Functions, Organizations, SSM, EventBridge...
    AwsJson,
    /// awsQuery: STS, IAM, CloudFormation, SNS, RDS, Auto Scaling, CloudWatch.
    AwsQuery,
    /// restJson1: EKS, Lambda.
    RestJson,
    /// restXml: S3, Route 53.
    RestXml,
}

impl Protocol {
    pub fn of(request: &HttpRequest, service: &str) -> Protocol {
        let content_type = request.headers().get("content-type").unwrap_or_default();
        if request.headers().get("x-amz-target").is_some() || content_type.starts_with("application/x-amz-json") {
            Protocol::AwsJson
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            Protocol::AwsQuery
        } else if matches!(service, "s3" | "route 53" | "route53") {
            Protocol::RestXml
        } else {
            Protocol::RestJson
        }
    }
}

/// The error code a service throttles with (the SDKs' retry classifiers know each of them).
pub fn throttling_code(service: &str, protocol: Protocol) -> &'static str {
    match (service, protocol) {
        ("dynamodb" | "kinesis", _) => "ProvisionedThroughputExceededException",
        ("lambda" | "organizations", _) => "TooManyRequestsException",
        ("sqs", _) => "RequestThrottled",
        ("s3", _) => "SlowDown",
        (_, Protocol::AwsQuery | Protocol::RestXml) => "Throttling",
        _ => "ThrottlingException",
    }
}

/// The throttling answer of `service` to `request`.
pub fn throttled(request: &HttpRequest, service: &str) -> HttpResponse {
    let protocol = Protocol::of(request, service);
    let code = throttling_code(service, protocol);
    // restJson1 services throttle with 429; S3 slows down with 503; the rest say 400.
    let status = match (service, protocol) {
        ("s3", _) => 503,
        (_, Protocol::RestJson) => 429,
        _ => 400,
    };
    error(request, service, status, code, "Rate exceeded")
}

/// A server-side failure (`status` 500 or 503) in `service`'s format.
pub fn server_error(request: &HttpRequest, service: &str, status: u16) -> HttpResponse {
    let code = match (service, status) {
        ("s3", 500) => "InternalError",
        ("s3", _) => "ServiceUnavailable",
        (_, 500) => "InternalFailure",
        _ => "ServiceUnavailable",
    };
    error(request, service, status, code, "We encountered an internal error. Please try again.")
}

fn error(request: &HttpRequest, service: &str, status: u16, code: &str, message: &str) -> HttpResponse {
    let request_id = "00000000-0000-4000-8000-faultinjected";
    let (content_type, body) = match Protocol::of(request, service) {
        Protocol::AwsJson => {
            let json = request.headers().get("content-type").unwrap_or("application/x-amz-json-1.0").to_string();
            (json, format!(r#"{{"__type":"{code}","message":"{message}"}}"#))
        }
        Protocol::RestJson => ("application/json".to_string(), format!(r#"{{"message":"{message}"}}"#)),
        Protocol::AwsQuery => (
            "text/xml".to_string(),
            format!(
                "<ErrorResponse><Error><Type>{}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                if status >= 500 { "Receiver" } else { "Sender" }
            ),
        ),
        Protocol::RestXml if service == "s3" => (
            "application/xml".to_string(),
            format!(
                "<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
            ),
        ),
        Protocol::RestXml => (
            "text/xml".to_string(),
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            ),
        ),
    };
    let status = StatusCode::try_from(status).unwrap_or_else(|_| StatusCode::try_from(500).expect("500 is a status"));
    let mut response = HttpResponse::new(status, SdkBody::from(body));
    response.headers_mut().insert("content-type", content_type);
    response.headers_mut().insert("x-amzn-requestid", request_id);
    // restJson1 names the error in a header; awsJson clients read it there before the body.
    response.headers_mut().insert("x-amzn-errortype", code.to_string());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(content_type: Option<&str>, target: Option<&str>) -> HttpRequest {
        let mut r = HttpRequest::new(SdkBody::from("{}"));
        if let Some(c) = content_type {
            r.headers_mut().insert("content-type", c.to_string());
        }
        if let Some(t) = target {
            r.headers_mut().insert("x-amz-target", t.to_string());
        }
        r
    }

    #[test]
    fn each_protocol_throttles_in_its_own_format() {
        let dynamo =
            throttled(&request(Some("application/x-amz-json-1.0"), Some("DynamoDB_20120810.PutItem")), "dynamodb");
        assert_eq!(u16::from(dynamo.status()), 400);
        let body = std::str::from_utf8(dynamo.body().bytes().expect("in memory")).expect("utf-8");
        assert!(body.contains("ProvisionedThroughputExceededException"), "{body}");

        let query = throttled(&request(Some("application/x-www-form-urlencoded"), None), "cloudformation");
        let body = std::str::from_utf8(query.body().bytes().expect("in memory")).expect("utf-8");
        assert!(body.contains("<Code>Throttling</Code>"), "{body}");

        let eks = throttled(&request(Some("application/json"), None), "eks");
        assert_eq!(u16::from(eks.status()), 429);
        assert_eq!(eks.headers().get("x-amzn-errortype"), Some("ThrottlingException"));

        let s3 = throttled(&request(None, None), "s3");
        assert_eq!(u16::from(s3.status()), 503);
        let body = std::str::from_utf8(s3.body().bytes().expect("in memory")).expect("utf-8");
        assert!(body.contains("<Code>SlowDown</Code>"), "{body}");
    }
}

//! The EKS bearer token against the documented format, and against the reference implementation:
//! the expected signature was recorded from botocore's presigner (what `aws eks get-token` runs)
//! for the same credentials, cluster and instant (see the comment on `REFERENCE_SIGNATURE`).

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use platform_deploy::token::{PREFIX, eks_token};

/// botocore 1.x `generate_presigned_url("get_caller_identity", ExpiresIn=60)` with the header
/// `x-k8s-aws-id: abc-trading-dev`, credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY /
/// session-token-example, region us-east-1, at 2026-11-24T12:00:00Z.
const REFERENCE_SIGNATURE: &str = "2f76405bada57688294d561c7247844185f5e2fd1f292336e6fc283aefe161db";

fn decode(token: &str) -> (String, BTreeMap<String, String>) {
    let encoded = token.strip_prefix(PREFIX).expect("k8s-aws-v1. prefix");
    assert!(!encoded.contains('=') && !encoded.contains('+') && !encoded.contains('/'), "base64url without padding");
    let url =
        String::from_utf8(base64_simd::URL_SAFE_NO_PAD.decode_to_vec(encoded).expect("base64url")).expect("utf-8");
    let (base, query) = url.split_once('?').expect("query");
    let params = query
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("k=v");
            (k.to_string(), v.to_string())
        })
        .collect();
    (base.to_string(), params)
}

#[test]
fn the_token_is_a_presigned_get_caller_identity_bound_to_the_cluster() {
    let credentials = Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        Some("session-token-example".into()),
        None,
        "test",
    );
    let at = UNIX_EPOCH + Duration::from_secs(1_795_521_600); // 2026-11-24T12:00:00Z
    let token = eks_token(&credentials, "us-east-1", "abc-trading-dev", at).expect("token");
    let (base, params) = decode(&token);
    assert_eq!(base, "https://sts.us-east-1.amazonaws.com/");
    assert_eq!(params["Action"], "GetCallerIdentity");
    assert_eq!(params["Version"], "2011-06-15");
    assert_eq!(params["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
    assert_eq!(params["X-Amz-Credential"], "AKIDEXAMPLE%2F20261124%2Fus-east-1%2Fsts%2Faws4_request");
    assert_eq!(params["X-Amz-Date"], "20261124T120000Z");
    assert_eq!(params["X-Amz-Expires"], "60");
    assert_eq!(params["X-Amz-SignedHeaders"], "host%3Bx-k8s-aws-id", "the cluster header is signed");
    assert_eq!(params["X-Amz-Security-Token"], "session-token-example");
    assert_eq!(params["X-Amz-Signature"], REFERENCE_SIGNATURE, "the same signature as aws eks get-token");

    // Another cluster, another signature: a token cannot be replayed against a different cluster.
    let other = eks_token(&credentials, "us-east-1", "abc-trading-prod", at).expect("token");
    assert_ne!(decode(&other).1["X-Amz-Signature"], REFERENCE_SIGNATURE);
}

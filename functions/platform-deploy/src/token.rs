//! The Kubernetes bearer token EKS accepts: a presigned STS GetCallerIdentity, `k8s-aws-v1.` scheme.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4;

/// The token's prefix, as aws-iam-authenticator and `aws eks get-token` write it.
pub const PREFIX: &str = "k8s-aws-v1.";
/// The header that binds the token to one cluster (signed, so it cannot be replayed elsewhere).
pub const CLUSTER_HEADER: &str = "x-k8s-aws-id";
/// How long the presigned URL is valid; EKS also refuses tokens older than 15 minutes.
pub const EXPIRES: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot sign the GetCallerIdentity request for cluster `{cluster}`: {message}")]
    Signing { cluster: String, message: String },
}

/// A bearer token for `cluster`, signed at `now` with `credentials` for STS in `region`.
pub fn eks_token(
    credentials: &Credentials,
    region: &str,
    cluster: &str,
    now: SystemTime,
) -> Result<String, TokenError> {
    let fail = |message: String| TokenError::Signing { cluster: cluster.to_string(), message };
    let host = format!("sts.{region}.amazonaws.com");
    let url = format!("https://{host}/?Action=GetCallerIdentity&Version=2011-06-15");
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(EXPIRES);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| fail(e.to_string()))?
        .into();
    let headers = [("host", host.as_str()), (CLUSTER_HEADER, cluster)];
    let signable = SignableRequest::new("GET", url.as_str(), headers.into_iter(), SignableBody::Bytes(&[]))
        .map_err(|e| fail(e.to_string()))?;
    let (instructions, _) = sign(signable, &params).map_err(|e| fail(e.to_string()))?.into_parts();
    let mut request = http::Request::builder().method("GET").uri(&url).body(()).map_err(|e| fail(e.to_string()))?;
    instructions.apply_to_request_http1x(&mut request);
    Ok(format!("{PREFIX}{}", base64_simd::URL_SAFE_NO_PAD.encode_to_string(request.uri().to_string())))
}

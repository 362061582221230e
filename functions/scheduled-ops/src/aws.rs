//! Adapters: the organisation's accounts (Organizations, from the management account) and the report bucket (S3).

use async_trait::async_trait;
use platform_core::error::{AwsError, ClassifyExt};

use crate::ports::ReportStore;

pub use platform_core::organization::Organizations;

/// The report bucket.
#[derive(Debug, Clone)]
pub struct S3Reports {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Reports {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        S3Reports { client, bucket: bucket.into() }
    }
}

#[async_trait]
impl ReportStore for S3Reports {
    async fn put(&self, key: &str, body: &str, content_type: &str) -> Result<(), AwsError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(aws_sdk_s3::primitives::ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await
            .classify("PutObject")?;
        Ok(())
    }
}

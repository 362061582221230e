//! Stable error classes: every AWS SDK error is classified once, here, keeping the SDK error as source.

use std::error::Error as StdError;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The error classes the state machines name in `Retry` and `Catch`. Their names are an API:
/// renaming one breaks every ASL definition that names it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
    strum::VariantNames,
    strum::Display,
)]
pub enum ErrorClass {
    /// The service asked us to slow down; retry with backoff.
    Throttled,
    /// Network failure, timeout or 5xx; retry with backoff.
    Transient,
    /// Another operation on the same resource is still running; wait and retry.
    OperationInProgress,
    /// Someone else changed the resource between our read and write; re-read and retry.
    ConcurrentModification,
    NotFound,
    AlreadyExists,
    /// A conditional write lost (idempotency or a guard): usually success for a duplicate.
    ConditionFailed,
    AccessDenied,
    InvalidRequest,
    LimitExceeded,
    /// Anything not recognised: not retried, caught by `States.ALL`.
    Unclassified,
}

impl ErrorClass {
    pub const ALL: &'static [ErrorClass] = <ErrorClass as strum::VariantArray>::VARIANTS;
    /// Every class's name, as the state machines may name it.
    pub const NAMES: &'static [&'static str] = <ErrorClass as strum::VariantNames>::VARIANTS;

    /// The PascalCase name a Lambda reports as `errorType` and ASL matches in `ErrorEquals`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether retrying the same call later can succeed without changing anything.
    pub const fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorClass::Throttled
                | ErrorClass::Transient
                | ErrorClass::OperationInProgress
                | ErrorClass::ConcurrentModification
        )
    }

    /// The class of an AWS error code, across the services the platform calls.
    pub fn from_code(code: &str) -> Option<ErrorClass> {
        use ErrorClass::*;
        let class = match code {
            "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "RequestThrottled"
            | "RequestThrottledException"
            | "ProvisionedThroughputExceededException"
            | "SlowDown"
            | "PriorRequestNotComplete"
            | "TooManyUpdates"
            | "EC2ThrottledException"
            | "BandwidthLimitExceeded" => Throttled,
            "InternalFailure"
            | "InternalError"
            | "InternalErrorException"
            | "InternalServerError"
            | "InternalServerException"
            | "InternalServiceError"
            | "InternalServiceErrorException"
            // RDS has no capacity for the class in the AZ now; it comes back.
            | "InsufficientDBInstanceCapacity"
            | "ServiceUnavailable"
            | "ServiceUnavailableException"
            | "ServiceException"
            | "ServerException"
            | "RequestTimeout"
            | "RequestTimeoutException"
            | "IDPCommunicationError"
            | "FinalizingOrganizationException" => Transient,
            "OperationInProgressException"
            | "ResourceInUseException"
            | "ResourceInUse"
            | "ScalingActivityInProgress"
            | "ScalingActivityInProgressFault"
            | "ResourceContention"
            | "ResourceContentionFault"
            | "StaleRequestException"
            // RDS: the instance is busy (modifying, backing up) or the snapshot still being taken.
            | "InvalidDBInstanceState"
            | "InvalidDBSnapshotState" => OperationInProgress,
            "ConcurrentModificationException"
            | "ConcurrentModification"
            | "ConcurrentUpdateException"
            | "TransactionConflictException"
            | "OptimisticLockException" => ConcurrentModification,
            "ResourceNotFoundException"
            | "ResourceNotFound"
            | "NotFoundException"
            | "NoSuchEntity"
            | "NoSuchEntityException"
            | "ParameterNotFound"
            | "ParameterVersionNotFound"
            | "StackSetNotFoundException"
            | "StackInstanceNotFoundException"
            | "OperationNotFoundException"
            | "AccountNotFoundException"
            | "OrganizationalUnitNotFoundException"
            | "ParentNotFoundException"
            | "TargetNotFoundException"
            | "CreateAccountStatusNotFoundException"
            | "AWSOrganizationsNotInUseException"
            | "DBInstanceNotFound"
            | "DBSnapshotNotFound"
            | "DBSubnetGroupNotFoundFault"
            | "DBParameterGroupNotFound"
            | "OptionGroupNotFoundFault"
            | "NotFound"
            | "ValidationError.NotFound" => NotFound,
            "AlreadyExistsException"
            | "AlreadyExists"
            | "AlreadyExistsFault"
            | "ResourceAlreadyExistsException"
            | "EntityAlreadyExists"
            | "EntityAlreadyExistsException"
            | "NameAlreadyExistsException"
            | "ParameterAlreadyExists"
            | "DuplicateOrganizationalUnitException"
            | "DuplicateAccountException"
            | "DuplicatePolicyAttachmentException"
            | "AlreadyInOrganizationException"
            | "DBInstanceAlreadyExists"
            | "DBSnapshotAlreadyExists"
            // Our own idempotent retry of a StackSet operation: describe that operation instead.
            | "OperationIdAlreadyExistsException" => AlreadyExists,
            // TransactionCanceledException is left to the adapter: only its cancellation reasons
            // tell a lost condition from a conflict or throttling.
            "ConditionalCheckFailedException" | "PreconditionFailed" => ConditionFailed,
            "AccessDenied"
            | "AccessDeniedException"
            | "AccessDeniedForDependencyException"
            | "UnauthorizedOperation"
            | "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "AuthFailure"
            | "NotAuthorized"
            | "SignatureDoesNotMatch"
            | "RegionDisabledException"
            | "KMSKeyNotAccessibleFault" => AccessDenied,
            "ValidationException"
            | "ValidationError"
            | "InvalidParameterValue"
            | "InvalidParameterValueException"
            | "InvalidParameterException"
            | "InvalidParameterCombination"
            | "InvalidInputException"
            | "InvalidInput"
            | "InvalidRequestException"
            | "InvalidRequest"
            | "MissingParameter"
            | "MalformedPolicyDocument"
            | "MalformedPolicyDocumentException"
            | "InvalidOperationException"
            | "ConstraintViolationException"
            | "SerializationException"
            | "InvalidAction"
            | "UnsupportedOperation"
            | "UnsupportedOperationException"
            | "BadRequestException"
            | "ClientException"
            | "InvalidKeyId"
            | "ParameterPatternMismatchException"
            | "UnsupportedParameterType"
            | "HierarchyTypeMismatchException"
            | "DestinationAccountNotInOrganizationException"
            | "SourceParentNotFoundException"
            | "DestinationParentNotFoundException"
            | "InvalidRestoreFault"
            | "InvalidSubnet"
            | "InvalidVPCNetworkStateFault" => InvalidRequest,
            "LimitExceededException"
            | "LimitExceeded"
            | "LimitExceededFault"
            | "ServiceQuotaExceededException"
            | "TooManyTagsException"
            | "ParameterLimitExceeded"
            | "ParameterMaxVersionLimitExceeded"
            | "StackSetLimitExceededException"
            | "ResourceLimitExceededException"
            | "QuotaExceededException"
            | "InstanceLimitExceeded"
            | "ResourceLimitExceeded"
            | "HierarchyLevelLimitExceededException"
            | "InstanceQuotaExceeded"
            | "StorageQuotaExceeded"
            | "SnapshotQuotaExceeded" => LimitExceeded,
            _ => return None,
        };
        Some(class)
    }

    /// The class an HTTP status implies when the error code is unknown.
    pub fn from_status(status: u16) -> ErrorClass {
        match status {
            429 => ErrorClass::Throttled,
            500..=599 => ErrorClass::Transient,
            401 | 403 => ErrorClass::AccessDenied,
            404 => ErrorClass::NotFound,
            409 => ErrorClass::ConcurrentModification,
            _ => ErrorClass::Unclassified,
        }
    }
}

/// A failed AWS call, classified, with the SDK error kept as the source.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed ({class}{}): {message}", code.as_deref().map(|c| format!(", code {c}")).unwrap_or_default())]
pub struct AwsError {
    pub class: ErrorClass,
    /// The API operation, e.g. `AssumeRole`.
    pub operation: &'static str,
    /// The service's error code, when it sent one.
    pub code: Option<String>,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl AwsError {
    /// An error found before or after the call (bad input, unexpected response shape).
    pub fn new(class: ErrorClass, operation: &'static str, message: impl Into<String>) -> Self {
        AwsError { class, operation, code: None, message: message.into(), source: None }
    }

    pub fn error_type(&self) -> &'static str {
        self.class.as_str()
    }

    /// The error that caused this one, kept as its source rather than copied into the message.
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

/// Classifies an SDK error once: the service's code first, then what the transport says.
pub fn classify<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let (class, code, message) = match &err {
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().map(str::to_string);
            let status = ctx.raw().status().as_u16();
            let message = ctx.err().message().map(str::to_string).unwrap_or_else(|| format!("http status {status}"));
            let class = code
                .as_deref()
                .and_then(|c| refine(operation, c, &message))
                .unwrap_or_else(|| ErrorClass::from_status(status));
            (class, code, message)
        }
        SdkError::TimeoutError(_) => (ErrorClass::Transient, None, "request timed out".to_string()),
        SdkError::DispatchFailure(f) => {
            // Credentials are resolved before dispatch: a failed AssumeRole or a missing identity
            // surfaces here, and keeps the class it was given rather than looking like a network blip.
            let class = credentials_class(&err).unwrap_or(if f.is_user() {
                ErrorClass::InvalidRequest
            } else {
                ErrorClass::Transient
            });
            (class, None, "request could not be sent".to_string())
        }
        SdkError::ResponseError(ctx) => (
            ErrorClass::from_status(ctx.raw().status().as_u16()).max_transient(),
            None,
            "response could not be read".to_string(),
        ),
        SdkError::ConstructionFailure(_) => {
            (ErrorClass::InvalidRequest, None, "request could not be built".to_string())
        }
        _ => (ErrorClass::Unclassified, None, "the SDK failed in an unrecognised way".to_string()),
    };
    AwsError { class, operation, code, message, source: Some(Box::new(err)) }
}

/// A code's class, refined where one code means different things for different operations.
fn refine(operation: &str, code: &str, message: &str) -> Option<ErrorClass> {
    Some(match code {
        // EKS and DynamoDB say ResourceInUse for "a resource of that name exists" on create, and
        // for "busy with another update" on everything else.
        "ResourceInUseException" | "ResourceInUse" if operation.starts_with("Create") => ErrorClass::AlreadyExists,
        // CloudFormation reports a missing stack as a validation error.
        "ValidationError" if message.contains("does not exist") => ErrorClass::NotFound,
        _ => return ErrorClass::from_code(code),
    })
}

/// The class of a credentials failure inside `err`, if that is what stopped the request.
fn credentials_class(err: &(dyn StdError + 'static)) -> Option<ErrorClass> {
    let mut next: Option<&(dyn StdError + 'static)> = Some(err);
    let mut credentials_failed = false;
    while let Some(e) = next {
        if let Some(aws) = e.downcast_ref::<AwsError>() {
            return Some(aws.class);
        }
        credentials_failed |= e.is::<aws_credential_types::provider::error::CredentialsError>();
        next = e.source();
    }
    credentials_failed.then_some(ErrorClass::AccessDenied)
}

impl ErrorClass {
    /// A garbled response is worth one more try unless the status says otherwise.
    fn max_transient(self) -> ErrorClass {
        if self == ErrorClass::Unclassified { ErrorClass::Transient } else { self }
    }
}

/// `.classify("Operation")` on any SDK call result.
pub trait ClassifyExt<T> {
    fn classify(self, operation: &'static str) -> Result<T, AwsError>;
}

impl<T, E> ClassifyExt<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    fn classify(self, operation: &'static str) -> Result<T, AwsError> {
        self.map_err(|e| classify(operation, e))
    }
}

/// A request input the SDK refused to build (a required field missing): a bug in our call.
pub fn build_error(operation: &'static str, err: aws_smithy_types::error::operation::BuildError) -> AwsError {
    AwsError {
        class: ErrorClass::InvalidRequest,
        operation,
        code: None,
        message: err.to_string(),
        source: Some(Box::new(err)),
    }
}

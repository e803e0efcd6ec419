//! The API's errors: each maps to the `__type` AWS sends, its message and HTTP status.

/// An error answer of the Step Functions API.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidArn(String),
    #[error("{0}")]
    InvalidName(String),
    #[error("{0}")]
    InvalidDefinition(String),
    #[error("{0}")]
    InvalidExecutionInput(String),
    #[error("{0}")]
    InvalidToken(String),
    #[error("{0}")]
    StateMachineDoesNotExist(String),
    #[error("{0}")]
    StateMachineAlreadyExists(String),
    #[error("{0}")]
    StateMachineTypeNotSupported(String),
    #[error("{0}")]
    ExecutionDoesNotExist(String),
    #[error("{0}")]
    ExecutionAlreadyExists(String),
    #[error("{0}")]
    ExecutionNotRedrivable(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    ActivityDoesNotExist(String),
    #[error("{0}")]
    InvalidLoggingConfiguration(String),
    #[error("{0}")]
    ValidationException(String),
    #[error("{0}")]
    ConflictException(String),
    #[error("{0}")]
    MissingRequiredParameter(String),
    #[error("{0}")]
    SerializationException(String),
    #[error("{0}")]
    UnknownOperation(String),
    #[error("{0}")]
    RequestEntityTooLarge(String),
    #[error("{0}")]
    TooManyTags(String),
    /// SigV4: no or unknown access key.
    #[error("{0}")]
    UnrecognizedClient(String),
    /// SigV4: a signature that does not match.
    #[error("{0}")]
    InvalidSignature(String),
    #[error("{0}")]
    MissingAuthenticationToken(String),
    #[error("{0}")]
    IncompleteSignature(String),
    #[error("{0}")]
    TaskDoesNotExist(String),
    #[error("{0}")]
    TaskTimedOut(String),
    #[error("{0}")]
    InvalidOutput(String),
    #[error("{0}")]
    Internal(String),
    /// The store cannot commit now (a full disk, an I/O error): the request may be retried.
    #[error("{0}")]
    ServiceUnavailable(String),
    /// Too many requests or executions in flight.
    #[error("{0}")]
    Throttling(String),
    /// Refused whoever asks (a rebound Host, an API that is off).
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body did not arrive in time.
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    HeadersTooLarge(String),
    /// A path other than `/` (and `/health`).
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// An answer of the EventBridge API (its own `__type`s).
    #[error("{0}")]
    Events(#[from] crate::bus::error::EventsError),
}

impl ApiError {
    /// The `__type` (boto3 reports it as the error code).
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidArn(_) => "InvalidArn",
            ApiError::InvalidName(_) => "InvalidName",
            ApiError::InvalidDefinition(_) => "InvalidDefinition",
            ApiError::InvalidExecutionInput(_) => "InvalidExecutionInput",
            ApiError::InvalidToken(_) => "InvalidToken",
            ApiError::StateMachineDoesNotExist(_) => "StateMachineDoesNotExist",
            ApiError::StateMachineAlreadyExists(_) => "StateMachineAlreadyExists",
            ApiError::StateMachineTypeNotSupported(_) => "StateMachineTypeNotSupported",
            ApiError::ExecutionDoesNotExist(_) => "ExecutionDoesNotExist",
            ApiError::ExecutionAlreadyExists(_) => "ExecutionAlreadyExists",
            ApiError::ExecutionNotRedrivable(_) => "ExecutionNotRedrivable",
            ApiError::ResourceNotFound(_) => "ResourceNotFound",
            ApiError::ActivityDoesNotExist(_) => "ActivityDoesNotExist",
            ApiError::InvalidLoggingConfiguration(_) => "InvalidLoggingConfiguration",
            ApiError::ValidationException(_) => "ValidationException",
            ApiError::ConflictException(_) => "ConflictException",
            ApiError::MissingRequiredParameter(_) => "MissingRequiredParameter",
            ApiError::SerializationException(_) => "SerializationException",
            ApiError::UnknownOperation(_) => "UnknownOperationException",
            ApiError::RequestEntityTooLarge(_) => "RequestEntityTooLargeException",
            ApiError::TooManyTags(_) => "TooManyTags",
            ApiError::UnrecognizedClient(_) => "UnrecognizedClientException",
            ApiError::InvalidSignature(_) => "InvalidSignatureException",
            ApiError::MissingAuthenticationToken(_) => "MissingAuthenticationTokenException",
            ApiError::IncompleteSignature(_) => "IncompleteSignatureException",
            ApiError::TaskDoesNotExist(_) => "TaskDoesNotExist",
            ApiError::TaskTimedOut(_) => "TaskTimedOut",
            ApiError::InvalidOutput(_) => "InvalidOutput",
            ApiError::Internal(_) => "InternalFailure",
            ApiError::ServiceUnavailable(_) => "ServiceUnavailable",
            ApiError::Throttling(_) => "ThrottlingException",
            ApiError::AccessDenied(_) => "AccessDeniedException",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaTypeException",
            ApiError::RequestTimeout(_) => "RequestTimeoutException",
            ApiError::HeadersTooLarge(_) => "RequestHeaderFieldsTooLargeException",
            ApiError::NotFound(_) | ApiError::MethodNotAllowed(_) => "UnknownOperationException",
            ApiError::Events(e) => e.code(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::UnrecognizedClient(_)
            | ApiError::InvalidSignature(_)
            | ApiError::MissingAuthenticationToken(_)
            | ApiError::IncompleteSignature(_)
            | ApiError::AccessDenied(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::RequestTimeout(_) => 408,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::HeadersTooLarge(_) => 431,
            ApiError::RequestEntityTooLarge(_) => 413,
            ApiError::Internal(_) => 500,
            ApiError::ServiceUnavailable(_) => 503,
            ApiError::Events(e) => e.status(),
            _ => 400,
        }
    }

    pub fn message(&self) -> String {
        self.to_string()
    }

    pub fn machine_missing(arn: &str) -> Self {
        ApiError::StateMachineDoesNotExist(format!("State Machine Does Not Exist: '{arn}'"))
    }

    pub fn execution_missing(arn: &str) -> Self {
        ApiError::ExecutionDoesNotExist(format!("Execution Does Not Exist: '{arn}'"))
    }

    /// AWS's single-constraint validation message.
    pub fn constraint(value: &str, field: &str, constraint: &str) -> Self {
        ApiError::ValidationException(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
        ))
    }
}

impl From<passo_store::StoreError> for ApiError {
    fn from(e: passo_store::StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

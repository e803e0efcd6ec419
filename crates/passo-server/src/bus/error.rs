//! EventBridge's errors: each maps to the `__type` the events API sends, its message and
//! HTTP status (boto3 and the aws CLI report the `__type` as the error code).

/// An error answer of the EventBridge API.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventsError {
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    ResourceAlreadyExists(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    InvalidEventPattern(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    Internal(String),
}

impl EventsError {
    pub fn code(&self) -> &'static str {
        match self {
            EventsError::ResourceNotFound(_) => "ResourceNotFoundException",
            EventsError::ResourceAlreadyExists(_) => "ResourceAlreadyExistsException",
            EventsError::Validation(_) => "ValidationException",
            EventsError::InvalidEventPattern(_) => "InvalidEventPatternException",
            EventsError::LimitExceeded(_) => "LimitExceededException",
            EventsError::Internal(_) => "InternalException",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            EventsError::Internal(_) => 500,
            _ => 400,
        }
    }

    /// AWS's single-constraint validation message.
    pub fn constraint(value: &str, field: &str, constraint: &str) -> Self {
        EventsError::Validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
        ))
    }

    /// A required member that is absent.
    pub fn missing(field: &str) -> Self {
        EventsError::Validation(format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ))
    }

    pub fn bus_missing(bus: &str) -> Self {
        EventsError::ResourceNotFound(format!("Event bus {bus} does not exist."))
    }

    pub fn rule_missing(rule: &str, bus: &str) -> Self {
        EventsError::ResourceNotFound(format!("Rule {rule} does not exist on EventBus {bus}."))
    }
}

impl From<passo_store::StoreError> for EventsError {
    fn from(e: passo_store::StoreError) -> Self {
        EventsError::Internal(format!("The store could not commit the change: {e}"))
    }
}

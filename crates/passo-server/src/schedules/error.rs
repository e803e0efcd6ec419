//! EventBridge Scheduler's errors (restJson1: the name in `x-amzn-ErrorType`, the message
//! in the body's `Message`).

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SchedulerError {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Internal(String),
}

impl SchedulerError {
    pub fn code(&self) -> &'static str {
        match self {
            SchedulerError::Validation(_) => "ValidationException",
            SchedulerError::ResourceNotFound(_) => "ResourceNotFoundException",
            SchedulerError::Conflict(_) => "ConflictException",
            SchedulerError::Internal(_) => "InternalServerException",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            SchedulerError::Validation(_) => 400,
            SchedulerError::ResourceNotFound(_) => 404,
            SchedulerError::Conflict(_) => 409,
            SchedulerError::Internal(_) => 500,
        }
    }

    pub fn schedule_missing(name: &str) -> Self {
        SchedulerError::ResourceNotFound(format!("Schedule {name} does not exist."))
    }
}

impl From<passo_store::StoreError> for SchedulerError {
    fn from(e: passo_store::StoreError) -> Self {
        SchedulerError::Internal(format!("The store could not commit the change: {e}"))
    }
}

//! SNS's errors: each variant is an exception shape of SNS's API model, with the code the
//! query protocol answers (`NotFound` for `NotFoundException`) and its HTTP status.

use passo_tasks::aws::AwsError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SnsError {
    #[error("{0}")]
    NotFound(String),
    #[error("Invalid parameter: {0}")]
    InvalidParameter(String),
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("The batch request doesn't contain any entries.")]
    EmptyBatchRequest,
    #[error("The batch request contains more entries than permissible.")]
    TooManyEntriesInBatchRequest,
    #[error("Two or more batch entries in the request have the same Id.")]
    BatchEntryIdsNotDistinct,
    #[error("The Id of a batch entry in a batch request doesn't abide by the specification.")]
    InvalidBatchEntryId,
    #[error("{0}")]
    InternalError(String),
}

impl SnsError {
    /// The exception shape (what Step Functions and the JSON-speaking SDKs name).
    pub fn shape(&self) -> &'static str {
        use SnsError::*;
        match self {
            NotFound(_) => "NotFoundException",
            InvalidParameter(_) => "InvalidParameterException",
            InvalidParameterValue(_) => "InvalidParameterValueException",
            EmptyBatchRequest => "EmptyBatchRequestException",
            TooManyEntriesInBatchRequest => "TooManyEntriesInBatchRequestException",
            BatchEntryIdsNotDistinct => "BatchEntryIdsNotDistinctException",
            InvalidBatchEntryId => "InvalidBatchEntryIdException",
            InternalError(_) => "InternalErrorException",
        }
    }

    /// The query protocol's `<Code>` (the shape's `error.code` in the model).
    pub fn code(&self) -> &'static str {
        use SnsError::*;
        match self {
            NotFound(_) => "NotFound",
            InvalidParameter(_) => "InvalidParameter",
            InvalidParameterValue(_) => "ParameterValueInvalid",
            EmptyBatchRequest => "EmptyBatchRequest",
            TooManyEntriesInBatchRequest => "TooManyEntriesInBatchRequest",
            BatchEntryIdsNotDistinct => "BatchEntryIdsNotDistinct",
            InvalidBatchEntryId => "InvalidBatchEntryId",
            InternalError(_) => "InternalError",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            SnsError::NotFound(_) => 404,
            SnsError::InternalError(_) => 500,
            _ => 400,
        }
    }

    pub fn to_aws(&self) -> AwsError {
        AwsError::service(self.shape(), &self.to_string(), self.status())
    }

    pub fn topic_not_found() -> SnsError {
        SnsError::NotFound("Topic does not exist".into())
    }
}

impl From<passo_store::StoreError> for SnsError {
    fn from(e: passo_store::StoreError) -> SnsError {
        SnsError::InternalError(format!("The topic store could not commit: {e}"))
    }
}

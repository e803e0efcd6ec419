//! SQS's errors: each variant is one of the API model's exception shapes, with the code the
//! query protocol used for it (sent as `x-amzn-query-error`, which the AWS SDKs read back
//! as the error code), its HTTP status and a message in SQS's words.

use passo_tasks::aws::AwsError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SqsError {
    #[error("The specified queue does not exist.")]
    QueueDoesNotExist,
    #[error("{0}")]
    QueueNameExists(String),
    #[error("{0}")]
    InvalidAttributeName(String),
    #[error("{0}")]
    InvalidAttributeValue(String),
    /// A parameter SQS refuses (`InvalidParameterValue` in the query protocol).
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    MissingParameter(String),
    #[error("The input receipt handle \"{0}\" is not a valid receipt handle.")]
    ReceiptHandleIsInvalid(String),
    #[error("Message does not exist or is not available for visibility timeout change.")]
    MessageNotInflight,
    #[error("There should be at least one entry in the request.")]
    EmptyBatchRequest,
    #[error("Maximum number of entries per request are 10. You have sent {0}.")]
    TooManyEntriesInBatchRequest(usize),
    #[error("Id {0} repeated.")]
    BatchEntryIdsNotDistinct(String),
    #[error("A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")]
    InvalidBatchEntryId,
    #[error("{0}")]
    BatchRequestTooLong(String),
    #[error("Only one PurgeQueue operation on {0} is allowed every 60 seconds.")]
    PurgeQueueInProgress(String),
    #[error("{0}")]
    UnsupportedOperation(String),
    /// The store could not commit: the request may be retried.
    #[error("{0}")]
    ServiceUnavailable(String),
}

impl SqsError {
    /// The exception shape's name (the JSON protocol's `__type`, after `com.amazonaws.sqs#`).
    pub fn shape(&self) -> &'static str {
        use SqsError::*;
        match self {
            QueueDoesNotExist => "QueueDoesNotExist",
            QueueNameExists(_) => "QueueNameExists",
            InvalidAttributeName(_) => "InvalidAttributeName",
            InvalidAttributeValue(_) => "InvalidAttributeValue",
            InvalidParameterValue(_) => "InvalidParameterValueException",
            MissingParameter(_) => "MissingRequiredParameterException",
            ReceiptHandleIsInvalid(_) => "ReceiptHandleIsInvalid",
            MessageNotInflight => "MessageNotInflight",
            EmptyBatchRequest => "EmptyBatchRequest",
            TooManyEntriesInBatchRequest(_) => "TooManyEntriesInBatchRequest",
            BatchEntryIdsNotDistinct(_) => "BatchEntryIdsNotDistinct",
            InvalidBatchEntryId => "InvalidBatchEntryId",
            BatchRequestTooLong(_) => "BatchRequestTooLong",
            PurgeQueueInProgress(_) => "PurgeQueueInProgress",
            UnsupportedOperation(_) => "UnsupportedOperation",
            ServiceUnavailable(_) => "ServiceUnavailable",
        }
    }

    /// The code SQS's query protocol gave the error, which `x-amzn-query-error` carries.
    pub fn query_code(&self) -> &'static str {
        use SqsError::*;
        match self {
            QueueDoesNotExist => "AWS.SimpleQueueService.NonExistentQueue",
            QueueNameExists(_) => "QueueAlreadyExists",
            InvalidParameterValue(_) => "InvalidParameterValue",
            MissingParameter(_) => "MissingParameter",
            MessageNotInflight => "AWS.SimpleQueueService.MessageNotInflight",
            EmptyBatchRequest => "AWS.SimpleQueueService.EmptyBatchRequest",
            TooManyEntriesInBatchRequest(_) => {
                "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
            }
            BatchEntryIdsNotDistinct(_) => "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            InvalidBatchEntryId => "AWS.SimpleQueueService.InvalidBatchEntryId",
            BatchRequestTooLong(_) => "AWS.SimpleQueueService.BatchRequestTooLong",
            PurgeQueueInProgress(_) => "AWS.SimpleQueueService.PurgeQueueInProgress",
            UnsupportedOperation(_) => "AWS.SimpleQueueService.UnsupportedOperation",
            other => other.shape(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            SqsError::ServiceUnavailable(_) => 503,
            _ => 400,
        }
    }

    /// `Sender` for the caller's mistakes, `Receiver` for the server's.
    pub fn fault(&self) -> &'static str {
        match self {
            SqsError::ServiceUnavailable(_) => "Receiver",
            _ => "Sender",
        }
    }

    /// The error as a Task sees it through `LocalServices` (the code the JSON protocol's
    /// `__type` names, as a call to SQS itself would give).
    pub fn to_aws(&self) -> AwsError {
        AwsError::service(self.shape(), &self.to_string(), self.status())
    }
}

impl From<passo_store::StoreError> for SqsError {
    fn from(e: passo_store::StoreError) -> SqsError {
        SqsError::ServiceUnavailable(format!("The message store could not commit: {e}"))
    }
}

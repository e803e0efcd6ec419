//! Checking a TestState `mock.result` against the output shape of the mocked service
//! (TestState's `mock.fieldValidationMode`).
//!
//! A mocked Task never calls its service, so AWS checks instead that the mocked raw response
//! could have come from it: the mock is compared with the output shape of the API operation
//! in the AWS service model (e.g. Lambda `Invoke`, KMS `Encrypt`). A mock that the real
//! service could never return is a TestState `ValidationException`, raised before the state
//! runs. The modes:
//!
//! * `STRICT` (default): required members must be present, and present members must have the
//!   modelled type and constraints;
//! * `PRESENT`: only the members that are present are checked;
//! * `NONE`: nothing is checked.
//!
//! Unknown members are ignored in every mode: Step Functions adds members of its own (e.g.
//! `SdkHttpMetadata`) to the real results, so a mock copied from a real result must pass.
//!
//! The shapes below are hand-written from the AWS service models (botocore `service-2.json`),
//! for the integrations that TestState users mock most. Resources without a shape here are not
//! checked. The rules, the check order and the message texts come from the AWS recordings in
//! `shared/conformance/asl/test_state/test_state.test_field_validation_mode*.json` (see
//! `docs/research/test-state.md`, sections 3 and 4). Where the recordings are silent we choose
//! to accept rather than reject (a wrong rejection blocks a user's test, a wrong acceptance
//! only makes the mock less checked):
//!
//! * maximum lengths and patterns of strings are not checked (no recording shows AWS's
//!   message for them);
//! * a JSON `null` member counts as absent;
//! * a result that is not a JSON object is not checked against a structure shape;
//! * integers are not told apart from doubles (`1.5` passes for an integer member).

use serde_json::{Map, Value};

/// How strictly a mocked result is checked (TestState's `mock.fieldValidationMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidationMode {
    /// Required members must be present; present members must match the model.
    #[default]
    Strict,
    /// Only present members are checked.
    Present,
    /// Nothing is checked.
    None,
}

impl FieldValidationMode {
    /// Parses the API value (`STRICT`, `PRESENT` or `NONE`; case-sensitive, like AWS's enums).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "STRICT" => Some(Self::Strict),
            "PRESENT" => Some(Self::Present),
            "NONE" => Some(Self::None),
            _ => None,
        }
    }
}

/// Checks `result` (the mocked raw service response) against the output shape of the Task
/// resource `resource` (e.g. "arn:aws:states:::lambda:invoke", "arn:aws:states:::aws-sdk:kms:encrypt",
/// "arn:aws:states:::states:startExecution.sync:2"). Err carries AWS's whole message.
pub fn check_mock_result(
    resource: &str,
    result: &Value,
    mode: FieldValidationMode,
) -> Result<(), String> {
    if mode == FieldValidationMode::None {
        return Ok(());
    }
    let Some(shape) = output_shape(resource) else {
        return Ok(());
    };
    match (shape, result) {
        (Shape::Struct(members), Value::Object(obj)) => check_struct(members, obj, mode),
        // Every output shape is a structure; what AWS says of a non-object mock for one is not
        // recorded, so it is let through (see the module doc).
        (Shape::Struct(_), _) => Ok(()),
        (shape, value) => check_value("", shape, value, mode),
    }
}

/// The type and constraints of one value in an output shape, as in the AWS service models.
#[derive(Debug)]
enum Shape {
    /// Anything: members whose content is the user's JSON (Lambda's `Payload`).
    Any,
    String {
        min_len: Option<usize>,
        /// The members of an enum; `None` for a free string.
        values: Option<&'static [&'static str]>,
    },
    /// integer, long, float and double alike: any JSON number.
    Number {
        min: Option<f64>,
        max: Option<f64>,
    },
    Bool,
    /// Step Functions renders timestamps as strings; the string's format is not checked.
    Timestamp,
    /// Binary data, base64 text in JSON.
    Blob {
        min_len: Option<usize>,
    },
    List(&'static Shape),
    /// A map with string keys; only its values have a shape.
    Map(&'static Shape),
    Struct(&'static [Member]),
}

/// One member of a structure, with the JSON name Step Functions uses for it (capitalised:
/// Step Functions results say `ExecutionArn` where the API model says `executionArn`).
#[derive(Debug)]
struct Member {
    name: &'static str,
    shape: &'static Shape,
    required: bool,
}

/// An optional member.
const fn opt(name: &'static str, shape: &'static Shape) -> Member {
    Member {
        name,
        shape,
        required: false,
    }
}

/// A required member.
const fn req(name: &'static str, shape: &'static Shape) -> Member {
    Member {
        name,
        shape,
        required: true,
    }
}

const fn string_min(min: usize) -> Shape {
    Shape::String {
        min_len: Some(min),
        values: None,
    }
}

const fn string_enum(values: &'static [&'static str]) -> Shape {
    Shape::String {
        min_len: None,
        values: Some(values),
    }
}

const fn range(min: Option<f64>, max: Option<f64>) -> Shape {
    Shape::Number { min, max }
}

const STRING: Shape = Shape::String {
    min_len: None,
    values: None,
};
/// Most ARNs and names in the models have a minimum length of 1.
const STRING1: Shape = string_min(1);
const NUMBER: Shape = range(None, None);
const BOOL: Shape = Shape::Bool;
const TIMESTAMP: Shape = Shape::Timestamp;
const BLOB: Shape = Shape::Blob { min_len: None };
const ANY: Shape = Shape::Any;
const STRING_LIST: Shape = Shape::List(&STRING);
const STRING_MAP: Shape = Shape::Map(&STRING);

/// The output shape of a Task resource, `None` when the result is not checked.
fn output_shape(resource: &str) -> Option<&'static Shape> {
    // arn:<partition>:states:::<service>:<api>[.<pattern>], e.g. arn:aws-cn:states:::lambda:invoke.
    // Anything else (a Lambda function ARN, an Activity ARN) returns the user's own output.
    let rest = resource.strip_prefix("arn:")?;
    let (_partition, rest) = rest.split_once(':')?;
    let integration = rest.strip_prefix("states:::")?;
    // The integration pattern decides the shape together with the API: `.sync` returns what
    // the job's describe call returns, and `.waitForTaskToken` returns whatever the callback
    // sent (so any `<api>.waitForTaskToken` falls to the catch-all and is not checked).
    let shape: &'static Shape = match integration {
        "lambda:invoke" => &LAMBDA_INVOKE,
        "aws-sdk:lambda:getFunction" => &LAMBDA_GET_FUNCTION,
        "states:startExecution" | "aws-sdk:sfn:startExecution" => &SFN_START_EXECUTION,
        "states:startExecution.sync" | "aws-sdk:sfn:describeExecution" => &SFN_DESCRIBE_EXECUTION,
        "states:startExecution.sync:2" => &SFN_DESCRIBE_EXECUTION_JSON,
        "events:putEvents" | "aws-sdk:eventbridge:putEvents" => &EVENTS_PUT_EVENTS,
        // UpdateItem and DeleteItem have the same output members as PutItem.
        "dynamodb:putItem"
        | "dynamodb:updateItem"
        | "dynamodb:deleteItem"
        | "aws-sdk:dynamodb:putItem"
        | "aws-sdk:dynamodb:updateItem"
        | "aws-sdk:dynamodb:deleteItem" => &DYNAMODB_WRITE_ITEM,
        "dynamodb:getItem" | "aws-sdk:dynamodb:getItem" => &DYNAMODB_GET_ITEM,
        "sqs:sendMessage" | "aws-sdk:sqs:sendMessage" => &SQS_SEND_MESSAGE,
        "sns:publish" | "aws-sdk:sns:publish" => &SNS_PUBLISH,
        "aws-sdk:kms:encrypt" => &KMS_ENCRYPT,
        "aws-sdk:s3:getObject" => &S3_GET_OBJECT,
        _ => return None,
    };
    Some(shape)
}

// ---- Lambda ----

/// Invoke's output as the `lambda:invoke` integration returns it: Payload is the function's
/// JSON output, not the model's blob. No member is required.
const LAMBDA_INVOKE: Shape = Shape::Struct(&[
    opt("StatusCode", &NUMBER),
    opt("FunctionError", &STRING),
    opt("LogResult", &STRING),
    opt("Payload", &ANY),
    opt("ExecutedVersion", &STRING1),
]);

/// GetFunctionResponse.
const LAMBDA_GET_FUNCTION: Shape = Shape::Struct(&[
    opt("Configuration", &LAMBDA_FUNCTION_CONFIGURATION),
    opt(
        "Code",
        &Shape::Struct(&[
            opt("RepositoryType", &STRING),
            opt("Location", &STRING),
            opt("ImageUri", &STRING),
            opt("ResolvedImageUri", &STRING),
            opt("SourceKMSKeyArn", &STRING),
        ]),
    ),
    opt("Tags", &STRING_MAP),
    opt(
        "TagsError",
        &Shape::Struct(&[
            req("ErrorCode", &string_min(10)),
            req("Message", &string_min(84)),
        ]),
    ),
    opt(
        "Concurrency",
        &Shape::Struct(&[opt("ReservedConcurrentExecutions", &range(Some(0.0), None))]),
    ),
]);

/// Lambda's error detail structures (EnvironmentError, ImageConfigError, RuntimeVersionError).
const LAMBDA_ERROR: Shape = Shape::Struct(&[opt("ErrorCode", &STRING), opt("Message", &STRING)]);

/// FunctionConfiguration. Runtime, StateReasonCode and LastUpdateStatusReasonCode are enums in
/// the model, but their value lists grow with every new runtime, so they are free strings here.
/// LastModified is a string (not a timestamp) in the model.
const LAMBDA_FUNCTION_CONFIGURATION: Shape = Shape::Struct(&[
    opt("FunctionName", &STRING1),
    opt("FunctionArn", &STRING),
    opt("Runtime", &STRING),
    opt("Role", &STRING),
    opt("Handler", &STRING),
    opt("CodeSize", &NUMBER),
    opt("Description", &STRING),
    opt("Timeout", &range(Some(1.0), None)),
    // AWS answered 10241 with "exceeds the maximum value" (recorded 2025-12); newer models
    // raise the maximum, the recording wins.
    opt("MemorySize", &range(Some(128.0), Some(10240.0))),
    opt("LastModified", &STRING),
    opt("CodeSha256", &STRING),
    opt("Version", &STRING1),
    opt(
        "VpcConfig",
        &Shape::Struct(&[
            opt("SubnetIds", &STRING_LIST),
            opt("SecurityGroupIds", &STRING_LIST),
            opt("VpcId", &STRING),
            opt("Ipv6AllowedForDualStack", &BOOL),
        ]),
    ),
    opt(
        "DeadLetterConfig",
        &Shape::Struct(&[opt("TargetArn", &STRING)]),
    ),
    opt(
        "Environment",
        &Shape::Struct(&[opt("Variables", &STRING_MAP), opt("Error", &LAMBDA_ERROR)]),
    ),
    opt("KMSKeyArn", &STRING),
    opt(
        "TracingConfig",
        &Shape::Struct(&[opt("Mode", &string_enum(&["Active", "PassThrough"]))]),
    ),
    opt("MasterArn", &STRING),
    opt("RevisionId", &STRING),
    opt(
        "Layers",
        &Shape::List(&Shape::Struct(&[
            opt("Arn", &STRING1),
            opt("CodeSize", &NUMBER),
            opt("SigningProfileVersionArn", &STRING),
            opt("SigningJobArn", &STRING),
        ])),
    ),
    opt(
        "State",
        &string_enum(&[
            "Pending",
            "Active",
            "Inactive",
            "Failed",
            "Deactivating",
            "Deactivated",
            "ActiveNonInvocable",
            "Deleting",
        ]),
    ),
    opt("StateReason", &STRING),
    opt("StateReasonCode", &STRING),
    opt(
        "LastUpdateStatus",
        &string_enum(&["Successful", "Failed", "InProgress"]),
    ),
    opt("LastUpdateStatusReason", &STRING),
    opt("LastUpdateStatusReasonCode", &STRING),
    opt(
        "FileSystemConfigs",
        &Shape::List(&Shape::Struct(&[
            req("Arn", &STRING),
            req("LocalMountPath", &STRING),
        ])),
    ),
    opt("PackageType", &string_enum(&["Zip", "Image"])),
    opt(
        "ImageConfigResponse",
        &Shape::Struct(&[
            opt(
                "ImageConfig",
                &Shape::Struct(&[
                    opt("EntryPoint", &STRING_LIST),
                    opt("Command", &STRING_LIST),
                    opt("WorkingDirectory", &STRING),
                ]),
            ),
            opt("Error", &LAMBDA_ERROR),
        ]),
    ),
    opt("SigningProfileVersionArn", &STRING),
    opt("SigningJobArn", &STRING),
    opt(
        "Architectures",
        &Shape::List(&string_enum(&["x86_64", "arm64"])),
    ),
    opt(
        "EphemeralStorage",
        &Shape::Struct(&[req("Size", &range(Some(512.0), Some(10240.0)))]),
    ),
    opt(
        "SnapStart",
        &Shape::Struct(&[
            opt("ApplyOn", &string_enum(&["PublishedVersions", "None"])),
            opt("OptimizationStatus", &string_enum(&["On", "Off"])),
        ]),
    ),
    opt(
        "RuntimeVersionConfig",
        &Shape::Struct(&[
            opt("RuntimeVersionArn", &string_min(26)),
            opt("Error", &LAMBDA_ERROR),
        ]),
    ),
    opt(
        "LoggingConfig",
        &Shape::Struct(&[
            opt("LogFormat", &string_enum(&["JSON", "Text"])),
            opt(
                "ApplicationLogLevel",
                &string_enum(&["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]),
            ),
            opt("SystemLogLevel", &string_enum(&["DEBUG", "INFO", "WARN"])),
            opt("LogGroup", &STRING1),
        ]),
    ),
]);

// ---- Step Functions ----

/// StartExecutionOutput.
const SFN_START_EXECUTION: Shape =
    Shape::Struct(&[req("ExecutionArn", &STRING1), req("StartDate", &TIMESTAMP)]);

const SFN_EXECUTION_STATUS: Shape = string_enum(&[
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "TIMED_OUT",
    "ABORTED",
    "PENDING_REDRIVE",
]);

const SFN_DATA_DETAILS: Shape = Shape::Struct(&[opt("Included", &BOOL)]);

const SFN_REDRIVE_STATUS: Shape =
    string_enum(&["REDRIVABLE", "NOT_REDRIVABLE", "REDRIVABLE_BY_MAP_RUN"]);

/// DescribeExecutionOutput with the child's Input and Output as the model has them: strings
/// (`startExecution.sync`, and the `describeExecution` SDK call).
const SFN_DESCRIBE_EXECUTION: Shape = Shape::Struct(&[
    req("ExecutionArn", &STRING1),
    req("StateMachineArn", &STRING1),
    opt("Name", &STRING1),
    req("Status", &SFN_EXECUTION_STATUS),
    req("StartDate", &TIMESTAMP),
    opt("StopDate", &TIMESTAMP),
    opt("Input", &STRING),
    opt("InputDetails", &SFN_DATA_DETAILS),
    opt("Output", &STRING),
    opt("OutputDetails", &SFN_DATA_DETAILS),
    opt("TraceHeader", &STRING),
    opt("MapRunArn", &STRING1),
    opt("Error", &STRING),
    opt("Cause", &STRING),
    opt("StateMachineVersionArn", &STRING1),
    opt("StateMachineAliasArn", &STRING1),
    opt("RedriveCount", &NUMBER),
    opt("RedriveDate", &TIMESTAMP),
    opt("RedriveStatus", &SFN_REDRIVE_STATUS),
    opt("RedriveStatusReason", &STRING),
]);

/// The same for `startExecution.sync:2`, which parses the child's Input and Output into JSON,
/// so they can be any value.
const SFN_DESCRIBE_EXECUTION_JSON: Shape = Shape::Struct(&[
    req("ExecutionArn", &STRING1),
    req("StateMachineArn", &STRING1),
    opt("Name", &STRING1),
    req("Status", &SFN_EXECUTION_STATUS),
    req("StartDate", &TIMESTAMP),
    opt("StopDate", &TIMESTAMP),
    opt("Input", &ANY),
    opt("InputDetails", &SFN_DATA_DETAILS),
    opt("Output", &ANY),
    opt("OutputDetails", &SFN_DATA_DETAILS),
    opt("TraceHeader", &STRING),
    opt("MapRunArn", &STRING1),
    opt("Error", &STRING),
    opt("Cause", &STRING),
    opt("StateMachineVersionArn", &STRING1),
    opt("StateMachineAliasArn", &STRING1),
    opt("RedriveCount", &NUMBER),
    opt("RedriveDate", &TIMESTAMP),
    opt("RedriveStatus", &SFN_REDRIVE_STATUS),
    opt("RedriveStatusReason", &STRING),
]);

// ---- EventBridge ----

/// PutEventsResponse.
const EVENTS_PUT_EVENTS: Shape = Shape::Struct(&[
    opt("FailedEntryCount", &NUMBER),
    opt(
        "Entries",
        &Shape::List(&Shape::Struct(&[
            opt("EventId", &STRING),
            opt("ErrorCode", &STRING),
            opt("ErrorMessage", &STRING),
        ])),
    ),
]);

// ---- DynamoDB ----

/// AttributeValue: a structure with one member per DynamoDB type. It is recursive (M and L
/// hold AttributeValues), hence a static rather than a const.
static DYNAMODB_ATTRIBUTE_VALUE: Shape = Shape::Struct(&[
    opt("S", &STRING),
    opt("N", &STRING),
    opt("B", &BLOB),
    opt("SS", &STRING_LIST),
    opt("NS", &STRING_LIST),
    opt("BS", &Shape::List(&BLOB)),
    opt("M", &DYNAMODB_ATTRIBUTE_MAP),
    opt("L", &Shape::List(&DYNAMODB_ATTRIBUTE_VALUE)),
    opt("NULL", &BOOL),
    opt("BOOL", &BOOL),
]);

static DYNAMODB_ATTRIBUTE_MAP: Shape = Shape::Map(&DYNAMODB_ATTRIBUTE_VALUE);

/// Capacity.
const DYNAMODB_CAPACITY: Shape = Shape::Struct(&[
    opt("ReadCapacityUnits", &NUMBER),
    opt("WriteCapacityUnits", &NUMBER),
    opt("CapacityUnits", &NUMBER),
]);

/// ConsumedCapacity.
const DYNAMODB_CONSUMED_CAPACITY: Shape = Shape::Struct(&[
    opt("TableName", &STRING1),
    opt("CapacityUnits", &NUMBER),
    opt("ReadCapacityUnits", &NUMBER),
    opt("WriteCapacityUnits", &NUMBER),
    opt("Table", &DYNAMODB_CAPACITY),
    opt("LocalSecondaryIndexes", &Shape::Map(&DYNAMODB_CAPACITY)),
    opt("GlobalSecondaryIndexes", &Shape::Map(&DYNAMODB_CAPACITY)),
]);

/// ItemCollectionMetrics. (Named, because a shape that refers to a static cannot be written
/// inline: Rust does not promote such temporaries to statics.)
static DYNAMODB_ITEM_COLLECTION_METRICS: Shape = Shape::Struct(&[
    opt("ItemCollectionKey", &DYNAMODB_ATTRIBUTE_MAP),
    opt("SizeEstimateRangeGB", &Shape::List(&NUMBER)),
]);

/// PutItemOutput, UpdateItemOutput and DeleteItemOutput.
const DYNAMODB_WRITE_ITEM: Shape = Shape::Struct(&[
    opt("Attributes", &DYNAMODB_ATTRIBUTE_MAP),
    opt("ConsumedCapacity", &DYNAMODB_CONSUMED_CAPACITY),
    opt("ItemCollectionMetrics", &DYNAMODB_ITEM_COLLECTION_METRICS),
]);

/// GetItemOutput.
const DYNAMODB_GET_ITEM: Shape = Shape::Struct(&[
    opt("Item", &DYNAMODB_ATTRIBUTE_MAP),
    opt("ConsumedCapacity", &DYNAMODB_CONSUMED_CAPACITY),
]);

// ---- SQS, SNS ----

/// SendMessageResult.
const SQS_SEND_MESSAGE: Shape = Shape::Struct(&[
    opt("MD5OfMessageBody", &STRING),
    opt("MD5OfMessageAttributes", &STRING),
    opt("MD5OfMessageSystemAttributes", &STRING),
    opt("MessageId", &STRING),
    opt("SequenceNumber", &STRING),
]);

/// PublishResponse.
const SNS_PUBLISH: Shape =
    Shape::Struct(&[opt("MessageId", &STRING), opt("SequenceNumber", &STRING)]);

// ---- KMS ----

/// EncryptResponse. (CiphertextBlob also has a maximum length of 6144, not checked.)
const KMS_ENCRYPT: Shape = Shape::Struct(&[
    opt("CiphertextBlob", &Shape::Blob { min_len: Some(1) }),
    opt("KeyId", &STRING1),
    opt(
        "EncryptionAlgorithm",
        &string_enum(&[
            "SYMMETRIC_DEFAULT",
            "RSAES_OAEP_SHA_1",
            "RSAES_OAEP_SHA_256",
            "SM2PKE",
        ]),
    ),
]);

// ---- S3 ----

/// GetObjectOutput. Body is the object's content, which Step Functions renders as text; it is
/// not checked. Enum value lists are those of the current model (a superset of older ones, so
/// no value AWS knows is rejected).
const S3_GET_OBJECT: Shape = Shape::Struct(&[
    opt("Body", &ANY),
    opt("DeleteMarker", &BOOL),
    opt("AcceptRanges", &STRING),
    opt("Expiration", &STRING),
    opt("Restore", &STRING),
    opt("LastModified", &TIMESTAMP),
    opt("ContentLength", &NUMBER),
    opt("ETag", &STRING),
    opt("ChecksumCRC32", &STRING),
    opt("ChecksumCRC32C", &STRING),
    opt("ChecksumCRC64NVME", &STRING),
    opt("ChecksumSHA1", &STRING),
    opt("ChecksumSHA256", &STRING),
    opt("ChecksumType", &string_enum(&["COMPOSITE", "FULL_OBJECT"])),
    opt("MissingMeta", &NUMBER),
    opt("VersionId", &STRING),
    opt("CacheControl", &STRING),
    opt("ContentDisposition", &STRING),
    opt("ContentEncoding", &STRING),
    opt("ContentLanguage", &STRING),
    opt("ContentRange", &STRING),
    opt("ContentType", &STRING),
    opt("Expires", &TIMESTAMP),
    opt("WebsiteRedirectLocation", &STRING),
    opt(
        "ServerSideEncryption",
        &string_enum(&["AES256", "aws:fsx", "aws:kms", "aws:kms:dsse"]),
    ),
    opt("Metadata", &STRING_MAP),
    opt("SSECustomerAlgorithm", &STRING),
    opt("SSECustomerKeyMD5", &STRING),
    opt("SSEKMSKeyId", &STRING),
    opt("BucketKeyEnabled", &BOOL),
    opt(
        "StorageClass",
        &string_enum(&[
            "STANDARD",
            "REDUCED_REDUNDANCY",
            "STANDARD_IA",
            "ONEZONE_IA",
            "INTELLIGENT_TIERING",
            "GLACIER",
            "DEEP_ARCHIVE",
            "OUTPOSTS",
            "GLACIER_IR",
            "SNOW",
            "EXPRESS_ONEZONE",
            "FSX_OPENZFS",
            "FSX_ONTAP",
        ]),
    ),
    opt("RequestCharged", &string_enum(&["requester"])),
    opt(
        "ReplicationStatus",
        &string_enum(&["COMPLETE", "PENDING", "FAILED", "REPLICA", "COMPLETED"]),
    ),
    opt("PartsCount", &NUMBER),
    opt("TagCount", &NUMBER),
    opt(
        "ObjectLockMode",
        &string_enum(&["GOVERNANCE", "COMPLIANCE"]),
    ),
    opt("ObjectLockRetainUntilDate", &TIMESTAMP),
    opt("ObjectLockLegalHoldStatus", &string_enum(&["ON", "OFF"])),
]);

// ---- The check ----

/// AWS's message for a fault; `field` is the leaf member name only, never a path.
fn fault(text: String) -> String {
    format!("Mock result schema validation error: {text}")
}

/// Checks the members of one object in the order of the shape table, each member's presence
/// before its value, depth first, and reports the first fault.
fn check_struct(
    members: &[Member],
    obj: &Map<String, Value>,
    mode: FieldValidationMode,
) -> Result<(), String> {
    for m in members {
        match obj.get(m.name).filter(|v| !v.is_null()) {
            None if m.required && mode == FieldValidationMode::Strict => {
                return Err(fault(format!("Required field '{}' is missing", m.name)));
            }
            None => {}
            Some(v) => check_value(m.name, m.shape, v, mode)?,
        }
    }
    Ok(())
}

/// Checks one value against its shape. `name` is the nearest member name: list elements and
/// map values are reported under the name of the member that holds them.
fn check_value(
    name: &str,
    shape: &Shape,
    value: &Value,
    mode: FieldValidationMode,
) -> Result<(), String> {
    let must_be = |what: &str| Err(fault(format!("Field '{name}' must be {what}")));
    let too_short = || {
        Err(fault(format!(
            "Field '{name}' is smaller than the minimum length"
        )))
    };
    match shape {
        Shape::Any => Ok(()),
        Shape::String { min_len, values } => {
            let Some(s) = value.as_str() else {
                return must_be("a string");
            };
            if min_len.is_some_and(|min| s.chars().count() < min) {
                return too_short();
            }
            if values.is_some_and(|vs| !vs.contains(&s)) {
                return Err(fault(format!("Field '{name}' is not an expected value")));
            }
            Ok(())
        }
        Shape::Number { min, max } => {
            let Some(n) = value.as_f64() else {
                return must_be("a number");
            };
            if min.is_some_and(|min| n < min) {
                return Err(fault(format!(
                    "Field '{name}' is less than the minimum value"
                )));
            }
            if max.is_some_and(|max| n > max) {
                return Err(fault(format!("Field '{name}' exceeds the maximum value")));
            }
            Ok(())
        }
        Shape::Bool if value.is_boolean() => Ok(()),
        Shape::Bool => must_be("a boolean"),
        // Timestamps are strings in Step Functions' JSON: AWS rejects `true` and epoch numbers.
        Shape::Timestamp if value.is_string() => Ok(()),
        Shape::Timestamp => must_be("a string"),
        Shape::Blob { min_len } => match value.as_str() {
            None => must_be("a string"),
            Some(s) if min_len.is_some_and(|min| s.chars().count() < min) => too_short(),
            Some(_) => Ok(()),
        },
        Shape::List(element) => {
            let Some(items) = value.as_array() else {
                return must_be("an array");
            };
            items
                .iter()
                .filter(|v| !v.is_null())
                .try_for_each(|v| check_value(name, element, v, mode))
        }
        Shape::Map(entry) => {
            let Some(obj) = value.as_object() else {
                return must_be("an object");
            };
            obj.values()
                .filter(|v| !v.is_null())
                .try_for_each(|v| check_value(name, entry, v, mode))
        }
        Shape::Struct(members) => {
            let Some(obj) = value.as_object() else {
                return must_be("an object");
            };
            check_struct(members, obj, mode)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    use FieldValidationMode::{None as NoCheck, Present, Strict};

    fn recordings_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/asl/test_state")
    }

    /// The recorded TestState cases whose file name starts with `prefix`.
    fn recordings(prefix: &str) -> Vec<(String, Value)> {
        let mut cases: Vec<(String, Value)> = std::fs::read_dir(recordings_dir())
            .expect("the test_state recordings are readable")
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(prefix) && n.ends_with(".json"))
            .map(|n| {
                let text = std::fs::read_to_string(recordings_dir().join(&n)).unwrap();
                (n, serde_json::from_str(&text).unwrap())
            })
            .collect();
        cases.sort_by(|a, b| a.0.cmp(&b.0));
        cases
    }

    /// The mock of a recorded case: its parsed result and its mode.
    fn mock_of(case: &Value) -> (Value, FieldValidationMode) {
        let mock = &case["request"]["mock"];
        let result = serde_json::from_str(mock["result"].as_str().unwrap()).unwrap();
        let mode = match mock.get("fieldValidationMode") {
            Some(m) => FieldValidationMode::parse(m.as_str().unwrap()).unwrap(),
            None => FieldValidationMode::default(),
        };
        (result, mode)
    }

    /// Every AWS recording of fieldValidationMode: the same verdict and the same message.
    #[test]
    fn recorded_field_validation_cases() {
        let cases = recordings("test_state.test_field_validation_mode");
        assert_eq!(cases.len(), 36, "all field validation recordings are found");
        let mut failures = Vec::new();
        for (file, case) in &cases {
            let resource = case["definition"]["Resource"].as_str().unwrap();
            let (result, mode) = mock_of(case);
            let expected = match case.get("expected_error_message") {
                Some(msg) => Err(msg.as_str().unwrap().to_string()),
                None => {
                    assert!(case.get("expected_response").is_some(), "{file}");
                    Ok(())
                }
            };
            let got = check_mock_result(resource, &result, mode);
            if got != expected {
                failures.push(format!("{file}: expected {expected:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// The other recorded Task cases with a mocked result succeeded at AWS, all in the default
    /// STRICT mode, so their mocks must pass too.
    #[test]
    fn recorded_successful_task_mocks_pass() {
        let mut checked = 0;
        for (file, case) in recordings("test_state.") {
            if file.contains("field_validation_mode") || case.get("expected_response").is_none() {
                continue;
            }
            let definition = &case["definition"];
            let state = match case["request"]["stateName"].as_str() {
                Some(name) => &definition["States"][name],
                None => definition,
            };
            if state["Type"] != "Task" || case["request"]["mock"].get("result").is_none() {
                continue;
            }
            let (result, mode) = mock_of(&case);
            let resource = state["Resource"].as_str().unwrap();
            assert_eq!(check_mock_result(resource, &result, mode), Ok(()), "{file}");
            checked += 1;
        }
        assert!(checked >= 10, "only {checked} cases");
    }

    fn check(resource: &str, result: Value) -> Result<(), String> {
        check_mock_result(resource, &result, Strict)
    }

    fn msg(text: &str) -> Result<(), String> {
        Err(format!("Mock result schema validation error: {text}"))
    }

    #[test]
    fn parse_modes() {
        assert_eq!(FieldValidationMode::parse("STRICT"), Some(Strict));
        assert_eq!(FieldValidationMode::parse("PRESENT"), Some(Present));
        assert_eq!(FieldValidationMode::parse("NONE"), Some(NoCheck));
        assert_eq!(FieldValidationMode::parse("strict"), None);
        assert_eq!(FieldValidationMode::default(), Strict);
    }

    #[test]
    fn lambda_invoke_accepts_a_real_result() {
        let real = json!({
            "ExecutedVersion": "$LATEST",
            "Payload": {"any": ["json", 1]},
            "SdkHttpMetadata": {"HttpStatusCode": 200},
            "SdkResponseMetadata": {"RequestId": "r"},
            "StatusCode": 200
        });
        assert_eq!(check("arn:aws:states:::lambda:invoke", real), Ok(()));
        assert_eq!(
            check("arn:aws:states:::lambda:invoke", json!({"Payload": "text"})),
            Ok(())
        );
        assert_eq!(
            check(
                "arn:aws:states:::lambda:invoke",
                json!({"FunctionError": 1})
            ),
            msg("Field 'FunctionError' must be a string")
        );
        // Another partition, same shape.
        assert_eq!(
            check(
                "arn:aws-cn:states:::lambda:invoke",
                json!({"StatusCode": "200"})
            ),
            msg("Field 'StatusCode' must be a number")
        );
    }

    #[test]
    fn unchecked_resources_accept_anything() {
        let bad = json!({"StatusCode": "200", "ExecutionArn": 1});
        for resource in [
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "arn:aws:states:::states:startExecution.sync:2.waitForTaskToken",
            "arn:aws:states:::apigateway:invoke",
            "arn:aws:lambda:us-east-1:000000000000:function:f",
            "arn:aws:states:us-east-1:000000000000:activity:a",
        ] {
            assert_eq!(check(resource, bad.clone()), Ok(()), "{resource}");
        }
    }

    #[test]
    fn start_execution_sync_is_a_describe_execution() {
        let sync = "arn:aws:states:::states:startExecution.sync";
        let sync2 = "arn:aws:states:::states:startExecution.sync:2";
        let described = json!({
            "ExecutionArn": "arn:aws:states:us-east-1:000000000000:execution:M:e",
            "StateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:M",
            "Status": "SUCCEEDED",
            "StartDate": "2025-01-01T00:00:00Z",
            "Output": {"doubled": 42}
        });
        assert_eq!(check(sync2, described.clone()), Ok(()));
        assert_eq!(
            check(sync, described.clone()),
            msg("Field 'Output' must be a string")
        );
        let mut text = described.clone();
        text["Output"] = json!("{\"doubled\": 42}");
        assert_eq!(check(sync, text), Ok(()));

        let mut bad_status = described.clone();
        bad_status["Status"] = json!("DONE");
        assert_eq!(
            check(sync2, bad_status),
            msg("Field 'Status' is not an expected value")
        );
        assert_eq!(
            check(sync2, json!({"ExecutionArn": "a", "StartDate": "d"})),
            msg("Required field 'StateMachineArn' is missing")
        );
        assert_eq!(
            check_mock_result(sync2, &json!({"ExecutionArn": "a"}), Present),
            Ok(())
        );
    }

    #[test]
    fn dynamodb_items_are_attribute_values() {
        let get = "arn:aws:states:::dynamodb:getItem";
        let item = json!({"Item": {
            "id": {"S": "1"},
            "n": {"N": "2"},
            "tags": {"SS": ["a", "b"]},
            "nested": {"M": {"deep": {"L": [{"BOOL": true}, {"NULL": true}]}}}
        }});
        assert_eq!(check(get, item), Ok(()));
        // A number in DynamoDB JSON is a string; the leaf name is the AttributeValue member.
        assert_eq!(
            check(get, json!({"Item": {"n": {"N": 2}}})),
            msg("Field 'N' must be a string")
        );
        assert_eq!(
            check(
                get,
                json!({"Item": {"x": {"M": {"y": {"L": [{"BOOL": "yes"}]}}}}})
            ),
            msg("Field 'BOOL' must be a boolean")
        );
        assert_eq!(
            check(get, json!({"Item": ["not", "a", "map"]})),
            msg("Field 'Item' must be an object")
        );
        for api in ["putItem", "updateItem", "deleteItem"] {
            let resource = format!("arn:aws:states:::dynamodb:{api}");
            let result = json!({"ConsumedCapacity": {
                "TableName": "T",
                "CapacityUnits": 1.0,
                "GlobalSecondaryIndexes": {"gsi": {"ReadCapacityUnits": "1"}}
            }});
            assert_eq!(
                check(&resource, result),
                msg("Field 'ReadCapacityUnits' must be a number"),
                "{api}"
            );
        }
        assert_eq!(
            check(
                "arn:aws:states:::dynamodb:putItem",
                json!({"ConsumedCapacity": {"TableName": ""}})
            ),
            msg("Field 'TableName' is smaller than the minimum length")
        );
    }

    #[test]
    fn sqs_sns_and_events() {
        assert_eq!(
            check(
                "arn:aws:states:::sqs:sendMessage",
                json!({"MD5OfMessageBody": "b6e2", "MessageId": 7})
            ),
            msg("Field 'MessageId' must be a string")
        );
        assert_eq!(
            check(
                "arn:aws:states:::sns:publish",
                json!({"MessageId": "m", "SequenceNumber": ["1"]})
            ),
            msg("Field 'SequenceNumber' must be a string")
        );
        assert_eq!(
            check(
                "arn:aws:states:::events:putEvents",
                json!({"FailedEntryCount": "0", "Entries": []})
            ),
            msg("Field 'FailedEntryCount' must be a number")
        );
        assert_eq!(
            check(
                "arn:aws:states:::events:putEvents",
                json!({"Entries": ["e"]})
            ),
            msg("Field 'Entries' must be an object")
        );
    }

    #[test]
    fn aws_sdk_shapes() {
        let kms = "arn:aws:states:::aws-sdk:kms:encrypt";
        assert_eq!(
            check(
                kms,
                json!({"CiphertextBlob": "AQID", "KeyId": "k", "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"})
            ),
            Ok(())
        );
        assert_eq!(
            check(kms, json!({"EncryptionAlgorithm": "ROT13"})),
            msg("Field 'EncryptionAlgorithm' is not an expected value")
        );

        let get_function = "arn:aws:states:::aws-sdk:lambda:getFunction";
        assert_eq!(
            check(
                get_function,
                json!({"Configuration": {"MemorySize": 128, "Timeout": 3, "Runtime": "python3.13"},
                       "Tags": {"team": "a"}})
            ),
            Ok(())
        );
        assert_eq!(
            check(get_function, json!({"Configuration": {"Timeout": 0}})),
            msg("Field 'Timeout' is less than the minimum value")
        );
        assert_eq!(
            check(get_function, json!({"Configuration": "x"})),
            msg("Field 'Configuration' must be an object")
        );
        assert_eq!(
            check(get_function, json!({"Tags": {"team": 1}})),
            msg("Field 'Tags' must be a string")
        );
        assert_eq!(
            check(
                get_function,
                json!({"Configuration": {"Architectures": ["x86_64", "sparc"]}})
            ),
            msg("Field 'Architectures' is not an expected value")
        );
        // Required members of a nested structure count only when the structure is there.
        assert_eq!(
            check(
                get_function,
                json!({"Configuration": {"EphemeralStorage": {}}})
            ),
            msg("Required field 'Size' is missing")
        );
        assert_eq!(
            check_mock_result(
                get_function,
                &json!({"Configuration": {"EphemeralStorage": {}}}),
                Present
            ),
            Ok(())
        );

        let s3 = "arn:aws:states:::aws-sdk:s3:getObject";
        assert_eq!(
            check(
                s3,
                json!({"Body": "hello", "ContentLength": 5, "ETag": "\"e\"", "StorageClass": "STANDARD",
                       "LastModified": "2025-01-01T00:00:00Z", "Metadata": {"k": "v"}})
            ),
            Ok(())
        );
        assert_eq!(
            check(s3, json!({"LastModified": 1764103483})),
            msg("Field 'LastModified' must be a string")
        );
        assert_eq!(
            check(s3, json!({"Metadata": {"k": true}})),
            msg("Field 'Metadata' must be a string")
        );
    }

    #[test]
    fn first_fault_in_table_order() {
        // Both members are wrong; StartDate is reported only after ExecutionArn passes.
        assert_eq!(
            check(
                "arn:aws:states:::states:startExecution",
                json!({"StartDate": true, "ExecutionArn": 1})
            ),
            msg("Field 'ExecutionArn' must be a string")
        );
        assert_eq!(
            check(
                "arn:aws:states:::states:startExecution",
                json!({"StartDate": true})
            ),
            msg("Required field 'ExecutionArn' is missing")
        );
    }

    #[test]
    fn none_mode_checks_nothing() {
        assert_eq!(
            check_mock_result(
                "arn:aws:states:::aws-sdk:kms:encrypt",
                &json!({"CiphertextBlob": 1}),
                NoCheck
            ),
            Ok(())
        );
    }
}

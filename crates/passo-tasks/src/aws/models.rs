//! The AWS service API models, embedded in the binary.
//!
//! The bundle (`models/aws-models.bin`, made by `tools/aws-models/bundle.py` from botocore's
//! data files) is a header line, a JSON index `{service: [offset, length, serviceId]}` and one
//! gzip member per service. All the models together are ~28 MB of JSON; a server that calls two services
//! inflates two (a few hundred KB each), once.

use flate2::read::GzDecoder;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock};

static BUNDLE: &[u8] = include_bytes!("../../models/aws-models.bin");

const MAGIC: &[u8] = b"PASSO-AWS-MODELS 1\n";

/// Why a model could not be had.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("the bundled AWS models are damaged: {0}")]
    Damaged(String),
    #[error("no AWS service is named '{0}'")]
    UnknownService(String),
}

struct Index {
    /// service -> (offset, length in the blobs, serviceId).
    entries: HashMap<String, (usize, usize, String)>,
    blobs: &'static [u8],
}

fn index() -> Result<&'static Index, ModelError> {
    static INDEX: OnceLock<Result<Index, ModelError>> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            let rest = BUNDLE
                .strip_prefix(MAGIC)
                .ok_or_else(|| ModelError::Damaged("no header".into()))?;
            let nl = rest
                .iter()
                .position(|b| *b == b'\n')
                .ok_or_else(|| ModelError::Damaged("no index".into()))?;
            let entries: HashMap<String, (usize, usize, String)> =
                serde_json::from_slice(&rest[..nl])
                    .map_err(|e| ModelError::Damaged(format!("index: {e}")))?;
            Ok(Index {
                entries,
                blobs: &rest[nl + 1..],
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The service names the bundle holds (botocore's: `dynamodb`, `events`, `sqs`, ...).
pub fn services() -> Result<Vec<&'static str>, ModelError> {
    let mut v: Vec<&str> = index()?.entries.keys().map(String::as_str).collect();
    v.sort_unstable();
    Ok(v)
}

/// Every service: (botocore name, serviceId), without inflating any model.
pub fn service_ids() -> Result<Vec<(&'static str, &'static str)>, ModelError> {
    Ok(index()?
        .entries
        .iter()
        .map(|(name, (_, _, id))| (name.as_str(), id.as_str()))
        .collect())
}

/// One service's model: `{"metadata": ..., "operations": ..., "shapes": ...}`.
pub fn model(service: &str) -> Result<Arc<Value>, ModelError> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Value>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(m) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(service) {
        return Ok(m.clone());
    }
    let idx = index()?;
    let (offset, len) = idx
        .entries
        .get(service)
        .map(|(o, l, _)| (*o, *l))
        .ok_or_else(|| ModelError::UnknownService(service.to_string()))?;
    let blob = idx
        .blobs
        .get(offset..offset + len)
        .ok_or_else(|| ModelError::Damaged(format!("{service} lies outside the bundle")))?;
    let mut text = Vec::new();
    GzDecoder::new(blob)
        .read_to_end(&mut text)
        .map_err(|e| ModelError::Damaged(format!("{service}: {e}")))?;
    let v: Value = serde_json::from_slice(&text)
        .map_err(|e| ModelError::Damaged(format!("{service}: {e}")))?;
    let m = Arc::new(v);
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(service.to_string(), m.clone());
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_holds_the_services_workflows_call() {
        let all = services().unwrap();
        assert!(all.len() > 400, "{} services", all.len());
        for s in [
            "dynamodb",
            "s3",
            "sqs",
            "sns",
            "events",
            "ec2",
            "iam",
            "stepfunctions",
        ] {
            assert!(all.contains(&s), "{s} missing");
        }
    }

    #[test]
    fn a_model_names_its_protocol_and_operations() {
        let m = model("dynamodb").unwrap();
        assert_eq!(m["metadata"]["protocol"], "json");
        assert_eq!(m["metadata"]["targetPrefix"], "DynamoDB_20120810");
        assert!(m["operations"]["PutItem"]["input"]["shape"].is_string());
        assert!(m["shapes"]["ConditionalCheckFailedException"]["exception"] == true);
        // Documentation was stripped when bundling.
        assert!(m["operations"]["PutItem"].get("documentation").is_none());
        assert_eq!(
            model("no-such-service").unwrap_err(),
            ModelError::UnknownService("no-such-service".into())
        );
    }
}

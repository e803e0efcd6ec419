//! Every AWS service through `arn:aws:states:::aws-sdk:SERVICE:ACTION`, driven by the services'
//! published API models rather than code written per action.
//!
//! - [`models`]: the API models (botocore's, bundled at build time by
//!   `tools/aws-models/bundle.py`), inflated one service at a time when first used.
//!
//! Still to come (issue 15): the protocol layers (awsJson1_0/1_1, restJson1, restXml, awsQuery,
//! ec2Query) over one signed HTTP client, the credential chain, endpoints, and AWS's error
//! names.

pub mod models;

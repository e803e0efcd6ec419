//! Each refusal of `verify`, on requests signed by a small independent signer.
//!
//! Where the messages come from: AWS's IAM User Guide, "Troubleshoot signed requests for AWS
//! APIs" (signature mismatch, scope date, region, service, terminator, expiry); the
//! responses DynamoDB (another AWS JSON 1.0 service) gives, as recorded in dynalite's
//! `index.js` (missing parameters, date format, five-part credential, algorithm, scope
//! faults listed together, unknown key, "Request is missing Authentication Token"); and
//! scratchstack-aws-signature / AppSync's answers for unsigned Host/Content-Type and for a
//! signed header the request lacks.

use super::*;

const ID: &str = "AKID";
const SECRET: &str = "secret";
const BODY: &[u8] =
    br#"{"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:m"}"#;
/// 2026-01-01T00:00:00Z
const NOW: i64 = 1_767_225_600_000;
const DATE: &str = "20260101T000000Z";

fn keys() -> Vec<(String, String)> {
    vec![(ID.to_string(), SECRET.to_string())]
}

fn states() -> Scope<'static> {
    Scope {
        region: "us-east-1",
        services: STATES,
    }
}

/// A request as a client would build it; `sign` fills in the Authorization header.
struct Req {
    headers: Vec<(&'static str, String)>,
    /// Which headers the signature covers (the client's choice, sorted).
    signed: Vec<&'static str>,
    scope: String,
    secret: &'static str,
    body_hash: String,
}

/// What boto3 sends for StartExecution: every header signed.
fn boto3_like() -> Req {
    Req {
        headers: vec![
            ("content-type", "application/x-amz-json-1.0".into()),
            ("host", "localhost:8083".into()),
            ("x-amz-date", DATE.into()),
            ("x-amz-target", "AWSStepFunctions.StartExecution".into()),
        ],
        signed: vec!["content-type", "host", "x-amz-date", "x-amz-target"],
        scope: "20260101/us-east-1/states/aws4_request".into(),
        secret: SECRET,
        body_hash: hex(&Sha256::digest(BODY)),
    }
}

/// SigV4 written out from AWS's description: canonical request, string to sign, signing
/// key derived through the scope's parts.
fn sign(r: &Req) -> HeaderMap {
    let mut canonical = String::from("POST\n/\n\n");
    for name in &r.signed {
        let (_, v) = r.headers.iter().find(|(n, _)| n == name).unwrap();
        canonical.push_str(&format!("{name}:{}\n", v.trim()));
    }
    let signed = r.signed.join(";");
    canonical.push_str(&format!("\n{signed}\n{}", r.body_hash));
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{DATE}\n{}\n{}",
        r.scope,
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut k = format!("AWS4{}", r.secret).into_bytes();
    for part in r.scope.split('/') {
        k = hmac(&k, part);
    }
    let sig = hex(&hmac(&k, &to_sign));
    let mut h = HeaderMap::new();
    for (n, v) in &r.headers {
        h.append(*n, v.parse().unwrap());
    }
    h.insert(
        "authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={ID}/{}, SignedHeaders={signed}, Signature={sig}",
            r.scope
        )
        .parse()
        .unwrap(),
    );
    h
}

fn check(h: &HeaderMap) -> Result<(), ApiError> {
    verify(&keys(), &states(), h, BODY, NOW)
}

fn invalid(h: &HeaderMap) -> String {
    match check(h) {
        Err(ApiError::InvalidSignature(m)) => m,
        other => panic!("expected InvalidSignatureException, got {other:?}"),
    }
}

fn incomplete(h: &HeaderMap) -> String {
    match check(h) {
        Err(ApiError::IncompleteSignature(m)) => m,
        other => panic!("expected IncompleteSignatureException, got {other:?}"),
    }
}

/// AWS's own test vector (SigV4 test suite, `post-vanilla`): our canonical form is AWS's.
#[test]
fn aws_test_suite_post_vanilla_verifies() {
    let mut h = HeaderMap::new();
    h.insert("host", "example.amazonaws.com".parse().unwrap());
    h.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
    h.insert("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b".parse().unwrap());
    let keys = vec![(
        "AKIDEXAMPLE".to_string(),
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_string(),
    )];
    let scope = Scope {
        region: "us-east-1",
        services: &["service"],
    };
    let at = 1_440_938_160_000; // 2015-08-30T12:36:00Z
    assert_eq!(verify(&keys, &scope, &h, b"", at), Ok(()));
}

#[test]
fn a_request_signed_like_boto3_passes() {
    assert_eq!(check(&sign(&boto3_like())), Ok(()));
}

#[test]
fn a_wrong_secret_does_not_match_and_shows_the_canonical_request() {
    let mut r = boto3_like();
    r.secret = "wrong";
    let m = invalid(&sign(&r));
    assert!(m.starts_with("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."), "{m}");
    assert!(
        m.contains("x-amz-target:AWSStepFunctions.StartExecution\n"),
        "{m}"
    );
}

#[test]
fn no_authorization_is_a_missing_token() {
    assert_eq!(
        check(&HeaderMap::new()),
        Err(ApiError::MissingAuthenticationToken(
            "Request is missing Authentication Token".into()
        ))
    );
}

/// The attack this check exists for: a signature over {host, x-amz-date} re-aimed with
/// `X-Amz-Target: StopExecution`.
#[test]
fn an_unsigned_target_is_refused() {
    let mut r = boto3_like();
    r.signed = vec!["content-type", "host", "x-amz-date"];
    let mut h = sign(&r);
    h.insert(
        "x-amz-target",
        "AWSStepFunctions.StopExecution".parse().unwrap(),
    );
    assert_eq!(
        invalid(&h),
        "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."
    );
}

#[test]
fn a_signed_target_cannot_be_changed() {
    let mut h = sign(&boto3_like());
    h.insert(
        "x-amz-target",
        "AWSStepFunctions.StopExecution".parse().unwrap(),
    );
    assert!(invalid(&h).starts_with("The request signature we calculated does not match"));
}

#[test]
fn host_and_content_type_must_be_signed() {
    let mut r = boto3_like();
    r.signed = vec!["content-type", "x-amz-date", "x-amz-target"];
    assert_eq!(
        invalid(&sign(&r)),
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    );
    let mut r = boto3_like();
    r.signed = vec!["host", "x-amz-date", "x-amz-target"];
    assert_eq!(
        invalid(&sign(&r)),
        "'Content-Type' must be a 'SignedHeader' in the AWS Authorization."
    );
}

#[test]
fn a_signed_header_the_request_lacks_is_incomplete() {
    let mut r = boto3_like();
    r.headers.push(("x-amz-meta", "v".into()));
    r.signed = vec![
        "content-type",
        "host",
        "x-amz-date",
        "x-amz-meta",
        "x-amz-target",
    ];
    let mut h = sign(&r);
    h.remove("x-amz-meta");
    assert_eq!(
        incomplete(&h),
        "'x-amz-meta' is named as a SignedHeader, but it does not exist in the HTTP request."
    );
}

#[test]
fn a_session_token_passes_only_when_signed() {
    let mut r = boto3_like();
    r.headers
        .push(("x-amz-security-token", "FwoGZXIvYXdzEXAMPLE".into()));
    r.signed = vec![
        "content-type",
        "host",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-target",
    ];
    assert_eq!(check(&sign(&r)), Ok(()));
    r.signed = vec!["content-type", "host", "x-amz-date", "x-amz-target"];
    assert_eq!(
        invalid(&sign(&r)),
        "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization."
    );
}

#[test]
fn another_region_is_refused() {
    let mut r = boto3_like();
    r.scope = "20260101/eu-west-1/states/aws4_request".into();
    assert_eq!(
        invalid(&sign(&r)),
        "Credential should be scoped to a valid region, not 'eu-west-1'."
    );
}

#[test]
fn another_service_is_refused_and_the_accepted_ones_are_a_parameter() {
    let mut r = boto3_like();
    r.scope = "20260101/us-east-1/s3/aws4_request".into();
    assert_eq!(
        invalid(&sign(&r)),
        "Credential should be scoped to correct service: 'states'."
    );
    r.scope = "20260101/us-east-1/events/aws4_request".into();
    let both = Scope {
        region: "us-east-1",
        services: &["states", "events"],
    };
    assert_eq!(verify(&keys(), &both, &sign(&r), BODY, NOW), Ok(()));
}

#[test]
fn a_scope_of_another_day_is_refused() {
    let mut r = boto3_like();
    r.scope = "20010101/us-east-1/states/aws4_request".into();
    assert_eq!(
        invalid(&sign(&r)),
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20010101' != '20260101', from '20260101T000000Z'."
    );
}

#[test]
fn every_scope_fault_is_reported_at_once() {
    let mut r = boto3_like();
    r.scope = "20010101/xx/s3/aws5_request".into();
    assert_eq!(
        invalid(&sign(&r)),
        "Credential should be scoped to a valid region, not 'xx'. \
         Credential should be scoped to correct service: 'states'. \
         Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. \
         Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20010101' != '20260101', from '20260101T000000Z'."
    );
}

#[test]
fn a_four_part_credential_is_incomplete() {
    let mut r = boto3_like();
    r.scope = "20260101/us-east-1/states".into();
    assert_eq!(
        incomplete(&sign(&r)),
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKID/20260101/us-east-1/states'"
    );
}

#[test]
fn an_unknown_key_is_unrecognized() {
    let h = sign(&boto3_like());
    let other = vec![("OTHER".to_string(), SECRET.to_string())];
    assert!(matches!(
        verify(&other, &states(), &h, BODY, NOW),
        Err(ApiError::UnrecognizedClient(m)) if m == "The security token included in the request is invalid."
    ));
}

#[test]
fn the_content_hash_header_must_be_the_bodys() {
    let mut r = boto3_like();
    r.headers
        .push(("x-amz-content-sha256", hex(&Sha256::digest(BODY))));
    r.signed = vec![
        "content-type",
        "host",
        "x-amz-content-sha256",
        "x-amz-date",
        "x-amz-target",
    ];
    assert_eq!(check(&sign(&r)), Ok(()));
    // A signature over UNSIGNED-PAYLOAD would cover any body: refused.
    r.headers.last_mut().unwrap().1 = "UNSIGNED-PAYLOAD".into();
    r.body_hash = "UNSIGNED-PAYLOAD".into();
    assert_eq!(
        invalid(&sign(&r)),
        "The provided 'x-amz-content-sha256' header does not match what was computed."
    );
}

#[test]
fn a_changed_body_does_not_match() {
    let h = sign(&boto3_like());
    assert!(matches!(
        verify(&keys(), &states(), &h, b"{}", NOW),
        Err(ApiError::InvalidSignature(m)) if m.contains("does not match")
    ));
}

#[test]
fn stale_and_future_signatures_are_refused() {
    let h = sign(&boto3_like());
    assert_eq!(
        verify(&keys(), &states(), &h, BODY, NOW + 3_600_000),
        Err(ApiError::InvalidSignature(
            "Signature expired: 20260101T000000Z is now earlier than 20260101T004500Z (20260101T010000Z - 15 min.)".into()
        ))
    );
    assert_eq!(
        verify(&keys(), &states(), &h, BODY, NOW - 3_600_000),
        Err(ApiError::InvalidSignature(
            "Signature not yet current: 20260101T000000Z is still later than 20251231T231500Z (20251231T230000Z + 15 min.)".into()
        ))
    );
}

#[test]
fn missing_parameters_and_dates_are_incomplete() {
    let mut h = sign(&boto3_like());
    h.insert(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/states/aws4_request"
            .parse()
            .unwrap(),
    );
    h.remove("x-amz-date");
    assert_eq!(
        incomplete(&h),
        "Authorization header requires 'Signature' parameter. \
         Authorization header requires 'SignedHeaders' parameter. \
         Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. \
         Authorization=AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/states/aws4_request"
    );
    let mut h = sign(&boto3_like());
    h.insert("x-amz-date", "2026-01-01".parse().unwrap());
    assert_eq!(
        incomplete(&h),
        "Date must be in ISO-8601 'basic format'. Got '2026-01-01'. See http://en.wikipedia.org/wiki/ISO_8601"
    );
}

#[test]
fn another_algorithm_is_incomplete() {
    let mut h = sign(&boto3_like());
    let auth = h["authorization"]
        .to_str()
        .unwrap()
        .replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1");
    h.insert("authorization", auth.parse().unwrap());
    assert_eq!(
        incomplete(&h),
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1' (only AWS4-HMAC-SHA256 for now). "
    );
}

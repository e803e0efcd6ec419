//! SigV4 for the aws-sdk integrations: `aws-sigv4` (the AWS SDK's own signer) with the
//! settings every service but S3 takes.

use crate::s3::credentials::Credentials;

/// Signs `req` for `service` (its signing name) in `region`; without credentials the request
/// goes unsigned (a local endpoint that checks nothing).
pub fn sign(
    req: &mut http::Request<Vec<u8>>,
    creds: Option<&Credentials>,
    region: &str,
    service: &str,
) -> Result<(), String> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let Some(c) = creds else { return Ok(()) };
    let identity = aws_credential_types::Credentials::new(
        &c.key_id,
        &c.secret,
        c.session_token.clone(),
        None,
        "passo",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let uri = req.uri().to_string();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let signable = SignableRequest::new(
        req.method().as_str(),
        &uri,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(req.body()),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    instructions.apply_to_request_http1x(req);
    Ok(())
}

//! The CLI's client for a running `passo server`: the JSON protocols (Step Functions'
//! `AWSStepFunctions.*` and `Passo.*` in JSON 1.0, EventBridge's `AWSEvents.*` in JSON 1.1),
//! signed with the environment's AWS credentials when
//! they are set (as a server with access keys requires).

use serde_json::Value;

/// The server (`--endpoint-url`).
pub struct Client {
    url: reqwest::Url,
    /// `host[:port]`, as the Host header reads (the signature covers it).
    host: String,
    io: tokio::runtime::Runtime,
    http: reqwest::Client,
}

/// A JSON protocol: the target prefix, content type and signing name.
#[derive(Clone, Copy)]
pub struct Protocol {
    pub prefix: &'static str,
    pub content_type: &'static str,
    pub service: &'static str,
}

pub const PASSO: Protocol = Protocol {
    prefix: "Passo",
    content_type: "application/x-amz-json-1.0",
    service: "states",
};

pub const EVENTS: Protocol = Protocol {
    prefix: "AWSEvents",
    content_type: "application/x-amz-json-1.1",
    service: "events",
};

impl Client {
    pub fn new(endpoint: &str) -> Result<Client, String> {
        let url = reqwest::Url::parse(endpoint).map_err(|e| format!("{endpoint}: {e}"))?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err(format!("{endpoint}: no host")),
        };
        let io = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Client {
            url,
            host,
            io,
            http: reqwest::Client::new(),
        })
    }

    /// One action of a JSON protocol: its answer, or `ErrorCode: message`.
    pub fn json(&self, p: Protocol, action: &str, body: &Value) -> Result<Value, String> {
        let target = format!("{}.{action}", p.prefix);
        let body = body.to_string();
        let req = crate::sign::Request {
            content_type: p.content_type,
            target: &target,
            service: p.service,
            body: body.as_bytes(),
        };
        let mut b = self
            .http
            .post(self.url.clone())
            .header("content-type", p.content_type)
            .header("x-amz-target", &target);
        for (k, v) in self.signature(&req) {
            b = b.header(k, v);
        }
        self.send(b.body(body))
    }

    fn signature(&self, req: &crate::sign::Request<'_>) -> Vec<(String, String)> {
        match crate::sign::Credentials::from_env() {
            Some(c) => crate::sign::headers_for(&c, &self.host, req, chrono::Utc::now()),
            None => Vec::new(),
        }
    }

    fn send(&self, b: reqwest::RequestBuilder) -> Result<Value, String> {
        let endpoint = self.url.as_str().to_string();
        self.io.block_on(async {
            let resp = b
                .send()
                .await
                .map_err(|e| format!("cannot reach {endpoint}: {e}"))?;
            let ok = resp.status().is_success();
            let text = resp.text().await.map_err(|e| e.to_string())?;
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            if ok {
                return Ok(v);
            }
            let code = v["__type"]
                .as_str()
                .map(|t| t.rsplit('#').next().unwrap_or(t))
                .unwrap_or("Error")
                .to_string();
            let message = v["message"]
                .as_str()
                .or_else(|| v["Message"].as_str())
                .unwrap_or_default();
            Err(format!("{code}: {message}"))
        })
    }
}

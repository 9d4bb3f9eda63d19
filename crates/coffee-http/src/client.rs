//! Plumbing for the services' typed HTTP clients (used by the gateway when the services
//! run as separate processes): one place that sends an operation's request with its context
//! and turns the answer into a value or the [`ServiceError`] the service raised.

use coffee_service::{Context, ServiceError};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ErrorBody;

#[derive(Debug, Clone)]
pub struct HttpClient {
    base: String,
    http: reqwest::Client,
}

impl HttpClient {
    /// `base` is the service's root URL, e.g. `http://orders:8081`.
    pub fn new(base: &str, http: reqwest::Client) -> Self {
        Self { base: base.trim_end_matches('/').to_owned(), http }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A read: `GET path?query`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        ctx: &Context,
        path: &str,
        query: &(impl Serialize + ?Sized),
    ) -> Result<T, ServiceError> {
        self.call(ctx, self.http.get(self.url(path)).query(query), path).await
    }

    /// A change: `method path` with a JSON body.
    pub async fn send<T: DeserializeOwned>(
        &self,
        ctx: &Context,
        method: Method,
        path: &str,
        body: &(impl Serialize + ?Sized),
    ) -> Result<T, ServiceError> {
        self.call(ctx, self.http.request(method, self.url(path)).json(body), path).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        ctx: &Context,
        request: reqwest::RequestBuilder,
        path: &str,
    ) -> Result<T, ServiceError> {
        let mut request = request.header("traceparent", ctx.trace.to_traceparent());
        // The service checks the caller's credential itself.
        if let Some(credential) = &ctx.credential {
            request = request.bearer_auth(credential.expose());
        }
        let resp =
            request.send().await.map_err(|e| ServiceError::Unavailable(format!("cannot reach {}: {e}", self.base)))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ServiceError::Unavailable(format!("reading the answer of {}: {e}", self.base)))?;
        if status.is_success() {
            serde_json::from_slice(&bytes)
                .map_err(|e| ServiceError::Internal(format!("unexpected answer from {path}: {e}")))
        } else {
            Err(decode_error(status, &bytes))
        }
    }
}

/// Turns an error response into the [`ServiceError`] the service raised.
pub fn decode_error(status: StatusCode, body: &[u8]) -> ServiceError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => ServiceError::from_code(&b.error.code, b.error.message),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            ServiceError::Internal(format!("HTTP {status}: {}", text.chars().take(200).collect::<String>()))
        }
    }
}

/// Escapes a value for use as one path segment (ids come from users).
pub fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

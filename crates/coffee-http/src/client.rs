//! Plumbing for the services' typed HTTP clients (used by the gateway when the services
//! run as separate processes): one place that turns responses into values or
//! [`ServiceError`]s.

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{ErrorBody, ServiceError};

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

    pub async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&(impl Serialize + ?Sized)>,
        traceparent: Option<&str>,
    ) -> Result<T, ServiceError> {
        let mut req = self.http.request(method, self.url(path)).query(query);
        if let Some(body) = body {
            req = req.json(body);
        }
        if let Some(tp) = traceparent {
            req = req.header("traceparent", tp);
        }
        let resp =
            req.send().await.map_err(|e| ServiceError::Unavailable(format!("cannot reach {}: {e}", self.base)))?;
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

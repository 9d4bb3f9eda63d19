//! Stripe, over its REST API as Stripe documents it: form-encoded bodies with bracketed keys, the
//! secret key as a Bearer token, a pinned `Stripe-Version`, and an `Idempotency-Key` on every
//! POST, derived from what the request is for (the payment, the intent), so a retry, by this
//! process or by a handler after a crash, never makes a second intent or refund.
//!
//! The customer pays in Stripe's own Payment Element with the intent's client secret; the outcome
//! comes back as a signed webhook (`payment_intent.succeeded`, `payment_intent.payment_failed`),
//! which the payment service verifies and applies as it does the simulated provider's.
//!
//! Network errors, 5xx and 429 are retried with backoff and the same idempotency key; a card
//! error gives the customer Stripe's own message ("Your card was declined."); any other refusal
//! is logged with Stripe's request id. The secret key never appears in a log or an error.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::http::{Method, Request, StatusCode, header};
use bytes::Bytes;
use coffee_domain::Payment;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use serde::Deserialize;
use serde_json::Value;

use super::{CancelOutcome, Intent, PaymentProvider, ProviderError};

/// The API version every request pins, so Stripe's objects keep the shape this code reads.
pub const STRIPE_VERSION: &str = "2024-06-20";

/// Stripe's API.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";

/// How often a request is tried in all before Stripe counts as unavailable, and the first pause
/// between tries (doubling): about 3 s in all, within a customer's patience.
const ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// How long one request may take: Stripe answers in well under a second.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of an answer this reads: Stripe's objects are a few kilobytes.
const MAX_ANSWER: usize = 1 << 20;

/// A Stripe secret key. Its `Debug` shows only that it is there, so it can sit in a
/// configuration that is printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    /// `sk_...` or `rk_...` (a restricted key), as Stripe's dashboard gives it.
    pub fn parse(key: &str) -> Result<Self, String> {
        let key = key.trim();
        if !(key.starts_with("sk_") || key.starts_with("rk_")) || key.len() < 8 || key.chars().any(char::is_whitespace)
        {
            return Err("a Stripe secret key starts with sk_ (or rk_ for a restricted key)".to_owned());
        }
        Ok(Self(key.to_owned()))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

#[derive(Clone)]
pub struct StripeProvider {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    base: Arc<str>,
    key: SecretKey,
    /// For the customer's browser (Stripe.js): public by design.
    publishable_key: Arc<str>,
    backoff: Duration,
}

impl fmt::Debug for StripeProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeProvider").field("base", &self.base).finish_non_exhaustive()
    }
}

/// What Stripe answers when it refuses: `{"error": {"type", "code", "decline_code", "message"}}`.
#[derive(Debug, Clone, Deserialize)]
struct StripeError {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    payment_intent: Option<Value>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: StripeError,
}

/// A request Stripe refused (4xx other than 429), with its request id for the logs.
struct Refusal {
    status: StatusCode,
    error: StripeError,
    request_id: String,
}

impl StripeProvider {
    /// A provider calling `base` (Stripe's API, or a stand-in for tests and proxies), whose
    /// customers pay in Stripe.js with `publishable_key`.
    pub fn new(key: SecretKey, publishable_key: &str, base: &str) -> Result<Self, String> {
        let base = base.trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(format!("the Stripe API base must be an http(s) URL, not '{base}'"));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| format!("TLS for Stripe: the system's root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let http = Client::builder(hyper_util::rt::TokioExecutor::new()).build(https);
        Ok(Self { http, base: base.into(), key, publishable_key: publishable_key.into(), backoff: FIRST_BACKOFF })
    }

    /// The same provider with another first pause between tries (tests: shorter).
    pub fn with_backoff(self, backoff: Duration) -> Self {
        Self { backoff, ..self }
    }

    /// Sends a request, retrying network errors, 5xx and 429 with the same idempotency key.
    /// `Ok(Err(refusal))` is Stripe's answer that it will not do it.
    async fn call(
        &self,
        method: Method,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: Option<&str>,
    ) -> Result<Result<Value, Refusal>, ProviderError> {
        let url = format!("{}{path}", self.base);
        let mut pause = self.backoff;
        let mut last = String::new();
        let body = match method {
            Method::POST => serde_urlencoded::to_string(form)
                .map_err(|e| ProviderError::Unavailable(format!("{method} {path}: the form: {e}")))?,
            _ => String::new(),
        };
        for attempt in 1..=ATTEMPTS {
            let mut request = Request::builder()
                .method(method.clone())
                .uri(&url)
                .header(header::AUTHORIZATION, format!("Bearer {}", self.key.0))
                .header("Stripe-Version", STRIPE_VERSION);
            if method == Method::POST {
                request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            }
            if let Some(key) = idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            let request = request
                .body(Full::new(Bytes::from(body.clone())))
                .map_err(|e| ProviderError::Unavailable(format!("{method} {path}: {e}")))?;
            match tokio::time::timeout(REQUEST_TIMEOUT, self.answer(request)).await {
                Err(_) => last = format!("{method} {path}: no answer within {} s", REQUEST_TIMEOUT.as_secs()),
                Ok(Err(e)) => last = format!("{method} {path}: {e}"),
                Ok(Ok((status, request_id, body))) => {
                    if status.is_success() {
                        return serde_json::from_slice(&body).map(Ok).map_err(|e| {
                            ProviderError::Unavailable(format!("{method} {path}: Stripe's answer is not JSON: {e}"))
                        });
                    }
                    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                        last = format!("{method} {path}: Stripe answered {status} (request {request_id})");
                    } else {
                        let error =
                            serde_json::from_slice::<ErrorBody>(&body).map(|b| b.error).unwrap_or(StripeError {
                                kind: "api_error".to_owned(),
                                code: None,
                                message: Some(format!("Stripe answered {status}")),
                                payment_intent: None,
                            });
                        return Ok(Err(Refusal { status, error, request_id }));
                    }
                }
            }
            if attempt < ATTEMPTS {
                tracing::debug!(attempt, reason = %last, "retrying a Stripe request");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
        Err(ProviderError::Unavailable(last))
    }

    /// One request: its status, Stripe's request id and the body (at most [`MAX_ANSWER`]).
    async fn answer(&self, request: Request<Full<Bytes>>) -> Result<(StatusCode, String, Bytes), String> {
        let response = self.http.request(request).await.map_err(|e| format!("could not reach Stripe: {e}"))?;
        let status = response.status();
        let request_id =
            response.headers().get("request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let body = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| format!("Stripe's answer was cut off or too long: {e}"))?
            .to_bytes();
        Ok((status, request_id, body))
    }

    /// A refusal as the caller sees it: a card error in Stripe's words (for the customer),
    /// anything else logged with Stripe's request id and said plainly.
    fn refused(&self, what: &str, refusal: Refusal) -> ProviderError {
        let Refusal { status, error, request_id } = refusal;
        let message = error.message.clone().unwrap_or_default();
        if error.kind == "card_error" {
            return ProviderError::Refused(message);
        }
        tracing::warn!(
            %status, r#type = %error.kind, code = error.code.as_deref().unwrap_or(""), request_id = %request_id,
            message = %message, "Stripe refused to {what}"
        );
        match status {
            // The key is wrong or lacks a permission: nothing the customer can change.
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                ProviderError::Unavailable(format!("Stripe refused the API key ({status}, request {request_id})"))
            }
            StatusCode::NOT_FOUND => ProviderError::UnknownIntent(message),
            _ => ProviderError::Refused(format!("Stripe could not {what}: {message}")),
        }
    }
}

fn text(object: &Value, field: &str) -> Result<String, ProviderError> {
    object[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ProviderError::Unavailable(format!("Stripe's payment intent has no {field}")))
}

/// An intent id as it may go in a path: Stripe's ids are letters, digits and underscores.
fn intent_path(intent_id: &str) -> Result<String, ProviderError> {
    if intent_id.is_empty() || !intent_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(ProviderError::UnknownIntent(intent_id.to_owned()));
    }
    Ok(format!("/v1/payment_intents/{intent_id}"))
}

#[async_trait]
impl PaymentProvider for StripeProvider {
    fn checkout(&self) -> crate::model::Checkout {
        crate::model::Checkout::stripe(&self.publishable_key)
    }

    async fn create_intent(&self, payment: &Payment) -> Result<Intent, ProviderError> {
        let form = [
            ("amount", payment.amount.0.to_string()),
            ("currency", payment.currency.to_ascii_lowercase()),
            ("metadata[orderId]", payment.order_id.to_string()),
            ("metadata[paymentId]", payment.id.to_string()),
            ("automatic_payment_methods[enabled]", "true".to_owned()),
        ];
        let key = format!("coffee-intent-{}", payment.id);
        let intent = match self.call(Method::POST, "/v1/payment_intents", &form, Some(&key)).await? {
            Ok(intent) => intent,
            Err(refusal) => return Err(self.refused("create a payment intent", refusal)),
        };
        Ok(Intent { id: text(&intent, "id")?, client_secret: text(&intent, "client_secret")? })
    }

    async fn client_secret(&self, intent_id: &str) -> Result<String, ProviderError> {
        match self.call(Method::GET, &intent_path(intent_id)?, &[], None).await? {
            Ok(intent) => text(&intent, "client_secret"),
            Err(refusal) => Err(self.refused("look up a payment intent", refusal)),
        }
    }

    async fn look_up(&self, intent_id: &str) -> Result<Option<crate::webhook::PaymentIntentObject>, ProviderError> {
        match self.call(Method::GET, &intent_path(intent_id)?, &[], None).await? {
            Ok(intent) => serde_json::from_value(intent).map(Some).map_err(|e| {
                ProviderError::Unavailable(format!("Stripe's payment intent {intent_id} is not as expected: {e}"))
            }),
            Err(refusal) => Err(self.refused("look up a payment intent", refusal)),
        }
    }

    async fn cancel_intent(&self, intent_id: &str) -> Result<CancelOutcome, ProviderError> {
        let path = format!("{}/cancel", intent_path(intent_id)?);
        let key = format!("coffee-cancel-{intent_id}");
        match self.call(Method::POST, &path, &[], Some(&key)).await? {
            Ok(_) => Ok(CancelOutcome::Cancelled),
            // Too late or already done: Stripe says so, with the intent as it is.
            Err(refusal) if refusal.error.code.as_deref() == Some("payment_intent_unexpected_state") => {
                let status = refusal.error.payment_intent.as_ref().and_then(|i| i["status"].as_str()).unwrap_or("");
                match status {
                    "succeeded" => Ok(CancelOutcome::AlreadyCaptured),
                    "canceled" => Ok(CancelOutcome::Cancelled),
                    _ => Err(self.refused("cancel a payment intent", refusal)),
                }
            }
            Err(refusal) => Err(self.refused("cancel a payment intent", refusal)),
        }
    }

    async fn refund(&self, intent_id: &str) -> Result<(), ProviderError> {
        intent_path(intent_id)?;
        let form = [("payment_intent", intent_id.to_owned())];
        let key = crate::webhook::refund_key(intent_id);
        match self.call(Method::POST, "/v1/refunds", &form, Some(&key)).await? {
            Ok(_) => Ok(()),
            // Refunded before (by us under another key, or from Stripe's dashboard): done.
            Err(refusal) if refusal.error.code.as_deref() == Some("charge_already_refunded") => Ok(()),
            Err(refusal) => Err(self.refused("refund a payment", refusal)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_key_is_checked_and_never_printed() {
        let key = SecretKey::parse(" sk_test_4eC39HqLyjWDarjtT1zdp7dc ").expect("a test key");
        assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
        assert!(SecretKey::parse("pk_test_123456").is_err(), "a publishable key is not a secret key");
        assert!(SecretKey::parse("sk_").is_err());
        assert!(SecretKey::parse("sk_test 1234").is_err());
        let provider = StripeProvider::new(key, "pk_test_1234", "http://127.0.0.1:1/").expect("a provider");
        assert!(!format!("{provider:?}").contains("sk_test"), "{provider:?}");
        assert!(
            StripeProvider::new(SecretKey::parse("rk_live_12345678").expect("key"), "pk_live_1234", "ftp://x").is_err()
        );
    }

    #[test]
    fn only_stripe_shaped_intent_ids_go_in_a_path() {
        assert_eq!(
            intent_path("pi_3MtwBwLkdIwHu7ix28a3tqPa").expect("an id"),
            "/v1/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa"
        );
        for bad in ["", "pi_1/../../v1/refunds", "pi 1", "pi_1?expand=x"] {
            assert!(intent_path(bad).is_err(), "{bad}");
        }
    }
}

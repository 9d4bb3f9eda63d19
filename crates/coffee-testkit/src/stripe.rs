//! A fake Stripe for tests: an in-process HTTP server on `127.0.0.1:0` that answers the part of
//! Stripe's v1 API a payment provider uses, on Stripe's documented wire contract, so the provider
//! under test talks to it exactly as to `https://api.stripe.com`. Written from Stripe's public
//! API reference, independently of the provider (it shares no code with `coffee-payment`): it is
//! the reference the provider is checked against.
//!
//! # The handle
//!
//! ```text
//! FakeStripe::start(secret_key, webhook_secret).await -> FakeStripe   (Clone; the server stops when the last clone drops)
//! fake.url() -> "http://127.0.0.1:PORT"                  the API base (paths are /v1/...)
//! fake.deliver_webhooks_to(url)                          where events are POSTed
//! fake.enable_events(&["payment_intent.succeeded"])      only these types are delivered (default: every type, "*")
//! fake.send_events_before_answering()                    a request's events reach the endpoint before its answer does
//! fake.requests() -> Vec<Recorded>                       every API request, in order (faulted and unauthorised ones too)
//! fake.intent(id) / fake.charge(id) -> Option<Value>     an object as stored now
//! fake.refunds() / fake.events() -> Vec<Value>           every refund / event made, in order
//! fake.deliveries() -> Vec<Delivery>                     every webhook delivery attempt, in order
//! fake.delivered(event_type).await -> Delivery           waits (up to 10 s) for a delivery of that type
//! fake.fail_next(n, fault)                               the next n API requests answer `fault` instead
//! fake.confirm(intent, payment_method, deliver).await    the customer pays in the browser (what Stripe.js does)
//! fake.accept_publishable_key(pk)                        the browser may confirm over HTTP with this key
//! fake.redeliver(event_id).await -> u16                  sends a stored event again, freshly signed
//! fake.sign(timestamp, body) -> String                   the Stripe-Signature header value for a body
//! ```
//!
//! # The API it answers
//!
//! - `POST /v1/payment_intents`: creates a PaymentIntent (`amount`, `currency` required;
//!   `metadata[...]`, `automatic_payment_methods[enabled|allow_redirects]`, `description`,
//!   `receipt_email`, `statement_descriptor(_suffix)`, `payment_method_types[]`, `expand[]`
//!   accepted), status `requires_payment_method`; event `payment_intent.created`.
//! - `GET /v1/payment_intents/:id`: the object, or 404 `resource_missing` (`param: "intent"`).
//! - `POST /v1/payment_intents/:id/cancel` (`cancellation_reason`): status `canceled`, event
//!   `payment_intent.canceled`; a `succeeded` or `canceled` intent answers 400
//!   `payment_intent_unexpected_state` with the intent under `error.payment_intent`.
//! - `POST /v1/refunds` (`payment_intent` or `charge`, `amount`, `reason`, `metadata[...]`): a
//!   Refund, status `succeeded`; events `charge.refunded` (the Charge) and `refund.created`. An
//!   intent without a successful charge answers 400 "This PaymentIntent does not have a successful
//!   charge to refund."; a fully refunded charge 400 `charge_already_refunded`; more than is left
//!   400 (`param: "amount"`).
//! - `GET /v1/refunds/:id`, `GET /v1/events/:id`: the object, or 404 `resource_missing`.
//! - `POST /v1/payment_intents/:id/confirm` (`payment_method`, `client_secret`, `return_url`,
//!   `expand[]`), the call Stripe.js makes from the customer's browser with the publishable key
//!   as the `key` parameter (see [`FakeStripe::accept_publishable_key`]) and the intent's client
//!   secret: what [`FakeStripe::confirm`] does, answered with the intent; a declined card answers
//!   402 with a `card_error` (`code`, `decline_code`, `message`, the intent under
//!   `error.payment_intent`); a wrong client secret 400 (`param: "client_secret"`); an intent not
//!   awaiting payment 400 `payment_intent_unexpected_state`; an unknown payment method 400
//!   `resource_missing`. The events it makes are delivered in the background.
//! - Anything else: 404 "Unrecognized request URL (METHOD: /path)".
//!
//! Every request needs `Authorization: Bearer <secret key>` (the browser's confirm: the
//! publishable key instead); otherwise 401, with the presented key masked as `sk_test_****<last 4>`.
//! Every answer allows any origin (`Access-Control-Allow-Origin: *`), as Stripe's API does for
//! the browser's calls. Bodies are
//! `application/x-www-form-urlencoded` with bracketed keys, brackets percent-encoded or not. A
//! parameter the fake does not know answers 400 `parameter_unknown` (Stripe knows more parameters
//! than the fake models: a provider that starts sending a new one is seen here); a missing
//! required one 400 `parameter_missing`. A `Stripe-Version` header that is not a version answers
//! 400. Every response carries `Request-Id: req_...` and `Stripe-Version`; errors are
//! `{"error": {"type", "code"?, "decline_code"?, "message", "param"?, "payment_intent"?}}`.
//!
//! `Idempotency-Key` on POSTs: the first result of a key whose endpoint began to run is saved
//! (successes and errors alike, as Stripe does); the same key with the same endpoint and
//! parameters (compared as a set, not by order) replays it, status and body, with
//! `Idempotent-Replayed: true` and `Original-Request: <the first request's id>`; the same key with
//! another endpoint or other parameters answers 400 `idempotency_error`. Results not saved, as
//! Stripe documents: 401s, parameter validation errors (unknown, missing, invalid), and faults
//! injected with [`Fault::Status`] or [`Fault::Hang`] (they stand for failures in front of the
//! idempotency layer, like the rate limiter; a retry with the same key runs for real).
//! [`Fault::StatusSaved`] instead stands for a 500 after the endpoint began: it is saved under
//! the key, so a retry with that key gets the same 500 back, as Stripe documents.
//!
//! # The customer, the browser, the webhooks
//!
//! [`FakeStripe::confirm`] does what Stripe.js does when the customer pays, with Stripe's test
//! payment methods: `pm_card_visa` (also `pm_card_visa_debit`, `pm_card_mastercard`,
//! `pm_card_amex`) succeeds: status `succeeded`, `amount_received = amount`, `latest_charge`,
//! events `charge.succeeded` then `payment_intent.succeeded`. `pm_card_visa_chargeDeclined` (or
//! `pm_card_chargeDeclined`) and `pm_card_visa_chargeDeclinedInsufficientFunds` (or
//! `pm_card_chargeDeclinedInsufficientFunds`) decline: status back to `requires_payment_method`,
//! `last_payment_error` a `card_error` with `code: card_declined` and `decline_code`
//! `generic_decline` / `insufficient_funds`, `latest_charge` the failed charge (as Stripe sets it),
//! events `charge.failed` then `payment_intent.payment_failed`. An intent that is not awaiting
//! payment (`succeeded`, `canceled`) cannot be confirmed: nothing changes, no event is made, and
//! `confirm` returns an empty list (Stripe.js would get `payment_intent_unexpected_state`). An
//! unknown intent or payment method panics: that is a mistake in the test.
//!
//! Events have Stripe's shape (`id: evt_...`, `object: "event"`, `api_version` the Stripe-Version
//! the intent was created with, else [`DEFAULT_API_VERSION`], `created`, `type`, `livemode:
//! false`, `pending_webhooks`, `request: {id, idempotency_key}` (the API request that caused it;
//! nulls for the browser's confirm), `data: {object}` a snapshot of the object). They are POSTed
//! to the webhook URL as pretty-printed JSON (as Stripe sends them; verify the raw bytes),
//! `Content-Type: application/json; charset=utf-8`, with `Stripe-Signature:
//! t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the webhook secret's bytes, whsec_
//! included>,v0=<...>`: the `v0` element is there as in Stripe's test mode, and a receiver must
//! ignore every scheme but `v1`. Events caused by API requests are delivered in the background
//! after the response; `confirm`'s are delivered before it returns (when `deliver` is true).
//! Each delivery waits at most 5 s for an answer, and is never retried by the fake: tests call
//! [`FakeStripe::redeliver`]. A status of 0 means no answer (not delivered, refused, or timed
//! out).
//!
//! It is a test fake: state lives in one `std::sync::Mutex`, never held across an await.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

/// The API version of objects and events when a request names none (`Stripe-Version`).
pub const DEFAULT_API_VERSION: &str = "2024-06-20";

/// How long a webhook delivery waits for the endpoint's answer.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// What a faulted API request answers instead of running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answers this status with Stripe's error body for it (429: `invalid_request_error` with
    /// `code: rate_limit`; 5xx: `api_error`), not saved under the idempotency key: a failure in
    /// front of Stripe's idempotency layer, so a retry with the same key runs for real.
    Status(u16),
    /// Answers this status as [`Fault::Status`] does, and saves it under the request's
    /// idempotency key: a failure after the endpoint began, which Stripe replays to a retry with
    /// the same key. Nothing is executed.
    StatusSaved(u16),
    /// Never answers: the request is held until the client gives up (or the fake is dropped).
    /// Other requests are answered meanwhile.
    Hang,
}

/// One API request as the fake received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The form pairs of the body (POST) or the query (GET), decoded, in order.
    pub form: Vec<(String, String)>,
    pub idempotency_key: Option<String>,
    pub stripe_version: Option<String>,
    /// Whether the request presented the fake's secret key.
    pub authorized: bool,
    /// The `Request-Id` the fake answered with.
    pub request_id: String,
}

/// One webhook delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub event_id: String,
    pub event_type: String,
    /// The endpoint's HTTP status; 0 when there was no answer (refused, or none within 5 s).
    pub status: u16,
}

/// The fake Stripe server. Clones share it; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct FakeStripe {
    inner: Arc<Handle>,
}

struct Handle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        // Held requests (Fault::Hang) return; the server stops accepting and its connections close.
        self.shared.shutdown.send_replace(true);
        self.server.abort();
    }
}

struct Shared {
    secret_key: String,
    publishable_key: Mutex<Option<String>>,
    webhook_secret: String,
    state: Mutex<State>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread may have poisoned it; the data is still what the fake recorded.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    faults: VecDeque<Fault>,
    intents: BTreeMap<String, Value>,
    /// The API version each intent was created with.
    versions: HashMap<String, String>,
    charges: BTreeMap<String, Value>,
    refunds: Vec<Value>,
    events: Vec<Value>,
    saved: HashMap<String, Saved>,
    webhook_url: Option<String>,
    enabled_events: Option<Vec<String>>,
    /// Whether a request's events are delivered before it is answered.
    events_first: bool,
    deliveries: Vec<Delivery>,
}

/// A result saved under an idempotency key.
struct Saved {
    method: String,
    path: String,
    params: Vec<(String, String)>,
    status: u16,
    body: String,
    request_id: String,
}

impl Saved {
    /// The answer to a request, kept under its idempotency key.
    fn answer(
        method: &Method,
        path: &str,
        params: Vec<(String, String)>,
        status: u16,
        body: &str,
        request_id: &str,
    ) -> Self {
        Self {
            method: method.to_string(),
            path: path.to_owned(),
            params,
            status,
            body: body.to_owned(),
            request_id: request_id.to_owned(),
        }
    }
}

impl FakeStripe {
    /// Starts the server on a free port of 127.0.0.1, taking `secret_key` (what the provider
    /// must send as its API key) and `webhook_secret` (what events are signed with, used as-is).
    pub async fn start(secret_key: &str, webhook_secret: &str) -> FakeStripe {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("the fake Stripe cannot listen on 127.0.0.1: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("the fake Stripe's address: {e}"));
        let (shutdown, _) = tokio::sync::watch::channel(false);
        let shared = Arc::new(Shared {
            secret_key: secret_key.to_owned(),
            publishable_key: Mutex::new(None),
            webhook_secret: webhook_secret.to_owned(),
            state: Mutex::new(State::default()),
            shutdown,
        });
        let app = axum::Router::new().fallback(handle).with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                panic!("the fake Stripe's server failed: {e}");
            }
        });
        FakeStripe { inner: Arc::new(Handle { shared, addr, server }) }
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    /// The API base, `http://127.0.0.1:PORT` (requests go to `/v1/...` under it).
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// Where events are POSTed from now on, e.g. `http://127.0.0.1:P/api/payment/webhook`.
    pub fn deliver_webhooks_to(&self, url: &str) {
        assert!(url.starts_with("http://"), "the fake Stripe delivers webhooks over plain http only, not to {url}");
        self.shared().state().webhook_url = Some(url.to_owned());
    }

    /// Delivers only events of these types from now on (a webhook endpoint's `enabled_events`);
    /// `"*"` among them delivers every type, which is the default. Events of other types are
    /// still made (and in [`events`](Self::events)), with `pending_webhooks: 0`.
    pub fn enable_events(&self, types: &[&str]) {
        self.shared().state().enabled_events = Some(types.iter().map(|t| (*t).to_owned()).collect());
    }

    /// Delivers the events a request makes before answering it, from now on: Stripe sends its
    /// webhooks on its own time, so one may reach the endpoint before the answer to the request
    /// that caused it reaches the caller. (By default they are sent just after.)
    pub fn send_events_before_answering(&self) {
        self.shared().state().events_first = true;
    }

    /// The browser may pay over HTTP (`POST /v1/payment_intents/:id/confirm`) presenting this
    /// publishable key as Stripe.js does, in the `key` parameter.
    pub fn accept_publishable_key(&self, publishable_key: &str) {
        *self.shared().publishable_key.lock().unwrap_or_else(|p| p.into_inner()) = Some(publishable_key.to_owned());
    }

    /// Every API request received, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared().state().requests.clone()
    }

    /// The PaymentIntent as stored now.
    pub fn intent(&self, id: &str) -> Option<Value> {
        self.shared().state().intents.get(id).cloned()
    }

    /// The Charge as stored now.
    pub fn charge(&self, id: &str) -> Option<Value> {
        self.shared().state().charges.get(id).cloned()
    }

    /// Every refund made, in order.
    pub fn refunds(&self) -> Vec<Value> {
        self.shared().state().refunds.clone()
    }

    /// Every event made, in order.
    pub fn events(&self) -> Vec<Value> {
        self.shared().state().events.clone()
    }

    /// Every webhook delivery attempt, in order (redeliveries included).
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared().state().deliveries.clone()
    }

    /// The first delivery of an event of `event_type`, waiting up to 10 s for it (events caused
    /// by API requests are delivered in the background). Panics when there is none by then.
    pub async fn delivered(&self, event_type: &str) -> Delivery {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let found = self.shared().state().deliveries.iter().find(|d| d.event_type == event_type).cloned();
            if let Some(delivery) = found {
                return delivery;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {event_type} event was delivered within 10 s; deliveries: {:?}",
                self.deliveries()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The next `n` API requests answer `fault` instead of running (after any faults already
    /// queued).
    pub fn fail_next(&self, n: usize, fault: Fault) {
        self.shared().state().faults.extend(std::iter::repeat_n(fault, n));
    }

    /// Forgets the failures [`fail_next`](Self::fail_next) queued and not yet answered: Stripe
    /// is back.
    pub fn recover(&self) {
        self.shared().state().faults.clear();
    }

    /// The customer pays for `intent_id` in the browser with the test payment method
    /// `payment_method` (see the module documentation). The events made are delivered, in order,
    /// when `deliver` is true and a webhook URL is set. Returns each event made with the
    /// endpoint's status (0: not delivered, or no answer); empty when the intent was not awaiting
    /// payment.
    pub async fn confirm(&self, intent_id: &str, payment_method: &str, deliver: bool) -> Vec<(String, u16)> {
        let made = {
            let mut state = self.shared().state();
            confirm_intent(&mut state, intent_id, payment_method)
        };
        let mut answers = Vec::with_capacity(made.len());
        for event_id in made {
            let status = if deliver { deliver_event(self.shared(), &event_id).await } else { 0 };
            answers.push((event_id, status));
        }
        answers
    }

    /// Sends the stored event `event_id` to the webhook URL again, freshly signed; returns the
    /// endpoint's status (0: no answer). Panics when there is no such event or no webhook URL.
    pub async fn redeliver(&self, event_id: &str) -> u16 {
        {
            let state = self.shared().state();
            assert!(
                state.events.iter().any(|e| e["id"] == event_id),
                "redeliver: the fake Stripe made no event {event_id}"
            );
            assert!(state.webhook_url.is_some(), "redeliver: no webhook URL; call deliver_webhooks_to first");
        }
        deliver(self.shared(), event_id, true).await
    }

    /// The `Stripe-Signature` header value for `body` sent at `timestamp` (Unix seconds):
    /// `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">,v0=<...>`.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        signature_header(&self.shared().webhook_secret, timestamp, body)
    }
}

// ---------------------------------------------------------------------------------------------
// Signatures, ids, time

type HmacSha256 = Hmac<Sha256>;

fn hmac_hex(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|e| panic!("HMAC takes a key of any length: {e}"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn signature_header(webhook_secret: &str, timestamp: i64, body: &[u8]) -> String {
    let v1 = hmac_hex(webhook_secret.as_bytes(), timestamp, body);
    // Stripe's legacy test-mode scheme, signed with something else: receivers must ignore it.
    let v0 = hmac_hex(b"fake-stripe legacy v0 scheme", timestamp, body);
    format!("t={timestamp},v1={v1},v0={v0}")
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// `n` random letters and digits.
fn random_alnum(n: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes[..]);
        // Only bytes below 248 (= 4 × 62), so every character is equally likely.
        for b in bytes.into_iter().filter(|b| *b < 248) {
            if out.len() < n {
                out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            }
        }
    }
    out
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", random_alnum(24))
}

// ---------------------------------------------------------------------------------------------
// Forms

/// An `application/x-www-form-urlencoded` body as pairs, in order (brackets decoded like any
/// other character: `metadata%5BorderId%5D` is `metadata[orderId]`).
fn parse_form(text: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(text).unwrap_or_default()
}

/// The last value of a parameter.
fn param<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The `name[key]` pairs of a hash parameter (metadata), as a JSON object.
fn hash_param(form: &[(String, String)], name: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in form {
        let inner = key.strip_prefix(name).and_then(|k| k.strip_prefix('[')).and_then(|k| k.strip_suffix(']'));
        if let Some(inner) = inner {
            out.insert(inner.to_owned(), Value::String(value.clone()));
        }
    }
    out
}

/// The parameters an endpoint takes.
struct Spec {
    /// Plain values: `name=value`.
    scalars: &'static [&'static str],
    /// Free-keyed hashes: `name[any]=value` (metadata).
    hashes: &'static [&'static str],
    /// Objects with known keys: `name[key]=value`.
    objects: &'static [(&'static str, &'static [&'static str])],
    /// Lists: `name[]=value` or `name[0]=value`.
    lists: &'static [&'static str],
}

const CREATE_INTENT: Spec = Spec {
    scalars: &[
        "amount",
        "currency",
        "description",
        "receipt_email",
        "statement_descriptor",
        "statement_descriptor_suffix",
    ],
    hashes: &["metadata"],
    objects: &[("automatic_payment_methods", &["enabled", "allow_redirects"])],
    lists: &["payment_method_types", "expand"],
};
const CANCEL_INTENT: Spec = Spec { scalars: &["cancellation_reason"], hashes: &[], objects: &[], lists: &["expand"] };
const CREATE_REFUND: Spec = Spec {
    scalars: &["payment_intent", "charge", "amount", "reason"],
    hashes: &["metadata"],
    objects: &[],
    lists: &["expand"],
};
const RETRIEVE: Spec = Spec { scalars: &[], hashes: &[], objects: &[], lists: &["expand"] };

/// The bracketed segments after a parameter's name: `[a][b]` → `["a", "b"]`; `None` when the
/// rest is not made of brackets.
fn segments(rest: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let mut rest = rest;
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let end = inner.find(']')?;
        out.push(&inner[..end]);
        rest = &inner[end + 1..];
    }
    Some(out)
}

fn check_params(form: &[(String, String)], spec: &Spec) -> Result<(), Failure> {
    for (key, value) in form {
        let (name, rest) = key.split_at(key.find('[').unwrap_or(key.len()));
        let known = spec.scalars.contains(&name)
            || spec.hashes.contains(&name)
            || spec.lists.contains(&name)
            || spec.objects.iter().any(|(n, _)| *n == name);
        if !known {
            return Err(unknown_parameter(name));
        }
        let Some(segs) = segments(rest) else { return Err(unknown_parameter(key)) };
        let fits = match segs.as_slice() {
            [] if spec.scalars.contains(&name) => true,
            // `metadata=` (empty) unsets every key, as Stripe allows.
            [] if spec.hashes.contains(&name) => value.is_empty(),
            [] => false,
            [inner] if spec.hashes.contains(&name) => !inner.is_empty(),
            [inner] if spec.lists.contains(&name) => inner.chars().all(|c| c.is_ascii_digit()),
            [inner] => spec.objects.iter().any(|(n, keys)| *n == name && keys.contains(inner)),
            _ => false,
        };
        if !fits {
            return Err(unknown_parameter(key));
        }
    }
    Ok(())
}

fn check_metadata(form: &[(String, String)]) -> Result<(), Failure> {
    let metadata = hash_param(form, "metadata");
    if metadata.len() > 50 {
        return Err(Failure::invalid("Invalid metadata: a maximum of 50 keys is allowed.")
            .param("metadata")
            .not_saved());
    }
    for (key, value) in &metadata {
        if key.chars().count() > 40 {
            return Err(Failure::invalid("Invalid metadata: keys can be at most 40 characters long.")
                .param(&format!("metadata[{key}]"))
                .not_saved());
        }
        if value.as_str().is_some_and(|v| v.chars().count() > 500) {
            return Err(Failure::invalid("Invalid metadata: values can be at most 500 characters long.")
                .param(&format!("metadata[{key}]"))
                .not_saved());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Errors

/// An error answer: status, Stripe's error object, and whether it is saved under an
/// idempotency key.
struct Failure {
    status: u16,
    error: Map<String, Value>,
    saved: bool,
    /// Events made although the request failed (a declined card's).
    events: Vec<String>,
}

impl Failure {
    fn new(status: u16, kind: &str, message: &str) -> Failure {
        let mut error = Map::new();
        error.insert("type".into(), json!(kind));
        error.insert("message".into(), json!(message));
        Failure { status, error, saved: true, events: Vec::new() }
    }

    fn invalid(message: &str) -> Failure {
        Failure::new(400, "invalid_request_error", message)
    }

    fn code(mut self, code: &str) -> Failure {
        self.error.insert("code".into(), json!(code));
        self
    }

    fn param(mut self, param: &str) -> Failure {
        self.error.insert("param".into(), json!(param));
        self
    }

    fn with(mut self, key: &str, value: Value) -> Failure {
        self.error.insert(key.into(), value);
        self
    }

    fn status(mut self, status: u16) -> Failure {
        self.status = status;
        self
    }

    /// Not saved under the idempotency key (it failed before the endpoint began).
    fn not_saved(mut self) -> Failure {
        self.saved = false;
        self
    }

    fn body(&self) -> Value {
        json!({ "error": self.error })
    }
}

fn unknown_parameter(name: &str) -> Failure {
    Failure::invalid(&format!("Received unknown parameter: {name}")).code("parameter_unknown").param(name).not_saved()
}

fn missing_parameter(name: &str) -> Failure {
    Failure::invalid(&format!("Missing required param: {name}.")).code("parameter_missing").param(name).not_saved()
}

fn no_such(kind: &str, id: &str, param: &str) -> Failure {
    Failure::invalid(&format!("No such {kind}: '{id}'")).code("resource_missing").param(param)
}

/// The error a fault answers: Stripe's body for that status.
fn fault_failure(status: u16) -> Failure {
    match status {
        429 => Failure::new(
            429,
            "invalid_request_error",
            "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
        )
        .code("rate_limit"),
        500..=599 => Failure::new(
            status,
            "api_error",
            "An unknown error occurred. Please try again later, or contact us at https://support.stripe.com/.",
        ),
        _ => Failure::new(status, "invalid_request_error", "The fake Stripe was told to fail this request."),
    }
}

/// The key as Stripe shows it in errors: its prefix (`sk_test_`), `****`, its last four.
fn masked_key(key: &str) -> String {
    let prefix = ["sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_"]
        .into_iter()
        .find(|p| key.starts_with(p))
        .unwrap_or("");
    let rest: Vec<char> = key[prefix.len()..].chars().collect();
    if rest.len() <= 4 {
        return format!("{prefix}****");
    }
    let last4: String = rest[rest.len() - 4..].iter().collect();
    format!("{prefix}****{last4}")
}

/// The API key a request presents as `Bearer <key>` (Stripe's libraries send it so).
fn presented_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?.trim();
    let (scheme, key) = value.split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then(|| key.to_owned())
}

/// `2024-06-20`, optionally with a release name (`2024-09-30.acacia`).
fn is_api_version(v: &str) -> bool {
    let (date, name) = v.split_once('.').unwrap_or((v, "a"));
    let b = date.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
        && !name.is_empty()
        && name.bytes().all(|c| c.is_ascii_lowercase() || c == b'_')
}

// ---------------------------------------------------------------------------------------------
// The HTTP front

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn response(status: u16, body: String, request_id: &str, version: &str, extra: &[(&str, String)]) -> Response {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .header("request-id", request_id)
        .header("stripe-version", version)
        .header("access-control-allow-origin", "*");
    for (name, value) in extra {
        builder = builder.header(*name, value.as_str());
    }
    builder.body(Body::from(body)).unwrap_or_else(|e| panic!("the fake Stripe built a bad response: {e}"))
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| panic!("a JSON value serialises: {e}"))
}

/// What one API request needs to run.
struct Call<'a> {
    method: &'a Method,
    segments: Vec<&'a str>,
    form: &'a [(String, String)],
    api_version: &'a str,
    request_id: &'a str,
    idempotency_key: Option<&'a str>,
}

/// The answer to a request whose idempotency key has a saved result: the result replayed, when
/// the request is the same (endpoint and parameters); else an `idempotency_error`.
fn replay(
    saved: &Saved,
    key: &str,
    method: &str,
    path: &str,
    params: &[(String, String)],
) -> (u16, String, Vec<(&'static str, String)>) {
    let refuse = |message: String| (400, pretty(&Failure::new(400, "idempotency_error", &message).body()), Vec::new());
    if saved.method != method || saved.path != path {
        refuse(format!(
            "Keys for idempotent requests can only be used for the same endpoint they were first used for ('{}' vs \
             '{path}'). Try using a key other than '{key}' if you meant to execute a different request.",
            saved.path
        ))
    } else if saved.params != params {
        refuse(format!(
            "Keys for idempotent requests can only be used with the same parameters they were first used with. Try \
             using a key other than '{key}' if you meant to execute a different request."
        ))
    } else {
        let extra = vec![("idempotent-replayed", "true".to_owned()), ("original-request", saved.request_id.clone())];
        (saved.status, saved.body.clone(), extra)
    }
}

async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = format!("req_{}", random_alnum(14));
    let path = uri.path().to_owned();
    let form = if method == Method::GET {
        parse_form(uri.query().unwrap_or(""))
    } else {
        parse_form(&String::from_utf8_lossy(&body))
    };
    let idempotency_key = header(&headers, "idempotency-key").filter(|_| method == Method::POST);
    let stripe_version = header(&headers, "stripe-version");
    // Stripe.js's own calls carry the publishable key as a parameter; only confirming takes it.
    let browser_key =
        param(&form, "key").map(str::to_owned).filter(|_| method == Method::POST && path.ends_with("/confirm"));
    let presented = presented_key(&headers).or(browser_key.clone());
    let publishable = shared.publishable_key.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let authorized = presented.as_deref() == Some(shared.secret_key.as_str())
        || (browser_key.is_some() && browser_key == publishable);
    let answer_version = stripe_version.clone().unwrap_or_else(|| DEFAULT_API_VERSION.to_owned());

    let fault = {
        let mut state = shared.state();
        state.requests.push(Recorded {
            method: method.to_string(),
            path: path.clone(),
            form: form.clone(),
            idempotency_key: header(&headers, "idempotency-key"),
            stripe_version: stripe_version.clone(),
            authorized,
            request_id: request_id.clone(),
        });
        state.faults.pop_front()
    };
    let fail = |failure: Failure| pretty(&failure.body());
    match fault {
        None => {}
        Some(Fault::Hang) => {
            let mut stop = shared.shutdown.subscribe();
            let _ = stop.wait_for(|stopped| *stopped).await;
            return response(503, fail(fault_failure(503)), &request_id, &answer_version, &[]);
        }
        Some(Fault::Status(status)) => {
            let failure = fault_failure(status);
            return response(failure.status, fail(failure), &request_id, &answer_version, &[]);
        }
        Some(Fault::StatusSaved(status)) => {
            let failure = fault_failure(status);
            let text = fail(failure);
            if let Some(key) = &idempotency_key {
                let mut params = form.clone();
                params.sort();
                let saved = Saved::answer(&method, &path, params, status, &text, &request_id);
                shared.state().saved.entry(key.clone()).or_insert(saved);
            }
            return response(status, text, &request_id, &answer_version, &[]);
        }
    }

    if !authorized {
        let message = match &presented {
            None => "You did not provide an API key. You need to provide your API key in the Authorization header, \
                     using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See \
                     https://stripe.com/docs/api#authentication for details, or we can help at \
                     https://support.stripe.com/."
                .to_owned(),
            Some(key) => format!("Invalid API Key provided: {}", masked_key(key)),
        };
        let failure = Failure::new(401, "invalid_request_error", &message);
        return response(401, fail(failure), &request_id, &answer_version, &[]);
    }
    if let Some(v) = stripe_version.as_deref().filter(|v| !is_api_version(v)) {
        let failure = Failure::invalid(&format!("Invalid Stripe API version: {v}"));
        return response(400, fail(failure), &request_id, DEFAULT_API_VERSION, &[]);
    }

    let mut params = form.clone();
    params.sort();
    let (status, text, made, extra, events_first) = {
        let mut state = shared.state();
        let events_first = state.events_first;
        let saved = idempotency_key.as_ref().and_then(|key| state.saved.get(key).map(|saved| (key, saved)));
        if let Some((key, saved)) = saved {
            let (status, text, extra) = replay(saved, key, method.as_str(), &path, &params);
            (status, text, Vec::new(), extra, events_first)
        } else {
            let call = Call {
                method: &method,
                segments: path.trim_matches('/').split('/').collect(),
                form: &form,
                api_version: &answer_version,
                request_id: &request_id,
                idempotency_key: idempotency_key.as_deref(),
            };
            let (status, text, made, keep) = match route(&mut state, &call) {
                Ok((object, made)) => (200, pretty(&object), made, true),
                Err(failure) => (failure.status, pretty(&failure.body()), failure.events.clone(), failure.saved),
            };
            if let (Some(key), true) = (&idempotency_key, keep) {
                state.saved.insert(key.clone(), Saved::answer(&method, &path, params, status, &text, &request_id));
            }
            (status, text, made, Vec::new(), events_first)
        }
    };
    if events_first {
        for event_id in made {
            deliver_event(&shared, &event_id).await;
        }
    } else if !made.is_empty() {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            for event_id in made {
                deliver_event(&shared, &event_id).await;
            }
        });
    }
    response(status, text, &request_id, &answer_version, &extra)
}

// ---------------------------------------------------------------------------------------------
// The endpoints

type Routed = Result<(Value, Vec<String>), Failure>;

fn route(state: &mut State, call: &Call) -> Routed {
    match (call.method.as_str(), call.segments.as_slice()) {
        ("POST", ["v1", "payment_intents"]) => create_intent(state, call),
        ("GET", ["v1", "payment_intents", id]) => {
            check_params(call.form, &RETRIEVE)?;
            let intent = state.intents.get(*id).ok_or_else(|| no_such("payment_intent", id, "intent").status(404))?;
            Ok((intent.clone(), Vec::new()))
        }
        ("POST", ["v1", "payment_intents", id, "cancel"]) => cancel_intent(state, call, id),
        ("POST", ["v1", "payment_intents", id, "confirm"]) => browser_confirm(state, call, id),
        ("POST", ["v1", "refunds"]) => create_refund(state, call),
        ("GET", ["v1", "refunds", id]) => {
            check_params(call.form, &RETRIEVE)?;
            let refund = state.refunds.iter().find(|r| r["id"] == *id);
            Ok((refund.ok_or_else(|| no_such("refund", id, "id").status(404))?.clone(), Vec::new()))
        }
        ("GET", ["v1", "events", id]) => {
            check_params(call.form, &RETRIEVE)?;
            let event = state.events.iter().find(|e| e["id"] == *id);
            Ok((event.ok_or_else(|| no_such("event", id, "id").status(404))?.clone(), Vec::new()))
        }
        (method, _) => {
            let message = format!(
                "Unrecognized request URL ({method}: /{}). Please see https://stripe.com/docs or we can help at \
                 https://support.stripe.com/.",
                call.segments.join("/")
            );
            Err(Failure::invalid(&message).status(404).not_saved())
        }
    }
}

fn integer(form: &[(String, String)], name: &str) -> Result<Option<i64>, Failure> {
    let Some(text) = param(form, name) else { return Ok(None) };
    text.parse::<i64>().map(Some).map_err(|_| {
        Failure::invalid(&format!("Invalid integer: {text}")).code("parameter_invalid_integer").param(name).not_saved()
    })
}

/// One of `allowed`, when given.
fn one_of<'a>(form: &'a [(String, String)], name: &str, allowed: &[&str]) -> Result<Option<&'a str>, Failure> {
    match param(form, name) {
        Some(value) if !allowed.contains(&value) => {
            let choices = match allowed {
                [init @ .., last] if !init.is_empty() => format!("{}, or {last}", init.join(", ")),
                _ => allowed.join(", "),
            };
            Err(Failure::invalid(&format!("Invalid {name}: must be one of {choices}")).param(name).not_saved())
        }
        value => Ok(value),
    }
}

/// The smallest amount Stripe charges in a currency, in its minor unit (for the few it knows).
fn minimum_amount(currency: &str) -> i64 {
    match currency {
        "gbp" => 30,
        "usd" | "eur" | "chf" | "cad" | "aud" | "nzd" | "sgd" => 50,
        _ => 1,
    }
}

fn create_intent(state: &mut State, call: &Call) -> Routed {
    let form = call.form;
    check_params(form, &CREATE_INTENT)?;
    let amount = integer(form, "amount")?.ok_or_else(|| missing_parameter("amount"))?;
    let currency = param(form, "currency").ok_or_else(|| missing_parameter("currency"))?.to_ascii_lowercase();
    if currency.len() != 3 || !currency.bytes().all(|c| c.is_ascii_lowercase()) {
        return Err(Failure::invalid(&format!("Invalid currency: {currency}.")).param("currency").not_saved());
    }
    let minimum = minimum_amount(&currency);
    if amount < minimum {
        let message = format!("Amount must be at least {}.{:02} {currency}", minimum / 100, minimum % 100);
        return Err(Failure::invalid(&message).code("amount_too_small").param("amount").not_saved());
    }
    if amount > 99_999_999 {
        let message = format!("Amount must be no more than 999999.99 {currency}");
        return Err(Failure::invalid(&message).code("amount_too_large").param("amount").not_saved());
    }
    check_metadata(form)?;
    let enabled = match one_of(form, "automatic_payment_methods[enabled]", &["true", "false"]) {
        Ok(v) => v,
        Err(_) => {
            let v = param(form, "automatic_payment_methods[enabled]").unwrap_or("");
            let failure = Failure::invalid(&format!("Invalid boolean: {v}"));
            return Err(failure.param("automatic_payment_methods[enabled]").not_saved());
        }
    };
    let redirects = one_of(form, "automatic_payment_methods[allow_redirects]", &["always", "never"])?;
    let automatic = match enabled {
        Some("true") => json!({ "enabled": true, "allow_redirects": redirects.unwrap_or("always") }),
        _ => Value::Null,
    };
    let mut types: Vec<Value> = form
        .iter()
        .filter(|(k, _)| k.starts_with("payment_method_types["))
        .map(|(_, v)| Value::String(v.clone()))
        .collect();
    if types.is_empty() {
        types.push(json!("card"));
    }
    let text = |name: &str| param(form, name).map_or(Value::Null, |v| Value::String(v.to_owned()));
    let id = new_id("pi");
    let intent = json!({
        "id": id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": 0,
        "automatic_payment_methods": automatic,
        "canceled_at": null,
        "cancellation_reason": null,
        "capture_method": "automatic",
        "client_secret": format!("{id}_secret_{}", random_alnum(25)),
        "confirmation_method": "automatic",
        "created": now(),
        "currency": currency,
        "customer": null,
        "description": text("description"),
        "last_payment_error": null,
        "latest_charge": null,
        "livemode": false,
        "metadata": hash_param(form, "metadata"),
        "next_action": null,
        "payment_method": null,
        "payment_method_types": types,
        "receipt_email": text("receipt_email"),
        "setup_future_usage": null,
        "statement_descriptor": text("statement_descriptor"),
        "statement_descriptor_suffix": text("statement_descriptor_suffix"),
        "status": "requires_payment_method",
    });
    state.intents.insert(id.clone(), intent.clone());
    state.versions.insert(id.clone(), call.api_version.to_owned());
    let event = make_event(state, "payment_intent.created", &intent, call.api_version, api_request(call));
    Ok((intent, vec![event]))
}

/// The statuses a PaymentIntent can be canceled in.
const CANCELABLE: [&str; 5] =
    ["requires_payment_method", "requires_capture", "requires_confirmation", "requires_action", "processing"];

fn cancel_intent(state: &mut State, call: &Call, id: &str) -> Routed {
    check_params(call.form, &CANCEL_INTENT)?;
    let reason =
        one_of(call.form, "cancellation_reason", &["duplicate", "fraudulent", "requested_by_customer", "abandoned"])?;
    let intent = state.intents.get_mut(id).ok_or_else(|| no_such("payment_intent", id, "intent").status(404))?;
    let status = intent["status"].as_str().unwrap_or("").to_owned();
    if !CANCELABLE.contains(&status.as_str()) {
        let message = format!(
            "You cannot cancel this PaymentIntent because it has a status of {status}. Only a PaymentIntent with one \
             of the following statuses may be canceled: {}.",
            CANCELABLE.join(", ")
        );
        let failure = Failure::invalid(&message).code("payment_intent_unexpected_state");
        return Err(failure.with("payment_intent", intent.clone()));
    }
    intent["status"] = json!("canceled");
    intent["canceled_at"] = json!(now());
    intent["cancellation_reason"] = reason.map_or(Value::Null, |r| json!(r));
    let intent = intent.clone();
    let version = intent_version(state, id);
    let event = make_event(state, "payment_intent.canceled", &intent, &version, api_request(call));
    Ok((intent, vec![event]))
}

fn create_refund(state: &mut State, call: &Call) -> Routed {
    let form = call.form;
    check_params(form, &CREATE_REFUND)?;
    check_metadata(form)?;
    let amount = integer(form, "amount")?;
    if amount.is_some_and(|a| a < 1) {
        let failure = Failure::invalid("Invalid positive integer").code("parameter_invalid_integer");
        return Err(failure.param("amount").not_saved());
    }
    let reason = one_of(form, "reason", &["duplicate", "fraudulent", "requested_by_customer"])?;
    let charge_id = match (param(form, "payment_intent"), param(form, "charge")) {
        (Some(pi), charge) => {
            let intent = state.intents.get(pi).ok_or_else(|| no_such("payment_intent", pi, "payment_intent"))?;
            if intent["status"] != "succeeded" {
                let failure = Failure::invalid("This PaymentIntent does not have a successful charge to refund.");
                return Err(failure.param("payment_intent"));
            }
            let latest = intent["latest_charge"].as_str().unwrap_or("").to_owned();
            if let Some(charge) = charge.filter(|c| *c != latest) {
                let message = format!("Charge {charge} is not associated with PaymentIntent {pi}.");
                return Err(Failure::invalid(&message).param("charge"));
            }
            latest
        }
        (None, Some(ch)) => {
            let charge = state.charges.get(ch).ok_or_else(|| no_such("charge", ch, "charge"))?;
            if charge["status"] != "succeeded" {
                let message = format!("Charge {ch} has failed and cannot be refunded.");
                return Err(Failure::invalid(&message).param("charge"));
            }
            ch.to_owned()
        }
        (None, None) => {
            let failure = Failure::invalid(
                "One of the following params should be provided for this request: payment_intent or charge.",
            );
            return Err(failure.code("parameter_missing").not_saved());
        }
    };
    let charge = state.charges.get_mut(&charge_id).unwrap_or_else(|| panic!("the fake Stripe lost charge {charge_id}"));
    let charged = charge["amount"].as_i64().unwrap_or(0);
    let remaining = charged - charge["amount_refunded"].as_i64().unwrap_or(0);
    if remaining <= 0 {
        return Err(
            Failure::invalid(&format!("Charge {charge_id} has already been refunded.")).code("charge_already_refunded")
        );
    }
    let amount = amount.unwrap_or(remaining);
    if amount > remaining {
        let message = format!("Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})");
        return Err(Failure::invalid(&message).param("amount"));
    }
    charge["amount_refunded"] = json!(charged - remaining + amount);
    charge["refunded"] = json!(amount == remaining);
    let charge = charge.clone();
    let intent_id = charge["payment_intent"].as_str().unwrap_or("").to_owned();
    let refund = json!({
        "id": new_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn"),
        "charge": charge_id,
        "created": now(),
        "currency": charge["currency"],
        "metadata": hash_param(form, "metadata"),
        "payment_intent": intent_id,
        "reason": reason,
        "receipt_number": null,
        "source_transfer_reversal": null,
        "status": "succeeded",
        "transfer_reversal": null,
    });
    state.refunds.push(refund.clone());
    let version = intent_version(state, &intent_id);
    let refunded = make_event(state, "charge.refunded", &charge, &version, api_request(call));
    let created = make_event(state, "refund.created", &refund, &version, api_request(call));
    Ok((refund, vec![refunded, created]))
}

// ---------------------------------------------------------------------------------------------
// The browser

/// A test payment method: the card's brand and last four, and the decline it causes (code,
/// message) if any.
type TestCard = (&'static str, &'static str, Option<(&'static str, &'static str)>);

fn test_card(payment_method: &str) -> TestCard {
    known_test_card(payment_method).unwrap_or_else(|| {
        panic!(
            "the fake Stripe does not know the test payment method {payment_method}: use pm_card_visa, \
             pm_card_visa_debit, pm_card_mastercard, pm_card_amex, pm_card_visa_chargeDeclined or \
             pm_card_visa_chargeDeclinedInsufficientFunds"
        )
    })
}

fn known_test_card(payment_method: &str) -> Option<TestCard> {
    Some(match payment_method {
        "pm_card_visa" => ("visa", "4242", None),
        "pm_card_visa_debit" => ("visa", "5556", None),
        "pm_card_mastercard" => ("mastercard", "4444", None),
        "pm_card_amex" => ("amex", "8431", None),
        "pm_card_visa_chargeDeclined" | "pm_card_chargeDeclined" => {
            ("visa", "0002", Some(("generic_decline", "Your card was declined.")))
        }
        "pm_card_visa_chargeDeclinedInsufficientFunds" | "pm_card_chargeDeclinedInsufficientFunds" => {
            ("visa", "9995", Some(("insufficient_funds", "Your card has insufficient funds.")))
        }
        _ => return None,
    })
}

const BROWSER_CONFIRM: Spec = Spec {
    scalars: &["key", "client_secret", "payment_method", "return_url"],
    hashes: &[],
    objects: &[],
    lists: &["expand"],
};

/// The browser pays (Stripe.js's `confirmPayment`): as [`confirm_intent`], answered over HTTP.
fn browser_confirm(state: &mut State, call: &Call, id: &str) -> Routed {
    let form = call.form;
    check_params(form, &BROWSER_CONFIRM)?;
    let intent = state.intents.get(id).ok_or_else(|| no_such("payment_intent", id, "intent").status(404))?.clone();
    if param(form, "key").is_some() && param(form, "client_secret") != intent["client_secret"].as_str() {
        return Err(Failure::invalid(
            "The client_secret provided does not match the client_secret associated with the PaymentIntent.",
        )
        .param("client_secret"));
    }
    let method = param(form, "payment_method").ok_or_else(|| missing_parameter("payment_method"))?;
    if known_test_card(method).is_none() {
        return Err(no_such("PaymentMethod", method, "payment_method"));
    }
    let status = intent["status"].as_str().unwrap_or_default().to_owned();
    if !PAYABLE.contains(&status.as_str()) {
        return Err(Failure::invalid(&format!(
            "You cannot confirm this PaymentIntent because it has a status of {status}."
        ))
        .code("payment_intent_unexpected_state")
        .with("payment_intent", intent));
    }
    let made = confirm_intent(state, id, method);
    let now = state.intents.get(id).cloned().unwrap_or_default();
    match now.get("last_payment_error").filter(|e| !e.is_null()) {
        None => Ok((now, made)),
        Some(error) => {
            // The events are made all the same: Stripe sends them whatever the browser hears.
            let mut failure = Failure::new(402, "card_error", error["message"].as_str().unwrap_or_default())
                .code("card_declined")
                .with("decline_code", error["decline_code"].clone())
                .with("payment_intent", now.clone());
            failure.events = made;
            Err(failure)
        }
    }
}

/// The statuses in which the customer can pay.
const PAYABLE: [&str; 3] = ["requires_payment_method", "requires_confirmation", "requires_action"];

fn confirm_intent(state: &mut State, intent_id: &str, payment_method: &str) -> Vec<String> {
    let (brand, last4, decline) = test_card(payment_method);
    let intent = state
        .intents
        .get(intent_id)
        .unwrap_or_else(|| panic!("confirm: the fake Stripe has no PaymentIntent {intent_id}"))
        .clone();
    if !intent["status"].as_str().is_some_and(|s| PAYABLE.contains(&s)) {
        return Vec::new();
    }
    let method_id = new_id("pm");
    let charge_id = new_id("ch");
    let amount = intent["amount"].as_i64().unwrap_or(0);
    let card = json!({ "brand": brand, "last4": last4, "exp_month": 12, "exp_year": 2034, "funding": "credit" });
    let method = json!({ "id": method_id, "object": "payment_method", "type": "card", "card": card });
    let paid = decline.is_none();
    let charge = json!({
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": if paid { amount } else { 0 },
        "amount_refunded": 0,
        "balance_transaction": if paid { json!(new_id("txn")) } else { Value::Null },
        "captured": paid,
        "created": now(),
        "currency": intent["currency"],
        "description": intent["description"],
        "failure_code": decline.map(|_| "card_declined"),
        "failure_message": decline.map(|(_, message)| message),
        "livemode": false,
        "metadata": intent["metadata"],
        "outcome": match decline {
            None => json!({
                "network_status": "approved_by_network",
                "reason": null,
                "risk_level": "normal",
                "seller_message": "Payment complete.",
                "type": "authorized",
            }),
            Some((code, _)) => json!({
                "network_status": "declined_by_network",
                "reason": code,
                "risk_level": "normal",
                "seller_message": "The bank did not return any further details with this decline.",
                "type": "issuer_declined",
            }),
        },
        "paid": paid,
        "payment_intent": intent_id,
        "payment_method": method_id,
        "payment_method_details": { "type": "card", "card": card },
        "refunded": false,
        "status": if paid { "succeeded" } else { "failed" },
    });
    state.charges.insert(charge_id.clone(), charge.clone());
    let stored = state.intents.get_mut(intent_id).unwrap_or_else(|| panic!("the fake Stripe lost {intent_id}"));
    stored["latest_charge"] = json!(charge_id);
    match decline {
        None => {
            stored["status"] = json!("succeeded");
            stored["amount_received"] = json!(amount);
            stored["payment_method"] = json!(method_id);
            stored["last_payment_error"] = Value::Null;
        }
        Some((code, message)) => {
            stored["status"] = json!("requires_payment_method");
            stored["payment_method"] = Value::Null;
            stored["last_payment_error"] = json!({
                "type": "card_error",
                "code": "card_declined",
                "decline_code": code,
                "message": message,
                "charge": charge_id,
                "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                "payment_method": method,
            });
        }
    }
    let intent = stored.clone();
    let version = intent_version(state, intent_id);
    let browser = json!({ "id": null, "idempotency_key": null });
    let (charge_type, intent_type) = if paid {
        ("charge.succeeded", "payment_intent.succeeded")
    } else {
        ("charge.failed", "payment_intent.payment_failed")
    };
    vec![
        make_event(state, charge_type, &charge, &version, browser.clone()),
        make_event(state, intent_type, &intent, &version, browser),
    ]
}

// ---------------------------------------------------------------------------------------------
// Events and their delivery

fn intent_version(state: &State, intent_id: &str) -> String {
    state.versions.get(intent_id).cloned().unwrap_or_else(|| DEFAULT_API_VERSION.to_owned())
}

fn api_request(call: &Call) -> Value {
    json!({ "id": call.request_id, "idempotency_key": call.idempotency_key })
}

fn enabled(state: &State, event_type: &str) -> bool {
    state.enabled_events.as_ref().is_none_or(|types| types.iter().any(|t| t == "*" || t == event_type))
}

/// Makes an event about `object` (a snapshot of it now) and returns its id.
fn make_event(state: &mut State, event_type: &str, object: &Value, api_version: &str, request: Value) -> String {
    let id = new_id("evt");
    let pending = u8::from(state.webhook_url.is_some() && enabled(state, event_type));
    state.events.push(json!({
        "id": id,
        "object": "event",
        "api_version": api_version,
        "created": now(),
        "data": { "object": object },
        "livemode": false,
        "pending_webhooks": pending,
        "request": request,
        "type": event_type,
    }));
    id
}

/// Delivers an event to the webhook URL when one is set and the event's type is enabled;
/// returns the endpoint's status (0: not delivered, or no answer).
async fn deliver_event(shared: &Shared, event_id: &str) -> u16 {
    deliver(shared, event_id, false).await
}

async fn deliver(shared: &Shared, event_id: &str, any_type: bool) -> u16 {
    let (event, url) = {
        let state = shared.state();
        let Some(event) = state.events.iter().find(|e| e["id"] == event_id).cloned() else { return 0 };
        let Some(url) = state.webhook_url.clone() else { return 0 };
        if !any_type && !enabled(&state, event["type"].as_str().unwrap_or("")) {
            return 0;
        }
        (event, url)
    };
    let body = serde_json::to_vec_pretty(&event).unwrap_or_else(|e| panic!("an event serialises: {e}"));
    let signature = signature_header(&shared.webhook_secret, now(), &body);
    let status = post_json(&url, &signature, &body).await;
    shared.state().deliveries.push(Delivery {
        event_id: event_id.to_owned(),
        event_type: event["type"].as_str().unwrap_or("").to_owned(),
        status,
    });
    status
}

/// POSTs `body` to a plain-http URL as Stripe's webhooks come; the status of the answer, or 0
/// when there is none within [`DELIVERY_TIMEOUT`].
/// POSTs an event as Stripe does; the endpoint's status, or 0 without an answer in time.
async fn post_json(url: &str, signature: &str, body: &[u8]) -> u16 {
    let client = reqwest::Client::builder().timeout(DELIVERY_TIMEOUT).build().expect("an HTTP client for webhooks");
    let sent = client
        .post(url)
        .header("content-type", "application/json; charset=utf-8")
        .header("user-agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
        .header("stripe-signature", signature)
        .body(body.to_vec())
        .send()
        .await;
    sent.map_or(0, |response| response.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_plus_percent_and_bracketed_keys() {
        let form = parse_form("metadata%5BorderId%5D=o+1&description=caf%C3%A9&flag&amount=500");
        assert_eq!(
            form,
            vec![
                ("metadata[orderId]".to_owned(), "o 1".to_owned()),
                ("description".to_owned(), "café".to_owned()),
                ("flag".to_owned(), String::new()),
                ("amount".to_owned(), "500".to_owned()),
            ]
        );
    }

    #[test]
    fn keys_are_masked_to_their_prefix_and_last_four() {
        assert_eq!(masked_key("sk_test_abcdefgh1234"), "sk_test_****1234");
        assert_eq!(masked_key("sk_test_12"), "sk_test_****");
        assert_eq!(masked_key("whatever9876"), "****9876");
    }

    #[test]
    fn versions_are_dates_with_an_optional_release_name() {
        assert!(is_api_version("2024-06-20"));
        assert!(is_api_version("2024-09-30.acacia"));
        assert!(!is_api_version("latest"));
        assert!(!is_api_version("2024-06-20."));
    }

    #[test]
    fn parameters_follow_the_spec() {
        let pairs = |p: &[(&str, &str)]| p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
        assert!(
            check_params(&pairs(&[("amount", "1"), ("metadata[a]", "b"), ("expand[]", "x")]), &CREATE_INTENT).is_ok()
        );
        let err = |p: &[(&str, &str)]| check_params(&pairs(p), &CREATE_INTENT).err().map(|f| f.body());
        assert_eq!(err(&[("colour", "red")]).map(|b| b["error"]["param"].clone()), Some(json!("colour")));
        assert_eq!(
            err(&[("automatic_payment_methods[foo]", "x")]).map(|b| b["error"]["param"].clone()),
            Some(json!("automatic_payment_methods[foo]"))
        );
        assert!(err(&[("amount[x]", "1")]).is_some());
    }
}

//! `Idempotency-Key`, as Stripe does it: a client that is not sure its request arrived (a
//! timeout, a dropped connection) sends it again with the same key and gets the first answer,
//! not a second order.
//!
//! - The key is the caller's: it is scoped to their session (an anonymous request may not
//!   carry one: its answer could be another client's).
//! - The first answer (status and body) is kept 24 hours in the process's own store, so a
//!   restart does not forget it; a repeat with the same method, path and body gets it back with
//!   `Idempotent-Replayed: true`.
//! - The same key with another request is 422 `IDEMPOTENCY_KEY_REUSED`.
//! - While the first is still running, a repeat waits for its answer (up to 10 s), then gets
//!   409. A claim whose process died with it is taken over after a minute.
//! - A 503 (a dependency down) is not kept: trying again later should really try again.
//!
//! It applies to every request that changes something (POST, PUT, PATCH, DELETE) and carries
//! the header: the REST routes and `POST /graphql` alike.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use coffee_bus::{Change, Expect, Kind, Migration, RecordKey, Records, Store, StoreError, Table, record_table};
use coffee_domain::Millis;
use coffee_service::ServiceError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ApiError;

pub const HEADER: &str = "idempotency-key";
/// How long an answer is kept.
pub const KEPT_FOR: Duration = Duration::from_secs(24 * 3600);
/// How long a repeat waits for the first request to finish.
const WAIT_FOR_FIRST: Duration = Duration::from_secs(10);
/// A claim older than this whose request never finished was its process's last.
const ABANDONED_AFTER: Duration = Duration::from_secs(60);
/// The largest answer kept (the API's are a few KiB).
const MAX_KEPT_ANSWER: usize = 256 * 1024;
/// The longest key taken (Stripe's limit).
const MAX_KEY_LEN: usize = 255;

/// One key's request and, once it finished, its answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeptAnswer {
    /// SHA-256 of the scope and the key.
    pub id: String,
    /// SHA-256 of the method, path and body: what the key was first used for.
    pub request: String,
    pub started_at: Millis,
    /// None while the first request runs.
    pub answer: Option<Answer>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

pub const KEPT_ANSWERS: Kind<KeptAnswer> = Kind::new(Table::new("idempotency_keys"), |k| RecordKey {
    id: k.id.clone(),
    order_id: k.id.clone(),
    customer_id: String::new(),
    day: k.started_at.day().to_string(),
    created_at: k.started_at.0,
    status: if k.answer.is_some() { "DONE" } else { "RUNNING" },
});

/// The table, for every store a process keeps its keys in.
pub const MIGRATIONS: &[Migration] = &[Migration {
    owner: "idempotency",
    version: 1,
    name: "idempotency keys",
    sql: record_table!("idempotency_keys", one_per_order),
}];

/// Where a process keeps its keys' answers: `store`, the process's own.
pub(crate) fn kept_in(store: Arc<dyn Store>) -> Records<KeptAnswer> {
    Records::new(store, KEPT_ANSWERS)
}

/// Runs a request with an idempotency key once. Inside the authentication layer: the key's
/// scope is the caller's session.
pub(crate) async fn keep(State(kept): State<Records<KeptAnswer>>, request: Request, next: Next) -> Response {
    let Some(key) = request.headers().get(HEADER).cloned() else { return next.run(request).await };
    if request.method().is_safe() {
        return next.run(request).await;
    }
    match run_once(&kept, key, request, next).await {
        Ok(response) => response,
        Err(e) => ApiError(e).into_response(),
    }
}

async fn run_once(
    kept: &Records<KeptAnswer>,
    key: HeaderValue,
    request: Request,
    next: Next,
) -> Result<Response, ServiceError> {
    let key = key
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| ServiceError::BadInput(format!("Idempotency-Key: 1 to {MAX_KEY_LEN} visible ASCII characters")))?
        .to_owned();
    let (parts, body) = request.into_parts();
    let ctx = crate::context_of(&parts);
    let Some(session) = &ctx.session else {
        return Err(ServiceError::BadInput("an Idempotency-Key needs a session: sign in first".to_owned()));
    };
    let body = axum::body::to_bytes(body, crate::MAX_BODY).await.map_err(|_| {
        ServiceError::PayloadTooLarge(format!("the request body is larger than {} bytes", crate::MAX_BODY))
    })?;
    let id = hash(&[session.as_bytes(), b"\n", key.as_bytes()]);
    let path = parts.uri.path_and_query().map_or("", |p| p.as_str()).to_owned();
    let fingerprint = hash(&[parts.method.as_str().as_bytes(), b" ", path.as_bytes(), b"\n", &body]);

    let claimed = claim(kept, &id, &fingerprint).await?;
    let request = Request::from_parts(parts, Body::from(body));
    let version = match claimed {
        Claim::Replay(answer) => return Ok(replay(answer)),
        Claim::Ours(version) => version,
    };
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_KEPT_ANSWER).await else {
        // Not an answer that can be kept (nothing of ours is this large): give the claim up.
        release(kept, &id, version).await;
        return Err(ServiceError::Internal("an answer too large to keep for its Idempotency-Key".to_owned()));
    };
    if parts.status == StatusCode::SERVICE_UNAVAILABLE {
        release(kept, &id, version).await;
    } else {
        let answer = Answer {
            status: parts.status.as_u16(),
            content_type: parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        let done = KeptAnswer { id: id.clone(), request: fingerprint, started_at: now(), answer: Some(answer) };
        let change = Change::new().put(KEPT_ANSWERS, &done, Expect::Version(version)).map_err(ServiceError::from)?;
        if let Err(e) = kept.commit(change).await {
            // The request ran; only its replay is lost. A repeat will run it again, as without a key.
            tracing::warn!(error = %e, "could not keep an answer for its Idempotency-Key");
        }
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

enum Claim {
    /// This request runs; the claim is at this version.
    Ours(i64),
    /// The first request's answer.
    Replay(Answer),
}

/// Claims `id` for this request, or finds the answer of the first one with it.
async fn claim(kept: &Records<KeptAnswer>, id: &str, fingerprint: &str) -> Result<Claim, ServiceError> {
    let deadline = tokio::time::Instant::now() + WAIT_FOR_FIRST;
    loop {
        let now = now();
        let existing = kept.get(id).await?;
        let expect = match &existing {
            Some(found) if found.value.started_at.0 + KEPT_FOR.as_millis() as i64 <= now.0 => {
                Expect::Version(found.version)
            }
            Some(found) if found.value.request != fingerprint => {
                return Err(ServiceError::IdempotencyKeyReused(
                    "this Idempotency-Key was used for another request; use a new key for a new request".to_owned(),
                ));
            }
            Some(found) => match &found.value.answer {
                Some(answer) => return Ok(Claim::Replay(answer.clone())),
                None if found.value.started_at.0 + ABANDONED_AFTER.as_millis() as i64 <= now.0 => {
                    Expect::Version(found.version)
                }
                None if tokio::time::Instant::now() >= deadline => {
                    return Err(ServiceError::Conflict(
                        "a request with this Idempotency-Key is still running; try again in a moment".to_owned(),
                    ));
                }
                None => {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                    continue;
                }
            },
            None => Expect::New,
        };
        let mine = KeptAnswer { id: id.to_owned(), request: fingerprint.to_owned(), started_at: now, answer: None };
        let version = match expect {
            Expect::New => 1,
            Expect::Version(v) => v + 1,
        };
        match kept.commit(Change::new().put(KEPT_ANSWERS, &mine, expect)?).await {
            Ok(_) => return Ok(Claim::Ours(version)),
            // Another request with the key claimed it first: see what it did.
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Gives a claim up, so the next request with the key runs.
async fn release(kept: &Records<KeptAnswer>, id: &str, version: i64) {
    let expired = KeptAnswer { id: id.to_owned(), request: String::new(), started_at: Millis(0), answer: None };
    match Change::new().put(KEPT_ANSWERS, &expired, Expect::Version(version)) {
        Ok(change) => {
            if let Err(e) = kept.commit(change).await {
                tracing::warn!(error = %e, "could not give up an Idempotency-Key's claim; it lapses in a minute");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not give up an Idempotency-Key's claim"),
    }
}

fn replay(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, answer.body).into_response();
    let headers = response.headers_mut();
    if let Some(value) = answer.content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

fn hash(parts: &[&[u8]]) -> String {
    let mut digest = Sha256::new();
    for part in parts {
        digest.update(part);
    }
    hex::encode(digest.finalize())
}

fn now() -> Millis {
    coffee_service::now()
}

//! Operations endpoints: liveness, readiness, and the dead-letter queues.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use coffee_bus::{DeadLetter, DeadLetters, Lookup, Store, Table};
use coffee_http::{ApiQuery, ServiceError};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Clone)]
struct Admin {
    store: Arc<dyn Store>,
    dead_letters: Arc<dyn DeadLetters>,
}

pub fn routes(store: Arc<dyn Store>, dead_letters: Arc<dyn DeadLetters>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/admin/dead-letters", get(list))
        .route("/api/admin/dead-letters/redrive", post(redrive))
        .with_state(Admin { store, dead_letters })
}

/// Alive: the process answers.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready: the database answers a query.
async fn readyz(State(a): State<Admin>) -> (StatusCode, Json<Value>) {
    match a.store.find(Table::new("orders"), Lookup::Status("ORDER_CREATED"), 1).await {
        Ok(_) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "reason": e.to_string() }))),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsumerParam {
    consumer: Option<String>,
}

async fn list(
    State(a): State<Admin>,
    ApiQuery(p): ApiQuery<ConsumerParam>,
) -> Result<Json<Vec<DeadLetter>>, ServiceError> {
    Ok(Json(a.dead_letters.dead_letters(p.consumer.as_deref()).await?))
}

async fn redrive(State(a): State<Admin>, ApiQuery(p): ApiQuery<ConsumerParam>) -> Result<Json<Value>, ServiceError> {
    let redriven = a.dead_letters.redrive(p.consumer.as_deref()).await?;
    Ok(Json(json!({ "redriven": redriven })))
}

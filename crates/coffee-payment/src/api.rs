//! The payment service's REST routes.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use coffee_bus::Envelope;
use coffee_domain::Payment;
use coffee_http::{ApiJson, ApiPath, ApiQuery, ServiceError, Trace};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::client::{PaymentClient, PaymentFilter};
use crate::model::{ConfirmBody, CreatePaymentBody, PaymentWithSecret};
use crate::service::PaymentService;
use crate::webhook::SIGNATURE_HEADER;

pub fn routes(service: PaymentService) -> Router {
    Router::new()
        .route("/api/payment", get(list).post(create))
        .route("/api/payment/webhook", post(webhook))
        .route("/api/payment/events", get(events))
        .route("/api/payment/{id}", get(one))
        .route("/api/payment/{id}/confirm", post(confirm))
        .with_state(service)
}

async fn create(
    State(s): State<PaymentService>,
    Trace(trace): Trace,
    ApiJson(body): ApiJson<CreatePaymentBody>,
) -> Result<(StatusCode, Json<PaymentWithSecret>), ServiceError> {
    Ok((StatusCode::CREATED, Json(s.create_payment(&body.order_id, &trace).await?)))
}

async fn one(State(s): State<PaymentService>, ApiPath(id): ApiPath<String>) -> Result<Json<Payment>, ServiceError> {
    Ok(Json(s.payment(&id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListParams {
    date: Option<String>,
    order_id: Option<String>,
    limit: Option<u32>,
}

async fn list(
    State(s): State<PaymentService>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<Vec<Payment>>, ServiceError> {
    let filter = PaymentFilter { date: p.date, order_id: p.order_id, limit: p.limit };
    Ok(Json(s.payments(&filter).await?))
}

async fn confirm(
    State(s): State<PaymentService>,
    Trace(trace): Trace,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ConfirmBody>,
) -> Result<Json<Payment>, ServiceError> {
    Ok(Json(s.confirm_payment(&id, &body.card_number, &trace).await?))
}

/// The provider's signed callback. The body is taken raw: the signature covers its bytes.
async fn webhook(
    State(s): State<PaymentService>,
    Trace(trace): Trace,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ServiceError> {
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    s.receive_webhook(signature, &body, &trace).await?;
    Ok(Json(json!({ "received": true })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EventsParams {
    order_id: String,
}

async fn events(
    State(s): State<PaymentService>,
    ApiQuery(p): ApiQuery<EventsParams>,
) -> Result<Json<Vec<Envelope>>, ServiceError> {
    Ok(Json(s.payment_events(&p.order_id).await?))
}

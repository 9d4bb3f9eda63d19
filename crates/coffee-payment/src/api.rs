//! The payment service's REST routes: extract the operation's request, call, answer.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use coffee_bus::Envelope;
use coffee_domain::{Payment, PaymentId};
use coffee_http::{ApiError, ApiJson, ApiQuery, Ctx, IdPath};
use coffee_service::OfOrder;
use serde_json::{Value, json};

use crate::client::PaymentClient;
use crate::model::{Checkout, ConfirmPayment, CreatePayment, PaymentList, PaymentWithSecret};
use crate::service::PaymentService;
use crate::webhook::SIGNATURE_HEADER;

pub fn routes(service: PaymentService) -> Router {
    Router::new()
        .route("/api/payment", get(list).post(create))
        .route("/api/payment/webhook", post(webhook))
        .route("/api/payment/events", get(events))
        .route("/api/payment/checkout", get(checkout))
        .route("/api/payment/{id}", get(one))
        .route("/api/payment/{id}/confirm", post(confirm))
        .with_state(service)
}

type Answer<T> = Result<Json<T>, ApiError>;

async fn create(
    State(s): State<PaymentService>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<CreatePayment>,
) -> Result<(StatusCode, Json<PaymentWithSecret>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.create_payment(&ctx, &request).await?)))
}

async fn one(State(s): State<PaymentService>, Ctx(ctx): Ctx, IdPath(id): IdPath<PaymentId>) -> Answer<Payment> {
    Ok(Json(s.payment(&ctx, id).await?))
}

async fn list(
    State(s): State<PaymentService>,
    Ctx(ctx): Ctx,
    ApiQuery(list): ApiQuery<PaymentList>,
) -> Answer<Vec<Payment>> {
    Ok(Json(s.payments(&ctx, &list).await?))
}

async fn confirm(
    State(s): State<PaymentService>,
    Ctx(ctx): Ctx,
    IdPath(id): IdPath<PaymentId>,
    ApiJson(request): ApiJson<ConfirmPayment>,
) -> Answer<Payment> {
    Ok(Json(s.confirm_payment(&ctx, id, &request).await?))
}

/// The provider's signed callback. The body is taken raw: the signature covers its bytes.
async fn webhook(State(s): State<PaymentService>, Ctx(ctx): Ctx, headers: HeaderMap, body: Bytes) -> Answer<Value> {
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    s.receive_webhook(&ctx, signature, &body).await?;
    Ok(Json(json!({ "received": true })))
}

async fn events(
    State(s): State<PaymentService>,
    Ctx(ctx): Ctx,
    ApiQuery(of): ApiQuery<OfOrder>,
) -> Answer<Vec<Envelope>> {
    Ok(Json(s.payment_events(&ctx, of.order_id).await?))
}

async fn checkout(State(s): State<PaymentService>, Ctx(ctx): Ctx) -> Answer<Checkout> {
    Ok(Json(s.checkout(&ctx).await?))
}

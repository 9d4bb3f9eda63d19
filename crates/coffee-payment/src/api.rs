//! The payment service's REST routes: extract the operation's request, call, answer.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use coffee_bus::Envelope;
use coffee_domain::{Payment, PaymentId};
use coffee_http::openapi::api_routing::{get_with, post_with};
use coffee_http::{ApiError, ApiJson, ApiQuery, ApiRouter, Created, Ctx, IdPath};
use coffee_service::OfOrder;
use serde_json::{Value, json};

use crate::client::PaymentClient;
use crate::model::{Checkout, ConfirmPayment, CreatePayment, PaymentList, PaymentWithSecret};
use crate::service::PaymentService;
use crate::webhook::SIGNATURE_HEADER;

pub fn routes(service: PaymentService) -> ApiRouter {
    declared().with_state(service)
}

/// The payment service's OpenAPI paths and schemas, added to `api`.
pub fn describe(api: &mut coffee_http::openapi::OpenApi) {
    let _ = declared().finish_api(api);
}

/// Each route with its OpenAPI description; who may call it is README's "Who may do what".
fn declared() -> ApiRouter<PaymentService> {
    ApiRouter::new()
        .api_route(
            "/api/payment",
            get_with(list, |op| {
                op.id("getPaymentList")
                    .tag(TAG)
                    .summary("Payments of a day or of an order (staff; an order's: its customer).")
            })
            .post_with(create, |op| {
                op.id("createPayment").tag(TAG).summary("Start paying for an order (its customer, admins).")
            }),
        )
        .api_route(
            "/api/payment/webhook",
            post_with(webhook, |op| {
                let op = op.id("paymentWebhook").tag(TAG).summary("The provider's signed callback (the provider).");
                coffee_http::openapi::header(
                    op,
                    SIGNATURE_HEADER,
                    "Stripe's signature of the body (t=...,v1=...), made with the webhook secret.",
                )
            }),
        )
        .api_route(
            "/api/payment/events",
            get_with(events, |op| {
                op.id("getPaymentEvents")
                    .tag(TAG)
                    .summary("What the payment service published about an order (who may read the order).")
            }),
        )
        .api_route(
            "/api/payment/checkout",
            get_with(checkout, |op| {
                op.id("getCheckout")
                    .tag(TAG)
                    .summary("How the browser pays: the provider and its publishable key (anyone).")
            }),
        )
        .api_route(
            "/api/payment/{id}",
            get_with(one, |op| op.id("getPaymentById").tag(TAG).summary("One payment (its order's customer, staff).")),
        )
        .api_route(
            "/api/payment/{id}/confirm",
            post_with(confirm, |op| {
                op.id("confirmPayment")
                    .tag(TAG)
                    .summary("Pay with a card on the simulated provider's form (its order's customer, admins).")
            }),
        )
}

const TAG: &str = "payment";

type Answer<T> = Result<Json<T>, ApiError>;

async fn create(
    State(s): State<PaymentService>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<CreatePayment>,
) -> Result<Created<PaymentWithSecret>, ApiError> {
    Ok(Created(s.create_payment(&ctx, &request).await?))
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

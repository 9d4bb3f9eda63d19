//! The fulfilment service's REST routes: extract the operation's request, call, answer.

use axum::Json;
use axum::extract::State;
use coffee_bus::Envelope;
use coffee_domain::{Fulfilment, FulfilmentId};
use coffee_http::openapi::api_routing::{get_with, put_with};
use coffee_http::{ApiError, ApiJson, ApiQuery, ApiRouter, Ctx, IdPath};
use coffee_service::OfOrder;

use crate::client::FulfilmentClient;
use crate::model::{Claim, FulfilmentChange, FulfilmentList};
use crate::service::FulfilmentService;

pub fn routes(service: FulfilmentService) -> ApiRouter {
    declared().with_state(service)
}

/// The fulfilment service's OpenAPI paths and schemas, added to `api`.
pub fn describe(api: &mut coffee_http::openapi::OpenApi) {
    let _ = declared().finish_api(api);
}

/// Each route with its OpenAPI description; who may call it is README's "Who may do what".
fn declared() -> ApiRouter<FulfilmentService> {
    ApiRouter::new()
        .api_route(
            "/api/fulfilment",
            get_with(list, |op| {
                op.id("getFulfilmentList").tag(TAG).summary(
                    "The barista's queue, or fulfilments of a day or an order (staff; an order's: its customer).",
                )
            }),
        )
        .api_route(
            "/api/fulfilment/events",
            get_with(events, |op| {
                op.id("getFulfilmentEvents")
                    .tag(TAG)
                    .summary("What the fulfilment service published about an order (who may read the order).")
            }),
        )
        .api_route(
            "/api/fulfilment/{id}",
            get_with(one, |op| {
                op.id("getFulfilmentById").tag(TAG).summary("One fulfilment (its order's customer, staff).")
            })
            .patch_with(change, |op| {
                op.id("updateFulfilment").tag(TAG).summary("Complete or reject a coffee (staff).")
            }),
        )
        .api_route(
            "/api/fulfilment/{id}/claim",
            put_with(claim, |op| {
                op.id("claimFulfilment").tag(TAG).summary("Take a waiting coffee for the barista signed in (staff).")
            })
            .delete_with(release, |op| {
                op.id("releaseFulfilment").tag(TAG).summary("Let a claimed coffee go (its barista; another's: admins).")
            }),
        )
}

const TAG: &str = "fulfilment";

type Answer<T> = Result<Json<T>, ApiError>;

async fn one(
    State(s): State<FulfilmentService>,
    Ctx(ctx): Ctx,
    IdPath(id): IdPath<FulfilmentId>,
) -> Answer<Fulfilment> {
    Ok(Json(s.fulfilment(&ctx, id).await?))
}

async fn list(
    State(s): State<FulfilmentService>,
    Ctx(ctx): Ctx,
    ApiQuery(list): ApiQuery<FulfilmentList>,
) -> Answer<Vec<Fulfilment>> {
    Ok(Json(s.fulfilments(&ctx, &list).await?))
}

async fn change(
    State(s): State<FulfilmentService>,
    Ctx(ctx): Ctx,
    IdPath(id): IdPath<FulfilmentId>,
    ApiJson(change): ApiJson<FulfilmentChange>,
) -> Answer<Fulfilment> {
    Ok(Json(s.change_fulfilment(&ctx, id, &change).await?))
}

async fn events(
    State(s): State<FulfilmentService>,
    Ctx(ctx): Ctx,
    ApiQuery(of): ApiQuery<OfOrder>,
) -> Answer<Vec<Envelope>> {
    Ok(Json(s.fulfilment_events(&ctx, of.order_id).await?))
}

async fn claim(
    State(s): State<FulfilmentService>,
    Ctx(ctx): Ctx,
    IdPath(id): IdPath<FulfilmentId>,
) -> Answer<Fulfilment> {
    Ok(Json(s.claim_fulfilment(&ctx, id, &Claim { claimed: true }).await?))
}

async fn release(
    State(s): State<FulfilmentService>,
    Ctx(ctx): Ctx,
    IdPath(id): IdPath<FulfilmentId>,
) -> Answer<Fulfilment> {
    Ok(Json(s.claim_fulfilment(&ctx, id, &Claim { claimed: false }).await?))
}

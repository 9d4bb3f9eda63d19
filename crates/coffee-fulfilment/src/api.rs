//! The fulfilment service's REST routes: extract the operation's request, call, answer.

use axum::extract::State;
use axum::routing::{get, put};
use axum::{Json, Router};
use coffee_bus::Envelope;
use coffee_domain::{Fulfilment, FulfilmentId};
use coffee_http::{ApiError, ApiJson, ApiQuery, Ctx, IdPath};
use coffee_service::OfOrder;

use crate::client::FulfilmentClient;
use crate::model::{Claim, FulfilmentChange, FulfilmentList};
use crate::service::FulfilmentService;

pub fn routes(service: FulfilmentService) -> Router {
    Router::new()
        .route("/api/fulfilment", get(list))
        .route("/api/fulfilment/events", get(events))
        .route("/api/fulfilment/{id}", get(one).patch(change))
        .route("/api/fulfilment/{id}/claim", put(claim).delete(release))
        .with_state(service)
}

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

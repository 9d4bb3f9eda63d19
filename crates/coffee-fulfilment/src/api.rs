//! The fulfilment service's REST routes.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use coffee_bus::Envelope;
use coffee_domain::Fulfilment;
use coffee_http::{ApiJson, ApiPath, ApiQuery, ServiceError, Trace};
use serde::Deserialize;

use crate::client::{FulfilmentClient, FulfilmentFilter};
use crate::model::ChangeFulfilmentBody;
use crate::service::FulfilmentService;

pub fn routes(service: FulfilmentService) -> Router {
    Router::new()
        .route("/api/fulfilment", get(list))
        .route("/api/fulfilment/events", get(events))
        .route("/api/fulfilment/{id}", get(one).patch(change))
        .with_state(service)
}

async fn one(
    State(s): State<FulfilmentService>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Fulfilment>, ServiceError> {
    Ok(Json(s.fulfilment(&id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListParams {
    date: Option<String>,
    order_id: Option<String>,
    status: Option<String>,
    limit: Option<u32>,
}

async fn list(
    State(s): State<FulfilmentService>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<Vec<Fulfilment>>, ServiceError> {
    let filter = FulfilmentFilter { date: p.date, order_id: p.order_id, status: p.status, limit: p.limit };
    Ok(Json(s.fulfilments(&filter).await?))
}

async fn change(
    State(s): State<FulfilmentService>,
    Trace(trace): Trace,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ChangeFulfilmentBody>,
) -> Result<Json<Fulfilment>, ServiceError> {
    Ok(Json(s.change_fulfilment(&id, &body.status, body.note.as_deref(), &trace).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EventsParams {
    order_id: String,
}

async fn events(
    State(s): State<FulfilmentService>,
    ApiQuery(p): ApiQuery<EventsParams>,
) -> Result<Json<Vec<Envelope>>, ServiceError> {
    Ok(Json(s.fulfilment_events(&p.order_id).await?))
}

//! The order service's REST routes: extract, call the service, answer.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use coffee_bus::Envelope;
use coffee_domain::{Coffee, Order};
use coffee_http::{ApiJson, ApiPath, ApiQuery, ServiceError, Trace};
use serde::Deserialize;

use crate::client::{OrderClient, OrderFilter};
use crate::model::{ChangeOrderBody, PlaceOrderBody};
use crate::service::OrderService;

pub fn routes(service: OrderService) -> Router {
    Router::new()
        .route("/api/coffees", get(coffees))
        .route("/api/order", get(list).post(place))
        .route("/api/order/events", get(events))
        .route("/api/order/{id}", get(one).patch(change))
        .with_state(service)
}

async fn coffees(State(s): State<OrderService>) -> Result<Json<Vec<Coffee>>, ServiceError> {
    Ok(Json(s.coffees().await?))
}

async fn place(
    State(s): State<OrderService>,
    Trace(trace): Trace,
    ApiJson(body): ApiJson<PlaceOrderBody>,
) -> Result<(StatusCode, Json<Order>), ServiceError> {
    let coffee_id = body.coffee_id().map_err(ServiceError::BadInput)?;
    let order = s.place_order(&coffee_id, &body.customer_id, &body.customer_name, &trace).await?;
    Ok((StatusCode::CREATED, Json(order)))
}

async fn one(State(s): State<OrderService>, ApiPath(id): ApiPath<String>) -> Result<Json<Order>, ServiceError> {
    Ok(Json(s.order(&id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListParams {
    date: Option<String>,
    customer_id: Option<String>,
    limit: Option<u32>,
}

async fn list(
    State(s): State<OrderService>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<Vec<Order>>, ServiceError> {
    let filter = OrderFilter { date: p.date, customer_id: p.customer_id, limit: p.limit };
    Ok(Json(s.orders(&filter).await?))
}

async fn change(
    State(s): State<OrderService>,
    Trace(trace): Trace,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ChangeOrderBody>,
) -> Result<Json<Order>, ServiceError> {
    Ok(Json(s.change_order(&id, &body.status, body.note.as_deref(), &trace).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EventsParams {
    order_id: String,
}

async fn events(
    State(s): State<OrderService>,
    ApiQuery(p): ApiQuery<EventsParams>,
) -> Result<Json<Vec<Envelope>>, ServiceError> {
    Ok(Json(s.order_events(&p.order_id).await?))
}

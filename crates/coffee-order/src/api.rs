//! The order service's REST routes: extract the operation's request, call, answer.

use axum::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch};
use axum::{Json, Router};
use coffee_bus::Envelope;
use coffee_domain::{CoffeeChange, CoffeeId, DayFigures, MenuItem, Order, OrderId};
use coffee_http::{ApiError, ApiJson, ApiQuery, Ctx, IdPath};
use coffee_service::OfOrder;

use crate::client::OrderClient;
use crate::model::{FiguresQuery, OrderChange, OrderList, PickupOrder, PlaceOrder, SetShop, ShopStatus};
use crate::service::OrderService;

pub fn routes(service: OrderService) -> Router {
    Router::new()
        .route("/api/coffees", get(coffees).post(add_coffee))
        .route("/api/coffees/{id}", patch(change_coffee).delete(remove_coffee))
        .route("/api/order", get(list).post(place))
        .route("/api/order/events", get(events))
        .route("/api/order/board", get(board))
        .route("/api/order/{id}", get(one).patch(change))
        .route("/api/shop", get(shop).put(set_shop))
        .route("/api/shop/figures", get(figures))
        .with_state(service)
}

type Answer<T> = Result<Json<T>, ApiError>;

async fn coffees(State(s): State<OrderService>, Ctx(ctx): Ctx) -> Answer<Vec<MenuItem>> {
    Ok(Json(s.coffees(&ctx).await?))
}

async fn place(
    State(s): State<OrderService>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<PlaceOrder>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.place_order(&ctx, &request).await?)))
}

async fn one(State(s): State<OrderService>, Ctx(ctx): Ctx, IdPath(id): IdPath<OrderId>) -> Answer<Order> {
    Ok(Json(s.order(&ctx, id).await?))
}

async fn list(State(s): State<OrderService>, Ctx(ctx): Ctx, ApiQuery(list): ApiQuery<OrderList>) -> Answer<Vec<Order>> {
    Ok(Json(s.orders(&ctx, &list).await?))
}

async fn change(
    State(s): State<OrderService>,
    Ctx(ctx): Ctx,
    IdPath(id): IdPath<OrderId>,
    ApiJson(change): ApiJson<OrderChange>,
) -> Answer<Order> {
    Ok(Json(s.change_order(&ctx, id, &change).await?))
}

async fn events(
    State(s): State<OrderService>,
    Ctx(ctx): Ctx,
    ApiQuery(of): ApiQuery<OfOrder>,
) -> Answer<Vec<Envelope>> {
    Ok(Json(s.order_events(&ctx, of.order_id).await?))
}

async fn board(State(s): State<OrderService>, Ctx(ctx): Ctx) -> Answer<Vec<PickupOrder>> {
    Ok(Json(s.pickup_board(&ctx).await?))
}

async fn shop(State(s): State<OrderService>, Ctx(ctx): Ctx) -> Answer<ShopStatus> {
    Ok(Json(s.shop(&ctx).await?))
}

async fn set_shop(
    State(s): State<OrderService>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<SetShop>,
) -> Answer<ShopStatus> {
    Ok(Json(s.set_shop(&ctx, &request).await?))
}

async fn figures(
    State(s): State<OrderService>,
    Ctx(ctx): Ctx,
    ApiQuery(query): ApiQuery<FiguresQuery>,
) -> Answer<DayFigures> {
    Ok(Json(s.figures(&ctx, &query).await?))
}

async fn add_coffee(
    State(s): State<OrderService>,
    Ctx(ctx): Ctx,
    ApiJson(coffee): ApiJson<CoffeeChange>,
) -> Result<(StatusCode, Json<MenuItem>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.add_coffee(&ctx, &coffee).await?)))
}

/// A coffee id in a path: one that cannot be an id names no coffee (404, as an unknown one).
fn coffee_id(raw: &str) -> Result<CoffeeId, ApiError> {
    CoffeeId::parse(raw).map_err(|_| ApiError::from(coffee_service::ServiceError::not_found("coffee on the menu", raw)))
}

async fn change_coffee(
    State(s): State<OrderService>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<CoffeeChange>,
) -> Answer<MenuItem> {
    Ok(Json(s.change_coffee(&ctx, &coffee_id(&id)?, &change).await?))
}

async fn remove_coffee(State(s): State<OrderService>, Ctx(ctx): Ctx, Path(id): Path<String>) -> Answer<Vec<MenuItem>> {
    Ok(Json(s.remove_coffee(&ctx, &coffee_id(&id)?).await?))
}

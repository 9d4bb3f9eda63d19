//! The order service's REST routes: extract the operation's request, call, answer.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use coffee_bus::Envelope;
use coffee_domain::{MenuItem, Order, OrderId};
use coffee_http::{ApiError, ApiJson, ApiQuery, Ctx, IdPath};
use coffee_service::OfOrder;

use crate::client::OrderClient;
use crate::model::{OrderChange, OrderList, PickupOrder, PlaceOrder, SetShop, ShopStatus};
use crate::service::OrderService;

pub fn routes(service: OrderService) -> Router {
    Router::new()
        .route("/api/coffees", get(coffees))
        .route("/api/order", get(list).post(place))
        .route("/api/order/events", get(events))
        .route("/api/order/board", get(board))
        .route("/api/order/{id}", get(one).patch(change))
        .route("/api/shop", get(shop).put(set_shop))
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

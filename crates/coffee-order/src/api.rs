//! The order service's REST routes: extract the operation's request, call, answer.

use axum::Json;
use axum::extract::State;
use coffee_bus::Envelope;
use coffee_domain::{CoffeeChange, CoffeeId, DayFigures, MenuItem, Order, OrderId};
use coffee_http::openapi::api_routing::{get_with, patch_with};
use coffee_http::{ApiError, ApiJson, ApiPath, ApiQuery, ApiRouter, Created, Ctx, IdPath};
use coffee_service::OfOrder;

use crate::client::OrderClient;
use crate::model::{FiguresQuery, OrderChange, OrderList, PickupOrder, PlaceOrder, SetShop, ShopStatus};
use crate::service::OrderService;

pub fn routes(service: OrderService) -> ApiRouter {
    declared().with_state(service)
}

/// The order service's OpenAPI paths and schemas, added to `api`.
pub fn describe(api: &mut coffee_http::openapi::OpenApi) {
    let _ = declared().finish_api(api);
}

/// Each route with its OpenAPI description; who may call it is README's "Who may do what".
fn declared() -> ApiRouter<OrderService> {
    ApiRouter::new()
        .api_route(
            "/api/coffees",
            get_with(coffees, |op| op.id("getCoffees").tag(TAG).summary("The menu (anyone)."))
                .post_with(add_coffee, |op| op.id("addCoffee").tag(TAG).summary("Add a drink to the menu (admins).")),
        )
        .api_route(
            "/api/coffees/{id}",
            patch_with(change_coffee, |op| {
                op.id("changeCoffee").tag(TAG).summary("Change a drink, or mark it sold out (admins).")
            })
            .delete_with(remove_coffee, |op| {
                op.id("removeCoffee").tag(TAG).summary("Take a drink off the menu (admins).")
            }),
        )
        .api_route(
            "/api/order",
            get_with(list, |op| {
                op.id("getOrderList")
                    .tag(TAG)
                    .summary("Orders of a day or of a customer (staff; a customer's own: that customer).")
            })
            .post_with(place, |op| op.id("createOrder").tag(TAG).summary("Place an order (customers, admins).")),
        )
        .api_route(
            "/api/order/events",
            get_with(events, |op| {
                op.id("getOrderEvents")
                    .tag(TAG)
                    .summary("What the order service published about an order (who may read the order).")
            }),
        )
        .api_route(
            "/api/order/board",
            get_with(board, |op| {
                op.id("getPickupBoard").tag(TAG).summary("The pickup board: numbers and first names (anyone).")
            }),
        )
        .api_route(
            "/api/order/{id}",
            get_with(one, |op| op.id("getOrderById").tag(TAG).summary("One order (its customer, staff)."))
                .patch_with(change, |op| {
                    op.id("updateOrder").tag(TAG).summary("Cancel an order (its customer, admins).")
                }),
        )
        .api_route(
            "/api/shop",
            get_with(shop, |op| op.id("getShop").tag(TAG).summary("The shop: open, capacity, queue, wait (anyone)."))
                .put_with(set_shop, |op| {
                    op.id("setShop").tag(TAG).summary("Open or close the shop, set capacity and message (admins).")
                }),
        )
        .api_route(
            "/api/shop/figures",
            get_with(figures, |op| op.id("getDayFigures").tag(TAG).summary("A UTC day's figures (admins).")),
        )
}

const TAG: &str = "order";

type Answer<T> = Result<Json<T>, ApiError>;

async fn coffees(State(s): State<OrderService>, Ctx(ctx): Ctx) -> Answer<Vec<MenuItem>> {
    Ok(Json(s.coffees(&ctx).await?))
}

async fn place(
    State(s): State<OrderService>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<PlaceOrder>,
) -> Result<Created<Order>, ApiError> {
    Ok(Created(s.place_order(&ctx, &request).await?))
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
    ApiJson(NewCoffee(coffee)): ApiJson<NewCoffee>,
) -> Result<Created<MenuItem>, ApiError> {
    Ok(Created(s.add_coffee(&ctx, &coffee).await?))
}

/// `POST /api/coffees`: a drink's change, whose name and price a new drink must have.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
#[schemars(schema_with = "coffee_domain::schema::new_coffee")]
struct NewCoffee(CoffeeChange);

/// A coffee id in a path: one that cannot be an id names no coffee (404, as an unknown one).
fn coffee_id(raw: &str) -> Result<CoffeeId, ApiError> {
    CoffeeId::parse(raw).map_err(|_| ApiError::from(coffee_service::ServiceError::not_found("coffee on the menu", raw)))
}

async fn change_coffee(
    State(s): State<OrderService>,
    Ctx(ctx): Ctx,
    ApiPath(path): ApiPath<CoffeePath>,
    ApiJson(change): ApiJson<CoffeeChange>,
) -> Answer<MenuItem> {
    Ok(Json(s.change_coffee(&ctx, &coffee_id(&path.id)?, &change).await?))
}

async fn remove_coffee(
    State(s): State<OrderService>,
    Ctx(ctx): Ctx,
    ApiPath(path): ApiPath<CoffeePath>,
) -> Answer<Vec<MenuItem>> {
    Ok(Json(s.remove_coffee(&ctx, &coffee_id(&path.id)?).await?))
}

/// `/api/coffees/{id}`: a drink's id on the menu (`"1"`, `"2"`, ...).
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
struct CoffeePath {
    /// The drink's id on the menu; one that names none is 404.
    id: String,
}

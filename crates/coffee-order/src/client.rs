//! The order service as others see it: one trait, served in-process by [`OrderService`] or over
//! HTTP by [`HttpOrderClient`]. Every operation takes its request type from [`crate::model`].
//!
//! [`OrderService`]: crate::OrderService

use async_trait::async_trait;
use coffee_bus::Envelope;
use coffee_domain::{CoffeeChange, CoffeeId, DayFigures, MenuItem, Order, OrderId};
use coffee_http::HttpClient;
use coffee_service::{Context, ListQuery, OfOrder, ServiceResult};
use reqwest::Method;

use crate::model::{FiguresQuery, OrderChange, OrderList, PickupOrder, PlaceOrder, SetShop, ShopStatus};

#[async_trait]
pub trait OrderClient: Send + Sync {
    /// The menu: every drink with its options, sold-out ones marked.
    async fn coffees(&self, ctx: &Context) -> ServiceResult<Vec<MenuItem>>;
    /// A new drink on the menu (admins); `name` and `price` are needed.
    async fn add_coffee(&self, ctx: &Context, coffee: &CoffeeChange) -> ServiceResult<MenuItem>;
    /// Changes a drink: its name, description, price, options, or whether it is sold out (admins).
    async fn change_coffee(&self, ctx: &Context, id: &CoffeeId, change: &CoffeeChange) -> ServiceResult<MenuItem>;
    /// Takes a drink off the menu (admins); answers the menu left.
    async fn remove_coffee(&self, ctx: &Context, id: &CoffeeId) -> ServiceResult<Vec<MenuItem>>;
    async fn place_order(&self, ctx: &Context, request: &PlaceOrder) -> ServiceResult<Order>;
    async fn order(&self, ctx: &Context, id: OrderId) -> ServiceResult<Order>;
    async fn orders(&self, ctx: &Context, list: &OrderList) -> ServiceResult<Vec<Order>>;
    /// The customer's change: only `ORDER_CANCELLED` is theirs to make.
    async fn change_order(&self, ctx: &Context, id: OrderId, change: &OrderChange) -> ServiceResult<Order>;
    /// The events the order service published about an order, oldest first.
    async fn order_events(&self, ctx: &Context, id: OrderId) -> ServiceResult<Vec<Envelope>>;
    /// The pickup board: the orders being made (placed since yesterday, UTC) and those ready
    /// for the last quarter hour,
    /// as anyone may see them.
    async fn pickup_board(&self, ctx: &Context) -> ServiceResult<Vec<PickupOrder>>;
    /// The shop as anyone sees it before ordering: open or not, the queue, the wait.
    async fn shop(&self, ctx: &Context) -> ServiceResult<ShopStatus>;
    /// The owner's settings (admins only); answers the shop as it now stands.
    async fn set_shop(&self, ctx: &Context, request: &SetShop) -> ServiceResult<ShopStatus>;
    /// A day's figures, from its orders (admins only).
    async fn figures(&self, ctx: &Context, query: &FiguresQuery) -> ServiceResult<DayFigures>;
}

/// The order service's REST API, as a typed client.
#[derive(Debug, Clone)]
pub struct HttpOrderClient(HttpClient);

impl HttpOrderClient {
    pub fn new(base_url: &str, http: reqwest::Client) -> Self {
        Self(HttpClient::new(base_url, http))
    }
}

#[async_trait]
impl OrderClient for HttpOrderClient {
    async fn coffees(&self, ctx: &Context) -> ServiceResult<Vec<MenuItem>> {
        self.0.get(ctx, "/api/coffees", &()).await
    }

    async fn add_coffee(&self, ctx: &Context, coffee: &CoffeeChange) -> ServiceResult<MenuItem> {
        self.0.send(ctx, Method::POST, "/api/coffees", coffee).await
    }

    async fn change_coffee(&self, ctx: &Context, id: &CoffeeId, change: &CoffeeChange) -> ServiceResult<MenuItem> {
        self.0.send(ctx, Method::PATCH, &format!("/api/coffees/{}", path_segment(id.as_str())), change).await
    }

    async fn remove_coffee(&self, ctx: &Context, id: &CoffeeId) -> ServiceResult<Vec<MenuItem>> {
        self.0.send(ctx, Method::DELETE, &format!("/api/coffees/{}", path_segment(id.as_str())), &()).await
    }

    async fn place_order(&self, ctx: &Context, request: &PlaceOrder) -> ServiceResult<Order> {
        self.0.send(ctx, Method::POST, "/api/order", request).await
    }

    async fn order(&self, ctx: &Context, id: OrderId) -> ServiceResult<Order> {
        self.0.get(ctx, &format!("/api/order/{id}"), &()).await
    }

    async fn orders(&self, ctx: &Context, list: &OrderList) -> ServiceResult<Vec<Order>> {
        self.0.get(ctx, "/api/order", &ListQuery::from(list.clone())).await
    }

    async fn change_order(&self, ctx: &Context, id: OrderId, change: &OrderChange) -> ServiceResult<Order> {
        self.0.send(ctx, Method::PATCH, &format!("/api/order/{id}"), change).await
    }

    async fn order_events(&self, ctx: &Context, id: OrderId) -> ServiceResult<Vec<Envelope>> {
        self.0.get(ctx, "/api/order/events", &OfOrder { order_id: id }).await
    }

    async fn pickup_board(&self, ctx: &Context) -> ServiceResult<Vec<PickupOrder>> {
        self.0.get(ctx, "/api/order/board", &()).await
    }

    async fn shop(&self, ctx: &Context) -> ServiceResult<ShopStatus> {
        self.0.get(ctx, "/api/shop", &()).await
    }

    async fn set_shop(&self, ctx: &Context, request: &SetShop) -> ServiceResult<ShopStatus> {
        self.0.send(ctx, Method::PUT, "/api/shop", request).await
    }

    async fn figures(&self, ctx: &Context, query: &FiguresQuery) -> ServiceResult<DayFigures> {
        self.0.get(ctx, "/api/shop/figures", query).await
    }
}

/// A coffee id as one path segment: ids are the owner's text, so anything but letters, digits,
/// `-` and `_` is percent-encoded.
fn path_segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

//! The order service as others see it: one trait, served in-process by [`OrderService`] or over
//! HTTP by [`HttpOrderClient`]. Every operation takes its request type from [`crate::model`].
//!
//! [`OrderService`]: crate::OrderService

use async_trait::async_trait;
use coffee_bus::Envelope;
use coffee_domain::{Coffee, Order, OrderId};
use coffee_http::HttpClient;
use coffee_service::{Context, OfOrder, ServiceError};
use reqwest::Method;

use crate::model::{OrderChange, OrderList, OrderListQuery, PlaceOrder};

#[async_trait]
pub trait OrderClient: Send + Sync {
    /// The menu.
    async fn coffees(&self, ctx: &Context) -> Result<Vec<Coffee>, ServiceError>;
    async fn place_order(&self, ctx: &Context, request: &PlaceOrder) -> Result<Order, ServiceError>;
    async fn order(&self, ctx: &Context, id: OrderId) -> Result<Order, ServiceError>;
    async fn orders(&self, ctx: &Context, list: &OrderList) -> Result<Vec<Order>, ServiceError>;
    /// The customer's change: only `ORDER_CANCELLED` is theirs to make.
    async fn change_order(&self, ctx: &Context, id: OrderId, change: &OrderChange) -> Result<Order, ServiceError>;
    /// The events the order service published about an order, oldest first.
    async fn order_events(&self, ctx: &Context, id: OrderId) -> Result<Vec<Envelope>, ServiceError>;
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
    async fn coffees(&self, ctx: &Context) -> Result<Vec<Coffee>, ServiceError> {
        self.0.get(ctx, "/api/coffees", &()).await
    }

    async fn place_order(&self, ctx: &Context, request: &PlaceOrder) -> Result<Order, ServiceError> {
        self.0.send(ctx, Method::POST, "/api/order", request).await
    }

    async fn order(&self, ctx: &Context, id: OrderId) -> Result<Order, ServiceError> {
        self.0.get(ctx, &format!("/api/order/{id}"), &()).await
    }

    async fn orders(&self, ctx: &Context, list: &OrderList) -> Result<Vec<Order>, ServiceError> {
        self.0.get(ctx, "/api/order", &OrderListQuery::from(list.clone())).await
    }

    async fn change_order(&self, ctx: &Context, id: OrderId, change: &OrderChange) -> Result<Order, ServiceError> {
        self.0.send(ctx, Method::PATCH, &format!("/api/order/{id}"), change).await
    }

    async fn order_events(&self, ctx: &Context, id: OrderId) -> Result<Vec<Envelope>, ServiceError> {
        self.0.get(ctx, "/api/order/events", &OfOrder { order_id: id }).await
    }
}

//! The order service as others see it: one trait, served in-process by [`OrderService`]
//! or over HTTP by [`HttpOrderClient`].
//!
//! [`OrderService`]: crate::OrderService

use async_trait::async_trait;
use coffee_bus::{Envelope, TraceContext};
use coffee_domain::{Coffee, Order};
use coffee_http::{HttpClient, ServiceError, segment};
use reqwest::Method;
use serde_json::json;

/// Which orders to list: by day (today, UTC, when nothing is given) or by customer.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub date: Option<String>,
    pub customer_id: Option<String>,
    pub limit: Option<u32>,
}

#[async_trait]
pub trait OrderClient: Send + Sync {
    async fn coffees(&self) -> Result<Vec<Coffee>, ServiceError>;
    async fn place_order(
        &self,
        coffee_id: &str,
        customer_id: &str,
        customer_name: &str,
        trace: &TraceContext,
    ) -> Result<Order, ServiceError>;
    async fn order(&self, id: &str) -> Result<Order, ServiceError>;
    async fn orders(&self, filter: &OrderFilter) -> Result<Vec<Order>, ServiceError>;
    /// The customer's change: only `ORDER_CANCELLED` is theirs to make.
    async fn change_order(
        &self,
        id: &str,
        status: &str,
        note: Option<&str>,
        trace: &TraceContext,
    ) -> Result<Order, ServiceError>;
    /// The events the order service published about an order, oldest first.
    async fn order_events(&self, order_id: &str) -> Result<Vec<Envelope>, ServiceError>;
}

/// The order service's REST API, as a typed client.
#[derive(Debug, Clone)]
pub struct HttpOrderClient(HttpClient);

impl HttpOrderClient {
    pub fn new(base_url: &str, http: reqwest::Client) -> Self {
        Self(HttpClient::new(base_url, http))
    }
}

const NO_BODY: Option<&()> = None;

#[async_trait]
impl OrderClient for HttpOrderClient {
    async fn coffees(&self) -> Result<Vec<Coffee>, ServiceError> {
        self.0.send(Method::GET, "/api/coffees", &[], NO_BODY, None).await
    }

    async fn place_order(
        &self,
        coffee_id: &str,
        customer_id: &str,
        customer_name: &str,
        trace: &TraceContext,
    ) -> Result<Order, ServiceError> {
        let body = json!({"coffeeId": coffee_id, "customerId": customer_id, "customerName": customer_name});
        self.0.send(Method::POST, "/api/order", &[], Some(&body), Some(&trace.to_traceparent())).await
    }

    async fn order(&self, id: &str) -> Result<Order, ServiceError> {
        self.0.send(Method::GET, &format!("/api/order/{}", segment(id)), &[], NO_BODY, None).await
    }

    async fn orders(&self, filter: &OrderFilter) -> Result<Vec<Order>, ServiceError> {
        let limit = filter.limit.map(|l| l.to_string());
        let mut query = Vec::new();
        if let Some(d) = &filter.date {
            query.push(("date", d.as_str()));
        }
        if let Some(c) = &filter.customer_id {
            query.push(("customerId", c.as_str()));
        }
        if let Some(l) = &limit {
            query.push(("limit", l.as_str()));
        }
        self.0.send(Method::GET, "/api/order", &query, NO_BODY, None).await
    }

    async fn change_order(
        &self,
        id: &str,
        status: &str,
        note: Option<&str>,
        trace: &TraceContext,
    ) -> Result<Order, ServiceError> {
        let body = json!({"status": status, "note": note});
        let path = format!("/api/order/{}", segment(id));
        self.0.send(Method::PATCH, &path, &[], Some(&body), Some(&trace.to_traceparent())).await
    }

    async fn order_events(&self, order_id: &str) -> Result<Vec<Envelope>, ServiceError> {
        self.0.send(Method::GET, "/api/order/events", &[("orderId", order_id)], NO_BODY, None).await
    }
}

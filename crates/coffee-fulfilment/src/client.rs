//! The fulfilment service as others see it: one trait, served in-process by
//! [`FulfilmentService`](crate::FulfilmentService) or over HTTP by [`HttpFulfilmentClient`].
//! Every operation takes its request type from [`crate::model`].

use async_trait::async_trait;
use coffee_bus::Envelope;
use coffee_domain::{Fulfilment, FulfilmentId, OrderId};
use coffee_http::HttpClient;
use coffee_service::{Context, OfOrder, ServiceError};
use reqwest::Method;

use crate::model::{FulfilmentChange, FulfilmentList, FulfilmentListQuery};

#[async_trait]
pub trait FulfilmentClient: Send + Sync {
    async fn fulfilment(&self, ctx: &Context, id: FulfilmentId) -> Result<Fulfilment, ServiceError>;
    async fn fulfilments(&self, ctx: &Context, list: &FulfilmentList) -> Result<Vec<Fulfilment>, ServiceError>;
    /// The barista's change: `FULFILMENT_COMPLETED` or `FULFILMENT_REJECTED`.
    async fn change_fulfilment(
        &self,
        ctx: &Context,
        id: FulfilmentId,
        change: &FulfilmentChange,
    ) -> Result<Fulfilment, ServiceError>;
    /// The events the fulfilment service published about an order, oldest first.
    async fn fulfilment_events(&self, ctx: &Context, order_id: OrderId) -> Result<Vec<Envelope>, ServiceError>;
}

#[derive(Debug, Clone)]
pub struct HttpFulfilmentClient(HttpClient);

impl HttpFulfilmentClient {
    pub fn new(base_url: &str, http: reqwest::Client) -> Self {
        Self(HttpClient::new(base_url, http))
    }
}

#[async_trait]
impl FulfilmentClient for HttpFulfilmentClient {
    async fn fulfilment(&self, ctx: &Context, id: FulfilmentId) -> Result<Fulfilment, ServiceError> {
        self.0.get(ctx, &format!("/api/fulfilment/{id}"), &()).await
    }

    async fn fulfilments(&self, ctx: &Context, list: &FulfilmentList) -> Result<Vec<Fulfilment>, ServiceError> {
        self.0.get(ctx, "/api/fulfilment", &FulfilmentListQuery::from(list.clone())).await
    }

    async fn change_fulfilment(
        &self,
        ctx: &Context,
        id: FulfilmentId,
        change: &FulfilmentChange,
    ) -> Result<Fulfilment, ServiceError> {
        self.0.send(ctx, Method::PATCH, &format!("/api/fulfilment/{id}"), change).await
    }

    async fn fulfilment_events(&self, ctx: &Context, order_id: OrderId) -> Result<Vec<Envelope>, ServiceError> {
        self.0.get(ctx, "/api/fulfilment/events", &OfOrder { order_id }).await
    }
}

//! The fulfilment service as others see it: one trait, served in-process by
//! [`FulfilmentService`](crate::FulfilmentService) or over HTTP by [`HttpFulfilmentClient`].
//! Every operation takes its request type from [`crate::model`].

use async_trait::async_trait;
use coffee_bus::Envelope;
use coffee_domain::{Fulfilment, FulfilmentId, OrderId};
use coffee_http::HttpClient;
use coffee_service::{Context, ListQuery, OfOrder, ServiceResult};
use reqwest::Method;

use crate::model::{Claim, FulfilmentChange, FulfilmentList};

#[async_trait]
pub trait FulfilmentClient: Send + Sync {
    async fn fulfilment(&self, ctx: &Context, id: FulfilmentId) -> ServiceResult<Fulfilment>;
    async fn fulfilments(&self, ctx: &Context, list: &FulfilmentList) -> ServiceResult<Vec<Fulfilment>>;
    /// The barista's change: `FULFILMENT_COMPLETED` or `FULFILMENT_REJECTED`.
    async fn change_fulfilment(
        &self,
        ctx: &Context,
        id: FulfilmentId,
        to: &FulfilmentChange,
    ) -> ServiceResult<Fulfilment>;
    /// The barista signed in claims a waiting coffee, or releases it (the staff; another
    /// barista's claim only an admin may release).
    async fn claim_fulfilment(&self, ctx: &Context, id: FulfilmentId, claim: &Claim) -> ServiceResult<Fulfilment>;
    /// The events the fulfilment service published about an order, oldest first.
    async fn fulfilment_events(&self, ctx: &Context, order_id: OrderId) -> ServiceResult<Vec<Envelope>>;
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
    async fn fulfilment(&self, ctx: &Context, id: FulfilmentId) -> ServiceResult<Fulfilment> {
        self.0.get(ctx, &format!("/api/fulfilment/{id}"), &()).await
    }

    async fn fulfilments(&self, ctx: &Context, list: &FulfilmentList) -> ServiceResult<Vec<Fulfilment>> {
        self.0.get(ctx, "/api/fulfilment", &ListQuery::from(list.clone())).await
    }

    async fn change_fulfilment(
        &self,
        ctx: &Context,
        id: FulfilmentId,
        to: &FulfilmentChange,
    ) -> ServiceResult<Fulfilment> {
        self.0.send(ctx, Method::PATCH, &format!("/api/fulfilment/{id}"), to).await
    }

    async fn claim_fulfilment(&self, ctx: &Context, id: FulfilmentId, claim: &Claim) -> ServiceResult<Fulfilment> {
        let method = if claim.claimed { Method::PUT } else { Method::DELETE };
        self.0.send(ctx, method, &format!("/api/fulfilment/{id}/claim"), &()).await
    }

    async fn fulfilment_events(&self, ctx: &Context, order_id: OrderId) -> ServiceResult<Vec<Envelope>> {
        self.0.get(ctx, "/api/fulfilment/events", &OfOrder { order_id }).await
    }
}

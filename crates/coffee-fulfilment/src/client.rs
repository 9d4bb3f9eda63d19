//! The fulfilment service as others see it: one trait, served in-process by
//! [`FulfilmentService`](crate::FulfilmentService) or over HTTP by [`HttpFulfilmentClient`].

use async_trait::async_trait;
use coffee_bus::{Envelope, TraceContext};
use coffee_domain::Fulfilment;
use coffee_http::{HttpClient, ServiceError, segment};
use reqwest::Method;
use serde_json::json;

/// Which fulfilments to list: those of a day (today, UTC, by default), the one of an
/// order, or all in a status (the barista's queue: `FULFILMENT_CREATED`, oldest first).
#[derive(Debug, Clone, Default)]
pub struct FulfilmentFilter {
    pub date: Option<String>,
    pub order_id: Option<String>,
    pub status: Option<String>,
    pub limit: Option<u32>,
}

#[async_trait]
pub trait FulfilmentClient: Send + Sync {
    async fn fulfilment(&self, id: &str) -> Result<Fulfilment, ServiceError>;
    async fn fulfilments(&self, filter: &FulfilmentFilter) -> Result<Vec<Fulfilment>, ServiceError>;
    /// The barista's change: `FULFILMENT_COMPLETED` or `FULFILMENT_REJECTED`.
    async fn change_fulfilment(
        &self,
        id: &str,
        status: &str,
        note: Option<&str>,
        trace: &TraceContext,
    ) -> Result<Fulfilment, ServiceError>;
    /// The events the fulfilment service published about an order, oldest first.
    async fn fulfilment_events(&self, order_id: &str) -> Result<Vec<Envelope>, ServiceError>;
}

#[derive(Debug, Clone)]
pub struct HttpFulfilmentClient(HttpClient);

impl HttpFulfilmentClient {
    pub fn new(base_url: &str, http: reqwest::Client) -> Self {
        Self(HttpClient::new(base_url, http))
    }
}

const NO_BODY: Option<&()> = None;

#[async_trait]
impl FulfilmentClient for HttpFulfilmentClient {
    async fn fulfilment(&self, id: &str) -> Result<Fulfilment, ServiceError> {
        self.0.send(Method::GET, &format!("/api/fulfilment/{}", segment(id)), &[], NO_BODY, None).await
    }

    async fn fulfilments(&self, filter: &FulfilmentFilter) -> Result<Vec<Fulfilment>, ServiceError> {
        let limit = filter.limit.map(|l| l.to_string());
        let mut query = Vec::new();
        for (key, value) in [("date", &filter.date), ("orderId", &filter.order_id), ("status", &filter.status)] {
            if let Some(v) = value {
                query.push((key, v.as_str()));
            }
        }
        if let Some(l) = &limit {
            query.push(("limit", l.as_str()));
        }
        self.0.send(Method::GET, "/api/fulfilment", &query, NO_BODY, None).await
    }

    async fn change_fulfilment(
        &self,
        id: &str,
        status: &str,
        note: Option<&str>,
        trace: &TraceContext,
    ) -> Result<Fulfilment, ServiceError> {
        let body = json!({ "status": status, "note": note });
        let path = format!("/api/fulfilment/{}", segment(id));
        self.0.send(Method::PATCH, &path, &[], Some(&body), Some(&trace.to_traceparent())).await
    }

    async fn fulfilment_events(&self, order_id: &str) -> Result<Vec<Envelope>, ServiceError> {
        self.0.send(Method::GET, "/api/fulfilment/events", &[("orderId", order_id)], NO_BODY, None).await
    }
}

//! The payment service as others see it: one trait, served in-process by
//! [`PaymentService`](crate::PaymentService) or over HTTP by [`HttpPaymentClient`].

use async_trait::async_trait;
use coffee_bus::{Envelope, TraceContext};
use coffee_domain::Payment;
use coffee_http::{HttpClient, ServiceError, segment};
use reqwest::Method;
use serde_json::json;

use crate::model::PaymentWithSecret;

/// Which payments to list: those of a day (today, UTC, by default), or the one of an order.
#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub date: Option<String>,
    pub order_id: Option<String>,
    pub limit: Option<u32>,
}

#[async_trait]
pub trait PaymentClient: Send + Sync {
    /// Starts paying an order: creates the payment intent (or returns the existing one).
    async fn create_payment(&self, order_id: &str, trace: &TraceContext) -> Result<PaymentWithSecret, ServiceError>;
    async fn payment(&self, id: &str) -> Result<Payment, ServiceError>;
    async fn payments(&self, filter: &PaymentFilter) -> Result<Vec<Payment>, ServiceError>;
    /// The simulated provider's card form.
    async fn confirm_payment(&self, id: &str, card_number: &str, trace: &TraceContext)
    -> Result<Payment, ServiceError>;
    /// The events the payment service published about an order, oldest first.
    async fn payment_events(&self, order_id: &str) -> Result<Vec<Envelope>, ServiceError>;
}

#[derive(Debug, Clone)]
pub struct HttpPaymentClient(HttpClient);

impl HttpPaymentClient {
    pub fn new(base_url: &str, http: reqwest::Client) -> Self {
        Self(HttpClient::new(base_url, http))
    }
}

const NO_BODY: Option<&()> = None;

#[async_trait]
impl PaymentClient for HttpPaymentClient {
    async fn create_payment(&self, order_id: &str, trace: &TraceContext) -> Result<PaymentWithSecret, ServiceError> {
        let body = json!({ "orderId": order_id });
        self.0.send(Method::POST, "/api/payment", &[], Some(&body), Some(&trace.to_traceparent())).await
    }

    async fn payment(&self, id: &str) -> Result<Payment, ServiceError> {
        self.0.send(Method::GET, &format!("/api/payment/{}", segment(id)), &[], NO_BODY, None).await
    }

    async fn payments(&self, filter: &PaymentFilter) -> Result<Vec<Payment>, ServiceError> {
        let limit = filter.limit.map(|l| l.to_string());
        let mut query = Vec::new();
        if let Some(d) = &filter.date {
            query.push(("date", d.as_str()));
        }
        if let Some(o) = &filter.order_id {
            query.push(("orderId", o.as_str()));
        }
        if let Some(l) = &limit {
            query.push(("limit", l.as_str()));
        }
        self.0.send(Method::GET, "/api/payment", &query, NO_BODY, None).await
    }

    async fn confirm_payment(
        &self,
        id: &str,
        card_number: &str,
        trace: &TraceContext,
    ) -> Result<Payment, ServiceError> {
        let body = json!({ "cardNumber": card_number });
        let path = format!("/api/payment/{}/confirm", segment(id));
        self.0.send(Method::POST, &path, &[], Some(&body), Some(&trace.to_traceparent())).await
    }

    async fn payment_events(&self, order_id: &str) -> Result<Vec<Envelope>, ServiceError> {
        self.0.send(Method::GET, "/api/payment/events", &[("orderId", order_id)], NO_BODY, None).await
    }
}

//! The payment service as others see it: one trait, served in-process by
//! [`PaymentService`](crate::PaymentService) or over HTTP by [`HttpPaymentClient`]. Every
//! operation takes its request type from [`crate::model`].

use async_trait::async_trait;
use coffee_bus::Envelope;
use coffee_domain::{OrderId, Payment, PaymentId};
use coffee_http::HttpClient;
use coffee_service::{Context, OfOrder, ServiceError};
use reqwest::Method;

use crate::model::{ConfirmPayment, CreatePayment, PaymentList, PaymentListQuery, PaymentWithSecret};

#[async_trait]
pub trait PaymentClient: Send + Sync {
    /// Starts paying an order: creates the payment intent (or returns the existing one).
    async fn create_payment(&self, ctx: &Context, request: &CreatePayment) -> Result<PaymentWithSecret, ServiceError>;
    async fn payment(&self, ctx: &Context, id: PaymentId) -> Result<Payment, ServiceError>;
    async fn payments(&self, ctx: &Context, list: &PaymentList) -> Result<Vec<Payment>, ServiceError>;
    /// The simulated provider's card form.
    async fn confirm_payment(
        &self,
        ctx: &Context,
        id: PaymentId,
        request: &ConfirmPayment,
    ) -> Result<Payment, ServiceError>;
    /// The events the payment service published about an order, oldest first.
    async fn payment_events(&self, ctx: &Context, order_id: OrderId) -> Result<Vec<Envelope>, ServiceError>;
}

#[derive(Debug, Clone)]
pub struct HttpPaymentClient(HttpClient);

impl HttpPaymentClient {
    pub fn new(base_url: &str, http: reqwest::Client) -> Self {
        Self(HttpClient::new(base_url, http))
    }
}

#[async_trait]
impl PaymentClient for HttpPaymentClient {
    async fn create_payment(&self, ctx: &Context, request: &CreatePayment) -> Result<PaymentWithSecret, ServiceError> {
        self.0.send(ctx, Method::POST, "/api/payment", request).await
    }

    async fn payment(&self, ctx: &Context, id: PaymentId) -> Result<Payment, ServiceError> {
        self.0.get(ctx, &format!("/api/payment/{id}"), &()).await
    }

    async fn payments(&self, ctx: &Context, list: &PaymentList) -> Result<Vec<Payment>, ServiceError> {
        self.0.get(ctx, "/api/payment", &PaymentListQuery::from(list.clone())).await
    }

    async fn confirm_payment(
        &self,
        ctx: &Context,
        id: PaymentId,
        request: &ConfirmPayment,
    ) -> Result<Payment, ServiceError> {
        self.0.send(ctx, Method::POST, &format!("/api/payment/{id}/confirm"), request).await
    }

    async fn payment_events(&self, ctx: &Context, order_id: OrderId) -> Result<Vec<Envelope>, ServiceError> {
        self.0.get(ctx, "/api/payment/events", &OfOrder { order_id }).await
    }
}

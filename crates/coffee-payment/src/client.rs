//! The payment service as others see it: one trait, served in-process by
//! [`PaymentService`](crate::PaymentService) or over HTTP by [`HttpPaymentClient`]. Every
//! operation takes its request type from [`crate::model`].

use async_trait::async_trait;
use coffee_bus::Envelope;
use coffee_domain::{OrderId, Payment, PaymentId};
use coffee_http::HttpClient;
use coffee_service::{Context, ListQuery, OfOrder, ServiceResult};
use reqwest::Method;

use crate::model::{Checkout, ConfirmPayment, CreatePayment, PaymentList, PaymentWithSecret};

#[async_trait]
pub trait PaymentClient: Send + Sync {
    /// Starts paying an order: creates the payment intent (or returns the existing one).
    async fn create_payment(&self, ctx: &Context, request: &CreatePayment) -> ServiceResult<PaymentWithSecret>;
    async fn payment(&self, ctx: &Context, id: PaymentId) -> ServiceResult<Payment>;
    async fn payments(&self, ctx: &Context, list: &PaymentList) -> ServiceResult<Vec<Payment>>;
    /// The simulated provider's card form.
    async fn confirm_payment(&self, ctx: &Context, id: PaymentId, request: &ConfirmPayment) -> ServiceResult<Payment>;
    /// The events the payment service published about an order, oldest first.
    async fn payment_events(&self, ctx: &Context, order_id: OrderId) -> ServiceResult<Vec<Envelope>>;
    /// How a customer's browser pays: the simulated card form or Stripe's. Anyone may ask.
    async fn checkout(&self, ctx: &Context) -> ServiceResult<Checkout>;
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
    async fn create_payment(&self, ctx: &Context, request: &CreatePayment) -> ServiceResult<PaymentWithSecret> {
        self.0.send(ctx, Method::POST, "/api/payment", request).await
    }

    async fn payment(&self, ctx: &Context, id: PaymentId) -> ServiceResult<Payment> {
        self.0.get(ctx, &format!("/api/payment/{id}"), &()).await
    }

    async fn payments(&self, ctx: &Context, list: &PaymentList) -> ServiceResult<Vec<Payment>> {
        self.0.get(ctx, "/api/payment", &ListQuery::from(list.clone())).await
    }

    async fn confirm_payment(&self, ctx: &Context, id: PaymentId, request: &ConfirmPayment) -> ServiceResult<Payment> {
        self.0.send(ctx, Method::POST, &format!("/api/payment/{id}/confirm"), request).await
    }

    async fn payment_events(&self, ctx: &Context, order_id: OrderId) -> ServiceResult<Vec<Envelope>> {
        self.0.get(ctx, "/api/payment/events", &OfOrder { order_id }).await
    }

    async fn checkout(&self, ctx: &Context) -> ServiceResult<Checkout> {
        self.0.get(ctx, "/api/payment/checkout", &()).await
    }
}

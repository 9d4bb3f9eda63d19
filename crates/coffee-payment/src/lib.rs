//! The payment service: knows what each order costs (from the order's `created` event),
//! creates a payment intent at the provider when the customer pays, learns the outcome
//! from the provider's signed webhook, and refunds when an order is cancelled after the
//! money was taken. It owns the `payments` table (and, for the simulated provider, that
//! provider's own `simulated_payment_intents` table).
//!
//! - [`model`], [`store`], [`service`], [`handlers`], [`api`], [`client`]: as in every service.
//! - [`provider`]: the payment provider contract and the simulated provider.
//! - [`webhook`]: the provider's webhook events and their signatures (Stripe's scheme).

pub mod api;
pub mod client;
pub mod handlers;
pub mod model;
pub mod provider;
pub mod service;
pub mod store;
pub mod webhook;

pub use client::{HttpPaymentClient, PaymentClient};
pub use service::PaymentService;

/// The consumer name of the payment service's queue, and the `source` of its events.
pub const SERVICE: &str = "payment-service";

/// The PostgreSQL schema the service owns in the distributed mode.
pub const SCHEMA: &str = "coffee_payment";

/// The payment service as a process runs it: its REST routes and its consumer.
pub fn mount(service: &PaymentService) -> coffee_http::Mount {
    let handlers = std::sync::Arc::new(handlers::PaymentHandlers::new(service.clone()));
    coffee_http::Mount {
        routes: api::routes(service.clone()),
        consumer: coffee_bus::Consumer::new(handlers::rule(), handlers),
    }
}

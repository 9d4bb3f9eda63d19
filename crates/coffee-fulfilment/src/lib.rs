//! The fulfilment service: when a payment succeeds there is a coffee to make; the barista
//! completes or rejects it; a cancelled order or a refunded payment closes it. It owns the
//! `fulfilments` table and nothing else.
//!
//! - [`model`], [`store`], [`service`], [`handlers`], [`api`], [`client`]: as in every service.

pub mod api;
pub mod client;
pub mod handlers;
pub mod model;
pub mod service;
pub mod store;

pub use client::{FulfilmentClient, HttpFulfilmentClient};
pub use service::FulfilmentService;

/// The consumer name of the fulfilment service's queue, and the `source` of its events.
pub const SERVICE: &str = "fulfilment-service";

/// The PostgreSQL schema the service owns in the distributed mode.
pub const SCHEMA: &str = "coffee_fulfilment";

/// The fulfilment service as a process runs it: its REST routes and its consumer.
pub fn mount(service: &FulfilmentService) -> coffee_http::Mount {
    let handlers = std::sync::Arc::new(handlers::FulfilmentHandlers::new(service.records().clone()));
    coffee_http::Mount {
        routes: api::routes(service.clone()),
        consumer: coffee_bus::Consumer::new(handlers::rule(), handlers),
    }
}

//! The order service: takes orders, lets the customer cancel, and moves each order along
//! as payments and fulfilments report back. It owns the `orders` table and nothing else.
//!
//! - [`model`]: how an order is stored, and its operations' requests.
//! - [`store`]: its migrations.
//! - [`service`]: its operations (what the REST API and the gateway call).
//! - [`handlers`]: its reactions to other services' events, and the rule that selects them.
//! - [`api`]: its REST routes.
//! - [`client`]: the typed client others use, in-process or over HTTP.

pub mod api;
pub mod client;
pub mod handlers;
pub mod model;
pub mod service;
pub mod store;

pub use client::{HttpOrderClient, OrderClient};
pub use service::{OrderService, ShopRules};

/// The consumer name of the order service's queue, and the `source` of its events.
pub const SERVICE: &str = "order-service";

/// The PostgreSQL schema the service owns in the distributed mode.
pub const SCHEMA: &str = "coffee_order";

/// The order service as a process runs it: its REST routes and its consumer.
pub fn mount(service: &OrderService) -> coffee_http::Mount {
    let handlers = std::sync::Arc::new(handlers::OrderHandlers::new(service.records().clone()));
    coffee_http::Mount {
        routes: api::routes(service.clone()),
        consumer: coffee_bus::Consumer::new(handlers::rule(), handlers),
    }
}

//! The `coffee` binary's library: configuration, wiring, and the commands beyond serving
//! (bench, dlq). The integration tests start the system through the same
//! [`app::Application`] that `main` uses.

pub mod admin;
pub mod app;
pub mod asyncapi;
pub mod backend;
pub mod backup;
pub mod baseline;
pub mod bench;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod dlq;
pub mod doctor;
pub mod health;
pub mod identity;
pub mod live;
pub mod metrics;
pub mod openapi;
pub mod operator;
pub mod page_policy;
pub mod services;
pub mod staff;
pub mod telemetry;

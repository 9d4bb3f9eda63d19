//! Integration tests: the real server on an ephemeral port with a temporary data
//! directory, driven over HTTP the way clients drive it. One test binary, a module per area.

mod access;
mod backup;
mod crash;
mod deploy;
mod distributed;
mod dlq;
mod errors;
mod faults;
mod graphql;
mod helpers;
mod identity;
mod limits;
mod operability;
mod restart;
mod saga;
mod saga_property;
mod serve_nats;
mod shop;
mod stripe;
mod traces;

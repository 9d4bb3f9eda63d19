//! What every service's HTTP surface shares.
//!
//! [`ServiceError`] is the one error type of the services' operations. It has a stable
//! machine-readable code that the REST API returns in its body and the GraphQL gateway puts
//! in `extensions.code`, and each variant says which HTTP status it becomes. Database and
//! internal details are logged, never shown to a client.

mod client;
mod error;
mod extract;
mod lists;

pub use client::{HttpClient, decode_error, segment};
pub use error::{ErrorBody, ServiceError};
pub use extract::{ApiJson, ApiPath, ApiQuery, Trace, fallback, method_not_allowed, now};
pub use lists::{DEFAULT_LIST, MAX_LIST, list_day, list_limit};

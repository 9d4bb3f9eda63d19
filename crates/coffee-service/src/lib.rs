//! What every service's operations share, whatever calls them (the REST API, the GraphQL
//! gateway in-process, another process over HTTP, a test).
//!
//! - [`ServiceError`]: the one error of every operation, with a stable machine-readable code that
//!   the REST API returns in its body and the GraphQL gateway puts in `extensions.code`.
//! - [`Context`]: who asks and which trace the request belongs to, passed to every operation.
//! - [`now`]: the clock, read in one place.
//! - [`List`]: how many records a list returns.

mod context;
mod error;
mod lists;
mod records;

pub use context::Context;
pub use error::ServiceError;
pub use lists::{DEFAULT_LIST, List, ListQuery, MAX_LIST, list_day};
pub use records::Load;

/// What every operation answers.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// `?orderId=`: the order a read is about (every service's `GET /api/<service>/events`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OfOrder {
    pub order_id: coffee_domain::OrderId,
}

/// The current time, as the domain counts it. The domain never reads a clock; its callers
/// read this one and pass the time in.
pub fn now() -> coffee_domain::Millis {
    coffee_domain::Millis(jiff::Timestamp::now().as_millisecond())
}

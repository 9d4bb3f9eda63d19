//! What every service's HTTP surface shares.
//!
//! - [`ApiError`]: a service's [`ServiceError`](coffee_service::ServiceError) as an HTTP answer,
//!   with its status and the JSON error body; `Retry-After` on 503.
//! - Extractors whose rejections are the same JSON errors: [`ApiJson`], [`ApiQuery`],
//!   [`ApiPath`], [`IdPath`] (an entity id: 404 when it names nothing), [`Ctx`] (the
//!   operation's context: who calls, and the trace); authentication: who each request's
//!   credential proves, found once before any route, with the other [`guarded`] layers.
//! - [`openapi`]: routes declared once, for the router and for the OpenAPI document.
//! - [`Mount`]: what a service brings to the process that runs it.
//! - [`HttpClient`]: the plumbing of the services' typed HTTP clients, which turns answers back
//!   into values or the service's own errors.

mod auth;
mod client;
mod error;
mod extract;
mod guard;
pub mod idempotency;
mod mount;
pub mod openapi;
mod rate;
mod streams;
mod trace;

pub use guard::{Guards, guarded};
pub use rate::DEFAULT_RATE_LIMIT;
pub use streams::{DEFAULT_MAX_STREAMS, StreamGuard, Streams};

/// The largest request body any route reads (64 KiB): the largest real one (a webhook) is a few
/// KiB. A larger one is refused with 413 before it is read.
pub const MAX_BODY: usize = 64 * 1024;
pub use client::{HttpClient, decode_error, segment};
pub use error::{ApiError, ErrorBody, ErrorDetail, status_of};
pub use extract::{ApiJson, ApiPath, ApiQuery, Ctx, IdPath, PathId, context_of, fallback, method_not_allowed};
pub use mount::Mount;
pub use openapi::{ApiRouter, Created};
pub use trace::{RequestTrace, traced};

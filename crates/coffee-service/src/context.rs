//! The context of one request to an operation.

use std::fmt;
use std::sync::Arc;

use coffee_bus::TraceContext;

use crate::access::Caller;

/// Who asks, and which trace the request belongs to: the events an operation publishes carry the
/// trace on, so one order's saga can be followed across services.
#[derive(Debug, Clone)]
pub struct Context {
    pub trace: TraceContext,
    pub caller: Caller,
    /// The credential the caller showed, passed on when this request calls a service in another
    /// process, which checks it again for itself.
    pub credential: Option<Credential>,
    /// The caller's session, when signed in (per-session limits, logging out).
    pub session: Option<String>,
}

impl Context {
    /// A request that continues `trace`, from a caller not yet known: anonymous.
    pub fn new(trace: TraceContext) -> Self {
        Self { trace, caller: Caller::anonymous(), credential: None, session: None }
    }

    /// A request of the system's own (recovery at start, a reaction to an event, a test): a new
    /// trace, every permission.
    pub fn internal() -> Self {
        Self { caller: Caller::System, ..Self::new(TraceContext::new_root()) }
    }

    pub fn with_caller(self, caller: Caller) -> Self {
        Self { caller, ..self }
    }
}

/// A bearer token as the caller sent it. Never printed: `Debug` shows that there is one.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential(Arc<str>);

impl Credential {
    pub fn new(token: &str) -> Self {
        Self(Arc::from(token))
    }

    /// The token, to send on to another service.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential(…)")
    }
}

//! The context of one request to an operation.

use coffee_bus::TraceContext;

/// Who asks, and which trace the request belongs to: the events an operation publishes carry the
/// trace on, so one order's saga can be followed across services.
#[derive(Debug, Clone)]
pub struct Context {
    pub trace: TraceContext,
}

impl Context {
    /// A request that continues `trace`.
    pub fn new(trace: TraceContext) -> Self {
        Self { trace }
    }

    /// A request of the system's own (recovery at start, a test): a new trace.
    pub fn internal() -> Self {
        Self { trace: TraceContext::new_root() }
    }
}

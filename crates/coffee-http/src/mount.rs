//! How a service is mounted in a process, the same in every mode and on every transport.

use coffee_bus::Consumer;

/// What a service brings to the process that runs it: its REST routes, and its consumer (the
/// rule that selects its events and the handler that reacts to them). The process adds the
/// store, the transport that feeds the consumer, and the HTTP server.
pub struct Mount {
    /// Declared with their OpenAPI description (see [`crate::openapi`]).
    pub routes: crate::ApiRouter,
    pub consumer: Consumer,
}

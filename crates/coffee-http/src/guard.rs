//! What stands between a client and every route: who the caller is, how many live streams and
//! requests they may have, and their idempotency keys.
//!
//! One stack, applied once. `Router::layer` wraps every route in a new boxed service, and each
//! box is cloned and its future boxed again on every request: eleven `layer` calls in a row cost
//! a third more allocations per saga than the work itself did (BENCHMARKS.md, December).

use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use coffee_auth::Authenticator;
use coffee_bus::Store;
use tower::ServiceBuilder;

use crate::{Streams, auth, idempotency, rate};

/// The guards of a process's routes.
pub struct Guards {
    pub auth: Arc<Authenticator>,
    /// Requests per second per client (0: no limit).
    pub rate_limit: u32,
    /// The live streams held, each client's at most `--max-streams`.
    pub streams: Arc<Streams>,
    /// Where idempotency keys' answers are kept (none: keys are not honoured).
    pub idempotency: Option<Arc<dyn Store>>,
}

/// `router` behind `guards`, outermost first: the stream counter, authentication, the rate
/// limit (which needs the session), idempotency keys (scoped by the session).
pub fn guarded(router: Router, guards: Guards) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(axum::Extension(guards.streams))
            .layer(from_fn_with_state(guards.auth, auth::authenticate))
            .option_layer(rate::limiter(guards.rate_limit).map(|l| from_fn_with_state(l, rate::limit)))
            .option_layer(
                guards.idempotency.map(|store| from_fn_with_state(idempotency::kept_in(store), idempotency::keep)),
            ),
    )
}

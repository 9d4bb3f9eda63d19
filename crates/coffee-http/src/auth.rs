//! Every request authenticated once, before any route: the caller its credential proves goes in
//! the request's extensions, where [`Ctx`](crate::Ctx) finds it for the operation. A refused
//! credential makes the caller anonymous (with the reason), so whether a route needs a session
//! is the operation's to say, never the transport's.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use coffee_auth::Authenticator;

/// Finds who the request's credential proves, for every route after it.
pub(crate) async fn authenticate(State(auth): State<Arc<Authenticator>>, mut request: Request, next: Next) -> Response {
    let who = auth.from_headers(request.method(), request.headers(), coffee_service::now());
    request.extensions_mut().insert(who);
    next.run(request).await
}

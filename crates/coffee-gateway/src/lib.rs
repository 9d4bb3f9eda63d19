//! The GraphQL gateway of Event Driven Coffee, and the web app it serves.
//!
//! - [`schema`]: the contract's queries, mutations and subscriptions, over the services.
//! - [`clients`]: the services as the gateway reaches them (in-process or over HTTP).
//! - [`notifier`]: subscriptions fed by the event bus's live feed.
//! - [`errors`]: service errors as GraphQL errors with a stable `extensions.code`.
//! - [`web`]: the SvelteKit app, embedded in the binary.
//!
//! [`routes`] is the whole HTTP surface: `POST /graphql` for queries and mutations, `GET /graphql`
//! for subscriptions over WebSocket (`graphql-transport-ws`, and the older `graphql-ws`) or for
//! GraphiQL in a browser, and the web app for every other path that is not the API's.

pub mod clients;
pub mod errors;
pub mod limits;
pub mod notifier;
pub mod schema;
pub mod web;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLResponse, GraphQLWebSocket};
use axum::Router;
use axum::body::Body;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{FromRequestParts, Request, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::Method;
use coffee_auth::Authenticator;
use coffee_bus::LiveFeed;
use futures::{SinkExt, StreamExt};
use tokio_util::sync::CancellationToken;

pub use clients::Services;
pub use notifier::Notifier;
pub use schema::{CoffeeSchema, sdl};

/// The largest request body `POST /graphql` reads, as for every REST route. The app's
/// requests are well under 4 KiB.
const MAX_BODY: usize = coffee_http::MAX_BODY;

#[derive(Clone)]
struct Gateway {
    schema: CoffeeSchema,
    shutdown: CancellationToken,
    auth: Arc<Authenticator>,
    /// `--dev`: GraphiQL is served, and anyone may introspect.
    dev: bool,
}

/// The gateway's routes, with the web app as the fallback. `live` yields every committed event
/// (subscriptions watch it); cancelling `shutdown` ends open subscriptions and closes their
/// WebSockets, so a clean stop does not wait for browsers to leave. Requests reach it
/// authenticated (see `coffee_http::guarded`); `auth` also checks a WebSocket's
/// `connection_init` token.
pub fn routes(
    services: Services,
    live: LiveFeed,
    shutdown: CancellationToken,
    auth: Arc<Authenticator>,
    dev: bool,
) -> Router {
    let schema = schema::build(services, Notifier::new(live, shutdown.clone()), dev);
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/api/docs", get(api_docs))
        .with_state(Gateway { schema, shutdown, auth, dev })
        .fallback(web::fallback)
}

/// Queries and mutations, one per request, as JSON. A batch (a JSON array) of more than one is
/// refused: each operation of a batch would get the whole of one request's limits.
async fn graphql_post(State(gateway): State<Gateway>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the GraphQL request as JSON ({\"query\": ..., \"variables\": ...}) with Content-Type: application/json",
        );
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the request body is larger than {MAX_BODY} bytes, or was cut off"),
        );
    };
    let batch: async_graphql::BatchRequest = match serde_json::from_slice(&bytes) {
        Ok(batch) => batch,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("the body is not a GraphQL request: {e}")),
    };
    if let async_graphql::BatchRequest::Batch(requests) = &batch
        && requests.len() > 1
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            &format!("send one operation per request: batches of {} are not accepted", requests.len()),
        );
    }
    let ctx = coffee_http::context_of(&parts);
    GraphQLResponse::from(gateway.schema.execute_batch(batch.data(ctx)).await).into_response()
}

/// Subscriptions over WebSocket; GraphiQL for a browser.
async fn graphql_get(State(gateway): State<Gateway>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    if is_upgrade(&parts.headers) {
        let Ok(protocol) = GraphQLProtocol::from_request_parts(&mut parts, &()).await else {
            return refuse(
                StatusCode::BAD_REQUEST,
                "subscriptions need the WebSocket subprotocol graphql-transport-ws (or the older graphql-ws)",
            );
        };
        // A browser opens the socket with its cookie whatever page asked, and says which page
        // asked in `Origin`: another site's page is refused outright (cross-site WebSocket
        // hijacking), and without an `Origin` (not a browser) the cookie does not count.
        if parts.headers.contains_key(header::ORIGIN) && !gateway.auth.same_site(&parts.headers) {
            let why = "a page of another site may not open this server's WebSocket (see --cors-origin)";
            return coffee_http::ApiError(coffee_service::ServiceError::Forbidden(why.to_owned())).into_response();
        }
        let mut ctx = coffee_http::context_of(&parts);
        let who = gateway.auth.from_headers(&Method::POST, &parts.headers, coffee_service::now());
        ctx.caller = who.caller;
        ctx.credential = who.credential;
        ctx.session = who.session;
        let held = match parts.extensions.get::<Arc<coffee_http::Streams>>().map(|s| s.open(&ctx, &parts.extensions)) {
            Some(Err(e)) => return coffee_http::ApiError(e).into_response(),
            Some(Ok(guard)) => Some(guard),
            None => None,
        };
        return match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(upgrade) => upgrade
                .protocols(ALL_WEBSOCKET_PROTOCOLS)
                .on_upgrade(move |socket| async move {
                    serve_socket(socket, gateway, protocol, ctx).await;
                    drop(held);
                })
                .into_response(),
            Err(rejection) => rejection.into_response(),
        };
    }
    let html = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    match (html, gateway.dev) {
        (true, true) => return ([(header::CONTENT_SECURITY_POLICY, GRAPHIQL_POLICY)], Html(GRAPHIQL)).into_response(),
        (true, false) => return refuse(StatusCode::NOT_FOUND, "GraphiQL is served by a server started with --dev"),
        _ => {}
    }
    refuse(
        StatusCode::BAD_REQUEST,
        "GET /graphql is for WebSocket subscriptions (graphql-transport-ws) and for GraphiQL in a browser; \
         send queries and mutations with POST",
    )
}

fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.get(header::UPGRADE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// One WebSocket connection. When the gateway shuts down, the client's side of the conversation
/// is cut first (so no subscription is reported `complete`, which would stop a client from
/// subscribing again), then the socket is closed with 1001 "going away", which graphql-ws
/// clients answer by reconnecting to the next server.
///
/// The caller is the one the upgrade request proved, unless `connection_init` carries a token
/// (`{"authorization": "Bearer ..."}`), which then decides.
///
/// A socket may hold at most [`MAX_SUBSCRIPTIONS`] subscriptions at once; one more closes it
/// with 4429 (each one is a filter every event of the live feed goes through).
async fn serve_socket(socket: WebSocket, gateway: Gateway, protocol: GraphQLProtocol, ctx: coffee_service::Context) {
    let (mut sink, stream) = socket.split();
    let mut active = std::collections::HashSet::new();
    let over = Arc::new(AtomicBool::new(false));
    let initialised = Arc::new(AtomicBool::new(false));
    let (flag, init_seen) = (over.clone(), initialised.clone());
    // A socket that does not say `connection_init` in time holds a connection for nothing.
    let init_deadline = {
        let initialised = initialised.clone();
        async move {
            tokio::time::sleep(CONNECTION_INIT_TIMEOUT).await;
            if initialised.load(Ordering::Relaxed) {
                futures::future::pending::<()>().await;
            }
        }
    };
    let stream = stream.take_until(gateway.shutdown.clone().cancelled_owned()).take_until(init_deadline).take_while(
        move |message| {
            if let Ok(Message::Text(text)) = message {
                if track_subscriptions(&mut active, text.as_str()) {
                    init_seen.store(true, Ordering::Relaxed);
                }
                if active.len() > MAX_SUBSCRIPTIONS {
                    flag.store(true, Ordering::Relaxed);
                    return futures::future::ready(false);
                }
            }
            futures::future::ready(true)
        },
    );
    let auth = gateway.auth.clone();
    let on_init = move |payload: serde_json::Value| async move {
        let mut ctx = ctx;
        let token =
            payload.get("authorization").and_then(|v| v.as_str()).map(|v| v.trim_start_matches("Bearer ").trim());
        if let Some(token) = token {
            let who = auth.from_token(token, coffee_service::now());
            ctx.caller = who.caller;
            ctx.credential = who.credential;
            ctx.session = who.session;
        }
        let mut data = async_graphql::Data::default();
        data.insert(ctx);
        Ok(data)
    };
    GraphQLWebSocket::new_with_pair(&mut sink, stream, gateway.schema, protocol)
        .on_connection_init(on_init)
        .serve()
        .await;
    if !initialised.load(Ordering::Relaxed) && !gateway.shutdown.is_cancelled() {
        let reason = "Connection initialisation timeout";
        let _ = sink.send(Message::Close(Some(CloseFrame { code: 4408, reason: reason.into() }))).await;
    } else if over.load(Ordering::Relaxed) {
        let reason = format!("at most {MAX_SUBSCRIPTIONS} subscriptions per connection");
        let _ = sink.send(Message::Close(Some(CloseFrame { code: 4429, reason: reason.into() }))).await;
    } else if gateway.shutdown.is_cancelled() {
        let close = CloseFrame { code: 1001, reason: "the server is shutting down".into() };
        let _ = sink.send(Message::Close(Some(close))).await;
    }
}

/// The most subscriptions one WebSocket may hold at once (the web app's busiest page holds 3).
pub const MAX_SUBSCRIPTIONS: usize = 20;

/// How long a new socket has to send `connection_init` (graphql-transport-ws closes it with
/// 4408 after that).
pub const CONNECTION_INIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Keeps `active` the ids of the socket's running subscriptions, from its messages in either
/// protocol (`subscribe`/`complete`, or the older `start`/`stop`); true for `connection_init`.
fn track_subscriptions(active: &mut std::collections::HashSet<String>, text: &str) -> bool {
    let Ok(message) = serde_json::from_str::<serde_json::Value>(text) else { return false };
    let id = message.get("id").and_then(|v| v.as_str()).map(str::to_owned);
    match (message.get("type").and_then(|v| v.as_str()), id) {
        (Some("subscribe" | "start"), Some(id)) => {
            active.insert(id);
        }
        (Some("complete" | "stop"), Some(id)) => {
            active.remove(&id);
        }
        (Some("connection_init"), _) => return true,
        _ => {}
    }
    false
}

/// A request the gateway cannot run, answered in GraphQL's error shape.
fn refuse(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": "BAD_USER_INPUT" } }] });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    response
}

/// GraphiQL, from this server: the web app's build carries GraphiQL and React
/// (`frontend/scripts/vendor.mjs`), so it works with no internet. Scripts from this server only
/// (the start is `init.js`, not inline); styles inline too, as GraphiQL sets its own.
const GRAPHIQL: &str = r#"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="robots" content="noindex">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Event Driven Coffee — GraphiQL</title>
    <style>body { margin: 0; } #graphiql { height: 100vh; }</style>
    <link rel="stylesheet" href="/graphiql/vendor/graphiql.min.css">
    <script src="/graphiql/vendor/react.production.min.js"></script>
    <script src="/graphiql/vendor/react-dom.production.min.js"></script>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script src="/graphiql/vendor/graphiql.min.js"></script>
    <script src="/graphiql/init.js"></script>
  </body>
</html>
"#;

/// `GET /api/docs` (anyone): Swagger UI over this server's `/api/openapi.json`, from this server
/// (the web app's build carries it), so it works with no internet.
async fn api_docs() -> Response {
    ([(header::CONTENT_SECURITY_POLICY, GRAPHIQL_POLICY)], Html(API_DOCS)).into_response()
}

/// Swagger UI's page: its script and styles from this server, started by `init.js`.
const API_DOCS: &str = r#"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="robots" content="noindex">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Event Driven Coffee — REST API</title>
    <link rel="stylesheet" href="/api-docs/vendor/swagger-ui.css">
  </head>
  <body>
    <div id="swagger-ui">Loading the API's description…</div>
    <script src="/api-docs/vendor/swagger-ui-bundle.js"></script>
    <script src="/api-docs/init.js"></script>
  </body>
</html>
"#;

/// GraphiQL's and Swagger UI's pages may load and call this server only.
const GRAPHIQL_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; object-src 'none'; \
    base-uri 'self'; form-action 'self'";

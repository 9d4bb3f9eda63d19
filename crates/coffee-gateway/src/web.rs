//! The web app (the SvelteKit build in `frontend/build/`), embedded in the binary with
//! rust-embed, so one file serves the whole system. `build.rs` makes sure the folder is built
//! before this crate compiles.
//!
//! It is the router's fallback: a path no route serves is a file of the app, or a page of the
//! single-page app (which gets `index.html`, and the app's router shows the page). Paths that
//! belong to the API (`/api/*`, `/graphql`, `/healthz`, `/readyz`) never get the app: an unknown
//! one is the usual JSON 404. A missing file under `/_app/` (a stale asset link) is a 404 too,
//! not `index.html`, so a browser never runs HTML as a script.
//!
//! Caching: SvelteKit puts content-hashed files under `/_app/immutable/`; those are cached for a
//! year. Everything else is revalidated on each use (`no-cache` with an ETag, answered with 304
//! when unchanged), so a new release shows at once.

use std::borrow::Cow;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use coffee_http::ApiError;
use coffee_service::ServiceError;
use rust_embed::{Embed, EmbeddedFile};

#[derive(Embed)]
#[folder = "../../frontend/build/"]
struct WebApp;

const INDEX: &str = "index.html";
const IMMUTABLE: &str = "_app/immutable/";
const ASSETS: &str = "_app/";

/// The router's fallback: the app's files and pages, or the API's 404 and 405.
pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if is_api(uri.path()) {
        return coffee_http::fallback(method, uri).await.into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        let mut response = coffee_http::method_not_allowed(method, uri).await;
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let path = uri.path().trim_start_matches('/');
    // Embedded names never contain `..`; refusing it also keeps a debug build (which reads the
    // folder from disk) inside the folder.
    let safe = !path.split('/').any(|segment| segment == "..") && !path.contains('\\');
    let name = if path.is_empty() || path.ends_with('/') { INDEX } else { path };
    match safe.then(|| WebApp::get(name)).flatten() {
        Some(file) => serve(name, file, &headers),
        None if path.starts_with(ASSETS) || !safe => {
            ApiError(ServiceError::NotFound(format!("no file {}", uri.path()))).into_response()
        }
        None => match WebApp::get(INDEX) {
            Some(index) => serve(INDEX, index, &headers),
            None => {
                ApiError(ServiceError::NotFound("the web app is not built into this binary".to_owned())).into_response()
            }
        },
    }
}

/// Paths of the API, which the app never answers for.
fn is_api(path: &str) -> bool {
    let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    under("/api") || under("/graphql") || path == "/healthz" || path == "/readyz"
}

fn serve(name: &str, file: EmbeddedFile, request: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()));
    let cache = if name.starts_with(IMMUTABLE) { "public, max-age=31536000, immutable" } else { "no-cache" };
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = match file.data {
            Cow::Borrowed(bytes) => Body::from(bytes),
            Cow::Owned(bytes) => Body::from(bytes),
        };
        let mut response = Response::new(body);
        if let Ok(value) = HeaderValue::from_str(&content_type(file.metadata.mimetype())) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// The file's type, with the charset for text (the build writes UTF-8).
fn content_type(mime: &str) -> String {
    let text = mime.starts_with("text/") || matches!(mime, "application/javascript" | "application/json");
    if text && !mime.contains("charset") { format!("{mime}; charset=utf-8") } else { mime.to_owned() }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(path: &str, headers: HeaderMap) -> Response {
        fallback(Method::GET, path.parse().expect("uri"), headers).await
    }

    fn header(r: &Response, name: header::HeaderName) -> &str {
        r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    async fn body(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), usize::MAX).await.expect("body");
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[tokio::test]
    async fn the_root_and_any_page_get_the_app() {
        for path in ["/", "/barista", "/orders/", "/admin?tab=payments", "/some/deep/page"] {
            let r = get(path, HeaderMap::new()).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert_eq!(header(&r, header::CONTENT_TYPE), "text/html; charset=utf-8", "{path}");
            assert_eq!(header(&r, header::CACHE_CONTROL), "no-cache", "{path}");
            assert!(body(r).await.contains("<html"), "{path}");
        }
    }

    #[tokio::test]
    async fn immutable_assets_are_cached_long_with_their_type() {
        let name = WebApp::iter().find(|f| f.starts_with(IMMUTABLE) && f.ends_with(".js")).expect("a built script");
        let r = get(&format!("/{name}"), HeaderMap::new()).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(header(&r, header::CONTENT_TYPE).contains("javascript"), "{}", header(&r, header::CONTENT_TYPE));
        assert_eq!(header(&r, header::CACHE_CONTROL), "public, max-age=31536000, immutable");
    }

    #[tokio::test]
    async fn an_unchanged_file_is_answered_with_304() {
        let first = get("/", HeaderMap::new()).await;
        let etag = header(&first, header::ETAG).to_owned();
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(&etag).expect("etag"));
        assert_eq!(get("/", headers).await.status(), StatusCode::NOT_MODIFIED);
    }

    #[tokio::test]
    async fn api_paths_and_missing_assets_are_not_the_app() {
        for path in ["/api/nothing", "/graphql/x", "/healthz", "/_app/immutable/missing.js", "/../Cargo.toml"] {
            let r = get(path, HeaderMap::new()).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
            assert!(body(r).await.contains("NOT_FOUND"), "{path}");
        }
        let post = fallback(Method::POST, "/barista".parse().expect("uri"), HeaderMap::new()).await;
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}

//! The web app (the SvelteKit build in `frontend/build/`), embedded in the binary with
//! rust-embed, so one file serves the whole system. `build.rs` makes sure the folder is built
//! before this crate compiles.
//!
//! It is the router's fallback. The app's pages are prerendered, one HTML file each
//! (`index.html` for `/`, `orders.html` for `/orders`, …): a page's path gets its file, so the
//! first screen shows before the JavaScript runs. Any other path that is not a file of the app
//! is a 404 with the app's "not found" page (`404.html`). Paths that belong to the API (`/api/*`,
//! `/graphql`, `/healthz`, `/readyz`) never get the app: an unknown one is the usual JSON 404. A
//! missing file under `/_app/` (a stale asset link) is a JSON 404 too, so a browser never runs
//! HTML as a script.
//!
//! Compression: the build writes a brotli (`.br`) and a gzip (`.gz`) copy beside each text file
//! (adapter-static's `precompress`); the best one the browser accepts is served, with
//! `Content-Encoding` and `Vary: Accept-Encoding`, so nothing is compressed per request.
//!
//! Caching: SvelteKit puts content-hashed files under `/_app/immutable/`; those are cached for a
//! year. Everything else is revalidated on each use (`no-cache` with an ETag per encoding,
//! answered with 304 when unchanged), so a new release shows at once.

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
const NOT_FOUND_PAGE: &str = "404.html";
const IMMUTABLE: &str = "_app/immutable/";
const ASSETS: &str = "_app/";

/// The encodings the build precompresses, best first: (`Content-Encoding`, file suffix).
const ENCODINGS: [(&str, &str); 2] = [("br", ".br"), ("gzip", ".gz")];

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
    if !safe {
        return not_found(&uri);
    }
    if let Some(name) = page(path) {
        return serve(&name, StatusCode::OK, &headers);
    }
    if exists(path) && !is_variant(path) {
        return serve(path, StatusCode::OK, &headers);
    }
    if path.starts_with(ASSETS) {
        return not_found(&uri);
    }
    if exists(NOT_FOUND_PAGE) {
        serve(NOT_FOUND_PAGE, StatusCode::NOT_FOUND, &headers)
    } else {
        ApiError(ServiceError::NotFound(format!("no page {} (the web app is not built into this binary)", uri.path())))
            .into_response()
    }
}

/// The prerendered file of a page's path: `""` is `index.html`, `orders` (or `orders/`) is
/// `orders.html`. None for a path that is no page; `404.html` is not a page of its own.
fn page(path: &str) -> Option<String> {
    let route = path.trim_end_matches('/');
    let name = if route.is_empty() { INDEX.to_owned() } else { format!("{route}.html") };
    let own_page = route.is_empty() || (!route.contains('.') && name != NOT_FOUND_PAGE && name != INDEX);
    (own_page && exists(&name)).then_some(name)
}

fn exists(name: &str) -> bool {
    WebApp::get(name).is_some()
}

/// A precompressed copy, which is served only in place of its original.
fn is_variant(name: &str) -> bool {
    ENCODINGS.iter().any(|(_, suffix)| name.ends_with(suffix))
}

fn not_found(uri: &Uri) -> Response {
    ApiError(ServiceError::NotFound(format!("no file {}", uri.path()))).into_response()
}

/// Paths of the API, which the app never answers for.
fn is_api(path: &str) -> bool {
    let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    under("/api") || under("/graphql") || path == "/healthz" || path == "/readyz"
}

/// Whether the request's `Accept-Encoding` takes `coding` (a q-value of 0 refuses it).
fn accepts(request: &HeaderMap, coding: &str) -> bool {
    request.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused =
                parts.any(|p| p.strip_prefix("q=").is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)));
            (name.eq_ignore_ascii_case(coding) || name == "*") && !refused
        },
    )
}

/// The file `name` (which exists), in the best encoding the request accepts that the build made.
fn serve(name: &str, status: StatusCode, request: &HeaderMap) -> Response {
    let Some(original) = WebApp::get(name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let compressed = ENCODINGS
        .iter()
        .filter(|(coding, _)| accepts(request, coding))
        .find_map(|(coding, suffix)| WebApp::get(&format!("{name}{suffix}")).map(|file| (*coding, file)));
    // A file the build compressed varies by the request's Accept-Encoding, even when sent as is.
    let varies = ENCODINGS.iter().any(|(_, suffix)| exists(&format!("{name}{suffix}")));
    let (coding, file): (Option<&str>, EmbeddedFile) = match compressed {
        Some((coding, file)) => (Some(coding), file),
        None => (None, original.clone()),
    };
    let etag =
        format!("\"{}{}\"", hex(&file.metadata.sha256_hash()), coding.map(|c| format!("-{c}")).unwrap_or_default());
    let cache = if name.starts_with(IMMUTABLE) { "public, max-age=31536000, immutable" } else { "no-cache" };
    let fresh = status == StatusCode::OK
        && request
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
        *response.status_mut() = status;
        if let Ok(value) = HeaderValue::from_str(&content_type(original.metadata.mimetype())) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        if let Some(coding) = coding {
            response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
        }
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if varies {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
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

    fn accepting(encodings: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(encodings).expect("header"));
        headers
    }

    fn header(r: &Response, name: header::HeaderName) -> &str {
        r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    async fn bytes(r: Response) -> Vec<u8> {
        axum::body::to_bytes(r.into_body(), usize::MAX).await.expect("body").to_vec()
    }

    async fn body(r: Response) -> String {
        String::from_utf8_lossy(&bytes(r).await).into_owned()
    }

    #[tokio::test]
    async fn each_page_gets_its_prerendered_file() {
        for (path, file) in [
            ("/", "index.html"),
            ("/orders", "orders.html"),
            ("/orders/", "orders.html"),
            ("/barista", "barista.html"),
            ("/display", "display.html"),
            ("/admin", "admin.html"),
            ("/admin?tab=payments", "admin.html"),
        ] {
            let r = get(path, HeaderMap::new()).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert_eq!(header(&r, header::CONTENT_TYPE), "text/html; charset=utf-8", "{path}");
            assert_eq!(header(&r, header::CACHE_CONTROL), "no-cache", "{path}");
            let expected = WebApp::get(file).expect("a prerendered page").data.into_owned();
            assert_eq!(bytes(r).await, expected, "{path} is {file}");
        }
    }

    #[tokio::test]
    async fn an_unknown_page_is_a_404_with_the_not_found_page() {
        for path in ["/some/deep/page", "/nope", "/404", "/index", "/orders/extra"] {
            let r = get(path, HeaderMap::new()).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(header(&r, header::CONTENT_TYPE), "text/html; charset=utf-8", "{path}");
            assert_eq!(header(&r, header::CACHE_CONTROL), "no-cache", "{path}");
            assert!(body(r).await.contains("<html"), "{path}");
        }
        // A 404 is never answered with 304: the status is part of the answer.
        let first = get("/nope", HeaderMap::new()).await;
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(header(&first, header::ETAG)).expect("etag"));
        assert_eq!(get("/nope", headers).await.status(), StatusCode::NOT_FOUND);
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
    async fn text_is_sent_compressed_as_the_browser_accepts() {
        let script = WebApp::iter()
            .find(|f| f.starts_with(IMMUTABLE) && f.ends_with(".js") && exists(&format!("{f}.br")))
            .expect("a precompressed script");
        let original = WebApp::get(&script).expect("script").data.len();
        for (accept, expected) in [
            ("gzip, deflate, br, zstd", "br"),
            ("br;q=1.0, gzip;q=0.8", "br"),
            ("gzip", "gzip"),
            ("br;q=0, gzip", "gzip"),
            ("identity", ""),
        ] {
            let r = get(&format!("/{script}"), accepting(accept)).await;
            assert_eq!(r.status(), StatusCode::OK, "{accept}");
            assert_eq!(header(&r, header::CONTENT_ENCODING), expected, "{accept}");
            assert_eq!(header(&r, header::VARY), "accept-encoding", "{accept}");
            assert!(header(&r, header::CONTENT_TYPE).contains("javascript"), "{accept}");
            assert_eq!(header(&r, header::CACHE_CONTROL), "public, max-age=31536000, immutable");
            let sent = bytes(r).await.len();
            if expected.is_empty() {
                assert_eq!(sent, original)
            } else {
                assert!(sent < original, "{accept}: {sent} of {original}")
            }
        }
        let page = get("/", accepting("br")).await;
        assert_eq!(header(&page, header::CONTENT_ENCODING), "br");
        assert_eq!(header(&page, header::CACHE_CONTROL), "no-cache");
        // The compressed copies are not pages or files of their own.
        assert_eq!(get(&format!("/{script}.br"), HeaderMap::new()).await.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn an_unchanged_file_is_answered_with_304_per_encoding() {
        for accept in ["", "br", "gzip"] {
            let first = get("/", accepting(accept)).await;
            let etag = header(&first, header::ETAG).to_owned();
            let mut headers = accepting(accept);
            headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(&etag).expect("etag"));
            assert_eq!(get("/", headers).await.status(), StatusCode::NOT_MODIFIED, "{accept}");
        }
        let br = get("/", accepting("br")).await;
        let gzip = get("/", accepting("gzip")).await;
        assert_ne!(header(&br, header::ETAG), header(&gzip, header::ETAG));
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

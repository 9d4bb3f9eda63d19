//! The REST API's OpenAPI 3.1 document. Every process serves, at `/api/openapi.json`, the
//! document of the routes it serves (made from the same declarations as its router);
//! `coffee openapi` prints the whole system's, which `docs/openapi.json` keeps (a test fails when
//! they differ). Where the web app is served, Swagger UI shows it at `/api/docs`.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use coffee_http::ApiRouter;
use coffee_http::openapi::OpenApi;
use coffee_http::openapi::api_routing::get_with;

/// The document, once the routes are finished (the route that serves it is one of them).
type Document = Arc<OnceLock<String>>;

/// `rest`, finished into a router that also serves its document.
pub fn served(rest: ApiRouter) -> Router {
    let document = Document::default();
    let mut api = frame();
    let router = rest.merge(declared().with_state(document.clone())).finish_api(&mut api);
    let _ = document.set(render(api));
    router
}

/// The whole system's document, as `coffee serve` serves it.
pub fn system() -> String {
    let mut api = frame();
    coffee_order::api::describe(&mut api);
    coffee_payment::api::describe(&mut api);
    coffee_fulfilment::api::describe(&mut api);
    coffee_identity::api::describe(&mut api);
    crate::admin::describe(&mut api);
    crate::live::describe(&mut api);
    let _ = declared().finish_api(&mut api);
    render(api)
}

fn declared() -> ApiRouter<Document> {
    ApiRouter::new().api_route(
        "/api/openapi.json",
        get_with(document, |op| {
            let op = op.id("openapi").tag("operations").summary("This document: the routes of this process (anyone).");
            coffee_http::openapi::answers(op, 200, "application/json", "The OpenAPI 3.1 document.")
        }),
    )
}

async fn document(State(document): State<Document>) -> Response {
    let body = document.get().cloned().unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn frame() -> OpenApi {
    coffee_http::openapi::document("Event Driven Coffee", env!("CARGO_PKG_VERSION"))
}

/// The document as JSON (see [`coffee_http::openapi::published`]).
fn render(api: OpenApi) -> String {
    let mut text = serde_json::to_string_pretty(&coffee_http::openapi::published(api)).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_openapi_json_is_the_generated_document() {
        let on_disk = include_str!("../../../docs/openapi.json");
        assert!(
            on_disk == super::system(),
            "docs/openapi.json is out of date: run `cargo run -p coffee -- openapi > docs/openapi.json`"
        );
    }

    /// Every route `coffee serve` declares is in the document, each operation with an id (the
    /// fuzzer's and Swagger UI's names for it) and a summary saying who may call it.
    #[test]
    fn every_operation_has_an_id_and_says_who_may_call_it() {
        let doc: serde_json::Value = serde_json::from_str(&super::system()).expect("the document is JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().expect("paths");
        let mut ids = Vec::new();
        for (path, item) in paths {
            for (method, op) in item.as_object().expect("a path item") {
                let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
                let summary = op["summary"].as_str().unwrap_or_default();
                assert!(
                    summary.ends_with(").") && summary.contains('('),
                    "{method} {path}: '{summary}' names no caller"
                );
                ids.push(id.to_owned());
            }
        }
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "operation ids are unique");
        assert!(count >= 40, "{count} operations");
    }
}

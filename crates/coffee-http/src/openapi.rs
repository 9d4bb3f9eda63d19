//! The REST API's OpenAPI 3.1 document, made from the route declarations the server runs
//! (aide's [`ApiRouter`]): each route's method and path, the types its extractors take and its
//! handler answers (their JSON Schemas derived beside their serde attributes, so the document
//! says what serde reads and writes), and the errors every route may answer.
//!
//! A service declares its routes once, with `api_route`; the process that mounts them gets both
//! the axum router and the document of exactly what it serves.

use aide::generate::GenContext;
use aide::openapi::{
    Components, Info, MediaType, Operation, Parameter, ParameterData, ParameterSchemaOrContent, PathStyle, ReferenceOr,
    Response, SchemaObject, SecurityRequirement, SecurityScheme, StatusCode as DocStatus,
};
pub use aide::{OperationInput, OperationOutput};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response as HttpResponse};
use indexmap::IndexMap;
use schemars::{JsonSchema, Schema};

use crate::extract::{ApiJson, ApiPath, ApiQuery, Ctx, IdPath, PathId};
use crate::{ApiError, ErrorBody};

pub use aide::axum::ApiRouter;
pub use aide::axum::routing as api_routing;
pub use aide::openapi::OpenApi;

impl<T: JsonSchema> OperationInput for ApiJson<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        Json::<T>::operation_input(ctx, operation);
    }
}

/// Each key of the query is a parameter; but a query whose keys constrain one another (a list:
/// at most one filter) says so with `x-parameter`, and is one exploded object parameter of that
/// name, whose schema can say it.
impl<T: JsonSchema> OperationInput for ApiQuery<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        let schema = ctx.schema.subschema_for::<T>();
        let resolved = ctx.resolve_schema(&schema).clone();
        let Some(name) = resolved.get("x-parameter").and_then(|n| n.as_str()).map(str::to_owned) else {
            return axum::extract::Query::<T>::operation_input(ctx, operation);
        };
        let mut json_schema = resolved;
        json_schema.remove("x-parameter");
        operation.parameters.push(ReferenceOr::Item(Parameter::Query {
            parameter_data: {
                let description = json_schema.get("description").and_then(|d| d.as_str()).map(str::to_owned);
                ParameterData { explode: Some(true), ..parameter(name, description, false, json_schema) }
            },
            allow_reserved: false,
            style: aide::openapi::QueryStyle::Form,
            allow_empty_value: None,
        }));
    }
}

/// A header the operation reads (the webhook's signature).
pub fn header<'t>(
    mut op: aide::transform::TransformOperation<'t>,
    name: &str,
    description: &str,
) -> aide::transform::TransformOperation<'t> {
    op.inner_mut().parameters.push(ReferenceOr::Item(Parameter::Header {
        parameter_data: parameter(
            name.to_owned(),
            Some(description.to_owned()),
            true,
            schemars::json_schema!({ "type": "string" }),
        ),
        style: aide::openapi::HeaderStyle::Simple,
    }));
    op
}

impl<T: JsonSchema> OperationInput for ApiPath<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        axum::extract::Path::<T>::operation_input(ctx, operation);
    }
}

/// The route's `{id}`: the id's own schema (a UUID), named `id`.
impl<T: PathId + JsonSchema> OperationInput for IdPath<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        let schema = ctx.schema.subschema_for::<T>();
        let description = Some(format!("The {}'s id; one that names none is 404.", T::ENTITY));
        operation.parameters.push(ReferenceOr::Item(Parameter::Path {
            parameter_data: parameter("id".to_owned(), description, true, schema),
            style: PathStyle::Simple,
        }));
    }
}

/// A parameter with its schema; the rest of OpenAPI's fields left out.
fn parameter(name: String, description: Option<String>, required: bool, json_schema: Schema) -> ParameterData {
    ParameterData {
        name,
        description,
        required,
        format: ParameterSchemaOrContent::Schema(schema_object(json_schema)),
        extensions: IndexMap::default(),
        deprecated: None,
        example: None,
        examples: IndexMap::default(),
        explode: None,
    }
}

fn schema_object(json_schema: Schema) -> SchemaObject {
    SchemaObject { json_schema, example: None, external_docs: None }
}

/// Who calls is the request's credential (see [`document`]'s security schemes), not a parameter.
impl OperationInput for Ctx {}

/// The errors a route may answer, each with the JSON error body. A 500 is a bug, so it is not
/// part of the contract.
const ERRORS: &[(u16, &str)] = &[
    (400, "BAD_USER_INPUT: the request is malformed or breaks a rule; the message names the field."),
    (401, "UNAUTHENTICATED: the route needs a session and the request has none, or an expired one."),
    (403, "FORBIDDEN: the caller's role may not do this."),
    (404, "NOT_FOUND: nothing of that id, or not the caller's."),
    (
        409,
        "CONFLICT (the current status forbids it) or one of the shop's rules: TOO_MANY_OPEN_ORDERS, SHOP_CLOSED, SHOP_AT_CAPACITY, SOLD_OUT.",
    ),
    (413, "PAYLOAD_TOO_LARGE: the body is over 64 KiB."),
    (415, "UNSUPPORTED_MEDIA_TYPE: the body must be JSON, with Content-Type: application/json."),
    (422, "IDEMPOTENCY_KEY_REUSED: the Idempotency-Key was used for another request."),
    (429, "TOO_MANY_REQUESTS: over the rate limit, or throttled logins; see Retry-After."),
    (503, "UNAVAILABLE: a dependency (the database) does not answer; retry after Retry-After."),
];

fn json_response<T: JsonSchema>(ctx: &mut GenContext, description: &str) -> Response {
    let json_schema = ctx.schema.subschema_for::<T>();
    Response {
        description: description.to_owned(),
        content: IndexMap::from_iter([(
            "application/json".to_owned(),
            MediaType { schema: Some(schema_object(json_schema)), ..Default::default() },
        )]),
        ..Default::default()
    }
}

impl OperationOutput for ApiError {
    type Inner = ErrorBody;

    fn inferred_responses(ctx: &mut GenContext, _operation: &mut Operation) -> Vec<(Option<DocStatus>, Response)> {
        ERRORS
            .iter()
            .map(|(status, description)| (Some(DocStatus::Code(*status)), json_response::<ErrorBody>(ctx, description)))
            .collect()
    }
}

/// The document as it is published: each error answer is declared once, under
/// `components.responses` (`#/components/responses/409`), and every operation refers to it; the
/// paths and schemas are in name order, so that the same routes give the same text whatever order
/// a process mounted them in.
pub fn published(mut api: OpenApi) -> OpenApi {
    let errors: Vec<String> = ERRORS.iter().map(|(status, _)| status.to_string()).collect();
    let mut shared = IndexMap::new();
    for path in api.paths.iter_mut().flat_map(|p| p.paths.values_mut()) {
        let ReferenceOr::Item(item) = path else { continue };
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            let Some(responses) = operation.responses.as_mut() else { continue };
            for (status, response) in responses.responses.iter_mut() {
                let code = status.to_string();
                if !errors.contains(&code) || !matches!(&*response, ReferenceOr::Item(r) if is_error_body(r)) {
                    continue;
                }
                let reference = ReferenceOr::Reference {
                    reference: format!("#/components/responses/{code}"),
                    description: None,
                    summary: None,
                };
                let body = std::mem::replace(response, reference);
                shared.entry(code).or_insert(body);
            }
        }
    }
    if let Some(paths) = api.paths.as_mut() {
        paths.paths.sort_keys();
    }
    let components = api.components.get_or_insert_with(Default::default);
    shared.sort_keys();
    components.responses.extend(shared);
    components.schemas.sort_keys();
    api
}

fn is_error_body(response: &Response) -> bool {
    response
        .content
        .get("application/json")
        .and_then(|m| m.schema.as_ref())
        .is_some_and(|s| s.json_schema.get("$ref").and_then(|r| r.as_str()) == Some("#/components/schemas/ErrorBody"))
}

/// A JSON answer with 201 Created: what a route that makes something returns.
pub struct Created<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> HttpResponse {
        (StatusCode::CREATED, Json(self.0)).into_response()
    }
}

impl<T: JsonSchema> OperationOutput for Created<T> {
    type Inner = T;

    fn operation_response(ctx: &mut GenContext, _operation: &mut Operation) -> Option<Response> {
        Some(json_response::<T>(ctx, "Created."))
    }

    fn inferred_responses(ctx: &mut GenContext, operation: &mut Operation) -> Vec<(Option<DocStatus>, Response)> {
        Self::operation_response(ctx, operation).map(|r| (Some(DocStatus::Code(201)), r)).into_iter().collect()
    }
}

/// Declares an answer that is not JSON (Prometheus's text, an event stream), for a handler that
/// builds its response by hand.
pub fn answers<'t>(
    mut op: aide::transform::TransformOperation<'t>,
    status: u16,
    media_type: &str,
    description: &str,
) -> aide::transform::TransformOperation<'t> {
    let response = Response {
        description: description.to_owned(),
        content: IndexMap::from_iter([(
            media_type.to_owned(),
            MediaType {
                schema: Some(schema_object(schemars::json_schema!({ "type": "string" }))),
                ..Default::default()
            },
        )]),
        ..Default::default()
    };
    let responses = op.inner_mut().responses.get_or_insert_with(Default::default);
    responses.responses.insert(DocStatus::Code(status), ReferenceOr::Item(response));
    op
}

/// The security schemes every operation accepts: a bearer token or the browser's session cookie.
/// Which routes need one, and whose, is README's "Who may do what"; each operation's
/// description repeats its line of it.
pub const BEARER: &str = "bearer";
pub const COOKIE: &str = "cookie";

/// The document's frame: what the API is, and how a caller says who it is. The routes fill in
/// `paths` and `components.schemas` as they are declared.
pub fn document(title: &str, version: &str) -> OpenApi {
    let mut schemes = IndexMap::new();
    schemes.insert(
        BEARER.to_owned(),
        ReferenceOr::Item(SecurityScheme::Http {
            scheme: "bearer".to_owned(),
            bearer_format: Some("JWT".to_owned()),
            description: Some(
                "A session's token: POST /api/session (customers) or POST /api/staff/login (staff).".to_owned(),
            ),
            extensions: IndexMap::default(),
        }),
    );
    schemes.insert(
        COOKIE.to_owned(),
        ReferenceOr::Item(SecurityScheme::ApiKey {
            location: aide::openapi::ApiKeyLocation::Cookie,
            name: coffee_auth::SESSION_COOKIE.to_owned(),
            description: Some(
                "The HttpOnly cookie the same routes set; a change made with it must come from this site's pages (Origin)."
                    .to_owned(),
            ),
            extensions: IndexMap::default(),
        }),
    );
    let scheme = |name: &str| SecurityRequirement::from_iter([(name.to_owned(), Vec::new())]);
    OpenApi {
        info: Info {
            title: title.to_owned(),
            version: version.to_owned(),
            description: Some(
                "The REST API of each service. Errors are `{\"error\": {\"code\", \"message\"}}` with a stable code. \
                 Any POST, PATCH, PUT or DELETE with an `Idempotency-Key` header runs once and its answer is replayed."
                    .to_owned(),
            ),
            ..Default::default()
        },
        // No credential (the public routes), or either scheme.
        security: vec![SecurityRequirement::default(), scheme(BEARER), scheme(COOKIE)],
        components: Some(Components { security_schemes: schemes, ..Default::default() }),
        ..Default::default()
    }
}

//! How a failed operation looks to a GraphQL client: the services' [`ServiceError`] becomes a
//! GraphQL error whose `extensions.code` is the same stable code the REST API returns
//! (`NOT_FOUND`, `BAD_USER_INPUT`, `CONFLICT`, `UNAVAILABLE`, `INTERNAL_SERVER_ERROR`) and whose
//! message is meant for people.
//!
//! Resolvers return `Result<_, GatewayError>`, so `?` on a service call converts through the one
//! mapping here; there is no way to hand async-graphql a raw error without a code. Internal
//! details are logged and replaced by a generic message, as in the REST API.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest, NextSubscribe};
use async_graphql::{ErrorExtensions, Response};
use coffee_service::ServiceError;
use futures::StreamExt;
use futures::stream::BoxStream;

/// A resolver's failure. Deliberately not `Display`: async-graphql turns any `Display` type into
/// an error without a code, and this type must go through [`From<GatewayError>`] instead.
#[derive(Debug, Clone)]
pub struct GatewayError(pub ServiceError);

impl From<ServiceError> for GatewayError {
    fn from(e: ServiceError) -> Self {
        Self(e)
    }
}

impl From<GatewayError> for async_graphql::Error {
    fn from(GatewayError(e): GatewayError) -> Self {
        to_graphql(&e)
    }
}

/// The GraphQL error for a service error.
pub fn to_graphql(e: &ServiceError) -> async_graphql::Error {
    if let ServiceError::Internal(detail) = e {
        tracing::error!(error = %detail, "internal error in a GraphQL operation");
    }
    let code = match e {
        // Not a case the gateway can meet (it never sends a body of the wrong type), but if a
        // service says so, the caller sent something it cannot take.
        ServiceError::UnsupportedMediaType(_) => "BAD_USER_INPUT",
        other => other.code(),
    };
    async_graphql::Error::new(e.public_message()).extend_with(|_, ext| ext.set("code", code))
}

/// An error with a code, for failures the gateway finds itself (before any service is asked).
pub fn bad_input(message: impl Into<String>) -> GatewayError {
    GatewayError(ServiceError::BadInput(message.into()))
}

/// Gives `BAD_USER_INPUT` to every error that has no code. Resolvers' errors all have one, so
/// these are GraphQL's own: a query that does not parse or validate, a missing or mistyped
/// variable. Client mistakes, and the web app shows every error by its code.
pub struct CodeEveryError;

impl ExtensionFactory for CodeEveryError {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(CodeEveryError)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for CodeEveryError {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        with_codes(next.run(ctx).await)
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream).map(with_codes).boxed()
    }
}

fn with_codes(mut response: Response) -> Response {
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "BAD_USER_INPUT");
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: &async_graphql::Error) -> Option<String> {
        e.extensions.as_ref()?.get("code").map(|c| c.to_string())
    }

    #[test]
    fn each_service_error_keeps_its_stable_code() {
        let cases = [
            (ServiceError::NotFound("no order".into()), "\"NOT_FOUND\""),
            (ServiceError::BadInput("bad".into()), "\"BAD_USER_INPUT\""),
            (ServiceError::Conflict("no".into()), "\"CONFLICT\""),
            (ServiceError::Unavailable("later".into()), "\"UNAVAILABLE\""),
            (ServiceError::Internal("boom".into()), "\"INTERNAL_SERVER_ERROR\""),
        ];
        for (service, want) in cases {
            let e: async_graphql::Error = GatewayError(service.clone()).into();
            assert_eq!(code(&e).as_deref(), Some(want), "{service:?}");
        }
    }

    #[test]
    fn an_internal_error_does_not_leak_its_detail() {
        let e: async_graphql::Error = GatewayError(ServiceError::Internal("disk I/O error at /var/db".into())).into();
        assert!(!e.message.contains("/var/db"), "{}", e.message);
    }

    #[test]
    fn a_people_facing_message_is_kept() {
        let e: async_graphql::Error = GatewayError(ServiceError::not_found("order", "abc")).into();
        assert_eq!(e.message, "no order with id 'abc'");
    }
}

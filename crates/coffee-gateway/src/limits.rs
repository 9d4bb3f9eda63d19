//! What one GraphQL request may ask of the server, checked before any resolver runs.
//!
//! The schema's own limits (depth, complexity) count a query's shape, not what it returns: a
//! list field answers up to `MAX_LIST` rows whatever the query, so 499 aliases of
//! `getOrderList` made a 92 MB answer from an 85 KB request. Here the query's text is bounded,
//! its root fields (aliases counted) are bounded, and so are the list fields among them; the
//! error list of an answer is cut short (a query of a thousand unknown fields does not answer
//! a thousand errors); and only a signed-in caller (or anyone with `--dev`) may introspect.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Response, ServerError, ServerResult, Variables};
use coffee_service::Caller;

/// The longest query text, in bytes. The web app's longest is under 1 KiB.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;
/// The most root fields (aliases included) one operation may select.
pub const MAX_ROOT_FIELDS: usize = 50;
/// The most list fields one operation may select at its root: each answers up to 500 rows.
pub const MAX_LIST_FIELDS: usize = 4;
/// The most errors one answer carries; the rest are counted in a last one.
pub const MAX_ERRORS: usize = 10;
/// The deepest selection, introspection aside (the contract's deepest is 2).
pub const MAX_DEPTH: usize = 10;

/// The root fields that answer lists (of up to `MAX_LIST` rows). A test keeps this in step with
/// the schema.
pub const LIST_FIELDS: &[&str] = &[
    "getCoffees",
    "getOrderList",
    "getPaymentList",
    "getFulfilmentList",
    "getFulfilmentQueue",
    "getPickupBoard",
    "getOrderTimeline",
];

/// Whether the gateway runs for development (`--dev`): introspection for anyone, GraphiQL.
#[derive(Debug, Clone, Copy)]
pub struct Dev(pub bool);

pub struct Limits;

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Limits)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Limits {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        if response.errors.len() > MAX_ERRORS {
            let more = response.errors.len() - (MAX_ERRORS - 1);
            response.errors.truncate(MAX_ERRORS - 1);
            response.errors.push(refused(format!("… and {more} more errors")));
        }
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if query.len() > MAX_QUERY_BYTES {
            return Err(refused(format!("the query is longer than {MAX_QUERY_BYTES} bytes")));
        }
        let document = next.run(ctx, query, variables).await?;
        let dev = ctx.data_opt::<Dev>().is_some_and(|d| d.0);
        let anonymous =
            ctx.data_opt::<coffee_service::Context>().is_none_or(|c| matches!(c.caller, Caller::Anonymous { .. }));
        let operations: Vec<&SelectionSet> = match &document.operations {
            DocumentOperations::Single(op) => vec![&op.node.selection_set.node],
            DocumentOperations::Multiple(ops) => ops.values().map(|op| &op.node.selection_set.node).collect(),
        };
        for selection in operations {
            let mut roots = Vec::new();
            root_fields(&document, selection, &mut roots, 0);
            if roots.len() > MAX_ROOT_FIELDS {
                return Err(refused(format!(
                    "an operation may select at most {MAX_ROOT_FIELDS} root fields (aliases count); this one selects {}",
                    roots.len()
                )));
            }
            let lists = roots.iter().filter(|name| LIST_FIELDS.contains(name)).count();
            if lists > MAX_LIST_FIELDS {
                return Err(refused(format!(
                    "an operation may select at most {MAX_LIST_FIELDS} lists; this one selects {lists}"
                )));
            }
            let depth = depth(&document, selection, 0);
            if depth > MAX_DEPTH {
                return Err(refused(format!(
                    "the query is nested {depth} levels deep; at most {MAX_DEPTH} are answered"
                )));
            }
            if anonymous && !dev && roots.iter().any(|name| *name == "__schema" || *name == "__type") {
                return Err(refused("introspection needs a session (or a server started with --dev)".to_owned()));
            }
        }
        Ok(document)
    }
}

/// The names of the root fields `selection` selects, through fragments (a fragment's own
/// fragments are followed a few levels; validation refuses cycles later).
fn root_fields<'d>(document: &'d ExecutableDocument, selection: &'d SelectionSet, out: &mut Vec<&'d str>, level: u8) {
    if level > 4 {
        return;
    }
    for item in &selection.items {
        match &item.node {
            Selection::Field(field) => out.push(field.node.name.node.as_str()),
            Selection::InlineFragment(fragment) => {
                root_fields(document, &fragment.node.selection_set.node, out, level + 1)
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    root_fields(document, &fragment.node.selection_set.node, out, level + 1);
                }
            }
        }
    }
}

/// How deep `selection` nests fields, through fragments; introspection (`__schema`, `__type`)
/// is not counted: GraphiQL's own query nests type references nine levels, and the schema it
/// reads is small and fixed. Fragments that spread each other are cut off (validation refuses
/// them anyway).
fn depth(document: &ExecutableDocument, selection: &SelectionSet, level: usize) -> usize {
    if level > 2 * MAX_DEPTH {
        return level;
    }
    selection
        .items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                if name == "__schema" || name == "__type" {
                    0
                } else {
                    1 + depth(document, &field.node.selection_set.node, level + 1)
                }
            }
            Selection::InlineFragment(fragment) => depth(document, &fragment.node.selection_set.node, level + 1),
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .map_or(0, |f| depth(document, &f.node.selection_set.node, level + 1)),
        })
        .max()
        .unwrap_or(0)
}

fn refused(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", "BAD_USER_INPUT");
    error.extensions = Some(extensions);
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_of(query: &str) -> usize {
        let document = async_graphql::parser::parse_query(query).expect("a query");
        let DocumentOperations::Single(op) = &document.operations else { panic!("one operation") };
        depth(&document, &op.node.selection_set.node, 0)
    }

    #[test]
    fn depth_counts_fields_through_fragments_but_not_introspection() {
        assert_eq!(depth_of("{ a }"), 1);
        assert_eq!(depth_of("{ a { b } c }"), 2);
        assert_eq!(depth_of("{ a { ...f } } fragment f on T { b { c } }"), 3);
        assert_eq!(depth_of("{ a { ... on T { b } } }"), 2, "an inline fragment is no level");
        assert_eq!(depth_of("{ a { b { c { d { e { f { g { h { i { j { k } } } } } } } } } } }"), 11);
        assert_eq!(depth_of("{ __schema { types { fields { type { ofType { ofType { name } } } } } } }"), 0);
    }
}

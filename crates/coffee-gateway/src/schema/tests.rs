//! The schema against its contract: the exported `schema.graphql` is what the code serves, and
//! every operation and type of `docs/graphql-contract.md` is there with its exact shape.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;

fn schema_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema.graphql")
}

#[test]
fn schema_graphql_is_the_schema_the_code_serves() {
    let path = schema_file();
    let code = sdl();
    let file = std::fs::read_to_string(&path).unwrap_or_default();
    // Tests may read the environment: this is how the file is regenerated on purpose. The test
    // still fails when it rewrote the file, so a run with the variable set never passes silently.
    if std::env::var_os("UPDATE_SCHEMA").is_some() && file != code {
        std::fs::write(&path, &code).expect("write schema.graphql");
        panic!("{} rewritten from the code: review the diff, commit it, and run again", path.display());
    }
    assert!(
        file == code,
        "{} does not match the schema the code serves. If the change is intended, regenerate it with\n    \
         UPDATE_SCHEMA=1 cargo test -p coffee-gateway schema_graphql\nand check the diff against \
         docs/graphql-contract.md: the web app depends on it.",
        path.display()
    );
}

/// The fields of each type in an SDL text, as `name(args): Type` lines.
fn fields_by_type(sdl: &str) -> BTreeMap<String, Vec<String>> {
    let mut types = BTreeMap::new();
    let mut current: Option<(String, Vec<String>)> = None;
    let mut in_description = false;
    for line in sdl.lines().map(str::trim) {
        if line.starts_with("\"\"\"") {
            // A one-line description opens and closes on the same line.
            if !(line.len() > 3 && line.ends_with("\"\"\"")) {
                in_description = !in_description;
            }
            continue;
        }
        if in_description || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix("type ").and_then(|rest| rest.strip_suffix(" {")) {
            current = Some((name.to_owned(), Vec::new()));
        } else if line == "}" {
            if let Some((name, fields)) = current.take() {
                types.insert(name, fields);
            }
        } else if let Some((_, fields)) = current.as_mut() {
            fields.push(line.to_owned());
        }
    }
    types
}

/// The contract, field by field, as `docs/graphql-contract.md` gives it in its `graphql` block:
/// `type Name { field(args): Type ... }`, fields apart by spaces or lines, `#` comments.
fn contract() -> Vec<(String, Vec<String>)> {
    let doc = include_str!("../../../../docs/graphql-contract.md");
    let block = doc.split("```graphql").nth(1).and_then(|b| b.split("```").next()).expect("a graphql block");
    let text: String = block.lines().map(|l| l.split('#').next().unwrap_or_default()).collect::<Vec<_>>().join(" ");
    let mut types = Vec::new();
    for part in text.split("type ").skip(1) {
        let (name, body) = part.split_once('{').expect("type Name {");
        let body = body.split('}').next().unwrap_or_default();
        types.push((name.trim().to_owned(), fields_of(body)));
    }
    types
}

/// `name(args): Type` items of a type's body, arguments kept as written.
fn fields_of(body: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut rest = body.trim();
    while !rest.is_empty() {
        let colon = rest.find(':').expect("name: Type");
        let paren = rest.find('(');
        let (head, after) = match paren {
            Some(p) if p < colon => {
                let close = rest.find(')').expect("closing parenthesis");
                (rest[..=close].to_owned(), rest[close + 1..].trim_start())
            }
            _ => (rest[..colon].trim().to_owned(), &rest[colon..]),
        };
        let after = after.strip_prefix(':').expect("a colon after the name").trim_start();
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        fields.push(format!("{}: {}", head.split_whitespace().collect::<Vec<_>>().join(" "), &after[..end]));
        rest = after[end..].trim_start();
    }
    fields
}

#[test]
fn every_contract_operation_and_type_keeps_its_exact_shape() {
    let types = fields_by_type(&sdl());
    let contract = contract();
    assert!(contract.len() >= 8, "the contract's types: {contract:?}");
    for (name, fields) in &contract {
        let served = types.get(name).unwrap_or_else(|| panic!("the schema has no type {name}"));
        assert_eq!(
            served, fields,
            "type {name} differs from docs/graphql-contract.md (fields, argument names, types or nullability)"
        );
    }
    let extra: Vec<&String> = types.keys().filter(|t| !contract.iter().any(|(name, _)| name == *t)).collect();
    assert!(extra.is_empty(), "types the contract does not know: {extra:?}");
}

#[test]
fn the_contract_is_read_field_by_field() {
    let coffee = contract().into_iter().find(|(name, _)| name == "Coffee").expect("Coffee");
    assert_eq!(
        coffee.1,
        [
            "id: ID!",
            "name: String!",
            "description: String!",
            "price: Int!",
            "options: MenuOptions",
            "available: Boolean"
        ]
    );
    assert_eq!(
        fields_of("getOrderList(date: String, customerId: String): [OrderDetail]  getCoffees: [Coffee]"),
        ["getOrderList(date: String, customerId: String): [OrderDetail]", "getCoffees: [Coffee]"]
    );
}

#[test]
fn the_contract_checker_sees_a_changed_argument() {
    let changed = sdl().replace("getOrderList(date: String, customerId: String)", "getOrderList(day: String)");
    let types = fields_by_type(&changed);
    assert!(!types["Query"].iter().any(|f| f.starts_with("getOrderList(date: String, customerId: String)")));
}

#[tokio::test]
async fn graphiql_introspection_fits_within_the_limits() {
    // As GraphiQL runs it under --dev (without --dev only a signed-in caller may introspect).
    let response = builder().data(crate::limits::Dev(true)).finish().execute(INTROSPECTION).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
}

#[tokio::test]
async fn a_request_that_fans_out_into_thousands_of_reads_is_refused() {
    // The root-field limit refuses it before the complexity limit would (see limits.rs).
    let fields: String =
        (0..crate::limits::MAX_ROOT_FIELDS + 1).map(|i| format!("a{i}: getOrder(orderId: \"x\") {{ id }} ")).collect();
    let response = builder().finish().execute(format!("{{ {fields} }}")).await;
    assert!(response.errors.iter().any(|e| e.message.contains("root fields")), "{:?}", response.errors);
    assert!(response.data == async_graphql::Value::Null, "no resolver ran");
}

#[tokio::test]
async fn graphql_s_own_errors_get_a_code_too() {
    for query in ["{ getCoffees { id ", "{ getNothing }", "query($id: ID!) { getOrder(orderId: $id) { id } }"] {
        let response = builder().finish().execute(query).await;
        let codes: Vec<_> =
            response.errors.iter().map(|e| e.extensions.as_ref().and_then(|x| x.get("code")).cloned()).collect();
        assert!(!codes.is_empty(), "{query}");
        assert!(
            codes.iter().all(|c| c.as_ref().is_some_and(|c| c.to_string() == "\"BAD_USER_INPUT\"")),
            "{query}: {codes:?}"
        );
    }
}

/// graphql-js's `getIntrospectionQuery()`, as GraphiQL sends it.
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}
"#;

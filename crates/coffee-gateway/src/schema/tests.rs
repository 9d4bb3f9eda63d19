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
    // Tests may read the environment: this is how the file is regenerated on purpose.
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &code).expect("write schema.graphql");
        return;
    }
    let file = std::fs::read_to_string(&path).unwrap_or_default();
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

/// The contract, field by field, in the order the contract gives them.
const CONTRACT: &[(&str, &[&str])] = &[
    ("Coffee", &["id: ID!", "name: String!", "description: String!", "price: Int!"]),
    (
        "OrderDetail",
        &[
            "id: ID!",
            "customerId: String!",
            "customerName: String!",
            "coffee: Coffee",
            "status: String!",
            "note: String",
            "createdAt: Int!",
            "updatedAt: Int!",
            "date: String!",
        ],
    ),
    (
        "PaymentDetail",
        &[
            "id: ID!",
            "orderId: ID!",
            "status: String!",
            "paymentIntentId: String",
            "clientSecret: String",
            "note: String",
            "createdAt: Int!",
            "amount: Int!",
            "currency: String!",
            "customerId: String!",
            "customerName: String!",
            "updatedAt: Int!",
        ],
    ),
    (
        "FulfilmentDetail",
        &[
            "id: ID!",
            "orderId: ID!",
            "status: String!",
            "note: String",
            "createdAt: Int!",
            "customerId: String!",
            "customerName: String!",
            "coffee: Coffee",
            "updatedAt: Int!",
        ],
    ),
    (
        "TimelineEvent",
        &[
            "id: ID!",
            "type: String!",
            "source: String!",
            "time: String!",
            "status: String!",
            "note: String",
            "data: String!",
        ],
    ),
    (
        "Query",
        &[
            "getCoffees: [Coffee]",
            "getOrderList(date: String, customerId: String): [OrderDetail]",
            "getPaymentList(date: String): [PaymentDetail]",
            "getFulfilmentList(date: String): [FulfilmentDetail]",
            "getOrder(orderId: ID!): OrderDetail",
            "getPaymentForOrder(orderId: ID!): PaymentDetail",
            "getFulfilmentForOrder(orderId: ID!): FulfilmentDetail",
            "getFulfilmentQueue: [FulfilmentDetail!]!",
            "getOrderTimeline(orderId: ID!): [TimelineEvent!]!",
        ],
    ),
    (
        "Mutation",
        &[
            "createOrder(coffeeId: ID!, customerId: String!, customerName: String!): OrderDetail!",
            "makePayment(orderId: ID!): PaymentDetail!",
            "cancelOrder(orderId: ID!, note: String): OrderDetail!",
            "rejectFulfilment(fulfilmentId: ID!, note: String): FulfilmentDetail!",
            "completeFulfilment(fulfilmentId: ID!, note: String): FulfilmentDetail!",
            "confirmPayment(paymentId: ID!, cardNumber: String!): PaymentDetail!",
        ],
    ),
    (
        "Subscription",
        &[
            "orderUpdated(orderId: String, customerId: String): OrderDetail",
            "paymentUpdated(paymentId: String, customerId: String): PaymentDetail",
            "fulfilmentUpdated(fulfilmentId: String, customerId: String): FulfilmentDetail",
        ],
    ),
];

#[test]
fn every_contract_operation_and_type_keeps_its_exact_shape() {
    let types = fields_by_type(&sdl());
    for (name, contract) in CONTRACT {
        let served = types.get(*name).unwrap_or_else(|| panic!("the schema has no type {name}"));
        let contract: Vec<String> = contract.iter().map(|f| (*f).to_owned()).collect();
        assert_eq!(
            served, &contract,
            "type {name} differs from docs/graphql-contract.md (fields, argument names, types or nullability)"
        );
    }
    let extra: Vec<&String> = types.keys().filter(|t| !CONTRACT.iter().any(|(name, _)| name == t)).collect();
    assert!(extra.is_empty(), "types the contract does not know: {extra:?}");
}

#[test]
fn the_contract_checker_sees_a_changed_argument() {
    let changed = sdl().replace("getOrderList(date: String, customerId: String)", "getOrderList(day: String)");
    let types = fields_by_type(&changed);
    assert!(!types["Query"].iter().any(|f| f.starts_with("getOrderList(date: String, customerId: String)")));
}

#[tokio::test]
async fn graphiql_introspection_fits_within_the_limits() {
    let response = builder().finish().execute(INTROSPECTION).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
}

#[tokio::test]
async fn a_request_that_fans_out_into_thousands_of_reads_is_refused() {
    let fields: String = (0..MAX_COMPLEXITY + 1).map(|i| format!("a{i}: getCoffees {{ id }} ")).collect();
    let response = builder().finish().execute(format!("{{ {fields} }}")).await;
    assert!(response.errors.iter().any(|e| e.message.contains("complex")), "{:?}", response.errors);
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

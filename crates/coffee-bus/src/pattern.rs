//! EventBridge event patterns: which events a rule selects.
//!
//! A pattern is a JSON object that mirrors the event. A key holds either a nested object
//! (look inside the event's object at that key) or an array of conditions (the event's
//! value must meet at least one). Every key must match (AND); `$or` takes a list of
//! sub-patterns of which one must match. When the event's value is an array, it matches if
//! any element does. Conditions, as in EventBridge:
//!
//! - a literal string, number, `true`, `false` or `null`: equality (numbers by value);
//! - `{"prefix": "s"}`, `{"suffix": "s"}` (either may wrap `{"equals-ignore-case": "s"}`);
//! - `{"equals-ignore-case": "s"}`, `{"wildcard": "a*b"}` (`\*` is a literal star);
//! - `{"anything-but": v}` where `v` is a literal, a list of literals, or a prefix,
//!   suffix, equals-ignore-case or wildcard condition; it never matches a missing field;
//! - `{"numeric": [">", 0, "<=", 5]}`: one or two comparisons, all must hold;
//! - `{"exists": true}` / `{"exists": false}`: presence of the field (of a leaf value).
//!
//! We wrote this rather than take a crate: the same pattern must decide routing on both
//! transports, the NATS transport reads the literal `type`/`source` values out of it to
//! build its broker-side filter (see [`Pattern::literal_values`]), and it is small enough
//! to test exhaustively.

use std::borrow::Cow;

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event pattern at '{path}': {reason}")]
pub struct PatternError {
    pub path: String,
    pub reason: String,
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    root: Object,
    source: Value,
}

#[derive(Debug, Clone, PartialEq)]
struct Object {
    fields: Vec<(String, Node)>,
    any_of: Vec<Vec<Object>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Object(Object),
    Leaf(Vec<Condition>),
}

#[derive(Debug, Clone, PartialEq)]
enum Condition {
    Equals(Value),
    Text(TextMatch),
    AnythingBut(AnythingBut),
    Numeric(Vec<(Cmp, f64)>),
    Exists(bool),
}

#[derive(Debug, Clone, PartialEq)]
enum TextMatch {
    Prefix(String),
    PrefixIgnoreCase(String),
    Suffix(String),
    SuffixIgnoreCase(String),
    EqualsIgnoreCase(String),
    Wildcard(String),
}

#[derive(Debug, Clone, PartialEq)]
enum AnythingBut {
    Values(Vec<Value>),
    Text(TextMatch),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

impl Pattern {
    pub fn parse(json: &str) -> Result<Self, PatternError> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| PatternError { path: String::new(), reason: format!("not JSON: {e}") })?;
        Self::from_value(value)
    }

    pub fn from_value(value: Value) -> Result<Self, PatternError> {
        let Value::Object(map) = &value else {
            return Err(err("", "a pattern must be a JSON object"));
        };
        let root = compile_object(map, "")?;
        Ok(Self { root, source: value })
    }

    /// The pattern as written.
    pub fn as_json(&self) -> &Value {
        &self.source
    }

    /// Matches a JSON event.
    pub fn matches(&self, event: &Value) -> bool {
        match event {
            Value::Object(map) => match_object(&self.root, &|k: &str| map.get(k).map(Cow::Borrowed)),
            _ => false,
        }
    }

    /// Matches an event given by a lookup of its top-level fields (an envelope exposes
    /// its attributes this way without being converted to JSON as a whole).
    pub fn matches_fields<'a>(&self, top: &dyn Fn(&str) -> Option<Cow<'a, Value>>) -> bool {
        match_object(&self.root, top)
    }

    /// The literal strings a top-level key must equal, if the pattern restricts it to
    /// literals only (`{"type": ["a", "b"]}` gives `Some(["a", "b"])`). Transports use it to
    /// filter at the broker; the full pattern is still checked on delivery.
    pub fn literal_values(&self, key: &str) -> Option<Vec<String>> {
        if !self.root.any_of.is_empty() {
            return None;
        }
        let (_, node) = self.root.fields.iter().find(|(k, _)| k == key)?;
        let Node::Leaf(conditions) = node else { return None };
        conditions
            .iter()
            .map(|c| match c {
                Condition::Equals(Value::String(s)) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }
}

fn err(path: &str, reason: impl Into<String>) -> PatternError {
    PatternError { path: path.to_owned(), reason: reason.into() }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

fn compile_object(map: &Map<String, Value>, path: &str) -> Result<Object, PatternError> {
    if map.is_empty() {
        return Err(err(path, "an empty object matches nothing useful; leave the key out instead"));
    }
    let mut object = Object { fields: Vec::new(), any_of: Vec::new() };
    for (key, value) in map {
        let here = join(path, key);
        if key == "$or" {
            let Value::Array(alternatives) = value else {
                return Err(err(&here, "$or takes an array of patterns"));
            };
            if alternatives.len() < 2 {
                return Err(err(&here, "$or needs at least two patterns"));
            }
            let mut compiled = Vec::new();
            for (i, alt) in alternatives.iter().enumerate() {
                let Value::Object(m) = alt else {
                    return Err(err(&format!("{here}[{i}]"), "each $or alternative must be an object"));
                };
                compiled.push(compile_object(m, &format!("{here}[{i}]"))?);
            }
            object.any_of.push(compiled);
            continue;
        }
        let node = match value {
            Value::Object(m) => Node::Object(compile_object(m, &here)?),
            Value::Array(items) => {
                if items.is_empty() {
                    return Err(err(&here, "an empty list of conditions can never match"));
                }
                Node::Leaf(items.iter().map(|c| compile_condition(c, &here)).collect::<Result<_, _>>()?)
            }
            _ => return Err(err(&here, "a value in a pattern must be an array of conditions or an object")),
        };
        object.fields.push((key.clone(), node));
    }
    Ok(object)
}

fn compile_condition(value: &Value, path: &str) -> Result<Condition, PatternError> {
    let Value::Object(map) = value else {
        if value.is_array() {
            return Err(err(path, "conditions cannot be nested arrays"));
        }
        return Ok(Condition::Equals(value.clone()));
    };
    if map.len() != 1 {
        return Err(err(path, "a condition object must have exactly one operator"));
    }
    let (op, arg) = map.iter().next().ok_or_else(|| err(path, "empty condition"))?;
    match op.as_str() {
        "prefix" | "suffix" | "equals-ignore-case" | "wildcard" => compile_text(op, arg, path).map(Condition::Text),
        "exists" => match arg {
            Value::Bool(b) => Ok(Condition::Exists(*b)),
            _ => Err(err(path, "exists takes true or false")),
        },
        "numeric" => compile_numeric(arg, path).map(Condition::Numeric),
        "anything-but" => match arg {
            Value::Array(items) => {
                if items.is_empty() {
                    return Err(err(path, "anything-but needs at least one value"));
                }
                if items.iter().any(|v| v.is_object() || v.is_array()) {
                    return Err(err(path, "anything-but lists only literal values"));
                }
                Ok(Condition::AnythingBut(AnythingBut::Values(items.clone())))
            }
            Value::Object(inner) => {
                let (inner_op, inner_arg) = match (inner.len(), inner.iter().next()) {
                    (1, Some(kv)) => kv,
                    _ => return Err(err(path, "anything-but takes one operator")),
                };
                Ok(Condition::AnythingBut(AnythingBut::Text(compile_text(inner_op, inner_arg, path)?)))
            }
            literal => Ok(Condition::AnythingBut(AnythingBut::Values(vec![literal.clone()]))),
        },
        other => Err(err(path, format!("unknown operator '{other}'"))),
    }
}

fn compile_text(op: &str, arg: &Value, path: &str) -> Result<TextMatch, PatternError> {
    match (op, arg) {
        ("prefix", Value::String(s)) => Ok(TextMatch::Prefix(s.clone())),
        ("suffix", Value::String(s)) => Ok(TextMatch::Suffix(s.clone())),
        ("prefix" | "suffix", Value::Object(m)) => match m.get("equals-ignore-case") {
            Some(Value::String(s)) if m.len() == 1 => Ok(if op == "prefix" {
                TextMatch::PrefixIgnoreCase(s.to_lowercase())
            } else {
                TextMatch::SuffixIgnoreCase(s.to_lowercase())
            }),
            _ => Err(err(path, format!("{op} takes a string or {{\"equals-ignore-case\": string}}"))),
        },
        ("equals-ignore-case", Value::String(s)) => Ok(TextMatch::EqualsIgnoreCase(s.to_lowercase())),
        ("wildcard", Value::String(s)) => {
            if s.contains("**") {
                return Err(err(path, "wildcard may not contain consecutive '*'"));
            }
            Ok(TextMatch::Wildcard(s.clone()))
        }
        (op @ ("prefix" | "suffix" | "equals-ignore-case" | "wildcard"), _) => {
            Err(err(path, format!("{op} takes a string")))
        }
        (other, _) => Err(err(path, format!("'{other}' cannot be used here"))),
    }
}

fn compile_numeric(arg: &Value, path: &str) -> Result<Vec<(Cmp, f64)>, PatternError> {
    let Value::Array(items) = arg else {
        return Err(err(path, "numeric takes an array like [\">\", 0, \"<=\", 5]"));
    };
    if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
        return Err(err(path, "numeric takes one or two (operator, number) pairs"));
    }
    items
        .chunks(2)
        .map(|pair| {
            let cmp = match pair[0].as_str() {
                Some("<") => Cmp::Lt,
                Some("<=") => Cmp::Le,
                Some("=") => Cmp::Eq,
                Some(">=") => Cmp::Ge,
                Some(">") => Cmp::Gt,
                _ => return Err(err(path, format!("unknown numeric operator {}", pair[0]))),
            };
            let n =
                pair[1].as_f64().ok_or_else(|| err(path, format!("numeric operand {} is not a number", pair[1])))?;
            Ok((cmp, n))
        })
        .collect()
}

fn match_object<'a>(object: &Object, get: &dyn Fn(&str) -> Option<Cow<'a, Value>>) -> bool {
    let fields_match = object.fields.iter().all(|(key, node)| {
        let value = get(key);
        match node {
            Node::Object(inner) => match value.as_deref() {
                Some(Value::Object(map)) => match_object(inner, &|k: &str| map.get(k).map(Cow::Borrowed)),
                _ => false,
            },
            Node::Leaf(conditions) => conditions.iter().any(|c| match_leaf(c, value.as_deref())),
        }
    });
    fields_match && object.any_of.iter().all(|alternatives| alternatives.iter().any(|alt| match_object(alt, get)))
}

fn match_leaf(condition: &Condition, value: Option<&Value>) -> bool {
    match (condition, value) {
        (Condition::Exists(want), v) => {
            // A field holding an object is not a leaf value; EventBridge treats it as absent.
            let present = matches!(v, Some(v) if !v.is_object());
            present == *want
        }
        (_, None) => false,
        (_, Some(Value::Array(items))) => items.iter().any(|item| match_value(condition, item)),
        (_, Some(v)) => match_value(condition, v),
    }
}

fn match_value(condition: &Condition, value: &Value) -> bool {
    match condition {
        Condition::Equals(expected) => literal_eq(expected, value),
        Condition::Text(text) => value.as_str().is_some_and(|s| text_matches(text, s)),
        Condition::AnythingBut(AnythingBut::Values(excluded)) => !excluded.iter().any(|e| literal_eq(e, value)),
        Condition::AnythingBut(AnythingBut::Text(text)) => value.as_str().is_some_and(|s| !text_matches(text, s)),
        Condition::Numeric(checks) => value.as_f64().is_some_and(|n| {
            checks.iter().all(|(cmp, bound)| match cmp {
                Cmp::Lt => n < *bound,
                Cmp::Le => n <= *bound,
                Cmp::Eq => n == *bound,
                Cmp::Ge => n >= *bound,
                Cmp::Gt => n > *bound,
            })
        }),
        Condition::Exists(_) => true,
    }
}

fn literal_eq(expected: &Value, value: &Value) -> bool {
    match (expected, value) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

fn text_matches(text: &TextMatch, s: &str) -> bool {
    match text {
        TextMatch::Prefix(p) => s.starts_with(p.as_str()),
        TextMatch::Suffix(p) => s.ends_with(p.as_str()),
        TextMatch::PrefixIgnoreCase(p) => s.to_lowercase().starts_with(p.as_str()),
        TextMatch::SuffixIgnoreCase(p) => s.to_lowercase().ends_with(p.as_str()),
        TextMatch::EqualsIgnoreCase(p) => s.to_lowercase() == *p,
        TextMatch::Wildcard(w) => wildcard_matches(w, s),
    }
}

/// Glob with `*` only; `\*` is a literal star.
fn wildcard_matches(pattern: &str, text: &str) -> bool {
    // Split into literal pieces separated by unescaped stars.
    let mut pieces: Vec<String> = vec![String::new()];
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'*') => {
                chars.next();
                if let Some(last) = pieces.last_mut() {
                    last.push('*');
                }
            }
            '*' => pieces.push(String::new()),
            c => {
                if let Some(last) = pieces.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    if pieces.len() == 1 {
        return text == pieces[0];
    }
    let (first, rest) = pieces.split_first().unwrap_or((&pieces[0], &[]));
    let Some(mut remaining) = text.strip_prefix(first.as_str()) else {
        return false;
    };
    let (last, middle) = rest.split_last().unwrap_or((&pieces[0], &[]));
    for piece in middle {
        match remaining.find(piece.as_str()) {
            Some(at) => remaining = &remaining[at + piece.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({
            "source": "payment-service",
            "type": "coffee.payment.succeeded",
            "subject": "0193-abc",
            "data": {
                "paymentStatus": "PAYMENT_SUCCESSFUL",
                "amount": 400,
                "note": null,
                "tags": ["oat", "large"],
                "coffee": { "name": "Latte" }
            }
        })
    }

    fn check(pattern: Value) -> bool {
        Pattern::from_value(pattern).expect("valid pattern").matches(&event())
    }

    #[test]
    fn exact_values_match_any_of_the_listed_values() {
        assert!(check(json!({"source": ["order-service", "payment-service"]})));
        assert!(!check(json!({"source": ["order-service"]})));
        assert!(check(json!({"data": {"amount": [400.0]}})), "numbers compare by value");
        assert!(check(json!({"data": {"note": [null]}})));
        assert!(check(json!({"data": {"tags": ["large"]}})), "an array value matches if any element does");
    }

    #[test]
    fn all_keys_must_match() {
        assert!(check(json!({"source": ["payment-service"], "data": {"amount": [400]}})));
        assert!(!check(json!({"source": ["payment-service"], "data": {"amount": [370]}})));
        assert!(!check(json!({"missing": ["x"]})));
    }

    #[test]
    fn prefix_suffix_case_and_wildcard() {
        assert!(check(json!({"type": [{"prefix": "coffee.payment."}]})));
        assert!(!check(json!({"type": [{"prefix": "coffee.order."}]})));
        assert!(check(json!({"type": [{"suffix": ".succeeded"}]})));
        assert!(check(json!({"source": [{"equals-ignore-case": "PAYMENT-Service"}]})));
        assert!(check(json!({"source": [{"prefix": {"equals-ignore-case": "PAY"}}]})));
        assert!(check(json!({"type": [{"wildcard": "coffee.*.succeeded"}]})));
        assert!(!check(json!({"type": [{"wildcard": "coffee.*.failed"}]})));
        assert!(check(json!({"type": [{"wildcard": "*"}]})));
    }

    #[test]
    fn anything_but_excludes_and_never_matches_a_missing_field() {
        assert!(check(json!({"source": [{"anything-but": "order-service"}]})));
        assert!(!check(json!({"source": [{"anything-but": ["order-service", "payment-service"]}]})));
        assert!(!check(json!({"type": [{"anything-but": {"prefix": "coffee.payment"}}]})));
        assert!(!check(json!({"missing": [{"anything-but": "x"}]})));
    }

    #[test]
    fn numeric_ranges() {
        assert!(check(json!({"data": {"amount": [{"numeric": [">", 370, "<=", 400]}]}})));
        assert!(!check(json!({"data": {"amount": [{"numeric": ["<", 400]}]}})));
        assert!(check(json!({"data": {"amount": [{"numeric": ["=", 400]}]}})));
        assert!(!check(json!({"source": [{"numeric": [">", 0]}]})), "text is not a number");
    }

    #[test]
    fn exists_tests_presence_of_a_leaf() {
        assert!(check(json!({"data": {"amount": [{"exists": true}]}})));
        assert!(check(json!({"data": {"refund": [{"exists": false}]}})));
        assert!(!check(json!({"data": {"amount": [{"exists": false}]}})));
        assert!(!check(json!({"data": {"coffee": [{"exists": true}]}})), "an object is not a leaf");
        assert!(check(json!({"data": {"coffee": {"name": ["Latte"]}}})));
    }

    #[test]
    fn or_takes_one_of_its_alternatives() {
        assert!(check(json!({"$or": [{"source": ["order-service"]}, {"data": {"amount": [400]}}]})));
        assert!(!check(json!({"$or": [{"source": ["order-service"]}, {"data": {"amount": [1]}}]})));
    }

    #[test]
    fn malformed_patterns_are_refused_with_the_path() {
        let cases = [
            (json!([1]), ""),
            (json!({"source": "x"}), "source"),
            (json!({"source": []}), "source"),
            (json!({"data": {"amount": [{"numeric": [">", "a"]}]}}), "data.amount"),
            (json!({"data": {"amount": [{"between": [1, 2]}]}}), "data.amount"),
            (json!({"type": [{"prefix": 3}]}), "type"),
            (json!({"$or": [{"a": [1]}]}), "$or"),
            (json!({"type": [{"wildcard": "a**b"}]}), "type"),
        ];
        for (pattern, path) in cases {
            let e = Pattern::from_value(pattern.clone()).expect_err(&pattern.to_string());
            assert_eq!(e.path, path, "{pattern}: {e}");
        }
    }

    #[test]
    fn literal_values_are_exposed_only_when_the_key_is_all_literals() {
        let p = Pattern::from_value(json!({"type": ["a", "b"], "source": [{"prefix": "x"}]})).expect("valid");
        assert_eq!(p.literal_values("type"), Some(vec!["a".into(), "b".into()]));
        assert_eq!(p.literal_values("source"), None);
        assert_eq!(p.literal_values("subject"), None);
    }

    #[test]
    fn wildcards_anchor_both_ends_and_escape_stars() {
        assert!(wildcard_matches("a*c", "abbbc"));
        assert!(!wildcard_matches("a*c", "abbbcd"));
        assert!(wildcard_matches("*.x.*", "a.x.b"));
        assert!(wildcard_matches(r"a\*b", "a*b"));
        assert!(!wildcard_matches(r"a\*b", "axb"));
        assert!(!wildcard_matches("ab*ba", "aba"));
        assert!(wildcard_matches("ab*ba", "abba"));
    }

    mod properties {
        use proptest::prelude::*;
        use serde_json::{Map, Value, json};

        use super::super::Pattern;

        fn matches(pattern: Value, event: Value) -> bool {
            Pattern::from_value(pattern).expect("valid pattern").matches(&event)
        }

        proptest! {
            #[test]
            fn an_event_matches_the_pattern_of_its_own_values_and_not_a_changed_one(
                fields in proptest::collection::btree_map("[a-z]{1,6}", "[a-zA-Z0-9 .-]{0,12}", 1..6),
                pick in any::<proptest::sample::Index>(),
            ) {
                let event: Map<String, Value> = fields.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                let pattern: Map<String, Value> = fields.iter().map(|(k, v)| (k.clone(), json!([v]))).collect();
                prop_assert!(matches(Value::Object(pattern.clone()), Value::Object(event.clone())));
                let key = fields.keys().nth(pick.index(fields.len())).expect("a key").clone();
                let mut changed = event.clone();
                changed.insert(key.clone(), json!(format!("{}~", fields[&key])));
                prop_assert!(!matches(Value::Object(pattern), Value::Object(changed)));
            }

            #[test]
            fn text_operators_agree_with_their_string_definitions(s in "[a-zA-Z.]{0,10}", p in "[a-zA-Z.]{0,4}") {
                let event = json!({"k": s});
                prop_assert_eq!(matches(json!({"k": [{"prefix": p}]}), event.clone()), s.starts_with(&p));
                prop_assert_eq!(matches(json!({"k": [{"suffix": p}]}), event.clone()), s.ends_with(&p));
                prop_assert_eq!(
                    matches(json!({"k": [{"equals-ignore-case": p}]}), event.clone()),
                    s.to_lowercase() == p.to_lowercase()
                );
                prop_assert_eq!(matches(json!({"k": [{"anything-but": p}]}), event.clone()), s != p);
                prop_assert_eq!(
                    matches(json!({"k": [{"anything-but": {"prefix": p}}]}), event.clone()),
                    !s.starts_with(&p)
                );
                prop_assert_eq!(matches(json!({"k": [{"wildcard": format!("{p}*")}]}), event.clone()), s.starts_with(&p));
                // "**" is refused (as EventBridge does), so only a non-empty middle is tried.
                if !p.is_empty() {
                    prop_assert_eq!(matches(json!({"k": [{"wildcard": format!("*{p}*")}]}), event), s.contains(&p));
                }
            }

            #[test]
            fn numeric_ranges_agree_with_comparisons(x in -1000i64..1000, a in -1000i64..1000, b in -1000i64..1000) {
                let event = json!({"n": x});
                prop_assert_eq!(matches(json!({"n": [{"numeric": [">", a, "<=", b]}]}), event.clone()), a < x && x <= b);
                prop_assert_eq!(matches(json!({"n": [{"numeric": [">=", a]}]}), event.clone()), x >= a);
                prop_assert_eq!(matches(json!({"n": [{"numeric": ["=", a]}]}), event), x == a);
            }

            #[test]
            fn exists_true_and_false_are_complements(present in any::<bool>(), v in "[a-z]{0,5}") {
                let event = if present { json!({"k": v}) } else { json!({"other": v}) };
                let yes = matches(json!({"k": [{"exists": true}]}), event.clone());
                let no = matches(json!({"k": [{"exists": false}]}), event);
                prop_assert_eq!(yes, present);
                prop_assert_eq!(no, !present);
            }
        }
    }
}

//! JSON Schemas of the values whose `parse` has rules serde's shape does not show, written to
//! accept exactly what `parse` accepts, so that the OpenAPI document's requests are the ones the
//! server takes (a contract fuzzer holds both sides to it).
//!
//! The patterns are ECMA-262 / Python `re` compatible: explicit character classes, no `\p{..}`.

/// What `str::trim` removes: Unicode White_Space (written out: `\s` differs between regex
/// engines, and Python's takes U+001C..U+001F, which Rust's trim keeps).
const SPACE: &str = r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// What text refuses anywhere once trimmed: control characters (`char::is_control`) and the
/// invisible and text-direction ones (`ids::invisible`).
const REFUSED: &str =
    r"\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff";

/// Text as `ids::parse_text` takes it: surrounding white space is trimmed; what is left is at
/// most `max` characters, none of them refused, and (unless `may_be_empty`) at least one.
pub fn text(max: usize, may_be_empty: bool, description: &str) -> schemars::Schema {
    text_refusing(REFUSED, max, may_be_empty, description)
}

/// The same, refusing only control characters (`CoffeeId::parse`).
pub fn text_without_controls(max: usize, description: &str) -> schemars::Schema {
    text_refusing(r"\u0000-\u001f\u007f-\u009f", max, false, description)
}

fn text_refusing(refused: &str, max: usize, may_be_empty: bool, description: &str) -> schemars::Schema {
    let edge = format!("[^{SPACE}{refused}]");
    let inner = format!("[^{refused}]");
    let body = match max {
        0 => String::new(),
        1 => edge.clone(),
        n => format!("{edge}(?:{inner}{{0,{}}}{edge})?", n - 2),
    };
    let body = if may_be_empty { format!("(?:{body})?") } else { body };
    schemars::json_schema!({
        "type": "string",
        "pattern": format!("^[{SPACE}]*{body}[{SPACE}]*$"),
        "description": description,
    })
}

/// A word from a fixed list, as the `parse` functions take it: trimmed, and with `any_case`
/// in any letter case (written `[sS][mM]...`: no regex flags in JSON Schema).
pub fn word_of(words: &[&str], any_case: bool, description: &str) -> schemars::Schema {
    let spell = |word: &str| -> String {
        match any_case {
            false => word.to_owned(),
            true => word
                .chars()
                .map(|c| match c.is_ascii_alphabetic() {
                    true => format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase()),
                    false => c.to_string(),
                })
                .collect(),
        }
    };
    let words: Vec<String> = words.iter().map(|w| spell(w)).collect();
    schemars::json_schema!({
        "type": "string",
        "pattern": format!("^[{SPACE}]*(?:{})[{SPACE}]*$", words.join("|")),
        "description": description,
    })
}

/// `options` of an order as `DrinkOptions::parse` takes it (null or left out: as it comes).
pub fn drink_options_request(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let sizes: Vec<&str> = crate::options::Size::ALL.iter().map(|s| s.as_str()).collect();
    let milks: Vec<&str> = crate::options::Milk::ALL.iter().map(|m| m.as_str()).collect();
    schemars::json_schema!({
        "type": ["object", "null"],
        "description": "Size, milk and extra shots, each optional; those the drink does not offer are refused.",
        "properties": {
            "size": word_of(&sizes, true, "The size."),
            "milk": word_of(&milks, true, "The milk."),
            "extraShots": { "type": "integer", "minimum": 0, "maximum": crate::DrinkOptions::MAX_EXTRA_SHOTS },
        },
        "additionalProperties": false,
    })
}

/// A coffee's id in a request: its id on the menu, or the same as a number (the original's ids
/// are numeric strings).
pub fn coffee_id_request(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        // A number is read as a whole number within i64 (coffee_domain::whole); beyond that, refused.
        "anyOf": [generator.subschema_for::<crate::CoffeeId>(), { "type": "integer", "minimum": 0, "maximum": i64::MAX }],
    })
}

/// A drink as its owner changes it (`CoffeeChange::checked`): each field optional, null as
/// left out.
pub fn coffee_change(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    coffee_body(false)
}

/// A drink added to the menu: the same, with its name and price required.
pub fn new_coffee(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    coffee_body(true)
}

fn coffee_body(new: bool) -> schemars::Schema {
    let nullable = |schema: schemars::Schema| schemars::json_schema!({ "anyOf": [schema, { "type": "null" }] });
    let given = |schema: schemars::Schema| if new { schema } else { nullable(schema) };
    let price = schemars::json_schema!({
        "type": "integer", "minimum": 1, "maximum": crate::CoffeeChange::MAX_PRICE, "description": "In cents.",
    });
    let mut body = schemars::json_schema!({
        "type": "object",
        "description": "A drink's name (1 to 60 characters), description (at most 300), price (1 c to A$100), options and whether it is available; each left out stays as it is.",
        "properties": {
            "name": given(text(60, false, "The drink's name.")),
            "description": nullable(text(300, true, "What it is.")),
            "price": given(price),
            "options": nullable(option_prices()),
            "available": { "type": ["boolean", "null"], "description": "false: sold out, still listed." },
        },
        "additionalProperties": false,
    });
    if new {
        body.insert("required".to_owned(), serde_json::json!(["name", "price"]));
    }
    body
}

/// The options a drink offers, as `CoffeeChange::checked` takes them: at least one size and one
/// milk, each listed once, price differences within 1000 cents, at most 3 extra shots.
fn option_prices() -> schemars::Schema {
    let delta = schemars::json_schema!({ "type": "integer", "minimum": -1000, "maximum": 1000 });
    let choices = |values: &[&str]| {
        let once: Vec<serde_json::Value> = values
            .iter()
            .map(|v| serde_json::json!({ "contains": { "properties": { "value": { "const": v } } }, "minContains": 0, "maxContains": 1 }))
            .collect();
        serde_json::json!({
            "type": "array",
            "minItems": 1,
            "maxItems": values.len(),
            "items": {
                "type": "object",
                "properties": { "value": { "enum": values }, "priceDelta": delta },
                "required": ["value", "priceDelta"],
            },
            "allOf": once,
        })
    };
    let sizes: Vec<&str> = crate::options::Size::ALL.iter().map(|s| s.as_str()).collect();
    let milks: Vec<&str> = crate::options::Milk::ALL.iter().map(|m| m.as_str()).collect();
    schemars::json_schema!({
        "type": "object",
        "properties": {
            "size": choices(&sizes),
            "milk": choices(&milks),
            "extraShot": delta,
            "maxExtraShots": { "type": "integer", "minimum": 0, "maximum": crate::DrinkOptions::MAX_EXTRA_SHOTS },
        },
        "required": ["size", "milk", "extraShot", "maxExtraShots"],
    })
}

/// A password for a member of staff (as `coffee_auth::password` takes it).
pub fn password(min: usize, max: usize) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "minLength": min,
        "maxLength": max,
        "description": format!("{min} to {max} characters."),
    })
}

/// A login name as `StaffName::parse` takes it.
pub fn staff_name() -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "pattern": format!("^[{SPACE}]*[a-z0-9._-]{{1,{}}}[{SPACE}]*$", crate::StaffName::MAX_CHARS),
        "description": "1 to 40 lowercase letters, digits, '.', '_' or '-'.",
    })
}

/// A card number as `CardNumber::parse` takes it: 12 to 19 digits, spaces and dashes anywhere.
pub fn card_number() -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "pattern": "^[ -]*(?:[0-9][ -]*){12,19}$",
        "description": "12 to 19 digits; spaces and dashes between them are ignored.",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(schema: &schemars::Schema) -> String {
        schema.get("pattern").and_then(|p| p.as_str()).unwrap_or_default().to_owned()
    }

    /// The pattern's character classes, checked against the rules they copy, one character at
    /// a time over the Basic Multilingual Plane (a regex engine is not a dependency here).
    #[test]
    fn the_classes_are_the_rules() {
        let space = |c: char| matches!(c, '\t'..='\r' | ' ' | '\u{85}' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}');
        let refused = |c: char| matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{ad}' | '\u{61c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}');
        for c in (0..=0xffff_u32).filter_map(char::from_u32) {
            assert_eq!(space(c), c.is_whitespace(), "U+{:04X}: trim", c as u32);
            let input = format!("a{c}b");
            let parsed = crate::ids::parse_text("t", &input, 10).is_ok();
            assert_eq!(!refused(c), parsed, "U+{:04X}: refused", c as u32);
        }
    }

    #[test]
    fn text_bounds_its_length_and_allows_empty_only_when_told() {
        assert_eq!(
            pattern(&text(3, false, "")),
            format!("^[{SPACE}]*[^{SPACE}{REFUSED}](?:[^{REFUSED}]{{0,1}}[^{SPACE}{REFUSED}])?[{SPACE}]*$")
        );
        assert!(pattern(&text(3, true, "")).contains(")?)?["));
    }
}

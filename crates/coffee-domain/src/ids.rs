//! Identifiers and small values that cross the system's boundary. Each has one way in,
//! `parse`, that refuses anything invalid with a message naming the field.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::InvalidInput;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(into = "String", try_from = "String")]
        #[schemars(extend("format" = "uuid"))]
        pub struct $name(Uuid);

        impl TryFrom<String> for $name {
            type Error = InvalidInput;
            fn try_from(s: String) -> Result<Self, InvalidInput> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.to_string()
            }
        }

        impl $name {
            /// Wraps a freshly generated id (the caller owns the randomness and the clock).
            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }

            pub fn parse(input: &str) -> Result<Self, InvalidInput> {
                Uuid::try_parse(input.trim())
                    .map(Self)
                    .map_err(|_| InvalidInput::new($field, format!("'{}' is not a valid id", truncate(input, 64))))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.as_hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(
    /// An order's id; also the subject of every event about the order (its FIFO group).
    OrderId,
    "orderId"
);
uuid_id!(
    /// A payment's id.
    PaymentId,
    "paymentId"
);
uuid_id!(
    /// A fulfilment's id.
    FulfilmentId,
    "fulfilmentId"
);

fn truncate(input: &str, max: usize) -> String {
    match input.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &input[..i]),
        None => input.to_owned(),
    }
}

/// Text from a client: trimmed, bounded, free of control characters.
pub(crate) fn parse_text(field: &'static str, input: &str, max_chars: usize) -> Result<String, InvalidInput> {
    let text = input.trim();
    if text.chars().count() > max_chars {
        return Err(InvalidInput::new(field, format!("must be at most {max_chars} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(InvalidInput::new(field, "must not contain control characters"));
    }
    if text.chars().any(invisible) {
        return Err(InvalidInput::new(field, "must not contain invisible or text-direction characters"));
    }
    Ok(text.to_owned())
}

/// Characters that change how text around them is shown without being seen themselves: the
/// bidirectional overrides and isolates (a name with U+202E reads backwards on the board), and
/// zero-width characters (two names that look the same but differ).
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}'
        | '\u{061C}' | '\u{00AD}' | '\u{FEFF}')
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:literal) => {
        $(#[$doc])*
        ///
        /// Deserialized through [`Self::parse`], so a request body cannot skip its rules.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                crate::schema::text($max, false, concat!("1 to ", stringify!($max), " characters, no control or invisible ones (trimmed)."))
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidInput;
            fn try_from(input: String) -> Result<Self, InvalidInput> {
                Self::parse(&input)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(input: &str) -> Result<Self, InvalidInput> {
                let text = parse_text($field, input, $max)?;
                if text.is_empty() {
                    return Err(InvalidInput::new($field, "must not be empty"));
                }
                Ok(Self(text))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_value!(
    /// Who ordered: an opaque id the client keeps (the web app stores one per browser).
    CustomerId,
    "customerId",
    128
);
text_value!(
    /// The name the barista calls out and the pickup display shows.
    CustomerName,
    "customerName",
    80
);

impl CustomerName {
    /// The first word of the name: all the pickup board shows of a customer.
    pub fn first_name(&self) -> &str {
        self.0.split_whitespace().next().unwrap_or(&self.0)
    }
}

/// A free-text note on a status change (why an order was cancelled, why a coffee was
/// rejected). Empty input means no note.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Note(String);

impl schemars::JsonSchema for Note {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Note".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        crate::schema::text(
            Self::MAX_CHARS,
            true,
            "At most 500 characters, no control or invisible ones; empty: no note.",
        )
    }
}

impl Note {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(input: &str) -> Result<Option<Self>, InvalidInput> {
        let text = parse_text("note", input, Self::MAX_CHARS)?;
        Ok((!text.is_empty()).then_some(Self(text)))
    }

    /// A note the system writes itself (never from a client), cut to the allowed length.
    pub fn system(text: impl Into<String>) -> Self {
        let text: String = text.into();
        Self(text.chars().filter(|c| !c.is_control()).take(Self::MAX_CHARS).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A card number typed into the card form. Spaces and dashes are allowed between digits.
/// Only the simulated provider sees it; it is never stored. (It serializes so that the gateway
/// can pass it to the payment service; no record or event holds one.)
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CardNumber(String);

impl schemars::JsonSchema for CardNumber {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CardNumber".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        crate::schema::card_number()
    }
}

impl TryFrom<String> for CardNumber {
    type Error = InvalidInput;
    fn try_from(s: String) -> Result<Self, InvalidInput> {
        Self::parse(&s)
    }
}

impl From<CardNumber> for String {
    fn from(c: CardNumber) -> Self {
        c.0
    }
}

impl CardNumber {
    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if digits.is_empty() {
            return Err(InvalidInput::new("cardNumber", "must not be empty"));
        }
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(InvalidInput::new("cardNumber", "must contain only digits"));
        }
        if !(12..=19).contains(&digits.len()) {
            return Err(InvalidInput::new("cardNumber", "must have between 12 and 19 digits"));
        }
        Ok(Self(digits))
    }

    pub fn digits(&self) -> &str {
        &self.0
    }

    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }
}

/// Card numbers never reach logs in full.
impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber(…{})", self.last4())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_uuids_and_print_them_hyphenated() {
        let id = OrderId::parse("0193F5A0-0000-7000-8000-000000000001").expect("a uuid");
        assert_eq!(id.to_string(), "0193f5a0-0000-7000-8000-000000000001");
        let err = OrderId::parse("not-an-id").unwrap_err();
        assert_eq!(err.field, "orderId");
        assert!(err.to_string().contains("'not-an-id' is not a valid id"), "{err}");
        let long = OrderId::parse(&"z".repeat(100)).unwrap_err().to_string();
        assert!(long.contains(&format!("'{}…'", "z".repeat(64))) && !long.contains(&"z".repeat(65)), "{long}");
    }

    #[test]
    fn a_customer_name_is_trimmed_and_bounded() {
        assert_eq!(CustomerName::parse("  Ada ").expect("valid").as_str(), "Ada");
        assert!(CustomerName::parse("   ").is_err());
        assert!(CustomerName::parse(&"x".repeat(81)).is_err());
        assert!(CustomerName::parse(&"x".repeat(80)).is_ok(), "the longest name is a name");
        assert!(CustomerName::parse("Ada\u{7}").is_err());
    }

    #[test]
    fn names_and_notes_refuse_what_changes_text_without_being_seen() {
        for c in ['\u{202E}', '\u{2066}', '\u{200B}', '\u{200D}', '\u{FEFF}', '\u{00AD}', '\u{061C}'] {
            let err = CustomerName::parse(&format!("Ad{c}a")).unwrap_err();
            assert!(err.to_string().contains("invisible"), "U+{:04X}: {err}", c as u32);
            assert!(Note::parse(&format!("no {c}milk")).is_err(), "U+{:04X} in a note", c as u32);
        }
        assert!(CustomerName::parse("Zoë Ñúñez 李").is_ok(), "letters of every script are names");
    }

    #[test]
    fn a_name_read_from_json_keeps_the_rules_of_parse() {
        let parsed: CustomerName = serde_json::from_str("\" Ada \"").expect("a name");
        assert_eq!(parsed.as_str(), "Ada");
        for bad in ["\"\"", "\"   \"", "\"A\\u202eda\""] {
            assert!(serde_json::from_str::<CustomerName>(bad).is_err(), "{bad}");
        }
        assert_eq!(serde_json::to_string(&parsed).expect("json"), "\"Ada\"", "written as a plain string");
    }

    #[test]
    fn an_empty_note_is_no_note() {
        assert_eq!(Note::parse("  ").expect("valid"), None);
        assert_eq!(Note::parse("no milk").expect("valid").map(|n| n.to_string()), Some("no milk".into()));
        assert!(Note::parse(&"n".repeat(501)).is_err());
    }

    #[test]
    fn a_card_number_keeps_only_digits_and_hides_itself_in_logs() {
        let card = CardNumber::parse("4242 4242-4242 4242").expect("valid");
        assert_eq!(card.digits(), "4242424242424242");
        assert_eq!(format!("{card:?}"), "CardNumber(…4242)");
        assert!(CardNumber::parse("4242x").is_err());
        assert!(CardNumber::parse("4242").is_err());
        assert_eq!(String::from(card), "4242424242424242", "the provider is given every digit");
    }
}

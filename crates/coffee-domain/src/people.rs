//! The people who use the shop: customers, who order for themselves, and the staff, who make
//! the coffee (baristas) or run the shop (admins). Who may do what is decided by the services
//! (`coffee-service`'s access rules); here are the names and roles they decide on.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::InvalidInput;

/// What a member of staff may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StaffRole {
    /// Sees the orders and the queue, completes and rejects fulfilments.
    Barista,
    /// Everything a barista does, and acts for any customer, and runs the system (the event
    /// stream, dead letters, staff accounts).
    Admin,
}

impl StaffRole {
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Barista => "barista",
            StaffRole::Admin => "admin",
        }
    }

    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        match input.trim() {
            "barista" => Ok(StaffRole::Barista),
            "admin" => Ok(StaffRole::Admin),
            other => Err(InvalidInput::new("role", format!("'{other}' is not a role: use barista or admin"))),
        }
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A member of staff's login name: 1 to 40 lowercase letters, digits, `.`, `_` or `-`, so it
/// is typed the same way every time and cannot look like another name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StaffName(String);

impl schemars::JsonSchema for StaffName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "StaffName".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        crate::schema::staff_name()
    }
}

impl StaffName {
    pub const MAX_CHARS: usize = 40;

    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        let name = input.trim();
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
        if name.is_empty() || name.len() > Self::MAX_CHARS || !name.chars().all(allowed) {
            return Err(InvalidInput::new(
                "name",
                format!("a staff name is 1 to {} lowercase letters, digits, '.', '_' or '-'", Self::MAX_CHARS),
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StaffName {
    type Error = InvalidInput;
    fn try_from(s: String) -> Result<Self, InvalidInput> {
        Self::parse(&s)
    }
}

impl From<StaffName> for String {
    fn from(n: StaffName) -> Self {
        n.0
    }
}

impl fmt::Display for StaffName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_names_are_plain_and_bounded() {
        assert_eq!(StaffName::parse(" sam.b-2 ").expect("valid").as_str(), "sam.b-2");
        for bad in ["", "Sam", "sam b", "sám", &"s".repeat(41), "sam\u{202e}"] {
            assert!(StaffName::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(StaffName::parse(&"s".repeat(40)).is_ok());
    }

    #[test]
    fn roles_are_named_as_on_the_wire() {
        for role in [StaffRole::Barista, StaffRole::Admin] {
            assert_eq!(StaffRole::parse(role.as_str()), Ok(role));
            assert_eq!(serde_json::to_value(role).expect("json"), role.as_str());
            assert_eq!(role.to_string(), role.as_str());
        }
        assert!(StaffRole::parse("owner").unwrap_err().to_string().contains("barista or admin"));
    }
}

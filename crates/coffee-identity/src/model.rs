//! Staff accounts and ended sessions as stored, and the identity service's requests and answers.
//! (The generic record tables key every record by an `order_id` that is unique per table; here
//! it holds the staff member's name or the ended session's key.)

use coffee_bus::{Kind, RecordKey, Table};
use coffee_domain::{CustomerName, InvalidInput, Millis, StaffName, StaffRole};
use serde::{Deserialize, Serialize};

/// A member of staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StaffMember {
    pub name: StaffName,
    pub role: StaffRole,
    /// Argon2id, as a PHC string. Never leaves the service.
    pub password_hash: String,
    pub created_at: Millis,
}

pub const STAFF: Kind<StaffMember> = Kind::new(Table::new("staff"), |s| RecordKey {
    id: s.name.to_string(),
    order_id: s.name.to_string(),
    customer_id: String::new(),
    day: s.created_at.day().to_string(),
    created_at: s.created_at.0,
    // A removed account keeps its row (a name is not reused by accident) but leaves the lists.
    status: if s.password_hash.is_empty() { "removed" } else { s.role.as_str() },
});

/// A session that ended, or every session of a member of staff (see `coffee_auth::session_key`
/// and `staff_key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndedSession {
    pub key: String,
    pub ended_at: Millis,
    /// Every token it concerns has expired by then.
    pub until: Millis,
}

pub const ENDED_SESSIONS: Kind<EndedSession> = Kind::new(Table::new("ended_sessions"), |e| RecordKey {
    id: e.key.clone(),
    order_id: e.key.clone(),
    customer_id: String::new(),
    day: e.ended_at.day().to_string(),
    created_at: e.ended_at.0,
    status: "ENDED",
});

/// `POST /api/session`: a customer gives their name.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartSession {
    pub customer_name: CustomerName,
}

/// `POST /api/staff/login`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Not parsed as a [`StaffName`]: a malformed name is refused like an unknown one.
    pub name: String,
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login").field("name", &self.name).field("password", &"…").finish()
    }
}

/// `POST /api/staff`: an admin adds a member of staff.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, try_from = "AddStaffBody")]
pub struct AddStaff {
    pub name: StaffName,
    pub role: StaffRole,
    pub password: String,
}

impl std::fmt::Debug for AddStaff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddStaff").field("name", &self.name).field("role", &self.role).finish_non_exhaustive()
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "AddStaff")]
struct AddStaffBody {
    #[schemars(with = "StaffName")]
    name: String,
    #[schemars(schema_with = "role_request")]
    role: String,
    #[schemars(schema_with = "password_request")]
    password: String,
}

fn role_request(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    coffee_domain::schema::word_of(&["barista", "admin"], false, "barista or admin.")
}

fn password_request(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    coffee_domain::schema::password(coffee_auth::password::MIN_CHARS, coffee_auth::password::MAX_CHARS)
}

impl TryFrom<AddStaffBody> for AddStaff {
    type Error = InvalidInput;
    fn try_from(b: AddStaffBody) -> Result<Self, InvalidInput> {
        Ok(Self { name: StaffName::parse(&b.name)?, role: StaffRole::parse(&b.role)?, password: b.password })
    }
}

/// A session, as its holder sees it: the token (also set as the browser's cookie), who it is
/// for, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionAnswer {
    pub token: String,
    /// customer, barista or admin.
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff_name: Option<String>,
    /// Seconds since the epoch.
    pub expires_at: i64,
}

/// A member of staff, as an admin sees the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StaffSummary {
    pub name: String,
    pub role: String,
    /// Seconds since the epoch.
    pub created_at: i64,
}

impl From<&StaffMember> for StaffSummary {
    fn from(s: &StaffMember) -> Self {
        Self { name: s.name.to_string(), role: s.role.to_string(), created_at: s.created_at.seconds() }
    }
}

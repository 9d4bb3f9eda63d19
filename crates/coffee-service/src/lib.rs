//! What every service's operations share, whatever calls them (the REST API, the GraphQL
//! gateway in-process, another process over HTTP, a test).
//!
//! - [`ServiceError`]: the one error of every operation, with a stable machine-readable code that
//!   the REST API returns in its body and the GraphQL gateway puts in `extensions.code`.
//! - [`Context`]: who asks and which trace the request belongs to, passed to every operation;
//!   [`access`]: who may do what, asked by every operation.
//! - [`now`]: the clock, read in one place.
//! - [`List`]: how many records a list returns.
//! - [`Coalesced`]: one read shared by the callers of an open endpoint that reads a lot.

pub mod access;
mod coalesce;
mod context;
mod error;
mod lists;
mod records;

pub use access::Caller;
pub use coalesce::Coalesced;
pub use context::{Context, Credential};
pub use error::{ServiceError, ShopRule};
pub use lists::{DEFAULT_LIST, List, ListQuery, Listed, Listing, MAX_LIST, Of, list_day};
pub use records::{Events, List as ListRecords, Load};

/// What every operation answers.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// `PATCH /api/<entity>/:id`: a change of status a person asks for, with a note
/// (`{"status": "...", "note": "..."}`). Each entity says which steps are whose to take.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "StatusChangeBody", bound = "S: coffee_domain::Status")]
pub struct StatusChange<S: coffee_domain::Status> {
    pub status: S,
    pub note: Option<coffee_domain::Note>,
}

/// The body as the entity's statuses make it: `OrderStatusChange`, `FulfilmentStatusChange`.
impl<S: coffee_domain::Status> schemars::JsonSchema for StatusChange<S> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("{}Change", S::schema_name()).into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = S::all().iter().map(|s| s.as_str()).collect();
        let status = coffee_domain::schema::word_of(&names, false, "The status asked for.").to_value();
        let note = generator.subschema_for::<Option<coffee_domain::Note>>().to_value();
        schemars::json_schema!({
            "description": "A change of status a person asks for, with a note; each entity says which steps are whose to take.",
            "type": "object",
            "properties": { "status": status, "note": note },
            "required": ["status"],
        })
    }
}

/// A status change as clients send it.
#[derive(Debug, serde::Deserialize)]
struct StatusChangeBody {
    status: String,
    #[serde(default)]
    note: Option<String>,
}

impl<S: coffee_domain::Status> TryFrom<StatusChangeBody> for StatusChange<S> {
    type Error = coffee_domain::InvalidInput;

    fn try_from(body: StatusChangeBody) -> Result<Self, Self::Error> {
        let note = body.note.as_deref().map(coffee_domain::Note::parse).transpose()?.flatten();
        Ok(Self { status: S::parse(&body.status)?, note })
    }
}

/// `?orderId=`: the order a read is about (every service's `GET /api/<service>/events`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(inline)]
pub struct OfOrder {
    pub order_id: coffee_domain::OrderId,
}

/// The current time, as the domain counts it. The domain never reads a clock; its callers
/// read this one and pass the time in.
pub fn now() -> coffee_domain::Millis {
    coffee_domain::Millis(jiff::Timestamp::now().as_millisecond())
}

//! The identity service: who the people using the shop are. A customer starts a session by
//! giving their name; a member of staff logs in with a password; anyone logs out. Staff accounts
//! are an admin's to add and remove (or `coffee staff` on the command line). It runs wherever the
//! web app is served (`coffee serve`, `coffee gateway`); the other services only verify the
//! tokens it issues, and learn of ended sessions from its `coffee.session.ended` events.
//!
//! - [`model`]: staff accounts and ended sessions as stored, and the requests.
//! - [`store`]: its migrations.
//! - [`service`]: its operations.
//! - [`api`]: its REST routes, which also set and clear the browser's session cookie.

pub mod api;
pub mod model;
pub mod service;
pub mod store;

pub use service::IdentityService;

/// The `source` of its events, and the owner of its migrations.
pub const SERVICE: &str = "identity-service";

/// The PostgreSQL schema it owns in the distributed mode.
pub const SCHEMA: &str = "coffee_identity";

/// The event that says a session (or every session of a member of staff) ended.
pub const SESSION_ENDED: &str = "coffee.session.ended";

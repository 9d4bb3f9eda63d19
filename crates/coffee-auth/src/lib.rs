//! Who is calling. A customer gets a session when they give their name; a member of staff when
//! they log in with a password. Either way the session is a token signed with the system's key
//! (`--auth-key`), carried as `Authorization: Bearer` or in the browser's `HttpOnly` cookie, and
//! checked by every process for itself: a service called directly in the distributed mode trusts
//! no one's word for who the caller is.
//!
//! - [`AuthKey`]: the signing key, given or generated once and kept.
//! - [`Tokens`]: issuing and verifying session tokens (HS256 JWTs, the `jsonwebtoken` crate).
//! - [`Revocations`]: sessions that ended (logged out) before their token expires.
//! - [`Authenticator`]: a request's headers to the [`Caller`](coffee_service::Caller) they prove.
//! - [`password`]: staff passwords, hashed with Argon2id.
//! - [`Throttle`]: failed logins slow down the next attempts.

mod authenticator;
mod key;
pub mod password;
mod revocations;
mod throttle;
mod token;

pub use authenticator::{Authenticated, Authenticator, SESSION_COOKIE, clear_cookie, session_cookie};
pub use key::{AuthKey, KeyError, write_private};
pub use revocations::{Revocations, session_key, staff_key};
pub use throttle::Throttle;
pub use token::{CUSTOMER_SESSION, STAFF_SESSION, Session, SessionOf, TokenError, Tokens};

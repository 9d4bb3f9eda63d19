//! Session tokens: who the session is for, which session it is, until when. HS256 JWTs (the
//! `jsonwebtoken` crate) signed with the [`AuthKey`]; nothing else in them.

use std::time::Duration;

use coffee_domain::{CustomerId, CustomerName, Millis, StaffName, StaffRole};
use coffee_service::Caller;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::{AuthKey, KeyError};

/// How long a customer's session lasts: a week (the web app renews it while in use). Also the
/// longest any token lives, which bounds how long an ended session must be remembered.
pub const CUSTOMER_SESSION: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long a member of staff stays logged in: a shift.
pub const STAFF_SESSION: Duration = Duration::from_secs(12 * 3600);

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The session.
    sid: String,
    /// The customer's id or the staff member's name.
    sub: String,
    /// The customer's name (for a member of staff, their login name again).
    name: String,
    /// customer, barista or admin.
    role: String,
    iat: i64,
    exp: i64,
}

/// Who a session is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionOf {
    Customer { id: CustomerId, name: CustomerName },
    Staff { name: StaffName, role: StaffRole },
}

impl SessionOf {
    pub fn caller(&self) -> Caller {
        match self.clone() {
            SessionOf::Customer { id, name } => Caller::Customer { id, name },
            SessionOf::Staff { name, role } => Caller::Staff { name, role },
        }
    }

    pub fn lifetime(&self) -> Duration {
        match self {
            SessionOf::Customer { .. } => CUSTOMER_SESSION,
            SessionOf::Staff { .. } => STAFF_SESSION,
        }
    }
}

/// A verified session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub of: SessionOf,
    pub issued_at: Millis,
    pub expires_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("your session has expired")]
    Expired,
    /// Forged, altered, signed with another key, or not a token at all. The detail is logged,
    /// not shown.
    #[error("the session token is not valid")]
    Invalid,
    #[error("this session has ended")]
    Ended,
}

/// Issues and verifies tokens with one key.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl Tokens {
    /// Fails only for an empty key, which [`AuthKey`] cannot hold.
    pub fn new(key: &AuthKey) -> Result<Self, KeyError> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Every process reads the same clock closely enough; an expired session is expired.
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(Self {
            encoding: EncodingKey::from_secret(key.bytes()).map_err(|_| KeyError::Malformed)?,
            decoding: DecodingKey::from_secret(key.bytes()).map_err(|_| KeyError::Malformed)?,
            validation,
        })
    }

    /// A token for session `id` of `of`, valid from `now` for the session's lifetime.
    pub fn issue(&self, id: &str, of: &SessionOf, now: Millis) -> (String, Millis) {
        self.issue_until(id, of, now, Millis(now.0 + of.lifetime().as_millis() as i64))
    }

    /// A token for session `id` of `of`, issued `now`, valid until `expires_at`.
    pub fn issue_until(&self, id: &str, of: &SessionOf, now: Millis, expires_at: Millis) -> (String, Millis) {
        let (sub, name, role) = match of {
            SessionOf::Customer { id, name } => (id.to_string(), name.to_string(), "customer"),
            SessionOf::Staff { name, role } => (name.to_string(), name.to_string(), role.as_str()),
        };
        let claims = Claims {
            sid: id.to_owned(),
            sub,
            name,
            role: role.to_owned(),
            iat: now.seconds(),
            exp: expires_at.seconds(),
        };
        // Encoding our own claims with an HMAC key cannot fail: no key parsing, no I/O.
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .unwrap_or_else(|e| unreachable!("signing a session token: {e}"));
        (token, expires_at)
    }

    /// The session a token proves, checked against the key and its expiry (as of `now`).
    pub fn verify(&self, token: &str, now: Millis) -> Result<Session, TokenError> {
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                other => {
                    tracing::debug!(reason = ?other, "a session token was refused");
                    TokenError::Invalid
                }
            })?;
        let c = data.claims;
        // jsonwebtoken checks `exp` against the system clock; the caller's `now` decides too.
        if c.exp <= now.seconds() {
            return Err(TokenError::Expired);
        }
        let of = match c.role.as_str() {
            "customer" => SessionOf::Customer {
                id: CustomerId::parse(&c.sub).map_err(|_| TokenError::Invalid)?,
                name: CustomerName::parse(&c.name).map_err(|_| TokenError::Invalid)?,
            },
            role => SessionOf::Staff {
                name: StaffName::parse(&c.sub).map_err(|_| TokenError::Invalid)?,
                role: StaffRole::parse(role).map_err(|_| TokenError::Invalid)?,
            },
        };
        Ok(Session { id: c.sid, of, issued_at: Millis(c.iat * 1000), expires_at: Millis(c.exp * 1000) })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Now, for the crate's tests.
    pub(crate) fn now() -> Millis {
        Millis(jiff::Timestamp::now().as_millisecond())
    }

    /// A customer's session, for the crate's tests.
    pub(crate) fn ada() -> SessionOf {
        SessionOf::Customer {
            id: CustomerId::parse("c-1").expect("id"),
            name: CustomerName::parse("Ada").expect("name"),
        }
    }

    #[test]
    fn a_token_proves_its_session_until_it_expires() {
        let tokens = Tokens::new(&AuthKey::generate()).expect("tokens");
        let (token, expires) = tokens.issue("s1", &ada(), now());
        let session = tokens.verify(&token, now()).expect("valid");
        assert_eq!((session.id.as_str(), session.of.clone()), ("s1", ada()));
        assert_eq!(session.expires_at.seconds(), expires.seconds());
        assert_eq!(session.of.caller().customer().map(|c| c.as_str()), Some("c-1"));
        let later = Millis(expires.0 + 1000);
        assert_eq!(tokens.verify(&token, later), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_of_another_key_or_altered_is_invalid() {
        let tokens = Tokens::new(&AuthKey::generate()).expect("tokens");
        let (token, _) = Tokens::new(&AuthKey::generate()).expect("tokens").issue("s1", &ada(), now());
        assert_eq!(tokens.verify(&token, now()), Err(TokenError::Invalid));
        let (mine, _) = tokens.issue("s1", &ada(), now());
        let mut altered = mine.clone();
        altered.pop();
        altered.push(if mine.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(tokens.verify(&altered, now()), Err(TokenError::Invalid));
        assert_eq!(tokens.verify("not.a.token", now()), Err(TokenError::Invalid));
    }

    #[test]
    fn staff_sessions_carry_their_role_and_last_a_shift() {
        let tokens = Tokens::new(&AuthKey::generate()).expect("tokens");
        let sam = SessionOf::Staff { name: StaffName::parse("sam").expect("name"), role: StaffRole::Barista };
        let start = now();
        let (token, expires) = tokens.issue("s2", &sam, start);
        assert_eq!(expires.0 - start.0, STAFF_SESSION.as_millis() as i64);
        let caller = tokens.verify(&token, start).expect("valid").of.caller();
        assert!(caller.is_staff() && !caller.is_admin());
    }
}

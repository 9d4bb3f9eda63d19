//! A request's credential to the caller it proves. A bearer token (API clients, the services
//! calling each other) or the session cookie (the browser). With the cookie, a request that
//! changes something must come from the same site (its `Origin` is this server, or one allowed
//! with `--cors-origin`): a page on another site cannot act with a customer's cookie.
//!
//! A missing or refused credential makes the caller anonymous, with the reason kept for the 401
//! of any operation that needs a session; pages anyone may see (the menu, the pickup board) stay
//! open to a browser holding an expired cookie.

use std::sync::Arc;

use coffee_domain::Millis;
use coffee_service::{Caller, Credential};
use http::{HeaderMap, HeaderValue, Method, header};

use crate::{AuthKey, KeyError, Revocations, Session, SessionOf, TokenError, Tokens};

/// The browser's session cookie.
pub const SESSION_COOKIE: &str = "coffee_session";

/// Who a request proved to be.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub caller: Caller,
    pub credential: Option<Credential>,
    pub session: Option<String>,
}

impl Authenticated {
    fn anonymous(refused: Option<String>) -> Self {
        Self { caller: Caller::Anonymous { refused }, credential: None, session: None }
    }
}

/// Verifies credentials for one process.
#[derive(Clone)]
pub struct Authenticator {
    tokens: Tokens,
    revocations: Arc<Revocations>,
    /// Origins besides this server's own that may send cookie-carrying changes.
    allowed_origins: Arc<Vec<String>>,
}

impl Authenticator {
    pub fn new(key: &AuthKey, allowed_origins: Vec<String>) -> Result<Self, KeyError> {
        Ok(Self {
            tokens: Tokens::new(key)?,
            revocations: Arc::default(),
            allowed_origins: Arc::new(
                allowed_origins.into_iter().map(|o| o.trim_end_matches('/').to_owned()).collect(),
            ),
        })
    }

    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    pub fn revocations(&self) -> &Arc<Revocations> {
        &self.revocations
    }

    /// A token's session, if it is valid now and has not ended.
    pub fn session(&self, token: &str, now: Millis) -> Result<Session, TokenError> {
        let session = self.tokens.verify(token, now)?;
        if self.revocations.refuses(&session, now) {
            return Err(TokenError::Ended);
        }
        Ok(session)
    }

    /// The caller a token proves (a WebSocket's `connection_init`, a bearer header).
    pub fn from_token(&self, token: &str, now: Millis) -> Authenticated {
        match self.session(token, now) {
            Ok(session) => Authenticated {
                caller: session.of.caller(),
                credential: Some(Credential::new(token)),
                session: Some(session.id),
            },
            Err(e) => Authenticated::anonymous(Some(e.to_string())),
        }
    }

    /// The caller a request's headers prove.
    pub fn from_headers(&self, method: &Method, headers: &HeaderMap, now: Millis) -> Authenticated {
        if let Some(auth) = headers.get(header::AUTHORIZATION) {
            let token = auth.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
            return match token {
                Some(token) if !token.is_empty() => self.from_token(token, now),
                _ => Authenticated::anonymous(Some("the Authorization header must be `Bearer <token>`".to_owned())),
            };
        }
        let Some(token) = cookie(headers, SESSION_COOKIE) else { return Authenticated::anonymous(None) };
        if !method.is_safe() && !self.same_site(headers) {
            return Authenticated::anonymous(Some(
                "a change sent with the session cookie must come from this site's own pages".to_owned(),
            ));
        }
        self.from_token(token, now)
    }

    /// Whether a cookie-carrying change comes from this server's pages: its `Origin` names the
    /// host the request was sent to, or an allowed origin. Browsers send `Origin` on every
    /// cross-site request that changes something, and on same-site `fetch` POSTs.
    pub fn same_site(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else { return false };
        let origin = origin.trim_end_matches('/');
        if self.allowed_origins.iter().any(|o| o == origin) {
            return true;
        }
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin.split_once("://").map(|(_, rest)| rest);
        matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
    }

    /// A new session of `of`: its id and token, and until when it is valid.
    pub fn start(&self, of: &SessionOf, now: Millis) -> (String, String, Millis) {
        let id = uuid::Uuid::now_v7().to_string();
        let (token, expires_at) = self.tokens.issue(&id, of, now);
        (id, token, expires_at)
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// `Set-Cookie` for a session: `HttpOnly` (no script reads it), `SameSite=Lax` (not sent on
/// cross-site subrequests), `Secure` when served over TLS.
pub fn session_cookie(token: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value = format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("coffee_session=; Max-Age=0; Path=/"))
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static("coffee_session=; Max-Age=0; Path=/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::tests::{ada, now};

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.clone(), HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn a_bearer_token_or_the_cookie_proves_the_caller() {
        let auth = Authenticator::new(&AuthKey::generate(), vec![]).expect("auth");
        let (sid, token, _) = auth.start(&ada(), now());
        let bearer =
            auth.from_headers(&Method::POST, &headers(&[(header::AUTHORIZATION, &format!("Bearer {token}"))]), now());
        assert_eq!(bearer.caller.customer().map(|c| c.as_str()), Some("c-1"));
        assert_eq!(bearer.session.as_deref(), Some(sid.as_str()));
        assert_eq!(bearer.credential.as_ref().map(|c| c.expose()), Some(token.as_str()));
        let cookie = format!("theme=dark; {SESSION_COOKIE}={token}");
        let read = auth.from_headers(&Method::GET, &headers(&[(header::COOKIE, &cookie)]), now());
        assert!(read.caller.customer().is_some());
        let none = auth.from_headers(&Method::GET, &HeaderMap::new(), now());
        assert_eq!(none.caller, Caller::Anonymous { refused: None });
    }

    #[test]
    fn a_change_with_the_cookie_must_come_from_this_site() {
        let auth = Authenticator::new(&AuthKey::generate(), vec!["https://shop.example".to_owned()]).expect("auth");
        let (_, token, _) = auth.start(&ada(), now());
        let cookie = format!("{SESSION_COOKIE}={token}");
        let from = |origin: Option<&str>| {
            let mut h = headers(&[(header::COOKIE, &cookie), (header::HOST, "127.0.0.1:8080")]);
            if let Some(o) = origin {
                h.insert(header::ORIGIN, HeaderValue::from_str(o).expect("origin"));
            }
            auth.from_headers(&Method::POST, &h, now()).caller
        };
        assert!(from(Some("http://127.0.0.1:8080")).customer().is_some(), "the same site");
        assert!(from(Some("https://shop.example")).customer().is_some(), "an allowed origin");
        assert!(matches!(from(Some("https://evil.example")), Caller::Anonymous { refused: Some(_) }));
        assert!(matches!(from(None), Caller::Anonymous { refused: Some(_) }), "no Origin, no change");
    }

    #[test]
    fn an_ended_or_malformed_session_is_refused_with_a_reason() {
        let auth = Authenticator::new(&AuthKey::generate(), vec![]).expect("auth");
        let (sid, token, expires) = auth.start(&ada(), now());
        auth.revocations().end(&crate::revocations::session_key(&sid), now(), expires, now());
        let ended = auth.from_token(&token, now());
        assert_eq!(ended.caller, Caller::Anonymous { refused: Some("this session has ended".to_owned()) });
        let basic = auth.from_headers(&Method::GET, &headers(&[(header::AUTHORIZATION, "Basic eDp5")]), now());
        assert!(matches!(basic.caller, Caller::Anonymous { refused: Some(m) } if m.contains("Bearer")));
    }

    #[test]
    fn the_cookie_is_http_only_and_same_site() {
        let c = session_cookie("t", 60, true);
        let c = c.to_str().expect("ascii");
        for part in ["coffee_session=t", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=60", "Secure"] {
            assert!(c.contains(part), "{c}");
        }
        assert!(!session_cookie("t", 60, false).to_str().expect("ascii").contains("Secure"));
        assert!(clear_cookie(false).to_str().expect("ascii").contains("Max-Age=0"));
    }
}

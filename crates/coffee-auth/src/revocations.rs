//! Sessions that ended before their tokens expire: a logout ends one session; removing a member
//! of staff ends all of theirs. Each process keeps them in memory: the one that handled the
//! logout adds it at once; the others hear of it from the `coffee.session.ended` event and, when
//! they start, read the ones still within a token's lifetime.

use std::collections::HashMap;
use std::sync::RwLock;

use coffee_domain::{Millis, StaffName};

use crate::{Session, SessionOf};

/// What ended: one session (by its id), or every session of a member of staff.
pub fn session_key(session_id: &str) -> String {
    format!("session:{session_id}")
}

pub fn staff_key(name: &StaffName) -> String {
    format!("staff:{name}")
}

#[derive(Debug, Clone, Copy)]
struct Ended {
    at: Millis,
    /// After this, every token it could concern has expired: forgotten.
    until: Millis,
}

#[derive(Debug, Default)]
pub struct Revocations {
    ended: RwLock<HashMap<String, Ended>>,
}

impl Revocations {
    /// Records that what `key` names ended at `at`: tokens issued before then are refused until
    /// `until`.
    pub fn end(&self, key: &str, at: Millis, until: Millis, now: Millis) {
        if let Ok(mut ended) = self.ended.write() {
            ended.retain(|_, e| e.until > now);
            let entry = ended.entry(key.to_owned()).or_insert(Ended { at, until });
            entry.at = entry.at.max(at);
            entry.until = entry.until.max(until);
        }
    }

    /// Whether `session` ended (it, or its staff member's every session) after it was issued.
    pub fn refuses(&self, session: &Session, now: Millis) -> bool {
        // A poisoned lock means a panic while inserting: refuse rather than admit.
        let Ok(ended) = self.ended.read() else { return true };
        let mut keys = vec![session_key(&session.id)];
        if let SessionOf::Staff { name, .. } = &session.of {
            keys.push(staff_key(name));
        }
        keys.iter().filter_map(|k| ended.get(k)).any(|e| e.until > now && e.at.seconds() >= session.issued_at.seconds())
    }

    pub fn len(&self) -> usize {
        self.ended.read().map_or(0, |e| e.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use coffee_domain::{CustomerId, CustomerName, StaffRole};

    use super::*;

    fn session(id: &str, of: SessionOf, issued: i64) -> Session {
        Session { id: id.to_owned(), of, issued_at: Millis(issued), expires_at: Millis(issued + 10_000) }
    }

    fn ada() -> SessionOf {
        SessionOf::Customer { id: CustomerId::parse("c").expect("id"), name: CustomerName::parse("Ada").expect("name") }
    }

    fn sam() -> SessionOf {
        SessionOf::Staff { name: StaffName::parse("sam").expect("name"), role: StaffRole::Barista }
    }

    #[test]
    fn an_ended_session_is_refused_until_its_tokens_expire() {
        let r = Revocations::default();
        r.end(&session_key("s1"), Millis(1000), Millis(20_000), Millis(1000));
        assert!(r.refuses(&session("s1", ada(), 0), Millis(1000)));
        assert!(!r.refuses(&session("s1", ada(), 0), Millis(20_000)), "forgotten once every token has expired");
        assert!(!r.refuses(&session("s2", ada(), 0), Millis(1000)), "another session");
        r.end(&session_key("s3"), Millis(30_000), Millis(50_000), Millis(30_000));
        assert_eq!(r.len(), 1, "s1 is dropped once nothing of it can be valid");
    }

    #[test]
    fn removing_staff_ends_their_sessions_before_not_after() {
        let r = Revocations::default();
        r.end(&staff_key(&StaffName::parse("sam").expect("name")), Millis(5000), Millis(60_000), Millis(5000));
        assert!(r.refuses(&session("a", sam(), 1000), Millis(6000)), "a token from before the removal");
        assert!(!r.refuses(&session("b", sam(), 7000), Millis(8000)), "a login after being added again");
        assert!(!r.refuses(&session("c", ada(), 1000), Millis(6000)), "customers are not staff");
    }
}

//! Staff passwords, hashed with Argon2id (RustCrypto's `argon2`, its default parameters) into
//! PHC strings, which carry their own salt and parameters.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// The shortest password accepted.
pub const MIN_CHARS: usize = 10;
/// The longest: Argon2 takes any length, but a client should not make the server hash megabytes.
pub const MAX_CHARS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password has {MIN_CHARS} to {MAX_CHARS} characters")]
    Length,
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// The PHC string to keep for `password`.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    let chars = password.chars().count();
    if !(MIN_CHARS..=MAX_CHARS).contains(&chars) {
        return Err(PasswordError::Length);
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` is the one `phc` was made from. `None` (no such member of staff) is
/// checked against a hash too, so an unknown name takes as long to refuse as a wrong password.
pub fn verify(password: &str, phc: Option<&str>) -> bool {
    let too_long = password.chars().count() > MAX_CHARS;
    let phc = phc.unwrap_or_else(|| dummy());
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let matches = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
    matches && !too_long && phc != dummy()
}

/// A hash no password is checked in vain against.
fn dummy() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash("a password no one has, ever").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_hash_only() {
        let phc = hash("correct horse battery").expect("hashed");
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify("correct horse battery", Some(&phc)));
        assert!(!verify("correct horse batterx", Some(&phc)));
        assert!(!verify("correct horse battery", None), "an unknown name never logs in");
        assert!(!verify("a password no one has, ever", None), "not even with the dummy's own password");
        assert!(!verify("anything", Some("not a phc string")));
    }

    #[test]
    fn passwords_are_bounded() {
        assert_eq!(hash("short"), Err(PasswordError::Length));
        assert_eq!(hash(&"x".repeat(MAX_CHARS + 1)), Err(PasswordError::Length));
        assert!(hash(&"x".repeat(MIN_CHARS)).is_ok());
    }
}

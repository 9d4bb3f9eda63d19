//! The key that signs session tokens. Every process of one system shares it: in the distributed
//! mode each service verifies the tokens the gateway issued.

use std::fmt;
use std::path::Path;

/// At least 32 random bytes. Never printed: `Debug` says only that there is one.
#[derive(Clone)]
pub struct AuthKey(Vec<u8>);

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the auth key must be at least 32 bytes written as hex (64 hex digits; `openssl rand -hex 32` makes one)")]
    Malformed,
    #[error("cannot read or write the auth key at {path}: {reason}")]
    File { path: String, reason: String },
}

impl AuthKey {
    pub const MIN_BYTES: usize = 32;

    /// A key written as hex.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let bytes = hex::decode(text.trim()).map_err(|_| KeyError::Malformed)?;
        if bytes.len() < Self::MIN_BYTES {
            return Err(KeyError::Malformed);
        }
        Ok(Self(bytes))
    }

    /// A new random key.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; Self::MIN_BYTES];
        rand::fill(&mut bytes[..]);
        Self(bytes)
    }

    /// The key kept in `path`, made (readable by its owner only) the first time.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let file_err = |e: std::io::Error| KeyError::File { path: path.display().to_string(), reason: e.to_string() };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                write_private(path, &hex::encode(&key.0)).map_err(file_err)?;
                tracing::info!(path = %path.display(), "generated the key that signs sessions");
                Ok(key)
            }
            Err(e) => Err(file_err(e)),
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthKey(…)")
    }
}

/// Writes a secret so that only its owner can read it (created with mode 0600 on Unix).
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_long_enough_hex() {
        assert!(AuthKey::parse(&"ab".repeat(32)).is_ok());
        assert!(matches!(AuthKey::parse(&"ab".repeat(31)), Err(KeyError::Malformed)));
        assert!(matches!(
            AuthKey::parse("not hex at all, but long enough to be a key of 32 bytes"),
            Err(KeyError::Malformed)
        ));
        assert_eq!(format!("{:?}", AuthKey::generate()), "AuthKey(…)");
    }

    #[test]
    fn a_generated_key_is_kept_private_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("auth.key");
        let made = AuthKey::load_or_create(&path).expect("made");
        let again = AuthKey::load_or_create(&path).expect("read");
        assert_eq!(made.bytes(), again.bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by its owner only: {mode:o}");
        }
    }
}

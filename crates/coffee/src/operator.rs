//! The operator's own credential for the command-line tools that call a running system's admin
//! API (`coffee dlq`, `coffee bench`): a short-lived token signed with the system's key, which
//! the operator holds (given, or kept in the data directory by `coffee serve`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use coffee_auth::{AuthKey, SessionOf, Tokens};
use coffee_domain::{Millis, StaffName, StaffRole};

use crate::config::AUTH_KEY_FILE;

/// How long an operator's token lasts: the run of one command.
const OPERATOR_TOKEN: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Args)]
pub struct OperatorArgs {
    /// The system's key (as `serve` and the services have it). Default: the one `coffee serve`
    /// keeps in --data-dir.
    #[arg(long, global = true, env = "COFFEE_AUTH_KEY", hide_env_values = true)]
    pub auth_key: Option<String>,
    /// Where `coffee serve` keeps its data (and the key it generated).
    #[arg(long, global = true, env = "COFFEE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

impl OperatorArgs {
    pub fn key(&self) -> anyhow::Result<AuthKey> {
        match &self.auth_key {
            Some(text) => AuthKey::parse(text).context("--auth-key"),
            None => {
                let path = self.data_dir.join(AUTH_KEY_FILE);
                let text = std::fs::read_to_string(&path).with_context(|| {
                    format!(
                        "cannot read the system's key at {} (give --auth-key, or --data-dir of `coffee serve`)",
                        path.display()
                    )
                })?;
                AuthKey::parse(&text).with_context(|| format!("the key in {}", path.display()))
            }
        }
    }

    /// A new customer's token, as `POST /api/session` would answer it (for the bench against
    /// services without a gateway, where no identity service runs).
    pub fn customer_token(&self, name: &str) -> anyhow::Result<String> {
        let tokens = Tokens::new(&self.key()?)?;
        let id = coffee_domain::CustomerId::parse(&uuid::Uuid::now_v7().to_string())?;
        let of = SessionOf::Customer { id, name: coffee_domain::CustomerName::parse(name)? };
        Ok(tokens.issue(&uuid::Uuid::now_v7().to_string(), &of, coffee_service::now()).0)
    }

    /// A token for a tool acting as `role`, named `name` in the logs.
    pub fn token(&self, name: &str, role: StaffRole) -> anyhow::Result<String> {
        let tokens = Tokens::new(&self.key()?)?;
        let of = SessionOf::Staff { name: StaffName::parse(name)?, role };
        let now = coffee_service::now();
        let session = uuid::Uuid::now_v7().to_string();
        Ok(tokens.issue_until(&session, &of, now, Millis(now.0 + OPERATOR_TOKEN.as_millis() as i64)).0)
    }
}

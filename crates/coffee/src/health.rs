//! `coffee health`: asks a running process whether it is ready, for health checks that can run
//! only a command (a container's `HEALTHCHECK`, compose's `healthcheck`): the image has no curl.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The process to ask (any of `serve`, a service, the gateway).
    #[arg(long, env = "COFFEE_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
}

/// Exits 0 when `/readyz` answers 200, else fails with what it said.
pub async fn run(args: HealthArgs) -> anyhow::Result<()> {
    let url = format!("{}/readyz", args.url.trim_end_matches('/'));
    // Within a health check's usual timeout, so a hung process fails the check instead of
    // the check timing out without a word.
    let response = reqwest::Client::new()
        .get(&url)
        .timeout(Duration::from_secs(3))
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("not ready ({status}): {body}");
    }
    println!("{body}");
    Ok(())
}

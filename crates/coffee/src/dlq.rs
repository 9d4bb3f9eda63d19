//! `coffee dlq`: show and replay dead letters of a running system, through its admin API.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use coffee_bus::DeadLetter;

#[derive(Debug, Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    pub command: DlqCommand,
    /// The running system (`coffee serve`).
    #[arg(long, global = true, env = "COFFEE_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Only this consumer's queue (order-service, payment-service, fulfilment-service).
    #[arg(long, global = true)]
    pub consumer: Option<String>,
    #[command(flatten)]
    pub operator: crate::operator::OperatorArgs,
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List the messages that failed on every attempt.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Put dead letters back on their queues, to be delivered again.
    Redrive,
}

pub async fn run(args: DlqArgs) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let base = args.url.trim_end_matches('/');
    let mut query = Vec::new();
    if let Some(c) = &args.consumer {
        query.push(("consumer", c.as_str()));
    }
    let request = match args.command {
        DlqCommand::List { .. } => http.get(format!("{base}/api/admin/dead-letters")),
        DlqCommand::Redrive => http.post(format!("{base}/api/admin/dead-letters/redrive")),
    };
    let token = args.operator.token("coffee-dlq", coffee_domain::StaffRole::Admin)?;
    let response = request
        .bearer_auth(token)
        .query(&query)
        .send()
        .await
        .with_context(|| format!("cannot reach {base}: is `coffee serve` running there? (--url)"))?;
    let status = response.status();
    let body = response.bytes().await.context("reading the answer")?;
    if !status.is_success() {
        bail!("{}", coffee_http::decode_error(status, &body));
    }
    match args.command {
        DlqCommand::List { json } => {
            let letters: Vec<DeadLetter> = serde_json::from_slice(&body).context("unexpected answer")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&letters)?);
            } else if letters.is_empty() {
                println!("no dead letters");
            } else {
                println!(
                    "{:<20} {:>8} {:>8}  {:<28} {:<36}  last error",
                    "consumer", "seq", "attempts", "type", "order"
                );
                for l in &letters {
                    println!(
                        "{:<20} {:>8} {:>8}  {:<28} {:<36}  {}",
                        l.consumer, l.seq, l.attempts, l.event.event_type, l.event.subject, l.last_error
                    );
                }
                println!("{} dead letter(s); `coffee dlq redrive` delivers them again", letters.len());
            }
        }
        DlqCommand::Redrive => {
            let answer: serde_json::Value = serde_json::from_slice(&body).context("unexpected answer")?;
            println!("redriven: {}", answer["redriven"]);
        }
    }
    Ok(())
}

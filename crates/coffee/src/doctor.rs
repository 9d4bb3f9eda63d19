//! `coffee doctor`: checks what a process needs before it is started, or while it runs, and says
//! what is wrong and how to fix it. Exit code 1 when a check fails (warnings do not).

use std::path::Path;
use std::time::Duration;

use clap::Args;
use coffee_auth::AuthKey;
use coffee_bus::sqlite::backup;

use crate::backend::DATABASE_FILE;
use crate::config::{AUTH_KEY_FILE, Backends};

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The data directory (with the embedded store).
    #[arg(long, env = "COFFEE_DATA_DIR", default_value = "./data")]
    pub data_dir: std::path::PathBuf,
    /// As `serve` takes it: `embedded` or a NATS URL.
    #[arg(long, env = "COFFEE_BUS", default_value = "embedded")]
    pub bus: String,
    /// As `serve` takes it: `sqlite` or a PostgreSQL URL.
    #[arg(long, env = "COFFEE_DATABASE", default_value = "sqlite")]
    pub database: String,
    /// The system's key, as the processes are given it (the distributed mode needs one).
    #[arg(long, env = "COFFEE_AUTH_KEY", hide_env_values = true)]
    pub auth_key: Option<String>,
}

enum Outcome {
    Ok(String),
    Warn(String, String),
    Fail(String, String),
}

struct Report {
    failed: usize,
}

impl Report {
    fn say(&mut self, what: &str, outcome: Outcome) {
        match outcome {
            Outcome::Ok(detail) => println!("  ok    {what}: {detail}"),
            Outcome::Warn(detail, fix) => println!("  warn  {what}: {detail}\n        fix: {fix}"),
            Outcome::Fail(detail, fix) => {
                self.failed += 1;
                println!("  FAIL  {what}: {detail}\n        fix: {fix}");
            }
        }
    }
}

/// How long a dependency may take to answer a check.
const WITHIN: Duration = Duration::from_secs(5);
const MB: u64 = 1_000_000;

pub async fn run(args: DoctorArgs) -> anyhow::Result<()> {
    let mut report = Report { failed: 0 };
    match Backends::parse(&args.bus, &args.database) {
        Err(e) => {
            report.say("configuration", Outcome::Fail(format!("{e:#}"), "give --bus and --database as a pair".into()))
        }
        Ok(Backends::Embedded) => {
            report.say("configuration", Outcome::Ok("the embedded store and bus (SQLite)".into()));
            embedded(&args, &mut report);
        }
        Ok(Backends::Distributed { bus, database }) => {
            report.say("configuration", Outcome::Ok("NATS JetStream and PostgreSQL".into()));
            distributed(&args, &bus, &database, &mut report).await;
        }
    }
    if report.failed > 0 {
        anyhow::bail!("{} check(s) failed", report.failed);
    }
    println!("everything checked is in order");
    Ok(())
}

fn embedded(args: &DoctorArgs, report: &mut Report) {
    let dir = &args.data_dir;
    let shown = dir.display();
    if !dir.exists() {
        let fix = "nothing to do: `coffee serve` creates it (or give --data-dir)".to_owned();
        report.say("data directory", Outcome::Warn(format!("{shown} does not exist yet"), fix));
        return;
    }
    let probe = dir.join(".coffee-doctor");
    match std::fs::write(&probe, b"").and_then(|()| std::fs::remove_file(&probe)) {
        Ok(()) => report.say("data directory", Outcome::Ok(format!("{shown} is writable"))),
        Err(e) => report.say(
            "data directory",
            Outcome::Fail(
                format!("{shown} is not writable: {e}"),
                "give the user the server runs as write access".into(),
            ),
        ),
    }
    free_disk(dir, report);
    let db = dir.join(DATABASE_FILE);
    if db.exists() {
        match backup::check(&db, &crate::services::migrations()) {
            Ok(c) => report.say(
                "database",
                Outcome::Ok(format!(
                    "{} is whole, {:.1} MB, {} events in the journal, {} queued, {} dead letters",
                    db.display(),
                    c.bytes as f64 / MB as f64,
                    c.events,
                    c.queued,
                    c.dead_letters
                )),
            ),
            Err(e) => report.say(
                "database",
                Outcome::Fail(e.to_string(), "stop the server and `coffee restore --from` your last backup".into()),
            ),
        }
    } else {
        report.say("database", Outcome::Ok(format!("none yet in {shown}: `coffee serve` creates it")));
    }
    match args.auth_key.as_deref() {
        Some(key) => report.say("session key", key_outcome(key, "--auth-key")),
        None => {
            let path = dir.join(AUTH_KEY_FILE);
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let mut outcome = key_outcome(&text, &path.display().to_string());
                    if matches!(outcome, Outcome::Ok(_)) && readable_by_others(&path) {
                        outcome = Outcome::Warn(
                            format!("{} can be read by other users", path.display()),
                            format!("chmod 600 {}", path.display()),
                        );
                    }
                    report.say("session key", outcome)
                }
                Err(_) => report.say("session key", Outcome::Ok("none kept yet: `coffee serve` makes one".into())),
            }
        }
    }
}

fn key_outcome(text: &str, from: &str) -> Outcome {
    match AuthKey::parse(text) {
        Ok(_) => Outcome::Ok(format!("{from} holds a valid key")),
        Err(e) => {
            Outcome::Fail(format!("{from}: {e}"), "a key is hex, 32 bytes or more: `openssl rand -hex 32`".into())
        }
    }
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_: &Path) -> bool {
    false
}

fn free_disk(dir: &Path, report: &mut Report) {
    let fix = "free space on that disk, lower --retain-days, or move the data directory (docs/operations.md)";
    match rustix::fs::statvfs(dir) {
        Ok(s) => {
            let free = s.f_bavail.saturating_mul(s.f_frsize);
            let detail = format!("{:.1} GB free where {} is", free as f64 / 1e9, dir.display());
            let outcome = if free < 100 * MB {
                Outcome::Fail(detail, fix.into())
            } else if free < 1_000 * MB {
                Outcome::Warn(detail, fix.into())
            } else {
                Outcome::Ok(detail)
            };
            report.say("free disk", outcome);
        }
        Err(e) => report.say("free disk", Outcome::Warn(format!("cannot tell: {e}"), "check with df".into())),
    }
}

async fn distributed(args: &DoctorArgs, bus: &str, database: &str, report: &mut Report) {
    match args.auth_key.as_deref() {
        Some(key) => report.say("session key", key_outcome(key, "COFFEE_AUTH_KEY")),
        None => report.say(
            "session key",
            Outcome::Fail(
                "none given: the distributed processes refuse to start without one".into(),
                "give every process the same COFFEE_AUTH_KEY (`openssl rand -hex 32`)".into(),
            ),
        ),
    }
    postgres(database, report).await;
    nats(bus, report).await;
}

async fn postgres(url: &str, report: &mut Report) {
    let shown = crate::backend::redact(url);
    let options = sqlx::postgres::PgPoolOptions::new().max_connections(1).acquire_timeout(WITHIN);
    let pool = match tokio::time::timeout(WITHIN, options.connect(url)).await {
        Ok(Ok(pool)) => pool,
        Ok(Err(e)) => {
            let fix = "check the URL, that PostgreSQL runs, and that it lets this host in (pg_hba.conf)";
            return report.say("PostgreSQL", Outcome::Fail(format!("cannot connect to {shown}: {e}"), fix.into()));
        }
        Err(_) => {
            let fix = "check that PostgreSQL runs and the network between";
            return report.say("PostgreSQL", Outcome::Fail(format!("{shown} did not answer within 5 s"), fix.into()));
        }
    };
    report.say("PostgreSQL", Outcome::Ok(format!("{shown} answers")));
    // The clock: timers (payment due) and retention compare times written by several hosts.
    let now: Result<f64, _> =
        sqlx::query_scalar("SELECT extract(epoch FROM clock_timestamp())::float8").fetch_one(&pool).await;
    if let Ok(theirs) = now {
        let ours = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
        let skew = (ours - theirs).abs();
        let detail = format!("this host and PostgreSQL differ by {skew:.2} s");
        let fix = "run NTP (chrony, systemd-timesyncd) on every host";
        report.say("clock", if skew > 5.0 { Outcome::Warn(detail, fix.into()) } else { Outcome::Ok(detail) });
    }
    let known = crate::services::migrations();
    for schema in [coffee_order::SCHEMA, coffee_payment::SCHEMA, coffee_fulfilment::SCHEMA, coffee_identity::SCHEMA] {
        let sql = format!("SELECT owner, version FROM {schema}.schema_migrations");
        let rows: Result<Vec<(String, i64)>, _> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await;
        let what = format!("schema {schema}");
        match rows {
            Ok(rows) => match rows
                .iter()
                .find(|(o, v)| !known.iter().any(|m| m.owner == o && i64::from(m.version) == *v) && o != "bus")
            {
                Some((owner, version)) => report.say(
                    &what,
                    Outcome::Fail(
                        format!("has migration {owner} {version}, which this binary does not know"),
                        "run the version of coffee that made it (or newer)".into(),
                    ),
                ),
                None => report.say(&what, Outcome::Ok(format!("{} migrations, all known", rows.len()))),
            },
            Err(_) => report.say(
                &what,
                Outcome::Warn(
                    "not created yet".into(),
                    "nothing to do: its service creates it at its first start".into(),
                ),
            ),
        }
    }
    pool.close().await;
}

async fn nats(url: &str, report: &mut Report) {
    let options = async_nats::ConnectOptions::new().connection_timeout(WITHIN);
    let client = match tokio::time::timeout(WITHIN, options.connect(url)).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => {
            return report.say(
                "NATS",
                Outcome::Fail(
                    format!("cannot connect to {url}: {e}"),
                    "check the URL and that nats-server runs".into(),
                ),
            );
        }
        Err(_) => {
            return report.say(
                "NATS",
                Outcome::Fail(
                    format!("{url} did not answer within 5 s"),
                    "check that nats-server runs, and the network between".into(),
                ),
            );
        }
    };
    report.say("NATS", Outcome::Ok(format!("{url} answers")));
    let js = async_nats::jetstream::new(client);
    match tokio::time::timeout(WITHIN, js.query_account()).await {
        Ok(Ok(_)) => report.say("JetStream", Outcome::Ok("enabled".into())),
        _ => {
            let fix = "start nats-server with JetStream (-js, or `jetstream {}` in its config; see deploy/nats.conf)";
            return report.say("JetStream", Outcome::Fail("not enabled on this server".into(), fix.into()));
        }
    }
    for stream in [coffee_bus::nats::STREAM, coffee_bus::nats::DEAD_LETTER_STREAM] {
        let what = format!("stream {stream}");
        match tokio::time::timeout(WITHIN, js.get_stream(stream)).await {
            Ok(Ok(mut s)) => match s.info().await {
                Ok(info) => report.say(
                    &what,
                    Outcome::Ok(format!(
                        "{} messages, {} replica(s), {:?} storage",
                        info.state.messages, info.config.num_replicas, info.config.storage
                    )),
                ),
                Err(e) => {
                    report.say(&what, Outcome::Warn(format!("cannot read it: {e}"), "check the server's logs".into()))
                }
            },
            _ => report.say(
                &what,
                Outcome::Warn("not created yet".into(), "nothing to do: the first process creates it".into()),
            ),
        }
    }
}

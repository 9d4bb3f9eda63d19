//! `coffee bench`: a load generator that walks whole sagas against a running system over
//! HTTP, the way a customer and a barista would: place an order, create the payment, pay
//! with the test card, wait for the fulfilment to appear, complete it, wait for the order
//! to be completed. It reports completed sagas per second and the latency from "order
//! placed" to "fulfilment created" (and to "order completed").
//!
//! `--baseline sqlite` measures instead the raw rate of small committed SQLite
//! transactions (one row, one commit, one writer) on the disk of `--data-dir`, with the
//! same fsync setting: the ceiling a store without group commit would have.
//!
//! Waiting is done by polling the REST API (1 ms, doubling to 16 ms), so the latencies
//! include up to one polling interval; that is said with every result.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::{Value, json};

use crate::config::Sync;

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// The running system.
    #[arg(long, env = "COFFEE_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Sagas in flight at once (closed loop: each worker starts its next saga when one ends).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub concurrency: u32,
    /// Start this many sagas per second instead (open loop); latency counts from each
    /// saga's scheduled start, so a stalled server cannot hide its queueing.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rate: Option<u32>,
    /// How long to measure, e.g. 30s, 2m, 500ms.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Load before measuring starts (not counted).
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Measure a baseline instead of the system.
    #[arg(long, value_enum)]
    pub baseline: Option<Baseline>,
    /// For `--baseline sqlite`: the directory whose disk to measure.
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
    /// For `--baseline sqlite`: the fsync setting to measure with.
    #[arg(long, value_enum, default_value_t = Sync::Full)]
    pub sync: Sync,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Baseline {
    /// Small committed SQLite transactions, one at a time.
    Sqlite,
}

pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    let (number, unit) = s.find(|c: char| !c.is_ascii_digit() && c != '.').map_or((s, "s"), |i| s.split_at(i));
    let value: f64 = number.parse().map_err(|_| format!("'{input}' is not a duration like 30s, 2m or 500ms"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" | "" => value,
        "m" => value * 60.0,
        _ => return Err(format!("'{input}': unknown unit '{unit}' (use ms, s or m)")),
    };
    if !(secs > 0.0 && secs <= 24.0 * 3600.0) {
        return Err(format!("'{input}' must be more than 0 and at most a day"));
    }
    Ok(Duration::from_secs_f64(secs))
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.baseline {
        Some(Baseline::Sqlite) => {
            let report = sqlite_baseline(&args).await?;
            report.print(args.json)
        }
        None => {
            let report = sagas(&args).await?;
            report.print(args.json)
        }
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    fn of(samples: &mut [u64]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
            samples[i] as f64 / 1000.0
        };
        Self { p50_ms: at(0.50), p90_ms: at(0.90), p99_ms: at(0.99), max_ms: at(1.0) }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SagaReport {
    pub url: String,
    pub mode: String,
    pub seconds: f64,
    pub completed: u64,
    pub sagas_per_second: f64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub order_to_fulfilment: Latency,
    pub order_to_completed: Latency,
}

impl SagaReport {
    fn print(&self, json: bool) -> anyhow::Result<()> {
        if json {
            println!("{}", serde_json::to_string_pretty(self)?);
            return Ok(());
        }
        let l = &self.order_to_fulfilment;
        let c = &self.order_to_completed;
        println!("coffee bench: {} for {:.0} s against {}", self.mode, self.seconds, self.url);
        println!("  completed sagas: {} ({:.1}/s), errors: {}", self.completed, self.sagas_per_second, self.errors);
        println!(
            "  order placed -> fulfilment created: p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms
        );
        println!(
            "  order placed -> order completed:    p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            c.p50_ms, c.p90_ms, c.p99_ms, c.max_ms
        );
        println!("  (waits are polled every 1-16 ms; latencies include up to one polling interval)");
        if let Some(e) = &self.first_error {
            println!("  first error: {e}");
        }
        Ok(())
    }
}

#[derive(Default)]
struct Samples {
    to_fulfilment: Vec<u64>,
    to_completed: Vec<u64>,
    first_error: Option<String>,
}

struct Shared {
    client: reqwest::Client,
    base: String,
    measuring: std::sync::atomic::AtomicBool,
    completed: AtomicU64,
    errors: AtomicU64,
    samples: Mutex<Samples>,
    next_customer: AtomicU64,
}

async fn sagas(args: &BenchArgs) -> anyhow::Result<SagaReport> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency as usize * 2)
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build the HTTP client")?;
    let base = args.url.trim_end_matches('/').to_owned();
    let probe = client.get(format!("{base}/api/coffees")).send().await;
    match probe {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => bail!("{base}/api/coffees answered {}: is this a coffee server?", r.status()),
        Err(e) => bail!("cannot reach {base}: {e} (start one with `coffee serve`, or pass --url)"),
    }
    let shared = Arc::new(Shared {
        client,
        base: base.clone(),
        measuring: false.into(),
        completed: 0.into(),
        errors: 0.into(),
        samples: Mutex::new(Samples::default()),
        next_customer: 0.into(),
    });
    let mode = match args.rate {
        Some(r) => format!("{r} sagas/s offered (open loop)"),
        None => format!("concurrency {}", args.concurrency),
    };
    eprintln!(
        "coffee bench: warming up for {:.0} s, then measuring {mode} for {:.0} s",
        args.warmup.as_secs_f64(),
        args.duration.as_secs_f64()
    );

    let end = Instant::now() + args.warmup + args.duration;
    let load = {
        let shared = shared.clone();
        let (rate, concurrency) = (args.rate, args.concurrency);
        tokio::spawn(async move {
            match rate {
                Some(rate) => open_loop(shared, rate, end).await,
                None => closed_loop(shared, concurrency, end).await,
            }
        })
    };
    tokio::time::sleep(args.warmup).await;
    shared.measuring.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let mut last = 0;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    while started.elapsed() < args.duration {
        tick.tick().await;
        let done = shared.completed.load(Ordering::Relaxed);
        eprintln!(
            "  {:>4.0} s  {:>7} sagas/s  errors {}",
            started.elapsed().as_secs_f64(),
            done - last,
            shared.errors.load(Ordering::Relaxed)
        );
        last = done;
    }
    shared.measuring.store(false, Ordering::SeqCst);
    let seconds = started.elapsed().as_secs_f64();
    let completed = shared.completed.load(Ordering::SeqCst);
    let errors = shared.errors.load(Ordering::SeqCst);
    // Let the sagas in flight finish so the server is left quiet.
    let _ = tokio::time::timeout(Duration::from_secs(15), load).await;
    let mut samples = shared.samples.lock().map_err(|_| anyhow::anyhow!("bench state poisoned"))?;
    let first_error = samples.first_error.clone();
    Ok(SagaReport {
        url: base,
        mode,
        seconds,
        completed,
        sagas_per_second: completed as f64 / seconds,
        errors,
        first_error,
        order_to_fulfilment: Latency::of(&mut samples.to_fulfilment),
        order_to_completed: Latency::of(&mut samples.to_completed),
    })
}

async fn closed_loop(shared: Arc<Shared>, concurrency: u32, end: Instant) {
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let shared = shared.clone();
        workers.spawn(async move {
            while Instant::now() < end {
                one_saga(&shared, Instant::now()).await;
            }
        });
    }
    while workers.join_next().await.is_some() {}
}

async fn open_loop(shared: Arc<Shared>, rate: u32, end: Instant) {
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let in_flight = Arc::new(tokio::sync::Semaphore::new(20_000));
    let mut next = Instant::now();
    let mut sagas = tokio::task::JoinSet::new();
    while next < end {
        tokio::time::sleep_until(next.into()).await;
        let Ok(permit) = in_flight.clone().acquire_owned().await else { break };
        let shared = shared.clone();
        let scheduled = next;
        sagas.spawn(async move {
            one_saga(&shared, scheduled).await;
            drop(permit);
        });
        next += interval;
        while sagas.try_join_next().is_some() {}
    }
    while sagas.join_next().await.is_some() {}
}

async fn one_saga(shared: &Shared, started: Instant) {
    let result = walk_saga(shared, started).await;
    let measuring = shared.measuring.load(Ordering::Relaxed);
    match result {
        Ok((to_fulfilment, to_completed)) if measuring => {
            shared.completed.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut s) = shared.samples.lock() {
                s.to_fulfilment.push(to_fulfilment.as_micros() as u64);
                s.to_completed.push(to_completed.as_micros() as u64);
            }
        }
        Ok(_) => {}
        Err(e) if measuring => {
            shared.errors.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut s) = shared.samples.lock() {
                s.first_error.get_or_insert(e);
            }
        }
        Err(_) => {}
    }
}

async fn call(shared: &Shared, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
    let mut req = shared.client.request(method.clone(), format!("{}{path}", shared.base));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.map_err(|e| format!("{method} {path}: {e}"))?;
    let status = resp.status();
    let value: Value = resp.json().await.map_err(|e| format!("{method} {path}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{method} {path}: {status}: {value}"));
    }
    Ok(value)
}

/// Polls `path` until `done` says the answer is the awaited state.
async fn await_state(shared: &Shared, path: &str, done: impl Fn(&Value) -> bool) -> Result<Value, String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut pause = Duration::from_millis(1);
    loop {
        let value = call(shared, reqwest::Method::GET, path, None).await?;
        if done(&value) {
            return Ok(value);
        }
        if Instant::now() > deadline {
            return Err(format!("timed out waiting on {path}: last {value}"));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(16));
    }
}

fn text(v: &Value, key: &str) -> Result<String, String> {
    v[key].as_str().map(str::to_owned).ok_or_else(|| format!("answer has no {key}: {v}"))
}

async fn walk_saga(shared: &Shared, started: Instant) -> Result<(Duration, Duration), String> {
    use reqwest::Method;
    let n = shared.next_customer.fetch_add(1, Ordering::Relaxed);
    let coffee = ["1", "2", "3"][(n % 3) as usize];
    let order = call(
        shared,
        Method::POST,
        "/api/order",
        Some(json!({"coffeeId": coffee, "customerId": format!("bench-{}", n % 1000), "customerName": "Bench"})),
    )
    .await?;
    let order_id = text(&order, "orderId")?;
    let payment = call(shared, Method::POST, "/api/payment", Some(json!({"orderId": order_id}))).await?;
    let payment_id = text(&payment, "paymentId")?;
    let paid = call(
        shared,
        Method::POST,
        &format!("/api/payment/{payment_id}/confirm"),
        Some(json!({"cardNumber": "4242424242424242"})),
    )
    .await?;
    if paid["paymentStatus"] != "PAYMENT_SUCCESSFUL" {
        return Err(format!("payment did not succeed: {paid}"));
    }
    let found = await_state(shared, &format!("/api/fulfilment?orderId={order_id}"), |v| {
        v.as_array().is_some_and(|a| !a.is_empty())
    })
    .await?;
    let to_fulfilment = started.elapsed();
    let fulfilment_id = text(&found[0], "fulfilmentId")?;
    call(
        shared,
        Method::PATCH,
        &format!("/api/fulfilment/{fulfilment_id}"),
        Some(json!({"status": "FULFILMENT_COMPLETED"})),
    )
    .await?;
    await_state(shared, &format!("/api/order/{order_id}"), |v| v["orderStatus"] == "ORDER_COMPLETED").await?;
    Ok((to_fulfilment, started.elapsed()))
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SqliteBaselineReport {
    pub path: String,
    pub sync: String,
    pub seconds: f64,
    pub transactions: u64,
    pub transactions_per_second: f64,
    pub commit: Latency,
}

impl SqliteBaselineReport {
    fn print(&self, json: bool) -> anyhow::Result<()> {
        if json {
            println!("{}", serde_json::to_string_pretty(self)?);
            return Ok(());
        }
        println!(
            "coffee bench --baseline sqlite: one writer, one row per committed transaction, WAL, synchronous={}",
            self.sync
        );
        println!("  file: {}", self.path);
        println!(
            "  {} transactions in {:.1} s: {:.1}/s",
            self.transactions, self.seconds, self.transactions_per_second
        );
        println!(
            "  commit latency: p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
            self.commit.p50_ms, self.commit.p90_ms, self.commit.p99_ms, self.commit.max_ms
        );
        Ok(())
    }
}

async fn sqlite_baseline(args: &BenchArgs) -> anyhow::Result<SqliteBaselineReport> {
    std::fs::create_dir_all(&args.data_dir).with_context(|| format!("cannot create {}", args.data_dir.display()))?;
    let path = args.data_dir.join("bench-baseline.db");
    let (sync, duration) = (args.sync, args.duration);
    let path_for_task = path.clone();
    let report = tokio::task::spawn_blocking(move || -> anyhow::Result<SqliteBaselineReport> {
        let _ = std::fs::remove_file(&path_for_task);
        let conn = rusqlite::Connection::open(&path_for_task).context("cannot open the baseline database")?;
        let sync_name = match sync {
            Sync::Full => "FULL",
            Sync::Normal => "NORMAL",
        };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync_name};
             CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);"
        ))?;
        let mut stmt = conn.prepare("INSERT INTO t (v) VALUES (?1)")?;
        let payload = "x".repeat(200);
        let mut latencies = Vec::new();
        let started = Instant::now();
        while started.elapsed() < duration {
            let t = Instant::now();
            stmt.execute([&payload])?;
            latencies.push(t.elapsed().as_micros() as u64);
        }
        let seconds = started.elapsed().as_secs_f64();
        drop(stmt);
        drop(conn);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path_for_task.display()));
        }
        let transactions = latencies.len() as u64;
        Ok(SqliteBaselineReport {
            path: path_for_task.display().to_string(),
            sync: sync_name.to_owned(),
            seconds,
            transactions,
            transactions_per_second: transactions as f64 / seconds,
            commit: Latency::of(&mut latencies),
        })
    })
    .await
    .context("the baseline task failed")??;
    let _ = path;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_refuse_nonsense() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("3h").is_err());
    }

    #[test]
    fn percentiles_pick_the_right_samples() {
        let mut samples: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        let l = Latency::of(&mut samples);
        assert_eq!(l.p50_ms, 51.0);
        assert_eq!(l.p99_ms, 99.0);
        assert_eq!(l.max_ms, 100.0);
    }
}

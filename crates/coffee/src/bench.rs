//! `coffee bench`: a load generator that walks whole sagas against a running system over
//! HTTP, the way a customer and a barista would: place an order, create the payment, pay
//! with the test card, wait for the fulfilment to appear, complete it, wait for the order
//! to be completed. It reports completed sagas per second and the latency from "order
//! placed" to "fulfilment created" (and to "order completed").
//!
//! In the distributed mode each service has its own URL (`--order-url`, `--payment-url`,
//! `--fulfilment-url`; `--url` serves the event stream and defaults the others).
//!
//! Baselines, measured by the same tool on the same machine:
//! - `--baseline sqlite`: small committed SQLite transactions (one row, one commit, one
//!   writer) on the disk of `--data-dir`, with the same fsync setting: the ceiling of a store
//!   without group commit.
//! - `--baseline nats`: synchronous JetStream publishes (each waits for its ack) of messages
//!   the size of an event, then acknowledged consumes of them, on `--nats`.
//! - `--baseline postgres`: single-row committed inserts, one at a time, on `--database`.
//!
//! The bench learns that a fulfilment was created and that an order was completed the way
//! a live dashboard would: from the server's event stream (`GET /api/events`, Server-Sent
//! Events), so it adds no polling load and its latencies have no polling error. They do
//! include the time the event takes to reach the bench.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::{Value, json};

use crate::baseline::Report as _;
use crate::config::Sync;

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// The running system (its event stream, and every service unless given below).
    #[arg(long, env = "COFFEE_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The order service, when it runs on its own.
    #[arg(long)]
    pub order_url: Option<String>,
    /// The payment service, when it runs on its own.
    #[arg(long)]
    pub payment_url: Option<String>,
    /// The fulfilment service, when it runs on its own.
    #[arg(long)]
    pub fulfilment_url: Option<String>,
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
    /// For `--baseline sqlite`: the directory whose disk to measure. Against a system, where
    /// `coffee serve` keeps the key the bench signs its barista's and its event stream's tokens
    /// with (unless --auth-key is given).
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
    /// The system's key, for the bench's barista and event-stream tokens (its customers start
    /// sessions of their own, as the web app does).
    #[arg(long, env = "COFFEE_AUTH_KEY", hide_env_values = true)]
    pub auth_key: Option<String>,
    /// For `--baseline sqlite`: the fsync setting to measure with.
    #[arg(long, value_enum, default_value_t = Sync::Full)]
    pub sync: Sync,
    /// For `--baseline nats`: the NATS server.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats: String,
    /// For `--baseline postgres`: the database (a table `coffee_bench_baseline` is created
    /// and dropped in it).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub database: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Baseline {
    /// Small committed SQLite transactions, one at a time.
    Sqlite,
    /// Synchronous JetStream publishes and acknowledged consumes.
    Nats,
    /// Single-row committed PostgreSQL inserts, one at a time.
    Postgres,
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
        Some(Baseline::Nats) => crate::baseline::nats(&args.nats, args.duration).await?.print(args.json),
        Some(Baseline::Postgres) => crate::baseline::postgres(&args.database, args.duration).await?.print(args.json),
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
    /// Percentiles of samples in microseconds.
    pub fn of(samples: &mut [u64]) -> Self {
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

    /// The percentiles as one line's worth, with `decimals` digits after the point.
    pub fn text(&self, decimals: usize) -> String {
        let (d, l) = (decimals, self);
        format!("p50 {:.d$} ms  p90 {:.d$} ms  p99 {:.d$} ms  max {:.d$} ms", l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms)
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
    /// Each step of the saga on its own: the HTTP calls, and the waits for events.
    pub steps: Vec<(String, Latency)>,
}

impl crate::baseline::Report for SagaReport {
    fn write_text(&self, out: &mut String) {
        let l = &self.order_to_fulfilment;
        let c = &self.order_to_completed;
        let _ = writeln!(out, "coffee bench: {} for {:.0} s against {}", self.mode, self.seconds, self.url);
        let _ = writeln!(
            out,
            "  completed sagas: {} ({:.1}/s), errors: {}",
            self.completed, self.sagas_per_second, self.errors
        );
        let _ = writeln!(out, "  order placed -> fulfilment created: {}", l.text(2));
        let _ = writeln!(out, "  order placed -> order completed:    {}", c.text(2));
        let _ = writeln!(out, "  (events observed on the server's live event stream, /api/events)");
        let _ = writeln!(out, "  steps:");
        for (name, l) in &self.steps {
            let _ = writeln!(out, "    {name:<44} p50 {:>7.2} ms  p99 {:>7.2} ms", l.p50_ms, l.p99_ms);
        }
        if let Some(e) = &self.first_error {
            let _ = writeln!(out, "  first error: {e}");
        }
    }
}

const STEPS: [&str; 6] = [
    "POST /api/order",
    "POST /api/payment",
    "POST /api/payment/:id/confirm",
    "then wait for coffee.fulfilment.created",
    "PATCH /api/fulfilment/:id",
    "then wait for coffee.order.completed",
];

#[derive(Default)]
struct Samples {
    to_fulfilment: Vec<u64>,
    to_completed: Vec<u64>,
    steps: [Vec<u64>; 6],
    first_error: Option<String>,
}

struct Shared {
    client: reqwest::Client,
    /// The customers' session tokens, one per customer the bench plays.
    customers: Vec<String>,
    /// The barista's token.
    barista: String,
    feed: Feed,
    /// Base URLs of the order, payment and fulfilment services.
    order: String,
    payment: String,
    fulfilment: String,
    measuring: std::sync::atomic::AtomicBool,
    completed: AtomicU64,
    errors: AtomicU64,
    samples: Mutex<Samples>,
    next_customer: AtomicU64,
}

async fn sagas(args: &BenchArgs) -> anyhow::Result<SagaReport> {
    let base = args.url.trim_end_matches('/').to_owned();
    let shared = Arc::new(shared_state(args, &base).await?);
    let mode = match args.rate {
        Some(r) => format!("{r} sagas/s offered (open loop)"),
        None => format!("concurrency {}", args.concurrency),
    };
    eprintln!(
        "coffee bench: warming up for {:.0} s, then measuring {mode} for {:.0} s",
        args.warmup.as_secs_f64(),
        args.duration.as_secs_f64()
    );

    let operator = crate::operator::OperatorArgs { auth_key: args.auth_key.clone(), data_dir: args.data_dir.clone() };
    let reader = start_feed_reader(&base, operator.token("bench", coffee_domain::StaffRole::Admin)?, shared.clone())?;
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
    print_progress(&shared, started, args.duration).await;
    shared.measuring.store(false, Ordering::SeqCst);
    let seconds = started.elapsed().as_secs_f64();
    let completed = shared.completed.load(Ordering::SeqCst);
    let errors = shared.errors.load(Ordering::SeqCst);
    // Let the sagas in flight finish so the server is left quiet.
    let _ = tokio::time::timeout(Duration::from_secs(15), load).await;
    drop(reader);
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
        steps: STEPS.iter().zip(samples.steps.iter_mut()).map(|(n, s)| (n.to_string(), Latency::of(s))).collect(),
    })
}

/// The bench's client and counters, once the server (or the order service) answers.
async fn shared_state(args: &BenchArgs, base: &str) -> anyhow::Result<Shared> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency as usize * 2)
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build the HTTP client")?;
    let service = |given: &Option<String>| given.as_deref().unwrap_or(base).trim_end_matches('/').to_owned();
    let menu = format!("{}/api/coffees", service(&args.order_url));
    match client.get(&menu).send().await {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => bail!("{menu} answered {}: is this a coffee server?", r.status()),
        Err(e) => bail!("cannot reach {menu}: {e} (start one with `coffee serve`, or pass --url)"),
    }
    let operator = crate::operator::OperatorArgs { auth_key: args.auth_key.clone(), data_dir: args.data_dir.clone() };
    let barista = operator.token("bench-barista", coffee_domain::StaffRole::Barista)?;
    // Enough customers that each stays well under the server's per-session rate limit (50
    // requests a second by default) at any rate this machine reaches.
    let count = args.concurrency.clamp(256, 1000);
    let customers = match customer_sessions(&client, base, count).await? {
        Some(sessions) => sessions,
        // Services without a gateway: no identity service to ask, so the bench signs its
        // customers' sessions with the system's key, as the identity service would.
        None => (0..count).map(|n| operator.customer_token(&format!("Bench {n}"))).collect::<anyhow::Result<_>>()?,
    };
    Ok(Shared {
        feed: Feed::default(),
        customers,
        barista,
        client,
        order: service(&args.order_url),
        payment: service(&args.payment_url),
        fulfilment: service(&args.fulfilment_url),
        measuring: false.into(),
        completed: 0.into(),
        errors: 0.into(),
        samples: Mutex::new(Samples::default()),
        next_customer: 0.into(),
    })
}

/// A progress line a second while measuring.
async fn print_progress(shared: &Shared, started: Instant, duration: Duration) {
    let mut last = 0;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    while started.elapsed() < duration {
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
        Ok(times) if measuring => {
            shared.completed.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut s) = shared.samples.lock() {
                s.to_fulfilment.push(times.to_fulfilment.as_micros() as u64);
                s.to_completed.push(times.to_completed.as_micros() as u64);
                for (i, step) in times.steps.iter().enumerate() {
                    s.steps[i].push(step.as_micros() as u64);
                }
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

/// One session per customer the bench plays, started as the web app starts them; None when
/// `base` starts no sessions (a service without the gateway). The server limits how fast one
/// address starts sessions: a 429 is waited out as its Retry-After says.
async fn customer_sessions(client: &reqwest::Client, base: &str, count: u32) -> anyhow::Result<Option<Vec<String>>> {
    let mut tokens = Vec::with_capacity(count as usize);
    let mut n = 0;
    while n < count {
        let url = format!("{base}/api/session");
        let answer = client.post(&url).json(&json!({"customerName": format!("Bench {n}")})).send().await;
        let answer = answer.with_context(|| format!("cannot start a customer session at {url}"))?;
        if answer.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let wait = answer
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                .unwrap_or(1);
            tokio::time::sleep(Duration::from_secs(wait.min(10))).await;
            continue;
        }
        if n == 0 && answer.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        n += 1;
        if !answer.status().is_success() {
            bail!("{url} answered {}: {}", answer.status(), answer.text().await.unwrap_or_default());
        }
        let session: Value = answer.json().await.context("the session's answer")?;
        tokens.push(session["token"].as_str().unwrap_or_default().to_owned());
    }
    Ok(Some(tokens))
}

async fn call(
    shared: &Shared,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let base = if path.starts_with("/api/payment") {
        &shared.payment
    } else if path.starts_with("/api/fulfilment") {
        &shared.fulfilment
    } else {
        &shared.order
    };
    let mut req = shared.client.request(method.clone(), format!("{base}{path}")).bearer_auth(token);
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

const FULFILMENT_CREATED: &str = "coffee.fulfilment.created";
const ORDER_COMPLETED: &str = "coffee.order.completed";
const FEED_PATTERN: &str = r#"{"type": ["coffee.fulfilment.created", "coffee.order.completed"]}"#;

/// Events from the live stream, matched to the sagas waiting for them. An event may come
/// before its saga starts waiting (the saga is still reading an HTTP answer): it is kept.
#[derive(Default)]
struct Feed {
    slots: Mutex<std::collections::HashMap<(String, &'static str), Slot>>,
}

enum Slot {
    Waiting(tokio::sync::oneshot::Sender<Value>),
    Arrived(Value),
}

impl Feed {
    fn arrive(&self, subject: String, kind: &'static str, data: Value) {
        let Ok(mut slots) = self.slots.lock() else { return };
        match slots.remove(&(subject.clone(), kind)) {
            Some(Slot::Waiting(tx)) => {
                let _ = tx.send(data);
            }
            _ => {
                slots.insert((subject, kind), Slot::Arrived(data));
            }
        }
    }

    async fn wait(&self, subject: &str, kind: &'static str) -> Result<Value, String> {
        let rx = {
            let mut slots = self.slots.lock().map_err(|_| "bench state poisoned".to_owned())?;
            if let Some(Slot::Arrived(data)) = slots.remove(&(subject.to_owned(), kind)) {
                return Ok(data);
            }
            let (tx, rx) = tokio::sync::oneshot::channel();
            slots.insert((subject.to_owned(), kind), Slot::Waiting(tx));
            rx
        };
        match tokio::time::timeout(Duration::from_secs(20), rx).await {
            Ok(Ok(data)) => Ok(data),
            _ => Err(format!("no {kind} event for order {subject} within 20 s")),
        }
    }
}

/// Opens the live event stream on a thread and runtime of its own: read by a task among
/// hundreds of saga tasks on the bench's runtime, events reached the feed tens of
/// milliseconds late under load (measured), which the latencies would have counted.
/// Dropping the returned guard stops the reader.
fn start_feed_reader(
    base: &str,
    token: String,
    shared: Arc<Shared>,
) -> anyhow::Result<tokio::sync::oneshot::Sender<()>> {
    let url = format!("{base}/api/events");
    let (opened_tx, opened_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("bench-feed".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = opened_tx.send(Err(e.to_string()));
                    return;
                }
            };
            runtime.block_on(async move {
                let request = reqwest::Client::new().get(&url).bearer_auth(&token).query(&[("pattern", FEED_PATTERN)]);
                let response = request.send().await;
                let response = match response {
                    Ok(r) if r.status().is_success() => r,
                    Ok(r) => {
                        let _ = opened_tx.send(Err(format!("{url} answered {}", r.status())));
                        return;
                    }
                    Err(e) => {
                        let _ = opened_tx.send(Err(format!("cannot open {url}: {e}")));
                        return;
                    }
                };
                let _ = opened_tx.send(Ok(()));
                tokio::select! {
                    _ = read_feed(response, shared) => {}
                    _ = stopped => {}
                }
            });
        })
        .context("cannot start the feed reader")?;
    match opened_rx.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(())) => Ok(stop),
        Ok(Err(e)) => bail!("the live event stream: {e}"),
        Err(_) => bail!("the live event stream did not open within 10 s"),
    }
}

/// Reads the Server-Sent Events stream and hands each event to the feed.
async fn read_feed(response: reqwest::Response, shared: Arc<Shared>) {
    use futures::StreamExt;
    let mut bytes = response.bytes_stream();
    let mut buffer = String::new();
    while let Some(Ok(chunk)) = bytes.next().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let message: String = buffer.drain(..end + 2).collect();
            let data: String = message
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim_start)
                .collect::<Vec<_>>()
                .join("\n");
            let Ok(envelope) = serde_json::from_str::<Value>(&data) else { continue };
            let kind = match envelope["type"].as_str() {
                Some(FULFILMENT_CREATED) => FULFILMENT_CREATED,
                Some(ORDER_COMPLETED) => ORDER_COMPLETED,
                _ => continue,
            };
            let subject = envelope["subject"].as_str().unwrap_or_default().to_owned();
            shared.feed.arrive(subject, kind, envelope["data"].clone());
        }
    }
}

fn text(v: &Value, key: &str) -> Result<String, String> {
    v[key].as_str().map(str::to_owned).ok_or_else(|| format!("answer has no {key}: {v}"))
}

struct SagaTimes {
    to_fulfilment: Duration,
    to_completed: Duration,
    steps: [Duration; 6],
}

async fn walk_saga(shared: &Shared, started: Instant) -> Result<SagaTimes, String> {
    use reqwest::Method;
    let mut steps = [Duration::ZERO; 6];
    let mut mark = Instant::now();
    let mut lap = |i: usize| {
        let now = Instant::now();
        steps[i] = now - mark;
        mark = now;
    };
    let n = shared.next_customer.fetch_add(1, Ordering::Relaxed);
    let coffee = ["1", "2", "3"][(n % 3) as usize];
    let customer = &shared.customers[(n as usize) % shared.customers.len()];
    let order = call(shared, customer, Method::POST, "/api/order", Some(json!({"coffeeId": coffee}))).await?;
    let order_id = text(&order, "orderId")?;
    lap(0);
    let payment = call(shared, customer, Method::POST, "/api/payment", Some(json!({"orderId": order_id}))).await?;
    lap(1);
    let payment_id = text(&payment, "paymentId")?;
    let paid = call(
        shared,
        customer,
        Method::POST,
        &format!("/api/payment/{payment_id}/confirm"),
        Some(json!({"cardNumber": "4242424242424242"})),
    )
    .await?;
    if paid["paymentStatus"] != "PAYMENT_SUCCESSFUL" {
        return Err(format!("payment did not succeed: {paid}"));
    }
    lap(2);
    let fulfilment = shared.feed.wait(&order_id, FULFILMENT_CREATED).await?;
    let to_fulfilment = started.elapsed();
    lap(3);
    let fulfilment_id = text(&fulfilment, "fulfilmentId")?;
    call(
        shared,
        &shared.barista,
        Method::PATCH,
        &format!("/api/fulfilment/{fulfilment_id}"),
        Some(json!({"status": "FULFILMENT_COMPLETED"})),
    )
    .await?;
    lap(4);
    shared.feed.wait(&order_id, ORDER_COMPLETED).await?;
    lap(5);
    Ok(SagaTimes { to_fulfilment, to_completed: started.elapsed(), steps })
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

impl crate::baseline::Report for SqliteBaselineReport {
    fn write_text(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "coffee bench --baseline sqlite: one writer, one row per committed transaction, WAL, synchronous={}",
            self.sync
        );
        let _ = writeln!(out, "  file: {}", self.path);
        let _ = writeln!(
            out,
            "  {} transactions in {:.1} s: {:.1}/s",
            self.transactions, self.seconds, self.transactions_per_second
        );
        let _ = writeln!(out, "  commit latency: {}", self.commit.text(3));
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

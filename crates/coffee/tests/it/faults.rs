//! Faults of every part, under load, in the distributed mode: a seeded, time-bounded suite.
//!
//! The test owns every part: a PostgreSQL cluster ([`PgCluster`]: `initdb` into a temporary
//! directory, crashed with `pg_ctl stop -m immediate`), a nats-server ([`NatsServer`], SIGKILLed)
//! and two replicas of each service (`coffee order|payment|fulfilment` processes, SIGKILLed and
//! started again). Customers walk sagas through every path (good card and the barista completes;
//! declined card; insufficient funds; cancelled before paying; cancelled after paying; the
//! barista rejects) against random replicas, while a fault task injects faults at seeded random
//! times. Baristas finish every open fulfilment no customer is walking. Every HTTP answer is
//! recorded. Then, with the faults stopped, the test waits (bounded) for every order to settle
//! and checks:
//!
//! - no answer was a 500, and every 503 carried `Retry-After`;
//! - every order ended completed, cancelled, or legitimately unpaid, and its order, payment, the
//!   provider's payment intent (no money kept without a coffee) and fulfilment agree;
//! - at most one fulfilment per order, and each event type at most once per order in each
//!   service's journal;
//! - no dead letters;
//! - during each PostgreSQL outage every replica's `/readyz` answered 503, and 200 again once
//!   PostgreSQL was back, without a restart; no replica exited by itself.
//!
//! All failures are reported together, with their evidence (routes, bodies, order ids and states,
//! the services' error log lines), after a summary line of the run's figures.
//!
//! Runs:
//!
//! - `cargo nextest run -p coffee --test it faults`: the short tier (CI): 45 s of load, 2 service
//!   kills, 1 nats-server kill, 1 PostgreSQL crash.
//! - `FAULTS_LONG=1 cargo nextest run -p coffee --test it faults`: the long tier: 300 s of load,
//!   12 service kills, 4 nats-server kills, 4 PostgreSQL crashes, and at least 1,000 orders.
//! - `FAULTS_SECONDS=600 cargo nextest run -p coffee --test it faults`: that much load, faults in
//!   proportion (one service kill per 25 s, one nats-server kill and one PostgreSQL crash per 75 s).
//! - `FAULTS_SEED=<seed>`: every run prints its seed; this replays its choices: each customer's
//!   sequence of walks (path, card, coffee) and the faults (kinds, times, targets, how long each
//!   part stays down). Which replica serves each request, how many walks each customer gets
//!   through and the interleaving of the real processes still vary with timing.
//!
//! When a check fails, the logs of every process and PostgreSQL's are kept in
//! `target/tmp/faults-<seed>-<time>/` (the path is printed); after a pass they are removed.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use coffee_testkit::{NatsServer, PgCluster};
use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{DECLINED_CARD, GOOD_CARD, NO_FUNDS_CARD, WEBHOOK_SECRET};

// ---------------------------------------------------------------------------------------------
// The seeded random numbers.

/// SplitMix64: small, and the sequence of a seed never changes with a dependency's version, so a
/// printed seed replays the same choices for good.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    /// The generator of one `stream` (one customer, the fault task, ...) of a run's seed.
    fn new(seed: u64, stream: u64) -> Self {
        let mut rng = Rng(seed ^ stream.wrapping_add(1).wrapping_mul(0xA076_1D64_78BD_642F));
        rng.next();
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi.saturating_sub(lo) + 1))
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.index(i + 1));
        }
    }
}

/// `$FAULTS_SEED` (decimal, or hex with 0x), else a fresh one.
fn seed() -> u64 {
    match std::env::var("FAULTS_SEED") {
        Ok(text) => {
            let text = text.trim();
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).map_err(|e| e.to_string()),
                None => text.parse::<u64>().map_err(|e| e.to_string()),
            };
            parsed.unwrap_or_else(|e| panic!("FAULTS_SEED={text} is not a number: {e}"))
        }
        Err(_) => {
            let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
            // Short enough to type.
            Rng::new(nanos, u64::from(std::process::id())).next() % 1_000_000_000
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The tiers.

struct Tier {
    name: &'static str,
    load: Duration,
    customers: usize,
    service_kills: usize,
    nats_kills: usize,
    postgres_stops: usize,
    /// Orders the load must place; the load goes on (bounded) until it has.
    min_orders: usize,
    /// The longest wait for every order to settle once the faults stop.
    settle: Duration,
}

impl Tier {
    fn from_env() -> Self {
        let seconds = std::env::var("FAULTS_SECONDS").ok().map(|s| {
            s.trim().parse::<u64>().unwrap_or_else(|e| panic!("FAULTS_SECONDS={s} is not a number of seconds: {e}"))
        });
        let long = std::env::var("FAULTS_LONG").is_ok_and(|v| !v.is_empty() && v != "0");
        if seconds.is_none() && !long {
            return Tier {
                name: "short",
                load: Duration::from_secs(45),
                customers: 8,
                service_kills: 2,
                nats_kills: 1,
                postgres_stops: 1,
                min_orders: 100,
                settle: Duration::from_secs(60),
            };
        }
        let s = seconds.unwrap_or(300).max(45);
        Tier {
            name: if seconds.is_some() { "FAULTS_SECONDS" } else { "long" },
            load: Duration::from_secs(s),
            customers: 8,
            service_kills: (s / 25).max(2) as usize,
            nats_kills: (s / 75).max(1) as usize,
            postgres_stops: (s / 75).max(1) as usize,
            // 1,000 in the 300 s of FAULTS_LONG, in proportion otherwise.
            min_orders: (s * 1000 / 300) as usize,
            settle: Duration::from_secs(120),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The processes.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Service {
    Order,
    Payment,
    Fulfilment,
}

impl Service {
    const ALL: [Service; 3] = [Service::Order, Service::Payment, Service::Fulfilment];

    fn name(self) -> &'static str {
        match self {
            Service::Order => "order",
            Service::Payment => "payment",
            Service::Fulfilment => "fulfilment",
        }
    }
}

const REPLICAS: usize = 2;

/// Where each replica listens now; a replica that is down is not listed. Clients pick a random
/// listed replica, as a load balancer with health checks would.
#[derive(Default)]
struct Directory(RwLock<BTreeMap<(Service, usize), String>>);

impl Directory {
    fn set(&self, service: Service, index: usize, url: Option<String>) {
        let mut map = self.0.write().expect("directory lock");
        match url {
            Some(url) => map.insert((service, index), url),
            None => map.remove(&(service, index)),
        };
    }

    fn pick(&self, service: Service, rng: &mut Rng) -> Option<String> {
        let map = self.0.read().expect("directory lock");
        let up: Vec<&String> = map.iter().filter(|((s, _), _)| *s == service).map(|(_, url)| url).collect();
        if up.is_empty() { None } else { Some(up[rng.index(up.len())].clone()) }
    }

    fn all(&self) -> Vec<((Service, usize), String)> {
        self.0.read().expect("directory lock").iter().map(|(k, v)| (*k, v.clone())).collect()
    }
}

struct Replica {
    service: Service,
    index: usize,
    generation: usize,
    child: tokio::process::Child,
    /// It could not be started again (recorded as a failure); nobody watches it any more.
    abandoned: bool,
}

impl Replica {
    fn name(&self) -> String {
        format!("{}-{}", self.service.name(), self.index)
    }
}

/// Everything the test runs. Fields drop in order: the services first, PostgreSQL last.
struct Lab {
    replicas: Vec<Replica>,
    nats: NatsServer,
    pg: PgCluster,
    database: String,
    directory: Arc<Directory>,
    logs: PathBuf,
    start: Instant,
    /// Service kills so far.
    service_kills: usize,
}

impl Lab {
    fn log_of(&self, service: Service, index: usize) -> PathBuf {
        self.logs.join(format!("{}-{index}.log", service.name()))
    }

    fn args(&self, service: Service) -> Vec<String> {
        [
            service.name(),
            "--listen",
            "127.0.0.1:0",
            "--bus",
            &self.nats.url(),
            "--database",
            &self.database,
            "--ack-wait-ms",
            "2000",
            "--retry-backoff-ms",
            "50",
            "--auth-key",
            coffee_testkit::AUTH_KEY,
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// Starts one replica and lists it in the directory.
    async fn spawn(&self, service: Service, index: usize, generation: usize) -> Result<Replica, String> {
        let log = self.log_of(service, index);
        let marker = format!("=== {} generation {generation} starts at {:+.1} s\n", service.name(), secs(self.start));
        append(&log, &marker);
        let (child, url) = spawn_process(&self.args(service), &log).await?;
        self.directory.set(service, index, Some(url));
        Ok(Replica { service, index, generation, child, abandoned: false })
    }

    /// Two replicas of each service, started together (their migrations take turns).
    async fn start_all(&mut self) {
        let starts = Service::ALL.iter().flat_map(|s| (0..REPLICAS).map(move |i| (*s, i)));
        let started = futures::future::join_all(starts.map(|(s, i)| self.spawn(s, i, 0))).await;
        for replica in started {
            self.replicas.push(replica.unwrap_or_else(|e| panic!("a service did not start: {e}")));
        }
    }

    fn position(&self, service: Service, index: usize) -> usize {
        self.replicas.iter().position(|r| r.service == service && r.index == index).expect("every replica is known")
    }

    /// Starts a replica again after it died, trying a few times; failures are recorded.
    async fn restart(&mut self, service: Service, index: usize, report: &mut FaultReport) {
        let at = self.position(service, index);
        let generation = self.replicas[at].generation + 1;
        for attempt in 1..=3 {
            match self.spawn(service, index, generation).await {
                Ok(replica) => {
                    self.replicas[at] = replica;
                    return;
                }
                Err(e) => report.failures.push(format!(
                    "{}-{index} did not start again (attempt {attempt}) at {:+.1} s: {e}",
                    service.name(),
                    secs(self.start)
                )),
            }
        }
        self.replicas[at].abandoned = true;
    }

    /// Replicas that exited although nobody killed them: recorded, and started again.
    async fn check_exits(&mut self, report: &mut FaultReport) {
        let mut exited = Vec::new();
        for r in self.replicas.iter_mut().filter(|r| !r.abandoned) {
            if let Ok(Some(status)) = r.child.try_wait() {
                exited.push((r.service, r.index, r.generation, status));
            }
        }
        for (service, index, generation, status) in exited {
            self.directory.set(service, index, None);
            let log = self.log_of(service, index);
            report.failures.push(format!(
                "{}-{index} (generation {generation}) exited by itself ({status}) by {:+.1} s; last lines of {}:\n{}",
                service.name(),
                secs(self.start),
                log.display(),
                indent(&tail(&log, 12))
            ));
            self.restart(service, index, report).await;
        }
    }
}

/// Starts `coffee <args>` and waits until it says where it listens.
async fn spawn_process(args: &[String], log: &Path) -> Result<(tokio::process::Child, String), String> {
    use tokio::io::AsyncBufReadExt;
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("log file {}: {e}", log.display()))?;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_coffee"))
        .args(args)
        .env("RUST_LOG", "info,sqlx=warn")
        .env("NO_COLOR", "1")
        .env("COFFEE_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .stdout(std::process::Stdio::piped())
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start coffee {args:?}: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let listening = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("coffee listening on ") {
                return Some(url.trim().to_owned());
            }
        }
        None
    })
    .await;
    match listening {
        Ok(Some(url)) => {
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            Ok((child, url))
        }
        Ok(None) => Err(format!("coffee {args:?} exited before listening; see {}", log.display())),
        Err(_) => Err(format!("coffee {args:?} did not listen within 60 s; see {}", log.display())),
    }
}

// ---------------------------------------------------------------------------------------------
// What the clients saw.

/// One answer kept as evidence.
struct Sample {
    at: f64,
    route: &'static str,
    url: String,
    status: u16,
    body: String,
}

struct FaultRecord {
    kind: FaultKind,
    target: String,
    from: f64,
    to: f64,
}

/// Every request the customers and baristas made, and what came back.
struct Journal {
    start: Instant,
    requests: AtomicUsize,
    answers: Mutex<BTreeMap<(&'static str, u16), usize>>,
    /// Requests that got no HTTP answer (connection refused or cut, timeout), by route.
    no_answer: Mutex<BTreeMap<&'static str, usize>>,
    internal_errors: Mutex<Vec<Sample>>,
    without_retry_after: Mutex<Vec<Sample>>,
    /// 503s without Retry-After, all of them (the samples stop at [`SAMPLES`]).
    bare_503s: AtomicUsize,
    faults: Mutex<Vec<FaultRecord>>,
}

/// Samples kept of each kind of bad answer (all are counted).
const SAMPLES: usize = 2000;

impl Journal {
    fn new(start: Instant) -> Self {
        Self {
            start,
            requests: AtomicUsize::new(0),
            answers: Mutex::default(),
            no_answer: Mutex::default(),
            internal_errors: Mutex::default(),
            without_retry_after: Mutex::default(),
            bare_503s: AtomicUsize::new(0),
            faults: Mutex::default(),
        }
    }

    fn answer(&self, route: &'static str, url: &str, status: u16, retry_after: bool, body: &str) {
        *self.answers.lock().expect("journal lock").entry((route, status)).or_default() += 1;
        let sample = || Sample {
            at: secs(self.start),
            route,
            url: url.to_owned(),
            status,
            body: body.chars().take(300).collect(),
        };
        if status == 500 {
            let mut kept = self.internal_errors.lock().expect("journal lock");
            if kept.len() < SAMPLES {
                kept.push(sample());
            }
        }
        if status == 503 && !retry_after {
            self.bare_503s.fetch_add(1, Ordering::Relaxed);
            let mut kept = self.without_retry_after.lock().expect("journal lock");
            if kept.len() < SAMPLES {
                kept.push(sample());
            }
        }
    }

    fn count(&self, status: u16) -> usize {
        self.answers.lock().expect("journal lock").iter().filter(|((_, s), _)| *s == status).map(|(_, n)| n).sum()
    }

    /// The fault under way at `at` (seconds since the start), or the last one before it.
    fn fault_at(&self, at: f64) -> String {
        let faults = self.faults.lock().expect("journal lock");
        if let Some(f) = faults.iter().find(|f| f.from <= at && at <= f.to) {
            return format!("during {} of {} ({:+.1}..{:+.1} s)", f.kind.name(), f.target, f.from, f.to);
        }
        match faults.iter().rev().find(|f| f.to < at) {
            Some(f) => format!("{:.1} s after {} of {} ended", at - f.to, f.kind.name(), f.target),
            None => "before any fault".to_owned(),
        }
    }
}

struct Reply {
    status: u16,
    body: Value,
}

/// The customers' and baristas' HTTP client: every answer goes in the journal.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    journal: Arc<Journal>,
    directory: Arc<Directory>,
}

impl Client {
    async fn once(
        &self,
        method: Method,
        url: &str,
        route: &'static str,
        body: Option<&Value>,
    ) -> Result<Reply, String> {
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(b);
        }
        self.journal.requests.fetch_add(1, Ordering::Relaxed);
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) => {
                *self.journal.no_answer.lock().expect("journal lock").entry(route).or_default() += 1;
                return Err(e.to_string());
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp.headers().contains_key(reqwest::header::RETRY_AFTER);
        let text = resp.text().await.unwrap_or_else(|e| format!("(the body could not be read: {e})"));
        self.journal.answer(route, url, status, retry_after, &text);
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Ok(Reply { status, body })
    }

    /// A request (`route` names its method and path) to a random replica of `service`, sent again (to a random replica) while it
    /// gets no answer or a 5xx, for up to `within`. `None`: it never got another answer.
    async fn call(
        &self,
        rng: &mut Rng,
        service: Service,
        path: &str,
        route: &'static str,
        body: Option<&Value>,
        within: Duration,
    ) -> Option<Reply> {
        let method = route.split(' ').next().and_then(|m| Method::from_bytes(m.as_bytes()).ok());
        let method = method.expect("a route starts with its method");
        let deadline = Instant::now() + within;
        let mut pause = Duration::from_millis(100);
        loop {
            if let Some(base) = self.directory.pick(service, rng)
                && let Ok(reply) = self.once(method.clone(), &format!("{base}{path}"), route, body).await
                && reply.status < 500
            {
                return Some(reply);
            }
            if Instant::now() + pause > deadline {
                return None;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Customers and baristas.

/// The paths through the saga a customer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Walk {
    PaidAndMade,
    Declined,
    NoFunds,
    CancelledBeforePaying,
    CancelledAfterPaying,
    RejectedByBarista,
}

impl Walk {
    fn choose(rng: &mut Rng) -> Self {
        match rng.below(100) {
            0..40 => Walk::PaidAndMade,
            40..52 => Walk::Declined,
            52..64 => Walk::NoFunds,
            64..76 => Walk::CancelledBeforePaying,
            76..88 => Walk::CancelledAfterPaying,
            _ => Walk::RejectedByBarista,
        }
    }
}

/// The longest a customer keeps trying one step.
const STEP: Duration = Duration::from_secs(30);

/// The orders placed, and those a customer is still walking (baristas leave those alone).
struct Orders {
    start: Instant,
    placed: Mutex<Vec<(String, Walk)>>,
    walking: Mutex<HashSet<String>>,
    /// How each walk went, by path and outcome.
    walked: Mutex<BTreeMap<(Walk, &'static str), usize>>,
    /// What the customer and the baristas did about each order, and when: evidence.
    trace: Mutex<std::collections::HashMap<String, Vec<String>>>,
}

impl Orders {
    fn new(start: Instant) -> Self {
        Self {
            start,
            placed: Mutex::default(),
            walking: Mutex::default(),
            walked: Mutex::default(),
            trace: Mutex::default(),
        }
    }

    fn placed_count(&self) -> usize {
        self.placed.lock().expect("orders lock").len()
    }

    fn note(&self, order_id: &str, what: impl std::fmt::Display) {
        let line = format!("{:+.3} s {what}", secs(self.start));
        self.trace.lock().expect("orders lock").entry(order_id.to_owned()).or_default().push(line);
    }

    fn trace_of(&self, order_id: &str) -> Vec<String> {
        self.trace.lock().expect("orders lock").get(order_id).cloned().unwrap_or_default()
    }
}

/// A customer's decisions, taken three per walk whatever happens, so that a seed replays each
/// customer's sequence of walks exactly.
struct Decision {
    walk: Walk,
    coffee: &'static str,
    /// When cancelling before paying: open a payment intent first.
    pay_first: bool,
}

/// A customer walking sagas until stopped. `choices` decides the walks; `routing` picks the
/// replicas (its use depends on retries, so on timing, and is kept apart).
async fn customer(
    n: usize,
    mut choices: Rng,
    mut routing: Rng,
    client: Client,
    orders: Arc<Orders>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let decision = Decision {
            walk: Walk::choose(&mut choices),
            coffee: ["1", "2", "3"][choices.index(3)],
            pay_first: choices.percent(50),
        };
        let outcome = place_and_walk(n, &decision, &mut routing, &client, &orders).await;
        *orders.walked.lock().expect("orders lock").entry((decision.walk, outcome)).or_default() += 1;
    }
}

async fn place_and_walk(n: usize, d: &Decision, rng: &mut Rng, client: &Client, orders: &Orders) -> &'static str {
    let (walk, coffee) = (d.walk, d.coffee);
    let body = json!({"coffeeId": coffee, "customerId": format!("faults-{n}"), "customerName": "Faye"});
    let Some(placed) = client.call(rng, Service::Order, "/api/order", "POST /api/order", Some(&body), STEP).await
    else {
        return "could not place the order";
    };
    let Some(order_id) = placed.body["orderId"].as_str().filter(|_| placed.status == 201).map(str::to_owned) else {
        return "the order was refused";
    };
    orders.walking.lock().expect("orders lock").insert(order_id.clone());
    orders.placed.lock().expect("orders lock").push((order_id.clone(), walk));
    orders.note(&order_id, format_args!("customer faults-{n} placed it, to walk {walk:?}"));
    let outcome = walk_order(walk, d.pay_first, &order_id, rng, client, orders).await;
    orders.note(&order_id, format_args!("the customer is done with it: {outcome}"));
    orders.walking.lock().expect("orders lock").remove(&order_id);
    outcome
}

async fn walk_order(
    walk: Walk,
    pay_first: bool,
    order_id: &str,
    rng: &mut Rng,
    client: &Client,
    orders: &Orders,
) -> &'static str {
    if walk == Walk::CancelledBeforePaying {
        // Half the time with a payment intent open, which the cancellation must cancel.
        if pay_first {
            let created = create_payment(client, rng, order_id).await;
            orders.note(order_id, format_args!("payment created first: {created:?}"));
        }
        return cancel(client, rng, order_id, orders).await;
    }
    let created = create_payment(client, rng, order_id).await;
    orders.note(order_id, format_args!("payment created: {created:?}"));
    let Some(payment_id) = created else { return "no payment to pay" };
    let card = match walk {
        Walk::Declined => DECLINED_CARD,
        Walk::NoFunds => NO_FUNDS_CARD,
        _ => GOOD_CARD,
    };
    let confirmed = confirm(client, rng, &payment_id, card).await;
    orders.note(order_id, format_args!("card {card} on the card form: {confirmed:?}"));
    let Some(status) = confirmed else { return "the card form failed" };
    match walk {
        // Declined: the payment waits for another card, and the order stays open.
        Walk::Declined | Walk::NoFunds if status == "PAYMENT_CREATED" => "walked",
        Walk::Declined | Walk::NoFunds => "the bad card was not refused",
        _ if status != "PAYMENT_SUCCESSFUL" => "the good card did not pay",
        Walk::CancelledAfterPaying => cancel(client, rng, order_id, orders).await,
        _ => {
            let found = fulfilment_of(client, rng, order_id).await;
            orders.note(order_id, format_args!("fulfilment seen: {found:?}"));
            let Some(fulfilment_id) = found else {
                return "no fulfilment appeared";
            };
            let body = if walk == Walk::PaidAndMade {
                json!({"status": "FULFILMENT_COMPLETED"})
            } else {
                json!({"status": "FULFILMENT_REJECTED", "note": "out of oat milk"})
            };
            let path = format!("/api/fulfilment/{fulfilment_id}");
            let route = "PATCH /api/fulfilment/:id";
            let answer = client.call(rng, Service::Fulfilment, &path, route, Some(&body), STEP).await;
            orders.note(order_id, format_args!("the barista: {} → {}", body["status"], answered(&answer)));
            // A 409: an earlier attempt went through before its connection died.
            step_outcome(
                &answer,
                ["the barista's step was refused (409)", "the barista's step was refused", "the barista's step failed"],
            )
        }
    }
}

/// Creates the order's payment (an intent at the provider); its id.
async fn create_payment(client: &Client, rng: &mut Rng, order_id: &str) -> Option<String> {
    let deadline = Instant::now() + STEP;
    let body = json!({"orderId": order_id});
    loop {
        let within = deadline.saturating_duration_since(Instant::now());
        let reply =
            client.call(rng, Service::Payment, "/api/payment", "POST /api/payment", Some(&body), within).await?;
        match reply.status {
            201 => return reply.body["paymentId"].as_str().map(str::to_owned),
            // The order's event has not reached the payment service yet (it waited 3 s).
            404 if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            _ => return None,
        }
    }
}

/// Pays on the provider's card form; the payment's status after.
async fn confirm(client: &Client, rng: &mut Rng, payment_id: &str, card: &str) -> Option<String> {
    let path = format!("/api/payment/{payment_id}/confirm");
    let body = json!({"cardNumber": card});
    let reply = client.call(rng, Service::Payment, &path, "POST /api/payment/:id/confirm", Some(&body), STEP).await?;
    match reply.status {
        200 => reply.body["paymentStatus"].as_str().map(str::to_owned),
        // An earlier attempt went through before its answer was lost: where does it stand?
        409 => {
            let path = format!("/api/payment/{payment_id}");
            let now = client.call(rng, Service::Payment, &path, "GET /api/payment/:id", None, STEP).await?;
            now.body["paymentStatus"].as_str().filter(|_| now.status == 200).map(str::to_owned)
        }
        _ => None,
    }
}

async fn cancel(client: &Client, rng: &mut Rng, order_id: &str, orders: &Orders) -> &'static str {
    let path = format!("/api/order/{order_id}");
    let body = json!({"status": "ORDER_CANCELLED", "note": "changed my mind"});
    let answer = client.call(rng, Service::Order, &path, "PATCH /api/order/:id", Some(&body), STEP).await;
    orders.note(order_id, format_args!("the customer cancels → {}", answered(&answer)));
    step_outcome(
        &answer,
        ["the cancellation was refused (409)", "the cancellation was refused", "the cancellation failed"],
    )
}

/// How a step of a walk went: "walked", or `[refused with 409, refused otherwise, no answer]`.
fn step_outcome(answer: &Option<Reply>, not_walked: [&'static str; 3]) -> &'static str {
    match answer {
        Some(r) if r.status == 200 => "walked",
        Some(r) if r.status == 409 => not_walked[0],
        Some(_) => not_walked[1],
        None => not_walked[2],
    }
}

/// Waits (up to a step's time) for the order's fulfilment to appear; its id.
async fn fulfilment_of(client: &Client, rng: &mut Rng, order_id: &str) -> Option<String> {
    let deadline = Instant::now() + STEP;
    let path = format!("/api/fulfilment?orderId={order_id}");
    loop {
        let within = deadline.saturating_duration_since(Instant::now());
        let reply = client.call(rng, Service::Fulfilment, &path, "GET /api/fulfilment?orderId=", None, within).await?;
        if let Some(id) = reply.body.as_array().and_then(|a| a.first()).and_then(|f| f["fulfilmentId"].as_str()) {
            return Some(id.to_owned());
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How long a barista takes to make a coffee: a fulfilment younger than this is not finished
/// yet. (Baristas who complete a coffee the instant it is ordered would race every
/// cancellation; real ones take a moment, and a cancellation normally reaches them in
/// milliseconds. Under faults it may take longer, and then the race is the product's to settle.)
const MAKING: Duration = Duration::from_secs(2);

/// Completes every open fulfilment whose order no customer is walking, once its coffee is made,
/// until stopped. Returns how many it completed.
async fn baristas(mut rng: Rng, client: Client, orders: Arc<Orders>, stop: Arc<AtomicBool>) -> usize {
    let mut completed = 0;
    let open = "/api/fulfilment?status=FULFILMENT_CREATED&limit=5000";
    while !stop.load(Ordering::Relaxed) {
        let within = Duration::from_secs(5);
        let listed =
            client.call(&mut rng, Service::Fulfilment, open, "GET /api/fulfilment?status=", None, within).await;
        let made_before = jiff::Timestamp::now().as_millisecond() - MAKING.as_millis() as i64;
        let queue: Vec<(String, String)> = listed
            .filter(|r| r.status == 200)
            .and_then(|r| r.body.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter(|f| f["createdAt"].as_i64().is_none_or(|created| created <= made_before))
            .filter_map(|f| Some((f["fulfilmentId"].as_str()?.to_owned(), f["orderId"].as_str()?.to_owned())))
            .collect();
        for (fulfilment_id, order_id) in queue {
            if stop.load(Ordering::Relaxed) || orders.walking.lock().expect("orders lock").contains(&order_id) {
                continue;
            }
            let path = format!("/api/fulfilment/{fulfilment_id}");
            let body = json!({"status": "FULFILMENT_COMPLETED"});
            let route = "PATCH /api/fulfilment/:id";
            let within = Duration::from_secs(10);
            let answer = client.call(&mut rng, Service::Fulfilment, &path, route, Some(&body), within).await;
            orders.note(&order_id, format_args!("a sweeping barista completes it → {}", answered(&answer)));
            if answer.is_some_and(|r| r.status == 200) {
                completed += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    completed
}

// ---------------------------------------------------------------------------------------------
// Faults.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum FaultKind {
    ServiceKill,
    NatsKill,
    PostgresStop,
}

impl FaultKind {
    fn name(self) -> &'static str {
        match self {
            FaultKind::ServiceKill => "SIGKILL",
            FaultKind::NatsKill => "SIGKILL",
            FaultKind::PostgresStop => "pg_ctl stop -m immediate",
        }
    }
}

/// Each fault's kind and time (from the start of the load), spread over the load's middle.
fn plan(tier: &Tier, rng: &mut Rng) -> Vec<(Duration, FaultKind)> {
    let mut kinds: Vec<FaultKind> = std::iter::repeat_n(FaultKind::ServiceKill, tier.service_kills)
        .chain(std::iter::repeat_n(FaultKind::NatsKill, tier.nats_kills))
        .chain(std::iter::repeat_n(FaultKind::PostgresStop, tier.postgres_stops))
        .collect();
    rng.shuffle(&mut kinds);
    let first = Duration::from_secs(5);
    let window = tier.load.saturating_sub(Duration::from_secs(15)).max(Duration::from_secs(1));
    let slot = window / kinds.len().max(1) as u32;
    let slot_ms = slot.as_millis() as u64;
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| (first + slot * i as u32 + rng.millis(0, slot_ms / 2), kind))
        .collect()
}

/// One replica's `/readyz` during one PostgreSQL outage.
struct ReadyWatch {
    name: String,
    url: String,
    /// Answers to requests sent while PostgreSQL was down, by status ("no answer" when none
    /// came; "after the restart" when the answer came after PostgreSQL was back).
    while_down: BTreeMap<String, usize>,
    /// A request sent while PostgreSQL was down was answered 503.
    said_503: bool,
    /// The longest a 503 took to come, in seconds (reported, not asserted).
    slowest_503: f64,
    /// Seconds from PostgreSQL's restart until `/readyz` answered 200 again.
    recovered_after: Option<f64>,
}

struct Outage {
    at: f64,
    down_for: f64,
    watches: Vec<ReadyWatch>,
    /// Replicas that exited or were started again during the outage (should be none).
    restarted: Vec<String>,
}

#[derive(Default)]
struct FaultReport {
    injected: BTreeMap<FaultKind, usize>,
    outages: Vec<Outage>,
    failures: Vec<String>,
}

async fn inject(
    mut lab: Lab,
    plan: Vec<(Duration, FaultKind)>,
    mut rng: Rng,
    journal: Arc<Journal>,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
) -> (Lab, FaultReport) {
    let mut report = FaultReport::default();
    for (at, kind) in plan {
        while lab.start.elapsed() < at {
            lab.check_exits(&mut report).await;
            tokio::time::sleep(at.saturating_sub(lab.start.elapsed()).min(Duration::from_millis(200))).await;
        }
        lab.check_exits(&mut report).await;
        let from = secs(lab.start);
        let target = match kind {
            FaultKind::ServiceKill => kill_service(&mut lab, &mut rng, &mut report).await,
            FaultKind::NatsKill => {
                tokio::task::block_in_place(|| lab.nats.stop());
                tokio::time::sleep(rng.millis(1000, 4000)).await;
                tokio::task::block_in_place(|| lab.nats.resume());
                "nats-server".to_owned()
            }
            FaultKind::PostgresStop => {
                let outage = crash_postgres(&mut lab, &mut rng).await;
                report.outages.push(outage);
                "PostgreSQL".to_owned()
            }
        };
        *report.injected.entry(kind).or_default() += 1;
        let to = secs(lab.start);
        println!("faults: {:+.1} s: {} of {target}, back at {to:+.1} s", from, kind.name());
        journal.faults.lock().expect("journal lock").push(FaultRecord { kind, target, from, to });
    }
    done.store(true, Ordering::Relaxed);
    while !stop.load(Ordering::Relaxed) {
        lab.check_exits(&mut report).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    lab.check_exits(&mut report).await;
    (lab, report)
}

/// SIGKILLs a random replica, leaves it down a moment, starts it again.
async fn kill_service(lab: &mut Lab, rng: &mut Rng, report: &mut FaultReport) -> String {
    // The services take turns, order and payment first: even the short tier's two kills hit both
    // processes that relay an outbox. Which replica dies is the seed's choice.
    let service = Service::ALL[lab.service_kills % Service::ALL.len()];
    lab.service_kills += 1;
    let index = rng.index(REPLICAS);
    let at = lab.position(service, index);
    let replica = &mut lab.replicas[at];
    let name = format!("{} (generation {})", replica.name(), replica.generation);
    // tokio's kill is SIGKILL: the process gets no chance to finish anything.
    if let Err(e) = replica.child.kill().await {
        report.failures.push(format!("cannot SIGKILL {name}: {e}"));
    }
    lab.directory.set(service, index, None);
    tokio::time::sleep(rng.millis(200, 2000)).await;
    lab.restart(service, index, report).await;
    name
}

/// The phases of an outage, as the readiness watchers see them.
const DOWN: u8 = 0;
/// PostgreSQL is starting (a service may reconnect before `pg_ctl start` returns).
const RESTARTING: u8 = 1;
const BACK: u8 = 2;
const OVER: u8 = 3;

/// Crashes PostgreSQL and keeps it down a few seconds, until every replica's `/readyz` has
/// said 503 (bounded); starts it again and waits (bounded) for every `/readyz` to say 200.
async fn crash_postgres(lab: &mut Lab, rng: &mut Rng) -> Outage {
    let targets = lab.directory.all();
    let generations: Vec<(String, usize)> = lab.replicas.iter().map(|r| (r.name(), r.generation)).collect();
    let watches: Arc<Mutex<Vec<ReadyWatch>>> = Arc::new(Mutex::new(
        targets
            .iter()
            .map(|((s, i), url)| ReadyWatch {
                name: format!("{}-{i}", s.name()),
                url: url.clone(),
                while_down: BTreeMap::new(),
                said_503: false,
                slowest_503: 0.0,
                recovered_after: None,
            })
            .collect(),
    ));
    let phase = Arc::new(std::sync::atomic::AtomicU8::new(DOWN));
    let back_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let at = secs(lab.start);
    let down_since = Instant::now();
    tokio::task::block_in_place(|| lab.pg.stop_immediate());
    let watchers: Vec<_> = targets
        .iter()
        .enumerate()
        .map(|(n, (_, url))| {
            tokio::spawn(watch_readiness(watches.clone(), n, url.clone(), phase.clone(), back_at.clone()))
        })
        .collect();
    let at_least = rng.millis(3000, 5000);
    let all = |test: &dyn Fn(&ReadyWatch) -> bool| watches.lock().expect("watch lock").iter().all(test);
    let said_503 = |w: &ReadyWatch| w.said_503;
    while down_since.elapsed() < at_least || (!all(&said_503) && down_since.elapsed() < Duration::from_secs(30)) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let down_for = down_since.elapsed().as_secs_f64();
    phase.store(RESTARTING, Ordering::Relaxed);
    tokio::task::block_in_place(|| lab.pg.start());
    *back_at.lock().expect("watch lock") = Some(Instant::now());
    phase.store(BACK, Ordering::Relaxed);
    let back = Instant::now();
    while !all(&|w| w.recovered_after.is_some()) && back.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    phase.store(OVER, Ordering::Relaxed);
    for watcher in watchers {
        let _ = watcher.await;
    }
    let mut restarted = Vec::new();
    for (r, (name, generation)) in lab.replicas.iter_mut().zip(generations) {
        let exited = matches!(r.child.try_wait(), Ok(Some(_)));
        if exited || r.generation != generation {
            restarted.push(name);
        }
    }
    let watches = std::mem::take(&mut *watches.lock().expect("watch lock"));
    Outage { at, down_for, watches, restarted }
}

/// Polls one replica's `/readyz` until the outage is over. An answer may take long (the
/// service waits for its database), so each replica is polled on its own, and each request has
/// time enough for the service to answer.
async fn watch_readiness(
    watches: Arc<Mutex<Vec<ReadyWatch>>>,
    at: usize,
    url: String,
    phase: Arc<std::sync::atomic::AtomicU8>,
    back_at: Arc<Mutex<Option<Instant>>>,
) {
    let http = reqwest::Client::builder()
        .default_headers(coffee_testkit::bearer(&coffee_testkit::admin_token()))
        .timeout(Duration::from_secs(20))
        .build()
        .expect("an HTTP client");
    loop {
        let sent_in = phase.load(Ordering::Relaxed);
        if sent_in == OVER {
            return;
        }
        let sent = Instant::now();
        let answer = http.get(format!("{url}/readyz")).send().await.map(|r| r.status().as_u16()).ok();
        let took = sent.elapsed().as_secs_f64();
        let answered_in = phase.load(Ordering::Relaxed);
        let since_back = back_at.lock().expect("watch lock").map(|t| t.elapsed().as_secs_f64());
        if let Some(w) = watches.lock().expect("watch lock").get_mut(at) {
            if sent_in == DOWN {
                let mut key = answer.map_or("no answer".to_owned(), |s| s.to_string());
                if answered_in != DOWN {
                    key.push_str(" after the restart");
                }
                *w.while_down.entry(key).or_default() += 1;
                if answer == Some(503) {
                    w.said_503 = true;
                    w.slowest_503 = w.slowest_503.max(took);
                }
            } else if sent_in == BACK && answer == Some(200) && w.recovered_after.is_none() {
                w.recovered_after = since_back;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Where every order stands.

/// One order as the three services (and the provider) have it.
#[derive(Debug, Clone, Default)]
struct View {
    order: Option<String>,
    payment: Option<String>,
    /// The simulated provider's intent: `succeeded` means money taken and not refunded.
    intent: Option<String>,
    /// The statuses of every fulfilment of the order.
    fulfilments: Vec<String>,
}

impl std::fmt::Display for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let or_none = |s: &Option<String>| s.clone().unwrap_or_else(|| "none".to_owned());
        write!(
            f,
            "order {}, payment {}, intent {}, fulfilments [{}]",
            or_none(&self.order),
            or_none(&self.payment),
            or_none(&self.intent),
            self.fulfilments.join(", ")
        )
    }
}

/// What is wrong with an order's end state, if anything. ORDER_IN_PROGRESS with an open
/// fulfilment is allowed here (the barista has not acted); [`unsettled`] waits it out.
fn judge(v: &View) -> Option<&'static str> {
    if v.fulfilments.len() > 1 {
        return Some("more than one fulfilment");
    }
    let (payment, intent) = (v.payment.as_deref(), v.intent.as_deref());
    let fulfilment = v.fulfilments.first().map(String::as_str);
    if v.order.is_some() && payment.is_none() {
        return Some("the payment service does not know the order");
    }
    // The provider holds the customer's money.
    let captured = intent == Some("succeeded");
    match v.order.as_deref() {
        None => Some("the order is missing"),
        Some("ORDER_COMPLETED") if payment != Some("PAYMENT_SUCCESSFUL") => Some("completed, but not paid"),
        Some("ORDER_COMPLETED") if fulfilment != Some("FULFILMENT_COMPLETED") => {
            Some("completed, but its fulfilment is not")
        }
        Some("ORDER_COMPLETED") if !captured => Some("completed, but the provider holds no money for it"),
        Some("ORDER_COMPLETED") => None,
        Some("ORDER_CANCELLED") if payment == Some("PAYMENT_SUCCESSFUL") => {
            Some("cancelled, but its payment succeeded")
        }
        Some("ORDER_CANCELLED") if !matches!(payment, Some("PAYMENT_FAILED" | "PAYMENT_REFUNDED")) => {
            Some("cancelled, but its payment is neither failed nor refunded")
        }
        Some("ORDER_CANCELLED") if captured => Some("cancelled, but the money taken was not refunded"),
        Some("ORDER_CANCELLED") if payment == Some("PAYMENT_REFUNDED") && intent != Some("refunded") => {
            Some("refunded, but not at the provider")
        }
        // A customer's cancellation can race the barista's completion (each service decides on
        // what it knows): then the coffee was made and the money went back. An open fulfilment
        // for a cancelled order would be made for nobody.
        Some("ORDER_CANCELLED") if fulfilment == Some("FULFILMENT_CREATED") => {
            Some("cancelled, but its fulfilment is still open")
        }
        Some("ORDER_CANCELLED")
            if fulfilment == Some("FULFILMENT_COMPLETED") && payment != Some("PAYMENT_REFUNDED") =>
        {
            Some("cancelled and made, but not refunded")
        }
        Some("ORDER_CANCELLED") => None,
        Some("ORDER_CREATED") if !matches!(payment, Some("PAYMENT_PENDING" | "PAYMENT_CREATED")) => {
            Some("unpaid, but its payment is not pending or created")
        }
        Some("ORDER_CREATED") if matches!(intent, Some("succeeded" | "refunded")) => {
            Some("unpaid, but the provider captured money for it")
        }
        Some("ORDER_CREATED") if fulfilment.is_some() => Some("unpaid, but it has a fulfilment"),
        Some("ORDER_CREATED") => None,
        Some("ORDER_IN_PROGRESS") if payment != Some("PAYMENT_SUCCESSFUL") || !captured => {
            Some("in progress, but not paid")
        }
        Some("ORDER_IN_PROGRESS") if fulfilment != Some("FULFILMENT_CREATED") => {
            Some("in progress, but its fulfilment is not open")
        }
        Some("ORDER_IN_PROGRESS") => None,
        Some(_) => Some("an unknown order status"),
    }
}

/// Orders not settled yet: wrong per [`judge`], or still in progress (a barista has yet to
/// act), or an open fulfilment.
fn unsettled(views: &BTreeMap<String, View>) -> Vec<(&String, &'static str)> {
    views
        .iter()
        .filter_map(|(id, v)| {
            judge(v)
                .or_else(|| (v.order.as_deref() == Some("ORDER_IN_PROGRESS")).then_some("still in progress"))
                .or_else(|| v.fulfilments.iter().any(|f| f == "FULFILMENT_CREATED").then_some("an open fulfilment"))
                .map(|why| (id, why))
        })
        .collect()
}

/// Whether nothing about an order can change any more: the order, its payment, the intent and
/// every fulfilment are in statuses with no step out. Waiting longer for such an order to
/// settle is pointless.
fn frozen(v: &View) -> bool {
    matches!(v.order.as_deref(), Some("ORDER_COMPLETED" | "ORDER_CANCELLED"))
        && v.payment.as_deref() == Some("PAYMENT_REFUNDED")
        && v.intent.as_deref() == Some("refunded")
        && v.fulfilments.iter().all(|f| f == "FULFILMENT_COMPLETED" || f == "FULFILMENT_REJECTED")
}

/// Every order the services know of (and every order placed), read through the lists of each
/// day involved, the ones missing from those one by one, and the provider's intents straight
/// from its table.
async fn snapshot(
    client: &Client,
    rng: &mut Rng,
    placed: &[String],
    days: &BTreeSet<String>,
    db: &sqlx::PgPool,
) -> Result<BTreeMap<String, View>, String> {
    let mut views: BTreeMap<String, View> = placed.iter().map(|id| (id.clone(), View::default())).collect();
    let within = Duration::from_secs(10);
    let list = |service: Service, path: String, route: &'static str, rng: &mut Rng| {
        let client = client.clone();
        let mut rng = rng.clone();
        async move {
            match client.call(&mut rng, service, &path, route, None, within).await {
                Some(r) if r.status == 200 => r.body.as_array().cloned().ok_or(format!("{path}: not a list")),
                Some(r) => Err(format!("{path}: {} {}", r.status, r.body)),
                None => Err(format!("{path}: no answer")),
            }
        }
    };
    let text = |v: &Value, key: &str| v[key].as_str().map(str::to_owned);
    for day in days {
        rng.next();
        let orders = list(Service::Order, format!("/api/order?date={day}&limit=5000"), "GET /api/order?date=", rng);
        let payments =
            list(Service::Payment, format!("/api/payment?date={day}&limit=5000"), "GET /api/payment?date=", rng);
        let fulfilments = list(
            Service::Fulfilment,
            format!("/api/fulfilment?date={day}&limit=5000"),
            "GET /api/fulfilment?date=",
            rng,
        );
        let (orders, payments, fulfilments) = futures::join!(orders, payments, fulfilments);
        for o in orders? {
            if let Some(id) = text(&o, "orderId") {
                views.entry(id).or_default().order = text(&o, "orderStatus");
            }
        }
        for p in payments? {
            if let Some(id) = text(&p, "orderId") {
                views.entry(id).or_default().payment = text(&p, "paymentStatus");
            }
        }
        for f in fulfilments? {
            if let (Some(id), Some(status)) = (text(&f, "orderId"), text(&f, "fulfilmentStatus")) {
                views.entry(id).or_default().fulfilments.push(status);
            }
        }
    }
    // Beyond a list's limit, or on another day: one by one.
    let missing: Vec<String> =
        views.iter().filter(|(_, v)| v.order.is_none() || v.payment.is_none()).map(|(id, _)| id.clone()).collect();
    for (id, found) in look_up_all(client, rng, missing).await? {
        let view = views.entry(id).or_default();
        view.order = view.order.take().or(found.order);
        view.payment = view.payment.take().or(found.payment);
        if view.fulfilments.is_empty() {
            view.fulfilments = found.fulfilments;
        }
    }
    read_intents(db, &mut views).await?;
    Ok(views)
}

/// Reads `ids` again one by one (order, payment, fulfilment), and every intent.
async fn refresh(
    client: &Client,
    rng: &mut Rng,
    views: &mut BTreeMap<String, View>,
    ids: Vec<String>,
    db: &sqlx::PgPool,
) -> Result<(), String> {
    for (id, found) in look_up_all(client, rng, ids).await? {
        views.insert(id, found);
    }
    read_intents(db, views).await
}

/// The provider's intents, straight from its table (no API lists them).
async fn read_intents(db: &sqlx::PgPool, views: &mut BTreeMap<String, View>) -> Result<(), String> {
    let intents: Vec<(String, String)> =
        sqlx::query_as("SELECT order_id, status FROM coffee_payment.simulated_payment_intents")
            .fetch_all(db)
            .await
            .map_err(|e| format!("reading the provider's intents: {e}"))?;
    for (order_id, status) in intents {
        views.entry(order_id).or_default().intent = Some(status);
    }
    Ok(())
}

async fn look_up_all(client: &Client, rng: &mut Rng, ids: Vec<String>) -> Result<Vec<(String, View)>, String> {
    let base = rng.next();
    futures::stream::iter(ids.into_iter().enumerate())
        .map(|(n, id)| look_up(client, Rng::new(base, n as u64), id))
        .buffer_unordered(12)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// One order read one by one: its order, its payment, its fulfilment (`?orderId=`).
async fn look_up(client: &Client, mut rng: Rng, id: String) -> Result<(String, View), String> {
    let within = Duration::from_secs(10);
    let text = |v: &Value, key: &str| v[key].as_str().map(str::to_owned);
    let failed = |path: &str, r: Option<Reply>| {
        format!("{path}: {}", r.map_or("no answer".to_owned(), |r| format!("{} {}", r.status, r.body)))
    };
    let path = format!("/api/order/{id}");
    let order = match client.call(&mut rng, Service::Order, &path, "GET /api/order/:id", None, within).await {
        Some(r) if r.status == 200 => text(&r.body, "orderStatus"),
        Some(r) if r.status == 404 => None,
        other => return Err(failed(&path, other)),
    };
    let path = format!("/api/payment?orderId={id}");
    let route = "GET /api/payment?orderId=";
    let payment = match client.call(&mut rng, Service::Payment, &path, route, None, within).await {
        Some(r) if r.status == 200 => r.body.as_array().and_then(|a| a.first()).and_then(|p| text(p, "paymentStatus")),
        other => return Err(failed(&path, other)),
    };
    let path = format!("/api/fulfilment?orderId={id}");
    let route = "GET /api/fulfilment?orderId=";
    let fulfilments = match client.call(&mut rng, Service::Fulfilment, &path, route, None, within).await {
        Some(r) if r.status == 200 => r
            .body
            .as_array()
            .map(|a| a.iter().filter_map(|f| text(f, "fulfilmentStatus")).collect())
            .unwrap_or_default(),
        other => return Err(failed(&path, other)),
    };
    Ok((id, View { order, payment, intent: None, fulfilments }))
}

// ---------------------------------------------------------------------------------------------
// The test.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_distributed_mode_survives_faults_of_every_part_under_load() {
    let seed = seed();
    let tier = Tier::from_env();
    println!(
        "faults: seed {seed} ({} tier: {} s of load, {} service kills, {} nats-server kills, {} PostgreSQL crashes); \
         FAULTS_SEED={seed} replays its choices",
        tier.name,
        tier.load.as_secs(),
        tier.service_kills,
        tier.nats_kills,
        tier.postgres_stops
    );
    let began = Instant::now();
    let unix = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let logs = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("faults-{seed}-{unix}"));
    std::fs::create_dir_all(&logs).expect("the log directory");

    let pg = tokio::task::block_in_place(PgCluster::start_new);
    pg.create_database("coffee");
    let database = pg.url("coffee");
    let nats = tokio::task::block_in_place(NatsServer::start);
    let directory = Arc::new(Directory::default());
    let mut lab = Lab {
        replicas: Vec::new(),
        nats,
        pg,
        database: database.clone(),
        directory: directory.clone(),
        logs: logs.clone(),
        start: began,
        service_kills: 0,
    };
    lab.start_all().await;
    println!("faults: {} replicas up in {:.1} s; logs in {}", lab.replicas.len(), secs(began), logs.display());

    // The load, and the faults.
    let start = Instant::now();
    lab.start = start;
    println!("faults: the load starts at {} (+0 s)", jiff::Timestamp::now());
    let journal = Arc::new(Journal::new(start));
    let http = reqwest::Client::builder()
        .default_headers(coffee_testkit::bearer(&coffee_testkit::admin_token()))
        .timeout(Duration::from_secs(15))
        .build()
        .expect("an HTTP client");
    let client = Client { http, journal: journal.clone(), directory };
    let orders = Arc::new(Orders::new(start));
    let stop = Arc::new(AtomicBool::new(false));
    let customers: Vec<_> = (0..tier.customers)
        .map(|n| {
            let (choices, routing) = (Rng::new(seed, 100 + n as u64), Rng::new(seed, 200 + n as u64));
            tokio::spawn(customer(n, choices, routing, client.clone(), orders.clone(), stop.clone()))
        })
        .collect();
    let baristas_stop = Arc::new(AtomicBool::new(false));
    let baristas = tokio::spawn(baristas(Rng::new(seed, 2), client.clone(), orders.clone(), baristas_stop.clone()));
    let faults_done = Arc::new(AtomicBool::new(false));
    let plan = plan(&tier, &mut Rng::new(seed, 1));
    let planned: Vec<String> = plan.iter().map(|(at, kind)| format!("{:+.1} s {kind:?}", at.as_secs_f64())).collect();
    println!("faults: plan: {}", planned.join(", "));
    let faults = tokio::spawn(inject(lab, plan, Rng::new(seed, 3), journal.clone(), stop.clone(), faults_done.clone()));

    // The load runs its time, then on (for at most as long again) until every planned fault is
    // injected and enough orders are placed.
    tokio::time::sleep(tier.load).await;
    let cap = Instant::now() + tier.load;
    while (!faults_done.load(Ordering::Relaxed) || orders.placed_count() < tier.min_orders) && Instant::now() < cap {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::Relaxed);
    // Customers finish the walk in hand; one that is still stuck after a step's time is cut short.
    let mut cut_short = 0;
    let deadline = tokio::time::Instant::now() + STEP;
    for mut c in customers {
        match tokio::time::timeout_at(deadline, &mut c).await {
            Ok(finished) => finished.expect("a customer task panicked"),
            Err(_) => {
                c.abort();
                cut_short += 1;
            }
        }
    }
    orders.walking.lock().expect("orders lock").clear();
    let (lab, report) = faults.await.expect("the fault task");
    let load_took = start.elapsed();
    println!("faults: load over at {:+.1} s with {} orders placed; settling", secs(start), orders.placed_count());

    // Settle: until every order stands still and agrees, or the limit.
    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&database)
        .await
        .expect("the test reads the provider's intents from PostgreSQL");
    let placed: Vec<(String, Walk)> = orders.placed.lock().expect("orders lock").clone();
    let placed_ids: Vec<String> = placed.iter().map(|(id, _)| id.clone()).collect();
    let mut days: BTreeSet<String> = [started_day(start), today()].into();
    let mut rng = Rng::new(seed, 4);
    let settle_start = Instant::now();
    let mut views: BTreeMap<String, View> = BTreeMap::new();
    let mut have_all = false;
    // Everything is read once, then only what has not settled, until it all has (or what has not
    // never can), or the limit.
    loop {
        days.insert(today());
        let read = if have_all {
            let pending: Vec<String> = unsettled(&views).into_iter().map(|(id, _)| id.clone()).collect();
            refresh(&client, &mut rng, &mut views, pending, &db).await
        } else {
            snapshot(&client, &mut rng, &placed_ids, &days, &db).await.map(|all| {
                views = all;
                have_all = true;
            })
        };
        if read.is_ok() && have_all && unsettled(&views).iter().all(|(id, _)| frozen(&views[*id])) {
            break;
        }
        if settle_start.elapsed() > tier.settle {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let settle_took = settle_start.elapsed();
    baristas_stop.store(true, Ordering::Relaxed);
    let barista_completions = baristas.await.expect("the baristas");
    // The last look reads everything again (a few tries: it must not fail on a hiccup).
    let mut failures: Vec<String> = report.failures.clone();
    let mut last_look = Err("not read".to_owned());
    for _ in 0..5 {
        days.insert(today());
        last_look = snapshot(&client, &mut rng, &placed_ids, &days, &db).await;
        if last_look.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    match last_look {
        Ok(all) => views = all,
        Err(e) => failures.push(format!("the last look at the orders failed: {e}")),
    }

    // The checks; every failure is collected, then reported together. The answers last: the
    // checks' own requests count too.
    check_states(&client, &orders, &views, &placed, &mut failures).await;
    let lists_checked = check_lists_and_journals(&client, seed, &views, &mut failures).await;
    check_dead_letters(&client, &lab, &mut failures).await;
    check_answers(&journal, &mut failures);
    check_outages(&report, &tier, &mut failures);
    if placed.len() < tier.min_orders {
        failures.push(format!(
            "only {} orders were placed; the {} tier needs {}",
            placed.len(),
            tier.name,
            tier.min_orders
        ));
    }
    let planned = tier.service_kills + tier.nats_kills + tier.postgres_stops;
    let injected: usize = report.injected.values().sum();
    if injected < planned {
        failures.push(format!("only {injected} of {planned} planned faults were injected"));
    }

    // The figures.
    let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
    for v in views.values() {
        *by_state.entry(v.order.clone().unwrap_or_else(|| "MISSING".to_owned())).or_default() += 1;
    }
    let injected_of = |k| report.injected.get(&k).copied().unwrap_or(0);
    let no_answer: usize = journal.no_answer.lock().expect("journal lock").values().sum();
    println!("faults: answers by route and status:");
    for ((route, status), n) in journal.answers.lock().expect("journal lock").iter() {
        println!("  {status} {route}: {n}");
    }
    for (route, n) in journal.no_answer.lock().expect("journal lock").iter() {
        println!("  no answer {route}: {n}");
    }
    println!("faults: walks by path and outcome:");
    for ((walk, outcome), n) in orders.walked.lock().expect("orders lock").iter() {
        println!("  {walk:?}: {outcome}: {n}");
    }
    println!(
        "faults summary: seed {seed}, {} tier; orders placed {} (in the services {}: {}); faults injected: {} service \
         kills, {} nats-server kills, {} PostgreSQL crashes; requests {}, 503s {} ({} without Retry-After), 500s {}, \
         no answer {no_answer}; baristas completed {barista_completions}; customers cut short {cut_short}; \
         orders checked one by one {lists_checked}; load {:.1} s, settle {:.1} s, total {:.1} s",
        tier.name,
        placed.len(),
        views.len(),
        by_state.iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", "),
        injected_of(FaultKind::ServiceKill),
        injected_of(FaultKind::NatsKill),
        injected_of(FaultKind::PostgresStop),
        journal.requests.load(Ordering::Relaxed),
        journal.count(503),
        journal.bare_503s.load(Ordering::Relaxed),
        journal.count(500),
        load_took.as_secs_f64(),
        settle_took.as_secs_f64(),
        began.elapsed().as_secs_f64(),
    );

    let pg_log = lab.pg.log_path();
    let _ = std::fs::copy(&pg_log, logs.join("postgres.log"));
    let log_lines = error_lines(&logs);
    drop(lab);
    if failures.is_empty() {
        let _ = std::fs::remove_dir_all(&logs);
        return;
    }
    let evidence = if log_lines.is_empty() {
        String::new()
    } else {
        format!("\n\nThe services' ERROR lines, by file and message (count):\n{log_lines}")
    };
    panic!(
        "{} check(s) failed (seed {seed}: FAULTS_SEED={seed} replays its choices; logs kept in {}):\n\n{}{evidence}",
        failures.len(),
        logs.display(),
        failures.iter().enumerate().map(|(i, f)| format!("{}. {f}", i + 1)).collect::<Vec<_>>().join("\n\n")
    );
}

/// No 500s; every 503 with Retry-After.
fn check_answers(journal: &Journal, failures: &mut Vec<String>) {
    let describe = |samples: &[Sample], what: &str| {
        let mut by_route: BTreeMap<&str, Vec<&Sample>> = BTreeMap::new();
        for s in samples {
            by_route.entry(s.route).or_default().push(s);
        }
        let mut text = format!("{} answers {what}:", samples.len());
        for (route, list) in by_route {
            let _ = write!(text, "\n  {route}: {}", list.len());
            for s in list.iter().take(3) {
                let _ = write!(
                    text,
                    "\n    {} at {:+.1} s ({}): {} {}",
                    s.status,
                    s.at,
                    journal.fault_at(s.at),
                    s.url,
                    s.body
                );
            }
        }
        text
    };
    let internal = journal.internal_errors.lock().expect("journal lock");
    if !internal.is_empty() {
        failures.push(describe(&internal, "were 500 Internal Server Error (a 500 is a bug)"));
    }
    let bare = journal.without_retry_after.lock().expect("journal lock");
    if !bare.is_empty() {
        failures.push(describe(&bare, "were 503 without a Retry-After header"));
    }
}

/// Every order ends in a state its order, payment, intent and fulfilment agree on.
async fn check_states(
    client: &Client,
    orders: &Orders,
    views: &BTreeMap<String, View>,
    placed: &[(String, Walk)],
    failures: &mut Vec<String>,
) {
    let walks: BTreeMap<&String, Walk> = placed.iter().map(|(id, w)| (id, *w)).collect();
    let mut wrong: BTreeMap<&'static str, Vec<&String>> = BTreeMap::new();
    for (id, why) in unsettled(views) {
        wrong.entry(why).or_default().push(id);
    }
    let mut rng = Rng::new(0, 5);
    for (why, ids) in wrong {
        let mut text = format!("{} orders did not settle right: {why}; for example:", ids.len());
        for (n, id) in ids.iter().enumerate().take(10) {
            let walk = walks.get(*id).map_or("not placed by a customer".to_owned(), |w| format!("{w:?}"));
            let _ = write!(text, "\n  {id} ({walk}): {}", views[*id]);
            // The whole story of the first few.
            if n < 3 {
                for line in orders.trace_of(id) {
                    let _ = write!(text, "\n      test: {line}");
                }
                for line in history(client, &mut rng, id).await {
                    let _ = write!(text, "\n      {line}");
                }
            }
        }
        failures.push(text);
    }
}

/// What the services say about an order: its records (status, note, times) and every event
/// each published about it, by time.
async fn history(client: &Client, rng: &mut Rng, id: &str) -> Vec<String> {
    let within = Duration::from_secs(10);
    let mut lines = Vec::new();
    let records = [
        (Service::Order, format!("/api/order/{id}"), "GET /api/order/:id"),
        (Service::Payment, format!("/api/payment?orderId={id}"), "GET /api/payment?orderId="),
        (Service::Fulfilment, format!("/api/fulfilment?orderId={id}"), "GET /api/fulfilment?orderId="),
    ];
    for (service, path, route) in records {
        let Some(r) = client.call(rng, service, &path, route, None, within).await else { continue };
        let list = if r.body.is_array() { r.body.as_array().cloned().unwrap_or_default() } else { vec![r.body] };
        for record in list {
            let name = service.name();
            let field = |k: &str| record[format!("{name}{k}")].clone();
            lines.push(format!(
                "{name} record: {} note {} created {} updated {}",
                field("Status"),
                field("Note"),
                record["createdAt"],
                record["updatedAt"]
            ));
        }
    }
    let mut events = Vec::new();
    for service in Service::ALL {
        let (path, route) = events_of(service, id);
        let Some(r) = client.call(rng, service, &path, route, None, within).await else { continue };
        for e in r.body.as_array().cloned().unwrap_or_default() {
            events.push(format!("event {} {}", e["time"].as_str().unwrap_or("?"), e["type"].as_str().unwrap_or("?")));
        }
    }
    events.sort();
    lines.extend(events);
    lines
}

/// The path and the route of what `service` published about an order.
fn events_of(service: Service, order_id: &str) -> (String, &'static str) {
    let route = match service {
        Service::Order => "GET /api/order/events?orderId=",
        Service::Payment => "GET /api/payment/events?orderId=",
        Service::Fulfilment => "GET /api/fulfilment/events?orderId=",
    };
    (format!("/api/{}/events?orderId={order_id}", service.name()), route)
}

/// At most one fulfilment per order (`GET /api/fulfilment?orderId=`), and each event type at
/// most once per order in each service's journal. Returns how many orders were checked.
async fn check_lists_and_journals(
    client: &Client,
    seed: u64,
    views: &BTreeMap<String, View>,
    failures: &mut Vec<String>,
) -> usize {
    let checks = futures::stream::iter(views.keys().cloned().enumerate())
        .map(|(n, id)| {
            let client = client.clone();
            async move {
                let mut rng = Rng::new(seed, 1_000_000 + n as u64);
                let mut problems = Vec::new();
                let within = Duration::from_secs(15);
                let path = format!("/api/fulfilment?orderId={id}");
                let route = "GET /api/fulfilment?orderId=";
                match client.call(&mut rng, Service::Fulfilment, &path, route, None, within).await {
                    Some(r) if r.status == 200 => {
                        let n = r.body.as_array().map_or(0, Vec::len);
                        if n > 1 {
                            problems.push(format!("order {id} has {n} fulfilments: {}", r.body));
                        }
                    }
                    other => {
                        problems.push(format!("{path}: {}", other.map_or("no answer".into(), |r| r.body.to_string())))
                    }
                }
                for service in Service::ALL {
                    let (path, route) = events_of(service, &id);
                    match client.call(&mut rng, service, &path, route, None, within).await {
                        Some(r) if r.status == 200 => {
                            let types: Vec<&str> = r
                                .body
                                .as_array()
                                .map(|a| a.iter().filter_map(|e| e["type"].as_str()).collect())
                                .unwrap_or_default();
                            // Each step once; a declined card is announced once per attempt, and a
                            // customer (or a client retrying after no answer) may try again.
                            let mut seen = BTreeMap::new();
                            for t in types.iter().filter(|t| **t != "coffee.payment.declined") {
                                *seen.entry(*t).or_insert(0) += 1;
                            }
                            if seen.values().any(|n| *n > 1) {
                                problems.push(format!(
                                    "order {id}: the {} journal repeats an event: {types:?}",
                                    service.name()
                                ));
                            }
                        }
                        other => problems
                            .push(format!("{path}: {}", other.map_or("no answer".into(), |r| r.body.to_string()))),
                    }
                }
                problems
            }
        })
        .buffer_unordered(12)
        .collect::<Vec<Vec<String>>>()
        .await;
    let problems: Vec<String> = checks.into_iter().flatten().collect();
    if !problems.is_empty() {
        failures.push(format!(
            "{} problems with fulfilments or journals; for example:\n{}",
            problems.len(),
            problems.iter().take(15).map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
        ));
    }
    views.len()
}

/// No dead letters, as every replica reports them.
async fn check_dead_letters(client: &Client, lab: &Lab, failures: &mut Vec<String>) {
    for ((service, index), url) in lab.directory.all() {
        let url = format!("{url}/api/admin/dead-letters");
        let answer = client.once(Method::GET, &url, "GET /api/admin/dead-letters", None).await;
        match answer {
            Ok(r) if r.status == 200 && r.body == json!([]) => {}
            Ok(r) if r.status == 200 => {
                let letters = r.body.as_array().cloned().unwrap_or_default();
                let shown: Vec<String> = letters
                    .iter()
                    .take(10)
                    .map(|l| {
                        format!(
                            "  {} {} of order {} after {} attempts: {}",
                            l["consumer"].as_str().unwrap_or("?"),
                            l["event"]["type"].as_str().unwrap_or("?"),
                            l["event"]["subject"].as_str().unwrap_or("?"),
                            l["attempts"],
                            l["lastError"].as_str().unwrap_or("?")
                        )
                    })
                    .collect();
                failures.push(format!(
                    "{}-{index} lists {} dead letters:\n{}",
                    service.name(),
                    letters.len(),
                    shown.join("\n")
                ));
                // Every replica reads the same dead-letter stream: once is enough.
                return;
            }
            Ok(r) => failures.push(format!("{url}: {} {}", r.status, r.body)),
            Err(e) => failures.push(format!("{url}: no answer: {e}")),
        }
    }
}

/// During each PostgreSQL outage every replica's /readyz said 503, and 200 after, unrestarted.
fn check_outages(report: &FaultReport, tier: &Tier, failures: &mut Vec<String>) {
    if report.outages.len() < tier.postgres_stops {
        failures.push(format!("{} of {} PostgreSQL crashes happened", report.outages.len(), tier.postgres_stops));
    }
    for (n, outage) in report.outages.iter().enumerate() {
        let what = format!("PostgreSQL crash {} (at {:+.1} s, down {:.1} s)", n + 1, outage.at, outage.down_for);
        let mut lines = Vec::new();
        for w in &outage.watches {
            let answers = w.while_down.iter().map(|(s, n)| format!("{s} ×{n}")).collect::<Vec<_>>().join(", ");
            if !w.said_503 {
                lines.push(format!(
                    "  {} ({}/readyz) never answered 503 while it was down (it answered: {answers})",
                    w.name, w.url
                ));
            }
            match w.recovered_after {
                Some(after) => println!(
                    "faults: {what}: {} /readyz answered {answers}; the slowest 503 took {:.1} s; 200 again {after:.1} s \
                     after the restart",
                    w.name, w.slowest_503
                ),
                None => lines.push(format!("  {} /readyz did not answer 200 within 60 s of the restart", w.name)),
            }
        }
        if !outage.restarted.is_empty() {
            lines.push(format!("  replicas exited or were restarted meanwhile: {:?}", outage.restarted));
        }
        if !lines.is_empty() {
            failures.push(format!("{what}:\n{}", lines.join("\n")));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

/// An answer, short, for a trace.
fn answered(answer: &Option<Reply>) -> String {
    match answer {
        Some(r) => {
            let status = ["orderStatus", "paymentStatus", "fulfilmentStatus"].iter().find_map(|k| r.body[*k].as_str());
            format!("{} {}", r.status, status.unwrap_or_else(|| r.body["error"]["message"].as_str().unwrap_or("")))
        }
        None => "no answer".to_owned(),
    }
}

fn secs(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

fn today() -> String {
    coffee_domain::Millis(jiff::Timestamp::now().as_millisecond()).day().to_string()
}

fn started_day(start: Instant) -> String {
    let ago = i64::try_from(start.elapsed().as_millis()).unwrap_or(0);
    coffee_domain::Millis(jiff::Timestamp::now().as_millisecond() - ago).day().to_string()
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = f.write_all(text.as_bytes());
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let last: Vec<&str> = text.lines().rev().take(lines).collect();
    last.into_iter().rev().collect::<Vec<_>>().join("\n")
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

/// The services' ERROR lines in `dir`'s logs, without their timestamps, counted.
fn error_lines(dir: &Path) -> String {
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        if !file.ends_with(".log") || file == "postgres.log" {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap_or_default().lines() {
            let Some(at) = line.find(" ERROR ") else { continue };
            let message: String = line[at + 1..].chars().take(400).collect();
            // "latency=10001 ms" and "latency=10002 ms" are the same line.
            let message = match message.split_once("latency=") {
                Some((head, rest)) => {
                    let ms: f64 = rest.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0.0);
                    format!("{head}latency≈{:.0} s", ms / 1000.0)
                }
                None => message,
            };
            *counts.entry((file.clone(), message)).or_default() += 1;
        }
    }
    let mut text = String::new();
    for ((file, message), n) in counts.iter().take(40) {
        let _ = writeln!(text, "  {file}: ({n}) {message}");
    }
    if counts.len() > 40 {
        let _ = writeln!(text, "  ... and {} more distinct lines", counts.len() - 40);
    }
    text
}

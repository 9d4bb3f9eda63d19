//! Dead letters end to end: a message no handler can process goes to its consumer's
//! dead-letter queue after 5 attempts, and `coffee dlq` lists and redrives it.

use reqwest::StatusCode;

use crate::helpers::{TestApp, run_cli};

/// Writes an event no handler can read into the payment service's queue, as a corrupt
/// producer might.
pub(crate) fn plant_poison(db: &std::path::Path) {
    let conn = rusqlite::Connection::open(db).expect("open the database");
    let body = serde_json::json!({
        "specversion": "1.0", "id": "poison-1", "source": "order-service", "type": "coffee.order.created",
        "subject": "0193f5a0-0000-7000-8000-00000000dead", "time": "2026-11-25T00:00:00Z",
        "datacontenttype": "application/json", "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "data": {"orderId": "not an order"}
    });
    conn.execute(
        "INSERT INTO bus_events (id, subject, type, source, time, body) VALUES ('poison-1', ?1, 'coffee.order.created', 'order-service', ?2, ?3)",
        rusqlite::params![body["subject"].as_str(), body["time"].as_str(), body.to_string()],
    )
    .expect("insert event");
    let seq = conn.last_insert_rowid();
    conn.execute(
        "INSERT INTO bus_deliveries (consumer, seq, subject) VALUES ('payment-service', ?1, ?2)",
        rusqlite::params![seq, body["subject"].as_str()],
    )
    .expect("insert delivery");
}

#[tokio::test]
async fn a_message_that_always_fails_is_dead_lettered_listed_and_redriven() {
    let app = TestApp::spawn().await;
    let dir = app.stop().await;
    plant_poison(&dir.path().join("coffee.db"));
    let app = TestApp::spawn_in(dir, |_| {}).await;

    let letters = app
        .eventually("/api/admin/dead-letters", "a dead letter", |v| v.as_array().is_some_and(|a| a.len() == 1))
        .await;
    let letter = &letters[0];
    assert_eq!(letter["consumer"], "payment-service");
    assert_eq!(letter["attempts"], 5);
    assert_eq!(letter["event"]["id"], "poison-1");
    assert!(letter["lastError"].as_str().is_some_and(|e| e.contains("does not fit")), "{letter}");
    let died_at = letter["diedAt"].as_i64().expect("time");

    let (ok, listed) = run_cli(&["dlq", "list", "--url", &app.base, "--data-dir", &dir_of(&app)]).await;
    assert!(ok, "{listed}");
    assert!(listed.contains("payment-service") && listed.contains("coffee.order.created"), "{listed}");
    let (ok, only_orders) =
        run_cli(&["dlq", "list", "--url", &app.base, "--consumer", "order-service", "--data-dir", &dir_of(&app)]).await;
    assert!(ok && only_orders.contains("no dead letters"), "{only_orders}");

    let (ok, redriven) = run_cli(&["dlq", "redrive", "--url", &app.base, "--data-dir", &dir_of(&app)]).await;
    assert!(ok && redriven.contains("redriven: 1"), "{redriven}");
    // Still poisonous: it is delivered 5 more times and dies again, later.
    let again = app
        .eventually("/api/admin/dead-letters", "a second death", |v| {
            v.as_array().is_some_and(|a| a.len() == 1 && a[0]["diedAt"].as_i64() > Some(died_at))
        })
        .await;
    assert_eq!(again[0]["attempts"], 5);

    let (ok, unreachable) = run_cli(&["dlq", "list", "--url", "http://127.0.0.1:9", "--data-dir", &dir_of(&app)]).await;
    assert!(!ok && unreachable.contains("is `coffee serve` running"), "{unreachable}");
    let (status, _) = app.get("/api/admin/dead-letters?consumer=payment-service").await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

/// `--max-attempts` and `--retry-backoff-ms` are what a failing message gets: with 3 attempts
/// and 300 ms doubling, it dies after its third attempt and no sooner than 300 + 600 ms after
/// the first.
#[tokio::test]
async fn the_configured_attempts_and_backoff_are_what_a_failing_message_gets() {
    let app = TestApp::spawn().await;
    let dir = app.stop().await;
    plant_poison(&dir.path().join("coffee.db"));
    let started = jiff::Timestamp::now().as_millisecond();
    let app = TestApp::spawn_in(dir, |c| {
        c.delivery.max_attempts = 3;
        c.delivery.retry_backoff_ms = 300;
    })
    .await;
    let letters = app
        .eventually("/api/admin/dead-letters", "a dead letter", |v| v.as_array().is_some_and(|a| a.len() == 1))
        .await;
    assert_eq!(letters[0]["attempts"], 3);
    let died_at = letters[0]["diedAt"].as_i64().expect("time");
    assert!(died_at - started >= 900, "backed off 300 ms, then 600 ms: died {} ms after the start", died_at - started);
    app.stop().await;
}

/// `--sync` is the setting SQLite runs with (read back from SQLite, reported in the metrics).
#[tokio::test]
async fn the_sync_setting_is_what_sqlite_runs_with() {
    for (sync, reported) in [(coffee::config::Sync::Full, "FULL"), (coffee::config::Sync::Normal, "NORMAL")] {
        let app = TestApp::spawn_with(|c| c.sync = sync).await;
        let (_, metrics) = app.get("/api/admin/metrics").await;
        assert_eq!(metrics["sqliteWriter"]["synchronous"], reported, "{metrics}");
        app.stop().await;
    }
}

/// The data directory of a running test app: where `coffee dlq` finds the key.
fn dir_of(app: &TestApp) -> String {
    app.dir.path().display().to_string()
}

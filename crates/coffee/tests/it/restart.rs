//! What the server does at start on a data directory it ran on before: it records the captures
//! a dying process left unrecorded, it forgets inbox marks older than their retention, and it
//! keeps the keys it made the first time.

use std::time::Duration;

use coffee_bus::Rules;
use coffee_domain::CardNumber;
use coffee_payment::provider::{PaymentProvider, SimulatedProvider};

use crate::helpers::{GOOD_CARD, TestApp, id};

/// The provider took the money, then the process died before the webhook was applied. Nobody
/// calls anything after the restart: the start-up recovery must find the capture on its own.
#[tokio::test]
async fn a_capture_the_process_died_before_recording_is_recorded_at_the_next_start() {
    let app = TestApp::spawn().await;
    let order_id = id(&app.place_order("1", "ada").await, "orderId");
    let intent = id(&app.create_payment(&order_id).await, "paymentIntentId");
    let dir = app.stop().await;

    let store = coffee_testkit::sqlite_store(dir.path(), Rules::default(), &[]);
    {
        let provider = SimulatedProvider::new(store.clone(), b"the provider's own".to_vec());
        let card_form = provider.card_form().expect("the simulated card form");
        card_form.confirm(&intent, &CardNumber::parse(GOOD_CARD).expect("card")).await.expect("captured");
    }
    store.close().await;
    drop(store);

    let app = TestApp::spawn_in(dir, |_| {}).await;
    app.order_status(&order_id, "ORDER_IN_PROGRESS").await;
    assert_eq!(app.payment_of(&order_id).await["paymentStatus"], "PAYMENT_SUCCESSFUL");
    let types = app.event_types("payment", &order_id).await;
    assert_eq!(types, ["coffee.payment.pending", "coffee.payment.created", "coffee.payment.succeeded"]);
    app.stop().await;
}

/// An inbox mark older than the retention (a week) goes at start; a recent one stays, so a
/// recent event redelivered is still recognised.
#[tokio::test]
async fn inbox_marks_older_than_a_week_are_forgotten_at_start() {
    let app = TestApp::spawn().await;
    let order_id = id(&app.place_order("1", "ada").await, "orderId");
    app.eventually(&format!("/api/payment?orderId={order_id}"), "a payment", |v| {
        v.as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    let dir = app.stop().await;
    let db = dir.path().join(coffee::backend::DATABASE_FILE);
    let eight_days_ago = jiff::Timestamp::now().as_millisecond() - 8 * 86_400_000;
    let marks = |sql: &str| -> i64 {
        let c = rusqlite::Connection::open(&db).expect("open");
        c.query_row(sql, [], |r| r.get(0)).expect("count")
    };
    {
        let c = rusqlite::Connection::open(&db).expect("open");
        c.execute(
            "INSERT INTO bus_inbox (consumer, event_id, handled_at) VALUES ('payment-service', 'old', ?1)",
            [eight_days_ago],
        )
        .expect("an old mark");
    }
    let recent = marks("SELECT count(*) FROM bus_inbox WHERE event_id <> 'old'");
    assert!(recent > 0, "placing an order left inbox marks");

    let app = TestApp::spawn_in(dir, |_| {}).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while marks("SELECT count(*) FROM bus_inbox WHERE event_id = 'old'") > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the old mark was not pruned at start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(marks("SELECT count(*) FROM bus_inbox WHERE event_id <> 'old'"), recent, "recent marks stay");
    app.stop().await;
}

/// A provider is configured once with the webhook secret, and sessions outlive a restart: both
/// keys are made on the first start and kept (owner-only) in the data directory.
#[tokio::test]
async fn the_keys_made_at_the_first_start_are_kept_for_the_next() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn_with(|c| c.webhook_secret = None).await;
    let secret_file = app.dir.path().join(coffee::config::WEBHOOK_SECRET_FILE);
    let secret = std::fs::read_to_string(&secret_file).expect("the secret was made and kept");
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{secret}");
    for file in [secret_file.clone(), app.dir.path().join(coffee::config::AUTH_KEY_FILE)] {
        let mode = std::fs::metadata(&file).expect("kept").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is for its owner only", file.display());
    }
    let key = app.key.clone();
    let dir = app.stop().await;
    let app = TestApp::spawn_in(dir, |c| c.webhook_secret = None).await;
    assert_eq!(std::fs::read_to_string(&secret_file).expect("kept"), secret, "the same secret after a restart");
    assert_eq!(app.key, key, "the same session key after a restart");
    app.stop().await;
}

/// With `--retain-days 0` the journal forgets a completed order's events at the next round (at
/// start, here), and keeps every event of the orders still open: one waiting for its payment,
/// one being made. The records themselves stay.
#[tokio::test]
async fn the_journal_forgets_closed_orders_and_keeps_open_ones_at_the_retention_round() {
    let retain_none = |c: &mut coffee::config::ServeConfig| c.delivery.retain_days = 0;
    let app = TestApp::spawn_with(retain_none).await;
    let completed = id(&app.place_order("1", "ada").await, "orderId");
    app.pay(&completed, GOOD_CARD).await;
    let made = id(&app.fulfilment_of(&completed).await, "fulfilmentId");
    let (status, _) =
        app.patch(&format!("/api/fulfilment/{made}"), serde_json::json!({"status": "FULFILMENT_COMPLETED"})).await;
    assert!(status.is_success());
    app.order_status(&completed, "ORDER_COMPLETED").await;
    let unpaid = id(&app.place_order("2", "bo").await, "orderId");
    app.eventually(&format!("/api/payment?orderId={unpaid}"), "a payment", |v| {
        v.as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    let in_progress = id(&app.place_order("3", "cy").await, "orderId");
    app.pay(&in_progress, GOOD_CARD).await;
    app.fulfilment_of(&in_progress).await;
    app.order_status(&in_progress, "ORDER_IN_PROGRESS").await;
    let journals = async |app: &TestApp, order: &str| {
        let mut all = Vec::new();
        for service in ["order", "payment", "fulfilment"] {
            all.extend(app.event_types(service, order).await);
        }
        all
    };
    let (unpaid_before, in_progress_before) = (journals(&app, &unpaid).await, journals(&app, &in_progress).await);
    assert!(!journals(&app, &completed).await.is_empty() && !unpaid_before.is_empty());
    let dir = app.stop().await;

    let app = TestApp::spawn_in(dir, retain_none).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !journals(&app, &completed).await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the completed order's events were not pruned");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(journals(&app, &unpaid).await, unpaid_before, "an unpaid order keeps its events");
    assert_eq!(journals(&app, &in_progress).await, in_progress_before, "an order being made keeps its events");
    app.order_status(&completed, "ORDER_COMPLETED").await;
    assert_eq!(app.payment_of(&completed).await["paymentStatus"], "PAYMENT_SUCCESSFUL", "records stay");
    app.stop().await;
}

/// Idempotency keys answer a retry for a day (README): a key older than that goes at the next
/// retention round (at start, here), and a recent one stays.
#[tokio::test]
async fn idempotency_keys_older_than_a_day_are_forgotten_at_start() {
    let app = TestApp::spawn().await;
    let dir = app.stop().await;
    let db = dir.path().join(coffee::backend::DATABASE_FILE);
    let now = jiff::Timestamp::now().as_millisecond();
    {
        let c = rusqlite::Connection::open(&db).expect("open");
        for (id, at) in [("old-key", now - 2 * 86_400_000), ("new-key", now - 60_000)] {
            c.execute(
                "INSERT INTO idempotency_keys (id, order_id, customer_id, day, created_at, status, version, body) \
                 VALUES (?1, ?1, '', '2026-12-01', ?2, 'DONE', 1, '{}')",
                rusqlite::params![id, at],
            )
            .expect("a kept answer");
        }
    }
    let keys = |id: &str| -> i64 {
        let c = rusqlite::Connection::open(&db).expect("open");
        c.query_row("SELECT count(*) FROM idempotency_keys WHERE id = ?1", [id], |r| r.get(0)).expect("count")
    };
    let app = TestApp::spawn_in(dir, |_| {}).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while keys("old-key") > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the day-old key was not pruned at start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(keys("new-key"), 1, "a recent key stays");
    app.stop().await;
}

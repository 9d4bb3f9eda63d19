//! `coffee backup` under load and `coffee restore`: the restored system goes on from the
//! backup's moment with every saga intact, and neither command damages anything when refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::crash::{
    Acks, Client, Told, customer, every_order_published_every_step_once, furthest_steps,
    nothing_acknowledged_went_backwards,
};
use crate::helpers::{Http, ServerProcess, run_cli};

async fn wait_for_acks(acks: &Acks, at_least: usize) {
    for _ in 0..6000 {
        if acks.lock().expect("lock").len() >= at_least {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the customers never reached {at_least} acknowledged steps");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_a_system_that_finishes_every_saga_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let data_arg = data.to_str().expect("utf-8 path");
    let backup = dir.path().join("shop.backup");
    let backup_arg = backup.to_str().expect("utf-8 path");

    let server = ServerProcess::start(&data, &[]).await;
    let client = Arc::new(Client { http: Http::admin(coffee_testkit::AUTH_KEY), base: server.base.clone() });
    let acks: Acks = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let customers: Vec<_> =
        (0..8).map(|n| tokio::spawn(customer(client.clone(), n, acks.clone(), stop.clone(), false))).collect();
    wait_for_acks(&acks, 60).await;

    // Everything acknowledged before the backup starts is committed, so it is in the backup.
    let (told_before, _) = furthest_steps(&acks);
    let (ok, out) = run_cli(&["backup", "--to", backup_arg, "--data-dir", data_arg]).await;
    assert!(ok, "{out}");
    assert!(out.contains("backed up to") && out.contains("events in the journal"), "{out}");
    let acked_at_backup = acks.lock().expect("lock").len();
    // Orders placed after the backup finished: the restored system must not have them.
    wait_for_acks(&acks, acked_at_backup + 30).await;
    let after_backup: Vec<String> = acks.lock().expect("lock")[acked_at_backup..]
        .iter()
        .filter(|(_, step)| *step == Told::Placed)
        .map(|(id, _)| id.clone())
        .collect();
    assert!(!after_backup.is_empty(), "no order was placed after the backup");

    // Refused while the server runs, and refused again onto an existing file: nothing changes.
    let (ok, out) = run_cli(&["restore", "--from", backup_arg, "--data-dir", data_arg]).await;
    assert!(!ok && out.contains("in use by a running server"), "{out}");
    let (ok, out) = run_cli(&["backup", "--to", backup_arg, "--data-dir", data_arg]).await;
    assert!(!ok && out.contains("already exists"), "{out}");
    let newest = &after_backup[after_backup.len() - 1];
    client.get(&format!("/api/order/{newest}")).await.expect("the running server kept its newest order");

    stop.store(true, Ordering::Relaxed);
    for c in customers {
        c.await.expect("customer task");
    }
    assert!(server.terminate().await.success());

    // A file that is not a backup is refused before anything is touched.
    let junk = dir.path().join("notes.txt");
    std::fs::write(&junk, "not a database").expect("write");
    let (ok, out) = run_cli(&["restore", "--from", junk.to_str().expect("utf-8"), "--data-dir", data_arg]).await;
    assert!(!ok && out.contains("not a backup of this system"), "{out}");

    let (ok, out) = run_cli(&["restore", "--from", backup_arg, "--data-dir", data_arg]).await;
    assert!(ok, "{out}");
    assert!(out.contains("is kept as"), "the replaced database is kept: {out}");

    let server = ServerProcess::start(&data, &[]).await;
    let client = Client { http: Http::admin(coffee_testkit::AUTH_KEY), base: server.base.clone() };
    for id in &after_backup {
        let answer = client.get(&format!("/api/order/{id}")).await;
        assert!(answer.as_ref().is_err_and(|e| e.starts_with("404")), "{id} was placed after the backup: {answer:?}");
    }
    // What was acknowledged before the backup stands, and what it implies happens by itself
    // (the messages queued at the backup's moment are delivered again, each applied once).
    nothing_acknowledged_went_backwards(&client, &told_before).await;
    let restored: Vec<String> = told_before.keys().cloned().collect();
    for order_id in &restored {
        client.finish(order_id).await;
    }
    every_order_published_every_step_once(&client, &restored).await;
    let letters = client.get("/api/admin/dead-letters").await.expect("dead letters");
    assert_eq!(letters, json!([]), "nothing was dead-lettered");

    // The restored system takes new orders, and numbers them after the ones it has.
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let orders = client.get(&format!("/api/order?date={today}")).await.expect("today's orders");
    let numbers: Vec<i64> = orders.as_array().expect("list").iter().filter_map(|o| o["orderNumber"].as_i64()).collect();
    let body = json!({"coffeeId": "1", "customerId": "after-restore", "customerName": "Ada"});
    let placed: Value = client.post("/api/order", body).await.expect("a new order");
    let number = placed["orderNumber"].as_i64().expect("a number");
    assert!(!numbers.contains(&number), "order number {number} given twice: {numbers:?}");
    server.kill().await;
}

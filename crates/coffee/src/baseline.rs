//! Baselines for `coffee bench`: what the broker and the database can do on their own on
//! this machine, measured with the same tool and settings as the system, so the system's
//! figures can be read against them.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::jetstream::{self, consumer, stream};
use futures::StreamExt;
use serde::Serialize;
use sqlx::Connection;

use crate::bench::Latency;

/// A figure the bench prints: as JSON for scripts, or as lines for people.
pub trait Report: Serialize {
    /// The lines for people.
    fn write_text(&self, out: &mut String);

    fn print(&self, json: bool) -> anyhow::Result<()> {
        if json {
            println!("{}", serde_json::to_string_pretty(self)?);
        } else {
            let mut text = String::new();
            self.write_text(&mut text);
            print!("{text}");
        }
        Ok(())
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NatsBaseline {
    pub server: String,
    pub message_bytes: usize,
    pub published: u64,
    pub publish_per_second: f64,
    pub publish: Latency,
    pub consumed: u64,
    pub consume_per_second: f64,
}

impl crate::baseline::Report for NatsBaseline {
    fn write_text(&self, out: &mut String) {
        let _ = writeln!(out, "coffee bench --baseline nats: {} (file storage, 1 replica)", self.server);
        let _ = writeln!(
            out,
            "  synchronous publishes of {} B (each waits for its ack): {} = {:.1}/s; p50 {:.3} ms  p99 {:.3} ms",
            self.message_bytes, self.published, self.publish_per_second, self.publish.p50_ms, self.publish.p99_ms
        );
        let _ = writeln!(
            out,
            "  acknowledged consumes (pull consumer, ack each): {} = {:.1}/s",
            self.consumed, self.consume_per_second
        );
    }
}

/// The size of a real event: an order's `created` event as the services publish it.
fn event_sized_payload() -> Vec<u8> {
    use coffee_domain::{CustomerId, CustomerName, DomainEvent, Millis, Order, OrderId};
    let order = coffee_domain::Coffee::from_menu("2")
        .and_then(|coffee| {
            Ok(Order::place(
                OrderId::from_uuid(uuid::Uuid::now_v7()),
                coffee,
                CustomerId::parse("bench-customer")?,
                CustomerName::parse("Bench")?,
                Millis(0),
            ))
        })
        .map(DomainEvent::Order);
    match order {
        Ok(event) => coffee_bus::Envelope::wrap(&event, &coffee_bus::TraceContext::new_root()).to_bytes(),
        Err(_) => vec![b'x'; 1100],
    }
}

pub async fn nats(url: &str, duration: Duration) -> anyhow::Result<NatsBaseline> {
    const STREAM: &str = "COFFEE_BENCH_BASELINE";
    let client = async_nats::connect(url).await.with_context(|| format!("cannot connect to NATS at {url}"))?;
    let js = jetstream::new(client);
    let _ = js.delete_stream(STREAM).await;
    js.create_stream(stream::Config {
        name: STREAM.to_owned(),
        subjects: vec!["coffee-bench-baseline.>".to_owned()],
        storage: stream::StorageType::File,
        num_replicas: 1,
        ..Default::default()
    })
    .await
    .context("cannot create the baseline stream")?;
    let payload = bytes::Bytes::from(event_sized_payload());
    let (mut latencies, publish_seconds) = publish_for(&js, &payload, duration).await?;
    let published = latencies.len() as u64;
    let stream = js.get_stream(STREAM).await.context("baseline stream")?;
    let durable = stream
        .create_consumer(consumer::pull::Config {
            durable_name: Some("baseline".to_owned()),
            ack_policy: consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .context("baseline consumer")?;
    let mut messages = durable.messages().await.context("pull")?;
    let started = Instant::now();
    let mut consumed = 0u64;
    while consumed < published {
        let Some(message) = tokio::time::timeout(Duration::from_secs(10), messages.next()).await.ok().flatten() else {
            break;
        };
        let message = message.map_err(|e| anyhow::anyhow!("consume: {e}"))?;
        message.ack().await.map_err(|e| anyhow::anyhow!("ack: {e}"))?;
        consumed += 1;
    }
    let consume_seconds = started.elapsed().as_secs_f64();
    let _ = js.delete_stream(STREAM).await;
    Ok(NatsBaseline {
        server: url.to_owned(),
        message_bytes: payload.len(),
        published,
        publish_per_second: published as f64 / publish_seconds,
        publish: Latency::of(&mut latencies),
        consumed,
        consume_per_second: consumed as f64 / consume_seconds,
    })
}

/// Synchronous publishes, each waiting for its ack, for `duration`: their latencies (µs) and the
/// seconds taken.
async fn publish_for(
    js: &jetstream::Context,
    payload: &bytes::Bytes,
    duration: Duration,
) -> anyhow::Result<(Vec<u64>, f64)> {
    let mut latencies = Vec::new();
    let started = Instant::now();
    while started.elapsed() < duration {
        let t = Instant::now();
        js.publish("coffee-bench-baseline.event", payload.clone())
            .await
            .context("publish")?
            .await
            .context("publish ack")?;
        latencies.push(t.elapsed().as_micros() as u64);
    }
    Ok((latencies, started.elapsed().as_secs_f64()))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostgresBaseline {
    pub server_version: String,
    pub synchronous_commit: String,
    pub fsync: String,
    pub inserts: u64,
    pub inserts_per_second: f64,
    pub commit: Latency,
}

impl crate::baseline::Report for PostgresBaseline {
    fn write_text(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "coffee bench --baseline postgres: PostgreSQL {}, synchronous_commit={}, fsync={}",
            self.server_version, self.synchronous_commit, self.fsync
        );
        let _ = writeln!(
            out,
            "  single-row committed inserts, one at a time: {} = {:.1}/s; p50 {:.3} ms  p99 {:.3} ms",
            self.inserts, self.inserts_per_second, self.commit.p50_ms, self.commit.p99_ms
        );
    }
}

pub async fn postgres(url: &str, duration: Duration) -> anyhow::Result<PostgresBaseline> {
    let mut conn = sqlx::PgConnection::connect(url).await.with_context(|| format!("cannot connect to {url}"))?;
    let setting = |name: &'static str| sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!("SHOW {name}")));
    let server_version = setting("server_version").fetch_one(&mut conn).await.context("SHOW server_version")?;
    let synchronous_commit = setting("synchronous_commit").fetch_one(&mut conn).await.context("SHOW")?;
    let fsync = setting("fsync").fetch_one(&mut conn).await.context("SHOW fsync")?;
    sqlx::query("DROP TABLE IF EXISTS coffee_bench_baseline").execute(&mut conn).await?;
    sqlx::query("CREATE TABLE coffee_bench_baseline (id BIGSERIAL PRIMARY KEY, v TEXT NOT NULL)")
        .execute(&mut conn)
        .await
        .context("cannot create the baseline table")?;
    let payload = "x".repeat(200);
    let mut latencies = Vec::new();
    let started = Instant::now();
    while started.elapsed() < duration {
        let t = Instant::now();
        sqlx::query("INSERT INTO coffee_bench_baseline (v) VALUES ($1)").bind(&payload).execute(&mut conn).await?;
        latencies.push(t.elapsed().as_micros() as u64);
    }
    let seconds = started.elapsed().as_secs_f64();
    sqlx::query("DROP TABLE coffee_bench_baseline").execute(&mut conn).await?;
    let inserts = latencies.len() as u64;
    Ok(PostgresBaseline {
        server_version,
        synchronous_commit,
        fsync,
        inserts,
        inserts_per_second: inserts as f64 / seconds,
        commit: Latency::of(&mut latencies),
    })
}

//! The event bus of Event Driven Coffee.
//!
//! - [`envelope`]: the CloudEvents 1.0 envelope every event travels in.
//! - [`pattern`] and [`rule`]: EventBridge-style patterns that route events to consumers.
//! - [`store`]: the transactional store contract (records, outbox, inbox) services write through.
//! - [`sqlite`]: the embedded store (one SQLite file, group commit).
//! - [`postgres`]: the PostgreSQL store (a schema per service), for separate processes.
//! - [`nats`]: the NATS JetStream transport (outbox relay, durable consumers, dead letters).
//! - [`consumer`] and [`embedded`]: handlers, retries, and the embedded transport's dispatchers.
//! - [`live`]: every event as it commits, for watchers (not durable).
//! - [`timers`]: events committed now and published when they fall due.

pub mod consumer;
pub mod embedded;
pub mod envelope;
pub mod fifo;
pub mod live;
pub mod migrate;
pub mod nats;
pub mod pattern;
pub mod postgres;
pub mod retention;
pub mod rule;
pub mod sqlite;
pub mod stats;
pub mod store;
pub mod timers;
pub mod trace;

pub use consumer::{Consumer, DeliveryOptions, Handler, HandlerError, RetryPolicy};
pub use envelope::Envelope;
pub use live::LiveFeed;
pub use migrate::Migration;
pub use pattern::Pattern;
pub use rule::{Rule, Rules};
pub use store::{
    By, Change, Committed, DeadLetter, DeadLetters, Decision, Expect, Kind, Lookup, RecordKey, Records, Store,
    StoreError, Table, Timer, Versioned, commit_deciding_again,
};
pub use trace::TraceContext;

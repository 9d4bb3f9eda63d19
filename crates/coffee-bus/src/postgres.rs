//! The PostgreSQL store, for services that run as their own processes (and replicas).
//!
//! Each service owns one schema (`coffee_order`, `coffee_payment`, `coffee_fulfilment`): its
//! record tables, its outbox and its inbox; no service reads another's schema. A commit is
//! one PostgreSQL transaction holding the unit of work (records, journal + outbox rows, the
//! inbox mark), so the promises are those of the embedded store; PostgreSQL does its own
//! group commit across connections. Published events wait in `bus_outbox` until the relay
//! (see [`crate::nats`]) has them acknowledged by the broker.
//!
//! Migrations run in one transaction under an advisory lock, so replicas starting together
//! apply them once.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor, PgPool, Row as _};

use crate::envelope::Envelope;
use crate::migrate::{MIGRATIONS_TABLE, Migration};
use crate::retention::{self, Retention};
use crate::store::{By, Change, Committed, Expect, Lookup, Row, Store, StoreError, Table, Timer};

pub struct PgStore {
    pool: PgPool,
    schema: String,
    outbox: tokio::sync::Notify,
    commits: crate::stats::CommitCounters,
}

fn db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::PoolClosed => StoreError::Closed,
        sqlx::Error::PoolTimedOut => StoreError::Unavailable("PostgreSQL did not answer in time".into()),
        sqlx::Error::Io(e) => StoreError::Unavailable(format!("cannot reach PostgreSQL: {e}")),
        sqlx::Error::Tls(e) => StoreError::Unavailable(format!("cannot reach PostgreSQL: {e}")),
        // A connection that broke mid-conversation (the server went away).
        sqlx::Error::Protocol(e) => StoreError::Unavailable(format!("the connection to PostgreSQL broke: {e}")),
        sqlx::Error::Database(d) if is_unavailable(d.code().as_deref()) => {
            StoreError::Unavailable(format!("PostgreSQL is unavailable: {}", d.message()))
        }
        other => StoreError::Database(other.to_string()),
    }
}

/// SQLSTATEs that say the server, not the statement, is the problem: connection exceptions
/// (class 08), the server shutting down or starting (57P01 to 57P03), too many connections.
fn is_unavailable(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.starts_with("08") || matches!(c, "57P01" | "57P02" | "57P03" | "53300"))
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// A schema name goes into SQL text, so only plain identifiers are accepted.
fn check_schema(schema: &str) -> Result<(), StoreError> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase())
        && schema.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok { Ok(()) } else { Err(StoreError::Database(format!("'{schema}' is not a valid schema name"))) }
}

const BUS_MIGRATIONS: &[Migration] = &[
    Migration {
        owner: "bus",
        version: 1,
        name: "journal, outbox, inbox",
        sql: concat!(
            crate::journal_table!("BIGSERIAL PRIMARY KEY"),
            "CREATE TABLE bus_outbox (seq BIGINT PRIMARY KEY);
        CREATE TABLE bus_inbox (
            consumer TEXT NOT NULL,
            event_id TEXT NOT NULL,
            handled_at BIGINT NOT NULL,
            PRIMARY KEY (consumer, event_id)
        );"
        ),
    },
    crate::migrate::SEQUENCES,
    crate::migrate::TIMERS,
];

impl PgStore {
    /// Runs a lookup's query (see [`Lookup::sql`]) and reads each row with `read`, oldest first.
    async fn select<T>(
        &self,
        (sql, key, newest): (String, &str, bool),
        (limit, offset): (u32, u32),
        read: fn(&sqlx::postgres::PgRow) -> T,
    ) -> Result<Vec<T>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(key)
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        let mut read: Vec<T> = rows.iter().map(read).collect();
        if newest {
            read.reverse();
        }
        Ok(read)
    }

    /// Connects to `url`, creates `schema` and applies the migrations there.
    pub async fn connect(
        url: &str,
        schema: &str,
        migrations: &[Migration],
        max_connections: u32,
    ) -> Result<Arc<Self>, StoreError> {
        check_schema(schema)?;
        let options: PgConnectOptions =
            url.parse().map_err(|e| StoreError::Database(format!("bad database URL: {e}")))?;
        let options = options.application_name("coffee");
        let search_path = format!("SET search_path TO {schema}");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            // A request waits this long for a connection; with PostgreSQL down it then gets a
            // 503 rather than hanging.
            .acquire_timeout(Duration::from_secs(3))
            .after_connect(move |conn, _| {
                let sql = search_path.clone();
                Box::pin(async move {
                    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *conn).await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
        let store =
            Self { pool, schema: schema.to_owned(), outbox: tokio::sync::Notify::new(), commits: Default::default() };
        store.migrate(BUS_MIGRATIONS).await?;
        store.migrate(migrations).await?;
        Ok(Arc::new(store))
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn migrate(&self, migrations: &[Migration]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // One migrator at a time per schema, across processes.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("coffee-migrations:{}", self.schema))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        // The schema name was checked to be a plain identifier.
        let schema_sql = format!("CREATE SCHEMA IF NOT EXISTS {0}; SET LOCAL search_path TO {0}", self.schema);
        sqlx::raw_sql(AssertSqlSafe(schema_sql)).execute(&mut *tx).await.map_err(db_err)?;
        tx.execute(MIGRATIONS_TABLE).await.map_err(db_err)?;
        for m in migrations {
            let done: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE owner = $1 AND version = $2)")
                    .bind(m.owner)
                    .bind(i64::from(m.version))
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
            if done {
                continue;
            }
            tx.execute(m.sql).await.map_err(|e| {
                StoreError::Database(format!("migration {} {} ({}) failed: {e}", m.owner, m.version, m.name))
            })?;
            sqlx::query("INSERT INTO schema_migrations (owner, version, name, applied_at) VALUES ($1, $2, $3, $4)")
                .bind(m.owner)
                .bind(i64::from(m.version))
                .bind(m.name)
                .bind(now_ms())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            tracing::info!(schema = %self.schema, owner = m.owner, version = m.version, name = m.name, "applied migration");
        }
        tx.commit().await.map_err(db_err)
    }

    /// Changes committed here and the events they published.
    pub fn commits(&self) -> crate::stats::Commits {
        self.commits.snapshot()
    }

    /// Woken when this process commits events: the relay need not wait for its next poll.
    pub fn outbox_notify(&self) -> &tokio::sync::Notify {
        &self.outbox
    }

    /// Outbox rows not yet relayed, oldest first, as (seq, envelope JSON).
    pub async fn outbox_batch(&self, limit: i64) -> Result<Vec<(i64, String)>, StoreError> {
        // Not a plain join: PostgreSQL merge-joins that, reading the journal from its first
        // row up to the oldest waiting one on every poll (EXPLAIN shows it). The oldest outbox
        // rows first, then primary-key lookups, costs the size of the batch.
        let rows = sqlx::query(
            "SELECT seq, body FROM bus_events WHERE seq IN (SELECT seq FROM bus_outbox ORDER BY seq LIMIT $1)
             ORDER BY seq",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(|r| (r.get::<i64, _>(0), r.get::<String, _>(1))).collect())
    }

    pub async fn outbox_done(&self, seqs: &[i64]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM bus_outbox WHERE seq = ANY($1)")
            .bind(seqs)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// How many events wait in the outbox (for metrics and tests).
    pub async fn outbox_len(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT count(*) FROM bus_outbox").fetch_one(&self.pool).await.map_err(db_err)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn apply(&self, change: &Change) -> Result<Committed, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        if let Some(h) = &change.handled
            && !mark_handled(&mut tx, h).await?
        {
            tx.rollback().await.map_err(db_err)?;
            return Ok(Committed::AlreadyHandled);
        }
        self.check_absent(&mut tx, &change.absent).await?;
        if let Some(timers) = &change.timers {
            apply_timers(&mut tx, timers).await?;
        }
        for put in &change.puts {
            write(&mut tx, put).await?;
        }
        for out in &change.events {
            journal(&mut tx, out).await?;
        }
        if !change.events.is_empty() {
            // Wakes the relay replica that leads, wherever it runs.
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(self.notify_channel())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(Committed::Applied)
    }

    /// Fails with a conflict when a record that must be absent exists. Under READ COMMITTED a
    /// plain check would not see a concurrent, uncommitted insert of it, so each key is locked
    /// for the rest of the transaction first (in a fixed order, against deadlocks); the other
    /// side of the pair takes the same lock, so one of the two sees the other's record.
    async fn check_absent(&self, tx: &mut Tx<'_>, absent: &[crate::store::Absent]) -> Result<(), StoreError> {
        let mut keys: Vec<&str> = absent.iter().map(|a| a.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext('coffee-guard'), hashtext($1))")
                .bind(key)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
        }
        for a in absent {
            let sql = format!("SELECT EXISTS (SELECT 1 FROM {} WHERE {} = $1)", a.table.name(), a.column);
            let exists: bool =
                sqlx::query_scalar(AssertSqlSafe(sql)).bind(&a.key).fetch_one(&mut **tx).await.map_err(db_err)?;
            if exists {
                return Err(StoreError::Conflict);
            }
        }
        Ok(())
    }

    /// The channel on which commits announce new outbox rows.
    pub fn notify_channel(&self) -> String {
        format!("coffee_outbox_{}", self.schema)
    }
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Postgres>;

/// The inbox mark; false when the event was handled before.
async fn mark_handled(tx: &mut Tx<'_>, h: &crate::store::Handled) -> Result<bool, StoreError> {
    let fresh = sqlx::query(
        "INSERT INTO bus_inbox (consumer, event_id, handled_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(&h.consumer)
    .bind(&h.event_id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(fresh.rows_affected() == 1)
}

/// The timers a change fires, drops and schedules. Firing one that is gone (another replica
/// fired it) conflicts: the row lock makes the second firing wait for the first and find nothing.
async fn apply_timers(tx: &mut Tx<'_>, timers: &crate::store::TimerChanges) -> Result<(), StoreError> {
    use crate::migrate::{DROP_TIMER, SCHEDULE_TIMER};
    if let Some(id) = &timers.fires {
        let fired = sqlx::query(DROP_TIMER).bind(id).execute(&mut **tx).await.map_err(db_err)?;
        if fired.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
    }
    for id in &timers.drop {
        sqlx::query(DROP_TIMER).bind(id).execute(&mut **tx).await.map_err(db_err)?;
    }
    for t in &timers.schedule {
        let schedule = sqlx::query(SCHEDULE_TIMER).bind(&t.id).bind(t.due_at).bind(&t.event.json);
        schedule.execute(&mut **tx).await.map_err(db_err)?;
    }
    Ok(())
}

/// One record, as new or at the version it expects; anything else is a conflict.
async fn write(tx: &mut Tx<'_>, put: &crate::store::Put) -> Result<(), StoreError> {
    let (t, k) = (put.table.name(), &put.key);
    let written = match put.expect {
        Expect::New => {
            let sql = format!(
                "INSERT INTO {t} (id, order_id, customer_id, day, created_at, status, version, body)
                 VALUES ($1, $2, $3, $4, $5, $6, 1, $7) ON CONFLICT DO NOTHING"
            );
            sqlx::query(AssertSqlSafe(sql))
                .bind(&k.id)
                .bind(&k.order_id)
                .bind(&k.customer_id)
                .bind(&k.day)
                .bind(k.created_at)
                .bind(k.status)
                .bind(&put.body)
                .execute(&mut **tx)
                .await
        }
        Expect::Version(v) => {
            let sql =
                format!("UPDATE {t} SET status = $2, body = $3, version = version + 1 WHERE id = $1 AND version = $4");
            sqlx::query(AssertSqlSafe(sql)).bind(&k.id).bind(k.status).bind(&put.body).bind(v).execute(&mut **tx).await
        }
    };
    match written {
        Ok(done) if done.rows_affected() == 1 => Ok(()),
        // `ON CONFLICT DO NOTHING` with no target covers every unique index (the id, and the
        // order for a one-per-order table): a taken key writes no row rather than failing.
        Ok(_) => Err(StoreError::Conflict),
        Err(e) => Err(db_err(e)),
    }
}

/// An event into the journal and the outbox, in one statement.
async fn journal(tx: &mut Tx<'_>, out: &crate::store::Outgoing) -> Result<(), StoreError> {
    let env = &out.envelope;
    sqlx::query(
        "WITH journal AS (
            INSERT INTO bus_events (id, subject, type, source, time, body) VALUES ($1, $2, $3, $4, $5, $6)
            RETURNING seq
         ) INSERT INTO bus_outbox (seq) SELECT seq FROM journal",
    )
    .bind(&env.id)
    .bind(&env.subject)
    .bind(&env.event_type)
    .bind(&env.source)
    .bind(&env.time)
    .bind(&out.json)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl Store for PgStore {
    async fn get(&self, table: Table, by: By<'_>) -> Result<Option<Row>, StoreError> {
        let (sql, key) = by.sql(table);
        let row = sqlx::query(AssertSqlSafe(sql)).bind(key).fetch_optional(&self.pool).await.map_err(db_err)?;
        Ok(row.map(|r| Row { version: r.get(0), body: r.get(1) }))
    }

    async fn find(&self, table: Table, lookup: Lookup<'_>, limit: u32, offset: u32) -> Result<Vec<Row>, StoreError> {
        self.select(lookup.sql(table), (limit, offset), |r| Row { version: r.get(0), body: r.get(1) }).await
    }

    async fn statuses(&self, table: Table, lookup: Lookup<'_>, limit: u32) -> Result<Vec<String>, StoreError> {
        self.select(lookup.statuses_sql(table), (limit, 0), |r| r.get(0)).await
    }

    async fn next_number(&self, sequence: &str) -> Result<i64, StoreError> {
        // One statement, committed on its own: the row lock orders concurrent takers.
        let row =
            sqlx::query(crate::migrate::NEXT_NUMBER).bind(sequence).fetch_one(&self.pool).await.map_err(db_err)?;
        Ok(row.get(0))
    }

    async fn commit(&self, change: Change) -> Result<Committed, StoreError> {
        let started = std::time::Instant::now();
        let spans = crate::store::CommitSpans::of(&change);
        let committed = self.apply(&change).await?;
        if committed == Committed::Applied {
            spans.committed(&self.schema);
            self.commits.count(started.elapsed(), change.events.iter().map(|e| e.envelope.event_type.as_str()));
            if !change.events.is_empty() {
                self.outbox.notify_one();
            }
        }
        Ok(committed)
    }

    async fn events_about(&self, subject: &str) -> Result<Vec<Envelope>, StoreError> {
        let rows = sqlx::query("SELECT body FROM bus_events WHERE subject = $1 ORDER BY seq")
            .bind(subject)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.into_iter()
            .map(|r| {
                let body: String = r.get(0);
                Envelope::from_bytes(body.as_bytes()).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    async fn prune_inbox(&self, cutoff_ms: i64) -> Result<(), StoreError> {
        let prune = sqlx::query("DELETE FROM bus_inbox WHERE handled_at < $1").bind(cutoff_ms);
        prune.execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }

    async fn prune_expired(&self, table: Table, before_ms: i64) -> Result<u64, StoreError> {
        let sql = retention::expired_sql(table);
        let mut pruned = 0;
        loop {
            let done =
                sqlx::query(AssertSqlSafe(sql.clone())).bind(before_ms).execute(&self.pool).await.map_err(db_err)?;
            match done.rows_affected() {
                0 => return Ok(pruned),
                n => pruned += n,
            }
        }
    }

    async fn prune_journal(&self, retention: &Retention) -> Result<u64, StoreError> {
        // Unpublished events are still in the outbox; the broker keeps the rest.
        let sql = retention::prune_window_sql(retention, "EXISTS (SELECT 1 FROM bus_outbox o WHERE o.seq = e.seq)");
        let cutoff = retention::cutoff_time(retention.cutoff_ms);
        let (mut from, mut pruned) = (0_i64, 0_u64);
        loop {
            let start: Option<(i64, String)> =
                sqlx::query_as(retention::WINDOW_START).bind(from).fetch_optional(&self.pool).await.map_err(db_err)?;
            let Some((seq, _)) = start.filter(|(_, time)| *time < cutoff) else { return Ok(pruned) };
            let done = sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(seq)
                .bind(seq + retention::WINDOW)
                .bind(&cutoff)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
            pruned += done.rows_affected();
            from = seq + retention::WINDOW;
        }
    }

    async fn due_timers(&self, now_ms: i64, limit: u32) -> Result<Vec<Timer>, StoreError> {
        let rows = sqlx::query(crate::migrate::DUE_TIMERS)
            .bind(now_ms)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(|r| Timer::read(r.get(0), r.get(1), r.get(2))).collect()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_lowercase_identifiers_are_schema_names() {
        let longest = "a".repeat(63);
        for ok in ["coffee_order", "a", "b2", "a_1_z", longest.as_str()] {
            assert_eq!(check_schema(ok), Ok(()), "{ok}");
        }
        let too_long = "a".repeat(64);
        for bad in ["", too_long.as_str(), "1abc", "_abc", "Abc", "aBc", "a-b", "a b", "a;b", "a.b", "é"] {
            assert!(matches!(check_schema(bad), Err(StoreError::Database(_))), "'{bad}' accepted");
        }
    }

    /// Through `db_err`, as every query's error goes: the server refusing for its own state is
    /// unavailable (a 503 to the caller), a statement's own error is not.
    #[tokio::test]
    async fn a_server_state_error_from_postgresql_is_unavailable_and_a_statements_is_a_database_error() {
        let db = coffee_testkit::TestDatabase::create();
        let pool = sqlx::PgPool::connect(&db.url()).await.expect("PostgreSQL");
        let raise = |code: &str| format!("DO $$ BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = '{code}'; END $$");
        let unavailable = sqlx::raw_sql(AssertSqlSafe(raise("57P03"))).execute(&pool).await.map(|_| ());
        assert!(matches!(unavailable.map_err(db_err), Err(StoreError::Unavailable(_))));
        let statement = sqlx::raw_sql(AssertSqlSafe(raise("22012"))).execute(&pool).await.map(|_| ());
        assert!(matches!(statement.map_err(db_err), Err(StoreError::Database(_))));
        pool.close().await;
    }

    #[test]
    fn connection_and_server_state_errors_are_unavailable_and_statement_errors_are_not() {
        for code in ["08000", "08003", "08006", "57P01", "57P02", "57P03", "53300"] {
            assert!(is_unavailable(Some(code)), "{code}");
        }
        for code in ["23505", "42P01", "40001", "57014", "53100", "80000"] {
            assert!(!is_unavailable(Some(code)), "{code}");
        }
        assert!(!is_unavailable(None));
    }
}

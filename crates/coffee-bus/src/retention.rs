//! What the journal keeps, and for how long.
//!
//! Every event a service publishes stays in its journal (`bus_events`): the embedded transport
//! delivers from it, and the admin's timeline of an order reads it. Kept for ever, it is most of
//! the data directory (BENCHMARKS.md, "Retention"). Pruning forgets an order's events once all of
//! them are older than the cutoff, and never while any of them is still needed: queued for a
//! consumer, dead-lettered, not yet published (the distributed outbox), or while the order is
//! open by the records a service names ([`OpenRecords`]). The order's records themselves (the
//! order, its payment and fulfilment) are never pruned: the journal is the history, not the
//! state.
//!
//! Both stores prune the same way: a window of [`WINDOW`] sequence numbers at a time, oldest
//! first, one short transaction each, so commits go on between windows.

use jiff::Timestamp;

use crate::store::Table;

/// Records of a service whose order is still open while their status is one of `statuses`:
/// their order's events are kept whatever their age.
#[derive(Debug, Clone)]
pub struct OpenRecords {
    pub table: Table,
    pub statuses: Vec<&'static str>,
}

#[derive(Debug, Clone)]
pub struct Retention {
    /// Events older than this (milliseconds since the epoch) may go.
    pub cutoff_ms: i64,
    pub open: Vec<OpenRecords>,
}

/// Sequence numbers examined per transaction.
pub(crate) const WINDOW: i64 = 500;

/// Deletes up to a window of `table`'s records created before `$1`.
pub(crate) fn expired_sql(table: Table) -> String {
    let t = table.name();
    format!("DELETE FROM {t} WHERE id IN (SELECT id FROM {t} WHERE created_at < $1 LIMIT {WINDOW})")
}

/// The first event at or after `$1`: where the next window starts, and how old it is.
pub(crate) const WINDOW_START: &str = "SELECT seq, time FROM bus_events WHERE seq >= $1 ORDER BY seq LIMIT 1";

/// The cutoff in the journal's `time` format (RFC 3339, UTC, six decimals: see
/// [`Envelope::of`](crate::Envelope::of)), which compares as text in time order.
pub(crate) fn cutoff_time(cutoff_ms: i64) -> String {
    let at = Timestamp::from_millisecond(cutoff_ms).unwrap_or(Timestamp::UNIX_EPOCH);
    format!("{at:.6}")
}

/// Deletes one window's prunable events: `$1` the first sequence number, `$2` the end
/// (excluded), `$3` the cutoff time. `held` is a condition on `e.seq` that the store's own
/// tables make true for an event still needed (queued, dead-lettered, unpublished).
pub(crate) fn prune_window_sql(retention: &Retention, held: &str) -> String {
    let mut sql = format!(
        "DELETE FROM bus_events WHERE seq IN (SELECT e.seq FROM bus_events e \
         WHERE e.seq >= $1 AND e.seq < $2 AND e.time < $3 \
         AND NOT EXISTS (SELECT 1 FROM bus_events n WHERE n.subject = e.subject AND n.time >= $3) \
         AND NOT ({held})"
    );
    for open in &retention.open {
        // Statuses are the code's own constants, never input: quoted here, not bound.
        let statuses: Vec<String> = open.statuses.iter().map(|s| format!("'{s}'")).collect();
        sql.push_str(&format!(
            " AND NOT EXISTS (SELECT 1 FROM {} r WHERE r.order_id = e.subject AND r.status IN ({}))",
            open.table.name(),
            statuses.join(", ")
        ));
    }
    sql.push(')');
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_written_as_the_journal_writes_times() {
        assert_eq!(cutoff_time(1_764_784_000_123), "2025-12-03T17:46:40.123000Z");
        let envelope_time = format!("{:.6}", Timestamp::from_millisecond(1_764_784_000_124).expect("time"));
        assert!(cutoff_time(1_764_784_000_123) < envelope_time, "text order is time order");
    }

    #[test]
    fn each_open_record_kind_keeps_its_orders_events() {
        let retention = Retention {
            cutoff_ms: 0,
            open: vec![OpenRecords {
                table: Table::new("orders"),
                statuses: vec!["ORDER_CREATED", "ORDER_IN_PROGRESS"],
            }],
        };
        let sql = prune_window_sql(&retention, "false");
        assert!(
            sql.contains(
                "FROM orders r WHERE r.order_id = e.subject AND r.status IN ('ORDER_CREATED', 'ORDER_IN_PROGRESS')"
            ),
            "{sql}"
        );
        assert!(sql.contains("AND NOT (false)"), "{sql}");
    }
}

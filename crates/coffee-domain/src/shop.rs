//! The shop: whether it takes orders, how many it takes at once, what it tells its customers,
//! and how long a new order can expect to wait.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{InvalidInput, Millis};

/// What the shop's owner set. A shop that was never set is open, with no limit and no message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Shop {
    pub open: bool,
    /// The most open orders (placed and not yet completed or cancelled) at once; none: no limit.
    pub capacity: Option<u32>,
    /// What customers read: why the shop is closed, when it opens, today's special.
    pub message: Option<ShopMessage>,
    pub updated_at: Millis,
}

impl Default for Shop {
    fn default() -> Self {
        Self { open: true, capacity: None, message: None, updated_at: Millis(0) }
    }
}

/// Why the shop does not take an order now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The shop is closed; the text is its message, or a plain "closed".
    Closed(String),
    /// As many orders are open as the shop takes at once.
    AtCapacity(String),
}

impl Shop {
    /// The largest capacity that can be set: more open orders than any shop makes at once.
    pub const MAX_CAPACITY: u32 = 10_000;

    /// Whether the shop takes one more order while `open_orders` are open.
    pub fn admits(&self, open_orders: usize) -> Result<(), Refusal> {
        if !self.open {
            let said = self.message.as_ref().map_or(String::new(), |m| format!(": {m}"));
            return Err(Refusal::Closed(format!("the shop is closed{said}")));
        }
        match self.capacity {
            Some(capacity) if open_orders >= capacity as usize => Err(Refusal::AtCapacity(format!(
                "the shop is busy ({open_orders} orders waiting, as many as it takes at once); try again in a few minutes"
            ))),
            _ => Ok(()),
        }
    }

    /// Checks what an owner asks to set.
    pub fn set(
        open: bool,
        capacity: Option<u32>,
        message: Option<ShopMessage>,
        now: Millis,
    ) -> Result<Self, InvalidInput> {
        if let Some(c) = capacity
            && !(1..=Self::MAX_CAPACITY).contains(&c)
        {
            return Err(InvalidInput::new(
                "capacity",
                format!("must be between 1 and {} (leave it out for no limit)", Self::MAX_CAPACITY),
            ));
        }
        Ok(Self { open, capacity, message, updated_at: now })
    }
}

/// The shop's message to its customers: at most 200 characters, no control or invisible ones.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ShopMessage(String);

impl schemars::JsonSchema for ShopMessage {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ShopMessage".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        crate::schema::text(Self::MAX_CHARS, true, "At most 200 characters, no control or invisible ones; empty: none.")
    }
}

impl ShopMessage {
    pub const MAX_CHARS: usize = 200;

    /// Empty input means no message.
    pub fn parse(input: &str) -> Result<Option<Self>, InvalidInput> {
        let text = crate::ids::parse_text("message", input, Self::MAX_CHARS)?;
        Ok((!text.is_empty()).then_some(Self(text)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ShopMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One drink made recently: when its payment went through and when it was ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Made {
    pub paid_at: Millis,
    pub ready_at: Millis,
}

/// How far back the estimate looks.
pub const ESTIMATE_WINDOW_MS: i64 = 3600 * 1000;

/// How long a new order can expect to wait from payment to ready, in seconds, from the drinks
/// made in the last hour and the `paid_waiting` drinks paid for and not yet ready.
///
/// The median time from payment to ready over the last hour is what a drink took while the
/// shop ran as it did then. How many drinks were being made at once, on average, follows from
/// the same figures (Little's law: the sum of those times over the hour). A queue longer than
/// that average makes the wait longer in proportion; a shorter one never shortens it below the
/// median, which is what making one drink takes. `None` when nothing was made in the last hour.
pub fn estimated_wait_seconds(made: &[Made], paid_waiting: usize, now: Millis) -> Option<u64> {
    let mut times: Vec<i64> = made
        .iter()
        .filter(|m| now.0 - m.ready_at.0 <= ESTIMATE_WINDOW_MS && m.ready_at >= m.paid_at)
        .map(|m| m.ready_at.0 - m.paid_at.0)
        .collect();
    if times.is_empty() {
        return None;
    }
    times.sort_unstable();
    let median = times[times.len() / 2] as f64;
    let at_once = (times.iter().sum::<i64>() as f64 / ESTIMATE_WINDOW_MS as f64).max(1.0);
    let ahead = (paid_waiting as f64 + 1.0) / at_once;
    Some((median * ahead.max(1.0) / 1000.0).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> Option<ShopMessage> {
        ShopMessage::parse(text).expect("a message")
    }

    #[test]
    fn a_closed_shop_says_why_and_a_full_one_says_to_come_back() {
        let closed = Shop::set(false, None, message("Back at 7am"), Millis(1)).expect("set");
        assert_eq!(closed.admits(0), Err(Refusal::Closed("the shop is closed: Back at 7am".into())));
        let plain = Shop { message: None, ..closed };
        assert_eq!(plain.admits(0), Err(Refusal::Closed("the shop is closed".into())));
        let busy = Shop::set(true, Some(2), None, Millis(1)).expect("set");
        assert_eq!(busy.admits(1), Ok(()));
        assert!(matches!(busy.admits(2), Err(Refusal::AtCapacity(m)) if m.contains("2 orders waiting")));
        assert_eq!(Shop::default().admits(100_000), Ok(()), "never set: open, no limit");
    }

    #[test]
    fn a_capacity_out_of_range_or_a_long_message_is_refused_naming_the_field() {
        assert_eq!(Shop::set(true, Some(0), None, Millis(1)).unwrap_err().field, "capacity");
        assert_eq!(Shop::set(true, Some(Shop::MAX_CAPACITY + 1), None, Millis(1)).unwrap_err().field, "capacity");
        assert!(Shop::set(true, Some(Shop::MAX_CAPACITY), None, Millis(1)).is_ok());
        assert_eq!(ShopMessage::parse(&"x".repeat(201)).unwrap_err().field, "message");
        assert_eq!(ShopMessage::parse("  ").expect("empty"), None);
    }

    fn made(paid_s: i64, took_s: i64) -> Made {
        Made { paid_at: Millis(paid_s * 1000), ready_at: Millis((paid_s + took_s) * 1000) }
    }

    #[test]
    fn the_wait_is_the_last_hour_s_median_made_longer_by_a_queue_longer_than_usual() {
        let now = Millis(10_000 * 1000);
        assert_eq!(estimated_wait_seconds(&[], 3, now), None, "nothing made: no estimate");
        // Three drinks, one at a time (at most 1 in the making on average): 120 s median.
        let recent = [made(9_000, 60), made(9_200, 120), made(9_400, 300)];
        assert_eq!(estimated_wait_seconds(&recent, 0, now), Some(120));
        assert_eq!(estimated_wait_seconds(&recent, 2, now), Some(360), "two ahead: three drinks' time");
        // Made more than an hour ago: left out.
        let old = [made(1_000, 60), made(9_200, 120)];
        assert_eq!(estimated_wait_seconds(&old, 0, now), Some(120));
        // Many made at once (six in the making on average): a queue of five is usual.
        let busy: Vec<Made> = (0..36).map(|i| made(6_400 + i * 100, 600)).collect();
        assert_eq!(estimated_wait_seconds(&busy, 5, now), Some(600));
        assert_eq!(estimated_wait_seconds(&busy, 11, now), Some(1200));
    }
}

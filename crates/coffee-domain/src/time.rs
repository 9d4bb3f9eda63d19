//! Time as the business sees it: instants in milliseconds since the Unix epoch (the
//! original's `createdAt`) and calendar days in UTC (the original's `date`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::InvalidInput;

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Millis(pub i64);

impl Millis {
    /// The UTC calendar day this instant falls on.
    pub fn day(self) -> Day {
        // Out-of-range instants cannot come from a real clock; clamp rather than fail so a
        // corrupt timestamp shows up as an odd date instead of a crash.
        let ts = jiff::Timestamp::from_millisecond(self.0).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        Day(ts.to_zoned_datetime(jiff::tz::TimeZone::UTC).date())
    }

    /// Whole seconds, as the GraphQL contract's `createdAt: Int!` wants.
    pub fn seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }
}

/// A calendar day in UTC, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(jiff::civil::Date);

impl Day {
    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        let bad = || InvalidInput::new("date", format!("'{input}' is not a date in the form YYYY-MM-DD"));
        let trimmed = input.trim();
        // jiff accepts more than the strict form; the contract is exactly YYYY-MM-DD.
        let shape_ok = trimmed.len() == 10
            && trimmed.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
        if !shape_ok {
            return Err(bad());
        }
        trimmed.parse::<jiff::civil::Date>().map(Day).map_err(|_| bad())
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.strftime("%Y-%m-%d"))
    }
}

impl Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Day::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Day {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Day".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            "description": "A calendar day in UTC, YYYY-MM-DD."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_falls_on_its_utc_day() {
        // 2024-02-29T23:59:59.999Z
        assert_eq!(Millis(1_709_251_199_999).day().to_string(), "2024-02-29");
        assert_eq!(Millis(1_709_251_200_000).day().to_string(), "2024-03-01");
    }

    #[test]
    fn only_the_strict_day_form_is_accepted() {
        assert!(Day::parse("2026-11-25").is_ok());
        // jiff itself accepts the basic form, a signed six-digit year and a date with a time;
        // the contract does not.
        for bad in
            ["2026-1-25", "2026-11-31", "25/11/2026", "", "2026-11-25T00:00", "20261125xx", "20261125", "+002026-11-25"]
        {
            assert!(Day::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn seconds_round_down() {
        assert_eq!(Millis(1999).seconds(), 1);
        assert_eq!(Millis(-1).seconds(), -1);
    }
}

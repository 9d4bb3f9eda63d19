//! How every service's list endpoints read `limit` and `date`, the same way everywhere.

use coffee_domain::Day;

use crate::{ServiceError, now};

/// How many records a list returns unless the caller asks for fewer (or more, up to [`MAX_LIST`]).
pub const DEFAULT_LIST: u32 = 500;
pub const MAX_LIST: u32 = 5000;

/// Checks a list's `limit`.
pub fn list_limit(limit: Option<u32>) -> Result<u32, ServiceError> {
    match limit {
        None => Ok(DEFAULT_LIST),
        Some(n) if (1..=MAX_LIST).contains(&n) => Ok(n),
        Some(n) => Err(ServiceError::BadInput(format!("limit: {n} is not between 1 and {MAX_LIST}"))),
    }
}

/// The day a list is for: the given one, or today (UTC).
pub fn list_day(date: Option<&str>) -> Result<Day, ServiceError> {
    match date {
        Some(d) => Ok(Day::parse(d)?),
        None => Ok(now().day()),
    }
}

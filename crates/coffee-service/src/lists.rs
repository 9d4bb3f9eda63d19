//! How many records a list returns, and which day it is for: the same everywhere.

use coffee_domain::Day;
use serde::{Deserialize, Serialize};

use crate::{ServiceError, now};

/// How many records a list returns unless the caller asks for fewer (or more, up to [`MAX_LIST`]).
pub const DEFAULT_LIST: u32 = 500;
pub const MAX_LIST: u32 = 5000;

/// A list's size: between 1 and [`MAX_LIST`], [`DEFAULT_LIST`] when the caller does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct List(u32);

impl List {
    pub fn parse(limit: Option<u32>) -> Result<Self, ServiceError> {
        match limit {
            None => Ok(Self(DEFAULT_LIST)),
            Some(n) => Self::try_from(n),
        }
    }

    pub fn limit(self) -> u32 {
        self.0
    }
}

impl Default for List {
    fn default() -> Self {
        Self(DEFAULT_LIST)
    }
}

impl TryFrom<u32> for List {
    type Error = ServiceError;

    fn try_from(n: u32) -> Result<Self, ServiceError> {
        if (1..=MAX_LIST).contains(&n) {
            Ok(Self(n))
        } else {
            Err(ServiceError::BadInput(format!("limit: {n} is not between 1 and {MAX_LIST}")))
        }
    }
}

impl From<List> for u32 {
    fn from(l: List) -> Self {
        l.0
    }
}

/// A list's query string. Every service's list reads these keys (each takes some of them:
/// [`ListQuery::only`]); unknown keys are refused.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl ListQuery {
    /// Refuses a key that lists of `what` are not filtered by.
    pub fn only(&self, takes: &[&str], what: &str) -> Result<(), ServiceError> {
        let given = [
            ("date", self.date.is_some()),
            ("customerId", self.customer_id.is_some()),
            ("orderId", self.order_id.is_some()),
            ("status", self.status.is_some()),
        ];
        match given.iter().find(|(key, set)| *set && !takes.contains(key)) {
            Some((key, _)) => Err(ServiceError::BadInput(format!("{key}: {what} are not listed by {key}"))),
            None => Ok(()),
        }
    }

    /// The list's size.
    pub fn size(&self) -> Result<List, ServiceError> {
        List::parse(self.limit)
    }
}

/// The day a list is for: the given one, or today (UTC).
pub fn list_day(date: Option<&str>) -> Result<Day, ServiceError> {
    match date {
        Some(d) => Ok(Day::parse(d)?),
        None => Ok(now().day()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_is_between_one_and_the_most() {
        assert_eq!(List::parse(None).map(List::limit), Ok(DEFAULT_LIST));
        assert_eq!(List::parse(Some(1)).map(List::limit), Ok(1));
        assert_eq!(List::parse(Some(MAX_LIST)).map(List::limit), Ok(MAX_LIST));
        for bad in [0, MAX_LIST + 1] {
            let Err(ServiceError::BadInput(message)) = List::parse(Some(bad)) else { panic!("{bad} is refused") };
            assert!(message.starts_with("limit:"), "{message}");
        }
    }
}

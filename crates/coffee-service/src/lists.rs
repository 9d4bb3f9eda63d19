//! How many records a list returns, and which day it is for: the same everywhere.

use std::marker::PhantomData;

use coffee_domain::{CustomerId, Day, OrderId, Status};
use serde::{Deserialize, Serialize};

use crate::{ServiceError, now};

/// How many records a list returns unless the caller asks for fewer (or more, up to [`MAX_LIST`]).
pub const DEFAULT_LIST: u32 = 500;
pub const MAX_LIST: u32 = 5000;

/// A list's size: between 1 and [`MAX_LIST`], [`DEFAULT_LIST`] when the caller does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
}

/// What a list selects: the records created on a day, of a customer, of an order (one at most),
/// or in a status (oldest first: a queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Of<S> {
    Day(Day),
    Customer(CustomerId),
    Order(OrderId),
    Status(S),
}

/// A kind of record that has lists: what its lists may be filtered by.
pub trait Listed: Clone + PartialEq + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// What the records are called in messages: `orders`, `payments`, `fulfilments`.
    const WHAT: &'static str;
    /// The filters its lists take besides `date` (always taken): any of `customerId`, `orderId`,
    /// `status`.
    const BY: &'static [&'static str];
    /// The status of its records, for lists by status.
    type Status: Status;
}

/// A list request of records of kind `K`: which records, and how many. Parsed from the query
/// string `?date=|customerId=|orderId=|status=&limit=`, one filter at most.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ListQuery", into = "ListQuery", bound = "K: Listed")]
pub struct Listing<K: Listed> {
    pub of: Of<K::Status>,
    pub size: List,
    /// How many of the list to skip first: the next page of a day or a customer's is the
    /// `size` older ones, of a status the `size` younger ones (every page is oldest first).
    pub offset: u32,
    kind: PhantomData<K>,
}

impl<K: Listed> Listing<K> {
    pub fn of(of: Of<K::Status>) -> Self {
        Self { of, size: List::default(), offset: 0, kind: PhantomData }
    }
}

/// The query string's keys as this kind's lists take them: `date`, `limit` and the filters of
/// [`Listed::BY`] (one filter at most), so the OpenAPI document offers only what is accepted.
impl<K: Listed> schemars::JsonSchema for Listing<K> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Listing_{}", K::WHAT).into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut properties = serde_json::Map::new();
        properties.insert("date".to_owned(), generator.subschema_for::<Day>().to_value());
        properties.insert(
            "limit".to_owned(),
            serde_json::json!({
                "type": "integer", "minimum": 1, "maximum": MAX_LIST,
                "description": format!("How many (default {DEFAULT_LIST})."),
            }),
        );
        properties.insert(
            "offset".to_owned(),
            serde_json::json!({
                "type": "integer", "minimum": 0, "maximum": u32::MAX,
                "description": "How many to skip first: the next page (default 0).",
            }),
        );
        let filters: Vec<&str> = std::iter::once("date").chain(K::BY.iter().copied()).collect();
        let pairs: Vec<serde_json::Value> = filters
            .iter()
            .enumerate()
            .flat_map(|(i, a)| filters[i + 1..].iter().map(move |b| serde_json::json!({ "required": [a, b] })))
            .collect();
        for key in K::BY {
            let schema = match *key {
                "status" => generator.subschema_for::<K::Status>().to_value(),
                "customerId" => generator.subschema_for::<CustomerId>().to_value(),
                _ => generator.subschema_for::<OrderId>().to_value(),
            };
            properties.insert((*key).to_owned(), schema);
        }
        schemars::json_schema!({
            "type": "object",
            "description": format!("Which {} (at most one of date, {}; today's, UTC, when none).", K::WHAT, K::BY.join(", ")),
            "properties": properties,
            "additionalProperties": false,
            "not": { "anyOf": pairs },
            "x-parameter": "filter",
        })
    }
}

impl<K: Listed> TryFrom<ListQuery> for Listing<K> {
    type Error = ServiceError;

    fn try_from(q: ListQuery) -> Result<Self, ServiceError> {
        let given = [
            ("customerId", q.customer_id.is_some()),
            ("orderId", q.order_id.is_some()),
            ("status", q.status.is_some()),
        ];
        if let Some((key, _)) = given.iter().find(|(key, set)| *set && !K::BY.contains(key)) {
            return Err(ServiceError::BadInput(format!("{key}: {} are not listed by {key}", K::WHAT)));
        }
        let filters = usize::from(q.date.is_some()) + given.iter().filter(|(_, set)| *set).count();
        if filters > 1 {
            let by = K::BY.join(", ");
            return Err(ServiceError::BadInput(format!(
                "give at most one of date, {by}: {} are listed by one",
                K::WHAT
            )));
        }
        let of = match (q.customer_id, q.order_id, q.status) {
            (Some(c), _, _) => Of::Customer(CustomerId::parse(&c)?),
            (_, Some(o), _) => Of::Order(OrderId::parse(&o)?),
            (_, _, Some(s)) => Of::Status(K::Status::parse(&s)?),
            (None, None, None) => Of::Day(list_day(q.date.as_deref())?),
        };
        Ok(Self { of, size: List::parse(q.limit)?, offset: q.offset.unwrap_or(0), kind: PhantomData })
    }
}

impl<K: Listed> From<Listing<K>> for ListQuery {
    fn from(list: Listing<K>) -> Self {
        let offset = (list.offset > 0).then_some(list.offset);
        let mut q = Self { limit: Some(list.size.limit()), offset, ..Self::default() };
        match list.of {
            Of::Day(day) => q.date = Some(day.to_string()),
            Of::Customer(c) => q.customer_id = Some(c.to_string()),
            Of::Order(id) => q.order_id = Some(id.to_string()),
            Of::Status(s) => q.status = Some(s.as_str().to_owned()),
        }
        q
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

    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Things;

    impl Listed for Things {
        const WHAT: &'static str = "things";
        const BY: &'static [&'static str] = &["customerId"];
        type Status = coffee_domain::OrderStatus;
    }

    /// A page is its filter, its size and where it starts, and it makes the same query string
    /// back (what the services' HTTP clients send).
    #[test]
    fn a_page_round_trips_through_the_query_string() {
        let q =
            ListQuery { date: Some("2026-12-01".into()), limit: Some(50), offset: Some(100), ..ListQuery::default() };
        let page = Listing::<Things>::try_from(q).expect("a page");
        assert_eq!((page.size.limit(), page.offset), (50, 100));
        let back = ListQuery::from(page);
        assert_eq!((back.date.as_deref(), back.limit, back.offset), (Some("2026-12-01"), Some(50), Some(100)));
        let first = Listing::<Things>::try_from(ListQuery::default()).expect("today's");
        assert_eq!((first.offset, ListQuery::from(first).offset), (0, None));
    }
}

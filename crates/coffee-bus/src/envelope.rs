//! The CloudEvents 1.0 envelope (JSON structured mode) that carries every domain event.
//!
//! A small serde struct rather than the cloudevents SDK: we need one format, one
//! extension (`traceparent`) and no transport bindings of the SDK's.

use std::borrow::Cow;

use coffee_domain::{DomainEvent, EventType};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::trace::TraceContext;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Envelope {
    pub specversion: String,
    /// A UUIDv7: unique, and ordered by time of creation.
    pub id: String,
    /// The producing service: `order-service`, `payment-service` or `fulfilment-service`.
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// The order the event is about: its FIFO group.
    pub subject: String,
    /// RFC 3339, UTC, microseconds.
    pub time: String,
    pub datacontenttype: String,
    /// W3C trace context, so one saga can be followed across services.
    pub traceparent: String,
    pub data: Value,
}

impl Envelope {
    /// Wraps a domain event for publishing, in its order's trace (see
    /// [`TraceContext::of_order`]): under `trace` when that is already the order's (a handler
    /// reacting to one of its events), else as a new span of the order's trace (the store's
    /// commit span links it to `trace`, the request that caused it).
    pub fn wrap(event: &DomainEvent, trace: &TraceContext) -> Self {
        let order = TraceContext::of_order(event.order_id().as_uuid());
        let parent = if trace.trace_id == order.trace_id { *trace } else { order };
        Self::of(
            event.source().as_str(),
            event.event_type().as_str(),
            &event.order_id().to_string(),
            event.to_json(),
            &parent,
        )
    }

    /// An event of this moment about `subject`: one of the saga's ([`Envelope::wrap`]) or one
    /// of its own kind (a session that ended, the shop's new settings).
    pub fn of(source: &str, event_type: &str, subject: &str, data: Value, trace: &TraceContext) -> Self {
        let now = jiff::Timestamp::now();
        Self {
            specversion: "1.0".to_owned(),
            id: uuid::Uuid::now_v7().to_string(),
            source: source.to_owned(),
            event_type: event_type.to_owned(),
            subject: subject.to_owned(),
            time: format!("{now:.6}"),
            datacontenttype: "application/json".to_owned(),
            traceparent: trace.child().to_traceparent(),
            data,
        }
    }

    /// The event's type, if it is one this system knows.
    pub fn known_type(&self) -> Option<EventType> {
        EventType::parse(&self.event_type)
    }

    /// Reads the domain event back. Fails for an unknown type or data of the wrong shape.
    pub fn domain_event(&self) -> Result<DomainEvent, EnvelopeError> {
        let event_type = self.known_type().ok_or_else(|| EnvelopeError::UnknownType(self.event_type.clone()))?;
        DomainEvent::from_json(event_type, &self.data)
            .map_err(|e| EnvelopeError::BadData { event_type: self.event_type.clone(), reason: e.to_string() })
    }

    /// The trace this event belongs to; reactions to it continue the same trace.
    pub fn trace(&self) -> TraceContext {
        TraceContext::parse(&self.traceparent).unwrap_or_else(TraceContext::new_root)
    }

    /// A top-level attribute by its CloudEvents name, as JSON, for pattern matching.
    pub fn attribute(&self, name: &str) -> Option<Cow<'_, Value>> {
        let text = match name {
            "specversion" => &self.specversion,
            "id" => &self.id,
            "source" => &self.source,
            "type" => &self.event_type,
            "subject" => &self.subject,
            "time" => &self.time,
            "datacontenttype" => &self.datacontenttype,
            "traceparent" => &self.traceparent,
            "data" => return Some(Cow::Borrowed(&self.data)),
            _ => return None,
        };
        Some(Cow::Owned(Value::String(text.clone())))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // An envelope holds only strings and a JSON value: serializing cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Malformed(e.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("not a CloudEvents envelope: {0}")]
    Malformed(String),
    #[error("unknown event type '{0}'")]
    UnknownType(String),
    #[error("event data does not fit type {event_type}: {reason}")]
    BadData { event_type: String, reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffee_domain::{CustomerId, CustomerName, Millis, Order, OrderId};

    fn an_order_event() -> DomainEvent {
        DomainEvent::Order(Order::place(
            OrderId::from_uuid(uuid::Uuid::now_v7()),
            coffee_domain::Coffee::from_menu("1").expect("menu"),
            CustomerId::parse("c").expect("id"),
            CustomerName::parse("Bo").expect("name"),
            Millis(0),
        ))
    }

    #[test]
    fn an_envelope_carries_the_cloudevents_attributes_and_round_trips() {
        let event = an_order_event();
        let trace = TraceContext::new_root();
        let env = Envelope::wrap(&event, &trace);
        let json: Value = serde_json::from_slice(&env.to_bytes()).expect("json");
        assert_eq!(json["specversion"], "1.0");
        assert_eq!(json["type"], "coffee.order.created");
        assert_eq!(json["source"], "order-service");
        assert_eq!(json["subject"], event.order_id().to_string());
        assert_eq!(json["data"]["orderStatus"], "ORDER_CREATED");
        assert!(json["time"].as_str().expect("time").ends_with('Z'));
        let order_trace = *event.order_id().as_uuid().as_bytes();
        assert_eq!(env.trace().trace_id, order_trace, "the event is in its order's trace");
        // A reaction to it, in the order's trace already, continues under it.
        let reaction = Envelope::wrap(&event, &env.trace());
        assert_eq!(reaction.trace().trace_id, order_trace);
        assert_ne!(reaction.trace().span_id, env.trace().span_id, "a span of its own");
        let back = Envelope::from_bytes(&env.to_bytes()).expect("parses");
        assert_eq!(back.domain_event().expect("domain event"), event);
    }

    #[test]
    fn an_envelope_with_an_unknown_type_is_refused_by_name() {
        let mut env = Envelope::wrap(&an_order_event(), &TraceContext::new_root());
        env.event_type = "coffee.order.exploded".into();
        assert_eq!(env.domain_event().unwrap_err(), EnvelopeError::UnknownType("coffee.order.exploded".into()));
    }
}

//! Rules: which consumer gets which events, as EventBridge rules route events to targets.
//! One definition serves both transports.

use coffee_domain::{EventType, Source};

use crate::envelope::Envelope;
use crate::pattern::Pattern;

/// A consumer's subscription: its durable queue receives every event the pattern matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The consuming service (`order-service`, ...): also the name of its queue.
    pub consumer: String,
    pub pattern: Pattern,
}

impl Rule {
    pub fn new(consumer: impl Into<String>, pattern: Pattern) -> Self {
        Self { consumer: consumer.into(), pattern }
    }

    /// The rule of a service of the saga: its queue receives the event types the domain says it
    /// reacts to (`coffee_domain::saga`), as the pattern `{"type": [...]}`.
    pub fn for_service(service: Source) -> Self {
        Self::for_types(service.as_str(), coffee_domain::saga::reacts_to(service))
    }

    /// A rule selecting these event types.
    pub fn for_types(consumer: impl Into<String>, types: &[EventType]) -> Self {
        Self::for_type_names(consumer, types.iter().map(|t| t.as_str()))
    }

    /// A rule selecting the event types named (the saga's, and a service's own, such as its timers).
    pub fn for_type_names<'a>(consumer: impl Into<String>, types: impl IntoIterator<Item = &'a str>) -> Self {
        let types: Vec<&str> = types.into_iter().collect();
        // A list of strings under one key is always a valid pattern.
        let pattern = Pattern::from_value(serde_json::json!({ "type": types }))
            .unwrap_or_else(|e| unreachable!("a list of event types is a pattern: {e}"));
        Self::new(consumer, pattern)
    }

    pub fn matches(&self, envelope: &Envelope) -> bool {
        self.pattern.matches_fields(&|name: &str| envelope.attribute(name))
    }

    /// The event types this rule can select, when its pattern lists them literally.
    pub fn event_types(&self) -> Option<Vec<String>> {
        self.pattern.literal_values("type")
    }
}

/// Every rule on the bus.
#[derive(Debug, Clone, Default)]
pub struct Rules(Vec<Rule>);

impl Rules {
    pub fn new(rules: Vec<Rule>) -> Self {
        Self(rules)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.0.iter()
    }

    /// The consumers whose queues receive this event.
    pub fn consumers_for<'a>(&'a self, envelope: &'a Envelope) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |r| r.matches(envelope)).map(|r| r.consumer.as_str())
    }
}

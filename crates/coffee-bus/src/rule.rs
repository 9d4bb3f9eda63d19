//! Rules: which consumer gets which events, as EventBridge rules route events to targets.
//! One definition serves both transports.

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

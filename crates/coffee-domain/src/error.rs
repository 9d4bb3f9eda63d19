//! The two ways the domain says no: the input is not a valid value, or the change is
//! not a legal step of a state machine.

/// A value from outside the system that is not valid. `field` names the input as the
/// client sent it (camelCase), so the message can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidInput {
    pub field: &'static str,
    pub reason: String,
}

impl InvalidInput {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self { field, reason: reason.into() }
    }
}

/// A status change that the entity's state machine does not allow. It carries the
/// current status so that callers (HTTP 409, GraphQL CONFLICT) can say where things stand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entity} {id} is {from} and cannot become {to}")]
pub struct IllegalTransition {
    pub entity: &'static str,
    pub id: String,
    pub from: &'static str,
    pub to: &'static str,
}

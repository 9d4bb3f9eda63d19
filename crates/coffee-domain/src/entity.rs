//! What the order, the payment and the fulfilment have in common: each belongs to one order and
//! one customer, moves through its state machine one legal step at a time, and is announced by
//! an event carrying its state after each step. The store keys records by these fields, the
//! gateway's subscriptions filter by them, and the event of each step is built here.

use crate::{CustomerId, DomainEvent, Millis, OrderId, Source};

pub trait Entity: Clone + PartialEq + Send + Sync + 'static {
    /// The service that owns it and publishes its events.
    const SOURCE: Source;
    /// Its name in messages: `order`, `payment`, `fulfilment`.
    const NAME: &'static str;

    /// Its id, in canonical form.
    fn id_text(&self) -> String;
    /// The order it belongs to: the subject of its events.
    fn order_id(&self) -> OrderId;
    fn customer_id(&self) -> &CustomerId;
    /// Its status, as the original system spells it.
    fn status_text(&self) -> &'static str;
    fn created_at(&self) -> Millis;
    fn updated_at(&self) -> Millis;
    /// The event that announces this state.
    fn event(&self) -> DomainEvent;
    /// The entity an event carries, when it is of this kind.
    fn from_event(event: DomainEvent) -> Option<Self>;
}

/// Implements [`Entity`] for one of the three entities, and its one way to change status: a
/// legal step of its state machine or an [`IllegalTransition`](crate::IllegalTransition).
macro_rules! entity {
    ($entity:ident, $status:ident, $source:ident, $name:literal, order_id = |$e:ident| $order_id:expr) => {
        impl $crate::entity::Entity for $entity {
            const SOURCE: $crate::Source = $crate::Source::$source;
            const NAME: &'static str = $name;

            fn id_text(&self) -> String {
                self.id.to_string()
            }
            fn order_id(&self) -> $crate::OrderId {
                let $e = self;
                $order_id
            }
            fn customer_id(&self) -> &$crate::CustomerId {
                &self.customer_id
            }
            fn status_text(&self) -> &'static str {
                self.status.as_str()
            }
            fn created_at(&self) -> $crate::Millis {
                self.created_at
            }
            fn updated_at(&self) -> $crate::Millis {
                self.updated_at
            }
            fn event(&self) -> $crate::DomainEvent {
                $crate::DomainEvent::$entity(self.clone())
            }
            fn from_event(event: $crate::DomainEvent) -> Option<Self> {
                match event {
                    $crate::DomainEvent::$entity(e) => Some(e),
                    _ => None,
                }
            }
        }

        impl $entity {
            /// Takes one step of the state machine, keeping the note unless a new one is given.
            fn become_(
                &self,
                next: $status,
                note: Option<$crate::Note>,
                now: $crate::Millis,
            ) -> Result<Self, $crate::IllegalTransition> {
                if !self.status.can_become(next) {
                    return Err(self.refuse(next));
                }
                Ok(Self { status: next, note: note.or_else(|| self.note.clone()), updated_at: now, ..self.clone() })
            }

            /// The refusal of a step to `next`, naming where the entity stands.
            fn refuse(&self, next: $status) -> $crate::IllegalTransition {
                $crate::IllegalTransition {
                    entity: $name,
                    id: self.id.to_string(),
                    from: self.status.as_str(),
                    to: next.as_str(),
                }
            }
        }
    };
}

/// Each entity's JSON, with the original's field names: `id` and `<entity>Id` both hold its id,
/// its status and note are `<entity>Status` and `<entity>Note`, and `date` is the day it was
/// created (written for clients, never read back). A record stored before `updatedAt` existed
/// reads with `createdAt` in its place; one stored before order numbers has no `orderNumber`, and one
/// from before drink options has no `options` (the drink as it came).
macro_rules! wire {
    (
        $entity:ident as $wire:ident {
            $id:ident: $id_type:ty, $status:ident: $status_type:ty, $note:ident
            $(, $(#[$meta:meta])* $field:ident: $type:ty)* $(,)?
        }
    ) => {
        #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        #[serde(rename_all = "camelCase")]
        struct $wire {
            id: $id_type,
            $id: $id_type,
            $status: $status_type,
            $note: Option<$crate::Note>,
            $($(#[$meta])* $field: $type,)*
            coffee: $crate::Coffee,
            customer_id: $crate::CustomerId,
            customer_name: $crate::CustomerName,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            order_number: Option<u32>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            options: Option<$crate::DrinkOptions>,
            created_at: $crate::Millis,
            #[serde(default)]
            updated_at: Option<$crate::Millis>,
            #[serde(default, skip_deserializing)]
            date: Option<$crate::Day>,
        }

        impl From<$entity> for $wire {
            fn from(e: $entity) -> Self {
                Self {
                    id: e.id,
                    $id: e.id,
                    $status: e.status,
                    $note: e.note,
                    $($field: e.$field,)*
                    date: Some(e.created_at.day()),
                    coffee: e.coffee,
                    customer_id: e.customer_id,
                    customer_name: e.customer_name,
                    order_number: e.order_number,
                    options: e.options,
                    created_at: e.created_at,
                    updated_at: Some(e.updated_at),
                }
            }
        }

        impl From<$wire> for $entity {
            fn from(w: $wire) -> Self {
                Self {
                    id: w.$id,
                    status: w.$status,
                    note: w.$note,
                    $($field: w.$field,)*
                    coffee: w.coffee,
                    customer_id: w.customer_id,
                    customer_name: w.customer_name,
                    order_number: w.order_number,
                    options: w.options,
                    created_at: w.created_at,
                    updated_at: w.updated_at.unwrap_or(w.created_at),
                }
            }
        }
    };
}

pub(crate) use {entity, wire};

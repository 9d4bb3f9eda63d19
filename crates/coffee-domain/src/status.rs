//! The three state machines. Every status change in the system is a step listed here;
//! anything else is an [`IllegalTransition`](crate::IllegalTransition). The status strings
//! are exactly the original system's.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::InvalidInput;

/// What every status has: its text, exactly the original system's, parsed back with a message
/// naming the field.
pub trait Status:
    Copy
    + PartialEq
    + Eq
    + fmt::Debug
    + fmt::Display
    + Serialize
    + for<'de> Deserialize<'de>
    + schemars::JsonSchema
    + Send
    + Sync
    + 'static
{
    fn as_str(self) -> &'static str;
    fn parse(input: &str) -> Result<Self, InvalidInput>;
    /// Every status, in the machine's order.
    fn all() -> &'static [Self];
}

macro_rules! status_enum {
    (
        $(#[$doc:meta])* $name:ident, field = $field:literal,
        { $($variant:ident => $text:literal),+ $(,)? }
        steps { $($from:ident -> [$($to:ident),*]),* $(,)? }
        terminal [$($end:ident),*]
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            pub fn parse(input: &str) -> Result<Self, InvalidInput> {
                let input = input.trim();
                Self::ALL.iter().copied().find(|s| s.as_str() == input).ok_or_else(|| {
                    let known: Vec<&str> = Self::ALL.iter().map(|s| s.as_str()).collect();
                    InvalidInput::new($field, format!("'{input}' is not one of {}", known.join(", ")))
                })
            }

            /// Whether the state machine has a step from `self` to `next`.
            pub fn can_become(self, next: Self) -> bool {
                match self {
                    $(Self::$from => matches!(next, $(Self::$to)|*),)*
                    #[allow(unreachable_patterns)]
                    _ => false,
                }
            }

            /// A status with no step out of it.
            pub fn is_terminal(self) -> bool {
                matches!(self, $(Self::$end)|*)
            }
        }

        impl Status for $name {
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
            fn all() -> &'static [Self] {
                Self::ALL
            }
            fn parse(input: &str) -> Result<Self, InvalidInput> {
                $name::parse(input)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

status_enum!(
    /// Where an order stands, from the customer's point of view.
    OrderStatus, field = "status",
    {
        Created => "ORDER_CREATED",
        InProgress => "ORDER_IN_PROGRESS",
        Cancelled => "ORDER_CANCELLED",
        Completed => "ORDER_COMPLETED",
    }
    steps {
        Created -> [InProgress, Cancelled],
        InProgress -> [Completed, Cancelled],
    }
    terminal [Cancelled, Completed]
);

status_enum!(
    /// Where a payment stands. PENDING: the payment service knows the order and its
    /// price but no payment intent exists yet. CREATED: the provider holds an intent and
    /// the customer can pay. SUCCESSFUL may still become REFUNDED; so may FAILED, when a
    /// capture is reported after a decline failed the payment (two card attempts raced).
    PaymentStatus, field = "status",
    {
        Pending => "PAYMENT_PENDING",
        Created => "PAYMENT_CREATED",
        Successful => "PAYMENT_SUCCESSFUL",
        Failed => "PAYMENT_FAILED",
        Refunded => "PAYMENT_REFUNDED",
    }
    steps {
        Pending -> [Created, Failed],
        Created -> [Successful, Failed],
        Successful -> [Refunded],
        Failed -> [Refunded],
    }
    terminal [Refunded]
);

status_enum!(
    /// Where the making of a coffee stands. PENDING is part of the original's vocabulary;
    /// a fulfilment is only ever created once its payment succeeded, so it starts CREATED.
    FulfilmentStatus, field = "status",
    {
        Pending => "FULFILMENT_PENDING",
        Created => "FULFILMENT_CREATED",
        Completed => "FULFILMENT_COMPLETED",
        Rejected => "FULFILMENT_REJECTED",
    }
    steps {
        Pending -> [Created, Rejected],
        Created -> [Completed, Rejected],
    }
    terminal [Completed, Rejected]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_print_and_parse_as_the_original_strings() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Ok(*s));
            assert_eq!(serde_json::to_string(s).expect("serializes"), format!("\"{s}\""));
        }
        assert_eq!(PaymentStatus::parse("PAYMENT_REFUNDED"), Ok(PaymentStatus::Refunded));
        let err = FulfilmentStatus::parse("DONE").unwrap_err();
        assert!(err.reason.contains("FULFILMENT_COMPLETED"), "{err}");
    }

    /// Every step `can_become` allows, and the terminal statuses, as text.
    fn machine<S: Status>(all: &[S], can_become: fn(S, S) -> bool, is_terminal: fn(S) -> bool) -> Vec<String> {
        let steps =
            all.iter().flat_map(|from| all.iter().filter(|to| can_become(*from, **to)).map(move |to| (from, to)));
        let mut text: Vec<String> = steps.map(|(from, to)| format!("{from} -> {to}")).collect();
        text.extend(all.iter().filter(|s| is_terminal(**s)).map(|s| format!("{s} ends")));
        text
    }

    /// cargo-mutants does not mutate inside macros, so no mutant ever changes these tables:
    /// this test is what fails when a step is added, removed or redirected.
    #[test]
    fn each_state_machine_has_exactly_its_steps() {
        assert_eq!(
            machine(OrderStatus::ALL, OrderStatus::can_become, OrderStatus::is_terminal),
            [
                "ORDER_CREATED -> ORDER_IN_PROGRESS",
                "ORDER_CREATED -> ORDER_CANCELLED",
                "ORDER_IN_PROGRESS -> ORDER_CANCELLED",
                "ORDER_IN_PROGRESS -> ORDER_COMPLETED",
                "ORDER_CANCELLED ends",
                "ORDER_COMPLETED ends",
            ]
        );
        assert_eq!(
            machine(PaymentStatus::ALL, PaymentStatus::can_become, PaymentStatus::is_terminal),
            [
                "PAYMENT_PENDING -> PAYMENT_CREATED",
                "PAYMENT_PENDING -> PAYMENT_FAILED",
                "PAYMENT_CREATED -> PAYMENT_SUCCESSFUL",
                "PAYMENT_CREATED -> PAYMENT_FAILED",
                "PAYMENT_SUCCESSFUL -> PAYMENT_REFUNDED",
                "PAYMENT_FAILED -> PAYMENT_REFUNDED",
                "PAYMENT_REFUNDED ends",
            ]
        );
        assert_eq!(
            machine(FulfilmentStatus::ALL, FulfilmentStatus::can_become, FulfilmentStatus::is_terminal),
            [
                "FULFILMENT_PENDING -> FULFILMENT_CREATED",
                "FULFILMENT_PENDING -> FULFILMENT_REJECTED",
                "FULFILMENT_CREATED -> FULFILMENT_COMPLETED",
                "FULFILMENT_CREATED -> FULFILMENT_REJECTED",
                "FULFILMENT_COMPLETED ends",
                "FULFILMENT_REJECTED ends",
            ]
        );
    }

    #[test]
    fn terminal_statuses_have_no_step_out() {
        for from in OrderStatus::ALL.iter().filter(|s| s.is_terminal()) {
            assert!(OrderStatus::ALL.iter().all(|to| !from.can_become(*to)));
        }
        for from in PaymentStatus::ALL.iter().filter(|s| s.is_terminal()) {
            assert!(PaymentStatus::ALL.iter().all(|to| !from.can_become(*to)));
        }
        for from in FulfilmentStatus::ALL.iter().filter(|s| s.is_terminal()) {
            assert!(FulfilmentStatus::ALL.iter().all(|to| !from.can_become(*to)));
        }
    }

    #[test]
    fn a_completed_order_cannot_be_cancelled_and_a_rejected_fulfilment_cannot_be_completed() {
        assert!(!OrderStatus::Completed.can_become(OrderStatus::Cancelled));
        assert!(!FulfilmentStatus::Rejected.can_become(FulfilmentStatus::Completed));
        assert!(!PaymentStatus::Failed.can_become(PaymentStatus::Successful));
        assert!(!PaymentStatus::Refunded.can_become(PaymentStatus::Successful));
    }
}

//! The language of Event Driven Coffee.
//!
//! Everything here is pure: no I/O, no clock, no randomness. Callers pass in the time
//! and freshly generated ids; the domain decides what changes. Values that cross the
//! system's boundary (a coffee id, a customer name, a card number) are parsed once into
//! types that can only hold valid values, so the rest of the code never re-checks them.

pub mod catalogue;
pub mod entity;
pub mod error;
pub mod event;
pub mod figures;
pub mod fulfilment;
pub mod ids;
pub mod options;
pub mod order;
pub mod payment;
pub mod people;
pub mod saga;
pub mod schema;
pub mod shop;
pub mod status;
pub mod time;
pub mod whole;

#[cfg(test)]
mod testing;

pub use catalogue::{
    Cents, Coffee, CoffeeChange, CoffeeId, Menu, MenuItem, NotOrderable, catalogue, menu, on_the_menu, options_of,
};
pub use entity::Entity;
pub use error::{IllegalTransition, InvalidInput};
pub use event::{DomainEvent, EventType, Source};
pub use figures::DayFigures;
pub use fulfilment::{Fulfilment, FulfilmentStatus};
pub use ids::{CardNumber, CustomerId, CustomerName, FulfilmentId, Note, OrderId, PaymentId};
pub use options::{DrinkOptions, OptionPrices};
pub use order::{Order, OrderStatus};
pub use payment::{Payment, PaymentStatus};
pub use people::{StaffName, StaffRole};
pub use saga::{FulfilmentInput, OrderInput, PaymentInput};
pub use shop::{Shop, ShopMessage};
pub use status::Status;
pub use time::{Day, Millis};

//! Example entities for the domain's unit tests: one order, its payment and its fulfilment.

use crate::payment::Capture;
use crate::{CoffeeId, CustomerId, CustomerName, Fulfilment, FulfilmentId, Millis, Order, OrderId, Payment, PaymentId};

pub fn an_order() -> Order {
    Order::place(
        OrderId::parse("0193f5a0-0000-7000-8000-000000000001").expect("id"),
        crate::on_the_menu(&CoffeeId::parse("2").expect("an id")).expect("latte"),
        CustomerId::parse("c-1").expect("customer"),
        CustomerName::parse("Ada").expect("name"),
        Millis(1_764_000_000_000),
    )
}

/// The order's payment, as the payment service first records it.
pub fn its_pending_payment(order: &Order) -> Payment {
    Payment::on_order_created(PaymentId::parse("0193f5a0-0000-7000-8000-000000000002").expect("id"), order, Millis(2))
}

/// The order's payment, paid.
pub fn its_payment(order: &Order) -> Payment {
    let created = its_pending_payment(order).intent_created("pi_1".into(), Millis(3)).expect("created");
    match created.on_captured(Millis(4)) {
        Capture::Succeeded(paid) => paid,
        other => panic!("expected a success, got {other:?}"),
    }
}

/// The fulfilment of the paid order.
pub fn its_fulfilment(order: &Order) -> Fulfilment {
    let id = FulfilmentId::parse("0193f5a0-0000-7000-8000-000000000003").expect("id");
    Fulfilment::on_payment_succeeded(id, &its_payment(order), Millis(5))
}

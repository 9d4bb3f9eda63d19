//! A capture whose webhook never arrived (the process died between the two) is not lost:
//! confirming again delivers the same webhook, and the recovery run at start finds it.

use std::sync::Arc;

use coffee_bus::consumer::handle_delivery;
use coffee_bus::sqlite::SqliteStore;
use coffee_bus::{Envelope, Rules, Store, TraceContext};
use coffee_domain::{CardNumber, CustomerId, CustomerName, DomainEvent, Millis, Order, OrderId, PaymentId};
use coffee_payment::PaymentService;
use coffee_payment::client::PaymentClient;
use coffee_payment::handlers::PaymentHandlers;
use coffee_payment::model::{ConfirmPayment, CreatePayment};
use coffee_service::{Context, ServiceError};

const CARD: &str = "4242424242424242";

struct Fixture {
    service: PaymentService,
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = coffee_testkit::sqlite_store(dir.path(), Rules::default(), coffee_payment::store::MIGRATIONS);
    let shared: Arc<dyn Store> = store.clone();
    Fixture { service: PaymentService::simulated(shared, b"secret".to_vec()), store, _dir: dir }
}

/// The payment service hears of an order and the customer starts paying: PAYMENT_CREATED.
async fn a_created_payment(f: &Fixture) -> (PaymentId, String) {
    let order = Order::place(
        OrderId::from_uuid(uuid::Uuid::now_v7()),
        coffee_domain::Coffee::from_menu("2").expect("menu"),
        CustomerId::parse("c").expect("id"),
        CustomerName::parse("Ada").expect("name"),
        Millis(jiff::Timestamp::now().as_millisecond()),
    );
    let event = Envelope::wrap(&DomainEvent::Order(order.clone()), &TraceContext::new_root());
    let handlers = PaymentHandlers::new(f.service.clone());
    handle_delivery(f.store.as_ref(), "payment-service", &handlers, &event, None).await.expect("recorded");
    let request = CreatePayment { order_id: order.id };
    let created = f.service.create_payment(&Context::internal(), &request).await.expect("created");
    let intent = created.payment.payment_intent_id.clone().expect("an intent");
    (created.payment.id, intent)
}

/// The provider captures, and the process "dies" before the webhook is applied.
async fn capture_without_webhook(f: &Fixture, intent: &str) {
    let card_form = f.service.provider().card_form().expect("the simulated provider's card form");
    card_form.confirm(intent, &CardNumber::parse(CARD).expect("card")).await.expect("captured");
}

#[tokio::test]
async fn confirming_a_captured_payment_again_delivers_its_webhook_once() {
    let f = fixture().await;
    let (payment_id, intent) = a_created_payment(&f).await;
    capture_without_webhook(&f, &intent).await;
    let ctx = Context::internal();
    assert_eq!(f.service.payment(&ctx, payment_id).await.expect("read").status.as_str(), "PAYMENT_CREATED");

    let card = ConfirmPayment { card_number: CardNumber::parse(CARD).expect("card") };
    let paid = f.service.confirm_payment(&ctx, payment_id, &card).await.expect("confirmed");
    assert_eq!(paid.status.as_str(), "PAYMENT_SUCCESSFUL");
    let again = f.service.confirm_payment(&ctx, payment_id, &card).await;
    assert!(
        matches!(&again, Err(ServiceError::Conflict(m)) if m.contains("PAYMENT_SUCCESSFUL")),
        "a recorded payment is not paid twice: {again:?}"
    );
    let events = f.service.payment_events(&ctx, paid.order_id).await.expect("events");
    let succeeded = events.iter().filter(|e| e.event_type == "coffee.payment.succeeded").count();
    assert_eq!(succeeded, 1, "one success, however often the webhook came");
    f.store.close().await;
}

#[tokio::test]
async fn the_recovery_at_start_delivers_the_webhooks_of_unrecorded_captures() {
    let f = fixture().await;
    let (payment_id, intent) = a_created_payment(&f).await;
    let (untouched, _) = a_created_payment(&f).await;
    capture_without_webhook(&f, &intent).await;

    let ctx = Context::internal();
    assert_eq!(f.service.recover_missed_captures().await, Ok(1));
    assert_eq!(f.service.payment(&ctx, payment_id).await.expect("read").status.as_str(), "PAYMENT_SUCCESSFUL");
    assert_eq!(f.service.payment(&ctx, untouched).await.expect("read").status.as_str(), "PAYMENT_CREATED");
    assert_eq!(f.service.recover_missed_captures().await, Ok(0), "nothing left to deliver");
    f.store.close().await;
}

//! The payment service against its provider, where the domain's rules meet the world: a
//! capture whose webhook never arrived (the process died between the two) is not lost, a
//! cancellation that races the capture ends with the money returned or never taken, and a
//! refund is asked of the provider once.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use coffee_bus::consumer::handle_delivery;
use coffee_bus::sqlite::SqliteStore;
use coffee_bus::{Change, Envelope, Expect, Records, Rules, Store, TraceContext};
use coffee_domain::{CardNumber, CustomerId, CustomerName, DomainEvent, Millis, Order, OrderId, Payment, PaymentId};
use coffee_payment::PaymentService;
use coffee_payment::client::PaymentClient;
use coffee_payment::handlers::PaymentHandlers;
use coffee_payment::model::{ConfirmPayment, CreatePayment, PAYMENTS, PaymentList};
use coffee_payment::provider::simulated::{INTENTS, IntentStatus, SimulatedIntent};
use coffee_payment::provider::{CancelOutcome, CardForm, Intent, PaymentProvider, ProviderError, SimulatedProvider};
use coffee_payment::webhook::WebhookEvent;
use coffee_service::{Context, Of, ServiceError};

const CARD: &str = "4242424242424242";
const SECRET: &[u8] = b"secret";

struct Fixture {
    service: PaymentService,
    store: Arc<SqliteStore>,
    provider: Arc<Counting>,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = coffee_testkit::sqlite_store(dir.path(), Rules::default(), coffee_payment::store::MIGRATIONS);
    let shared: Arc<dyn Store> = store.clone();
    let provider = Arc::new(Counting {
        inner: SimulatedProvider::new(shared.clone(), SECRET.to_vec()),
        store: shared.clone(),
        refunds: AtomicUsize::new(0),
        interfere_with: Mutex::new(None),
    });
    let service = PaymentService::with_provider(shared, provider.clone(), SECRET.to_vec());
    Fixture { service, store, provider, _dir: dir }
}

/// The simulated provider, counting the refunds it is asked for. When told to, it changes the
/// payment while it refunds, as a concurrent writer would, so the caller's commit conflicts.
struct Counting {
    inner: SimulatedProvider,
    store: Arc<dyn Store>,
    refunds: AtomicUsize,
    interfere_with: Mutex<Option<PaymentId>>,
}

#[async_trait]
impl PaymentProvider for Counting {
    async fn create_intent(&self, payment: &Payment) -> Result<Intent, ProviderError> {
        self.inner.create_intent(payment).await
    }
    async fn client_secret(&self, intent_id: &str) -> Result<String, ProviderError> {
        self.inner.client_secret(intent_id).await
    }
    async fn cancel_intent(&self, intent_id: &str) -> Result<CancelOutcome, ProviderError> {
        self.inner.cancel_intent(intent_id).await
    }
    async fn refund(&self, intent_id: &str) -> Result<(), ProviderError> {
        self.refunds.fetch_add(1, Ordering::SeqCst);
        let interfere = self.interfere_with.lock().expect("lock").take();
        if let Some(payment_id) = interfere {
            let payments = Records::new(self.store.clone(), PAYMENTS);
            let current = payments.get(&payment_id.to_string()).await?.expect("the payment");
            let touched = Change::new().put(PAYMENTS, &current.value, Expect::Version(current.version))?;
            self.store.commit(touched).await?;
        }
        self.inner.refund(intent_id).await
    }
    fn checkout(&self) -> coffee_payment::model::Checkout {
        self.inner.checkout()
    }
    fn card_form(&self) -> Option<&dyn CardForm> {
        self.inner.card_form()
    }
}

fn an_order() -> Order {
    Order::place(
        OrderId::from_uuid(uuid::Uuid::now_v7()),
        coffee_domain::Coffee::from_menu("2").expect("menu"),
        CustomerId::parse("c").expect("id"),
        CustomerName::parse("Ada").expect("name"),
        Millis(jiff::Timestamp::now().as_millisecond()),
    )
}

/// Delivers an order's event to the payment service's handlers, as its queue would.
async fn deliver(f: &Fixture, order: &Order) {
    let event = Envelope::wrap(&DomainEvent::Order(order.clone()), &TraceContext::new_root());
    let handlers = PaymentHandlers::new(f.service.clone());
    handle_delivery(f.store.as_ref(), "payment-service", &handlers, &event, None).await.expect("handled");
}

/// The payment service hears of an order and the customer starts paying: PAYMENT_CREATED.
async fn a_created_payment_of(f: &Fixture) -> (Order, PaymentId, String) {
    let order = an_order();
    deliver(f, &order).await;
    let request = CreatePayment { order_id: order.id };
    let created = f.service.create_payment(&Context::internal(), &request).await.expect("created");
    let intent = created.payment.payment_intent_id.clone().expect("an intent");
    (order, created.payment.id, intent)
}

async fn a_created_payment(f: &Fixture) -> (PaymentId, String) {
    let (_, payment, intent) = a_created_payment_of(f).await;
    (payment, intent)
}

/// The provider captures, and the process "dies" before the webhook is applied.
async fn capture_without_webhook(f: &Fixture, intent: &str) -> coffee_payment::provider::Delivery {
    let card_form = f.service.provider().card_form().expect("the simulated provider's card form");
    card_form.confirm(intent, &CardNumber::parse(CARD).expect("card")).await.expect("captured")
}

fn cancelled(order: &Order) -> Order {
    order.cancel_by_customer(None, Millis(order.created_at.0 + 1)).expect("a placed order can be cancelled")
}

async fn status_of(f: &Fixture, payment: PaymentId) -> String {
    f.service.payment(&Context::internal(), payment).await.expect("read").status.as_str().to_owned()
}

async fn intent_status(f: &Fixture, intent: &str) -> &'static str {
    let intents = Records::new(f.store.clone() as Arc<dyn Store>, INTENTS);
    intents.get(intent).await.expect("read").expect("the intent").value.status.as_str()
}

async fn event_types(f: &Fixture, order: OrderId) -> Vec<String> {
    let events = f.service.payment_events(&Context::internal(), order).await.expect("events");
    events.into_iter().map(|e| e.event_type).collect()
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

#[tokio::test]
async fn a_capture_reported_after_the_cancellation_is_refunded_once_even_when_its_commit_conflicts() {
    let f = fixture().await;
    let (order, payment_id, intent) = a_created_payment_of(&f).await;
    let delivery = capture_without_webhook(&f, &intent).await;
    // The cancellation reaches the payment service before the capture's webhook: the provider
    // says the money is already taken, so the payment remembers to refund.
    deliver(&f, &cancelled(&order)).await;
    assert_eq!(status_of(&f, payment_id).await, "PAYMENT_CREATED");
    assert_eq!(f.provider.refunds.load(Ordering::SeqCst), 0, "nothing to refund before the capture is recorded");

    *f.provider.interfere_with.lock().expect("lock") = Some(payment_id);
    f.service.receive_webhook(&Context::internal(), Some(&delivery.signature), &delivery.body).await.expect("applied");
    assert_eq!(status_of(&f, payment_id).await, "PAYMENT_REFUNDED");
    assert_eq!(intent_status(&f, &intent).await, "refunded");
    assert_eq!(f.provider.refunds.load(Ordering::SeqCst), 1, "asked once although the first commit conflicted");
    assert_eq!(
        event_types(&f, order.id).await,
        ["coffee.payment.pending", "coffee.payment.created", "coffee.payment.refunded"]
    );

    f.service.receive_webhook(&Context::internal(), Some(&delivery.signature), &delivery.body).await.expect("again");
    assert_eq!(f.provider.refunds.load(Ordering::SeqCst), 1, "a repeated webhook refunds nothing more");
    f.store.close().await;
}

#[tokio::test]
async fn a_cancellation_after_the_capture_refunds_the_money() {
    let f = fixture().await;
    let (order, payment_id, intent) = a_created_payment_of(&f).await;
    let card = ConfirmPayment { card_number: CardNumber::parse(CARD).expect("card") };
    f.service.confirm_payment(&Context::internal(), payment_id, &card).await.expect("paid");
    deliver(&f, &cancelled(&order)).await;
    assert_eq!(status_of(&f, payment_id).await, "PAYMENT_REFUNDED");
    assert_eq!(intent_status(&f, &intent).await, "refunded");
    assert_eq!(f.provider.refunds.load(Ordering::SeqCst), 1);
    let types = event_types(&f, order.id).await;
    assert_eq!(
        types,
        ["coffee.payment.pending", "coffee.payment.created", "coffee.payment.succeeded", "coffee.payment.refunded"]
    );
    f.store.close().await;
}

/// The race itself, with nothing held back: the customer pays while the order's cancellation is
/// handled. Whichever wins, the money ends returned or never taken, the payment and the
/// provider's intent agree, and the payment never stays successful.
#[tokio::test]
async fn a_cancellation_racing_the_card_ends_refunded_or_never_charged() {
    let f = fixture().await;
    let (mut refunded, mut never_charged) = (0, 0);
    for round in 0..40 {
        let (order, payment_id, intent) = a_created_payment_of(&f).await;
        let card = ConfirmPayment { card_number: CardNumber::parse(CARD).expect("card") };
        let ctx = Context::internal();
        let cancellation = cancelled(&order);
        let pay = f.service.confirm_payment(&ctx, payment_id, &card);
        let cancel = deliver(&f, &cancellation);
        // Each side gets a head start in turn.
        let paid = if round % 2 == 0 { tokio::join!(pay, cancel).0 } else { tokio::join!(cancel, pay).1 };
        match (status_of(&f, payment_id).await.as_str(), intent_status(&f, &intent).await) {
            ("PAYMENT_REFUNDED", "refunded") => refunded += 1,
            ("PAYMENT_FAILED", "canceled") => {
                assert!(paid.is_err(), "a payment that was never charged was not reported paid: {paid:?}");
                never_charged += 1;
            }
            other => panic!("the payment and its intent disagree or the money is kept: {other:?} ({paid:?})"),
        }
    }
    assert_eq!(f.provider.refunds.load(Ordering::SeqCst), refunded, "one refund per refunded payment");
    assert!(
        refunded > 0 && never_charged > 0,
        "both sides won some rounds: refunded {refunded}, never charged {never_charged}"
    );
    f.store.close().await;
}

#[tokio::test]
async fn paying_the_instant_the_order_is_placed_waits_for_the_orders_event() {
    let f = fixture().await;
    let order = an_order();
    let request = CreatePayment { order_id: order.id };
    let ctx = Context::internal();
    // The customer's request gets ahead of the order's `created` event, which arrives a little
    // later (well within ORDER_ARRIVAL_WAIT).
    let late_event = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        deliver(&f, &order).await;
    };
    let (created, ()) = tokio::join!(f.service.create_payment(&ctx, &request), late_event);
    let created = created.expect("created once the order arrived");
    assert_eq!(created.payment.order_id, order.id);
    assert_eq!(created.payment.status.as_str(), "PAYMENT_CREATED");
    f.store.close().await;
}

#[tokio::test]
async fn paying_an_order_the_service_never_hears_of_is_not_found_after_the_wait() {
    let f = fixture().await;
    let order = an_order();
    let started = std::time::Instant::now();
    let answer = f.service.create_payment(&Context::internal(), &CreatePayment { order_id: order.id }).await;
    assert!(
        matches!(&answer, Err(ServiceError::NotFound(m)) if m.contains(&order.id.to_string())),
        "an unknown order: {answer:?}"
    );
    assert!(started.elapsed() >= coffee_payment::service::ORDER_ARRIVAL_WAIT, "it waited for the order first");
    f.store.close().await;
}

#[tokio::test]
async fn asking_again_for_a_created_payment_gives_the_same_intent_and_secret() {
    let f = fixture().await;
    let (order, payment_id, intent) = a_created_payment_of(&f).await;
    let ctx = Context::internal();
    let request = CreatePayment { order_id: order.id };
    let first = intent_secret(&f, &intent).await;
    let again = f.service.create_payment(&ctx, &request).await.expect("asked again");
    assert_eq!(again.payment.id, payment_id);
    assert_eq!(again.payment.payment_intent_id.as_deref(), Some(intent.as_str()));
    assert_eq!(again.client_secret, first, "the browser gets the intent's secret again");

    // The secret's tail is random: another intent's differs.
    let (_, other_intent) = a_created_payment(&f).await;
    let other = intent_secret(&f, &other_intent).await;
    let tail = |secret: &str, intent: &str| secret.strip_prefix(&format!("{intent}_secret_")).map(str::to_owned);
    let (tail, other_tail) = (tail(&first, &intent), tail(&other, &other_intent));
    assert!(tail.as_ref().is_some_and(|t| t.len() == 24), "pi_..._secret_<24 hex digits>: {first}");
    assert_ne!(tail, other_tail, "two intents' secrets share no random part");
    f.store.close().await;
}

async fn intent_secret(f: &Fixture, intent: &str) -> String {
    let intents = Records::new(f.store.clone() as Arc<dyn Store>, INTENTS);
    intents.get(intent).await.expect("read").expect("the intent").value.client_secret
}

#[tokio::test]
async fn the_payment_is_listed_by_its_order() {
    let f = fixture().await;
    let (order, payment_id, _) = a_created_payment_of(&f).await;
    a_created_payment(&f).await;
    let listed = f.service.payments(&Context::internal(), &PaymentList::of(Of::Order(order.id))).await.expect("listed");
    let ids: Vec<PaymentId> = listed.iter().map(|p| p.id).collect();
    assert_eq!(ids, [payment_id]);
    f.store.close().await;
}

#[tokio::test]
async fn a_declined_card_keeps_the_payment_waiting_with_the_providers_reason() {
    let f = fixture().await;
    for (card, reason) in
        [("4000000000000002", "Your card was declined."), ("4000000000009995", "Your card has insufficient funds.")]
    {
        let (order, payment_id, intent) = a_created_payment_of(&f).await;
        let card = ConfirmPayment { card_number: CardNumber::parse(card).expect("card") };
        let declined = f.service.confirm_payment(&Context::internal(), payment_id, &card).await.expect("answered");
        assert_eq!(declined.status.as_str(), "PAYMENT_CREATED", "another card may still pay");
        assert_eq!(declined.note.as_ref().map(|n| n.as_str()), Some(reason));
        assert_eq!(intent_status(&f, &intent).await, "requires_payment_method", "nothing was taken");
        assert_eq!(
            event_types(&f, order.id).await,
            ["coffee.payment.pending", "coffee.payment.created", "coffee.payment.declined"]
        );
        let good = ConfirmPayment { card_number: CardNumber::parse("4242424242424242").expect("card") };
        let paid = f.service.confirm_payment(&Context::internal(), payment_id, &good).await.expect("answered");
        assert_eq!((paid.status.as_str(), paid.note), ("PAYMENT_SUCCESSFUL", None));
        assert_eq!(intent_status(&f, &intent).await, "succeeded");
    }
    f.store.close().await;
}

#[tokio::test]
async fn confirming_a_captured_intent_again_resends_the_captures_event() {
    let f = fixture().await;
    let (_, intent) = a_created_payment(&f).await;
    let event = |d: &coffee_payment::provider::Delivery| -> WebhookEvent {
        serde_json::from_slice(&d.body).expect("a webhook event")
    };
    let first = event(&capture_without_webhook(&f, &intent).await);
    let again = event(&capture_without_webhook(&f, &intent).await);
    assert_eq!(first.event_type, "payment_intent.succeeded");
    assert_eq!(again.id, first.id, "the same event, so the receiver's inbox applies it once");
    assert_eq!(again.event_type, first.event_type);
    f.store.close().await;
}

#[tokio::test]
async fn the_recovery_at_start_also_delivers_yesterdays_unrecorded_captures() {
    let f = fixture().await;
    let order = an_order();
    deliver(&f, &order).await;
    let pending = f.service.records().by_order(&order.id.to_string()).await.expect("read").expect("recorded").value;
    // The intent was created yesterday (UTC), as if the process had died before midnight and
    // started again after it. (A record's day is fixed when it is inserted, so the intent is
    // written as the provider would have written it then; creating the payment finds it.)
    let yesterday = Millis(jiff::Timestamp::now().as_millisecond() - 86_400_000);
    let intent = SimulatedIntent {
        id: format!("pi_sim_{}", uuid::Uuid::now_v7().simple()),
        payment_id: pending.id.to_string(),
        order_id: order.id.to_string(),
        customer_id: pending.customer_id.to_string(),
        amount: pending.amount.0,
        currency: pending.currency.clone(),
        status: IntentStatus::RequiresPaymentMethod,
        client_secret: "pi_sim_yesterday_secret_000000000000000000000000".to_owned(),
        created_at: yesterday.0,
        last_payment_error: None,
        capture_event_id: None,
    };
    f.store.commit(Change::new().put(INTENTS, &intent, Expect::New).expect("change")).await.expect("written");
    let created = f.service.create_payment(&Context::internal(), &CreatePayment { order_id: order.id }).await;
    assert_eq!(created.expect("created").payment.payment_intent_id.as_deref(), Some(intent.id.as_str()));
    capture_without_webhook(&f, &intent.id).await;

    assert_eq!(f.service.recover_missed_captures().await, Ok(1), "yesterday's capture is delivered");
    assert_eq!(status_of(&f, pending.id).await, "PAYMENT_SUCCESSFUL");
    f.store.close().await;
}

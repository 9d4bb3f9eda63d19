//! The saga as a property of the real services: their own handlers, on a real SQLite store,
//! through the one delivery path every transport uses (`handle_delivery`, with the inbox).
//!
//! A test case places one order, then does any sequence of what the world does: deliver any
//! message of any consumer's queue (not only the oldest: a message held by a crashed replica
//! comes back after later ones), deliver one again (at least once), create the payment, pay
//! with a good or a declined card with the provider's webhook now or later, deliver a held
//! webhook (once or again), cancel as the customer, complete or reject as the barista. Then
//! everything still queued or held is delivered, in an order the case also chooses, until
//! nothing is left. The stored records must then agree with each other and with the money at
//! the provider, every event must have been published at most once, and no delivery may have
//! failed (a reaction that cannot apply an event yet must not error its way to the
//! dead-letter queue).

use std::sync::Arc;

use coffee_bus::consumer::handle_delivery;
use coffee_bus::sqlite::{Durability, Queued, SqliteOptions, SqliteStore};
use coffee_bus::{Handler, Records, Store};
use coffee_domain::{
    CardNumber, CoffeeId, CustomerId, CustomerName, FulfilmentStatus, OrderId, OrderStatus, PaymentStatus,
};
use coffee_fulfilment::FulfilmentService;
use coffee_fulfilment::client::FulfilmentClient;
use coffee_fulfilment::handlers::FulfilmentHandlers;
use coffee_fulfilment::model::FulfilmentChange;
use coffee_order::OrderService;
use coffee_order::client::OrderClient;
use coffee_order::handlers::OrderHandlers;
use coffee_order::model::PlaceOrder;
use coffee_payment::PaymentService;
use coffee_payment::client::PaymentClient;
use coffee_payment::handlers::PaymentHandlers;
use coffee_payment::model::CreatePayment;
use coffee_payment::provider::Delivery;
use coffee_payment::provider::simulated::{INTENTS, IntentStatus};
use coffee_service::{Context, ServiceError};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tokio::sync::{Mutex, mpsc};

use crate::helpers::{DECLINED_CARD, GOOD_CARD, WEBHOOK_SECRET};

const CONSUMERS: [&str; 3] = [coffee_order::SERVICE, coffee_payment::SERVICE, coffee_fulfilment::SERVICE];

#[derive(Debug, Clone)]
enum Action {
    /// Deliver one message of a consumer's queue, chosen by `pick` among those waiting.
    Deliver {
        consumer: usize,
        pick: usize,
    },
    /// Deliver it and leave it queued: it will be delivered again.
    Duplicate {
        consumer: usize,
        pick: usize,
    },
    CreatePayment,
    /// The card form; the provider's webhook is delivered now or held for later.
    Pay {
        good_card: bool,
        webhook_later: bool,
    },
    /// Deliver a held webhook (and, with `keep`, hold it for another delivery).
    DeliverWebhook {
        pick: usize,
        keep: bool,
    },
    CustomerCancels,
    BaristaCompletes,
    BaristaRejects,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        10 => (0..3usize, any::<usize>()).prop_map(|(consumer, pick)| Action::Deliver { consumer, pick }),
        2 => (0..3usize, any::<usize>()).prop_map(|(consumer, pick)| Action::Duplicate { consumer, pick }),
        4 => Just(Action::CreatePayment),
        6 => (any::<bool>(), any::<bool>()).prop_map(|(good_card, webhook_later)| Action::Pay { good_card, webhook_later }),
        4 => (any::<usize>(), any::<bool>()).prop_map(|(pick, keep)| Action::DeliverWebhook { pick, keep }),
        1 => Just(Action::CustomerCancels),
        6 => Just(Action::BaristaCompletes),
        1 => Just(Action::BaristaRejects),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    actions: Vec<Action>,
    /// The order in which what is left is delivered at the end.
    settle: Vec<usize>,
}

fn case() -> impl Strategy<Value = Case> {
    (proptest::collection::vec(action(), 0..40), proptest::collection::vec(any::<usize>(), 1..40))
        .prop_map(|(actions, settle)| Case { actions, settle })
}

/// The three services and their handlers on one store, with the consumers' queues in the
/// test's hands instead of a dispatcher's.
struct System {
    store: Arc<SqliteStore>,
    orders: OrderService,
    payments: PaymentService,
    fulfilments: FulfilmentService,
    handlers: [Arc<dyn Handler>; 3],
    queues: [Mutex<mpsc::UnboundedReceiver<Queued>>; 3],
    /// How often each end state was reached, and how many deliveries overtook an older
    /// message of their queue: the run must have covered them all to mean anything.
    seen: std::sync::Mutex<std::collections::BTreeMap<String, usize>>,
    _dir: tempfile::TempDir,
}

impl System {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let options = SqliteOptions {
            path: dir.path().join("saga.db"),
            durability: Durability::Normal,
            rules: coffee::services::rules(),
            readers: 2,
        };
        let store = SqliteStore::open(options, &coffee::services::migrations()).expect("store opens");
        let queues = CONSUMERS.map(|c| Mutex::new(store.register_queue(c)));
        let shared: Arc<dyn Store> = store.clone();
        let orders = OrderService::new(shared.clone(), coffee_order::ShopRules::default());
        let payments = PaymentService::simulated(shared.clone(), WEBHOOK_SECRET.as_bytes().to_vec());
        let fulfilments = FulfilmentService::new(shared);
        let handlers: [Arc<dyn Handler>; 3] = [
            Arc::new(OrderHandlers::new(orders.records().clone())),
            Arc::new(PaymentHandlers::new(payments.clone())),
            Arc::new(FulfilmentHandlers::new(fulfilments.records().clone())),
        ];
        Self { store, orders, payments, fulfilments, handlers, queues, seen: Default::default(), _dir: dir }
    }

    fn count(&self, what: impl Into<String>) {
        if let Ok(mut seen) = self.seen.lock() {
            *seen.entry(what.into()).or_default() += 1;
        }
    }
}

/// One case's world: what waits in each queue, the webhooks the provider holds, and every
/// failure seen.
struct World<'a> {
    system: &'a System,
    order_id: OrderId,
    queued: [Vec<Queued>; 3],
    webhooks: Vec<Delivery>,
    /// The card attempts the provider declined: each may be announced once.
    declines: usize,
    failures: Vec<String>,
    ctx: Context,
}

impl World<'_> {
    /// Takes what the last commits routed to each consumer.
    async fn collect(&mut self) {
        for (c, queue) in self.system.queues.iter().enumerate() {
            let mut rx = queue.lock().await;
            while let Ok(q) = rx.try_recv() {
                self.queued[c].push(q);
            }
        }
    }

    async fn deliver(&mut self, consumer: usize, pick: usize, keep: bool) {
        if self.queued[consumer].is_empty() {
            return;
        }
        let at = pick % self.queued[consumer].len();
        let message = self.queued[consumer][at].clone();
        for older in &self.queued[consumer][..at] {
            self.system.count(format!("{} overtook {}", message.envelope.event_type, older.envelope.event_type));
        }
        let handler = self.system.handlers[consumer].as_ref();
        let store = self.system.store.as_ref() as &dyn Store;
        match handle_delivery(store, CONSUMERS[consumer], handler, &message.envelope, Some(message.seq)).await {
            Ok(_) if !keep => {
                self.queued[consumer].remove(at);
            }
            Ok(_) => {}
            // Left queued, as a transport would redeliver it; but a reaction must never fail.
            Err(e) => self.failures.push(format!("{} on {}: {e}", CONSUMERS[consumer], message.envelope.event_type)),
        }
        self.collect().await;
    }

    async fn deliver_webhook(&mut self, pick: usize, keep: bool) {
        if self.webhooks.is_empty() {
            return;
        }
        let at = pick % self.webhooks.len();
        let delivery = if keep { self.webhooks[at].clone() } else { self.webhooks.remove(at) };
        if let Err(e) = self.system.payments.receive_webhook(&self.ctx, Some(&delivery.signature), &delivery.body).await
        {
            self.failures.push(format!("webhook: {e}"));
        }
        self.collect().await;
    }

    /// A refusal (the change is not allowed now) is a normal answer; anything else is a failure.
    fn refused_or_done<T>(&mut self, what: &str, result: Result<T, ServiceError>) {
        match result {
            Ok(_) | Err(ServiceError::Conflict(_)) => {}
            Err(e) => self.failures.push(format!("{what}: {e}")),
        }
    }

    async fn act(&mut self, action: Action) {
        let system = self.system;
        match action {
            Action::Deliver { consumer, pick } => self.deliver(consumer, pick, false).await,
            Action::Duplicate { consumer, pick } => self.deliver(consumer, pick, true).await,
            Action::DeliverWebhook { pick, keep } => self.deliver_webhook(pick, keep).await,
            Action::CreatePayment => {
                // Only once the payment service knows the order (it would wait for it otherwise).
                if matches!(system.payments.records().by_order(&self.order_id.to_string()).await, Ok(Some(_))) {
                    let created =
                        system.payments.create_payment(&self.ctx, &CreatePayment { order_id: self.order_id }).await;
                    self.refused_or_done("create payment", created);
                }
            }
            Action::Pay { good_card, webhook_later } => {
                let Ok(Some(payment)) = system.payments.records().by_order(&self.order_id.to_string()).await else {
                    return;
                };
                let Some(intent) = payment.value.payment_intent_id.clone() else { return };
                let card = CardNumber::parse(if good_card { GOOD_CARD } else { DECLINED_CARD }).expect("a test card");
                let Some(card_form) = system.payments.provider().card_form() else { return };
                // The provider refuses to charge a cancelled or refunded intent: a normal answer.
                let Ok(delivery) = card_form.confirm(&intent, &card).await else { return };
                self.declines += usize::from(!good_card);
                self.webhooks.push(delivery);
                if !webhook_later {
                    let last = self.webhooks.len() - 1;
                    self.deliver_webhook(last, false).await;
                }
            }
            Action::CustomerCancels => {
                let cancelled = system
                    .orders
                    .change_order(&self.ctx, self.order_id, &coffee_order::model::cancellation(None))
                    .await;
                self.refused_or_done("cancel", cancelled);
            }
            Action::BaristaCompletes | Action::BaristaRejects => {
                let Ok(Some(f)) = system.fulfilments.records().by_order(&self.order_id.to_string()).await else {
                    return;
                };
                let to = if matches!(action, Action::BaristaCompletes) {
                    FulfilmentStatus::Completed
                } else {
                    FulfilmentStatus::Rejected
                };
                let change = FulfilmentChange { status: to, note: None };
                let changed = system.fulfilments.change_fulfilment(&self.ctx, f.value.id, &change).await;
                self.refused_or_done("barista", changed);
            }
        }
        self.collect().await;
    }

    fn waiting(&self) -> usize {
        self.queued.iter().map(Vec::len).sum::<usize>() + self.webhooks.len()
    }

    /// Delivers everything that is left, in the order `picks` chooses, until nothing is left.
    async fn settle(&mut self, picks: &[usize]) -> Result<(), TestCaseError> {
        for pick in picks.iter().cycle().take(2_000) {
            let waiting = self.waiting();
            if waiting == 0 {
                return Ok(());
            }
            let mut at = pick % waiting;
            let mut delivered = false;
            for c in 0..3 {
                if at < self.queued[c].len() {
                    self.deliver(c, at, false).await;
                    delivered = true;
                    break;
                }
                at -= self.queued[c].len();
            }
            if !delivered {
                self.deliver_webhook(at, false).await;
            }
        }
        Err(TestCaseError::fail(format!("still {} messages waiting after 2000 deliveries", self.waiting())))
    }
}

async fn run_case(system: &System, case: Case) -> Result<(), TestCaseError> {
    let ctx = Context::internal();
    let request = PlaceOrder {
        coffee_id: CoffeeId::parse("2").expect("an id"),
        customer_id: Some(CustomerId::parse("customer-p").expect("an id")),
        customer_name: Some(CustomerName::parse("Ada").expect("a name")),
        options: None,
    };
    let order = system.orders.place_order(&ctx, &request).await.expect("an order");
    let mut world = World {
        system,
        order_id: order.id,
        queued: Default::default(),
        webhooks: Vec::new(),
        declines: 0,
        failures: Vec::new(),
        ctx,
    };
    world.collect().await;
    for action in case.actions {
        world.act(action).await;
    }
    world.settle(&case.settle).await?;
    prop_assert!(world.failures.is_empty(), "deliveries failed: {:?}", world.failures);
    check_invariants(system, world.order_id, world.declines).await
}

/// What must hold once every message and webhook has been delivered.
async fn check_invariants(system: &System, id: OrderId, declines: usize) -> Result<(), TestCaseError> {
    let order_id = &id.to_string();
    let order = system.orders.order(&Context::internal(), id).await.expect("the order").status;
    let payment = system.payments.records().by_order(order_id).await.expect("read").map(|p| p.value);
    let fulfilment = system.fulfilments.records().by_order(order_id).await.expect("read").map(|f| f.value.status);
    let intents = Records::new(system.store.clone() as Arc<dyn Store>, INTENTS);
    let intent = intents.by_order(order_id).await.expect("read").map(|i| i.value.status);
    let events = system.store.events_about(order_id).await.expect("events");
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    let seen = format!(
        "order {order:?}, payment {:?}, fulfilment {fulfilment:?}, intent {intent:?}, events {types:?}",
        payment.as_ref().map(|p| p.status)
    );
    system.count(format!("ended {order:?} / {:?} / {fulfilment:?}", payment.as_ref().map(|p| p.status)));

    // Each step once; a declined card once per attempt, however often its webhook came.
    for t in types.iter().filter(|t| **t != "coffee.payment.declined") {
        prop_assert_eq!(types.iter().filter(|u| *u == t).count(), 1, "{} published more than once: {}", t, seen);
    }
    let declined = types.iter().filter(|t| **t == "coffee.payment.declined").count();
    prop_assert!(declined <= declines, "{} declines announced for {} declined cards: {}", declined, declines, seen);
    if declined > 0 && types.contains(&"coffee.payment.succeeded") {
        system.count("a declined card, then another paid");
    }
    let Some(payment) = payment else {
        return Err(TestCaseError::fail(format!("the payment service never recorded the order: {seen}")));
    };
    let paid = payment.status;
    let captured = intent == Some(IntentStatus::Succeeded);
    let refunded = intent == Some(IntentStatus::Refunded);

    // Money at the provider and the payment agree.
    prop_assert_eq!(captured, paid == PaymentStatus::Successful, "capture vs payment: {}", seen);
    prop_assert_eq!(refunded, paid == PaymentStatus::Refunded, "refund vs payment: {}", seen);
    // A fulfilment only for a paid order.
    if fulfilment.is_some() {
        prop_assert!(types.contains(&"coffee.payment.succeeded"), "a fulfilment without a payment: {}", seen);
    }
    match order {
        OrderStatus::Completed => {
            prop_assert_eq!(paid, PaymentStatus::Successful, "{}", seen);
            prop_assert_eq!(fulfilment, Some(FulfilmentStatus::Completed), "{}", seen);
        }
        OrderStatus::InProgress => {
            prop_assert_eq!(paid, PaymentStatus::Successful, "{}", seen);
            prop_assert_eq!(
                fulfilment,
                Some(FulfilmentStatus::Created),
                "an order in progress is being made: {}",
                seen
            );
        }
        OrderStatus::Created => {
            prop_assert!(matches!(paid, PaymentStatus::Pending | PaymentStatus::Created), "{}", seen);
            prop_assert_eq!(fulfilment, None, "{}", seen);
        }
        OrderStatus::Cancelled => {
            prop_assert!(matches!(paid, PaymentStatus::Failed | PaymentStatus::Refunded), "{}", seen);
            // The barista may have made it in a race with the customer's cancellation: then
            // the money went back.
            let made = fulfilment == Some(FulfilmentStatus::Completed);
            prop_assert!(
                matches!(fulfilment, None | Some(FulfilmentStatus::Rejected))
                    || (made && paid == PaymentStatus::Refunded),
                "{}",
                seen
            );
        }
    }
    Ok(())
}

#[test]
fn the_saga_converges_whatever_the_order_of_delivery() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let system = runtime.block_on(async { System::start() });
    let cases = std::env::var("SAGA_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(2048);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let result = runner.run(&case(), |case| runtime.block_on(run_case(&system, case)));
    if let Err(e) = result {
        panic!("{e}");
    }
    let seen = system.seen.lock().map(|s| s.clone()).unwrap_or_default();
    eprintln!("{seen:#?}");
    // The cases must have reached every kind of end, and reordered a lot, to prove anything.
    for end in [
        "ended Completed / Some(Successful) / Some(Completed)",
        "ended InProgress / Some(Successful) / Some(Created)",
        "ended Created / Some(Pending) / None",
        "ended Created / Some(Created) / None",
        "ended Cancelled / Some(Failed) / None",
        "ended Cancelled / Some(Refunded) / Some(Rejected)",
    ] {
        assert!(seen.contains_key(end), "no case {end}: {seen:#?}");
    }
    assert!(seen.contains_key("a declined card, then another paid"), "no case of a second card: {seen:#?}");
    // ... and delivered late the messages whose loss of order matters.
    for overtaken in [
        "coffee.fulfilment.completed overtook coffee.payment.succeeded",
        "coffee.order.cancelled overtook coffee.order.created",
        "coffee.order.cancelled overtook coffee.payment.succeeded",
        "coffee.payment.refunded overtook coffee.payment.succeeded",
    ] {
        assert!(seen.contains_key(overtaken), "no case where {overtaken}: {seen:#?}");
    }
}

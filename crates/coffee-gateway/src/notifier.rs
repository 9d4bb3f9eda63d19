//! Live updates for GraphQL subscriptions, fed by the event bus.
//!
//! Every committed event reaches the gateway through the bus's [`LiveFeed`] (a broadcast of
//! envelopes, pushed as each commit happens: no polling). A subscription is a stream over its own
//! receiver: it decodes each event of the right service, keeps the ones its filter matches, and
//! yields the entity's snapshot as the event carries it.
//!
//! A subscriber that (re)connects must not miss the latest state, so when it names one entity
//! (an order, payment or fulfilment id) the stream first yields that entity as the service has it
//! now, then its changes. The receiver is taken *before* that read, so no change falls between
//! the two; a change that raced the read may then arrive although the read already showed it, or
//! showed something newer. Such a change is dropped unless it is newer (`updated_at`) than, or
//! different from, what was last sent, so the subscriber never steps back to an older state.
//!
//! A receiver that falls behind the broadcast skips to the newest event (and, when it watches
//! one entity, reads its current state again) rather than failing. Streams end when the gateway's
//! shutdown token is cancelled, so a clean stop does not wait for open WebSockets.
//!
//! Each event is decoded once, by one task, whatever the number of subscriptions: a thousand
//! subscriptions each decoding every event cost 3.2 s of CPU for five orders.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use coffee_bus::{Envelope, LiveFeed};
use coffee_domain::{DomainEvent, Entity, Source};
use coffee_service::ServiceError;
use futures::Stream;
use futures::future::BoxFuture;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

/// Opens subscriptions on the bus's live feed.
#[derive(Clone)]
pub struct Notifier {
    decoded: broadcast::Sender<Arc<Decoded>>,
    shutdown: CancellationToken,
    decodes: Arc<AtomicU64>,
}

/// What the decoding task passes on: an event with its decoded form (None: not a service's
/// entity, or unreadable), or word that it fell behind the live feed itself. Always sent in an
/// `Arc`, so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Decoded {
    Event(Arc<Envelope>, Option<DomainEvent>),
    Lagged,
}

/// Decoded events held for slow subscriptions, as the live feed holds envelopes.
const DECODED_BUFFER: usize = 65536;

/// Which entities a subscription wants. Both `None`: every one. Values are in their canonical
/// form (the caller parses them), as the entities print them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub id: Option<String>,
    pub customer_id: Option<String>,
}

impl Filter {
    fn matches<T: Entity>(&self, entity: &T) -> bool {
        self.id.as_ref().is_none_or(|id| *id == entity.id_text())
            && self.customer_id.as_deref().is_none_or(|c| c == entity.customer_id().as_str())
    }
}

/// Reads the watched entity's current state (its service's `NOT_FOUND` when it does not exist).
pub type Fetch<T> = Arc<dyn Fn() -> BoxFuture<'static, Result<T, ServiceError>> + Send + Sync>;

impl Notifier {
    /// Starts the task that decodes the live feed (needs a Tokio runtime).
    pub fn new(live: LiveFeed, shutdown: CancellationToken) -> Self {
        Self::with_buffer(live, shutdown, DECODED_BUFFER)
    }

    fn with_buffer(live: LiveFeed, shutdown: CancellationToken, buffer: usize) -> Self {
        let (decoded, _) = broadcast::channel(buffer);
        let notifier = Self { decoded, shutdown, decodes: Arc::default() };
        tokio::spawn(notifier.clone().decode_each(live()));
        notifier
    }

    /// How many events were decoded so far (once each, whatever the subscriptions).
    pub fn decodes(&self) -> u64 {
        self.decodes.load(Ordering::Relaxed)
    }

    async fn decode_each(self, mut rx: broadcast::Receiver<Arc<Envelope>>) {
        loop {
            let received = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return,
                received = rx.recv() => received,
            };
            let item = match received {
                Ok(envelope) => {
                    let from_a_service = [Source::Order, Source::Payment, Source::Fulfilment]
                        .iter()
                        .any(|s| s.as_str() == envelope.source);
                    // Decoded even with no subscription open: one that opens between a check
                    // and the send would get the event undecoded, and miss it.
                    let event = if from_a_service {
                        self.decodes.fetch_add(1, Ordering::Relaxed);
                        match envelope.domain_event() {
                            Ok(event) => Some(event),
                            Err(e) => {
                                tracing::debug!(error = %e, id = %envelope.id, "an event the gateway cannot read; skipped");
                                None
                            }
                        }
                    } else {
                        None
                    };
                    Decoded::Event(envelope, event)
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the gateway fell behind the live feed; subscriptions read again");
                    Decoded::Lagged
                }
                Err(RecvError::Closed) => return,
            };
            // No subscription right now is not an error.
            let _ = self.decoded.send(Arc::new(item));
        }
    }

    /// The changes of the entities `filter` matches, as they commit. With `current` (given when
    /// the filter names one entity), the entity's current state comes first, and again after
    /// the receiver lagged. Ends when the gateway shuts down.
    pub fn watch<T: Entity>(
        &self,
        filter: Filter,
        current: Option<Fetch<T>>,
    ) -> impl Stream<Item = Result<T, ServiceError>> + Send + use<T> {
        // Subscribe now, before the stream first reads the current state: a change that
        // commits in between is then in the receiver.
        let watch = Watch {
            rx: self.decoded.subscribe(),
            subject: if T::SOURCE == Source::Order { filter.id.clone() } else { None },
            refetch: current.is_some(),
            current,
            filter,
            shutdown: self.shutdown.clone(),
            last: None,
        };
        futures::stream::unfold(watch, Watch::next)
    }
}

impl Notifier {
    /// A tick for each committed event `wanted` keeps (and one after the receiver lagged, when
    /// some may have been missed): for views computed from many records, such as the shop's
    /// queue, which read again rather than follow one entity. Ends when the gateway shuts down.
    pub fn ticks(&self, wanted: fn(&Envelope) -> bool) -> impl Stream<Item = ()> + Send + use<> {
        let state = (self.decoded.subscribe(), self.shutdown.clone());
        futures::stream::unfold(state, move |(mut rx, shutdown)| async move {
            loop {
                let received = tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => return None,
                    received = rx.recv() => received,
                };
                match received.as_deref() {
                    Ok(Decoded::Event(envelope, _)) if wanted(envelope) => return Some(((), (rx, shutdown))),
                    Ok(Decoded::Event(..)) => {}
                    Ok(Decoded::Lagged) | Err(RecvError::Lagged(_)) => return Some(((), (rx, shutdown))),
                    Err(RecvError::Closed) => return None,
                }
            }
        })
    }
}

struct Watch<T> {
    rx: broadcast::Receiver<Arc<Decoded>>,
    filter: Filter,
    current: Option<Fetch<T>>,
    shutdown: CancellationToken,
    /// The newest version sent, when watching one entity.
    last: Option<T>,
    /// Read the current state before the next change (at the start, and after a lag).
    refetch: bool,
    /// The order the watched entity belongs to, once known: events about other orders are
    /// skipped without decoding them.
    subject: Option<String>,
}

impl<T: Entity> Watch<T> {
    async fn next(mut self) -> Option<(Result<T, ServiceError>, Self)> {
        loop {
            if self.refetch {
                self.refetch = false;
                if let Some(fetch) = self.current.clone() {
                    let read = tokio::select! {
                        _ = self.shutdown.cancelled() => return None,
                        read = fetch() => read,
                    };
                    match read {
                        Ok(entity) => {
                            if let Some(entity) = self.consider(entity) {
                                return Some((Ok(entity), self));
                            }
                        }
                        // Not there yet: its first change will be.
                        Err(ServiceError::NotFound(_)) => {}
                        Err(e) => return Some((Err(e), self)),
                    }
                }
            }
            let received = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return None,
                received = self.rx.recv() => received,
            };
            match received.as_deref() {
                Ok(Decoded::Event(envelope, event)) => {
                    if let Some(entity) = self.entity_of(envelope, event.as_ref()).and_then(|e| self.consider(e)) {
                        return Some((Ok(entity), self));
                    }
                }
                Ok(Decoded::Lagged) => self.refetch = true,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "a subscription fell behind the live feed; skipping ahead");
                    self.refetch = true;
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    fn entity_of(&self, envelope: &Envelope, event: Option<&DomainEvent>) -> Option<T> {
        if envelope.source != T::SOURCE.as_str() {
            return None;
        }
        if self.subject.as_ref().is_some_and(|s| *s != envelope.subject) {
            return None;
        }
        T::from_event(event?.clone())
    }

    /// The entity, if it is one to send: it matches the filter and, when one entity is watched,
    /// it is not older than (nor the same as) what was last sent.
    fn consider(&mut self, entity: T) -> Option<T> {
        if !self.filter.matches(&entity) {
            return None;
        }
        if self.filter.id.is_none() {
            return Some(entity);
        }
        if let Some(last) = &self.last {
            let older = entity.updated_at() < last.updated_at();
            if older || entity == *last {
                return None;
            }
        }
        self.subject = Some(entity.order_id().to_string());
        self.last = Some(entity.clone());
        Some(entity)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use coffee_bus::TraceContext;
    use coffee_domain::{CustomerId, CustomerName, DomainEvent, Millis, Note, Order, OrderId, OrderStatus};
    use futures::StreamExt;
    use tokio::sync::broadcast;

    use super::*;

    fn order(customer: &str, at: i64) -> Order {
        Order::place(
            OrderId::from_uuid(uuid::Uuid::now_v7()),
            coffee_domain::Coffee::from_menu("1").expect("menu"),
            CustomerId::parse(customer).expect("id"),
            CustomerName::parse("Ada").expect("name"),
            Millis(at),
        )
    }

    fn envelope(order: &Order) -> Arc<Envelope> {
        Arc::new(Envelope::wrap(&DomainEvent::Order(order.clone()), &TraceContext::new_root()))
    }

    fn feed() -> (broadcast::Sender<Arc<Envelope>>, LiveFeed) {
        let (tx, _) = broadcast::channel(4);
        let sender = tx.clone();
        (tx, Arc::new(move || sender.subscribe()))
    }

    fn fetch(order: Order) -> Fetch<Order> {
        Arc::new(move || {
            let order = order.clone();
            Box::pin(async move { Ok(order) })
        })
    }

    /// The stream's next item; a stream that ends or says nothing in time fails the test.
    async fn next<S: Stream<Item = Result<Order, ServiceError>> + Unpin>(stream: &mut S) -> Order {
        let next = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.expect("an item in time");
        next.expect("the stream goes on").expect("not an error")
    }

    #[tokio::test]
    async fn the_current_state_comes_first_and_an_older_racing_change_is_dropped() {
        let (tx, live) = feed();
        let notifier = Notifier::new(live, CancellationToken::new());
        let placed = order("c-1", 1_000);
        let started = Order { status: OrderStatus::InProgress, updated_at: Millis(2_000), ..placed.clone() };
        let filter = Filter { id: Some(placed.id.to_string()), customer_id: None };
        let mut stream = Box::pin(notifier.watch(filter, Some(fetch(started.clone()))));
        // Both changes commit after the subscription and before its read: the read has the newest.
        tx.send(envelope(&placed)).expect("a receiver");
        tx.send(envelope(&started)).expect("a receiver");
        assert_eq!(next(&mut stream).await, started.clone(), "the current state first");
        let done = Order { status: OrderStatus::Completed, updated_at: Millis(3_000), ..started.clone() };
        tx.send(envelope(&done)).expect("a receiver");
        assert_eq!(next(&mut stream).await, done, "then the next change, without the stale ones");
    }

    #[tokio::test]
    async fn a_customer_filter_keeps_only_that_customers_changes() {
        let (tx, live) = feed();
        let notifier = Notifier::new(live, CancellationToken::new());
        let filter = Filter { id: None, customer_id: Some("c-1".into()) };
        let mut stream = Box::pin(notifier.watch::<Order>(filter, None));
        let other = order("c-2", 1);
        let mine = order("c-1", 2);
        tx.send(envelope(&other)).expect("a receiver");
        tx.send(envelope(&mine)).expect("a receiver");
        assert_eq!(next(&mut stream).await, mine);
        // Nothing else came before the customer's next change.
        let theirs = order("c-2", 3);
        let mine_again = order("c-1", 4);
        tx.send(envelope(&theirs)).expect("a receiver");
        tx.send(envelope(&mine_again)).expect("a receiver");
        assert_eq!(next(&mut stream).await, mine_again, "only this customer's changes");
    }

    #[tokio::test]
    async fn a_lagging_subscriber_skips_ahead_and_rereads_the_entity() {
        let (tx, live) = feed();
        let notifier = Notifier::with_buffer(live, CancellationToken::new(), 4);
        let placed = order("c-1", 1_000);
        let now = Arc::new(std::sync::Mutex::new(placed.clone()));
        let state = now.clone();
        let current: Fetch<Order> = Arc::new(move || {
            let order = state.lock().expect("lock").clone();
            Box::pin(async move { Ok(order) })
        });
        let filter = Filter { id: Some(placed.id.to_string()), customer_id: None };
        let mut stream = Box::pin(notifier.watch(filter, Some(current)));
        assert_eq!(next(&mut stream).await, placed.clone());

        // The order is cancelled while the subscriber is flooded with more events than it can hold.
        let cancelled = placed.cancel_by_customer(Some(Note::system("changed my mind")), Millis(5_000)).expect("ok");
        *now.lock().expect("lock") = cancelled.clone();
        for i in 0..10 {
            tx.send(envelope(&order("c-9", i))).expect("a receiver");
        }
        assert_eq!(next(&mut stream).await, cancelled.clone(), "alive, and reread the current state");

        // Another order of the same customer is not this one: the next item is this order's change.
        let other = order("c-1", 9_000);
        tx.send(envelope(&other)).expect("a receiver");
        let noted = Order { note: Some(Note::system("refunded")), updated_at: Millis(6_000), ..cancelled.clone() };
        tx.send(envelope(&noted)).expect("a receiver");
        assert_eq!(next(&mut stream).await, noted);
    }

    #[tokio::test]
    async fn each_event_is_decoded_once_whatever_the_number_of_subscriptions() {
        let (tx, live) = feed();
        let notifier = Notifier::new(live, CancellationToken::new());
        let mut streams: Vec<_> = (0..50).map(|_| Box::pin(notifier.watch::<Order>(Filter::default(), None))).collect();
        let orders: Vec<Order> = (0..3).map(|i| order("c-1", i)).collect();
        for o in &orders {
            tx.send(envelope(o)).expect("a receiver");
        }
        for stream in &mut streams {
            for o in &orders {
                assert_eq!(&next(stream).await, o, "every subscription gets every change");
            }
        }
        assert_eq!(notifier.decodes(), 3, "three events, decoded once each for fifty subscriptions");
    }

    #[tokio::test]
    async fn streams_end_on_shutdown() {
        let (_tx, live) = feed();
        let shutdown = CancellationToken::new();
        let notifier = Notifier::new(live, shutdown.clone());
        let mut stream = Box::pin(notifier.watch::<Order>(Filter::default(), None));
        shutdown.cancel();
        let ended = tokio::time::timeout(Duration::from_secs(1), stream.next()).await.expect("ends in time");
        assert!(ended.is_none());
    }
}

//! The GraphQL schema: the original's contract (`docs/graphql-contract.md`, exported to
//! `schema.graphql`) over the services' typed clients.
//!
//! The object types are built from the domain types here and nowhere else: times in whole
//! seconds since the epoch, money in cents. Resolvers are short: parse what the service does
//! not, call one client (see `clients.rs`), map the answer. Every failure goes through
//! `errors.rs`, so each carries a stable `extensions.code`.
//!
//! Nullability follows the contract exactly (lists of nullable items for the original's
//! queries, nullable subscription results), so the original web app's operations run unchanged;
//! a test checks the exported SDL against the contract.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Schema, SchemaBuilder, SimpleObject, Subscription};
use coffee_bus::{Envelope, TraceContext};
use coffee_domain::{
    CardNumber, CoffeeId, CustomerId, CustomerName, DomainEvent, Entity, FulfilmentId, FulfilmentStatus, Note, OrderId,
    OrderStatus, PaymentId,
};
use coffee_fulfilment::model::{FulfilmentChange, FulfilmentList};
use coffee_http::PathId;
use coffee_order::model::{OrderList, PlaceOrder, SetShop};
use coffee_payment::model::{ConfirmPayment, CreatePayment, PaymentList, PaymentWithSecret};
use coffee_service::{ListQuery, ServiceError, ServiceResult};
use futures::future::BoxFuture;
use futures::{Stream, StreamExt};

use crate::clients::Services;
use crate::errors::{CodeEveryError, GatewayError, bad_input};
use crate::notifier::{Fetch, Filter, Notifier};

pub type CoffeeSchema = Schema<Query, Mutation, Subscription>;

/// Most aliases and fields one request may ask for: enough for any real page and for GraphiQL's
/// introspection, not for a request that fans out into thousands of reads.
const MAX_COMPLEXITY: usize = 1_000;

/// The schema, with the services it calls and the live feed its subscriptions watch.
pub fn build(services: Services, notifier: Notifier, dev: bool) -> CoffeeSchema {
    builder().data(services).data(notifier).data(crate::limits::Dev(dev)).finish()
}

/// The schema in SDL, as exported to `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query, Mutation, Subscription)
        .limit_complexity(MAX_COMPLEXITY)
        .extension(crate::limits::Limits)
        .extension(CodeEveryError)
}

// --- object types ------------------------------------------------------------------------------

/// A coffee on the menu.
#[derive(SimpleObject, Clone, Debug)]
pub struct Coffee {
    pub id: ID,
    pub name: String,
    pub description: String,
    /// In cents (AUD).
    pub price: i64,
    /// Its options with what each adds to the price: on the menu only (null in an order's copy
    /// of the coffee; the order has the options chosen).
    pub options: Option<MenuOptions>,
    /// False: sold out for now. Null in an order's copy of the coffee.
    pub available: Option<bool>,
}

impl From<&coffee_domain::Coffee> for Coffee {
    fn from(c: &coffee_domain::Coffee) -> Self {
        Self {
            id: ID(c.id.to_string()),
            name: c.name.clone(),
            description: c.description.clone(),
            price: i64::from(c.price.0),
            options: None,
            available: None,
        }
    }
}

impl From<&coffee_domain::MenuItem> for Coffee {
    fn from(m: &coffee_domain::MenuItem) -> Self {
        let choices = |list: Vec<(&str, i32)>| {
            list.into_iter()
                .map(|(value, delta)| OptionChoice { value: value.to_owned(), price_delta: delta.into() })
                .collect()
        };
        let o = &m.options;
        Self {
            options: Some(MenuOptions {
                size: choices(o.size.iter().map(|c| (c.value.as_str(), c.price_delta)).collect()),
                milk: choices(o.milk.iter().map(|c| (c.value.as_str(), c.price_delta)).collect()),
                extra_shot: o.extra_shot.into(),
                max_extra_shots: o.max_extra_shots.into(),
            }),
            available: Some(m.available),
            ..Self::from(&m.coffee)
        }
    }
}

/// A drink's options on the menu, with what each adds to its price (in cents; negative: less).
#[derive(SimpleObject, Clone, Debug)]
pub struct MenuOptions {
    /// small, regular, large.
    pub size: Vec<OptionChoice>,
    /// full, skim, oat, soy.
    pub milk: Vec<OptionChoice>,
    /// What each extra shot adds.
    pub extra_shot: i64,
    pub max_extra_shots: i64,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct OptionChoice {
    pub value: String,
    pub price_delta: i64,
}

/// A drink's options as the owner sets them: each size and milk offered, with what it adds to
/// the price (in cents; negative: less), what an extra shot adds and how many may be asked for.
#[derive(async_graphql::InputObject, Clone, Debug)]
pub struct MenuOptionsInput {
    /// Some of small, regular, large, each once.
    pub size: Vec<OptionChoiceInput>,
    /// Some of full, skim, oat, soy, each once.
    pub milk: Vec<OptionChoiceInput>,
    pub extra_shot: i32,
    /// 0 to 3.
    pub max_extra_shots: i32,
}

#[derive(async_graphql::InputObject, Clone, Debug)]
pub struct OptionChoiceInput {
    pub value: String,
    pub price_delta: i32,
}

impl MenuOptionsInput {
    fn prices(&self) -> Result<coffee_domain::OptionPrices, coffee_domain::InvalidInput> {
        fn parts(choices: &[OptionChoiceInput]) -> Vec<(&str, i64)> {
            choices.iter().map(|c| (c.value.as_str(), i64::from(c.price_delta))).collect()
        }
        coffee_domain::OptionPrices::from_parts(
            &parts(&self.size),
            &parts(&self.milk),
            self.extra_shot.into(),
            self.max_extra_shots.into(),
        )
    }
}

/// The options a customer chose.
#[derive(SimpleObject, Clone, Debug)]
pub struct ChosenOptions {
    /// small, regular or large.
    pub size: String,
    /// full, skim, oat or soy.
    pub milk: String,
    pub extra_shots: i64,
}

impl From<&coffee_domain::DrinkOptions> for ChosenOptions {
    fn from(o: &coffee_domain::DrinkOptions) -> Self {
        Self { size: o.size.as_str().to_owned(), milk: o.milk.as_str().to_owned(), extra_shots: o.extra_shots.into() }
    }
}

/// `createOrder`'s options: each left out is the drink as it comes (regular, full milk, none).
#[derive(async_graphql::InputObject, Clone, Debug)]
pub struct OptionsInput {
    pub size: Option<String>,
    pub milk: Option<String>,
    pub extra_shots: Option<i64>,
}

/// An order: one coffee for one customer.
#[derive(SimpleObject, Clone, Debug)]
pub struct OrderDetail {
    pub id: ID,
    pub customer_id: String,
    pub customer_name: String,
    /// The day's number of the order, counting from 1: what the barista calls. Absent on
    /// orders placed before numbers existed.
    pub order_number: Option<i32>,
    pub coffee: Option<Coffee>,
    /// Size, milk and extra shots as chosen; null on orders from before options.
    pub options: Option<ChosenOptions>,
    /// What the drink with its options costs, in cents (the coffee's price on older orders).
    pub price: i64,
    /// ORDER_CREATED, ORDER_IN_PROGRESS, ORDER_CANCELLED or ORDER_COMPLETED.
    pub status: String,
    pub note: Option<String>,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// Seconds since the epoch.
    pub updated_at: i64,
    /// The day the order was placed, YYYY-MM-DD (UTC).
    pub date: String,
}

impl From<&coffee_domain::Order> for OrderDetail {
    fn from(o: &coffee_domain::Order) -> Self {
        Self {
            id: ID(o.id.to_string()),
            customer_id: o.customer_id.to_string(),
            customer_name: o.customer_name.to_string(),
            order_number: number(o.order_number),
            coffee: Some(Coffee::from(&o.coffee)),
            options: o.options.as_ref().map(ChosenOptions::from),
            price: i64::from(o.amount().0),
            status: o.status.as_str().to_owned(),
            note: o.note.as_ref().map(ToString::to_string),
            created_at: o.created_at.seconds(),
            updated_at: o.updated_at.seconds(),
            date: o.date().to_string(),
        }
    }
}

/// The payment of an order.
#[derive(SimpleObject, Clone, Debug)]
pub struct PaymentDetail {
    pub id: ID,
    pub order_id: ID,
    /// PAYMENT_PENDING, PAYMENT_CREATED, PAYMENT_SUCCESSFUL, PAYMENT_FAILED or PAYMENT_REFUNDED.
    pub status: String,
    pub payment_intent_id: Option<String>,
    /// What the customer's browser needs to pay: only in the answer to `makePayment`.
    pub client_secret: Option<String>,
    pub note: Option<String>,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// In cents.
    pub amount: i64,
    pub currency: String,
    pub customer_id: String,
    pub customer_name: String,
    /// The day's number of the order, counting from 1: what the barista calls. Absent on
    /// orders placed before numbers existed.
    pub order_number: Option<i32>,
    /// Size, milk and extra shots as chosen; null on orders from before options.
    pub options: Option<ChosenOptions>,
    /// Seconds since the epoch.
    pub updated_at: i64,
}

impl From<&coffee_domain::Payment> for PaymentDetail {
    fn from(p: &coffee_domain::Payment) -> Self {
        Self {
            id: ID(p.id.to_string()),
            order_id: ID(p.order_id.to_string()),
            status: p.status.as_str().to_owned(),
            payment_intent_id: p.payment_intent_id.clone(),
            client_secret: None,
            note: p.note.as_ref().map(ToString::to_string),
            created_at: p.created_at.seconds(),
            amount: i64::from(p.amount.0),
            currency: p.currency.clone(),
            customer_id: p.customer_id.to_string(),
            customer_name: p.customer_name.to_string(),
            order_number: number(p.order_number),
            options: p.options.as_ref().map(ChosenOptions::from),
            updated_at: p.updated_at.seconds(),
        }
    }
}

impl From<&PaymentWithSecret> for PaymentDetail {
    fn from(p: &PaymentWithSecret) -> Self {
        Self { client_secret: Some(p.client_secret.clone()), ..Self::from(&p.payment) }
    }
}

/// The barista's job of making one paid coffee.
#[derive(SimpleObject, Clone, Debug)]
pub struct FulfilmentDetail {
    pub id: ID,
    pub order_id: ID,
    /// FULFILMENT_CREATED, FULFILMENT_COMPLETED or FULFILMENT_REJECTED.
    pub status: String,
    pub note: Option<String>,
    /// Seconds since the epoch.
    pub created_at: i64,
    pub customer_id: String,
    pub customer_name: String,
    /// The day's number of the order, counting from 1: what the barista calls. Absent on
    /// orders placed before numbers existed.
    pub order_number: Option<i32>,
    pub coffee: Option<Coffee>,
    /// Size, milk and extra shots as chosen; null on orders from before options.
    pub options: Option<ChosenOptions>,
    /// The barista making it; null while it waits for anyone.
    pub barista_name: Option<String>,
    /// Seconds since the epoch: when that barista claimed it.
    pub claimed_at: Option<i64>,
    /// Seconds since the epoch.
    pub updated_at: i64,
}

impl From<&coffee_domain::Fulfilment> for FulfilmentDetail {
    fn from(f: &coffee_domain::Fulfilment) -> Self {
        Self {
            id: ID(f.id.to_string()),
            order_id: ID(f.order_id.to_string()),
            status: f.status.as_str().to_owned(),
            note: f.note.as_ref().map(ToString::to_string),
            created_at: f.created_at.seconds(),
            customer_id: f.customer_id.to_string(),
            customer_name: f.customer_name.to_string(),
            order_number: number(f.order_number),
            coffee: Some(Coffee::from(&f.coffee)),
            options: f.options.as_ref().map(ChosenOptions::from),
            barista_name: f.barista_name.as_ref().map(ToString::to_string),
            claimed_at: f.claimed_at.map(coffee_domain::Millis::seconds),
            updated_at: f.updated_at.seconds(),
        }
    }
}

/// An order number as GraphQL's `Int` carries it (32 bits: a day's numbers stay far below).
fn number(n: Option<u32>) -> Option<i32> {
    n.and_then(|n| i32::try_from(n).ok())
}

/// An order as the pickup board shows it, to anyone: its number and the customer's first name.
#[derive(SimpleObject, Clone, Debug)]
pub struct PickupOrder {
    /// The number the barista calls.
    pub number: String,
    /// The customer's first name.
    pub name: String,
    /// ORDER_IN_PROGRESS (being made), ORDER_COMPLETED (ready) or ORDER_CANCELLED (gone).
    pub status: String,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// Seconds since the epoch: for a ready order, when it became ready.
    pub updated_at: i64,
}

impl From<&coffee_order::model::PickupOrder> for PickupOrder {
    fn from(p: &coffee_order::model::PickupOrder) -> Self {
        Self {
            number: p.number.clone(),
            name: p.name.clone(),
            status: p.status.as_str().to_owned(),
            created_at: p.created_at.seconds(),
            updated_at: p.updated_at.seconds(),
        }
    }
}

/// How a customer's browser pays.
#[derive(SimpleObject, Clone, Debug, PartialEq)]
pub struct Checkout {
    /// `simulated` (the app's own card form, `confirmPayment`, with Stripe's test card numbers)
    /// or `stripe` (Stripe.js and its Payment Element, with `makePayment`'s client secret).
    pub provider: String,
    /// Stripe's publishable key (`pk_...`) for Stripe.js; null with the simulated provider.
    pub publishable_key: Option<String>,
}

impl From<coffee_payment::model::Checkout> for Checkout {
    fn from(c: coffee_payment::model::Checkout) -> Self {
        let provider = match c.provider {
            coffee_payment::model::CheckoutProvider::Simulated => "simulated",
            coffee_payment::model::CheckoutProvider::Stripe => "stripe",
        };
        Self { provider: provider.to_owned(), publishable_key: c.publishable_key }
    }
}

/// The shop as anyone sees it before ordering.
#[derive(SimpleObject, Clone, Debug, PartialEq)]
pub struct Shop {
    /// Whether it takes orders now.
    pub open: bool,
    /// The most open orders (placed, not yet completed or cancelled) at once; null: no limit.
    pub capacity: Option<i32>,
    /// Orders placed and not yet completed or cancelled.
    pub queue_length: i32,
    /// How long a drink paid for now can expect to take, in seconds, from the last hour's
    /// drinks; null when none was made in the last hour.
    pub estimated_wait_seconds: Option<i32>,
    /// The shop's word to its customers (why it is closed, when it opens).
    pub message: Option<String>,
    /// After how long from payment the barista's queue flags a drink still waiting as slow.
    pub slow_order_after_seconds: i32,
    /// How long a ready order stays on the pickup board.
    pub pickup_board_seconds: i32,
    /// How long an order waits for its payment before it is cancelled ("Not paid in time").
    pub unpaid_order_timeout_seconds: i32,
}

impl From<&coffee_order::model::ShopStatus> for Shop {
    fn from(s: &coffee_order::model::ShopStatus) -> Self {
        let int = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        Self {
            open: s.open,
            capacity: s.capacity.map(|c| int(c.into())),
            queue_length: int(s.queue_length.into()),
            estimated_wait_seconds: s.estimated_wait_seconds.map(int),
            message: s.message.as_ref().map(ToString::to_string),
            slow_order_after_seconds: int(s.slow_order_after_seconds),
            pickup_board_seconds: int(s.pickup_board_seconds),
            unpaid_order_timeout_seconds: int(s.unpaid_order_timeout_seconds),
        }
    }
}

/// A day's figures (UTC), from its orders: what the owner reads on /admin.
#[derive(SimpleObject, Clone, Debug, PartialEq)]
pub struct DayFigures {
    /// The day, YYYY-MM-DD.
    pub date: String,
    pub orders: i32,
    pub completed: i32,
    /// Paid for and still being made.
    pub in_progress: i32,
    /// Placed and not paid (yet).
    pub unpaid: i32,
    pub cancelled: i32,
    /// What completed orders cost, in cents: the takings, net of refunds.
    pub revenue: i32,
    /// What paid orders that were then cancelled cost, in cents: given back.
    pub refunded: i32,
    /// What paid orders still being made cost, in cents.
    pub in_progress_amount: i32,
    /// Each drink ordered that day, most ordered first.
    pub by_drink: Vec<DrinkFigures>,
    pub cancellations: Cancellations,
    /// From payment to ready over the day's completed orders, in seconds; null: nothing made.
    pub median_ready_seconds: Option<i32>,
    pub p90_ready_seconds: Option<i32>,
    /// Orders placed in each hour of the day (UTC), 24 of them from 00:00.
    pub orders_per_hour: Vec<i32>,
    /// False when the day held more orders than were read (5,000): the figures are of the first.
    pub complete: bool,
}

/// One drink's line of a day's figures.
#[derive(SimpleObject, Clone, Debug, PartialEq)]
pub struct DrinkFigures {
    pub coffee_id: String,
    pub name: String,
    pub orders: i32,
    pub completed: i32,
    /// In cents.
    pub revenue: i32,
}

/// Why a day's orders were cancelled.
#[derive(SimpleObject, Clone, Debug, PartialEq)]
pub struct Cancellations {
    pub by_customer: i32,
    pub not_paid_in_time: i32,
    pub payment_failed: i32,
    pub rejected_by_barista: i32,
    pub other: i32,
}

impl From<&coffee_domain::DayFigures> for DayFigures {
    fn from(f: &coffee_domain::DayFigures) -> Self {
        let int = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        let count = |n: u32| int(n.into());
        let c = &f.cancellations;
        Self {
            date: f.date.to_string(),
            orders: count(f.orders),
            completed: count(f.completed),
            in_progress: count(f.in_progress),
            unpaid: count(f.unpaid),
            cancelled: count(f.cancelled),
            revenue: count(f.revenue.0),
            refunded: count(f.refunded.0),
            in_progress_amount: count(f.in_progress_amount.0),
            by_drink: f
                .by_drink
                .iter()
                .map(|d| DrinkFigures {
                    coffee_id: d.coffee_id.to_string(),
                    name: d.name.clone(),
                    orders: count(d.orders),
                    completed: count(d.completed),
                    revenue: count(d.revenue.0),
                })
                .collect(),
            cancellations: Cancellations {
                by_customer: count(c.by_customer),
                not_paid_in_time: count(c.not_paid_in_time),
                payment_failed: count(c.payment_failed),
                rejected_by_barista: count(c.rejected_by_barista),
                other: count(c.other),
            },
            median_ready_seconds: f.median_ready_seconds.map(int),
            p90_ready_seconds: f.p90_ready_seconds.map(int),
            orders_per_hour: f.orders_per_hour.iter().map(|n| count(*n)).collect(),
            complete: f.complete,
        }
    }
}

/// One event the system recorded about an order.
#[derive(SimpleObject, Clone, Debug)]
pub struct TimelineEvent {
    /// The event's id (a UUIDv7).
    pub id: ID,
    /// The CloudEvents type, e.g. `coffee.payment.succeeded`.
    #[graphql(name = "type")]
    pub event_type: String,
    /// The service that published it: order-service, payment-service or fulfilment-service.
    pub source: String,
    /// When it was published, RFC 3339.
    pub time: String,
    /// The status the entity entered.
    pub status: String,
    pub note: Option<String>,
    /// The event's data: the entity's JSON snapshot.
    pub data: String,
}

impl From<&Envelope> for TimelineEvent {
    fn from(e: &Envelope) -> Self {
        let (status, note) = match e.domain_event() {
            Ok(DomainEvent::Order(o)) => (o.status.as_str().to_owned(), o.note.map(|n| n.to_string())),
            Ok(DomainEvent::Payment(p)) => (p.status.as_str().to_owned(), p.note.map(|n| n.to_string())),
            Ok(DomainEvent::Fulfilment(f)) => (f.status.as_str().to_owned(), f.note.map(|n| n.to_string())),
            // An event this version cannot read is still part of the history.
            Err(_) => ("UNKNOWN".to_owned(), None),
        };
        Self {
            id: ID(e.id.clone()),
            event_type: e.event_type.clone(),
            source: e.source.clone(),
            time: e.time.clone(),
            status,
            note,
            data: e.data.to_string(),
        }
    }
}

// --- resolvers ---------------------------------------------------------------------------------

type Res<T> = Result<T, GatewayError>;

fn services<'a>(ctx: &Context<'a>) -> Res<&'a Services> {
    ctx.data::<Services>().map_err(|_| GatewayError(ServiceError::Internal("the gateway has no services".to_owned())))
}

/// The operation's context: who calls and the trace, as the HTTP handler (or the WebSocket's
/// `connection_init`) found them; anonymous on a new trace when nothing was put in the request's
/// data.
fn op(ctx: &Context<'_>) -> coffee_service::Context {
    ctx.data_opt::<coffee_service::Context>()
        .cloned()
        .unwrap_or_else(|| coffee_service::Context::new(TraceContext::new_root()))
}

/// An entity's id argument. An id that does not parse names no entity: `NOT_FOUND`, as for one
/// that parses but names none.
fn entity_id<T: PathId>(id: &ID) -> Res<T> {
    T::parse_path(id).ok_or_else(|| GatewayError(ServiceError::not_found(T::ENTITY, id)))
}

/// A note argument: absent or empty is no note.
fn note(input: Option<&str>) -> Res<Option<Note>> {
    Ok(input.map(Note::parse).transpose().map_err(|e| bad_input(e.to_string()))?.flatten())
}

/// The original's list shape: a nullable list of nullable items.
/// A list's page from GraphQL's `Int`s: neither may be negative (the range of `limit` is the
/// list's to check, as for REST).
fn page(limit: Option<i32>, offset: Option<i32>) -> Result<(Option<u32>, Option<u32>), ServiceError> {
    let whole = |name: &str, n: Option<i32>| {
        n.map(|n| u32::try_from(n).map_err(|_| ServiceError::BadInput(format!("{name}: {n} is negative")))).transpose()
    };
    Ok((whole("limit", limit)?, whole("offset", offset)?))
}

fn list<T, D: for<'a> From<&'a T>>(items: &[T]) -> Option<Vec<Option<D>>> {
    Some(items.iter().map(|i| Some(D::from(i))).collect())
}

pub struct Query;

#[Object]
impl Query {
    /// The menu.
    async fn get_coffees(&self, ctx: &Context<'_>) -> Res<Option<Vec<Option<Coffee>>>> {
        let coffees = services(ctx)?.orders.coffees(&op(ctx)).await?;
        Ok(list(&coffees))
    }

    /// The orders of a day (YYYY-MM-DD; today, UTC, when both arguments are absent) or of a
    /// customer; not both. A page: the newest `limit` (500 unless given, at most 5000) after
    /// skipping `offset` (0); the next page is the older ones (every page is oldest first).
    async fn get_order_list(
        &self,
        ctx: &Context<'_>,
        date: Option<String>,
        customer_id: Option<String>,
        limit: Option<i32>,
        offset: Option<i32>,
    ) -> Res<Option<Vec<Option<OrderDetail>>>> {
        let (limit, offset) = page(limit, offset)?;
        let request = OrderList::try_from(ListQuery { date, customer_id, limit, offset, ..ListQuery::default() })?;
        let orders = services(ctx)?.orders.orders(&op(ctx), &request).await?;
        Ok(list(&orders))
    }

    /// The payments of a day (today, UTC, by default), a page at a time as `getOrderList`.
    async fn get_payment_list(
        &self,
        ctx: &Context<'_>,
        date: Option<String>,
        limit: Option<i32>,
        offset: Option<i32>,
    ) -> Res<Option<Vec<Option<PaymentDetail>>>> {
        let (limit, offset) = page(limit, offset)?;
        let request = PaymentList::try_from(ListQuery { date, limit, offset, ..ListQuery::default() })?;
        let payments = services(ctx)?.payments.payments(&op(ctx), &request).await?;
        Ok(list(&payments))
    }

    /// The fulfilments of a day (today, UTC, by default), a page at a time as `getOrderList`.
    async fn get_fulfilment_list(
        &self,
        ctx: &Context<'_>,
        date: Option<String>,
        limit: Option<i32>,
        offset: Option<i32>,
    ) -> Res<Option<Vec<Option<FulfilmentDetail>>>> {
        let (limit, offset) = page(limit, offset)?;
        let request = FulfilmentList::try_from(ListQuery { date, limit, offset, ..ListQuery::default() })?;
        let fulfilments = services(ctx)?.fulfilments.fulfilments(&op(ctx), &request).await?;
        Ok(list(&fulfilments))
    }

    /// An order; null when there is none with this id.
    async fn get_order(&self, ctx: &Context<'_>, order_id: ID) -> Res<Option<OrderDetail>> {
        let Some(id) = OrderId::parse_path(&order_id) else { return Ok(None) };
        Ok(services(ctx)?.find_order(&op(ctx), id).await?.as_ref().map(OrderDetail::from))
    }

    /// The payment of an order; null while it has none. Never carries the client secret.
    async fn get_payment_for_order(&self, ctx: &Context<'_>, order_id: ID) -> Res<Option<PaymentDetail>> {
        let Some(id) = OrderId::parse_path(&order_id) else { return Ok(None) };
        Ok(services(ctx)?.payment_for_order(&op(ctx), id).await?.as_ref().map(PaymentDetail::from))
    }

    /// The fulfilment of an order; null while it has none (it is created once the order is paid).
    async fn get_fulfilment_for_order(&self, ctx: &Context<'_>, order_id: ID) -> Res<Option<FulfilmentDetail>> {
        let Some(id) = OrderId::parse_path(&order_id) else { return Ok(None) };
        Ok(services(ctx)?.fulfilment_for_order(&op(ctx), id).await?.as_ref().map(FulfilmentDetail::from))
    }

    /// The barista's queue: open fulfilments (FULFILMENT_CREATED) of any day, oldest first.
    async fn get_fulfilment_queue(&self, ctx: &Context<'_>) -> Res<Vec<FulfilmentDetail>> {
        Ok(services(ctx)?.fulfilment_queue(&op(ctx)).await?.iter().map(FulfilmentDetail::from).collect())
    }

    /// The shop, for anyone: open or not, its capacity and queue, the estimated wait, its message.
    async fn get_shop(&self, ctx: &Context<'_>) -> Res<Shop> {
        Ok(Shop::from(&services(ctx)?.orders.shop(&op(ctx)).await?))
    }

    /// How a customer's browser pays, for anyone: the simulated card form, or Stripe's Payment
    /// Element with the shop's publishable key.
    async fn get_checkout(&self, ctx: &Context<'_>) -> Res<Checkout> {
        Ok(Checkout::from(services(ctx)?.payments.checkout(&op(ctx)).await?))
    }

    /// A day's figures (admins): orders and takings by drink, cancellations by reason, times from
    /// payment to ready, orders per hour. `date` is YYYY-MM-DD (UTC).
    async fn get_day_figures(&self, ctx: &Context<'_>, date: String) -> Res<DayFigures> {
        let date = coffee_domain::Day::parse(&date).map_err(ServiceError::from)?;
        let query = coffee_order::model::FiguresQuery { date };
        Ok(DayFigures::from(&services(ctx)?.orders.figures(&op(ctx), &query).await?))
    }

    /// The pickup board, for anyone: the orders being made, and those ready for the last
    /// `--pickup-board-minutes` (15 by default), with their number and the customer's first name only.
    async fn get_pickup_board(&self, ctx: &Context<'_>) -> Res<Vec<PickupOrder>> {
        Ok(services(ctx)?.orders.pickup_board(&op(ctx)).await?.iter().map(PickupOrder::from).collect())
    }

    /// Every event the three services published about an order, in time order.
    async fn get_order_timeline(&self, ctx: &Context<'_>, order_id: ID) -> Res<Vec<TimelineEvent>> {
        let id = entity_id::<OrderId>(&order_id)?;
        Ok(services(ctx)?.order_timeline(&op(ctx), id).await?.iter().map(TimelineEvent::from).collect())
    }
}

pub struct Mutation;

/// The owner's change to a drink, from GraphQL's arguments (each left out stays as it is).
fn coffee_change(
    name: Option<String>,
    description: Option<String>,
    price: Option<i32>,
    options: Option<MenuOptionsInput>,
    available: Option<bool>,
) -> Res<coffee_domain::CoffeeChange> {
    let price = price
        .map(|p| u32::try_from(p).map(coffee_domain::Cents))
        .transpose()
        .map_err(|_| bad_input(format!("price: must be 1 to {} cents", coffee_domain::CoffeeChange::MAX_PRICE)))?;
    let options = options.map(|o| o.prices()).transpose().map_err(|e| bad_input(e.to_string()))?;
    coffee_domain::CoffeeChange { name, description, price, options, available }
        .checked()
        .map_err(|e| bad_input(e.to_string()))
}

#[Object]
impl Mutation {
    /// A new drink on the menu (admins), with its options (left out: the standard ones); its id
    /// is the next number.
    async fn add_coffee(
        &self,
        ctx: &Context<'_>,
        name: String,
        description: Option<String>,
        price: i32,
        options: Option<MenuOptionsInput>,
    ) -> Res<Coffee> {
        let coffee = coffee_change(Some(name), description, Some(price), options, None)?;
        Ok(Coffee::from(&services(ctx)?.orders.add_coffee(&op(ctx), &coffee).await?))
    }

    /// Changes a drink on the menu (admins): its name, description, price, options (all of them
    /// at once), or whether it is sold out (`available: false`). Open menus update live
    /// (`menuUpdated`).
    // GraphQL's arguments, each optional, as the contract names them.
    #[allow(clippy::too_many_arguments)]
    async fn change_coffee(
        &self,
        ctx: &Context<'_>,
        coffee_id: ID,
        name: Option<String>,
        description: Option<String>,
        price: Option<i32>,
        options: Option<MenuOptionsInput>,
        available: Option<bool>,
    ) -> Res<Coffee> {
        let change = coffee_change(name, description, price, options, available)?;
        let id =
            CoffeeId::parse(&coffee_id).map_err(|_| GatewayError(ServiceError::not_found("coffee", &coffee_id)))?;
        Ok(Coffee::from(&services(ctx)?.orders.change_coffee(&op(ctx), &id, &change).await?))
    }

    /// Takes a drink off the menu (admins); answers the menu left. Ordering it is then SOLD_OUT.
    async fn remove_coffee(&self, ctx: &Context<'_>, coffee_id: ID) -> Res<Vec<Coffee>> {
        let id =
            CoffeeId::parse(&coffee_id).map_err(|_| GatewayError(ServiceError::not_found("coffee", &coffee_id)))?;
        Ok(services(ctx)?.orders.remove_coffee(&op(ctx), &id).await?.iter().map(Coffee::from).collect())
    }

    /// The shop's settings (admins): open or closed, the most open orders at once (null: no
    /// limit), the message to customers (null or empty: none). Each call sets all three.
    async fn set_shop(
        &self,
        ctx: &Context<'_>,
        open: bool,
        capacity: Option<i32>,
        message: Option<String>,
    ) -> Res<Shop> {
        let request =
            SetShop::parse(open, capacity.map(i64::from), message.as_deref()).map_err(|e| bad_input(e.to_string()))?;
        Ok(Shop::from(&services(ctx)?.orders.set_shop(&op(ctx), &request).await?))
    }

    /// Orders a coffee from the menu, with options; the price comes from the menu.
    async fn create_order(
        &self,
        ctx: &Context<'_>,
        coffee_id: ID,
        customer_id: String,
        customer_name: String,
        options: Option<OptionsInput>,
    ) -> Res<OrderDetail> {
        let parse = || -> Result<PlaceOrder, coffee_domain::InvalidInput> {
            let options = options
                .map(|o| coffee_domain::DrinkOptions::from_parts(o.size.as_deref(), o.milk.as_deref(), o.extra_shots))
                .transpose()?;
            Ok(PlaceOrder {
                coffee_id: CoffeeId::parse(&coffee_id)?,
                customer_id: Some(CustomerId::parse(&customer_id)?),
                customer_name: Some(CustomerName::parse(&customer_name)?),
                options,
            })
        };
        let request = parse().map_err(|e| bad_input(e.to_string()))?;
        Ok(OrderDetail::from(&services(ctx)?.orders.place_order(&op(ctx), &request).await?))
    }

    /// Starts paying an order: the payment, PAYMENT_CREATED, with the client secret the card
    /// form needs. Asking again returns the same payment.
    async fn make_payment(&self, ctx: &Context<'_>, order_id: ID) -> Res<PaymentDetail> {
        let (services, op) = (services(ctx)?, op(ctx));
        // The payment service would wait a moment for an order it has not heard of yet; an
        // order that does not exist at all is answered at once.
        let order = services.orders.order(&op, entity_id(&order_id)?).await?;
        let payment = services.payments.create_payment(&op, &CreatePayment { order_id: order.id }).await?;
        Ok(PaymentDetail::from(&payment))
    }

    /// The customer cancels, until the coffee is made. A paid order is refunded.
    async fn cancel_order(&self, ctx: &Context<'_>, order_id: ID, note: Option<String>) -> Res<OrderDetail> {
        let change = coffee_order::model::cancellation(self::note(note.as_deref())?);
        let order = services(ctx)?.orders.change_order(&op(ctx), entity_id(&order_id)?, &change).await?;
        Ok(OrderDetail::from(&order))
    }

    /// The barista cannot make the coffee: the order is cancelled and refunded.
    async fn reject_fulfilment(
        &self,
        ctx: &Context<'_>,
        fulfilment_id: ID,
        note: Option<String>,
    ) -> Res<FulfilmentDetail> {
        let change = FulfilmentChange { status: FulfilmentStatus::Rejected, note: self::note(note.as_deref())? };
        let rejected =
            services(ctx)?.fulfilments.change_fulfilment(&op(ctx), entity_id(&fulfilment_id)?, &change).await?;
        Ok(FulfilmentDetail::from(&rejected))
    }

    /// The barista made the coffee: the order is ready to collect.
    async fn complete_fulfilment(
        &self,
        ctx: &Context<'_>,
        fulfilment_id: ID,
        note: Option<String>,
    ) -> Res<FulfilmentDetail> {
        let change = FulfilmentChange { status: FulfilmentStatus::Completed, note: self::note(note.as_deref())? };
        let done = services(ctx)?.fulfilments.change_fulfilment(&op(ctx), entity_id(&fulfilment_id)?, &change).await?;
        Ok(FulfilmentDetail::from(&done))
    }

    /// The barista signed in takes a waiting coffee to make: the others see it taken
    /// (`baristaName`). CONFLICT when another barista is making it.
    async fn claim_fulfilment(&self, ctx: &Context<'_>, fulfilment_id: ID) -> Res<FulfilmentDetail> {
        let claim = coffee_fulfilment::model::Claim { claimed: true };
        let taken = services(ctx)?.fulfilments.claim_fulfilment(&op(ctx), entity_id(&fulfilment_id)?, &claim).await?;
        Ok(FulfilmentDetail::from(&taken))
    }

    /// The barista making a coffee lets it go, back to the queue (an admin may free anyone's).
    async fn release_fulfilment(&self, ctx: &Context<'_>, fulfilment_id: ID) -> Res<FulfilmentDetail> {
        let claim = coffee_fulfilment::model::Claim { claimed: false };
        let freed = services(ctx)?.fulfilments.claim_fulfilment(&op(ctx), entity_id(&fulfilment_id)?, &claim).await?;
        Ok(FulfilmentDetail::from(&freed))
    }

    /// The simulated provider's card form. Returns the payment after the outcome:
    /// PAYMENT_SUCCESSFUL, or, for a declined card, still PAYMENT_CREATED with a note saying
    /// why: another card may then pay. Test cards:
    /// 4242424242424242 succeeds; 4000000000000002 is declined; 4000000000009995 has
    /// insufficient funds; any other number is refused (BAD_USER_INPUT).
    async fn confirm_payment(&self, ctx: &Context<'_>, payment_id: ID, card_number: String) -> Res<PaymentDetail> {
        let id = entity_id::<PaymentId>(&payment_id)?;
        let request =
            ConfirmPayment { card_number: CardNumber::parse(&card_number).map_err(|e| bad_input(e.to_string()))? };
        let payment = services(ctx)?.payments.confirm_payment(&op(ctx), id, &request).await?;
        Ok(PaymentDetail::from(&payment))
    }
}

pub struct Subscription;

/// The stream a subscription resolver returns: the contract's nullable result, or an error
/// (reading the current state failed) that does not end the subscription.
type Updates<T> = Result<Option<T>, GatewayError>;

#[Subscription]
impl Subscription {
    /// Changes of orders: of one order (its current state first), of one customer's orders, or
    /// of every order.
    async fn order_updated(
        &self,
        ctx: &Context<'_>,
        order_id: Option<String>,
        customer_id: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = Updates<OrderDetail>> + use<>> {
        Ok(watch::<coffee_domain::Order, _>(ctx, order_id, customer_id).await?)
    }

    /// Changes of payments: of one payment (its current state first), of one customer's
    /// payments, or of every payment. Never carries the client secret.
    async fn payment_updated(
        &self,
        ctx: &Context<'_>,
        payment_id: Option<String>,
        customer_id: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = Updates<PaymentDetail>> + use<>> {
        Ok(watch::<coffee_domain::Payment, _>(ctx, payment_id, customer_id).await?)
    }

    /// Changes of fulfilments: of one fulfilment (its current state first), of one customer's
    /// fulfilments, or of every fulfilment.
    async fn fulfilment_updated(
        &self,
        ctx: &Context<'_>,
        fulfilment_id: Option<String>,
        customer_id: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = Updates<FulfilmentDetail>> + use<>> {
        Ok(watch::<coffee_domain::Fulfilment, _>(ctx, fulfilment_id, customer_id).await?)
    }

    /// The menu, for anyone: each time the owner changes it (a drink sold out or back, added,
    /// changed or removed), the whole menu as customers see it.
    async fn menu_updated(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = Updates<Vec<Coffee>>> + use<>> {
        let notifier =
            ctx.data::<Notifier>().map_err(|_| GatewayError(ServiceError::Internal("no live feed".into())))?;
        let (services, op) = (services(ctx)?.clone(), op(ctx));
        let ticks = notifier.ticks(|e| e.event_type == coffee_order::model::MENU_UPDATED);
        Ok(ticks.then(move |()| {
            let (services, op) = (services.clone(), op.clone());
            async move {
                match services.orders.coffees(&op).await {
                    Ok(menu) => Ok(Some(menu.iter().map(Coffee::from).collect())),
                    Err(e) => Err(GatewayError(e)),
                }
            }
        }))
    }

    /// The shop, for anyone: its state now, then again whenever it changes (the owner's
    /// settings, or the queue as orders come and go), at most once a second.
    async fn shop_updated(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = Updates<Shop>> + use<>> {
        let notifier =
            ctx.data::<Notifier>().map_err(|_| GatewayError(ServiceError::Internal("no live feed".into())))?;
        let (services, op) = (services(ctx)?.clone(), op(ctx));
        // The shop's own events and every order's: each order placed, paid, made or cancelled
        // moves the queue and the wait.
        let ticks = notifier.ticks(|e| e.source == coffee_order::SERVICE).boxed();
        let state = ShopWatch { services, op, ticks, last: None, first: true };
        Ok(futures::stream::unfold(state, ShopWatch::next))
    }

    /// Changes of the pickup board, for anyone: each order that starts being made, becomes
    /// ready or is cancelled, with its number and the customer's first name only.
    async fn pickup_board_updated(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = Updates<PickupOrder>> + use<>> {
        let shown = |o: &coffee_domain::Order| {
            matches!(o.status, OrderStatus::InProgress | OrderStatus::Completed | OrderStatus::Cancelled)
        };
        let notifier =
            ctx.data::<Notifier>().map_err(|_| GatewayError(ServiceError::Internal("no live feed".into())))?;
        Ok(notifier.watch::<coffee_domain::Order>(Filter::default(), None).filter_map(move |change| {
            let pickup = match change {
                Ok(order) if shown(&order) => {
                    Some(Ok(Some(PickupOrder::from(&coffee_order::model::PickupOrder::from(&order)))))
                }
                Ok(_) => None,
                Err(e) => Some(Err(GatewayError(e))),
            };
            futures::future::ready(pickup)
        }))
    }
}

/// The shop's subscription: what was last sent, and the ticks that may change it.
struct ShopWatch {
    services: Services,
    op: coffee_service::Context,
    ticks: futures::stream::BoxStream<'static, ()>,
    last: Option<Shop>,
    first: bool,
}

/// How long the shop's subscription gathers ticks before it reads again: a burst of orders
/// costs one read per subscriber, not one per event.
const SHOP_COALESCE: std::time::Duration = std::time::Duration::from_secs(1);

impl ShopWatch {
    async fn next(mut self) -> Option<(Updates<Shop>, Self)> {
        loop {
            if !std::mem::take(&mut self.first) {
                self.ticks.next().await?;
                let deadline = tokio::time::sleep(SHOP_COALESCE);
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        _ = &mut deadline => break,
                        tick = self.ticks.next() => { tick?; }
                    }
                }
            }
            match self.services.orders.shop(&self.op).await {
                Ok(status) => {
                    let shop = Shop::from(&status);
                    if self.last.as_ref() != Some(&shop) {
                        self.last = Some(shop.clone());
                        return Some((Ok(Some(shop)), self));
                    }
                }
                Err(e) => return Some((Err(GatewayError(e)), self)),
            }
        }
    }
}

/// An entity a subscription can watch: how its id argument parses, and how the watch reads its
/// current state.
trait Watchable: Entity {
    type Id: Copy + ToString + Send + Sync + 'static;
    const PARSE: fn(&str) -> Result<Self::Id, coffee_domain::InvalidInput>;
    fn read(services: Services, op: coffee_service::Context, id: Self::Id) -> BoxFuture<'static, ServiceResult<Self>>;
}

impl Watchable for coffee_domain::Order {
    type Id = OrderId;
    const PARSE: fn(&str) -> Result<OrderId, coffee_domain::InvalidInput> = OrderId::parse;
    fn read(services: Services, op: coffee_service::Context, id: OrderId) -> BoxFuture<'static, ServiceResult<Self>> {
        Box::pin(async move { services.orders.order(&op, id).await })
    }
}

impl Watchable for coffee_domain::Payment {
    type Id = PaymentId;
    const PARSE: fn(&str) -> Result<PaymentId, coffee_domain::InvalidInput> = PaymentId::parse;
    fn read(services: Services, op: coffee_service::Context, id: PaymentId) -> BoxFuture<'static, ServiceResult<Self>> {
        Box::pin(async move { services.payments.payment(&op, id).await })
    }
}

impl Watchable for coffee_domain::Fulfilment {
    type Id = FulfilmentId;
    const PARSE: fn(&str) -> Result<FulfilmentId, coffee_domain::InvalidInput> = FulfilmentId::parse;
    fn read(
        services: Services,
        op: coffee_service::Context,
        id: FulfilmentId,
    ) -> BoxFuture<'static, ServiceResult<Self>> {
        Box::pin(async move { services.fulfilments.fulfilment(&op, id).await })
    }
}

/// The changes of the entities a subscription names: one entity (its current state first), one
/// customer's, or every one. A malformed id could never match anything, so it is refused rather
/// than silently watched.
///
/// Who may watch is decided once, here, before anything is sent: one entity, whoever may read
/// it (another customer's is `NOT_FOUND`); one customer's, that customer or the staff; every
/// one, the staff. The subscription's reads of the current state are the subscriber's own.
async fn watch<T: Watchable, D: for<'a> From<&'a T>>(
    ctx: &Context<'_>,
    id: Option<String>,
    customer_id: Option<String>,
) -> Res<impl Stream<Item = Updates<D>> + use<T, D>> {
    let id = id.map(|id| T::PARSE(&id)).transpose().map_err(|e| bad_input(e.to_string()))?;
    let customer_id = customer_id.map(|c| CustomerId::parse(&c)).transpose().map_err(|e| bad_input(e.to_string()))?;
    let (services, caller) = (services(ctx)?.clone(), op(ctx));
    match (&id, &customer_id) {
        (Some(id), _) => drop(T::read(services.clone(), caller.clone(), *id).await?),
        (None, Some(customer)) => caller.names_customer(customer)?,
        (None, None) => caller.staff()?,
    }
    let current = id.map(|id| -> Fetch<T> { Arc::new(move || T::read(services.clone(), caller.clone(), id)) });
    let filter = Filter { id: id.map(|i| i.to_string()), customer_id: customer_id.map(|c| c.as_str().to_owned()) };
    updates(ctx, filter, current)
}

fn updates<T: Entity, D: for<'a> From<&'a T>>(
    ctx: &Context<'_>,
    filter: Filter,
    current: Option<Fetch<T>>,
) -> Result<impl Stream<Item = Updates<D>> + use<T, D>, GatewayError> {
    let notifier = ctx
        .data::<Notifier>()
        .map_err(|_| GatewayError(ServiceError::Internal("the gateway has no live feed".into())))?;
    Ok(notifier.watch(filter, current).map(move |change| match change {
        Ok(entity) => Ok(Some(D::from(&entity))),
        Err(e) => Err(GatewayError(e)),
    }))
}

#[cfg(test)]
mod tests;

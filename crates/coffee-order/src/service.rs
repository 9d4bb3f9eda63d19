//! The order service's operations: what its REST API and the gateway call.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use coffee_bus::{Change, Decision, Envelope, Expect, Lookup, Records, Store};
use coffee_domain::shop::{Made, Refusal, estimated_wait_seconds};
use coffee_domain::{
    CoffeeChange, CoffeeId, CustomerId, CustomerName, DayFigures, Menu, MenuItem, Millis, NotOrderable, Order, OrderId,
    OrderStatus, Shop,
};
use coffee_service::{
    Caller, Coalesced, Context, Events, ListRecords, Load, MAX_LIST, ServiceError, ServiceResult, ShopRule, now,
};

use crate::client::OrderClient;
use crate::model::{
    FiguresQuery, MENU, MENU_KEY, MENU_UPDATED, ORDERS, OrderChange, OrderList, PickupOrder, PlaceOrder, SHOP,
    SHOP_KEY, SHOP_UPDATED, SetShop, ShopStatus,
};

#[derive(Clone)]
pub struct OrderService {
    orders: Records<Order>,
    shop: Records<Shop>,
    menu: Records<Menu>,
    rules: ShopRules,
    /// The orders of the days that can still be open, read once for all who ask at once: the
    /// shop's status and the pickup board are anyone's to read, and each reads two days.
    recent: Arc<Coalesced<Vec<Order>>>,
}

/// The shop's rules the order service applies, set when it starts (`--max-unpaid-orders`,
/// `--unpaid-order-timeout`, `--slow-order-after`, `--pickup-board-minutes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShopRules {
    /// The most unpaid orders a customer may have at once (0: no limit). The default, 3: a
    /// customer ordering for friends, not a script filling the barista's board with orders
    /// nobody pays for.
    pub max_unpaid: u32,
    /// How long an order waits for its payment before it is cancelled (default 10 minutes).
    pub unpaid_timeout: Duration,
    /// When a paid drink still waiting counts as slow: the barista's queue flags it (default 10
    /// minutes from payment).
    pub slow_after: Duration,
    /// How long a ready order stays on the pickup board (default 15 minutes).
    pub ready_on_board: Duration,
}

impl Default for ShopRules {
    fn default() -> Self {
        Self {
            max_unpaid: 3,
            unpaid_timeout: Duration::from_secs(600),
            slow_after: Duration::from_secs(600),
            ready_on_board: Duration::from_secs(15 * 60),
        }
    }
}

impl OrderService {
    pub fn new(store: Arc<dyn Store>, rules: ShopRules) -> Self {
        Self {
            orders: Records::new(store.clone(), ORDERS),
            shop: Records::new(store.clone(), SHOP),
            menu: Records::new(store, MENU),
            rules,
            recent: Arc::default(),
        }
    }

    pub fn records(&self) -> &Records<Order> {
        &self.orders
    }

    /// The menu as the owner keeps it, and its version (never changed: the original's menu).
    async fn stored_menu(&self) -> ServiceResult<(Menu, Expect)> {
        Ok(match self.menu.get(MENU_KEY).await? {
            Some(m) => (m.value, Expect::Version(m.version)),
            None => (Menu::standard(), Expect::New),
        })
    }

    /// Changes the menu (admins), announcing it; `decide` answers the new menu and what the
    /// caller gets, or `None` when the drink is not on the menu.
    async fn change_menu<R: Send>(
        &self,
        ctx: &Context,
        id: Option<&CoffeeId>,
        decide: impl Fn(&Menu) -> Result<Option<(Menu, R)>, coffee_domain::InvalidInput> + Send + Sync,
    ) -> ServiceResult<R> {
        ctx.admin()?;
        self.menu
            .update(|| async {
                let (current, expect) = self.stored_menu().await?;
                let Some((next, answer)) = decide(&current)? else {
                    let id = id.map(ToString::to_string).unwrap_or_default();
                    return Err(ServiceError::not_found("coffee on the menu", &id));
                };
                let data = serde_json::to_value(&next).map_err(|e| ServiceError::Internal(e.to_string()))?;
                let event = Envelope::of(crate::SERVICE, MENU_UPDATED, MENU_KEY, data, &ctx.trace);
                let write = Change::new().put(MENU, &next, expect)?.publish(event);
                Ok::<_, ServiceError>(Decision::Commit(write, answer))
            })
            .await
    }

    /// The shop's settings as stored (never set: open, no limit).
    async fn settings(&self) -> ServiceResult<Shop> {
        Ok(self.shop.get(SHOP_KEY).await?.map(|s| s.value).unwrap_or_default())
    }

    /// The orders of the days that can still be open (yesterday's and today's, UTC, as the
    /// pickup board reads them), with their bodies: what the queue and the estimate count.
    async fn recent_orders(&self, now: Millis) -> ServiceResult<Arc<Vec<Order>>> {
        self.recent
            .get(async {
                let mut orders = Vec::new();
                for day in PickupOrder::board_days(now) {
                    orders.extend(self.orders.find(Lookup::Day(&day.to_string()), MAX_LIST).await?);
                }
                Ok(orders)
            })
            .await
    }

    /// How many orders are open (placed and not yet completed or cancelled) since yesterday:
    /// statuses only, as the capacity check at every placement needs no more.
    async fn open_orders(&self, now: Millis) -> ServiceResult<usize> {
        let mut open = 0;
        for day in PickupOrder::board_days(now) {
            let statuses = self.orders.statuses(Lookup::Day(&day.to_string()), MAX_LIST).await?;
            open += statuses.iter().filter(|s| is_open(s)).count();
        }
        Ok(open)
    }

    /// Whether the shop takes an order now: open, and below its capacity.
    async fn admits(&self, now: Millis) -> ServiceResult<()> {
        let shop = self.settings().await?;
        let open_orders = if shop.open && shop.capacity.is_some() { self.open_orders(now).await? } else { 0 };
        shop.admits(open_orders).map_err(|refusal| match refusal {
            Refusal::Closed(why) => ServiceError::Refused(ShopRule::ShopClosed, why),
            Refusal::AtCapacity(why) => ServiceError::Refused(ShopRule::ShopAtCapacity, why),
        })
    }
}

fn is_open(status: &str) -> bool {
    status == OrderStatus::Created.as_str() || status == OrderStatus::InProgress.as_str()
}

#[async_trait]
impl OrderClient for OrderService {
    async fn coffees(&self, _ctx: &Context) -> ServiceResult<Vec<MenuItem>> {
        Ok(self.stored_menu().await?.0.offered())
    }

    async fn add_coffee(&self, ctx: &Context, coffee: &CoffeeChange) -> ServiceResult<MenuItem> {
        let item = self.change_menu(ctx, None, |menu| Ok(Some(menu.add(coffee.clone(), now())?))).await?;
        tracing::info!(coffee = %item.coffee.id, name = %item.coffee.name, "a drink was added to the menu");
        Ok(item)
    }

    async fn change_coffee(&self, ctx: &Context, id: &CoffeeId, change: &CoffeeChange) -> ServiceResult<MenuItem> {
        let item = self.change_menu(ctx, Some(id), |menu| menu.change(id, change.clone(), now())).await?;
        tracing::info!(coffee = %id, available = item.available, "a drink on the menu changed");
        Ok(item)
    }

    async fn remove_coffee(&self, ctx: &Context, id: &CoffeeId) -> ServiceResult<Vec<MenuItem>> {
        let menu = self.change_menu(ctx, Some(id), |menu| Ok(menu.remove(id, now()).map(|m| (m.clone(), m)))).await?;
        tracing::info!(coffee = %id, "a drink was taken off the menu");
        Ok(menu.offered())
    }

    async fn place_order(&self, ctx: &Context, request: &PlaceOrder) -> ServiceResult<Order> {
        let (customer_id, customer_name) = who_orders(ctx, request)?;
        let (menu, _) = self.stored_menu().await?;
        let item = menu.orderable(&request.coffee_id).map_err(|refused| match refused {
            // A drink the menu never had is not found, as `/api/coffees/{id}` of one is.
            NotOrderable::Unknown(e) => ServiceError::NotFound(e.to_string()),
            NotOrderable::SoldOut(why) => ServiceError::Refused(ShopRule::SoldOut, why),
        })?;
        // The price with the options, from the menu: the client never sets it.
        let options = request.options.unwrap_or_default();
        let price = item.options.price(item.coffee.price, &options)?;
        let coffee = item.coffee.clone();
        let now = now();
        // Read before the commit, as the unpaid-order cap is: simultaneous placements can pass
        // a capacity by a few, which a shop's queue absorbs.
        self.admits(now).await?;
        // Customers only: an admin placing orders at the counter is not who this stops. Counted
        // before the commit, so a burst of simultaneous placements can pass it by a few; the
        // rate limit bounds that.
        if self.rules.max_unpaid > 0 && matches!(ctx.caller, Caller::Customer { .. }) {
            // The newest few are enough: unpaid orders are a customer's latest (paying for a
            // newer one first costs money), and reading all of a regular's history would cost
            // every placement a long read.
            let newest = 2 * self.rules.max_unpaid + 4;
            // Their statuses only: decoding ten orders was a tenth of the CPU of a saga.
            let recent = self.orders.statuses(Lookup::Customer(customer_id.as_str()), newest).await?;
            let unpaid = recent.iter().filter(|s| *s == OrderStatus::Created.as_str()).count();
            if unpaid >= self.rules.max_unpaid as usize {
                return Err(ServiceError::Refused(
                    ShopRule::TooManyOpenOrders,
                    format!("you have {unpaid} unpaid orders; pay for or cancel one before ordering again"),
                ));
            }
        }
        let id = OrderId::from_uuid(uuid::Uuid::now_v7());
        // Taken before the commit, in its own: a placement that then fails leaves a gap in the
        // day's numbers, never a number given twice, whichever replica asks.
        let number = self.orders.store().next_number(&order_sequence(now.day())).await?;
        let number = u32::try_from(number)
            .map_err(|_| ServiceError::Internal(format!("order number {number} is out of range")))?;
        let order =
            Order::place(id, coffee, customer_id, customer_name, now).numbered(number).with_options(options, price);
        let (timer, due_at, due) = payment_due(&order, self.rules.unpaid_timeout, &ctx.trace);
        let write = Change::new().step(ORDERS, Expect::New, &order, &ctx.trace)?.schedule(timer, due_at, due);
        self.orders.commit(write).await?;
        tracing::debug!(order = %order.id, coffee = %order.coffee.name, "order placed");
        Ok(order)
    }

    async fn order(&self, ctx: &Context, id: OrderId) -> ServiceResult<Order> {
        Ok(self.orders.load_to_read(ctx, id).await?.value)
    }

    async fn orders(&self, ctx: &Context, list: &OrderList) -> ServiceResult<Vec<Order>> {
        self.orders.list(ctx, list).await
    }

    async fn change_order(&self, ctx: &Context, id: OrderId, change: &OrderChange) -> ServiceResult<Order> {
        let next = self
            .orders
            .update(|| async {
                let current = self.orders.load_to_act(ctx, id).await?;
                let next = current.value.change_by_customer(change.status, change.note.clone(), now())?;
                let write = Change::new().step(ORDERS, Expect::Version(current.version), &next, &ctx.trace)?;
                let write = crate::model::unless_unpaid(write, &current.value, &next);
                Ok::<_, ServiceError>(Decision::Commit(write, next))
            })
            .await?;
        tracing::debug!(order = %next.id, status = %next.status, "order changed by the customer");
        Ok(next)
    }

    async fn order_events(&self, ctx: &Context, id: OrderId) -> ServiceResult<Vec<Envelope>> {
        self.orders.load_to_read(ctx, id).await?;
        self.orders.events_to_read(ctx, id).await
    }

    async fn pickup_board(&self, _ctx: &Context) -> ServiceResult<Vec<PickupOrder>> {
        let now = now();
        let orders = self.recent_orders(now).await?;
        Ok(orders.iter().map(PickupOrder::from).filter(|p| p.on_board(now, self.rules.ready_on_board)).collect())
    }

    async fn shop(&self, _ctx: &Context) -> ServiceResult<ShopStatus> {
        let now = now();
        let shop = self.settings().await?;
        let orders = self.recent_orders(now).await?;
        let queue_length = orders.iter().filter(|o| is_open(o.status.as_str())).count();
        let paid_waiting = orders.iter().filter(|o| o.status == OrderStatus::InProgress).count();
        let made: Vec<Made> = orders
            .iter()
            .filter(|o| o.status == OrderStatus::Completed)
            .filter_map(|o| Some(Made { paid_at: o.started_at?, ready_at: o.updated_at }))
            .collect();
        Ok(ShopStatus {
            open: shop.open,
            capacity: shop.capacity,
            queue_length: u32::try_from(queue_length).unwrap_or(u32::MAX),
            estimated_wait_seconds: estimated_wait_seconds(&made, paid_waiting, now),
            message: shop.message,
            slow_order_after_seconds: self.rules.slow_after.as_secs(),
            pickup_board_seconds: self.rules.ready_on_board.as_secs(),
            unpaid_order_timeout_seconds: self.rules.unpaid_timeout.as_secs(),
        })
    }

    async fn set_shop(&self, ctx: &Context, request: &SetShop) -> ServiceResult<ShopStatus> {
        ctx.admin()?;
        let shop = Shop::set(request.open, request.capacity, request.message.clone(), now())?;
        self.shop
            .update(|| async {
                let expect = match self.shop.get(SHOP_KEY).await? {
                    Some(current) => Expect::Version(current.version),
                    None => Expect::New,
                };
                let data = serde_json::to_value(&shop).map_err(|e| ServiceError::Internal(e.to_string()))?;
                let event = Envelope::of(crate::SERVICE, SHOP_UPDATED, SHOP_KEY, data, &ctx.trace);
                let write = Change::new().put(SHOP, &shop, expect)?.publish(event);
                Ok::<_, ServiceError>(Decision::Commit(write, ()))
            })
            .await?;
        tracing::info!(open = shop.open, capacity = ?shop.capacity, "the shop's settings changed");
        self.shop(ctx).await
    }

    async fn figures(&self, ctx: &Context, query: &FiguresQuery) -> ServiceResult<DayFigures> {
        ctx.admin()?;
        let orders = self.orders.find(Lookup::Day(&query.date.to_string()), MAX_LIST).await?;
        let complete = orders.len() < MAX_LIST as usize;
        Ok(DayFigures::of(query.date, &orders, complete))
    }
}

/// The timer that cancels `order` if it is still unpaid `timeout` after its placement: its key,
/// when it is due (milliseconds) and the event it publishes then.
fn payment_due(order: &Order, timeout: Duration, trace: &coffee_bus::TraceContext) -> (String, i64, Envelope) {
    let due_at = order.created_at.0.saturating_add(i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX));
    let data = serde_json::json!({ "orderId": order.id, "dueAt": due_at });
    let mut due = Envelope::of(crate::SERVICE, crate::model::PAYMENT_DUE, &order.id.to_string(), data, trace);
    if let Ok(at) = jiff::Timestamp::from_millisecond(due_at) {
        due.time = format!("{at:.6}");
    }
    (crate::model::payment_due_timer(order.id), due_at, due)
}

/// The sequence a day's order numbers are drawn from: each day counts from 1 (UTC days, as the
/// lists and the pickup board go).
fn order_sequence(day: coffee_domain::Day) -> String {
    format!("order:{day}")
}

/// Who an order is for: the customer whose session places it (a `customerId` given must be
/// theirs), or, for an admin, whoever the request names. A barista does not order.
fn who_orders(ctx: &Context, request: &PlaceOrder) -> ServiceResult<(CustomerId, CustomerName)> {
    ctx.signed_in()?;
    match &ctx.caller {
        Caller::Customer { id, name } => {
            if let Some(named) = &request.customer_id {
                ctx.names_customer(named)?;
            }
            Ok((id.clone(), request.customer_name.clone().unwrap_or_else(|| name.clone())))
        }
        caller if caller.is_admin() => match (&request.customer_id, &request.customer_name) {
            (Some(id), Some(name)) => Ok((id.clone(), name.clone())),
            _ => Err(ServiceError::BadInput(
                "customerId and customerName: an order placed by an admin names its customer".to_owned(),
            )),
        },
        _ => Err(ServiceError::Forbidden("orders are placed by customers (or an admin for one)".to_owned())),
    }
}

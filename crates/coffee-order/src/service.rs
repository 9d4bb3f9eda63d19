//! The order service's operations: what its REST API and the gateway call.

use std::sync::Arc;

use async_trait::async_trait;
use coffee_bus::{Change, Decision, Envelope, Expect, Lookup, Records, Store};
use coffee_domain::{Coffee, CustomerId, CustomerName, Order, OrderId, OrderStatus, on_the_menu};
use coffee_service::{Caller, Context, Events, ListRecords, Load, MAX_LIST, ServiceError, ServiceResult, now};

use crate::client::OrderClient;
use crate::model::{ORDERS, OrderChange, OrderList, PickupOrder, PlaceOrder};

#[derive(Clone)]
pub struct OrderService {
    orders: Records<Order>,
    /// The most unpaid orders a customer may have at once (0: no limit).
    max_unpaid: u32,
}

/// The default of `--max-unpaid-orders`: a customer ordering for friends, not a script filling
/// the barista's board with orders nobody pays for.
pub const DEFAULT_MAX_UNPAID_ORDERS: u32 = 3;

impl OrderService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { orders: Records::new(store, ORDERS), max_unpaid: DEFAULT_MAX_UNPAID_ORDERS }
    }

    /// At most `max` unpaid orders per customer (0: no limit).
    pub fn with_max_unpaid(self, max: u32) -> Self {
        Self { max_unpaid: max, ..self }
    }

    pub fn records(&self) -> &Records<Order> {
        &self.orders
    }
}

#[async_trait]
impl OrderClient for OrderService {
    async fn coffees(&self, _ctx: &Context) -> ServiceResult<Vec<Coffee>> {
        Ok(coffee_domain::catalogue().to_vec())
    }

    async fn place_order(&self, ctx: &Context, request: &PlaceOrder) -> ServiceResult<Order> {
        let (customer_id, customer_name) = who_orders(ctx, request)?;
        let coffee = on_the_menu(&request.coffee_id)?;
        // Customers only: an admin placing orders at the counter is not who this stops. Counted
        // before the commit, so a burst of simultaneous placements can pass it by a few; the
        // rate limit bounds that.
        if self.max_unpaid > 0 && matches!(ctx.caller, Caller::Customer { .. }) {
            // The newest few are enough: unpaid orders are a customer's latest (paying for a
            // newer one first costs money), and reading all of a regular's history would cost
            // every placement a long read.
            let newest = 2 * self.max_unpaid + 4;
            // Their statuses only: decoding ten orders was a tenth of the CPU of a saga.
            let recent = self.orders.statuses(Lookup::Customer(customer_id.as_str()), newest).await?;
            let unpaid = recent.iter().filter(|s| *s == OrderStatus::Created.as_str()).count();
            if unpaid >= self.max_unpaid as usize {
                return Err(ServiceError::TooManyOpenOrders(format!(
                    "you have {unpaid} unpaid orders; pay for or cancel one before ordering again"
                )));
            }
        }
        let id = OrderId::from_uuid(uuid::Uuid::now_v7());
        let order = Order::place(id, coffee, customer_id, customer_name, now());
        self.orders.commit(Change::new().step(ORDERS, Expect::New, &order, &ctx.trace)?).await?;
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
        let mut board = Vec::new();
        for day in PickupOrder::board_days(now) {
            let orders = self.orders.find(Lookup::Day(&day.to_string()), MAX_LIST).await?;
            board.extend(orders.iter().map(PickupOrder::from).filter(|p| p.on_board(now)));
        }
        Ok(board)
    }
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

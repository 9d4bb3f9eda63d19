//! The order service's operations: what its REST API and the gateway call.

use std::sync::Arc;

use async_trait::async_trait;
use coffee_bus::{Change, Decision, Envelope, Expect, Records, Store};
use coffee_domain::{Coffee, Order, OrderId, on_the_menu};
use coffee_service::{Context, ListRecords, Load, ServiceError, ServiceResult, now};

use crate::client::OrderClient;
use crate::model::{ORDERS, OrderChange, OrderList, PlaceOrder};

#[derive(Clone)]
pub struct OrderService {
    orders: Records<Order>,
}

impl OrderService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { orders: Records::new(store, ORDERS) }
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
        let coffee = on_the_menu(&request.coffee_id)?;
        let id = OrderId::from_uuid(uuid::Uuid::now_v7());
        let order = Order::place(id, coffee, request.customer_id.clone(), request.customer_name.clone(), now());
        self.orders.commit(Change::new().step(ORDERS, Expect::New, &order, &ctx.trace)?).await?;
        tracing::debug!(order = %order.id, coffee = %order.coffee.name, "order placed");
        Ok(order)
    }

    async fn order(&self, _ctx: &Context, id: OrderId) -> ServiceResult<Order> {
        Ok(self.orders.load(id).await?.value)
    }

    async fn orders(&self, _ctx: &Context, list: &OrderList) -> ServiceResult<Vec<Order>> {
        self.orders.list(list).await
    }

    async fn change_order(&self, ctx: &Context, id: OrderId, change: &OrderChange) -> ServiceResult<Order> {
        let next = self
            .orders
            .update(|| async {
                let current = self.orders.load(id).await?;
                let next = current.value.change_by_customer(change.status, change.note.clone(), now())?;
                let write = Change::new().step(ORDERS, Expect::Version(current.version), &next, &ctx.trace)?;
                Ok::<_, ServiceError>(Decision::Commit(write, next))
            })
            .await?;
        tracing::debug!(order = %next.id, status = %next.status, "order changed by the customer");
        Ok(next)
    }

    async fn order_events(&self, _ctx: &Context, id: OrderId) -> ServiceResult<Vec<Envelope>> {
        Ok(self.orders.events(id).await?)
    }
}

//! The order service's operations.

use std::sync::Arc;

use async_trait::async_trait;
use coffee_bus::{Change, Envelope, Expect, Lookup, Records, Store, StoreError, TraceContext};
use coffee_domain::{Coffee, CoffeeId, CustomerId, CustomerName, DomainEvent, Note, Order, OrderId, OrderStatus};
use coffee_http::{ServiceError, list_day, list_limit, now};

use crate::client::{OrderClient, OrderFilter};
use crate::model::ORDERS;

/// How often an operation re-reads and decides again when its write conflicts with a
/// concurrent change of the same order.
const CONFLICT_RETRIES: usize = 8;

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

    async fn load(&self, id: &str) -> Result<coffee_bus::Versioned<Order>, ServiceError> {
        let not_found = || ServiceError::not_found("order", id);
        let parsed = OrderId::parse(id).map_err(|_| not_found())?;
        self.orders.get(&parsed.to_string()).await?.ok_or_else(not_found)
    }
}

#[async_trait]
impl OrderClient for OrderService {
    async fn coffees(&self) -> Result<Vec<Coffee>, ServiceError> {
        Ok(coffee_domain::catalogue().to_vec())
    }

    async fn place_order(
        &self,
        coffee_id: &str,
        customer_id: &str,
        customer_name: &str,
        trace: &TraceContext,
    ) -> Result<Order, ServiceError> {
        let coffee = CoffeeId::parse(coffee_id)?;
        let customer_id = CustomerId::parse(customer_id)?;
        let customer_name = CustomerName::parse(customer_name)?;
        let order = Order::place(OrderId::from_uuid(uuid::Uuid::now_v7()), coffee, customer_id, customer_name, now());
        let change = Change::new().put(ORDERS, &order, Expect::New)?.emit(&DomainEvent::Order(order.clone()), trace);
        self.orders.commit(change).await?;
        tracing::debug!(order = %order.id, coffee = %order.coffee.name, "order placed");
        Ok(order)
    }

    async fn order(&self, id: &str) -> Result<Order, ServiceError> {
        Ok(self.load(id).await?.value)
    }

    async fn orders(&self, filter: &OrderFilter) -> Result<Vec<Order>, ServiceError> {
        let limit = list_limit(filter.limit)?;
        match (&filter.date, &filter.customer_id) {
            (Some(_), Some(_)) => Err(ServiceError::BadInput(
                "give either date or customerId, not both: orders are listed by day or by customer".to_owned(),
            )),
            (None, Some(customer)) => {
                let customer = CustomerId::parse(customer)?;
                Ok(self.orders.find(Lookup::Customer(customer.as_str()), limit).await?)
            }
            (date, None) => {
                let day = list_day(date.as_deref())?;
                Ok(self.orders.find(Lookup::Day(&day.to_string()), limit).await?)
            }
        }
    }

    async fn change_order(
        &self,
        id: &str,
        status: &str,
        note: Option<&str>,
        trace: &TraceContext,
    ) -> Result<Order, ServiceError> {
        let status = OrderStatus::parse(status)?;
        let note = note.map(Note::parse).transpose()?.flatten();
        for _ in 0..CONFLICT_RETRIES {
            let current = self.load(id).await?;
            let next = current.value.change_by_customer(status, note.clone(), now())?;
            let change = Change::new()
                .put(ORDERS, &next, Expect::Version(current.version))?
                .emit(&DomainEvent::Order(next.clone()), trace);
            match self.orders.commit(change).await {
                Ok(_) => {
                    tracing::debug!(order = %next.id, status = %next.status, "order changed by the customer");
                    return Ok(next);
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Unavailable("the order is changing too often right now; try again".to_owned()))
    }

    async fn order_events(&self, order_id: &str) -> Result<Vec<Envelope>, ServiceError> {
        let id = OrderId::parse(order_id)?;
        let events = self.orders.store().events_about(&id.to_string()).await?;
        Ok(events.into_iter().filter(|e| e.source == crate::SERVICE).collect())
    }
}

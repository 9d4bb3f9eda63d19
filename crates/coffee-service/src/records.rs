//! Reading one of an entity's records the way every operation does.

use coffee_bus::{Envelope, Lookup, Records, Versioned};
use coffee_domain::{Entity, OrderId, Status};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Context, Listed, Listing, Of, ServiceError};

/// Load-or-404: the entity with this id, or `NOT_FOUND` naming what was asked for.
pub trait Load<T> {
    fn load(&self, id: impl ToString + Send) -> impl Future<Output = Result<Versioned<T>, ServiceError>> + Send;

    /// The entity as `ctx` may read it: `NOT_FOUND` also when it is another customer's.
    fn load_to_read(
        &self,
        ctx: &Context,
        id: impl ToString + Send,
    ) -> impl Future<Output = Result<Versioned<T>, ServiceError>> + Send;

    /// The entity `ctx` means to act on (pay, cancel): its customer or an admin; `NOT_FOUND` when it
    /// is another customer's, `FORBIDDEN` for a barista.
    fn load_to_act(
        &self,
        ctx: &Context,
        id: impl ToString + Send,
    ) -> impl Future<Output = Result<Versioned<T>, ServiceError>> + Send;
}

impl<T: Entity + Serialize + DeserializeOwned> Load<T> for Records<T> {
    async fn load(&self, id: impl ToString + Send) -> Result<Versioned<T>, ServiceError> {
        let id = id.to_string();
        self.get(&id).await?.ok_or_else(|| ServiceError::not_found(T::NAME, &id))
    }

    async fn load_to_read(&self, ctx: &Context, id: impl ToString + Send) -> Result<Versioned<T>, ServiceError> {
        let id = id.to_string();
        ctx.signed_in()?;
        let found = self.load(&id).await?;
        ctx.read_of(found.value.customer_id(), || ServiceError::not_found(T::NAME, &id))?;
        Ok(found)
    }

    async fn load_to_act(&self, ctx: &Context, id: impl ToString + Send) -> Result<Versioned<T>, ServiceError> {
        let id = id.to_string();
        ctx.signed_in()?;
        let found = self.load(&id).await?;
        ctx.act_for(found.value.customer_id(), || ServiceError::not_found(T::NAME, &id))?;
        Ok(found)
    }
}

/// What a service published about an order, as `ctx` may read it: another customer's order's
/// events are `NOT_FOUND`.
pub trait Events {
    fn events_to_read(
        &self,
        ctx: &Context,
        order_id: OrderId,
    ) -> impl Future<Output = Result<Vec<Envelope>, ServiceError>> + Send;
}

impl<T: Entity + Serialize + DeserializeOwned> Events for Records<T> {
    async fn events_to_read(&self, ctx: &Context, order_id: OrderId) -> Result<Vec<Envelope>, ServiceError> {
        ctx.signed_in()?;
        // Every event is about a record of the order; with none there is nothing to read either.
        if let Some(found) = self.by_order(&order_id.to_string()).await? {
            ctx.read_of(found.value.customer_id(), || ServiceError::not_found("order", &order_id.to_string()))?;
        }
        Ok(self.events(order_id).await?)
    }
}

/// The records a list request selects, as `ctx` may see them: the lists of a day or a status are
/// the staff's; a customer lists their own records only; a list by order leaves out another
/// customer's record (as if there were none).
pub trait List<T> {
    fn list<K: Listed>(
        &self,
        ctx: &Context,
        list: &Listing<K>,
    ) -> impl Future<Output = Result<Vec<T>, ServiceError>> + Send;
}

impl<T: Entity + Serialize + DeserializeOwned> List<T> for Records<T> {
    async fn list<K: Listed>(&self, ctx: &Context, list: &Listing<K>) -> Result<Vec<T>, ServiceError> {
        let (limit, offset) = (list.size.limit(), list.offset);
        Ok(match &list.of {
            Of::Day(day) => {
                ctx.staff()?;
                self.find_from(Lookup::Day(&day.to_string()), limit, offset).await?
            }
            Of::Status(status) => {
                ctx.staff()?;
                self.find_from(Lookup::Status(status.as_str()), limit, offset).await?
            }
            Of::Customer(customer) => {
                ctx.names_customer(customer)?;
                self.find_from(Lookup::Customer(customer.as_str()), limit, offset).await?
            }
            // One record at most: a page past it is empty.
            Of::Order(order_id) => {
                ctx.signed_in()?;
                let found = self.by_order(&order_id.to_string()).await?.map(|v| v.value);
                found.into_iter().filter(|record| ctx.may_read(record.customer_id())).skip(offset as usize).collect()
            }
        })
    }
}

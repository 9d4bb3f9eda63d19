//! Reading one of an entity's records the way every operation does.

use coffee_bus::{Lookup, Records, Versioned};
use coffee_domain::{Entity, Status};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Listed, Listing, Of, ServiceError};

/// Load-or-404: the entity with this id, or `NOT_FOUND` naming what was asked for.
pub trait Load<T> {
    fn load(&self, id: impl ToString + Send) -> impl Future<Output = Result<Versioned<T>, ServiceError>> + Send;
}

impl<T: Entity + Serialize + DeserializeOwned> Load<T> for Records<T> {
    async fn load(&self, id: impl ToString + Send) -> Result<Versioned<T>, ServiceError> {
        let id = id.to_string();
        self.get(&id).await?.ok_or_else(|| ServiceError::not_found(T::NAME, &id))
    }
}

/// The records a list request selects.
pub trait List<T> {
    fn list<K: Listed>(&self, list: &Listing<K>) -> impl Future<Output = Result<Vec<T>, ServiceError>> + Send;
}

impl<T: Entity + Serialize + DeserializeOwned> List<T> for Records<T> {
    async fn list<K: Listed>(&self, list: &Listing<K>) -> Result<Vec<T>, ServiceError> {
        let limit = list.size.limit();
        Ok(match &list.of {
            Of::Day(day) => self.find(Lookup::Day(&day.to_string()), limit).await?,
            Of::Customer(customer) => self.find(Lookup::Customer(customer.as_str()), limit).await?,
            Of::Status(status) => self.find(Lookup::Status(status.as_str()), limit).await?,
            Of::Order(order_id) => self.by_order(&order_id.to_string()).await?.map(|v| v.value).into_iter().collect(),
        })
    }
}

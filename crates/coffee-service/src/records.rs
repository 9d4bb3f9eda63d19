//! Reading one of an entity's records the way every operation does.

use coffee_bus::{Records, Versioned};
use coffee_domain::Entity;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ServiceError;

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

//! The fulfilment service's operations.

use std::sync::Arc;

use async_trait::async_trait;
use coffee_bus::{Change, Envelope, Expect, Lookup, Records, Store, StoreError, TraceContext, Versioned};
use coffee_domain::{DomainEvent, Fulfilment, FulfilmentId, FulfilmentStatus, Note, OrderId};
use coffee_http::{ServiceError, list_day, list_limit, now};

use crate::client::{FulfilmentClient, FulfilmentFilter};
use crate::model::FULFILMENTS;

const CONFLICT_RETRIES: usize = 8;

#[derive(Clone)]
pub struct FulfilmentService {
    fulfilments: Records<Fulfilment>,
}

impl FulfilmentService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { fulfilments: Records::new(store, FULFILMENTS) }
    }

    pub fn records(&self) -> &Records<Fulfilment> {
        &self.fulfilments
    }

    async fn load(&self, id: &str) -> Result<Versioned<Fulfilment>, ServiceError> {
        let not_found = || ServiceError::not_found("fulfilment", id);
        let parsed = FulfilmentId::parse(id).map_err(|_| not_found())?;
        self.fulfilments.get(&parsed.to_string()).await?.ok_or_else(not_found)
    }
}

#[async_trait]
impl FulfilmentClient for FulfilmentService {
    async fn fulfilment(&self, id: &str) -> Result<Fulfilment, ServiceError> {
        Ok(self.load(id).await?.value)
    }

    async fn fulfilments(&self, filter: &FulfilmentFilter) -> Result<Vec<Fulfilment>, ServiceError> {
        let limit = list_limit(filter.limit)?;
        match (&filter.date, &filter.order_id, &filter.status) {
            (None, Some(order_id), None) => {
                let order_id = OrderId::parse(order_id)?;
                Ok(self.fulfilments.by_order(&order_id.to_string()).await?.map(|f| f.value).into_iter().collect())
            }
            (None, None, Some(status)) => {
                let status = FulfilmentStatus::parse(status)?;
                Ok(self.fulfilments.find(Lookup::Status(status.as_str()), limit).await?)
            }
            (date, None, None) => {
                let day = list_day(date.as_deref())?;
                Ok(self.fulfilments.find(Lookup::Day(&day.to_string()), limit).await?)
            }
            _ => Err(ServiceError::BadInput("give at most one of date, orderId and status".to_owned())),
        }
    }

    async fn change_fulfilment(
        &self,
        id: &str,
        status: &str,
        note: Option<&str>,
        trace: &TraceContext,
    ) -> Result<Fulfilment, ServiceError> {
        let status = FulfilmentStatus::parse(status)?;
        let note = note.map(Note::parse).transpose()?.flatten();
        for _ in 0..CONFLICT_RETRIES {
            let current = self.load(id).await?;
            let next = current.value.change_by_barista(status, note.clone(), now())?;
            let change = Change::new()
                .put(FULFILMENTS, &next, Expect::Version(current.version))?
                .emit(&DomainEvent::Fulfilment(next.clone()), trace);
            match self.fulfilments.commit(change).await {
                Ok(_) => {
                    tracing::debug!(fulfilment = %next.id, order = %next.order_id, status = %next.status, "barista finished");
                    return Ok(next);
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Unavailable("the fulfilment is changing too often right now; try again".to_owned()))
    }

    async fn fulfilment_events(&self, order_id: &str) -> Result<Vec<Envelope>, ServiceError> {
        let id = OrderId::parse(order_id)?;
        let events = self.fulfilments.store().events_about(&id.to_string()).await?;
        Ok(events.into_iter().filter(|e| e.source == crate::SERVICE).collect())
    }
}

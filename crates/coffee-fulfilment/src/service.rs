//! The fulfilment service's operations: what its REST API and the gateway call.

use std::sync::Arc;

use async_trait::async_trait;
use coffee_bus::{Change, Decision, Envelope, Expect, Records, Store};
use coffee_domain::fulfilment::ClaimRefused;
use coffee_domain::{Fulfilment, FulfilmentId, OrderId};
use coffee_service::{Caller, Context, Events, ListRecords, Load, ServiceError, ServiceResult, now};

use crate::client::FulfilmentClient;
use crate::model::{Claim, FULFILMENTS, FulfilmentChange, FulfilmentList};

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
}

#[async_trait]
impl FulfilmentClient for FulfilmentService {
    async fn fulfilment(&self, ctx: &Context, id: FulfilmentId) -> ServiceResult<Fulfilment> {
        Ok(self.fulfilments.load_to_read(ctx, id).await?.value)
    }

    async fn fulfilments(&self, ctx: &Context, list: &FulfilmentList) -> ServiceResult<Vec<Fulfilment>> {
        self.fulfilments.list(ctx, list).await
    }

    async fn change_fulfilment(
        &self,
        ctx: &Context,
        id: FulfilmentId,
        to: &FulfilmentChange,
    ) -> ServiceResult<Fulfilment> {
        // Making the coffee (or not) is the staff's.
        ctx.staff()?;
        let next = self
            .fulfilments
            .update(|| async {
                let current = self.fulfilments.load(id).await?;
                let next = current.value.change_by_barista(to.status, to.note.clone(), now())?;
                let write = Change::new().step(FULFILMENTS, Expect::Version(current.version), &next, &ctx.trace)?;
                Ok::<_, ServiceError>(Decision::Commit(write, next))
            })
            .await?;
        tracing::debug!(fulfilment = %next.id, order = %next.order_id, status = %next.status, "barista finished");
        Ok(next)
    }

    async fn claim_fulfilment(&self, ctx: &Context, id: FulfilmentId, claim: &Claim) -> ServiceResult<Fulfilment> {
        ctx.staff()?;
        let Caller::Staff { name, .. } = &ctx.caller else {
            return Err(ServiceError::Forbidden("a coffee is claimed by a member of staff who signed in".to_owned()));
        };
        let admin = ctx.caller.is_admin();
        let next = self
            .fulfilments
            .update(|| async {
                let current = self.fulfilments.load(id).await?;
                let step = if claim.claimed {
                    current.value.claim(name, now())
                } else {
                    current.value.release(name, admin, now())
                };
                let next = match step {
                    Ok(Some(next)) => next,
                    // Already so: nothing to commit or announce.
                    Ok(None) => return Ok(Decision::Answer(current.value)),
                    Err(ClaimRefused::Taken(by)) => {
                        return Err(ServiceError::Conflict(format!("{by} is making this coffee")));
                    }
                    Err(ClaimRefused::NotWaiting(illegal)) => return Err(illegal.into()),
                };
                let write = Change::new().step(FULFILMENTS, Expect::Version(current.version), &next, &ctx.trace)?;
                Ok::<_, ServiceError>(Decision::Commit(write, next))
            })
            .await?;
        tracing::debug!(fulfilment = %next.id, barista = %name, claimed = claim.claimed, "claim changed");
        Ok(next)
    }

    async fn fulfilment_events(&self, ctx: &Context, order_id: OrderId) -> ServiceResult<Vec<Envelope>> {
        self.fulfilments.events_to_read(ctx, order_id).await
    }
}

//! The services as the gateway reaches them: one typed client per service, behind the
//! service's own trait. In `coffee serve` they are the services themselves, called in-process;
//! in the distributed mode (`coffee gateway`) they are the HTTP clients of each service's REST
//! API. The gateway never knows which, and never reads a service's data any other way.
//!
//! The few reads that combine services (an order's timeline) or pick one record out of a list
//! live here, so the schema's resolvers stay "extract, call, map".

use std::sync::Arc;

use coffee_bus::Envelope;
use coffee_domain::{Fulfilment, FulfilmentStatus, Order, OrderId, Payment};
use coffee_fulfilment::client::{FulfilmentClient, HttpFulfilmentClient};
use coffee_fulfilment::model::FulfilmentList;
use coffee_order::client::{HttpOrderClient, OrderClient};
use coffee_payment::client::{HttpPaymentClient, PaymentClient};
use coffee_payment::model::PaymentList;
use coffee_service::{Context, Of, ServiceError};

#[derive(Clone)]
pub struct Services {
    pub orders: Arc<dyn OrderClient>,
    pub payments: Arc<dyn PaymentClient>,
    pub fulfilments: Arc<dyn FulfilmentClient>,
}

impl Services {
    pub fn new(
        orders: Arc<dyn OrderClient>,
        payments: Arc<dyn PaymentClient>,
        fulfilments: Arc<dyn FulfilmentClient>,
    ) -> Self {
        Self { orders, payments, fulfilments }
    }

    /// The services' REST APIs at these base URLs (e.g. `http://orders:8081`).
    pub fn over_http(order_url: &str, payment_url: &str, fulfilment_url: &str, http: reqwest::Client) -> Self {
        Self {
            orders: Arc::new(HttpOrderClient::new(order_url, http.clone())),
            payments: Arc::new(HttpPaymentClient::new(payment_url, http.clone())),
            fulfilments: Arc::new(HttpFulfilmentClient::new(fulfilment_url, http)),
        }
    }

    /// An order, or `None` when there is no such order.
    pub async fn find_order(&self, ctx: &Context, id: OrderId) -> Result<Option<Order>, ServiceError> {
        absent_is_none(self.orders.order(ctx, id).await)
    }

    /// The payment of an order, or `None` while the payment service does not know the order.
    pub async fn payment_for_order(&self, ctx: &Context, id: OrderId) -> Result<Option<Payment>, ServiceError> {
        Ok(self.payments.payments(ctx, &PaymentList::of(Of::Order(id))).await?.into_iter().next())
    }

    /// The fulfilment of an order, or `None` while it is not paid.
    pub async fn fulfilment_for_order(&self, ctx: &Context, id: OrderId) -> Result<Option<Fulfilment>, ServiceError> {
        let list = FulfilmentList::of(Of::Order(id));
        Ok(self.fulfilments.fulfilments(ctx, &list).await?.into_iter().next())
    }

    /// The barista's queue: every open fulfilment, of any day, oldest first.
    pub async fn fulfilment_queue(&self, ctx: &Context) -> Result<Vec<Fulfilment>, ServiceError> {
        let list = FulfilmentList::of(Of::Status(FulfilmentStatus::Created));
        let mut queue = self.fulfilments.fulfilments(ctx, &list).await?;
        // The service already answers oldest first; the order is the contract, so it is kept here
        // whatever a service (or another backend) does.
        queue.sort_by_key(|f| (f.created_at, f.id));
        Ok(queue)
    }

    /// Everything the three services published about an order, oldest first. `NOT_FOUND` when
    /// there is no such order.
    pub async fn order_timeline(&self, ctx: &Context, id: OrderId) -> Result<Vec<Envelope>, ServiceError> {
        let order = self.orders.order(ctx, id).await?;
        let (orders, payments, fulfilments) = futures::try_join!(
            self.orders.order_events(ctx, order.id),
            self.payments.payment_events(ctx, order.id),
            self.fulfilments.fulfilment_events(ctx, order.id),
        )?;
        let mut events: Vec<Envelope> = orders.into_iter().chain(payments).chain(fulfilments).collect();
        // By time; the id (a UUIDv7) breaks ties in the order the events were created.
        events.sort_by_cached_key(|e| (e.time.parse::<jiff::Timestamp>().ok(), e.id.clone()));
        Ok(events)
    }
}

/// `NOT_FOUND` becomes `None`; other errors stay errors.
pub fn absent_is_none<T>(result: Result<T, ServiceError>) -> Result<Option<T>, ServiceError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(ServiceError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

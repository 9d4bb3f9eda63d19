//! The day's figures the owner reads on `/admin`: orders and takings by drink, cancellations by
//! reason, how long drinks took from payment to ready, orders per hour. Computed from the day's
//! orders as the order service stores them, so they are the same whoever asks and however often.
//!
//! Money follows the saga: a completed order was paid and is never refunded (a customer cannot
//! cancel a drink that is ready), and an order cancelled after its payment went through (it has
//! a `started_at`) was refunded by the payment service. So takings are what completed orders
//! cost, refunds what paid-then-cancelled ones cost, and drinks paid for and still being made
//! are counted apart, as money taken that is not yet earned.

use serde::{Deserialize, Serialize};

use crate::{Cents, CoffeeId, Day, Order, OrderStatus};

/// One drink's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DrinkFigures {
    pub coffee_id: CoffeeId,
    pub name: String,
    /// Orders placed for it, whatever became of them.
    pub orders: u32,
    /// Of those, made and ready.
    pub completed: u32,
    /// What the completed ones cost their customers.
    pub revenue: Cents,
}

/// Why orders were cancelled, and how many for each reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cancellations {
    pub by_customer: u32,
    pub not_paid_in_time: u32,
    pub payment_failed: u32,
    pub rejected_by_barista: u32,
    pub other: u32,
}

/// The figures of one day (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DayFigures {
    pub date: Day,
    pub orders: u32,
    pub completed: u32,
    /// Paid for and still being made.
    pub in_progress: u32,
    /// Placed and not paid (yet).
    pub unpaid: u32,
    pub cancelled: u32,
    /// What completed orders cost: the takings, net of refunds (refunded orders are not in it).
    pub revenue: Cents,
    /// What paid orders that were then cancelled cost: given back.
    pub refunded: Cents,
    /// Paid for orders still being made: taken, not yet earned.
    pub in_progress_amount: Cents,
    pub by_drink: Vec<DrinkFigures>,
    pub cancellations: Cancellations,
    /// From payment to ready over the day's completed orders, in seconds (none: nothing made).
    pub median_ready_seconds: Option<u64>,
    pub p90_ready_seconds: Option<u64>,
    /// Orders placed in each hour of the day (UTC), from 00:00.
    pub orders_per_hour: [u32; 24],
    /// False when the day held more orders than were read: the figures are of the first ones.
    pub complete: bool,
}

impl DayFigures {
    /// The figures of `date` from its orders (`orders` placed that day; others are ignored).
    /// `complete` says whether they are all of that day's orders.
    pub fn of(date: Day, orders: &[Order], complete: bool) -> Self {
        let mut figures = Self {
            date,
            orders: 0,
            completed: 0,
            in_progress: 0,
            unpaid: 0,
            cancelled: 0,
            revenue: Cents(0),
            refunded: Cents(0),
            in_progress_amount: Cents(0),
            by_drink: Vec::new(),
            cancellations: Cancellations {
                by_customer: 0,
                not_paid_in_time: 0,
                payment_failed: 0,
                rejected_by_barista: 0,
                other: 0,
            },
            median_ready_seconds: None,
            p90_ready_seconds: None,
            orders_per_hour: [0; 24],
            complete,
        };
        let mut ready_ms = Vec::new();
        for order in orders.iter().filter(|o| o.date() == date) {
            figures.orders += 1;
            let hour = (order.created_at.0.rem_euclid(86_400_000) / 3_600_000) as usize;
            figures.orders_per_hour[hour.min(23)] += 1;
            let line = figures.drink(order);
            line.orders += 1;
            match order.status {
                OrderStatus::Completed => {
                    line.completed += 1;
                    line.revenue = Cents(line.revenue.0 + order.amount().0);
                    figures.completed += 1;
                    figures.revenue = Cents(figures.revenue.0 + order.amount().0);
                    if let Some(paid) = order.started_at {
                        ready_ms.push((order.updated_at.0 - paid.0).max(0));
                    }
                }
                OrderStatus::InProgress => {
                    figures.in_progress += 1;
                    figures.in_progress_amount = Cents(figures.in_progress_amount.0 + order.amount().0);
                }
                OrderStatus::Created => figures.unpaid += 1,
                OrderStatus::Cancelled => {
                    figures.cancelled += 1;
                    if order.started_at.is_some() {
                        figures.refunded = Cents(figures.refunded.0 + order.amount().0);
                    }
                    figures.cancellations.count(order.note.as_ref().map(|n| n.as_str()));
                }
            }
        }
        ready_ms.sort_unstable();
        figures.median_ready_seconds = percentile(&ready_ms, 50);
        figures.p90_ready_seconds = percentile(&ready_ms, 90);
        figures.by_drink.sort_by(|a, b| b.orders.cmp(&a.orders).then_with(|| a.name.cmp(&b.name)));
        figures
    }

    fn drink(&mut self, order: &Order) -> &mut DrinkFigures {
        let at = match self.by_drink.iter().position(|d| d.coffee_id == order.coffee.id) {
            Some(at) => at,
            None => {
                self.by_drink.push(DrinkFigures {
                    coffee_id: order.coffee.id.clone(),
                    name: order.coffee.name.clone(),
                    orders: 0,
                    completed: 0,
                    revenue: Cents(0),
                });
                self.by_drink.len() - 1
            }
        };
        &mut self.by_drink[at]
    }
}

impl Cancellations {
    /// Counts a cancellation by its note, as the domain writes them.
    fn count(&mut self, note: Option<&str>) {
        let note = note.unwrap_or("");
        let reason = if note == "cancelled by the customer" {
            &mut self.by_customer
        } else if note == Order::NOT_PAID_IN_TIME {
            &mut self.not_paid_in_time
        } else if note.starts_with("payment failed") {
            &mut self.payment_failed
        } else if note.starts_with("rejected by the barista") {
            &mut self.rejected_by_barista
        } else {
            &mut self.other
        };
        *reason += 1;
    }
}

/// The nearest-rank percentile of sorted milliseconds, in whole seconds.
fn percentile(sorted_ms: &[i64], p: usize) -> Option<u64> {
    if sorted_ms.is_empty() {
        return None;
    }
    let rank = (p * sorted_ms.len()).div_ceil(100).max(1);
    let ms = sorted_ms[rank - 1];
    Some(u64::try_from((ms + 500) / 1000).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saga::OrderInput;
    use crate::testing::{an_order, its_fulfilment, its_payment};
    use crate::{Millis, Note, OrderId};

    /// 2025-11-24 (the test order's day) at `h:m` UTC.
    fn at(h: i64, m: i64) -> Millis {
        Millis(1_763_942_400_000 + (h * 60 + m) * 60_000)
    }

    fn placed(n: u128, at: Millis) -> Order {
        Order { id: OrderId::from_uuid(uuid::Uuid::from_u128(n)), created_at: at, updated_at: at, ..an_order() }
    }

    fn paid(o: Order, when: Millis) -> Order {
        o.react(&OrderInput::PaymentSucceeded(its_payment(&o)), when).remove(0)
    }

    fn ready(o: Order, when: Millis) -> Order {
        o.react(&OrderInput::FulfilmentCompleted(its_fulfilment(&o)), when).pop().expect("ready")
    }

    #[test]
    fn a_known_day_adds_up() {
        let day = at(0, 0).day();
        assert_eq!(an_order().date(), day, "the test order is of that day");
        // Three made (2, 4 and 10 minutes from payment), one being made, one unpaid, and one of
        // each way of being cancelled; one paid and then rejected, so refunded.
        let mut orders = vec![
            ready(paid(placed(1, at(8, 0)), at(8, 1)), at(8, 3)),
            ready(paid(placed(2, at(8, 30)), at(8, 31)), at(8, 35)),
            ready(paid(placed(3, at(9, 5)), at(9, 5)), at(9, 15)),
            paid(placed(4, at(9, 10)), at(9, 11)),
            placed(5, at(9, 20)),
            placed(6, at(10, 0)).cancel_by_customer(None, at(10, 1)).expect("cancels"),
            placed(7, at(10, 0)).expire_unpaid(at(10, 10)).remove(0),
        ];
        let mut rejected = its_fulfilment(&orders[0]);
        rejected.note = Some(Note::system("out of milk"));
        let paid_then_rejected = paid(placed(8, at(11, 0)), at(11, 1));
        orders.push(paid_then_rejected.react(&OrderInput::FulfilmentRejected(rejected), at(11, 2)).remove(0));
        let mut declined = its_payment(&orders[0]);
        declined.note = Some(Note::system("Your card was declined."));
        orders.push(placed(9, at(23, 59)).react(&OrderInput::PaymentFailed(declined), at(23, 59)).remove(0));
        orders.push(placed(10, Millis(at(0, 0).0 - 1))); // the day before: not counted

        let f = DayFigures::of(day, &orders, true);
        assert_eq!((f.orders, f.completed, f.in_progress, f.unpaid, f.cancelled), (9, 3, 1, 1, 4));
        let price = an_order().amount().0;
        assert_eq!(f.revenue, Cents(3 * price), "three made");
        assert_eq!(f.refunded, Cents(price), "one paid, then rejected");
        assert_eq!(f.in_progress_amount, Cents(price));
        assert_eq!(
            f.cancellations,
            Cancellations { by_customer: 1, not_paid_in_time: 1, payment_failed: 1, rejected_by_barista: 1, other: 0 }
        );
        assert_eq!(f.median_ready_seconds, Some(240), "2, 4 and 10 minutes");
        assert_eq!(f.p90_ready_seconds, Some(600));
        let mut hours = [0; 24];
        (hours[8], hours[9], hours[10], hours[11], hours[23]) = (2, 3, 2, 1, 1);
        assert_eq!(f.orders_per_hour, hours);
        assert_eq!(f.by_drink.len(), 1);
        assert_eq!((f.by_drink[0].orders, f.by_drink[0].completed, f.by_drink[0].revenue), (9, 3, Cents(3 * price)));
        assert!(f.complete);
    }

    #[test]
    fn an_empty_day_has_no_times() {
        let f = DayFigures::of(at(0, 0).day(), &[], false);
        assert_eq!((f.orders, f.revenue, f.median_ready_seconds, f.p90_ready_seconds), (0, Cents(0), None, None));
        assert!(!f.complete);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(percentile(&[1000], 90), Some(1));
        assert_eq!(percentile(&[1000, 2000, 3000, 4000], 50), Some(2));
        assert_eq!(percentile(&(1..=10).map(|s| s * 1000).collect::<Vec<_>>(), 90), Some(9));
    }
}

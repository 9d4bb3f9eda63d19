//! How an order is stored, and the order service's requests: each operation's request is one
//! type made of domain types, parsed once where it enters (a REST body, a GraphQL argument) and
//! sent as it is by the HTTP client.

use coffee_bus::{Kind, RecordKey, Table};
use coffee_domain::{
    CoffeeId, CustomerId, CustomerName, DrinkOptions, InvalidInput, Menu, Note, Order, OrderStatus, Shop, ShopMessage,
};
use coffee_service::{Listed, Listing, StatusChange};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const ORDERS: Kind<Order> = Kind::entity(Table::new("orders"));

/// The shop's one row (its key is `SHOP_KEY`).
pub const SHOP: Kind<Shop> = Kind::new(Table::new("shop"), |s| RecordKey {
    id: SHOP_KEY.to_owned(),
    order_id: SHOP_KEY.to_owned(),
    customer_id: String::new(),
    day: s.updated_at.day().to_string(),
    created_at: s.updated_at.0,
    status: if s.open { "open" } else { "closed" },
});

pub const SHOP_KEY: &str = "shop";

/// The menu's one row (its key is `MENU_KEY`).
pub const MENU: Kind<Menu> = Kind::new(Table::new("menu"), |m| RecordKey {
    id: MENU_KEY.to_owned(),
    order_id: MENU_KEY.to_owned(),
    customer_id: String::new(),
    day: m.updated_at.day().to_string(),
    created_at: m.updated_at.0,
    status: "menu",
});

pub const MENU_KEY: &str = "menu";

/// The event that announces the menu's new state (its data: the [`Menu`]).
pub const MENU_UPDATED: &str = "coffee.menu.updated";

/// The order service's own timer: an order's payment falls due (its data: `orderId`, `dueAt`).
/// Scheduled at placement, dropped when the order is paid or cancelled first; when it fires, an
/// order still unpaid is cancelled.
pub const PAYMENT_DUE: &str = "coffee.order.payment_due";

/// The key of an order's payment-due timer.
pub fn payment_due_timer(order: coffee_domain::OrderId) -> String {
    format!("payment-due:{order}")
}

/// `change`, and, when it moves the order on from unpaid (`before` unpaid, `after` not), the drop
/// of its payment-due timer, which no longer applies. Later steps (made, collected) have no
/// timer left to drop, so they write nothing more.
pub fn unless_unpaid(change: coffee_bus::Change, before: &Order, after: &Order) -> coffee_bus::Change {
    match (before.status, after.status) {
        (OrderStatus::Created, OrderStatus::Created) => change,
        (OrderStatus::Created, _) => change.drop_timer(payment_due_timer(after.id)),
        _ => change,
    }
}

/// `GET /api/shop/figures?date=YYYY-MM-DD`, `getDayFigures(date)`: the day's figures (admins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct FiguresQuery {
    pub date: coffee_domain::Day,
}

/// The event that announces the shop's new settings (its data: the [`Shop`]).
pub const SHOP_UPDATED: &str = "coffee.shop.updated";

/// `PUT /api/shop`, `setShop`: the owner opens or closes the shop, sets how many open orders it
/// takes at once (left out or null: no limit) and its message to customers (left out, null or
/// empty: none). Each call sets all three.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", try_from = "SetShopBody")]
pub struct SetShop {
    pub open: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<ShopMessage>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "SetShop")]
struct SetShopBody {
    open: bool,
    /// How many open orders the shop takes at once; null or left out: no limit.
    #[serde(default, deserialize_with = "coffee_domain::whole::option")]
    #[schemars(range(min = 1, max = 10_000))]
    capacity: Option<i64>,
    #[serde(default)]
    #[schemars(with = "Option<ShopMessage>")]
    message: Option<String>,
}

impl SetShop {
    /// Parses the owner's settings, as the REST body and `setShop`'s arguments give them.
    pub fn parse(open: bool, capacity: Option<i64>, message: Option<&str>) -> Result<Self, InvalidInput> {
        let range = || {
            InvalidInput::new(
                "capacity",
                format!("must be between 1 and {} (leave it out for no limit)", Shop::MAX_CAPACITY),
            )
        };
        let capacity = capacity.map(|c| u32::try_from(c).map_err(|_| range())).transpose()?;
        let message = message.map(ShopMessage::parse).transpose()?.flatten();
        // The range is checked here, where the request enters, and again by the domain.
        Shop::set(open, capacity, message.clone(), coffee_domain::Millis(0))?;
        Ok(Self { open, capacity, message })
    }
}

impl TryFrom<SetShopBody> for SetShop {
    type Error = InvalidInput;

    fn try_from(body: SetShopBody) -> Result<Self, InvalidInput> {
        Self::parse(body.open, body.capacity, body.message.as_deref())
    }
}

/// `GET /api/shop`, `getShop`: the shop as anyone sees it before ordering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShopStatus {
    pub open: bool,
    /// The most open orders at once; null: no limit.
    pub capacity: Option<u32>,
    /// Orders placed and not yet completed or cancelled.
    pub queue_length: u32,
    /// How long a drink paid for now can expect to take, from the last hour's drinks; null
    /// when none was made in the last hour.
    pub estimated_wait_seconds: Option<u64>,
    pub message: Option<ShopMessage>,
    /// After how long from payment the barista's queue flags a drink still waiting as slow.
    pub slow_order_after_seconds: u64,
    /// How long a ready order stays on the pickup board.
    pub pickup_board_seconds: u64,
    /// How long an order waits for its payment before it is cancelled.
    pub unpaid_order_timeout_seconds: u64,
}

/// `POST /api/order`, `createOrder`: a customer orders a coffee from the menu, with options. The customer is
/// the session's: `customerId` may be left out, and when given must be the session's own (an
/// admin ordering for someone names them); `customerName` defaults to the session's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", try_from = "PlaceOrderBody")]
pub struct PlaceOrder {
    pub coffee_id: CoffeeId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<CustomerId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<CustomerName>,
    /// Size, milk, extra shots; left out (all or any of them), the drink as it comes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<DrinkOptions>,
}

/// The body as clients send it: `{"coffeeId": "2", ...}`, or the original's
/// `{"coffee": {"id": "2", ...}, ...}`. Only the coffee's id is read; the rest of the coffee (its
/// price above all) comes from the menu.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "PlaceOrder", extend("anyOf" = [
    { "required": ["coffeeId"], "properties": { "coffeeId": { "not": { "type": "null" } } } },
    { "required": ["coffee"], "properties": { "coffee": { "type": "object" } } },
]))]
struct PlaceOrderBody {
    /// The drink's id on the menu (or the original's `coffee` with an id).
    #[serde(default)]
    #[schemars(schema_with = "nullable_coffee_id")]
    coffee_id: Option<Value>,
    #[serde(default)]
    coffee: Option<CoffeeRef>,
    /// The session's own when left out.
    #[serde(default)]
    #[schemars(with = "Option<CustomerId>")]
    customer_id: Option<String>,
    /// The session's name when left out.
    #[serde(default)]
    #[schemars(with = "Option<CustomerName>")]
    customer_name: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "coffee_domain::schema::drink_options_request")]
    options: Option<Value>,
}

fn nullable_coffee_id(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let id = coffee_domain::schema::coffee_id_request(generator);
    schemars::json_schema!({ "anyOf": [id, { "type": "null" }] })
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct CoffeeRef {
    #[schemars(schema_with = "coffee_domain::schema::coffee_id_request")]
    id: Value,
}

impl TryFrom<PlaceOrderBody> for PlaceOrder {
    type Error = InvalidInput;

    fn try_from(body: PlaceOrderBody) -> Result<Self, InvalidInput> {
        let (field, raw): (&'static str, &Value) = match (&body.coffee_id, &body.coffee) {
            (Some(id), _) => ("coffeeId", id),
            (None, Some(c)) => ("coffee.id", &c.id),
            (None, None) => return Err(InvalidInput::new("coffeeId", "missing (send coffeeId, or coffee with an id)")),
        };
        // The original's ids are numeric strings; numbers are taken too.
        let coffee_id = match raw {
            Value::String(s) => CoffeeId::parse(s)?,
            Value::Number(_) => match coffee_domain::whole::of_value(raw).filter(|n| *n >= 0) {
                Some(n) => CoffeeId::parse(&n.to_string())?,
                None => return Err(InvalidInput::new(field, format!("expected a string, got {raw}"))),
            },
            other => return Err(InvalidInput::new(field, format!("expected a string, got {other}"))),
        };
        Ok(Self {
            coffee_id,
            customer_id: body.customer_id.as_deref().map(CustomerId::parse).transpose()?,
            customer_name: body.customer_name.as_deref().map(CustomerName::parse).transpose()?,
            options: body.options.as_ref().filter(|o| !o.is_null()).map(DrinkOptions::parse).transpose()?,
        })
    }
}

/// `PATCH /api/order/:id`, `cancelOrder`: the customer's change. Only `ORDER_CANCELLED` is the
/// customer's to make; asking for another status is refused like any illegal step.
pub type OrderChange = StatusChange<OrderStatus>;

/// The customer cancels, saying why or not.
pub fn cancellation(note: Option<Note>) -> OrderChange {
    OrderChange { status: OrderStatus::Cancelled, note }
}

/// `GET /api/order`, `getOrderList`: the orders of a day (today, UTC, when nothing is given), or
/// of a customer; not both.
pub type OrderList = Listing<Orders>;

/// Orders, as lists see them: by day or by customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orders;

impl Listed for Orders {
    const WHAT: &'static str = "orders";
    const BY: &'static [&'static str] = &["customerId"];
    type Status = OrderStatus;
}

/// What the pickup board shows of an order, to anyone: its number and the customer's first
/// name, and whether it is being made or ready (or gone: cancelled, which takes it off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PickupOrder {
    pub number: String,
    pub name: String,
    pub status: OrderStatus,
    pub created_at: coffee_domain::Millis,
    pub updated_at: coffee_domain::Millis,
}

impl From<&Order> for PickupOrder {
    fn from(o: &Order) -> Self {
        Self {
            number: o.pickup_number(),
            name: o.customer_name.first_name().to_owned(),
            status: o.status,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

impl PickupOrder {
    /// The days whose orders the board reads at `now`: yesterday's and today's (UTC), so that an
    /// order placed at 23:59 and still being made at 00:01 stays, as does one that became
    /// ready just before midnight. An order being made for more than a day is not shown.
    pub fn board_days(now: coffee_domain::Millis) -> [coffee_domain::Day; 2] {
        const DAY_MS: i64 = 24 * 3600 * 1000;
        [coffee_domain::Millis(now.0 - DAY_MS).day(), now.day()]
    }

    /// Whether the board shows it at `now`: being made, or ready for less than `ready_for`
    /// (`--pickup-board-minutes`).
    pub fn on_board(&self, now: coffee_domain::Millis, ready_for: std::time::Duration) -> bool {
        match self.status {
            OrderStatus::InProgress => true,
            OrderStatus::Completed => {
                now.0.saturating_sub(self.updated_at.0) < i64::try_from(ready_for.as_millis()).unwrap_or(i64::MAX)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use coffee_domain::{Day, Millis};

    use super::*;

    /// Seconds after midnight UTC on 2 December 2026.
    fn at(seconds: i64) -> Millis {
        Millis(1796169600000 + seconds * 1000)
    }

    fn day(d: &str) -> Day {
        Day::parse(d).expect("day")
    }

    #[test]
    fn the_board_reads_yesterday_and_today() {
        assert_eq!(PickupOrder::board_days(at(0)), [day("2026-12-01"), day("2026-12-02")]);
        assert_eq!(PickupOrder::board_days(at(24 * 3600 - 1)), [day("2026-12-01"), day("2026-12-02")]);
        assert_eq!(PickupOrder::board_days(at(24 * 3600)), [day("2026-12-02"), day("2026-12-03")]);
    }

    #[test]
    fn a_ready_order_leaves_the_board_after_the_shops_minutes_and_one_being_made_stays() {
        let ready = PickupOrder {
            number: "7".into(),
            name: "Ada".into(),
            status: OrderStatus::Completed,
            created_at: at(0),
            updated_at: at(60),
        };
        let minutes = |m: u64| std::time::Duration::from_secs(60 * m);
        assert!(ready.on_board(at(60 + 5 * 60 - 1), minutes(5)));
        assert!(!ready.on_board(at(60 + 5 * 60), minutes(5)), "gone after 5 minutes");
        assert!(ready.on_board(at(60 + 14 * 60), minutes(15)));
        let making = PickupOrder { status: OrderStatus::InProgress, ..ready.clone() };
        assert!(making.on_board(at(3600 * 20), minutes(1)));
        let cancelled = PickupOrder { status: OrderStatus::Cancelled, ..ready };
        assert!(!cancelled.on_board(at(61), minutes(15)));
    }
}

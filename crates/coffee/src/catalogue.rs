//! The event catalogue (`docs/events.md`), generated from the code: every event type with
//! its producer, the consumers whose rules select it, what it means, and the shape of its
//! data. `coffee events` prints it; a test fails when the file and the code differ.

use std::fmt::Write as _;

use coffee_bus::{Envelope, TraceContext};
use coffee_domain::{
    CustomerId, CustomerName, DomainEvent, EventType, Fulfilment, FulfilmentId, Millis, Order, OrderId, Payment,
    PaymentId, Source,
};

use crate::services::rules;

/// An example of each entity, with fixed ids and times so the catalogue is stable.
fn examples() -> (Order, Payment, Fulfilment) {
    let at = Millis(1_764_000_000_000);
    let order = Order::place(
        OrderId::from_uuid(uuid::Uuid::from_u128(0x0193_f5a0_0000_7000_8000_0000_0000_0001)),
        coffee_domain::Coffee::from_menu("2").unwrap_or_else(|e| panic!("the menu has a latte: {e}")),
        CustomerId::parse("customer-1").unwrap_or_else(|e| panic!("{e}")),
        CustomerName::parse("Ada").unwrap_or_else(|e| panic!("{e}")),
        at,
    )
    .numbered(1);
    let payment = Payment::on_order_created(
        PaymentId::from_uuid(uuid::Uuid::from_u128(0x0193_f5a0_0000_7000_8000_0000_0000_0002)),
        &order,
        at,
    );
    let fulfilment = Fulfilment::on_payment_succeeded(
        FulfilmentId::from_uuid(uuid::Uuid::from_u128(0x0193_f5a0_0000_7000_8000_0000_0000_0003)),
        &payment,
        at,
    );
    (order, payment, fulfilment)
}

/// The consumers whose rules select events of this type.
pub(crate) fn consumers_of(event_type: EventType) -> Vec<String> {
    let (order, payment, fulfilment) = examples();
    let example = match event_type.source() {
        Source::Order => DomainEvent::Order(order),
        Source::Payment => DomainEvent::Payment(payment),
        Source::Fulfilment => DomainEvent::Fulfilment(fulfilment),
    };
    let mut envelope = Envelope::wrap(&example, &TraceContext::new_root());
    envelope.event_type = event_type.as_str().to_owned();
    rules().consumers_for(&envelope).map(str::to_owned).collect()
}

pub fn markdown() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Event catalogue\n");
    let _ = writeln!(
        out,
        "Generated from the code by `coffee events`; a test fails when this file and the code differ \
         (regenerate with `cargo run -p coffee -- events > docs/events.md`). The same events, with each \
         payload's JSON Schema, are an AsyncAPI 3.0 document: `docs/asyncapi.json` (`coffee asyncapi`).\n"
    );
    let _ = writeln!(
        out,
        "Every event travels in a CloudEvents 1.0 envelope (JSON structured mode): `specversion`, `id` (UUIDv7), \
         `source` (the producing service), `type`, `subject` (the order id: the FIFO group), `time` (RFC 3339, UTC), \
         `datacontenttype`, `traceparent` (W3C trace context: its trace id is the order's id, so one order is one \
         trace in every service; its span is the commit that published the event) and `data`, the entity as it is \
         after the change.\n"
    );
    let _ = writeln!(out, "| type | producer | consumers | meaning |");
    let _ = writeln!(out, "|---|---|---|---|");
    for t in EventType::ALL {
        let consumers = consumers_of(*t);
        let consumers = if consumers.is_empty() { "(none)".to_owned() } else { consumers.join(", ") };
        let _ = writeln!(out, "| `{}` | {} | {} | {} |", t.as_str(), t.source(), consumers, t.meaning());
    }
    let _ = writeln!(
        out,
        "\nThe order service also has a timer of its own: `{}`, scheduled at placement for `--unpaid-order-timeout` \
         later and dropped when the order is paid or cancelled first. When it falls due it is published (source {}, \
         subject the order) to the order service's queue only, which cancels an order still unpaid (\"{}\"). Data: \
         `orderId`, `dueAt` (milliseconds); its `time` is when it fell due.",
        coffee_order::model::PAYMENT_DUE,
        coffee_order::SERVICE,
        coffee_domain::Order::NOT_PAID_IN_TIME
    );
    let _ =
        writeln!(out, "\nLive watchers (GraphQL subscriptions, `GET /api/events`) see every event as it commits.\n");
    let _ = writeln!(out, "Three more events are not about an order; no consumer's queue selects them:\n");
    let _ = writeln!(out, "| type | producer | subject | who listens | meaning |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    let _ = writeln!(
        out,
        "| `{}` | {} | the session's key | every process, from the live feed | A customer logged out or a member of \
         staff was removed: their tokens stop working. Data: `key`, `endedAt`, `until` (milliseconds). |",
        coffee_identity::SESSION_ENDED,
        coffee_identity::SERVICE
    );
    let shop = serde_json::to_string(&coffee_domain::Shop::default()).unwrap_or_default();
    let _ = writeln!(
        out,
        "| `{}` | {} | `{}` | the gateway's `shopUpdated` | The owner opened or closed the shop, or set its capacity \
         or message. Data: the settings, e.g. `{shop}`. |",
        coffee_order::model::SHOP_UPDATED,
        coffee_order::SERVICE,
        coffee_order::model::SHOP_KEY
    );
    let _ = writeln!(
        out,
        "| `{}` | {} | `{}` | the gateway's `menuUpdated` | The owner added, changed, sold out or removed a drink. \
         Data: the menu, `{{\"items\": [...], \"updatedAt\"}}`, each item a coffee with its `options`, \
         `available` and `removed`. |\n",
        coffee_order::model::MENU_UPDATED,
        coffee_order::SERVICE,
        coffee_order::model::MENU_KEY
    );
    let _ = writeln!(out, "## Rules\n");
    let _ = writeln!(out, "Each consumer's durable queue receives the events its EventBridge pattern matches.\n");
    for rule in rules().iter() {
        let _ = writeln!(out, "- `{}`: `{}`", rule.consumer, rule.pattern.as_json());
    }
    let (order, payment, fulfilment) = examples();
    let _ = writeln!(out, "\n## Data\n");
    for (title, json) in [
        ("Order events (`coffee.order.*`)", serde_json::to_string_pretty(&order)),
        ("Payment events (`coffee.payment.*`)", serde_json::to_string_pretty(&payment)),
        ("Fulfilment events (`coffee.fulfilment.*`)", serde_json::to_string_pretty(&fulfilment)),
    ] {
        let _ = writeln!(out, "### {title}\n\n```json\n{}\n```\n", json.unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_events_md_is_the_generated_catalogue() {
        let on_disk = include_str!("../../../docs/events.md");
        assert!(
            on_disk == super::markdown(),
            "docs/events.md is out of date: run `cargo run -p coffee -- events > docs/events.md`"
        );
    }

    /// The newcomer's map must not send them to files that moved or went. A path `src/...` is
    /// in the crates named on the same line (in every one of them), or in some crate.
    #[test]
    fn docs_architecture_md_names_files_that_exist() {
        let map = include_str!("../../../docs/architecture.md");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut checked = 0;
        for line in map.lines() {
            let named: Vec<&str> = line
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|s| s.contains('/') && !s.contains(' ') && !s.starts_with("GET") && !s.starts_with("coffee."))
                .collect();
            let crates: Vec<&str> =
                named.iter().copied().filter(|p| p.starts_with("crates/") && !p.contains('.')).collect();
            for path in named {
                let found = if path.starts_with("src/") {
                    let crates: Vec<String> = if crates.is_empty() {
                        std::fs::read_dir(root.join("crates"))
                            .into_iter()
                            .flatten()
                            .flatten()
                            .map(|e| format!("crates/{}", e.file_name().to_string_lossy()))
                            .collect()
                    } else {
                        crates.iter().map(|c| (*c).to_owned()).collect()
                    };
                    let mut within = crates.iter().map(|c| root.join(c).join(path).exists());
                    if line.contains(crates.first().map(String::as_str).unwrap_or("-")) {
                        within.all(|e| e)
                    } else {
                        within.any(|e| e)
                    }
                } else {
                    root.join(path).exists()
                };
                assert!(found, "docs/architecture.md names {path}, which does not exist (line: {line})");
                checked += 1;
            }
        }
        assert!(checked > 30, "the map names files ({checked} checked)");
    }

    #[test]
    fn every_consumed_event_has_a_consumer_and_every_service_consumes_something() {
        use coffee_domain::EventType as T;
        assert_eq!(super::consumers_of(T::PaymentSucceeded), ["order-service", "fulfilment-service"]);
        assert_eq!(super::consumers_of(T::OrderCancelled), ["payment-service", "fulfilment-service"]);
        assert!(super::consumers_of(T::FulfilmentPending).is_empty());
    }
}

//! The events as an AsyncAPI 3.0 document (`docs/asyncapi.json`), generated from the code like
//! the catalogue (`docs/events.md`): one channel per event type (its NATS subject is the type),
//! each message the CloudEvents envelope with its `type`, `source` and the JSON Schema of its
//! `data` (derived beside the entities' serde attributes, as the OpenAPI document's are), the
//! producer's send and each consumer's receive, with the rule that selects it. `coffee asyncapi`
//! prints it; a test fails when the file and the code differ, and `scripts/test` validates it with
//! the AsyncAPI parser.

use coffee_domain::{EventType, Fulfilment, Menu, Order, Payment, Shop, Source};
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::catalogue::consumers_of;
use crate::services::rules;

/// One event's channel: its type, who sends it, who receives it, what it means and its data.
struct Channel {
    event_type: String,
    producer: String,
    consumers: Vec<String>,
    meaning: String,
    data: Value,
}

pub fn document() -> String {
    // Draft 7: AsyncAPI's default schema format is a superset of it.
    let mut generator: SchemaGenerator =
        SchemaSettings::draft07().with(|s| s.definitions_path = "#/components/schemas/".into()).into_generator();
    let mut data_of = |source: Source| match source {
        Source::Order => generator.subschema_for::<Order>().to_value(),
        Source::Payment => generator.subschema_for::<Payment>().to_value(),
        Source::Fulfilment => generator.subschema_for::<Fulfilment>().to_value(),
    };
    let mut channels: Vec<Channel> = EventType::ALL
        .iter()
        .map(|t| Channel {
            event_type: t.as_str().to_owned(),
            producer: t.source().to_string(),
            consumers: consumers_of(*t),
            meaning: t.meaning().to_owned(),
            data: data_of(t.source()),
        })
        .collect();
    let millis = json!({ "type": "integer", "description": "Milliseconds since the Unix epoch, UTC." });
    channels.push(Channel {
        event_type: coffee_order::model::PAYMENT_DUE.to_owned(),
        producer: coffee_order::SERVICE.to_owned(),
        consumers: vec![coffee_order::SERVICE.to_owned()],
        meaning: format!(
            "The order service's own timer: an order's payment fell due (--unpaid-order-timeout after placement); an \
             order still unpaid is cancelled (\"{}\"). Published to the order service's queue only.",
            Order::NOT_PAID_IN_TIME
        ),
        data: json!({
            "type": "object",
            "properties": { "orderId": { "type": "string", "format": "uuid" }, "dueAt": millis },
            "required": ["orderId", "dueAt"],
        }),
    });
    channels.push(Channel {
        event_type: coffee_identity::SESSION_ENDED.to_owned(),
        producer: coffee_identity::SERVICE.to_owned(),
        consumers: Vec::new(),
        meaning: "A customer logged out or a member of staff was removed: their tokens stop working. Every process \
                  follows it on the live feed."
            .to_owned(),
        data: json!({
            "type": "object",
            "properties": { "key": { "type": "string" }, "endedAt": millis, "until": millis },
            "required": ["key", "endedAt", "until"],
        }),
    });
    channels.push(Channel {
        event_type: coffee_order::model::SHOP_UPDATED.to_owned(),
        producer: coffee_order::SERVICE.to_owned(),
        consumers: Vec::new(),
        meaning: "The owner opened or closed the shop, or set its capacity or message (the gateway's shopUpdated)."
            .to_owned(),
        data: generator.subschema_for::<Shop>().to_value(),
    });
    channels.push(Channel {
        event_type: coffee_order::model::MENU_UPDATED.to_owned(),
        producer: coffee_order::SERVICE.to_owned(),
        consumers: Vec::new(),
        meaning: "The owner added, changed, sold out or removed a drink (the gateway's menuUpdated).".to_owned(),
        data: generator.subschema_for::<Menu>().to_value(),
    });

    let envelope = generator.subschema_for::<coffee_bus::Envelope>().to_value();
    let patterns: Map<String, Value> =
        rules().iter().map(|r| (r.consumer.clone(), Value::String(r.pattern.as_json().to_string()))).collect();
    let mut channel_items = Map::new();
    let mut operations = Map::new();
    let mut messages = Map::new();
    for c in &channels {
        let t = &c.event_type;
        let message_ref = json!({ "$ref": format!("#/channels/{t}/messages/{t}") });
        messages.insert(
            t.clone(),
            json!({
                "name": t,
                "title": t,
                "summary": c.meaning,
                "contentType": "application/json",
                "correlationId": { "description": "The order the event is about: its FIFO group.", "location": "$message.payload#/subject" },
                "payload": {
                    "description": "A CloudEvents 1.0 envelope (JSON structured mode).",
                    "allOf": [envelope, {
                        "type": "object",
                        "properties": { "type": { "const": t }, "source": { "const": c.producer }, "data": c.data },
                        "required": ["type", "source", "data"],
                    }],
                },
            }),
        );
        channel_items.insert(
            t.clone(),
            json!({
                "address": t,
                "title": t,
                "description": c.meaning,
                "messages": { t.clone(): { "$ref": format!("#/components/messages/{t}") } },
            }),
        );
        operations.insert(
            format!("{}.send.{t}", c.producer),
            json!({
                "action": "send",
                "channel": { "$ref": format!("#/channels/{t}") },
                "summary": format!("{} publishes {t}: committed with its change (the outbox), then relayed.", c.producer),
                "messages": [message_ref],
            }),
        );
        for consumer in &c.consumers {
            let rule = patterns.get(consumer).and_then(Value::as_str).unwrap_or("its timer");
            operations.insert(
                format!("{consumer}.receive.{t}"),
                json!({
                    "action": "receive",
                    "channel": { "$ref": format!("#/channels/{t}") },
                    "summary": format!("{consumer}'s durable queue receives {t} (its rule: {rule}), in order per order, once."),
                    "messages": [message_ref],
                }),
            );
        }
    }
    let schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    let document = json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "Event Driven Coffee events",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The events the services publish and consume. Each is committed with the change it announces \
                            (an outbox), relayed to the bus, and delivered to each consumer whose rule (an EventBridge \
                            pattern) selects it, in order per order and handled once (an inbox). The embedded mode's bus \
                            has the same channels in its SQLite queues.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "nats": {
                "host": "localhost:4222",
                "protocol": "nats",
                "description": "The distributed mode's NATS JetStream: the stream COFFEE_EVENTS holds the subjects coffee.>, each consumer a durable consumer filtered by its rule's types.",
            },
        },
        "channels": channel_items,
        "operations": operations,
        "components": { "messages": messages, "schemas": schemas },
    });
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_asyncapi_json_is_the_generated_document() {
        let on_disk = include_str!("../../../docs/asyncapi.json");
        assert!(
            on_disk == super::document(),
            "docs/asyncapi.json is out of date: run `cargo run -p coffee -- asyncapi > docs/asyncapi.json`"
        );
    }

    /// Every event type the code knows has its channel, sent by its producer and received by
    /// each consumer the rules name: the document cannot leave one out.
    #[test]
    fn every_event_has_its_channel_sender_and_receivers() {
        let doc: serde_json::Value = serde_json::from_str(&super::document()).expect("JSON");
        for t in coffee_domain::EventType::ALL {
            let name = t.as_str();
            assert_eq!(doc["channels"][name]["address"], name);
            let send = format!("{}.send.{name}", t.source());
            assert_eq!(doc["operations"][&send]["action"], "send", "{send}");
            for consumer in crate::catalogue::consumers_of(*t) {
                let receive = format!("{consumer}.receive.{name}");
                assert_eq!(doc["operations"][&receive]["action"], "receive", "{receive}");
            }
        }
        assert!(doc["components"]["schemas"]["Order"]["properties"]["orderStatus"].is_object());
    }
}

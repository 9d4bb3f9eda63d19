//! The fake Stripe keeps Stripe's documented wire contract, seen from a plain HTTP client.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use coffee_testkit::stripe::{DEFAULT_API_VERSION, FakeStripe, Fault};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET_KEY: &str = "sk_test_51FakeKeyForTheCoffeeShop0000abcd";
const WEBHOOK_SECRET: &str = "whsec_coffee_test_secret_0123456789";
const VERSION: &str = "2024-06-20";

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("an HTTP client builds")
}

/// Percent-encodes everything but RFC 3986's unreserved characters (so brackets too).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    text: String,
    json: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn error(&self) -> &Value {
        &self.json["error"]
    }
}

async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("the fake Stripe answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("a JSON body ({e}): {text}"));
    Answer { status, headers, text, json }
}

async fn post(fake: &FakeStripe, path: &str, key: Option<&str>, body: String) -> Answer {
    let mut request = client()
        .post(format!("{}{path}", fake.url()))
        .bearer_auth(SECRET_KEY)
        .header("stripe-version", VERSION)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    answer(request).await
}

async fn get(fake: &FakeStripe, path: &str) -> Answer {
    answer(client().get(format!("{}{path}", fake.url())).bearer_auth(SECRET_KEY)).await
}

async fn create_intent(fake: &FakeStripe, amount: &str, order: &str) -> Value {
    let body = form(&[
        ("amount", amount),
        ("currency", "eur"),
        ("metadata[orderId]", order),
        ("automatic_payment_methods[enabled]", "true"),
    ]);
    let created = post(fake, "/v1/payment_intents", Some(&format!("create-{order}")), body).await;
    assert_eq!(created.status, 200, "{}", created.text);
    created.json
}

fn id_of(object: &Value) -> String {
    object["id"].as_str().expect("an object has an id").to_owned()
}

/// A webhook endpoint that keeps what it receives and answers the status it is set to.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    async fn start() -> Receiver {
        let got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
        let status = Arc::new(AtomicU16::new(200));
        let (keep, answer_with) = (Arc::clone(&got), Arc::clone(&status));
        let app = axum::Router::new().route(
            "/api/payment/webhook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| async move {
                keep.lock().expect("the receiver's list").push((headers, body));
                StatusCode::from_u16(answer_with.load(Ordering::SeqCst)).expect("a status")
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("the receiver listens");
        let port = listener.local_addr().expect("an address").port();
        tokio::spawn(async move { axum::serve(listener, app).await.expect("the receiver serves") });
        Receiver { url: format!("http://127.0.0.1:{port}/api/payment/webhook"), got, status }
    }

    /// The (Stripe-Signature, raw body, event) of every delivery of `event_type`.
    fn of_type(&self, event_type: &str) -> Vec<(String, Bytes, Value)> {
        let got = self.got.lock().expect("the receiver's list");
        got.iter()
            .map(|(headers, body)| {
                let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                let event: Value = serde_json::from_slice(body).expect("an event is JSON");
                (signature, body.clone(), event)
            })
            .filter(|(_, _, event)| event["type"] == event_type)
            .collect()
    }
}

/// Verifies a Stripe-Signature header the way Stripe's docs say to, written here independently
/// of the fake: the `t` element, every `v1` element (other schemes ignored), HMAC-SHA256 of
/// "<t>.<body>" keyed with the secret, and a timestamp within five minutes.
fn verify(header: &str, body: &[u8], secret: &str) -> bool {
    let mut timestamp = None;
    let mut v1 = Vec::new();
    for element in header.split(',') {
        match element.split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", sig)) => v1.push(sig.to_owned()),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs() as i64;
    if (now - t).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let expected = hex::encode(mac.finalize().into_bytes());
    v1.contains(&expected)
}

#[tokio::test]
async fn a_wrong_or_missing_key_is_401_and_the_key_is_masked() {
    let fake = FakeStripe::start(SECRET_KEY, WEBHOOK_SECRET).await;
    let body = form(&[("amount", "500"), ("currency", "eur")]);
    let url = format!("{}/v1/payment_intents", fake.url());
    let wrong = "sk_test_someoneElsesKeyXYZ9876";

    let answered = answer(client().post(&url).bearer_auth(wrong).body(body.clone())).await;
    assert_eq!(answered.status, 401);
    assert_eq!(answered.error()["type"], "invalid_request_error");
    assert_eq!(answered.error()["message"], "Invalid API Key provided: sk_test_****9876");
    assert!(!answered.text.contains("someoneElses"), "the key is never echoed whole: {}", answered.text);
    assert!(answered.header("request-id").is_some_and(|id| id.starts_with("req_")));

    let missing = answer(client().post(&url).body(body.clone())).await;
    assert_eq!(missing.status, 401);
    assert!(missing.error()["message"].as_str().is_some_and(|m| m.starts_with("You did not provide an API key")));

    let right = answer(client().post(&url).bearer_auth(SECRET_KEY).body(body)).await;
    assert_eq!(right.status, 200, "{}", right.text);

    let recorded = fake.requests();
    assert_eq!(recorded.iter().map(|r| r.authorized).collect::<Vec<_>>(), [false, false, true]);
    assert!(fake.events().iter().filter(|e| e["type"] == "payment_intent.created").count() == 1);
}

#[tokio::test]
async fn the_same_idempotency_key_replays_and_other_parameters_are_refused() {
    let fake = FakeStripe::start(SECRET_KEY, WEBHOOK_SECRET).await;
    let pairs = [
        ("amount", "450"),
        ("currency", "eur"),
        ("metadata[orderId]", "order-1"),
        ("automatic_payment_methods[enabled]", "true"),
    ];
    let first = post(&fake, "/v1/payment_intents", Some("key-1"), form(&pairs)).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let intent = &first.json;
    let id = id_of(intent);
    assert!(id.starts_with("pi_") && id.len() == 27 && id[3..].chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
    assert_eq!(intent["object"], "payment_intent");
    assert_eq!(intent["amount"], 450);
    assert_eq!(intent["currency"], "eur");
    assert_eq!(intent["status"], "requires_payment_method");
    assert!(intent["client_secret"].as_str().is_some_and(|s| s.starts_with(&format!("{id}_secret_"))));
    assert_eq!(intent["metadata"], json!({ "orderId": "order-1" }));
    assert_eq!(intent["automatic_payment_methods"]["enabled"], true);
    assert_eq!(intent["livemode"], false);
    assert_eq!(intent["last_payment_error"], Value::Null);
    assert_eq!(intent["latest_charge"], Value::Null);
    assert_eq!(intent["amount_received"], 0);
    assert!(intent["created"].as_i64().is_some());
    assert_eq!(first.header("idempotent-replayed"), None);

    // The same key and parameters, in another order: the saved answer, replayed.
    let mut reordered = pairs;
    reordered.reverse();
    let again = post(&fake, "/v1/payment_intents", Some("key-1"), form(&reordered)).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.text, first.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("original-request"), first.header("request-id"));
    assert_ne!(again.header("request-id"), first.header("request-id"));

    // The same key, other parameters.
    let other =
        post(&fake, "/v1/payment_intents", Some("key-1"), form(&[("amount", "999"), ("currency", "eur")])).await;
    assert_eq!(other.status, 400);
    assert_eq!(other.error()["type"], "idempotency_error");
    let message = other.error()["message"].as_str().unwrap_or("");
    assert!(message.starts_with("Keys for idempotent requests can only be used with the same parameters"), "{message}");
    assert!(message.contains("'key-1'"), "{message}");

    // The same key on another endpoint.
    let elsewhere = post(&fake, "/v1/refunds", Some("key-1"), form(&[("payment_intent", &id)])).await;
    assert_eq!(elsewhere.status, 400);
    assert_eq!(elsewhere.error()["type"], "idempotency_error");

    assert_eq!(fake.events().iter().filter(|e| e["type"] == "payment_intent.created").count(), 1, "one intent");
    let recorded = fake.requests();
    assert_eq!(recorded.len(), 4);
    let first_request = &recorded[0];
    assert_eq!((first_request.method.as_str(), first_request.path.as_str()), ("POST", "/v1/payment_intents"));
    assert_eq!(first_request.form[2], ("metadata[orderId]".to_owned(), "order-1".to_owned()), "brackets decoded");
    assert_eq!(first_request.idempotency_key.as_deref(), Some("key-1"));
    assert_eq!(first_request.stripe_version.as_deref(), Some(VERSION));
    assert!(first_request.authorized);
    assert_eq!(fake.intent(&id).map(|i| i["status"].clone()), Some(json!("requires_payment_method")));
}

#[tokio::test]
async fn unknown_missing_and_invalid_parameters_are_refused_and_not_saved() {
    let fake = FakeStripe::start(SECRET_KEY, WEBHOOK_SECRET).await;
    let unknown = post(
        &fake,
        "/v1/payment_intents",
        Some("k"),
        form(&[("amount", "500"), ("currency", "eur"), ("colour", "red")]),
    )
    .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.error()["type"], "invalid_request_error");
    assert_eq!(unknown.error()["code"], "parameter_unknown");
    assert_eq!(unknown.error()["param"], "colour");
    assert_eq!(unknown.error()["message"], "Received unknown parameter: colour");

    // Raw (not percent-encoded) brackets, an unknown key inside a known object.
    let nested = post(
        &fake,
        "/v1/payment_intents",
        None,
        "amount=500&currency=eur&automatic_payment_methods[colour]=red".to_owned(),
    )
    .await;
    assert_eq!(nested.error()["code"], "parameter_unknown");
    assert_eq!(nested.error()["param"], "automatic_payment_methods[colour]");

    let missing = post(&fake, "/v1/payment_intents", None, form(&[("currency", "eur")])).await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.error()["code"], "parameter_missing");
    assert_eq!(missing.error()["param"], "amount");
    let no_currency = post(&fake, "/v1/payment_intents", None, form(&[("amount", "500")])).await;
    assert_eq!(no_currency.error()["param"], "currency");

    let not_a_number = post(&fake, "/v1/payment_intents", None, form(&[("amount", "lots"), ("currency", "eur")])).await;
    assert_eq!(not_a_number.error()["code"], "parameter_invalid_integer");
    let too_small = post(&fake, "/v1/payment_intents", None, form(&[("amount", "10"), ("currency", "eur")])).await;
    assert_eq!(too_small.error()["code"], "amount_too_small");

    // The refused request saved nothing under its key: a corrected one with that key runs.
    let corrected =
        post(&fake, "/v1/payment_intents", Some("k"), form(&[("amount", "500"), ("currency", "eur")])).await;
    assert_eq!(corrected.status, 200, "{}", corrected.text);
    assert_eq!(corrected.header("idempotent-replayed"), None);

    let bad_version = answer(
        client()
            .post(format!("{}/v1/payment_intents", fake.url()))
            .bearer_auth(SECRET_KEY)
            .header("stripe-version", "latest")
            .body(form(&[("amount", "500"), ("currency", "eur")])),
    )
    .await;
    assert_eq!(bad_version.status, 400);
    assert_eq!(bad_version.error()["message"], "Invalid Stripe API version: latest");

    let nowhere = get(&fake, "/v1/customers").await;
    assert_eq!(nowhere.status, 404);
    assert!(
        nowhere.error()["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Unrecognized request URL (GET: /v1/customers)"))
    );
}

#[tokio::test]
async fn an_unknown_intent_is_404_resource_missing() {
    let fake = FakeStripe::start(SECRET_KEY, WEBHOOK_SECRET).await;
    let missing = get(&fake, "/v1/payment_intents/pi_doesNotExist").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error()["code"], "resource_missing");
    assert_eq!(missing.error()["param"], "intent");
    assert_eq!(missing.error()["message"], "No such payment_intent: 'pi_doesNotExist'");

    let intent = create_intent(&fake, "500", "o-404").await;
    let found = get(&fake, &format!("/v1/payment_intents/{}", id_of(&intent))).await;
    assert_eq!(found.status, 200);
    assert_eq!(found.json, intent);
    assert_eq!(found.header("stripe-version"), Some(DEFAULT_API_VERSION));
}

#[tokio::test]
async fn cancelling_follows_the_intents_status() {
    let fake = FakeStripe::start(SECRET_KEY, WEBHOOK_SECRET).await;
    let open = id_of(&create_intent(&fake, "500", "o-open").await);
    let path = format!("/v1/payment_intents/{open}/cancel");
    let canceled =
        post(&fake, &path, Some("cancel-1"), form(&[("cancellation_reason", "requested_by_customer")])).await;
    assert_eq!(canceled.status, 200, "{}", canceled.text);
    assert_eq!(canceled.json["status"], "canceled");
    assert_eq!(canceled.json["cancellation_reason"], "requested_by_customer");
    assert!(canceled.json["canceled_at"].as_i64().is_some());
    assert!(fake.events().iter().any(|e| e["type"] == "payment_intent.canceled" && e["data"]["object"]["id"] == open));

    // A retry with the same key replays the success; a new attempt finds it canceled.
    let replayed =
        post(&fake, &path, Some("cancel-1"), form(&[("cancellation_reason", "requested_by_customer")])).await;
    assert_eq!((replayed.status, replayed.header("idempotent-replayed")), (200, Some("true")));
    let twice = post(&fake, &path, Some("cancel-2"), String::new()).await;
    assert_eq!(twice.status, 400);
    assert_eq!(twice.error()["code"], "payment_intent_unexpected_state");
    assert_eq!(twice.error()["payment_intent"]["status"], "canceled");

    // The customer cannot pay a canceled intent.
    assert!(fake.confirm(&open, "pm_card_visa", true).await.is_empty());
    assert_eq!(fake.intent(&open).map(|i| i["status"].clone()), Some(json!("canceled")));

    let paid = id_of(&create_intent(&fake, "500", "o-paid").await);
    fake.confirm(&paid, "pm_card_visa", false).await;
    let refused = post(&fake, &format!("/v1/payment_intents/{paid}/cancel"), None, String::new()).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.error()["type"], "invalid_request_error");
    assert_eq!(refused.error()["code"], "payment_intent_unexpected_state");
    let message = refused.error()["message"].as_str().unwrap_or("");
    assert!(
        message.starts_with("You cannot cancel this PaymentIntent because it has a status of succeeded."),
        "{message}"
    );
    assert_eq!(refused.error()["payment_intent"]["id"], paid.as_str());
    assert_eq!(refused.error()["payment_intent"]["status"], "succeeded");

    let unknown = post(&fake, "/v1/payment_intents/pi_nope/cancel", None, String::new()).await;
    assert_eq!((unknown.status, unknown.error()["code"].clone()), (404, json!("resource_missing")));
}

#[tokio::test]
async fn a_refund_needs_a_successful_charge_and_cannot_be_made_twice() {
    let fake = FakeStripe::start(SECRET_KEY, WEBHOOK_SECRET).await;
    let receiver = Receiver::start().await;
    fake.deliver_webhooks_to(&receiver.url);
    let id = id_of(&create_intent(&fake, "500", "o-refund").await);

    let unpaid = post(&fake, "/v1/refunds", None, form(&[("payment_intent", &id)])).await;
    assert_eq!(unpaid.status, 400);
    assert_eq!(unpaid.error()["type"], "invalid_request_error");
    assert_eq!(unpaid.error()["message"], "This PaymentIntent does not have a successful charge to refund.");

    fake.confirm(&id, "pm_card_visa", false).await;
    let charge = fake.intent(&id).and_then(|i| i["latest_charge"].as_str().map(str::to_owned)).expect("a charge");
    let body = form(&[("payment_intent", &id), ("reason", "requested_by_customer"), ("metadata[orderId]", "o-refund")]);
    let refund = post(&fake, "/v1/refunds", Some("refund-1"), body.clone()).await;
    assert_eq!(refund.status, 200, "{}", refund.text);
    assert!(refund.json["id"].as_str().is_some_and(|r| r.starts_with("re_")));
    assert_eq!(refund.json["object"], "refund");
    assert_eq!(refund.json["amount"], 500);
    assert_eq!(refund.json["currency"], "eur");
    assert_eq!(refund.json["payment_intent"], id.as_str());
    assert_eq!(refund.json["charge"], charge.as_str());
    assert_eq!(refund.json["status"], "succeeded");

    let replayed = post(&fake, "/v1/refunds", Some("refund-1"), body).await;
    assert_eq!((replayed.status, replayed.header("idempotent-replayed")), (200, Some("true")));
    assert_eq!(fake.refunds().len(), 1, "a replay refunds nothing more");

    let twice = post(&fake, "/v1/refunds", Some("refund-2"), form(&[("payment_intent", &id)])).await;
    assert_eq!(twice.status, 400);
    assert_eq!(twice.error()["code"], "charge_already_refunded");

    let delivered = fake.delivered("charge.refunded").await;
    assert_eq!(delivered.status, 200);
    let (signature, raw, event) = receiver.of_type("charge.refunded").pop().expect("charge.refunded was received");
    assert!(verify(&signature, &raw, WEBHOOK_SECRET));
    let refunded = &event["data"]["object"];
    assert_eq!(refunded["object"], "charge");
    assert_eq!(refunded["id"], charge.as_str());
    assert_eq!((refunded["amount"].clone(), refunded["amount_refunded"].clone()), (json!(500), json!(500)));
    assert_eq!(refunded["refunded"], true);
    assert_eq!(refunded["payment_intent"], id.as_str());
    assert_eq!(refunded["metadata"]["orderId"], "o-refund");
    assert_eq!(event["request"]["idempotency_key"], "refund-1");
    assert_eq!(fake.delivered("refund.created").await.status, 200);
}

#[tokio::test]
async fn partial_refunds_add_up_to_the_charge() {
    let fake = FakeStripe::start(SECRET_KEY, WEBHOOK_SECRET).await;
    let id = id_of(&create_intent(&fake, "500", "o-partial").await);
    fake.confirm(&id, "pm_card_mastercard", false).await;
    let refund = |amount: &str| form(&[("payment_intent", &id), ("amount", amount)]);
    assert_eq!(post(&fake, "/v1/refunds", None, refund("200")).await.status, 200);
    let too_much = post(&fake, "/v1/refunds", None, refund("400")).await;
    assert_eq!((too_much.status, too_much.error()["param"].clone()), (400, json!("amount")));
    assert_eq!(post(&fake, "/v1/refunds", None, refund("300")).await.json["amount"], 300);
    let charge =
        fake.intent(&id).and_then(|i| i["latest_charge"].as_str().and_then(|c| fake.charge(c))).expect("the charge");
    assert_eq!((charge["amount_refunded"].clone(), charge["refunded"].clone()), (json!(500), json!(true)));
    assert_eq!(post(&fake, "/v1/refunds", None, refund("1")).await.error()["code"], "charge_already_refunded");
}

#[tokio::test]
async fn paying_with_visa_delivers_a_signed_payment_intent_succeeded() {
    let fake = FakeStripe::start(SECRET_KEY, WEBHOOK_SECRET).await;
    let receiver = Receiver::start().await;
    fake.deliver_webhooks_to(&receiver.url);
    let id = id_of(&create_intent(&fake, "450", "o-visa").await);

    let delivered = fake.confirm(&id, "pm_card_visa", true).await;
    let events = fake.events();
    let type_of = |event_id: &str| {
        events.iter().find(|e| e["id"] == event_id).map(|e| e["type"].as_str().unwrap_or("").to_owned())
    };
    let types: Vec<_> = delivered.iter().map(|(event_id, status)| (type_of(event_id), *status)).collect();
    assert_eq!(
        types,
        [(Some("charge.succeeded".to_owned()), 200), (Some("payment_intent.succeeded".to_owned()), 200)],
        "an event the receiver does not use (charge.succeeded) comes too"
    );

    let intent = fake.intent(&id).expect("the intent");
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(intent["amount_received"], 450);
    assert!(intent["latest_charge"].as_str().is_some_and(|c| c.starts_with("ch_")));

    let (signature, raw, event) = receiver.of_type("payment_intent.succeeded").pop().expect("payment_intent.succeeded");
    assert!(verify(&signature, &raw, WEBHOOK_SECRET), "signature {signature}");
    assert!(!verify(&signature, &raw, "whsec_someone_else"), "another secret does not verify");
    let mut tampered = raw.to_vec();
    tampered.extend_from_slice(b" ");
    assert!(!verify(&signature, &tampered, WEBHOOK_SECRET), "another body does not verify");
    let headers = receiver.got.lock().expect("the list")[0].0.clone();
    assert!(
        headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"))
    );

    assert!(event["id"].as_str().is_some_and(|e| e.starts_with("evt_")));
    assert_eq!(event["object"], "event");
    assert_eq!(event["api_version"], VERSION);
    assert_eq!(event["livemode"], false);
    assert_eq!(event["pending_webhooks"], 1);
    assert!(event["created"].as_i64().is_some());
    assert_eq!(event["request"], json!({ "id": null, "idempotency_key": null }));
    assert_eq!(event["data"]["object"]["id"], id.as_str());
    assert_eq!(event["data"]["object"]["status"], "succeeded");
    assert_eq!(event["data"]["object"]["metadata"]["orderId"], "o-visa");

    // A redelivery is signed afresh; the receiver's answer comes back.
    let event_id = event["id"].as_str().unwrap_or("").to_owned();
    receiver.status.store(500, Ordering::SeqCst);
    assert_eq!(fake.redeliver(&event_id).await, 500);
    let again = receiver.of_type("payment_intent.succeeded");
    assert_eq!(again.len(), 2);
    assert!(verify(&again[1].0, &again[1].1, WEBHOOK_SECRET));
    assert_eq!(again[1].2, event, "the same event");
    assert_eq!(fake.sign(1_700_000_000, b"{}").split(',').next(), Some("t=1700000000"));
}

#[tokio::test]
async fn declined_cards_leave_the_intent_awaiting_payment() {
    let fake = FakeStripe::start(SECRET_KEY, WEBHOOK_SECRET).await;
    let receiver = Receiver::start().await;
    fake.deliver_webhooks_to(&receiver.url);
    fake.enable_events(&["payment_intent.succeeded", "payment_intent.payment_failed"]);
    let id = id_of(&create_intent(&fake, "450", "o-declined").await);

    for (method, decline_code, message) in [
        ("pm_card_visa_chargeDeclined", "generic_decline", "Your card was declined."),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds", "Your card has insufficient funds."),
    ] {
        let delivered = fake.confirm(&id, method, true).await;
        assert_eq!(
            delivered.iter().map(|(_, status)| *status).collect::<Vec<_>>(),
            [0, 200],
            "charge.failed not enabled"
        );
        let intent = fake.intent(&id).expect("the intent");
        assert_eq!(intent["status"], "requires_payment_method");
        let error = &intent["last_payment_error"];
        assert_eq!(error["type"], "card_error");
        assert_eq!(error["code"], "card_declined");
        assert_eq!(error["decline_code"], decline_code);
        assert_eq!(error["message"], message);
        let (_, _, event) = receiver.of_type("payment_intent.payment_failed").pop().expect("payment_failed");
        assert_eq!(event["data"]["object"]["last_payment_error"]["decline_code"], decline_code);
    }
    assert!(receiver.of_type("charge.failed").is_empty() && receiver.of_type("payment_intent.created").is_empty());

    fake.confirm(&id, "pm_card_visa", true).await;
    let intent = fake.intent(&id).expect("the intent");
    assert_eq!((intent["status"].clone(), intent["last_payment_error"].clone()), (json!("succeeded"), Value::Null));
    assert!(fake.confirm(&id, "pm_card_visa", true).await.is_empty(), "a succeeded intent cannot be paid again");
}

#[tokio::test]
async fn a_500_then_a_retry_with_the_same_key_creates_one_intent() {
    let fake = FakeStripe::start(SECRET_KEY, WEBHOOK_SECRET).await;
    let body = form(&[("amount", "500"), ("currency", "eur"), ("metadata[orderId]", "o-500")]);
    fake.fail_next(1, Fault::Status(500));
    let failed = post(&fake, "/v1/payment_intents", Some("retry-1"), body.clone()).await;
    assert_eq!(failed.status, 500);
    assert_eq!(failed.error()["type"], "api_error");
    assert!(failed.header("request-id").is_some_and(|id| id.starts_with("req_")));

    let retried = post(&fake, "/v1/payment_intents", Some("retry-1"), body.clone()).await;
    assert_eq!(retried.status, 200, "{}", retried.text);
    assert_eq!(retried.header("idempotent-replayed"), None, "the retry ran for real");
    let replayed = post(&fake, "/v1/payment_intents", Some("retry-1"), body).await;
    assert_eq!((replayed.status, replayed.header("idempotent-replayed")), (200, Some("true")));
    assert_eq!(replayed.json["id"], retried.json["id"]);
    assert_eq!(fake.events().iter().filter(|e| e["type"] == "payment_intent.created").count(), 1, "one intent");
    assert_eq!(fake.requests().len(), 3);

    fake.fail_next(1, Fault::Status(429));
    let limited = post(&fake, "/v1/payment_intents", None, form(&[("amount", "500"), ("currency", "eur")])).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.error()["code"], "rate_limit");

    // A 500 after the endpoint began is saved under the key, as Stripe does.
    fake.fail_next(1, Fault::StatusSaved(500));
    let body = form(&[("amount", "700"), ("currency", "eur")]);
    let failed = post(&fake, "/v1/payment_intents", Some("saved-500"), body.clone()).await;
    assert_eq!(failed.status, 500);
    let replayed = post(&fake, "/v1/payment_intents", Some("saved-500"), body).await;
    assert_eq!((replayed.status, replayed.header("idempotent-replayed")), (500, Some("true")));
}

#[tokio::test]
async fn a_hung_request_is_never_answered_and_others_still_are() {
    let fake = FakeStripe::start(SECRET_KEY, WEBHOOK_SECRET).await;
    fake.fail_next(1, Fault::Hang);
    let url = format!("{}/v1/payment_intents", fake.url());
    let hung = tokio::spawn(
        client()
            .post(url)
            .bearer_auth(SECRET_KEY)
            .timeout(Duration::from_millis(700))
            .body(form(&[("amount", "500"), ("currency", "eur")]))
            .send(),
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while fake.requests().is_empty() {
        assert!(Instant::now() < deadline, "the hung request did not arrive");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    let other = get(&fake, "/v1/payment_intents/pi_x").await;
    assert_eq!(other.status, 404);
    assert!(started.elapsed() < Duration::from_millis(500), "answered while the other hangs");
    let outcome = hung.await.expect("the task ran");
    assert!(outcome.as_ref().is_err_and(reqwest::Error::is_timeout), "the client gave up: {outcome:?}");
    assert!(fake.events().is_empty(), "the hung request did nothing");
}

/// What Stripe.js sends from the customer's browser: no Authorization header, the publishable
/// key and the intent's client secret as parameters.
async fn browser_confirm(fake: &FakeStripe, intent: &Value, pairs: &[(&str, &str)]) -> Answer {
    let id = id_of(intent);
    let request = client()
        .post(format!("{}/v1/payment_intents/{id}/confirm", fake.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "http://127.0.0.1:8080")
        .body(form(pairs));
    answer(request).await
}

#[tokio::test]
async fn the_browser_confirms_with_the_publishable_key_and_the_client_secret() {
    const PUBLISHABLE: &str = "pk_test_51FakeKeyForTheCoffeeShop0000abcd";
    let fake = FakeStripe::start(SECRET_KEY, WEBHOOK_SECRET).await;
    let receiver = Receiver::start().await;
    fake.deliver_webhooks_to(&receiver.url);
    let intent = create_intent(&fake, "450", "o-browser").await;
    let secret = intent["client_secret"].as_str().expect("a client secret").to_owned();
    let paying = |key: &'static str, secret: String, method: &'static str| {
        let intent = intent.clone();
        let fake = fake.clone();
        async move {
            let pairs = [("key", key), ("client_secret", secret.as_str()), ("payment_method", method)];
            browser_confirm(&fake, &intent, &pairs).await
        }
    };

    // Until the fake is given the shop's publishable key, the browser's key is not accepted.
    let refused = paying(PUBLISHABLE, secret.clone(), "pm_card_visa").await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    fake.accept_publishable_key(PUBLISHABLE);
    let wrong_secret = paying(PUBLISHABLE, format!("{}_secret_wrong", id_of(&intent)), "pm_card_visa").await;
    assert_eq!((wrong_secret.status, wrong_secret.error()["param"].clone()), (400, json!("client_secret")));
    let unknown = paying(PUBLISHABLE, secret.clone(), "pm_card_unheard_of").await;
    assert_eq!((unknown.status, unknown.error()["code"].clone()), (400, json!("resource_missing")));

    // A decline: 402, Stripe's words, the intent awaiting another payment method, the event sent.
    let declined = paying(PUBLISHABLE, secret.clone(), "pm_card_visa_chargeDeclined").await;
    assert_eq!(declined.status, 402, "{}", declined.text);
    assert_eq!(declined.header("access-control-allow-origin"), Some("*"), "the browser may read the answer");
    assert_eq!(declined.error()["type"], "card_error");
    assert_eq!(declined.error()["decline_code"], "generic_decline");
    assert_eq!(declined.error()["message"], "Your card was declined.");
    assert_eq!(declined.error()["payment_intent"]["status"], "requires_payment_method");
    let failed = fake.delivered("payment_intent.payment_failed").await;
    assert_eq!(failed.status, 200);

    // Another card: paid, and payment_intent.succeeded is delivered, signed.
    let paid = paying(PUBLISHABLE, secret.clone(), "pm_card_visa").await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    assert_eq!(paid.json["status"], "succeeded");
    assert_eq!(fake.delivered("payment_intent.succeeded").await.status, 200);
    let (signature, raw, _) = receiver.of_type("payment_intent.succeeded").pop().expect("delivered");
    assert!(verify(&signature, &raw, WEBHOOK_SECRET));
    let again = paying(PUBLISHABLE, secret, "pm_card_visa").await;
    assert_eq!((again.status, again.error()["code"].clone()), (400, json!("payment_intent_unexpected_state")));
}

//! `serve --payment-provider stripe` against a Stripe-shaped server (the test kit's fake, written
//! from Stripe's API reference): every saga path, with nothing but Stripe's wire format between
//! them: form-encoded requests, the secret key, idempotency keys, signed webhook events.

use coffee::config::{ProviderKind, ServeConfig};
use coffee_testkit::stripe::{FakeStripe, Fault};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, id};

const SECRET_KEY: &str = "sk_test_51Coffee0000000000000000000000";
const PUBLISHABLE_KEY: &str = "pk_test_51Coffee0000000000000000000000";
const STRIPE_WEBHOOK_SECRET: &str = "whsec_stripe_test_0123456789abcdef";

/// `serve` paying through the Stripe at `api`.
fn paying_through(api: String) -> impl Fn(&mut ServeConfig) + Clone {
    move |c| {
        c.payment.payment_provider = ProviderKind::Stripe;
        c.payment.stripe_secret_key = Some(SECRET_KEY.to_owned());
        c.payment.stripe_publishable_key = Some(PUBLISHABLE_KEY.to_owned());
        c.payment.stripe_webhook_secret = Some(STRIPE_WEBHOOK_SECRET.to_owned());
        c.payment.stripe_api_base = api.clone();
    }
}

/// The fake Stripe, and the whole system paying through it (its webhooks sent to the server).
async fn stripe_shop() -> (FakeStripe, TestApp) {
    let stripe = FakeStripe::start(SECRET_KEY, STRIPE_WEBHOOK_SECRET).await;
    let app = TestApp::spawn_with(paying_through(stripe.url())).await;
    stripe.deliver_webhooks_to(&format!("{}/api/payment/webhook", app.base));
    (stripe, app)
}

/// Places an order and creates its payment: the intent at Stripe, and its client secret.
async fn order_with_intent(app: &TestApp, coffee: &str, customer: &str) -> (String, Value) {
    let order_id = id(&app.place_order(coffee, customer).await, "orderId");
    let payment = app.create_payment(&order_id).await;
    (order_id, payment)
}

/// The customer pays in Stripe's form with one of Stripe's test payment methods; every event
/// Stripe sends about it is accepted.
async fn pay_with(stripe: &FakeStripe, payment: &Value, method: &str) {
    for (event, status) in stripe.confirm(&id(payment, "paymentIntentId"), method, true).await {
        assert_eq!(status, 200, "the webhook endpoint accepts {event}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_order_creates_one_intent_as_stripe_documents_it_and_its_webhook_starts_the_coffee() {
    let (stripe, app) = stripe_shop().await;
    let (order_id, payment) = order_with_intent(&app, "2", "stripe-1").await;
    let intent_id = id(&payment, "paymentIntentId");
    let intent = stripe.intent(&intent_id).expect("the intent is at Stripe");
    assert_eq!(payment["clientSecret"], intent["client_secret"], "the customer gets the intent's client secret");
    let created: Vec<_> = stripe.requests().into_iter().filter(|r| r.path == "/v1/payment_intents").collect();
    assert_eq!(created.len(), 1, "{created:?}");
    let request = &created[0];
    let form = |key: &str| request.form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    assert_eq!(form("amount"), Some("400"));
    assert_eq!(form("currency"), Some("aud"));
    assert_eq!(form("metadata[orderId]"), Some(order_id.as_str()));
    assert_eq!(form("metadata[paymentId]"), payment["paymentId"].as_str());
    assert_eq!(form("automatic_payment_methods[enabled]"), Some("true"));
    assert_eq!(
        request.idempotency_key.as_deref(),
        Some(format!("coffee-intent-{}", id(&payment, "paymentId")).as_str())
    );
    assert_eq!(request.stripe_version.as_deref(), Some(coffee_payment::provider::stripe::STRIPE_VERSION));
    assert!(request.authorized, "the secret key as a Bearer token");

    // Asking again gives the same intent and secret: no second intent.
    let again = app.create_payment(&order_id).await;
    assert_eq!(again["clientSecret"], payment["clientSecret"]);
    assert_eq!(stripe.requests().iter().filter(|r| r.path == "/v1/payment_intents").count(), 1);

    pay_with(&stripe, &payment, "pm_card_visa").await;
    app.order_status(&order_id, "ORDER_IN_PROGRESS").await;
    assert_eq!(app.payment_of(&order_id).await["paymentStatus"], "PAYMENT_SUCCESSFUL");
    app.fulfilment_of(&order_id).await;

    // Stripe delivers an event again (it retries until acknowledged): applied once.
    succeeded_again_changes_nothing(&stripe, &app, &order_id, &payment).await;
    app.stop().await;
}

/// Stripe sends the payment's `payment_intent.succeeded` again: answered 200, and the payment
/// was announced paid once.
async fn succeeded_again_changes_nothing(stripe: &FakeStripe, app: &TestApp, order_id: &str, payment: &Value) {
    succeeded_event_is_accepted(stripe, &id(payment, "paymentIntentId")).await;
    assert_eq!(
        app.event_types("payment", order_id).await,
        ["coffee.payment.pending", "coffee.payment.created", "coffee.payment.succeeded"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_or_no_funds_is_said_in_stripe_s_words_and_another_card_pays() {
    let (stripe, app) = stripe_shop().await;
    let (order_id, payment) = order_with_intent(&app, "1", "stripe-declined").await;
    for (method, words) in [
        ("pm_card_chargeDeclined", "Your card was declined."),
        ("pm_card_chargeDeclinedInsufficientFunds", "Your card has insufficient funds."),
    ] {
        pay_with(&stripe, &payment, method).await;
        let declined = app.payment_of(&order_id).await;
        assert_eq!(declined["paymentStatus"], "PAYMENT_CREATED", "{method}: {declined}");
        assert_eq!(declined["paymentNote"], words, "{method}: {declined}");
        let (_, order) = app.get(&format!("/api/order/{order_id}")).await;
        assert_eq!(order["orderStatus"], "ORDER_CREATED", "{method}: the order stays open: {order}");
    }
    // The same intent, paid with another card (as Stripe lets a customer do after a decline).
    pay_with(&stripe, &payment, "pm_card_visa").await;
    app.order_status(&order_id, "ORDER_IN_PROGRESS").await;
    let paid = app.payment_of(&order_id).await;
    assert_eq!(
        (paid["paymentStatus"].clone(), paid["paymentNote"].clone()),
        (json!("PAYMENT_SUCCESSFUL"), Value::Null)
    );
    assert_eq!(stripe.requests().iter().filter(|r| r.path == "/v1/payment_intents").count(), 1, "one intent");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fifth_declined_card_ends_the_order_and_closes_its_intent_at_stripe() {
    let (stripe, app) = stripe_shop().await;
    let (order_id, payment) = order_with_intent(&app, "1", "stripe-card-tester").await;
    let intent_id = id(&payment, "paymentIntentId");
    for _ in 1..5 {
        pay_with(&stripe, &payment, "pm_card_chargeDeclined").await;
    }
    assert_eq!(app.payment_of(&order_id).await["paymentStatus"], "PAYMENT_CREATED", "four declines: still open");
    pay_with(&stripe, &payment, "pm_card_chargeDeclined").await;
    let failed = app.payment_of(&order_id).await;
    assert_eq!(failed["paymentStatus"], "PAYMENT_FAILED", "{failed}");
    let cancelled = app.order_status(&order_id, "ORDER_CANCELLED").await;
    assert_eq!(cancelled["orderNote"], "payment failed: Too many cards were declined.", "{cancelled}");
    let intent = stripe.intent(&intent_id).expect("the intent");
    assert_eq!(intent["status"], "canceled", "no sixth card can be tried on it: {intent}");
    assert!(stripe.confirm(&intent_id, "pm_card_visa", true).await.is_empty(), "Stripe takes no more cards");
    let mut announced = app.event_types("payment", &order_id).await;
    announced.dedup();
    assert_eq!(
        announced,
        ["coffee.payment.pending", "coffee.payment.created", "coffee.payment.declined", "coffee.payment.failed"]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_coffee_is_refunded_once_through_an_outage_and_stripe_s_refund_events_are_acknowledged() {
    let (stripe, app) = stripe_shop().await;
    let (order_id, payment) = order_with_intent(&app, "3", "stripe-refund").await;
    pay_with(&stripe, &payment, "pm_card_visa").await;
    let fulfilment_id = id(&app.fulfilment_of(&order_id).await, "fulfilmentId");

    // Stripe is down for the first two tries of the refund: it is retried with the same key.
    stripe.fail_next(2, Fault::Status(500));
    let (status, rejected) = app
        .patch(
            &format!("/api/fulfilment/{fulfilment_id}"),
            json!({"status": "FULFILMENT_REJECTED", "note": "no mocha"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rejected}");
    app.eventually(&format!("/api/payment?orderId={order_id}"), "a refund", |v| {
        v[0]["paymentStatus"] == "PAYMENT_REFUNDED"
    })
    .await;
    let intent_id = id(&payment, "paymentIntentId");
    let refunds: Vec<_> = stripe.refunds().into_iter().filter(|r| r["payment_intent"] == intent_id.as_str()).collect();
    assert_eq!(refunds.len(), 1, "one refund: {refunds:?}");
    let tries: Vec<_> = stripe.requests().into_iter().filter(|r| r.path == "/v1/refunds").collect();
    assert!(tries.len() >= 3, "two failures, then the refund: {tries:?}");
    let keys: std::collections::BTreeSet<_> = tries.iter().map(|r| r.idempotency_key.clone()).collect();
    assert_eq!(keys.len(), 1, "every try with the same idempotency key: {keys:?}");
    // Stripe's refund events, each with an object of its own (a charge, a refund), are answered
    // 200 and left alone: an error would have Stripe retry them for days.
    for kind in ["charge.refunded", "refund.created"] {
        let delivery = stripe.delivered(kind).await;
        assert_eq!(delivery.status, 200, "{delivery:?}");
    }
    assert_eq!(
        app.event_types("payment", &order_id).await,
        ["coffee.payment.pending", "coffee.payment.created", "coffee.payment.succeeded", "coffee.payment.refunded"]
    );
    app.stop().await;
}

/// A refund Stripe refuses (a 400, not an outage) is never lost: the message asking for it is
/// tried its attempts, then set aside as a dead letter the admin sees with Stripe's words; the
/// payment stays paid meanwhile, and a redrive once Stripe takes it refunds once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_stripe_refuses_is_a_dead_letter_the_admin_sees_and_redrives() {
    let (stripe, app) = stripe_shop().await;
    let (order_id, payment) = order_with_intent(&app, "3", "stripe-refused").await;
    pay_with(&stripe, &payment, "pm_card_visa").await;
    let fulfilment_id = id(&app.fulfilment_of(&order_id).await, "fulfilmentId");
    // More refusals than the consumer's attempts (5).
    stripe.fail_next(20, Fault::Status(400));
    let reject = json!({"status": "FULFILMENT_REJECTED", "note": "no beans"});
    assert_eq!(app.patch(&format!("/api/fulfilment/{fulfilment_id}"), reject).await.0, StatusCode::OK);
    let letters = app
        .eventually("/api/admin/dead-letters", "the refused refund set aside", |v| {
            v.as_array().is_some_and(|a| a.iter().any(|l| l["consumer"] == "payment-service"))
        })
        .await;
    let letter = letters.as_array().into_iter().flatten().find(|l| l["consumer"] == "payment-service").expect("one");
    assert_eq!(letter["event"]["subject"], order_id.as_str(), "{letter}");
    assert!(letter["lastError"].as_str().is_some_and(|e| e.contains("told to fail")), "Stripe's words: {letter}");
    assert_eq!(app.payment_of(&order_id).await["paymentStatus"], "PAYMENT_SUCCESSFUL", "not refunded, not lost");
    let intent_id = id(&payment, "paymentIntentId");
    let refunded = |stripe: &FakeStripe| {
        stripe.refunds().into_iter().filter(|r| r["payment_intent"] == intent_id.as_str()).count()
    };
    assert_eq!(refunded(&stripe), 0);

    // Stripe takes refunds again: the redriven message refunds, once.
    stripe.recover();
    let (status, redriven) = app.post("/api/admin/dead-letters/redrive", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{redriven}");
    app.eventually(&format!("/api/payment?orderId={order_id}"), "the refund", |v| {
        v[0]["paymentStatus"] == "PAYMENT_REFUNDED"
    })
    .await;
    assert_eq!(refunded(&stripe), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_order_cancelled_by_its_customer_cancels_its_intent_at_stripe() {
    let (stripe, app) = stripe_shop().await;
    let (order_id, payment) = order_with_intent(&app, "2", "stripe-cancel").await;
    let (status, cancelled) =
        app.patch(&format!("/api/order/{order_id}"), json!({"status": "ORDER_CANCELLED", "note": "in a hurry"})).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    let intent_id = id(&payment, "paymentIntentId");
    let mut canceled = Value::Null;
    for _ in 0..500 {
        canceled = stripe.intent(&intent_id).expect("the intent")["status"].clone();
        if canceled == "canceled" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(canceled, "canceled", "the intent is cancelled at Stripe, so it can no longer be paid");
    app.eventually(&format!("/api/payment?orderId={order_id}"), "the payment failed", |v| {
        v[0]["paymentStatus"] == "PAYMENT_FAILED"
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_not_signed_with_stripe_s_secret_is_refused_and_changes_nothing() {
    let (stripe, app) = stripe_shop().await;
    let (order_id, payment) = order_with_intent(&app, "2", "stripe-forged").await;
    let body = crate::helpers::webhook_event("evt_forged", "payment_intent.succeeded", &payment);
    // Signed with the simulated provider's secret, not the endpoint's: refused.
    let forged = coffee_payment::webhook::sign(
        crate::helpers::WEBHOOK_SECRET.as_bytes(),
        jiff::Timestamp::now().as_second(),
        &body,
    );
    let (status, answer) = app.webhook(&body, &forged).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let genuine = stripe.sign(jiff::Timestamp::now().as_second(), &body);
    let (status, answer) = app.webhook(&body, &genuine).await;
    assert_eq!(status, StatusCode::OK, "the same event signed by Stripe: {answer}");
    app.order_status(&order_id, "ORDER_IN_PROGRESS").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_webhook_is_settled_by_looking_the_intent_up_while_running_and_after_a_restart() {
    let stripe = FakeStripe::start(SECRET_KEY, STRIPE_WEBHOOK_SECRET).await;
    let stripe_at = paying_through(stripe.url());
    let configure = move |c: &mut ServeConfig| {
        stripe_at(c);
        c.payment.payment_reconcile_after = std::time::Duration::from_secs(1);
    };
    let app = TestApp::spawn_with(configure.clone()).await;
    stripe.deliver_webhooks_to(&format!("{}/api/payment/webhook", app.base));

    // Paid at Stripe, but the webhook never arrives: a second later the intent is looked up.
    let (order_id, payment) = order_with_intent(&app, "2", "stripe-lost-1").await;
    let sent = stripe.confirm(&id(&payment, "paymentIntentId"), "pm_card_visa", false).await;
    assert!(!sent.is_empty() && sent.iter().all(|(_, status)| *status == 0), "made, never delivered: {sent:?}");
    app.order_status(&order_id, "ORDER_IN_PROGRESS").await;
    assert_eq!(app.payment_of(&order_id).await["paymentStatus"], "PAYMENT_SUCCESSFUL");

    // Paid while the server is down (its webhook lost): settled when it starts again.
    let (later, waiting) = order_with_intent(&app, "1", "stripe-lost-2").await;
    let dir = app.stop().await;
    let sent = stripe.confirm(&id(&waiting, "paymentIntentId"), "pm_card_visa", false).await;
    assert!(sent.iter().all(|(_, status)| *status == 0), "never delivered: {sent:?}");
    let app = TestApp::spawn_in(dir, configure).await;
    app.order_status(&later, "ORDER_IN_PROGRESS").await;
    // The webhook, sent late after all, changes nothing: paid once.
    stripe.deliver_webhooks_to(&format!("{}/api/payment/webhook", app.base));
    succeeded_again_changes_nothing(&stripe, &app, &later, &waiting).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payment_service_on_its_own_takes_money_through_stripe_in_the_distributed_mode() {
    use crate::distributed::{Process, service_args};
    let stripe = FakeStripe::start(SECRET_KEY, STRIPE_WEBHOOK_SECRET).await;
    let (nats, db) = (coffee_testkit::NatsServer::start(), coffee_testkit::TestDatabase::create());
    let logs = tempfile::tempdir().expect("a log dir");
    let start = |service: &str, extra: &[String]| {
        let mut args = service_args(service, &nats.url(), &db.url());
        args.extend(extra.iter().cloned());
        let log = logs.path().join(format!("{service}.log"));
        async move { Process::start(&args.iter().map(String::as_str).collect::<Vec<_>>(), &log).await }
    };
    let stripe_flags: Vec<String> = [
        "--payment-provider",
        "stripe",
        "--stripe-secret-key",
        SECRET_KEY,
        "--stripe-publishable-key",
        PUBLISHABLE_KEY,
        "--stripe-webhook-secret",
        STRIPE_WEBHOOK_SECRET,
        "--stripe-api-base",
        &stripe.url(),
    ]
    .map(str::to_owned)
    .to_vec();
    let order = start("order", &[]).await;
    let payment = start("payment", &stripe_flags).await;
    let fulfilment = start("fulfilment", &[]).await;
    stripe.deliver_webhooks_to(&format!("{}/api/payment/webhook", payment.url));
    // The gateway is not told the provider: it asks the payment service, for the web app's
    // payment step and its pages' policy.
    let gateway_args = crate::distributed::gateway_args(&nats.url(), &db.url(), [&order, &payment, &fulfilment]);
    let gateway_args: Vec<&str> = gateway_args.iter().map(String::as_str).collect();
    let gateway = Process::start(&gateway_args, &logs.path().join("gateway.log")).await;
    let (header, _) = page_policies(&gateway.url).await;
    assert_pages_may_load_stripe(&header);
    let checkout = checkout_over_graphql(&gateway.url).await;
    assert_eq!(checkout, json!({"provider": "stripe", "publishableKey": PUBLISHABLE_KEY}));
    let http = crate::helpers::Http::admin(coffee_testkit::AUTH_KEY);

    let placed = http
        .post(
            &format!("{}/api/order", order.url),
            json!({"coffeeId": "3", "customerId": "stripe-far", "customerName": "Di"}),
        )
        .await
        .expect("placed");
    let order_id = id(&placed, "orderId");
    let created =
        http.post(&format!("{}/api/payment", payment.url), json!({"orderId": order_id})).await.expect("an intent");
    assert!(stripe.intent(&id(&created, "paymentIntentId")).is_some(), "the intent is at Stripe: {created}");
    pay_with(&stripe, &created, "pm_card_visa").await;
    http.until(&format!("{}/api/order/{order_id}", order.url), "the order in progress", |o| {
        o["orderStatus"] == "ORDER_IN_PROGRESS"
    })
    .await;
    http.until(&format!("{}/api/fulfilment?orderId={order_id}", fulfilment.url), "the barista's card", |v| {
        v.as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
}

/// `getCheckout`, asked with no login.
async fn checkout_over_graphql(base: &str) -> Value {
    let answer = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .json(&json!({"query": "{ getCheckout { provider publishableKey } }"}))
        .send()
        .await
        .expect("an answer")
        .json::<Value>()
        .await
        .expect("json");
    answer["data"]["getCheckout"].clone()
}

/// The policy header a page of `base` is served with, and the page's own `<meta>` policy.
pub(crate) async fn page_policies(base: &str) -> (String, String) {
    let page = reqwest::get(format!("{base}/")).await.expect("the home page");
    let header = page.headers()["content-security-policy"].to_str().expect("ascii").to_owned();
    let html = page.text().await.expect("html");
    let meta = html.split("http-equiv=\"content-security-policy\" content=\"").nth(1).expect("a CSP meta");
    (header, meta.split('"').next().unwrap_or_default().to_owned())
}

/// The page policy with Stripe: Stripe.js, its frames and its API may load, and nothing else
/// from elsewhere.
pub(crate) fn assert_pages_may_load_stripe(header: &str) {
    for allowed in [
        "script-src 'self' 'unsafe-inline' https://js.stripe.com https://*.js.stripe.com;",
        "connect-src 'self' https://api.stripe.com;",
        "frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com",
        "frame-ancestors 'none'",
    ] {
        assert!(header.contains(allowed), "{allowed} in {header}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_is_told_to_pay_in_stripe_js_and_its_pages_may_load_stripe_only_with_stripe() {
    let (_stripe, app) = stripe_shop().await;
    let want = json!({"provider": "stripe", "publishableKey": PUBLISHABLE_KEY});
    // Anyone may ask (the key is public by design): no login.
    let rest = reqwest::get(format!("{}/api/payment/checkout", app.base)).await.expect("an answer");
    assert_eq!(rest.status(), StatusCode::OK);
    assert_eq!(rest.json::<Value>().await.expect("json"), want);
    assert_eq!(checkout_over_graphql(&app.base).await, want);
    let (header, meta) = page_policies(&app.base).await;
    assert_pages_may_load_stripe(&header);
    // The page's own policy cannot know the provider: it allows Stripe's hosts, and the header
    // decides.
    assert!(meta.contains("https://js.stripe.com") && meta.contains("'sha256-"), "{meta}");
    app.stop().await;

    let plain = TestApp::spawn().await;
    let (_, checkout) = plain.get("/api/payment/checkout").await;
    assert_eq!(checkout, json!({"provider": "simulated", "publishableKey": null}));
    let (header, _) = page_policies(&plain.base).await;
    assert!(!header.contains("stripe"), "nothing of Stripe's with the simulated provider: {header}");
    assert!(header.contains("frame-src 'none'") && header.contains("connect-src 'self';"), "{header}");
    plain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_order_its_customer_cancels_is_refunded_once_at_stripe() {
    let (stripe, app) = stripe_shop().await;
    let (order_id, payment) = order_with_intent(&app, "2", "stripe-changed-mind").await;
    pay_with(&stripe, &payment, "pm_card_visa").await;
    app.order_status(&order_id, "ORDER_IN_PROGRESS").await;
    // Stripe's `charge.refunded` for our own refund reaches the webhook before Stripe's answer
    // to the refund reaches the step that asked: it must not be taken for the shop's own.
    stripe.send_events_before_answering();
    let (status, cancelled) = app
        .patch(&format!("/api/order/{order_id}"), json!({"status": "ORDER_CANCELLED", "note": "running late"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    let refunded = app
        .eventually(&format!("/api/payment?orderId={order_id}"), "a refund", |v| {
            v[0]["paymentStatus"] == "PAYMENT_REFUNDED"
        })
        .await;
    let intent_id = id(&payment, "paymentIntentId");
    let refunds: Vec<_> = stripe.refunds().into_iter().filter(|r| r["payment_intent"] == intent_id.as_str()).collect();
    assert_eq!(refunds.len(), 1, "one refund: {refunds:?}");
    assert_eq!(refunds[0]["amount"], payment["amount"], "all of it: {refunds:?}");
    let charge = stripe.charge(refunds[0]["charge"].as_str().expect("the refund's charge")).expect("the charge");
    assert_eq!(charge["refunded"], true, "{charge}");
    assert_eq!(
        stripe.requests().iter().find(|r| r.path == "/v1/refunds").and_then(|r| r.idempotency_key.clone()),
        Some(format!("coffee-refund-{intent_id}")),
    );
    assert_eq!(refunded[0]["paymentNote"], "refunded: order cancelled: running late", "{refunded}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_paid_at_stripe_after_its_time_was_up_is_refunded_and_no_coffee_is_made() {
    let stripe = FakeStripe::start(SECRET_KEY, STRIPE_WEBHOOK_SECRET).await;
    let stripe_at = paying_through(stripe.url());
    let app = TestApp::spawn_with(move |c| {
        stripe_at(c);
        c.shop.unpaid_order_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let (order_id, payment) = order_with_intent(&app, "1", "stripe-too-late").await;
    // The card went through at Stripe just before the time was up; its webhook is slow.
    let sent = stripe.confirm(&id(&payment, "paymentIntentId"), "pm_card_visa", false).await;
    assert!(sent.iter().all(|(_, status)| *status == 0), "not delivered yet: {sent:?}");
    let expired = app.order_status(&order_id, "ORDER_CANCELLED").await;
    assert_eq!(expired["orderNote"], "Not paid in time", "{expired}");
    // Too late to cancel the intent at Stripe (it succeeded): the payment waits for the webhook.
    let intent_id = id(&payment, "paymentIntentId");
    let cancel = stripe.requests().into_iter().find(|r| r.path == format!("/v1/payment_intents/{intent_id}/cancel"));
    assert!(cancel.is_some(), "the payment service tried to cancel the intent");
    // The webhook arrives: the money goes straight back, once, and nothing is made. The refund's
    // own event reaches the webhook before Stripe answers the refund: it changes nothing.
    stripe.deliver_webhooks_to(&format!("{}/api/payment/webhook", app.base));
    stripe.send_events_before_answering();
    succeeded_event_is_accepted(&stripe, &intent_id).await;
    app.eventually(&format!("/api/payment?orderId={order_id}"), "a refund", |v| {
        v[0]["paymentStatus"] == "PAYMENT_REFUNDED"
    })
    .await;
    app.assert_refunded_before_anything_was_made(&order_id).await;
    assert_eq!(stripe.refunds().iter().filter(|r| r["payment_intent"] == intent_id.as_str()).count(), 1);
    // Stripe sends it again: refunded once all the same.
    succeeded_event_is_accepted(&stripe, &intent_id).await;
    assert_eq!(stripe.refunds().iter().filter(|r| r["payment_intent"] == intent_id.as_str()).count(), 1);
    app.stop().await;
}

/// Delivers (again) the `payment_intent.succeeded` Stripe made for `intent_id`: answered 200.
async fn succeeded_event_is_accepted(stripe: &FakeStripe, intent_id: &str) {
    let succeeded = stripe
        .events()
        .into_iter()
        .filter(|e| e["type"] == "payment_intent.succeeded")
        .find(|e| e["data"]["object"]["id"] == intent_id)
        .expect("the event Stripe made");
    assert_eq!(stripe.redeliver(succeeded["id"].as_str().expect("an id")).await, 200);
}

/// A call to Stripe's API made with the account's key by someone other than this system (the
/// shop's dashboard, another till): answered 200, with the object made.
async fn call_stripe_as_the_account(stripe: &FakeStripe, path: &str, form: String) -> Value {
    let answer = reqwest::Client::new()
        .post(format!("{}{path}", stripe.url()))
        .bearer_auth(SECRET_KEY)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("Stripe answers");
    assert_eq!(answer.status(), StatusCode::OK);
    answer.json().await.expect("Stripe's object")
}

/// A refund made at Stripe by the shop itself (its dashboard calls Stripe's API with the
/// account's key), not by this system.
async fn refund_at_stripe(stripe: &FakeStripe, intent_id: &str, amount: Option<u32>) {
    let mut form = format!("payment_intent={intent_id}");
    form.extend(amount.map(|a| format!("&amount={a}")));
    call_stripe_as_the_account(stripe, "/v1/refunds", form).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_made_in_stripe_s_dashboard_is_recorded_and_stops_the_coffee_and_a_partial_one_changes_nothing() {
    let (stripe, app) = stripe_shop().await;
    let (order_id, payment) = order_with_intent(&app, "2", "stripe-dashboard").await;
    let intent_id = id(&payment, "paymentIntentId");
    pay_with(&stripe, &payment, "pm_card_visa").await;
    app.fulfilment_of(&order_id).await;

    // Part of it back (a goodwill gesture): the payment stays paid, the coffee is made.
    refund_at_stripe(&stripe, &intent_id, Some(100)).await;
    assert_eq!(stripe.delivered("charge.refunded").await.status, 200);
    assert_eq!(app.payment_of(&order_id).await["paymentStatus"], "PAYMENT_SUCCESSFUL");

    // The rest: the payment is refunded, and the barista's card and the order close.
    refund_at_stripe(&stripe, &intent_id, None).await;
    let refunded = app
        .eventually(&format!("/api/payment?orderId={order_id}"), "the refund recorded", |v| {
            v[0]["paymentStatus"] == "PAYMENT_REFUNDED"
        })
        .await;
    assert_eq!(refunded[0]["paymentNote"], "refunded at Stripe", "{refunded}");
    app.eventually(&format!("/api/fulfilment?orderId={order_id}"), "the coffee stopped", |v| {
        v[0]["fulfilmentStatus"] == "FULFILMENT_REJECTED"
    })
    .await;
    app.order_status(&order_id, "ORDER_CANCELLED").await;
    // Stripe sends it again; nothing more happens, and this system refunded nothing itself.
    let events: Vec<_> = stripe.events().into_iter().filter(|e| e["type"] == "charge.refunded").collect();
    let last = events.last().and_then(|e| e["id"].as_str()).expect("the full refund's event").to_owned();
    assert_eq!(stripe.redeliver(&last).await, 200);
    assert_eq!(
        app.event_types("payment", &order_id).await,
        ["coffee.payment.pending", "coffee.payment.created", "coffee.payment.succeeded", "coffee.payment.refunded"]
    );
    let ours = stripe.requests().into_iter().filter(|r| r.path == "/v1/refunds" && r.idempotency_key.is_some()).count();
    assert_eq!(ours, 0, "the order's cancellation found the payment refunded already");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_s_events_out_of_order_and_twice_leave_the_money_given_back_and_nothing_made() {
    let stripe = FakeStripe::start(SECRET_KEY, STRIPE_WEBHOOK_SECRET).await;
    let app = TestApp::spawn_with(paying_through(stripe.url())).await;
    let (order_id, payment) = order_with_intent(&app, "1", "stripe-reordered").await;
    let intent_id = id(&payment, "paymentIntentId");
    // Paid, then given back in Stripe's dashboard, while Stripe's events wait to be sent.
    stripe.confirm(&intent_id, "pm_card_visa", false).await;
    refund_at_stripe(&stripe, &intent_id, None).await;
    let event_of = |kind: &str| {
        let found = stripe.events().into_iter().find(|e| e["type"] == kind).expect("the event Stripe made");
        found["id"].as_str().expect("an id").to_owned()
    };
    let (succeeded, refunded) = (event_of("payment_intent.succeeded"), event_of("charge.refunded"));
    // They arrive the wrong way round, and one twice.
    stripe.deliver_webhooks_to(&format!("{}/api/payment/webhook", app.base));
    for event in [&refunded, &succeeded, &refunded, &succeeded] {
        assert_eq!(stripe.redeliver(event).await, 200, "{event}");
    }
    let payment = app.payment_of(&order_id).await;
    assert_eq!(payment["paymentStatus"], "PAYMENT_REFUNDED", "{payment}");
    assert_eq!(payment["paymentNote"], "refunded at Stripe", "{payment}");
    assert_eq!(
        app.event_types("payment", &order_id).await,
        ["coffee.payment.pending", "coffee.payment.created", "coffee.payment.refunded"],
        "never announced as paid, so no coffee is started"
    );
    let (_, made) = app.get(&format!("/api/fulfilment?orderId={order_id}")).await;
    assert_eq!(made, json!([]), "nothing for the barista");
    // The customer's order does not wait for a payment that was given back.
    let cancelled = app.order_status(&order_id, "ORDER_CANCELLED").await;
    assert_eq!(cancelled["orderNote"], "payment refunded: refunded at Stripe", "{cancelled}");
    assert!(
        stripe.requests().iter().all(|r| r.path != "/v1/refunds" || r.idempotency_key.is_none()),
        "no refund of ours"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_s_events_about_an_intent_this_system_did_not_make_are_acknowledged_and_change_nothing() {
    let (stripe, app) = stripe_shop().await;
    let (order_id, payment) = order_with_intent(&app, "1", "stripe-neighbour").await;
    // Someone else on the same Stripe account (another till, a payment link) takes money.
    let form = "amount=900&currency=aud&automatic_payment_methods[enabled]=true".to_owned();
    let theirs = id(&call_stripe_as_the_account(&stripe, "/v1/payment_intents", form).await, "id");
    // Its events are answered 200 (anything else, and Stripe sends them again for days)...
    pay_with(&stripe, &json!({ "paymentIntentId": theirs }), "pm_card_visa").await;
    refund_at_stripe(&stripe, &theirs, None).await;
    assert_eq!(stripe.delivered("charge.refunded").await.status, 200);
    // ...and this system's own order is untouched by them.
    let ours = app.payment_of(&order_id).await;
    assert_eq!(ours["paymentStatus"], "PAYMENT_CREATED", "{ours}");
    assert_eq!(ours["paymentIntentId"], payment["paymentIntentId"], "{ours}");
    assert_eq!(app.event_types("payment", &order_id).await, ["coffee.payment.pending", "coffee.payment.created"]);
    app.stop().await;
}

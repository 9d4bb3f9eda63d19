//! Running a shop: the rules a real coffee shop adds to the original's saga (issue 9), each
//! tested through the API as clients use it.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::distributed::{Process, Running, service_args};
use crate::helpers::{GOOD_CARD, TestApp, WEBHOOK_SECRET, id, webhook_event};

/// The order numbers of `orders`, by the day each was placed on: each day must count 1, 2, 3…
/// with none given twice, however the placements raced. A run across UTC midnight starts a
/// second day at 1, so the check is per day rather than over the whole run.
fn numbers_by_day(orders: &[Value]) -> BTreeMap<String, Vec<u64>> {
    let mut days: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for order in orders {
        let number = order["orderNumber"].as_u64().unwrap_or_else(|| panic!("an order without a number: {order}"));
        days.entry(order["date"].as_str().expect("date").to_owned()).or_default().push(number);
    }
    for numbers in days.values_mut() {
        numbers.sort_unstable();
    }
    days
}

fn assert_counted_from_one(days: &BTreeMap<String, Vec<u64>>) {
    for (day, numbers) in days {
        let expected: Vec<u64> = (1..=numbers.len() as u64).collect();
        assert_eq!(numbers, &expected, "the numbers of {day}: each once, from 1, none skipped");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_orders_at_once_get_the_numbers_one_to_two_hundred_and_the_barista_calls_them() {
    let app = TestApp::spawn().await;
    let placing = (0..200).map(|n| {
        let (http, base) = (app.http.clone(), app.base.clone());
        tokio::spawn(async move {
            let body = json!({"coffeeId": "2", "customerId": format!("num-{n}"), "customerName": "Nia Num"});
            let answer = http.post(format!("{base}/api/order")).json(&body).send().await.expect("placed");
            assert_eq!(answer.status(), StatusCode::CREATED);
            answer.json::<Value>().await.expect("json")
        })
    });
    let mut orders = Vec::new();
    for placed in placing {
        orders.push(placed.await.expect("joined"));
    }
    let days = numbers_by_day(&orders);
    assert_counted_from_one(&days);

    // The number is the order's for good, and goes with it to its payment, the barista's card
    // and the pickup board.
    let order = &orders[17];
    let order_id = order["orderId"].as_str().expect("id");
    let (_, stored) = app.get(&format!("/api/order/{order_id}")).await;
    assert_eq!(stored["orderNumber"], order["orderNumber"]);
    app.pay(order_id, GOOD_CARD).await;
    assert_eq!(app.payment_of(order_id).await["orderNumber"], order["orderNumber"]);
    let card = app.fulfilment_of(order_id).await;
    assert_eq!(card["orderNumber"], order["orderNumber"], "the barista's card: {card}");
    let (_, board) = app.get("/api/order/board").await;
    let number = order["orderNumber"].to_string();
    assert!(
        board.as_array().expect("board").iter().any(|p| p["number"] == number.as_str()),
        "the board calls {number}: {board}"
    );
    let query = format!(
        r#"{{ getOrder(orderId: "{order_id}") {{ orderNumber }} getFulfilmentList {{ orderId orderNumber }} }}"#
    );
    let (_, answer) = app.post("/graphql", json!({ "query": query })).await;
    assert_eq!(answer["data"]["getOrder"]["orderNumber"], order["orderNumber"], "{answer}");
    let cards = answer["data"]["getFulfilmentList"].as_array().expect("cards");
    let card = cards.iter().find(|c| c["orderId"] == order_id).expect("the card over GraphQL");
    assert_eq!(card["orderNumber"], order["orderNumber"], "{answer}");

    // A restart goes on from where the day stood, never giving a number again.
    let dir = app.stop().await;
    let app = TestApp::spawn_in(dir, |_| {}).await;
    let next = app.place_order("1", "num-after").await;
    let today = next["date"].as_str().expect("date");
    let before = days.get(today).map_or(0, Vec::len) as u64;
    assert_eq!(next["orderNumber"], before + 1, "after the restart: {next}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_order_replicas_never_give_a_number_twice_and_share_the_shop_s_settings() {
    let Running { nats, db, cluster, http } = Running::start().await;
    let logs = tempfile::tempdir().expect("temp dir");
    let mut args = service_args("order", &nats.url(), &db.url());
    args.extend(["--max-unpaid-orders", "0", "--slow-order-after", "45s"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let second = Process::start(&args, &logs.path().join("order-2.log")).await;
    let replicas = [cluster.order.url.clone(), second.url.clone()];
    let placing = (0..120).map(|n| {
        let (http, url) = (http.clone(), replicas[n % 2].clone());
        tokio::spawn(async move {
            let body = json!({"coffeeId": "3", "customerId": format!("rep-{n}"), "customerName": "Rae"});
            http.post(&format!("{url}/api/order"), body).await.expect("placed")
        })
    });
    let mut orders = Vec::new();
    for placed in placing {
        orders.push(placed.await.expect("joined"));
    }
    assert_counted_from_one(&numbers_by_day(&orders));

    // The shop's settings are one row both replicas read: closed at one, closed at the other,
    // and through the gateway's GraphQL.
    let closed = http
        .call(
            reqwest::Method::PUT,
            &format!("{}/api/shop", replicas[1]),
            Some(json!({"open": false, "message": "Gone fishing"})),
        )
        .await
        .expect("closed");
    assert_eq!(closed["queueLength"], 120, "{closed}");
    assert_eq!(closed["slowOrderAfterSeconds"], 45, "the replica's own flag: {closed}");
    let body = json!({"coffeeId": "1", "customerId": "rep-late", "customerName": "Lee"});
    let refused = http.post(&format!("{}/api/order", replicas[0]), body).await.expect_err("closed");
    assert!(refused.contains("SHOP_CLOSED") && refused.contains("Gone fishing"), "{refused}");
    let query = r#"mutation { createOrder(coffeeId: "1", customerId: "rep-gql", customerName: "Gil") { id } }"#;
    let answer =
        http.post(&format!("{}/graphql", cluster.gateway.url), json!({ "query": query })).await.expect("graphql");
    assert_eq!(answer["errors"][0]["extensions"]["code"], "SHOP_CLOSED", "{answer}");
    let shop = http
        .post(&format!("{}/graphql", cluster.gateway.url), json!({"query": "{ getShop { open message } }"}))
        .await
        .expect("graphql");
    assert_eq!(shop["data"]["getShop"], json!({"open": false, "message": "Gone fishing"}));
    drop((second, cluster));
}

/// The shop as anyone sees it, with no session.
async fn anonymous_shop(app: &TestApp) -> Value {
    let answer = reqwest::Client::new().get(format!("{}/api/shop", app.base)).send().await.expect("answered");
    assert_eq!(answer.status(), StatusCode::OK);
    answer.json().await.expect("json")
}

async fn set_shop(app: &TestApp, body: Value) -> (StatusCode, Value) {
    app.send(reqwest::Method::PUT, "/api/shop", Some(body)).await
}

/// A customer of their own session places an order: the status and the answer.
async fn customer_orders(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let answer = coffee_testkit::client_with(token)
        .post(format!("{}/api/order", app.base))
        .json(&json!({"coffeeId": "1"}))
        .send()
        .await
        .expect("answered");
    let status = answer.status();
    (status, answer.json().await.expect("json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_shop_refuses_orders_with_its_message_and_a_full_one_until_an_order_leaves() {
    let app = TestApp::spawn_with(|c| c.shop.max_unpaid_orders = 0).await;
    let shop = anonymous_shop(&app).await;
    assert_eq!(
        shop,
        json!({"open": true, "capacity": null, "queueLength": 0, "estimatedWaitSeconds": null, "message": null,
            "slowOrderAfterSeconds": 600, "pickupBoardSeconds": 900, "unpaidOrderTimeoutSeconds": 600}),
        "a shop never set is open, with no limit, and the defaults of the shop's flags"
    );

    let (status, closed) = set_shop(&app, json!({"open": false, "message": "Back at 7am"})).await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!((closed["open"].clone(), closed["message"].clone()), (json!(false), json!("Back at 7am")));
    let session = crate::helpers::customer_session(&app.base, "Cleo").await;
    let token = session["token"].as_str().expect("token");
    let (status, refused) = customer_orders(&app, token).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "SHOP_CLOSED", "{refused}");
    assert!(refused["error"]["message"].as_str().is_some_and(|m| m.contains("Back at 7am")), "{refused}");
    let customer = session["customerId"].as_str().expect("id");
    let (_, theirs) = app.get(&format!("/api/order?customerId={customer}")).await;
    assert_eq!(theirs, json!([]), "a refused order leaves nothing behind");

    // Open with room for two: the third waits until one of the two is no longer open.
    let (status, _) = set_shop(&app, json!({"open": true, "capacity": 2})).await;
    assert_eq!(status, StatusCode::OK);
    let first = app.place_order("2", "cap-1").await;
    app.place_order("2", "cap-2").await;
    let (status, full) =
        app.post("/api/order", json!({"coffeeId": "2", "customerId": "cap-3", "customerName": "Cy"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{full}");
    assert_eq!(full["error"]["code"], "SHOP_AT_CAPACITY", "{full}");
    let shop = anonymous_shop(&app).await;
    assert_eq!((shop["queueLength"].clone(), shop["capacity"].clone()), (json!(2), json!(2)), "{shop}");
    let first_id = first["orderId"].as_str().expect("id");
    let (status, _) = app.patch(&format!("/api/order/{first_id}"), json!({"status": "ORDER_CANCELLED"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, placed) = customer_orders(&app, token).await;
    assert_eq!(status, StatusCode::CREATED, "room again after a cancellation: {placed}");

    // The settings are a record like any other: they survive a restart.
    set_shop(&app, json!({"open": false})).await;
    let dir = app.stop().await;
    let app = TestApp::spawn_in(dir, |_| {}).await;
    let (_, shop) = app.get("/api/shop").await;
    assert_eq!(
        (shop["open"].clone(), shop["capacity"].clone(), shop["message"].clone()),
        (json!(false), json!(null), json!(null))
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_shop_settings_are_refused_naming_the_field_and_change_nothing() {
    let app = TestApp::spawn().await;
    for (body, field) in [
        (json!({"open": true, "capacity": 0}), "capacity"),
        (json!({"open": true, "capacity": -3}), "capacity"),
        (json!({"open": true, "capacity": 10_001}), "capacity"),
        (json!({"open": true, "message": "x".repeat(201)}), "message"),
        (json!({"open": "yes"}), "open"),
        (json!({"capacity": 3}), "open"),
        (json!({"open": true, "opening": "7am"}), "opening"),
    ] {
        let (status, answer) = set_shop(&app, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "BAD_USER_INPUT", "{body}: {answer}");
        assert!(
            answer["error"]["message"].as_str().is_some_and(|m| m.contains(field)),
            "{body} names {field}: {answer}"
        );
    }
    let (_, shop) = app.get("/api/shop").await;
    assert_eq!((shop["open"].clone(), shop["capacity"].clone()), (json!(true), json!(null)), "unchanged: {shop}");
    let (status, answer) =
        app.post("/graphql", json!({"query": "mutation { setShop(open: true, capacity: 0) { open } }"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{answer}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shop_over_graphql_closes_live_and_estimates_the_wait_from_drinks_made() {
    let app = TestApp::spawn().await;
    let mut watcher = crate::graphql::Subscriber::connect(&app)
        .await
        .subscribe("subscription { shopUpdated { open queueLength estimatedWaitSeconds message } }", json!({}))
        .await;
    let first = watcher.next("shopUpdated").await;
    assert_eq!((first["open"].clone(), first["queueLength"].clone()), (json!(true), json!(0)), "the state now, first");

    // A drink is ordered, paid for and made: the queue moves and the wait is known.
    let order = app.place_order("2", "wait-1").await;
    let order_id = order["orderId"].as_str().expect("id");
    app.pay(order_id, GOOD_CARD).await;
    let card = app.fulfilment_of(order_id).await;
    let card_id = card["fulfilmentId"].as_str().expect("id");
    let (status, _) = app.patch(&format!("/api/fulfilment/{card_id}"), json!({"status": "FULFILMENT_COMPLETED"})).await;
    assert_eq!(status, StatusCode::OK);
    app.order_status(order_id, "ORDER_COMPLETED").await;
    let mut seen = watcher.next("shopUpdated").await;
    while seen["estimatedWaitSeconds"].is_null() {
        seen = watcher.next("shopUpdated").await;
    }
    assert_eq!(seen["queueLength"], 0, "{seen}");
    assert!(seen["estimatedWaitSeconds"].as_u64().is_some(), "one drink made: a wait: {seen}");

    let (_, closed) = app
        .post(
            "/graphql",
            json!({"query": r#"mutation { setShop(open: false, message: "Closed for cleaning") { open message } }"#}),
        )
        .await;
    assert_eq!(closed["data"]["setShop"], json!({"open": false, "message": "Closed for cleaning"}), "{closed}");
    let live = watcher.next("shopUpdated").await;
    assert_eq!((live["open"].clone(), live["message"].clone()), (json!(false), json!("Closed for cleaning")), "{live}");
    let (_, got) = app.post("/graphql", json!({"query": "{ getShop { open message } }"})).await;
    assert_eq!(got["data"]["getShop"], json!({"open": false, "message": "Closed for cleaning"}));
    let (_, refused) = app
        .post("/graphql", json!({"query": r#"mutation { createOrder(coffeeId: "1", customerId: "g1", customerName: "Gus") { id } }"#}))
        .await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "SHOP_CLOSED", "{refused}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_oat_latte_costs_what_the_menu_says_from_the_order_to_the_barista_s_card() {
    let app = TestApp::spawn().await;
    let (_, menu) = app.get("/api/coffees").await;
    let latte = menu.as_array().expect("menu").iter().find(|c| c["name"] == "Latte").expect("a latte").clone();
    let delta = |option: &str, value: &str| {
        latte["options"][option].as_array().expect("choices").iter().find(|c| c["value"] == value).expect("offered")
            ["priceDelta"]
            .as_i64()
            .expect("a delta")
    };
    let expected = latte["price"].as_i64().expect("price")
        + delta("size", "large")
        + delta("milk", "oat")
        + latte["options"]["extraShot"].as_i64().expect("a shot's price");
    assert_eq!(expected, 400 + 70 + 60 + 50, "the menu's figures: {latte}");

    // The client's own price, anywhere in the body, is ignored.
    let body = json!({"coffeeId": "2", "customerId": "opt-1", "customerName": "Oda", "price": 1,
        "options": {"size": "large", "milk": "oat", "extraShots": 1}});
    let (status, order) = app.post("/api/order", body).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["price"], expected, "{order}");
    assert_eq!(order["options"], json!({"size": "large", "milk": "oat", "extraShots": 1}));
    let order_id = order["orderId"].as_str().expect("id");
    let payment = app.create_payment(order_id).await;
    assert_eq!(payment["amount"], expected, "the payment is for the drink with its options: {payment}");
    let (_, paid) = app
        .post(
            &format!("/api/payment/{}/confirm", payment["paymentId"].as_str().expect("id")),
            json!({"cardNumber": GOOD_CARD}),
        )
        .await;
    assert_eq!(paid["paymentStatus"], "PAYMENT_SUCCESSFUL", "{paid}");
    let card = app.fulfilment_of(order_id).await;
    assert_eq!(card["options"], order["options"], "the barista's card says how to make it: {card}");

    // Left out: the drink as it comes, at the menu's price.
    let plain = app.place_order("2", "opt-2").await;
    assert_eq!((plain["price"].clone(), plain["options"]["size"].clone()), (json!(400), json!("regular")));

    // Over GraphQL, the same rules.
    let q = r#"mutation { createOrder(coffeeId: "1", customerId: "opt-3", customerName: "Ozzy", options: {size: "small", extraShots: 2}) { price options { size milk extraShots } } }"#;
    let (_, answer) = app.post("/graphql", json!({ "query": q })).await;
    assert_eq!(
        answer["data"]["createOrder"],
        json!({"price": 370 - 50 + 2 * 50, "options": {"size": "small", "milk": "full", "extraShots": 2}}),
        "{answer}"
    );
    let q = r#"mutation { createOrder(coffeeId: "1", customerId: "opt-4", customerName: "Ozzy", options: {milk: "almond"}) { id } }"#;
    let (_, answer) = app.post("/graphql", json!({ "query": q })).await;
    assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{answer}");
    assert!(answer["errors"][0]["message"].as_str().is_some_and(|m| m.contains("options.milk")), "{answer}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_option_is_refused_naming_it_and_nothing_is_ordered() {
    let app = TestApp::spawn().await;
    for (options, field) in [
        (json!({"size": "venti"}), "options.size"),
        (json!({"milk": "almond"}), "options.milk"),
        (json!({"extraShots": 4}), "options.extraShots"),
        (json!({"extraShots": -1}), "options.extraShots"),
        (json!({"sugar": 2}), "options"),
        (json!(["large"]), "options"),
    ] {
        let body = json!({"coffeeId": "3", "customerId": "bad-opt", "customerName": "Bo", "options": options});
        let (status, answer) = app.post("/api/order", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{options}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(field), "{options} names {field}: {answer}");
    }
    let (_, theirs) = app.get("/api/order?customerId=bad-opt").await;
    assert_eq!(theirs, json!([]), "nothing was ordered");
    app.stop().await;
}

/// A client signed in as the member of staff `name` with `role`.
fn staff_client(app: &TestApp, name: &str, role: &str) -> reqwest::Client {
    coffee_testkit::client_with(&coffee_testkit::token(&app.key, name, role))
}

async fn claim_as(client: &reqwest::Client, app: &TestApp, id: &str, method: reqwest::Method) -> (StatusCode, Value) {
    let answer =
        client.request(method, format!("{}/api/fulfilment/{id}/claim", app.base)).send().await.expect("answered");
    let status = answer.status();
    (status, answer.json().await.expect("json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_barista_claims_a_coffee_the_others_see_it_taken_and_it_is_released_then_made() {
    let app = TestApp::spawn().await;
    let order = app.place_order("2", "claim-1").await;
    let order_id = order["orderId"].as_str().expect("id");
    app.pay(order_id, GOOD_CARD).await;
    let card = app.fulfilment_of(order_id).await;
    let id = card["fulfilmentId"].as_str().expect("id");
    let (sam, kim) = (staff_client(&app, "sam", "barista"), staff_client(&app, "kim", "barista"));

    let (status, taken) = claim_as(&sam, &app, id, reqwest::Method::PUT).await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert_eq!(taken["baristaName"], "sam");
    assert!(taken["claimedAt"].as_i64().is_some(), "{taken}");
    assert_eq!(taken["fulfilmentStatus"], "FULFILMENT_CREATED", "claiming is not a status of its own");
    let (status, again) = claim_as(&sam, &app, id, reqwest::Method::PUT).await;
    assert_eq!((status, again["claimedAt"].clone()), (StatusCode::OK, taken["claimedAt"].clone()), "the same claim");
    let (status, refused) = claim_as(&kim, &app, id, reqwest::Method::PUT).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(refused["error"]["message"].as_str().is_some_and(|m| m.contains("sam")), "says who: {refused}");
    let (status, _) = claim_as(&kim, &app, id, reqwest::Method::DELETE).await;
    assert_eq!(status, StatusCode::CONFLICT, "not kim's to release");
    let (_, queue) = app.get(&format!("/api/fulfilment?orderId={order_id}")).await;
    assert_eq!(queue[0]["baristaName"], "sam", "everyone sees it taken: {queue}");

    let (status, freed) = claim_as(&sam, &app, id, reqwest::Method::DELETE).await;
    assert_eq!(status, StatusCode::OK, "{freed}");
    assert!(freed.get("baristaName").is_none(), "{freed}");
    let (status, mine) = claim_as(&kim, &app, id, reqwest::Method::PUT).await;
    assert_eq!((status, mine["baristaName"].clone()), (StatusCode::OK, json!("kim")));
    let done = kim
        .patch(format!("{}/api/fulfilment/{id}", app.base))
        .json(&json!({"status": "FULFILMENT_COMPLETED"}))
        .send()
        .await
        .expect("completes");
    assert_eq!(done.status(), StatusCode::OK);
    app.order_status(order_id, "ORDER_COMPLETED").await;
    let (status, _) = claim_as(&sam, &app, id, reqwest::Method::PUT).await;
    assert_eq!(status, StatusCode::CONFLICT, "a made coffee is not claimed");

    // Each step was announced, once, in order; the order service's saga did not notice.
    let steps = app.event_types("fulfilment", order_id).await;
    assert_eq!(
        steps,
        [
            "coffee.fulfilment.created",
            "coffee.fulfilment.claimed",
            "coffee.fulfilment.released",
            "coffee.fulfilment.claimed",
            "coffee.fulfilment.completed"
        ]
    );
    assert_eq!(app.event_types("order", order_id).await.len(), 3, "created, started, completed");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_sells_a_drink_out_adds_and_removes_drinks_and_open_menus_hear_of_it() {
    let app = TestApp::spawn().await;
    let mut watcher = crate::graphql::Subscriber::connect(&app)
        .await
        .subscribe("subscription { menuUpdated { id name price available } }", json!({}))
        .await;

    let (status, mocha) = app.patch("/api/coffees/3", json!({"available": false})).await;
    assert_eq!(status, StatusCode::OK, "{mocha}");
    assert_eq!((mocha["name"].clone(), mocha["available"].clone()), (json!("Mocha"), json!(false)));
    let live = watcher.next("menuUpdated").await;
    let live_mocha = live.as_array().expect("menu").iter().find(|c| c["id"] == "3").expect("still listed").clone();
    assert_eq!(live_mocha["available"], false, "open menus hear of it: {live}");
    let (status, refused) =
        app.post("/api/order", json!({"coffeeId": "3", "customerId": "menu-1", "customerName": "Mo"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "SOLD_OUT");
    assert!(refused["error"]["message"].as_str().is_some_and(|m| m.contains("Mocha")), "{refused}");
    app.patch("/api/coffees/3", json!({"available": true})).await;
    app.place_order("3", "menu-1").await;

    // A new drink, at its own price, orderable at once; then taken off.
    let (status, added) = app.post("/api/coffees", json!({"name": "Flat white", "price": 420})).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let id = added["id"].as_str().expect("id").to_owned();
    let order = app.place_order(&id, "menu-2").await;
    assert_eq!((order["price"].clone(), order["coffee"]["name"].clone()), (json!(420), json!("Flat white")));
    let (status, left) = app.send(reqwest::Method::DELETE, &format!("/api/coffees/{id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{left}");
    assert!(left.as_array().expect("menu").iter().all(|c| c["id"] != id.as_str()), "{left}");
    let (status, gone) =
        app.post("/api/order", json!({"coffeeId": id, "customerId": "menu-3", "customerName": "Mo"})).await;
    assert_eq!((status, gone["error"]["code"].clone()), (StatusCode::CONFLICT, json!("SOLD_OUT")), "{gone}");

    // Bad changes name the field and change nothing; an unknown drink is 404.
    for (body, field) in [
        (json!({"price": 0}), "price"),
        (json!({"price": -5}), "price"),
        (json!({"name": ""}), "name"),
        (json!({"colour": "brown"}), "colour"),
    ] {
        let (status, answer) = app.patch("/api/coffees/2", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains(field)), "{body}: {answer}");
    }
    let (status, _) = app.patch("/api/coffees/99", json!({"available": false})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, menu) = app.get("/api/coffees").await;
    assert_eq!(menu.as_array().expect("menu").len(), 3, "the original three: {menu}");

    // The menu is a record like any other: it survives a restart.
    app.patch("/api/coffees/1", json!({"available": false, "price": 390})).await;
    let dir = app.stop().await;
    let app = TestApp::spawn_in(dir, |_| {}).await;
    let (_, menu) = app.get("/api/coffees").await;
    let cappuccino = &menu[0];
    assert_eq!((cappuccino["available"].clone(), cappuccino["price"].clone()), (json!(false), json!(390)), "{menu}");
    app.stop().await;
}

/// Waits until `deadline`: a test that must be past a due time.
async fn until(deadline: std::time::Instant) {
    tokio::time::sleep(deadline.saturating_duration_since(std::time::Instant::now())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_order_is_cancelled_when_its_time_is_up_even_with_the_server_down_then_and_a_paid_one_is_not() {
    let timeout = std::time::Duration::from_secs(2);
    let app = TestApp::spawn_with(|c| c.shop.unpaid_order_timeout = timeout).await;
    let unpaid = id(&app.place_order("1", "expiry-a").await, "orderId");
    let due = std::time::Instant::now() + timeout;
    let paid = id(&app.place_order("2", "expiry-b").await, "orderId");
    app.pay(&paid, GOOD_CARD).await;
    app.order_status(&paid, "ORDER_IN_PROGRESS").await;
    let (_, shop) = app.get("/api/shop").await;
    assert_eq!(shop["unpaidOrderTimeoutSeconds"], 2, "{shop}");
    let (_, order) = app.get(&format!("/api/order/{unpaid}")).await;
    assert_eq!(order["orderStatus"], "ORDER_CREATED", "not before its time: {order}");

    // Down when the payment falls due: the timer waits in the data file.
    let dir = app.stop().await;
    until(due + std::time::Duration::from_millis(500)).await;
    let app = TestApp::spawn_in(dir, |c| c.shop.unpaid_order_timeout = timeout).await;
    let expired = app.order_status(&unpaid, "ORDER_CANCELLED").await;
    assert_eq!(expired["orderNote"], "Not paid in time", "{expired}");
    let payment = app
        .eventually(&format!("/api/payment?orderId={unpaid}"), "the payment failed", |v| {
            v[0]["paymentStatus"] == "PAYMENT_FAILED"
        })
        .await;
    assert_eq!(payment[0]["orderId"], unpaid.as_str());
    assert_eq!(
        app.event_types("order", &unpaid).await,
        ["coffee.order.created", "coffee.order.payment_due", "coffee.order.cancelled"]
    );
    // The paid order's timer went with its payment: nothing fell due, nothing changed.
    until(due + std::time::Duration::from_secs(1)).await;
    let (_, order) = app.get(&format!("/api/order/{paid}")).await;
    assert_eq!(order["orderStatus"], "ORDER_IN_PROGRESS", "{order}");
    assert_eq!(app.event_types("order", &paid).await, ["coffee.order.created", "coffee.order.started"]);
    app.stop().await;
}

/// The simulated provider captures `order_id`'s card as a provider would whose webhook is slow to
/// arrive: its side says captured, and the payment service has not heard. (The provider is the
/// one fake here; this changes only its record, in the data file, beside the running server.)
fn captured_at_the_provider(app: &TestApp, order_id: &str, event_id: &str) {
    let db = rusqlite::Connection::open(app.dir.path().join(coffee::backend::DATABASE_FILE)).expect("the data file");
    db.busy_timeout(std::time::Duration::from_secs(5)).expect("busy timeout");
    let captured = db
        .execute(
            "UPDATE simulated_payment_intents SET status = 'succeeded', version = version + 1,
             body = json_set(body, '$.status', 'succeeded', '$.captureEventId', ?2) WHERE order_id = ?1",
            rusqlite::params![order_id, event_id],
        )
        .expect("captured");
    assert_eq!(captured, 1, "one intent for the order");
}

#[tokio::test]
async fn a_payment_that_completes_after_its_order_expired_is_refunded_and_no_coffee_is_made() {
    use coffee_payment::webhook::sign;
    let app = TestApp::spawn_with(|c| c.shop.unpaid_order_timeout = std::time::Duration::from_secs(1)).await;
    let order_id = id(&app.place_order("1", "expiry-late").await, "orderId");
    let payment = app.create_payment(&order_id).await;
    // The customer's card went through just before the time was up; the news has not arrived.
    captured_at_the_provider(&app, &order_id, "evt_captured_late");
    let expired = app.order_status(&order_id, "ORDER_CANCELLED").await;
    assert_eq!(expired["orderNote"], "Not paid in time", "{expired}");
    let (_, pending) = app.get(&format!("/api/payment?orderId={order_id}")).await;
    assert_eq!(pending[0]["paymentStatus"], "PAYMENT_CREATED", "the capture is not known yet: {pending}");
    // The capture's webhook arrives: the money goes straight back, and nothing is made.
    let body = webhook_event("evt_captured_late", "payment_intent.succeeded", &payment);
    let now = jiff::Timestamp::now().as_second();
    let (status, ack) = app.webhook(&body, &sign(WEBHOOK_SECRET.as_bytes(), now, &body)).await;
    assert_eq!(status, StatusCode::OK, "{ack}");
    app.assert_refunded_before_anything_was_made(&order_id).await;
    let (_, order) = app.get(&format!("/api/order/{order_id}")).await;
    assert_eq!(order["orderStatus"], "ORDER_CANCELLED");

    // An unpaid order whose intent was never captured: paying after expiry is refused.
    let other = id(&app.place_order("1", "expiry-late-2").await, "orderId");
    let intent = app.create_payment(&other).await;
    app.order_status(&other, "ORDER_CANCELLED").await;
    app.eventually(&format!("/api/payment?orderId={other}"), "the intent cancelled", |v| {
        v[0]["paymentStatus"] == "PAYMENT_FAILED"
    })
    .await;
    let payment_id = intent["paymentId"].as_str().expect("payment id");
    let (status, refused) =
        app.post(&format!("/api/payment/{payment_id}/confirm"), json!({"cardNumber": GOOD_CARD})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_replica_that_dies_leaves_its_timers_to_the_other_which_cancels_the_unpaid_order_once() {
    let Running { nats, db, cluster, http } = Running::start().await;
    let logs = tempfile::tempdir().expect("temp dir");
    let mut args = service_args("order", &nats.url(), &db.url());
    args.extend(["--unpaid-order-timeout", "2s"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut short = Process::start(&args, &logs.path().join("order-2.log")).await;
    let body = json!({"coffeeId": "1", "customerId": "expiry-dist", "customerName": "Dee"});
    let order = http.post(&format!("{}/api/order", short.url), body).await.expect("placed");
    let order_id = order["orderId"].as_str().expect("id").to_owned();
    // The replica that scheduled the timer is gone; the first replica (10 minutes to pay for its
    // own orders) fires it from the shared database.
    short.kill().await;
    let url = format!("{}/api/order/{order_id}", cluster.order.url);
    let expired = http.until(&url, "the order expired", |o| o["orderStatus"] == "ORDER_CANCELLED").await;
    assert_eq!(expired["orderNote"], "Not paid in time", "{expired}");
    let payment_url = format!("{}/api/payment?orderId={order_id}", cluster.payment.url);
    http.until(&payment_url, "the payment failed", |v| v[0]["paymentStatus"] == "PAYMENT_FAILED").await;
    let events = http.get(&format!("{}/api/order/events?orderId={order_id}", cluster.order.url)).await.expect("events");
    let types: Vec<&str> = events.as_array().expect("a list").iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, ["coffee.order.created", "coffee.order.payment_due", "coffee.order.cancelled"]);
    drop(cluster);
}

/// Pays for `order_id` and has the barista finish it with `status`.
async fn paid_and(app: &TestApp, order_id: &str, status: &str, note: Option<&str>) {
    app.pay(order_id, GOOD_CARD).await;
    let fulfilment = app.fulfilment_of(order_id).await;
    let path = format!("/api/fulfilment/{}", fulfilment["fulfilmentId"].as_str().expect("id"));
    let (code, done) = app.patch(&path, json!({"status": status, "note": note})).await;
    assert_eq!(code, StatusCode::OK, "{done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_day_s_figures_add_up_a_known_day_of_orders_over_rest_and_graphql() {
    let app = TestApp::spawn_with(|c| c.shop.max_unpaid_orders = 0).await;
    let place = |coffee: &'static str, customer: &'static str, options: Value| {
        let app = &app;
        async move {
            let body = json!({"coffeeId": coffee, "customerId": customer, "customerName": "Fig", "options": options});
            let (status, order) = app.post("/api/order", body).await;
            assert_eq!(status, StatusCode::CREATED, "{order}");
            order
        }
    };
    let large_oat = place("2", "fig-1", json!({"size": "large", "milk": "oat"})).await;
    let latte = place("2", "fig-2", json!({})).await;
    let cappuccino = place("1", "fig-3", json!({})).await;
    let cancelled = place("1", "fig-4", json!({})).await;
    let rejected = place("3", "fig-5", json!({})).await;
    let _unpaid = place("3", "fig-6", json!({})).await;
    for order in [&large_oat, &latte, &cappuccino] {
        paid_and(&app, &id(order, "orderId"), "FULFILMENT_COMPLETED", None).await;
    }
    paid_and(&app, &id(&rejected, "orderId"), "FULFILMENT_REJECTED", Some("out of chocolate")).await;
    let (status, _) =
        app.patch(&format!("/api/order/{}", id(&cancelled, "orderId")), json!({"status": "ORDER_CANCELLED"})).await;
    assert_eq!(status, StatusCode::OK);
    for order in [&large_oat, &latte, &cappuccino] {
        app.order_status(&id(order, "orderId"), "ORDER_COMPLETED").await;
    }
    app.order_status(&id(&rejected, "orderId"), "ORDER_CANCELLED").await;

    let date = large_oat["date"].as_str().expect("date").to_owned();
    let (status, figures) = app.get(&format!("/api/shop/figures?date={date}")).await;
    assert_eq!(status, StatusCode::OK, "{figures}");
    let price = |o: &Value| o["price"].as_i64().expect("a price");
    assert_ne!(price(&large_oat), price(&latte), "the options cost more");
    assert_eq!(figures["orders"], 6, "{figures}");
    assert_eq!(
        (figures["completed"].clone(), figures["cancelled"].clone(), figures["unpaid"].clone()),
        (json!(3), json!(2), json!(1))
    );
    assert_eq!(figures["revenue"], price(&large_oat) + price(&latte) + price(&cappuccino), "{figures}");
    assert_eq!(figures["refunded"], price(&rejected), "the rejected drink was paid and given back");
    assert_eq!(
        figures["cancellations"],
        json!({"byCustomer": 1, "notPaidInTime": 0, "paymentFailed": 0, "rejectedByBarista": 1, "other": 0})
    );
    let latte_line =
        figures["byDrink"].as_array().expect("lines").iter().find(|d| d["coffeeId"] == "2").expect("latte");
    assert_eq!(
        (latte_line["orders"].clone(), latte_line["completed"].clone(), latte_line["revenue"].clone()),
        (json!(2), json!(2), json!(price(&large_oat) + price(&latte)))
    );
    let per_hour: i64 = figures["ordersPerHour"].as_array().expect("24 hours").iter().filter_map(Value::as_i64).sum();
    assert_eq!((figures["ordersPerHour"].as_array().map(Vec::len), per_hour), (Some(24), 6));
    assert!(figures["medianReadySeconds"].as_u64().is_some() && figures["complete"] == true, "{figures}");

    // GraphQL answers the same figures: one operation behind both.
    let query = "query($d: String!) { getDayFigures(date: $d) { orders revenue refunded cancelled cancellations { byCustomer rejectedByBarista } ordersPerHour } }";
    let (status, answer) = app.post("/graphql", json!({"query": query, "variables": {"d": date}})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let gql = &answer["data"]["getDayFigures"];
    for field in ["orders", "revenue", "refunded", "cancelled", "ordersPerHour"] {
        assert_eq!(gql[field], figures[field], "{field}: {answer}");
    }
    // Another day holds none of them; a date that is not one is refused, naming it.
    let (_, other) = app.get("/api/shop/figures?date=2020-01-01").await;
    assert_eq!((other["orders"].clone(), other["revenue"].clone()), (json!(0), json!(0)));
    let (status, bad) = app.get("/api/shop/figures?date=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert!(bad["error"]["message"].as_str().is_some_and(|m| m.contains("date")), "{bad}");
    app.stop().await;
}

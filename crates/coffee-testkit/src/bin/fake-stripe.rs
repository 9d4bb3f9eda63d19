//! `fake-stripe`: the test kit's fake Stripe ([`coffee_testkit::stripe::FakeStripe`]) as a
//! process of its own, for the browser tests, which drive a real `coffee serve
//! --payment-provider stripe` from Playwright.
//!
//! ```text
//! fake-stripe --secret-key sk_test_... --publishable-key pk_test_... --webhook-secret whsec_... \
//!             --webhook-url http://127.0.0.1:PORT/api/payment/webhook
//! ```
//!
//! Prints `fake stripe listening on http://127.0.0.1:PORT` once it answers, then serves until it
//! is stopped (SIGTERM, SIGINT) or its standard input closes, so it never outlives the test run
//! that started it.

use std::io::Read;
use std::process::ExitCode;

use coffee_testkit::stripe::FakeStripe;

const USAGE: &str = "usage: fake-stripe --secret-key SK --publishable-key PK --webhook-secret WHSEC --webhook-url URL";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let (Some(secret), Some(publishable), Some(webhook_secret), Some(webhook_url)) =
        (value("--secret-key"), value("--publishable-key"), value("--webhook-secret"), value("--webhook-url"))
    else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if !webhook_url.starts_with("http://") {
        eprintln!("fake-stripe: --webhook-url must be an http:// URL, not {webhook_url}");
        return ExitCode::from(2);
    }
    let fake = FakeStripe::start(&secret, &webhook_secret).await;
    fake.accept_publishable_key(&publishable);
    fake.deliver_webhooks_to(&webhook_url);
    println!("fake stripe listening on {}", fake.url());
    let stdin_closed = tokio::task::spawn_blocking(|| {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin();
        while stdin.read(&mut sink).is_ok_and(|n| n > 0) {}
    });
    let terminated = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = stdin_closed => {}
        _ = terminated => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    // Not a return: the runtime would wait for the thread still reading standard input.
    std::process::exit(0)
}

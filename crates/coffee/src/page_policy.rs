//! The content security policy a process that serves the web app sends in its header, which
//! depends on who takes the card.
//!
//! A page obeys every policy it is given, each one narrowing the others. The pages' own `<meta>`
//! policy (written by SvelteKit, see `frontend/svelte.config.js`) allows the app's files, its
//! hashed bootstrap script, and Stripe's hosts, since the build cannot know the provider. The
//! header narrows it: with the simulated provider nothing of Stripe's may load; with Stripe,
//! Stripe.js, its frames and its API may, as Stripe's security guide lists them. Both allow
//! inline scripts in their own way: the header with `'unsafe-inline'`, the meta only with the
//! hashes, so together only the hashed bootstrap runs.
//!
//! The gateway of the distributed mode does not know the provider: the payment service says
//! (`GET /api/payment/checkout`). [`follow`] asks at start and then every half minute, so a
//! payment service restarted with another provider is followed.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::http::{HeaderValue, header};
use coffee_payment::PaymentClient;
use coffee_payment::model::Checkout;
use tokio_util::sync::CancellationToken;

/// What every answer's policy says, web app or not: no page of ours in a frame, no plugins, no
/// `<base>` elsewhere, forms post only here.
macro_rules! base {
    () => {
        "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'"
    };
}
pub const BASE: &str = base!();

/// The pages' header policy when the app's own card form takes the card: nothing from elsewhere.
const SIMULATED: &str = concat!(base!(), "; script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-src 'none'");

/// With Stripe: Stripe.js and its frames from Stripe's hosts, and calls to its API.
const STRIPE: &str = concat!(
    base!(),
    "; script-src 'self' 'unsafe-inline' https://js.stripe.com https://*.js.stripe.com",
    "; connect-src 'self' https://api.stripe.com",
    "; frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com"
);

/// How often the gateway asks the payment service again, and how soon after a failed ask.
const REFRESH: Duration = Duration::from_secs(30);
const RETRY: Duration = Duration::from_secs(2);
/// How long a start waits for the first answer before it serves pages with the strict policy.
const FIRST_ANSWER: Duration = Duration::from_secs(2);
/// How long a later ask may take: a payment service that accepts the connection and never
/// answers must not stop the policy being followed, nor the process stopping.
const ASK: Duration = Duration::from_secs(5);

/// The policy pages get now; shared by the layer that sends it and the task that follows it.
#[derive(Clone)]
pub struct PagePolicy(Arc<RwLock<HeaderValue>>);

impl PagePolicy {
    /// Until the provider is known: nothing of Stripe's loads.
    pub fn strict() -> Self {
        Self(Arc::new(RwLock::new(HeaderValue::from_static(SIMULATED))))
    }

    pub fn current(&self) -> HeaderValue {
        self.0.read().map_or_else(|poisoned| poisoned.into_inner().clone(), |v| v.clone())
    }

    fn set(&self, checkout: &Checkout) {
        let value = HeaderValue::from_static(if checkout.uses_stripe_js() { STRIPE } else { SIMULATED });
        match self.0.write() {
            Ok(mut v) => *v = value,
            Err(poisoned) => *poisoned.into_inner() = value,
        }
    }
}

/// Asks the payment service how customers pay, waiting up to [`FIRST_ANSWER`] for the first
/// answer; the returned future goes on asking until `shutdown`.
pub async fn follow(
    policy: PagePolicy,
    payments: Arc<dyn PaymentClient>,
    shutdown: CancellationToken,
) -> impl Future<Output = ()> + Send + 'static {
    let ask = {
        let (policy, payments) = (policy.clone(), payments.clone());
        move || {
            let (policy, payments) = (policy.clone(), payments.clone());
            async move {
                match payments.checkout(&coffee_service::Context::internal()).await {
                    Ok(checkout) => {
                        policy.set(&checkout);
                        true
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot ask the payment service how customers pay; pages keep their policy");
                        false
                    }
                }
            }
        }
    };
    let mut known = tokio::time::timeout(FIRST_ANSWER, ask()).await.unwrap_or(false);
    async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(if known { REFRESH } else { RETRY }) => {}
            }
            known = tokio::select! {
                _ = shutdown.cancelled() => return,
                answered = tokio::time::timeout(ASK, ask()) => answered.unwrap_or_else(|_| {
                    tracing::warn!("the payment service did not say in time how customers pay; pages keep their policy");
                    false
                }),
            };
        }
    }
}

/// Sends the current policy on every answer that has none of its own.
pub async fn apply(
    axum::extract::State(policy): axum::extract::State<PagePolicy>,
    mut response: axum::response::Response,
) -> axum::response::Response {
    response.headers_mut().entry(header::CONTENT_SECURITY_POLICY).or_insert_with(|| policy.current());
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffee_payment::HttpPaymentClient;

    /// A payment service that takes the connection and never answers: the start goes on with the
    /// strict policy, and a stop is not held up by an ask that hangs.
    #[tokio::test]
    async fn a_payment_service_that_never_answers_holds_up_neither_the_start_nor_the_stop() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        let payments: Arc<dyn PaymentClient> = Arc::new(HttpPaymentClient::new(&base, reqwest::Client::new()));
        let (policy, shutdown) = (PagePolicy::strict(), CancellationToken::new());
        let started = tokio::time::Instant::now();
        let following = follow(policy.clone(), payments, shutdown.clone()).await;
        assert!(started.elapsed() < FIRST_ANSWER + Duration::from_secs(1), "the start waited {:?}", started.elapsed());
        assert_eq!(policy.current(), SIMULATED);
        let following = tokio::spawn(following);
        // Past the retry, into an ask that will never be answered.
        tokio::time::sleep(RETRY + Duration::from_millis(500)).await;
        shutdown.cancel();
        let stopped = tokio::time::timeout(Duration::from_secs(1), following).await;
        assert!(stopped.is_ok(), "the policy's task did not stop while its ask hung");
        held.abort();
    }
}

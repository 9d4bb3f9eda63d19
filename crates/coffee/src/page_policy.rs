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
            known = ask().await;
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

//! The payment provider's webhook: the events it sends and their signatures.
//!
//! The scheme is Stripe's: the `Stripe-Signature` header holds `t=<unix seconds>` and one
//! or more `v1=<hex>` values, each an HMAC-SHA256, keyed with the endpoint's secret, of
//! `"<t>.<raw body>"`. A signature is accepted when one `v1` matches and `t` is within the
//! tolerance of now, which stops replays of old deliveries.

use coffee_domain::PaymentId;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "Stripe-Signature";

/// How far a signature's timestamp may be from now, as Stripe's libraries default to.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing {SIGNATURE_HEADER} header")]
    Missing,
    #[error("malformed {SIGNATURE_HEADER} header: expected t=<timestamp>,v1=<signature>")]
    Malformed,
    #[error("signature timestamp is {0} s away from now; tolerance is {TOLERANCE_SECS} s")]
    Stale(i64),
    #[error("signature does not match the payload")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; new_from_slice cannot fail for it.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value a provider sends with `body` at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(tag))
}

/// Checks a delivery's signature header against its raw body.
pub fn verify(secret: &[u8], header: Option<&str>, body: &[u8], now_secs: i64) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            Some(("v1", sig)) => candidates.push(hex::decode(sig).map_err(|_| SignatureError::Malformed)?),
            Some(_) => {} // other schemes (v0) are ignored, as Stripe's libraries do
            None => return Err(SignatureError::Malformed),
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    // Checked: a timestamp near i64::MIN must not overflow the subtraction.
    let skew = now_secs.checked_sub(timestamp).map_or(i64::MAX, i64::saturating_abs);
    if skew > TOLERANCE_SECS {
        return Err(SignatureError::Stale(skew));
    }
    let expected = mac(secret, timestamp, body);
    // verify_slice compares in constant time.
    if candidates.iter().any(|c| expected.clone().verify_slice(c).is_ok()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// A webhook event, in the subset of Stripe's shape this service reads.
/// What every event has, whatever its object: read first, to know whether to read on.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EventHead {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created: i64,
    pub data: WebhookData,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookData {
    pub object: PaymentIntentObject,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentIntentObject {
    pub id: String,
    pub amount: u32,
    pub currency: String,
    pub status: String,
    pub metadata: IntentMetadata,
    #[serde(default)]
    pub last_payment_error: Option<PaymentError>,
}

/// What this service put in an intent's metadata. An intent made by anyone else on the same
/// account (another shop, the account's own checkout) has neither key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntentMetadata {
    #[serde(default)]
    pub payment_id: Option<String>,
    #[serde(default)]
    pub order_id: Option<String>,
}

impl IntentMetadata {
    /// The payment the intent was made for, when this service made it.
    pub fn payment(&self) -> Option<PaymentId> {
        self.payment_id.as_deref().and_then(|id| PaymentId::parse(id).ok())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub decline_code: Option<String>,
    pub message: String,
}

pub const INTENT_SUCCEEDED: &str = "payment_intent.succeeded";
pub const INTENT_FAILED: &str = "payment_intent.payment_failed";
/// A charge was refunded, in part or in full, by this service or by anyone else at the
/// provider (Stripe's dashboard, its API).
pub const CHARGE_REFUNDED: &str = "charge.refunded";

/// The idempotency key of this service's refund of an intent. Stripe names the key of the
/// request that caused an event in the event's `request`, so a refund's events say whether
/// this service asked for it.
pub fn refund_key(intent_id: &str) -> String {
    format!("{REFUND_KEY_PREFIX}{intent_id}")
}

const REFUND_KEY_PREFIX: &str = "coffee-refund-";

/// `charge.refunded`: the event, with its charge.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChargeEvent {
    pub id: String,
    pub data: ChargeData,
    /// The API request that caused the event: none for one Stripe made on its own.
    #[serde(default)]
    pub request: Option<EventRequest>,
}

impl ChargeEvent {
    /// Whether the refund was this service's own (see [`refund_key`]).
    pub fn refunded_by_this_service(&self) -> bool {
        let key = self.request.as_ref().and_then(|r| r.idempotency_key.as_deref());
        key.is_some_and(|k| k.starts_with(REFUND_KEY_PREFIX))
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EventRequest {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChargeData {
    pub object: ChargeObject,
}

/// The subset of Stripe's Charge this service reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChargeObject {
    pub id: String,
    /// The intent the charge paid; none for a charge made without one.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// Whether all of it was given back (a partial refund leaves it false).
    pub refunded: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";

    #[test]
    fn a_signature_made_with_the_secret_verifies() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(SECRET, 1_000, body);
        assert_eq!(verify(SECRET, Some(&header), body, 1_100), Ok(()));
    }

    #[test]
    fn a_tampered_body_a_wrong_secret_or_a_stale_timestamp_is_refused() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(SECRET, 1_000, body);
        assert_eq!(verify(SECRET, Some(&header), br#"{"id":"evt_2"}"#, 1_000), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"other", Some(&header), body, 1_000), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, Some(&header), body, 1_000 + 301), Err(SignatureError::Stale(301)));
        assert_eq!(verify(SECRET, None, body, 1_000), Err(SignatureError::Missing));
        assert_eq!(verify(SECRET, Some("v1=abc"), body, 1_000), Err(SignatureError::Malformed));
        assert_eq!(verify(SECRET, Some("t=1000,v1=zz"), body, 1_000), Err(SignatureError::Malformed));
    }

    #[test]
    fn the_tolerance_is_five_minutes_either_way_inclusive() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(SECRET, 1_000, body);
        assert_eq!(verify(SECRET, Some(&header), body, 1_000 + TOLERANCE_SECS), Ok(()));
        assert_eq!(
            verify(SECRET, Some(&header), body, 1_000 - TOLERANCE_SECS),
            Ok(()),
            "a clock behind the provider's"
        );
        assert_eq!(verify(SECRET, Some(&header), body, 1_000 - 301), Err(SignatureError::Stale(301)));
    }

    #[test]
    fn any_of_several_v1_signatures_may_match() {
        let body = b"{}";
        let good = sign(SECRET, 5, body);
        let v1 = good.split("v1=").nth(1).expect("v1");
        let header = format!("t=5,v1={},v1={v1}", "00".repeat(32));
        assert_eq!(verify(SECRET, Some(&header), body, 5), Ok(()));
    }
}

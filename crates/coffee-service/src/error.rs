//! The one error of every service operation.

use coffee_bus::StoreError;
use coffee_domain::{IllegalTransition, InvalidInput};

/// Why a service operation did not happen. Each variant has a stable code
/// ([`ServiceError::code`]) that every surface shows as it is; the HTTP surface also maps each to
/// a status (see `coffee-http`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// `NOT_FOUND` (404): no such order, payment or fulfilment.
    #[error("{0}")]
    NotFound(String),
    /// `BAD_USER_INPUT` (400): the request is malformed or a value is invalid. Nothing changed.
    #[error("{0}")]
    BadInput(String),
    /// `UNSUPPORTED_MEDIA_TYPE` (415): the body is not declared as JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// `PAYLOAD_TOO_LARGE` (413): the request body is over the limit; it was not read.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// `UNAUTHENTICATED` (401): the operation needs a signed-in caller, and this one is not (or
    /// their credential was refused: expired, revoked, forged).
    #[error("{0}")]
    Unauthenticated(String),
    /// `FORBIDDEN` (403): the caller is signed in but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// `TOO_MANY_REQUESTS` (429): the caller must wait `retry_after_secs` before trying again
    /// (failed logins, rate limits).
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_secs: u64 },
    /// `IDEMPOTENCY_KEY_REUSED` (422): an `Idempotency-Key` sent again with another request.
    #[error("{0}")]
    IdempotencyKeyReused(String),
    /// 409 with the rule's own code: a rule of the shop refuses the order for now (see
    /// [`ShopRule`]).
    #[error("{1}")]
    Refused(ShopRule, String),
    /// `CONFLICT` (409): the change is not allowed in the entity's current state (an illegal
    /// step of its state machine); the message names the current status.
    #[error("{0}")]
    Conflict(String),
    /// `UNAVAILABLE` (503): the service is shutting down, a dependency is unreachable, or the
    /// record changes too often right now; retrying later may work.
    #[error("{0}")]
    Unavailable(String),
    /// `INTERNAL_SERVER_ERROR` (500): a bug or a broken database. The detail is logged; the
    /// client gets a generic message.
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::NotFound(_) => "NOT_FOUND",
            ServiceError::BadInput(_) => "BAD_USER_INPUT",
            ServiceError::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            ServiceError::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            ServiceError::Unauthenticated(_) => "UNAUTHENTICATED",
            ServiceError::Forbidden(_) => "FORBIDDEN",
            ServiceError::TooManyRequests { .. } => "TOO_MANY_REQUESTS",
            ServiceError::IdempotencyKeyReused(_) => "IDEMPOTENCY_KEY_REUSED",
            ServiceError::Refused(rule, _) => rule.code(),
            ServiceError::Conflict(_) => "CONFLICT",
            ServiceError::Unavailable(_) => "UNAVAILABLE",
            ServiceError::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The message a client may see.
    pub fn public_message(&self) -> String {
        match self {
            ServiceError::Internal(_) => "internal error; it has been logged".to_owned(),
            other => other.to_string(),
        }
    }

    pub fn not_found(entity: &str, id: &str) -> Self {
        ServiceError::NotFound(format!("no {entity} with id '{id}'"))
    }

    /// Rebuilds an error from a code and message received from another process.
    pub fn from_code(code: &str, message: String) -> Self {
        if let Some(rule) = ShopRule::ALL.into_iter().find(|r| r.code() == code) {
            return ServiceError::Refused(rule, message);
        }
        match code {
            "NOT_FOUND" => ServiceError::NotFound(message),
            "BAD_USER_INPUT" => ServiceError::BadInput(message),
            "UNSUPPORTED_MEDIA_TYPE" => ServiceError::UnsupportedMediaType(message),
            "PAYLOAD_TOO_LARGE" => ServiceError::PayloadTooLarge(message),
            "IDEMPOTENCY_KEY_REUSED" => ServiceError::IdempotencyKeyReused(message),
            "UNAUTHENTICATED" => ServiceError::Unauthenticated(message),
            "FORBIDDEN" => ServiceError::Forbidden(message),
            "TOO_MANY_REQUESTS" => ServiceError::TooManyRequests { message, retry_after_secs: 1 },
            "CONFLICT" => ServiceError::Conflict(message),
            "UNAVAILABLE" => ServiceError::Unavailable(message),
            _ => ServiceError::Internal(message),
        }
    }
}

/// A rule of the shop that refuses an order for now, each a 409 with its own stable code so that
/// a client can say what to do: pay for an order first, come back when the shop opens or the
/// queue is shorter, pick another drink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShopRule {
    /// `TOO_MANY_OPEN_ORDERS`: the customer has as many unpaid orders as they may; paying or
    /// cancelling one makes room.
    TooManyOpenOrders,
    /// `SHOP_CLOSED`: the shop is closed; the message is the shop's.
    ShopClosed,
    /// `SHOP_AT_CAPACITY`: as many orders are open as the shop takes at once.
    ShopAtCapacity,
    /// `SOLD_OUT`: the drink is sold out for now, or was taken off the menu.
    SoldOut,
}

impl ShopRule {
    pub const ALL: [ShopRule; 4] =
        [ShopRule::TooManyOpenOrders, ShopRule::ShopClosed, ShopRule::ShopAtCapacity, ShopRule::SoldOut];

    pub fn code(self) -> &'static str {
        match self {
            ShopRule::TooManyOpenOrders => "TOO_MANY_OPEN_ORDERS",
            ShopRule::ShopClosed => "SHOP_CLOSED",
            ShopRule::ShopAtCapacity => "SHOP_AT_CAPACITY",
            ShopRule::SoldOut => "SOLD_OUT",
        }
    }
}

impl From<InvalidInput> for ServiceError {
    fn from(e: InvalidInput) -> Self {
        ServiceError::BadInput(e.to_string())
    }
}

impl From<IllegalTransition> for ServiceError {
    fn from(e: IllegalTransition) -> Self {
        ServiceError::Conflict(e.to_string())
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            // Only reaches a caller once the operation's own retries are used up.
            StoreError::Conflict => {
                ServiceError::Unavailable("the record is changing too often right now; try again".to_owned())
            }
            StoreError::Closed => ServiceError::Unavailable("the service is shutting down".to_owned()),
            StoreError::Unavailable(why) => {
                // The detail (hosts, driver messages) is for the logs, not for clients.
                tracing::warn!(reason = %why, "the database is unavailable");
                ServiceError::Unavailable("the database is unavailable right now; try again shortly".to_owned())
            }
            other @ (StoreError::Database(_) | StoreError::Corrupt(_)) => ServiceError::Internal(other.to_string()),
        }
    }
}

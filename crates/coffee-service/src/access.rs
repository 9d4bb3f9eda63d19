//! Who may do what. Every operation asks its context before it acts, so the rule holds on every
//! surface that calls it (the REST API, the gateway in-process, a service called directly over
//! HTTP in the distributed mode).
//!
//! | operation | anonymous | customer (own) | customer (another's) | barista | admin |
//! |---|---|---|---|---|---|
//! | place, pay, confirm, cancel an order ([`Context::act_for`]) | 401 | ✓ | 404 | 403 | ✓ |
//! | read an order, its payment, fulfilment, timeline ([`Context::read_of`]) | 401 | ✓ | 404 | ✓ | ✓ |
//! | lists by date, the queue, every change ([`Context::staff`]) | 401 | 403 | 403 | ✓ | ✓ |
//! | complete or reject a fulfilment ([`Context::staff`]) | 401 | 403 | 403 | ✓ | ✓ |
//! | the event stream, metrics, dead letters, staff accounts ([`Context::admin`]) | 401 | 403 | 403 | 403 | ✓ |
//!
//! Another customer's order is "not found" rather than "forbidden", so a customer cannot learn
//! which order ids exist.

use coffee_domain::{CustomerId, CustomerName, StaffName, StaffRole};

use crate::{Context, ServiceError, ServiceResult};

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No credential, or one that was refused (the reason goes in the 401's message).
    Anonymous {
        refused: Option<String>,
    },
    /// A customer's session: they act for themselves only.
    Customer {
        id: CustomerId,
        name: CustomerName,
    },
    Staff {
        name: StaffName,
        role: StaffRole,
    },
    /// The system's own work: recovery at start, the reactions to events, tests of one service.
    System,
}

impl Caller {
    pub fn anonymous() -> Self {
        Caller::Anonymous { refused: None }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Caller::Staff { role: StaffRole::Admin, .. } | Caller::System)
    }

    pub fn is_staff(&self) -> bool {
        matches!(self, Caller::Staff { .. } | Caller::System)
    }

    /// The customer this caller is, if a customer.
    pub fn customer(&self) -> Option<&CustomerId> {
        match self {
            Caller::Customer { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The role's name as the API shows it: customer, barista or admin.
    pub fn role_name(&self) -> &'static str {
        match self {
            Caller::Anonymous { .. } => "anonymous",
            Caller::Customer { .. } => "customer",
            Caller::Staff { role, .. } => role.as_str(),
            Caller::System => "system",
        }
    }
}

impl Context {
    /// Anyone signed in; `UNAUTHENTICATED` otherwise.
    pub fn signed_in(&self) -> ServiceResult<()> {
        match &self.caller {
            Caller::Anonymous { refused } => Err(unauthenticated(refused.as_deref())),
            _ => Ok(()),
        }
    }

    /// Acting on something `owner` owns (placing, paying, confirming, cancelling their order):
    /// the owner themselves or an admin. Another customer gets `missing()` (their order does
    /// not exist as far as this caller knows); a barista is `FORBIDDEN`.
    pub fn act_for(&self, owner: &CustomerId, missing: impl FnOnce() -> ServiceError) -> ServiceResult<()> {
        self.signed_in()?;
        match &self.caller {
            Caller::Customer { id, .. } if id == owner => Ok(()),
            Caller::Customer { .. } => Err(missing()),
            Caller::Staff { role: StaffRole::Barista, .. } => {
                Err(ServiceError::Forbidden("only the customer who ordered (or an admin) may do this".to_owned()))
            }
            _ => Ok(()),
        }
    }

    /// Reading something `owner` owns: the owner and the staff. Another customer gets
    /// `missing()`.
    pub fn read_of(&self, owner: &CustomerId, missing: impl FnOnce() -> ServiceError) -> ServiceResult<()> {
        self.signed_in()?;
        match &self.caller {
            Caller::Customer { id, .. } if id != owner => Err(missing()),
            _ => Ok(()),
        }
    }

    /// Whether this caller may read what `owner` owns (for lists, which leave out the rest).
    pub fn may_read(&self, owner: &CustomerId) -> bool {
        match &self.caller {
            Caller::Anonymous { .. } => false,
            Caller::Customer { id, .. } => id == owner,
            _ => true,
        }
    }

    /// The staff's work: the lists of a day, the queue, every change, a fulfilment's outcome.
    pub fn staff(&self) -> ServiceResult<()> {
        self.signed_in()?;
        if self.caller.is_staff() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden("this is for the shop's staff".to_owned()))
        }
    }

    /// Running the system: the event stream, metrics, dead letters, staff accounts.
    pub fn admin(&self) -> ServiceResult<()> {
        self.signed_in()?;
        if self.caller.is_admin() { Ok(()) } else { Err(ServiceError::Forbidden("this is for admins".to_owned())) }
    }

    /// A `customerId` argument (of a list, a subscription's filter, a new order): a customer may
    /// name only themselves; the staff may name anyone.
    pub fn names_customer(&self, customer: &CustomerId) -> ServiceResult<()> {
        self.signed_in()?;
        match &self.caller {
            Caller::Customer { id, .. } if id != customer => Err(ServiceError::Forbidden(
                "customerId must be your own: a customer sees and acts for themselves only".to_owned(),
            )),
            _ => Ok(()),
        }
    }
}

fn unauthenticated(refused: Option<&str>) -> ServiceError {
    ServiceError::Unauthenticated(match refused {
        Some(why) => format!("{why}; sign in again"),
        None => {
            "sign in first: a customer session (POST /api/session) or a staff login (POST /api/staff/login)".to_owned()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(caller: Caller) -> Context {
        Context::internal().with_caller(caller)
    }

    fn customer(id: &str) -> Caller {
        Caller::Customer { id: CustomerId::parse(id).expect("id"), name: CustomerName::parse("Ada").expect("name") }
    }

    fn staff(role: StaffRole) -> Caller {
        Caller::Staff { name: StaffName::parse("sam").expect("name"), role }
    }

    fn code(result: ServiceResult<()>) -> &'static str {
        result.err().map_or("OK", |e| e.code())
    }

    /// Each row of the module's table, for each kind of caller.
    #[test]
    fn the_matrix_holds_for_every_caller() {
        let owner = CustomerId::parse("ada").expect("id");
        let missing = || ServiceError::not_found("order", "x");
        let callers = [
            ("anonymous", Caller::anonymous()),
            ("own", customer("ada")),
            ("another", customer("bob")),
            ("barista", staff(StaffRole::Barista)),
            ("admin", staff(StaffRole::Admin)),
        ];
        let expected: [(&str, [&str; 5]); 5] = [
            ("act", ["UNAUTHENTICATED", "OK", "NOT_FOUND", "FORBIDDEN", "OK"]),
            ("read", ["UNAUTHENTICATED", "OK", "NOT_FOUND", "OK", "OK"]),
            ("staff", ["UNAUTHENTICATED", "FORBIDDEN", "FORBIDDEN", "OK", "OK"]),
            ("admin", ["UNAUTHENTICATED", "FORBIDDEN", "FORBIDDEN", "FORBIDDEN", "OK"]),
            ("names", ["UNAUTHENTICATED", "OK", "FORBIDDEN", "OK", "OK"]),
        ];
        for (rule, codes) in expected {
            for ((who, caller), want) in callers.iter().zip(codes) {
                let c = ctx(caller.clone());
                let got = match rule {
                    "act" => code(c.act_for(&owner, missing)),
                    "read" => code(c.read_of(&owner, missing)),
                    "staff" => code(c.staff()),
                    "admin" => code(c.admin()),
                    _ => code(c.names_customer(&owner)),
                };
                assert_eq!(got, want, "{rule} by {who}");
            }
        }
        assert!(ctx(customer("ada")).may_read(&owner) && !ctx(customer("bob")).may_read(&owner));
        assert!(!ctx(Caller::anonymous()).may_read(&owner) && ctx(staff(StaffRole::Barista)).may_read(&owner));
    }

    #[test]
    fn a_refused_credential_says_why() {
        let refused = ctx(Caller::Anonymous { refused: Some("your session has expired".to_owned()) });
        let message = refused.staff().unwrap_err().to_string();
        assert_eq!(message, "your session has expired; sign in again");
        assert!(ctx(Caller::anonymous()).signed_in().unwrap_err().to_string().contains("POST /api/session"));
    }
}

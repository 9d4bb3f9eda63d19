//! The identity service's operations.

use std::sync::Arc;
use std::time::Duration;

use coffee_auth::password;
use coffee_auth::{Authenticator, CUSTOMER_SESSION, STAFF_SESSION, SessionOf, Throttle, session_key, staff_key};
use coffee_bus::{Change, Envelope, Expect, Lookup, Records, Store, StoreError};
use coffee_domain::{CustomerId, Millis, StaffName, StaffRole};
use coffee_service::{Caller, Context, MAX_LIST, ServiceError, ServiceResult, now};
use serde_json::json;

use crate::model::{
    AddStaff, ENDED_SESSIONS, EndedSession, Login, STAFF, SessionAnswer, StaffMember, StaffSummary, StartSession,
};
use crate::{SERVICE, SESSION_ENDED};

#[derive(Clone)]
pub struct IdentityService {
    staff: Records<StaffMember>,
    ended: Records<EndedSession>,
    auth: Authenticator,
    throttle: Arc<Throttle>,
}

impl IdentityService {
    pub fn new(store: Arc<dyn Store>, auth: Authenticator) -> Self {
        Self {
            staff: Records::new(store.clone(), STAFF),
            ended: Records::new(store, ENDED_SESSIONS),
            auth,
            throttle: Arc::default(),
        }
    }

    /// The store the service keeps its records in.
    pub fn store(&self) -> &Arc<dyn Store> {
        self.staff.store()
    }

    pub fn authenticator(&self) -> &Authenticator {
        &self.auth
    }

    /// `POST /api/session`: a customer gives their name and gets a session, as a new customer.
    pub async fn start_customer_session(&self, _ctx: &Context, request: &StartSession) -> ServiceResult<SessionAnswer> {
        let id = CustomerId::parse(&uuid::Uuid::now_v7().to_string())?;
        let of = SessionOf::Customer { id, name: request.customer_name.clone() };
        let (_, token, expires_at) = self.auth.start(&of, now());
        Ok(answer(&of, Some(token), expires_at))
    }

    /// `POST /api/staff/login`. A wrong name and a wrong password are the same 401, and take
    /// as long; failures for one name or from one address slow down the next attempts.
    pub async fn login(&self, _ctx: &Context, request: &Login, from: Option<&str>) -> ServiceResult<SessionAnswer> {
        let name_key = format!("name:{}", request.name.trim());
        let from_key = from.map(|a| format!("from:{a}"));
        let keys: Vec<&str> = std::iter::once(name_key.as_str()).chain(from_key.as_deref()).collect();
        let started = now();
        if let Some(wait) = self.throttle.wait(&keys, started) {
            return Err(throttled(wait));
        }
        let member = match StaffName::parse(&request.name) {
            Ok(name) => self.staff.get(name.as_str()).await?.map(|m| m.value).filter(|m| m.role_active()),
            Err(_) => None,
        };
        let phc = member.as_ref().map(|m| m.password_hash.clone());
        let password_given = request.password.clone();
        // Argon2 takes tens of milliseconds of CPU: not on the async workers.
        let matches = tokio::task::spawn_blocking(move || password::verify(&password_given, phc.as_deref()))
            .await
            .map_err(|e| ServiceError::Internal(format!("checking a password: {e}")))?;
        let Some(member) = member.filter(|_| matches) else {
            self.throttle.failed(&keys, started);
            tracing::info!(name = %request.name.trim(), "a staff login failed");
            return Err(ServiceError::Unauthenticated("wrong name or password".to_owned()));
        };
        self.throttle.succeeded(&name_key);
        let of = SessionOf::Staff { name: member.name.clone(), role: member.role };
        let (_, token, expires_at) = self.auth.start(&of, now());
        tracing::info!(name = %member.name, role = %member.role, "a member of staff logged in");
        Ok(answer(&of, Some(token), expires_at))
    }

    /// `GET /api/session`: who the caller's session is for (no token: they hold it).
    pub async fn current(&self, ctx: &Context) -> ServiceResult<SessionAnswer> {
        let (of, expires_at) = self.session_of(ctx)?;
        Ok(answer(&of, None, expires_at))
    }

    /// `POST /api/session/renew`: a new token for the same session, valid for a full lifetime
    /// from now (the web app renews a customer's session while it is used). Refused once the
    /// session ended.
    pub async fn renew(&self, ctx: &Context) -> ServiceResult<SessionAnswer> {
        let (of, _) = self.session_of(ctx)?;
        let Some(session) = &ctx.session else { return Err(not_a_session()) };
        if self.ended.get(&session_key(session)).await?.is_some() {
            return Err(ServiceError::Unauthenticated("this session has ended; sign in again".to_owned()));
        }
        if let SessionOf::Staff { name, .. } = &of {
            let active = self.staff.get(name.as_str()).await?.is_some_and(|m| m.value.role_active());
            if !active {
                return Err(ServiceError::Unauthenticated("this staff account was removed".to_owned()));
            }
        }
        let (token, expires_at) = self.auth.tokens().issue(session, &of, now());
        Ok(answer(&of, Some(token), expires_at))
    }

    /// `DELETE /api/session`: the session ends, at once in this process and, through the
    /// `coffee.session.ended` event, in every other.
    pub async fn logout(&self, ctx: &Context) -> ServiceResult<()> {
        ctx.signed_in()?;
        let Some(session) = &ctx.session else { return Err(not_a_session()) };
        self.end(&session_key(session), CUSTOMER_SESSION, ctx).await
    }

    /// Ends what `key` names: recorded, announced, and refused here from now on.
    async fn end(&self, key: &str, lifetime: Duration, ctx: &Context) -> ServiceResult<()> {
        let at = now();
        let ended =
            EndedSession { key: key.to_owned(), ended_at: at, until: Millis(at.0 + lifetime.as_millis() as i64) };
        let expect = match self.ended.get(key).await? {
            Some(previous) => Expect::Version(previous.version),
            None => Expect::New,
        };
        let event = ended_event(&ended, ctx);
        match self.ended.commit(Change::new().put(ENDED_SESSIONS, &ended, expect)?.publish(event)).await {
            Ok(_) | Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
        self.auth.revocations().end(key, ended.ended_at, ended.until, at);
        Ok(())
    }

    /// What ended since `since`: the revocations a process starting now must know.
    pub async fn ended_since(&self, since: Millis) -> ServiceResult<Vec<EndedSession>> {
        let mut ended = Vec::new();
        let mut day = since;
        while day.day() <= now().day() {
            let of_day = self.ended.find(Lookup::Day(&day.day().to_string()), MAX_LIST).await?;
            if of_day.len() == MAX_LIST as usize {
                tracing::warn!(day = %day.day(), "more sessions ended on one day than are read back at start");
            }
            ended.extend(of_day.into_iter().filter(|e| e.ended_at >= since));
            day = Millis(day.0 + 86_400_000);
        }
        Ok(ended)
    }

    /// `POST /api/staff` (and `coffee staff add`): adds a member of staff, or gives a removed
    /// one their account back with a new password.
    pub async fn add_staff(&self, ctx: &Context, request: &AddStaff) -> ServiceResult<StaffSummary> {
        ctx.admin()?;
        let password_given = request.password.clone();
        let hash = tokio::task::spawn_blocking(move || password::hash(&password_given))
            .await
            .map_err(|e| ServiceError::Internal(format!("hashing a password: {e}")))?
            .map_err(|e| ServiceError::BadInput(format!("password: {e}")))?;
        let member =
            StaffMember { name: request.name.clone(), role: request.role, password_hash: hash, created_at: now() };
        let expect = match self.staff.get(request.name.as_str()).await? {
            Some(existing) if existing.value.role_active() => {
                return Err(ServiceError::Conflict(format!(
                    "there is already a member of staff named {}",
                    request.name
                )));
            }
            Some(removed) => Expect::Version(removed.version),
            None => Expect::New,
        };
        self.staff.commit(Change::new().put(STAFF, &member, expect)?).await.map_err(|e| match e {
            StoreError::Conflict => {
                ServiceError::Conflict(format!("there is already a member of staff named {}", request.name))
            }
            other => other.into(),
        })?;
        tracing::info!(name = %member.name, role = %member.role, "a member of staff was added");
        Ok(StaffSummary::from(&member))
    }

    /// `GET /api/staff`.
    pub async fn staff_list(&self, ctx: &Context) -> ServiceResult<Vec<StaffSummary>> {
        ctx.admin()?;
        let mut all = Vec::new();
        for role in [StaffRole::Admin, StaffRole::Barista] {
            all.extend(self.staff.find(Lookup::Status(role.as_str()), MAX_LIST).await?);
        }
        all.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
        Ok(all.iter().map(StaffSummary::from).collect())
    }

    /// `DELETE /api/staff/:name` (and `coffee staff remove`): the account goes, and every session
    /// of it ends. The last admin cannot be removed: no one could add staff again.
    pub async fn remove_staff(&self, ctx: &Context, name: &StaffName) -> ServiceResult<()> {
        ctx.admin()?;
        let Some(current) = self.staff.get(name.as_str()).await?.filter(|m| m.value.role_active()) else {
            return Err(ServiceError::NotFound(format!("no member of staff named {name}")));
        };
        if current.value.role == StaffRole::Admin {
            let admins = self.staff.find(Lookup::Status(StaffRole::Admin.as_str()), 2).await?;
            if admins.len() < 2 {
                return Err(ServiceError::Conflict(format!("{name} is the last admin; add another admin first")));
            }
        }
        let removed = current.value.removed();
        self.staff.commit(Change::new().put(STAFF, &removed, Expect::Version(current.version))?).await?;
        self.end(&staff_key(name), STAFF_SESSION, ctx).await?;
        tracing::info!(%name, "a member of staff was removed");
        Ok(())
    }

    /// Who the caller's session is for, with its expiry (from the caller's own token).
    fn session_of(&self, ctx: &Context) -> ServiceResult<(SessionOf, Millis)> {
        ctx.signed_in()?;
        let token = ctx.credential.as_ref().ok_or_else(not_a_session)?;
        let session = self
            .auth
            .session(token.expose(), now())
            .map_err(|e| ServiceError::Unauthenticated(format!("{e}; sign in again")))?;
        Ok((session.of, session.expires_at))
    }
}

impl StaffMember {
    /// Whether the account is in use (a removed one keeps its row, with status `removed`).
    pub fn role_active(&self) -> bool {
        !self.password_hash.is_empty()
    }

    fn removed(&self) -> Self {
        Self { password_hash: String::new(), ..self.clone() }
    }
}

fn answer(of: &SessionOf, token: Option<String>, expires_at: Millis) -> SessionAnswer {
    let caller = of.caller();
    let (customer_id, customer_name, staff_name) = match &caller {
        Caller::Customer { id, name } => (Some(id.to_string()), Some(name.to_string()), None),
        Caller::Staff { name, .. } => (None, None, Some(name.to_string())),
        _ => (None, None, None),
    };
    SessionAnswer {
        token: token.unwrap_or_default(),
        role: caller.role_name().to_owned(),
        customer_id,
        customer_name,
        staff_name,
        expires_at: expires_at.seconds(),
    }
}

fn ended_event(ended: &EndedSession, ctx: &Context) -> Envelope {
    let data = json!({ "key": ended.key, "endedAt": ended.ended_at.0, "until": ended.until.0 });
    Envelope::of(SERVICE, SESSION_ENDED, &ended.key, data, &ctx.trace)
}

/// The ended session an event announces.
pub fn ended_from(event: &Envelope) -> Option<EndedSession> {
    if event.event_type != SESSION_ENDED {
        return None;
    }
    let d = &event.data;
    Some(EndedSession {
        key: d.get("key")?.as_str()?.to_owned(),
        ended_at: Millis(d.get("endedAt")?.as_i64()?),
        until: Millis(d.get("until")?.as_i64()?),
    })
}

fn not_a_session() -> ServiceError {
    ServiceError::Unauthenticated("this needs a session token".to_owned())
}

fn throttled(wait: Duration) -> ServiceError {
    let secs = wait.as_secs().max(1);
    ServiceError::TooManyRequests {
        message: format!("too many failed logins; try again in {secs} s"),
        retry_after_secs: secs,
    }
}

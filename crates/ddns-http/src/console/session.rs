//! Console sessions: a random id in an `HttpOnly`, `SameSite=Strict` cookie (`Secure` over
//! HTTPS), looked up in a bounded server-side table with an idle and an absolute expiry, and
//! a CSRF token per session that every form carries and every POST is checked against in
//! constant time.
//!
//! A session signed in with a token keeps the token in memory and presents it again on every
//! request, so a revoked or expired token ends its sessions at once; one signed in with the
//! admin password acts as [`Principal::console_admin`].

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use ddns_zones::Principal;
use subtle::ConstantTimeEq as _;

/// The session cookie.
pub(crate) const SESSION_COOKIE: &str = "ddns_session";
/// The sign-in form's double-submit cookie (login CSRF, before there is a session).
pub(crate) const LOGIN_COOKIE: &str = "ddns_login";
/// The language cookie.
pub(crate) const LANG_COOKIE: &str = "ddns_lang";
/// A session unused this long is gone.
pub(crate) const IDLE: Duration = Duration::from_secs(30 * 60);
/// A session lives this long at most, used or not.
pub(crate) const ABSOLUTE: Duration = Duration::from_secs(12 * 3600);
/// Sessions held at most; a sign-in beyond drops the one closest to its end.
const MAX_SESSIONS: usize = 4096;

/// How a session was signed in.
#[derive(Clone)]
pub(crate) enum Credential {
    /// With the admin password.
    Password,
    /// With this admin token, presented again on every request.
    Token(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Password => f.write_str("Password"),
            Self::Token(_) => f.write_str("Token(…)"),
        }
    }
}

/// One signed-in browser.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) csrf: String,
    pub(crate) credential: Credential,
    /// Who it acts as (for a token: as it was at sign-in; checked again per request).
    pub(crate) principal: Principal,
    created: Instant,
    last_seen: Instant,
}

impl Session {
    /// True when `presented` is this session's CSRF token (constant time in its content).
    pub(crate) fn csrf_matches(&self, presented: &str) -> bool {
        bool::from(self.csrf.as_bytes().ct_eq(presented.as_bytes()))
    }

    fn expired(&self, now: Instant) -> bool {
        now.duration_since(self.last_seen) >= IDLE || now.duration_since(self.created) >= ABSOLUTE
    }

    fn ends(&self) -> Instant {
        (self.last_seen + IDLE).min(self.created + ABSOLUTE)
    }
}

/// The server-side session table.
#[derive(Default)]
pub(crate) struct Sessions {
    table: Mutex<HashMap<String, Session>>,
}

/// 32 random octets, base64url without padding (an id or a CSRF token).
pub(crate) fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(data_encoding::BASE64URL_NOPAD.encode(&bytes))
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        // Every change is one insert or remove: consistent after any panic.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a session; `None` when the system has no randomness to give.
    pub(crate) fn start(&self, credential: Credential, principal: Principal) -> Option<Session> {
        let now = Instant::now();
        let session = Session {
            id: random_token()?,
            csrf: random_token()?,
            credential,
            principal,
            created: now,
            last_seen: now,
        };
        let mut table = self.lock();
        if table.len() >= MAX_SESSIONS {
            table.retain(|_, s| !s.expired(now));
        }
        if table.len() >= MAX_SESSIONS
            && let Some(oldest) = table
                .values()
                .min_by_key(|s| s.ends())
                .map(|s| s.id.clone())
        {
            table.remove(&oldest);
        }
        table.insert(session.id.clone(), session.clone());
        Some(session)
    }

    /// The live session of `id`, its idle clock restarted; an expired one is removed.
    pub(crate) fn touch(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut table = self.lock();
        let session = table.get_mut(id)?;
        if session.expired(now) {
            table.remove(id);
            return None;
        }
        session.last_seen = now;
        Some(session.clone())
    }

    /// Ends a session.
    pub(crate) fn end(&self, id: &str) {
        self.lock().remove(id);
    }

    #[cfg(test)]
    fn age(&self, id: &str, by: Duration) {
        if let Some(s) = self.lock().get_mut(id) {
            s.last_seen -= by;
            s.created -= by;
        }
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// A `Set-Cookie` value scoped to the console.
pub(crate) fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<u64>) -> String {
    let mut out = format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        out.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        out.push_str("; Secure");
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn sessions_expire_when_idle_and_end_on_sign_out() {
        let sessions = Sessions::default();
        let s = sessions
            .start(Credential::Password, Principal::console_admin())
            .unwrap();
        assert_ne!(s.id, s.csrf);
        assert_eq!(s.id.len(), 43);
        assert!(sessions.touch(&s.id).is_some());
        assert!(sessions.touch("nope").is_none());
        sessions.age(&s.id, IDLE);
        assert!(sessions.touch(&s.id).is_none(), "idle too long");
        assert!(sessions.touch(&s.id).is_none(), "and removed");
        let t = sessions
            .start(Credential::Password, Principal::console_admin())
            .unwrap();
        sessions.end(&t.id);
        assert!(sessions.touch(&t.id).is_none());
    }

    #[test]
    fn csrf_is_compared_whole() {
        let sessions = Sessions::default();
        let s = sessions
            .start(Credential::Password, Principal::console_admin())
            .unwrap();
        assert!(s.csrf_matches(&s.csrf.clone()));
        assert!(!s.csrf_matches(""));
        assert!(!s.csrf_matches(&s.csrf[..42]));
        assert!(!s.csrf_matches(&format!("{}x", s.csrf)));
    }

    #[test]
    fn cookies_are_found_among_others_and_scoped() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, "a=1; ddns_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, LOGIN_COOKIE), None);
        let c = set_cookie(SESSION_COOKIE, "abc", true, None);
        assert_eq!(
            c,
            "ddns_session=abc; Path=/console; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(!set_cookie(SESSION_COOKIE, "abc", false, Some(0)).contains("Secure"));
    }
}

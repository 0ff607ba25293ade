//! Reading a DynDNS2 reply: the first word decides, per clients.md §4.2.
//!
//! ```text
//! If updating multiple hostnames, hostname-specific return codes are given one per line, in
//! the same order as the hostnames were specified.                     (help.dyn.com/return-codes)
//! ```
//! A provider sends one hostname per request, so the first non-empty line is its answer.
//! Besides the codes [`ReturnCode`] knows, services answer `!donator`, `!yours`, `!active`,
//! `badsys` (Dyn), `servererror` (Dynu) and `wNN[smh]` (No-IP, as ddclient handles it).

use std::net::IpAddr;
use std::time::Duration;

use ddns_core::dyndns2::ReturnCode;

use crate::outcome::{FatalKind, MIN_RETRY_AFTER_911, Outcome};
use crate::provider::{Update, join_addresses};

/// The first word of a reply, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Answer<'a> {
    /// A code ddns-core knows.
    Code(ReturnCode),
    /// `!donator`, `!yours`, `!active`, `badsys`, Dynu's `servererror`.
    Extra(&'static str),
    /// No-IP's `wNN[smh]`: wait before the next update.
    Wait(Duration),
    /// Anything else.
    Unknown(&'a str),
}

pub(super) fn first_word(body: &str) -> Option<Answer<'_>> {
    let line = body.lines().map(str::trim).find(|l| !l.is_empty())?;
    let word = line.split_ascii_whitespace().next()?;
    let lower = word.to_ascii_lowercase();
    if let Some(code) = ReturnCode::parse(&lower) {
        return Some(Answer::Code(code));
    }
    if let Some(extra) = ["!donator", "!yours", "!active", "badsys", "servererror"]
        .into_iter()
        .find(|e| *e == lower)
    {
        return Some(Answer::Extra(extra));
    }
    // ddclient's No-IP handler: `w(\d+)(.)` with s, m or h.
    if let Some(rest) = lower.strip_prefix('w')
        && rest.is_ascii()
    {
        let (digits, unit) = rest.split_at(rest.len().saturating_sub(1));
        let scale = match unit {
            "s" => Some(1),
            "m" => Some(60),
            "h" => Some(3600),
            _ => None,
        };
        if let (Some(scale), Ok(n)) = (scale, digits.parse::<u64>()) {
            return Some(Answer::Wait(Duration::from_secs(n.saturating_mul(scale))));
        }
    }
    Some(Answer::Unknown(word))
}

/// Classifies a DynDNS2 reply body for one hostname (clients.md §4.2).
///
/// `service` names the service in messages; `retry_after` is the HTTP `Retry-After`, used for
/// transient answers.
pub fn classify_reply(
    service: &str,
    update: &Update,
    body: &str,
    retry_after: Option<Duration>,
) -> Outcome {
    let name = update.hostname.as_str();
    let Some(answer) = first_word(body) else {
        return Outcome::Transient {
            reason: format!("{service} sent an empty reply"),
            retry_after,
        };
    };
    let fatal = |kind, message: String| Outcome::fatal(kind, message);
    match answer {
        Answer::Code(code @ (ReturnCode::Good | ReturnCode::Nochg)) => {
            check_echo(service, name, update, body, code == ReturnCode::Good)
        }
        Answer::Code(ReturnCode::Badauth) => fatal(
            FatalKind::Auth,
            format!(
                "{service} rejected the credentials (badauth): check the username and password in record {name}"
            ),
        ),
        Answer::Code(ReturnCode::Notfqdn) => fatal(
            FatalKind::Host,
            format!(
                "{service} says {name} is not a fully qualified host name (notfqdn): use the full name of a host in your account"
            ),
        ),
        Answer::Code(ReturnCode::Nohost) => fatal(
            FatalKind::Host,
            format!(
                "{service} has no host {name} in this account (nohost): create it there or fix the record name"
            ),
        ),
        Answer::Code(ReturnCode::Numhost) => fatal(
            FatalKind::Config,
            format!(
                "{service} refused {name} as too many hosts or a round-robin host (numhost): make it a plain host at the service"
            ),
        ),
        Answer::Code(ReturnCode::Abuse) => fatal(
            FatalKind::Abuse,
            format!(
                "{service} blocked updates of {name} for abuse (abuse): unblock it in your account{}, then re-enable the record",
                if service == "Oray" {
                    " and check the credentials, which Oray also answers this way"
                } else {
                    ""
                }
            ),
        ),
        Answer::Code(ReturnCode::Badagent) => fatal(
            FatalKind::Agent,
            format!(
                "{service} refuses this client (badagent): set user_agent to one the service accepts or report it to the ddns project"
            ),
        ),
        Answer::Code(ReturnCode::Dnserr) => Outcome::Transient {
            reason: format!("{service} reported a DNS error on its side (dnserr)"),
            retry_after,
        },
        Answer::Code(ReturnCode::ServerError) => Outcome::Transient {
            reason: format!("{service} reports an outage or maintenance (911)"),
            retry_after: Some(retry_after.unwrap_or_default().max(MIN_RETRY_AFTER_911)),
        },
        Answer::Extra("servererror") => Outcome::Transient {
            reason: format!("{service} reports a server error (servererror)"),
            retry_after,
        },
        Answer::Extra("!donator") => fatal(
            FatalKind::Account,
            format!(
                "{service} says the update of {name} needs a feature the account lacks (!donator): upgrade the account or change the record"
            ),
        ),
        Answer::Extra("!yours") => fatal(
            FatalKind::Host,
            format!(
                "{name} exists at {service} but belongs to another account (!yours): use that account's credentials"
            ),
        ),
        Answer::Extra("!active") => fatal(
            FatalKind::Account,
            format!(
                "the domain of {name} is not activated at {service} (!active): activate it in your account"
            ),
        ),
        Answer::Extra(_) => fatal(
            FatalKind::Config,
            format!(
                "{service} rejected the request's system parameter (badsys): check the url of record {name}"
            ),
        ),
        Answer::Wait(wait) => Outcome::Transient {
            reason: format!(
                "{service} asks to wait {} s before the next update",
                wait.as_secs()
            ),
            retry_after: Some(wait.max(retry_after.unwrap_or_default())),
        },
        Answer::Unknown(word) => Outcome::Transient {
            reason: format!(
                "{service} sent an unexpected reply: {:?}",
                word.chars().take(80).collect::<String>()
            ),
            retry_after,
        },
    }
}

/// Checks the addresses echoed after `good`/`nochg` against those sent.
///
/// Only echoed addresses of a family that was sent are compared; an echo that is not an
/// address is ignored (some services echo nothing, some pad octets). Dyn answers
/// `good 127.0.0.1` to a client whose User-Agent it blocks.
fn check_echo(service: &str, name: &str, update: &Update, body: &str, changed: bool) -> Outcome {
    let line = body
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let echoed = line
        .split_ascii_whitespace()
        .skip(1)
        .flat_map(|w| w.split(','))
        .filter_map(|w| w.parse::<IpAddr>().ok());
    let sent = update.addresses();
    for ip in echoed {
        let family_sent = match ip {
            IpAddr::V4(_) => update.ipv4.is_some(),
            IpAddr::V6(_) => update.ipv6.is_some(),
        };
        if !family_sent || sent.contains(&ip) {
            continue;
        }
        if ip == IpAddr::from([127, 0, 0, 1]) {
            return Outcome::fatal(
                FatalKind::Agent,
                format!(
                    "{service} ignored the update of {name} and echoed 127.0.0.1, its sign of a blocked client: set user_agent to one the service accepts"
                ),
            );
        }
        return Outcome::transient(format!(
            "{service} answered {} but echoed {ip} for {name} instead of {}",
            if changed { "good" } else { "nochg" },
            join_addresses(&sent)
        ));
    }
    Outcome::Published { changed }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update() -> Update {
        Update::new(
            ddns_core::DomainName::parse("h.example.com").unwrap(),
            Some(vec!["192.0.2.1".parse().unwrap()]),
            Some(vec!["2001:db8::1".parse().unwrap()]),
        )
    }

    #[test]
    fn first_words() {
        assert_eq!(
            first_word("\n\n  GOOD 192.0.2.1\nnohost"),
            Some(Answer::Code(ReturnCode::Good))
        );
        assert_eq!(first_word("!Donator"), Some(Answer::Extra("!donator")));
        assert_eq!(
            first_word("w30s"),
            Some(Answer::Wait(Duration::from_secs(30)))
        );
        assert_eq!(first_word("w30x"), Some(Answer::Unknown("w30x")));
        assert_eq!(first_word("wé"), Some(Answer::Unknown("wé")));
        assert_eq!(first_word("w"), Some(Answer::Unknown("w")));
        assert_eq!(first_word(" \r\n "), None);
    }

    #[test]
    fn dual_stack_echo_in_either_order() {
        let u = update();
        for body in [
            "good 192.0.2.1,2001:db8::1",
            "good 2001:db8::1 192.0.2.1",
            "nochg 2001:DB8::1",
        ] {
            assert!(classify_reply("X", &u, body, None).is_published(), "{body}");
        }
        assert!(!classify_reply("X", &u, "good 192.0.2.1,2001:db8::2", None).is_published());
    }

    #[test]
    fn echo_of_a_family_left_alone_is_not_compared() {
        let mut u = update();
        u.ipv4 = None;
        assert!(classify_reply("X", &u, "good 198.51.100.1,2001:db8::1", None).is_published());
    }

    proptest::proptest! {
        #[test]
        fn any_reply_is_classified(body in "\\PC{0,40}") {
            let _ = classify_reply("X", &update(), &body, None);
        }
    }
}

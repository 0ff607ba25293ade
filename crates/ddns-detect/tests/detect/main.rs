//! Detection sources against fakes on loopback: an HTTP echo service, a DNS responder and a
//! UPnP router, plus consensus over real `Source`s. Nothing here leaves 127.0.0.1 / ::1.

// Test helpers outside `#[test]` functions (the fakes) unwrap too.
#![allow(clippy::unwrap_used)]

mod consensus;
mod dns;
mod fakes;
mod http;
mod upnp;

//! Integration tests: a real `ddns` process on 127.0.0.1 ephemeral ports, driven over HTTP and
//! checked with real DNS queries over UDP and TCP (and with dig, kdig and ddclient).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

/// Slowloris connections and a bad-password flood from one address leave other addresses'
/// updates and DNS answers working at their usual latency.
#[cfg(target_os = "linux")]
mod abuse;
/// ACME DNS-01 against pebble: the server obtains its certificate from its own zone.
#[cfg(unix)]
mod acme;
/// The agent against the server and loopback fakes: detection, reactions, reload, crashes.
mod agent;
/// Audit and rollback (CLI and API), backup and restore.
mod audit;
/// Bad input over HTTP and DNS changes nothing and the server keeps serving.
mod bad_input;
/// The command line: config errors, token/host/zone commands.
mod cli;
/// Real clients (ddclient, inadyn) and router request shapes against our DynDNS2 endpoint.
#[cfg(unix)]
mod clients;
/// The agent publishing to the Cloudflare API fake and to moto (Route 53).
mod cloud;
/// `ddns agent --once` against fakes of Alibaba Cloud DNS, DNSPod and Huawei Cloud DNS.
mod cloud_providers;
/// Several server nodes on one PostgreSQL: changes reach every node, concurrent writers
/// through both end identical, a database restart is ridden out, verified TLS.
#[cfg(unix)]
mod cluster;
/// The web console in headless chromium: sign-in, hosts, tokens, update, rollback, 简体中文.
#[cfg(target_os = "linux")]
mod console;
/// Twenty SIGKILLs at random moments under streaming updates: nothing acknowledged is lost.
#[cfg(unix)]
mod crash_loop;
/// DNS answers from a running server: flags, sections, TTLs, serials; dig/kdig agreement.
mod dns;
/// DynDNS2: every return code, byte for byte, and the update semantics.
mod dyndns2;
/// Health-checked record sets: failover within 3 s, rise/fall, all-down policies, damping.
#[cfg(target_os = "linux")]
mod failover;
/// The same with real Samba: two smbd in network namespaces, smbclient resolving through ddns.
#[cfg(target_os = "linux")]
mod failover_samba;
/// HTTP connection limits (header-read and idle timeouts, connection caps) and rate limits
/// that one tenant cannot spend for another.
mod http_limits;
/// `/metrics` (counters against real queries and updates, promtool), `/healthz`, `/readyz`.
mod metrics;
/// Network namespaces, veth pairs and processes in them, for the Samba tests.
#[cfg(target_os = "linux")]
mod netns;
/// The REST API: /update, hosts with ETags, tokens, OpenAPI.
mod rest;
/// Durability: restarts and crashes keep every acknowledged update and its history.
mod restart;
/// RFC 2136 UPDATE: nsupdate with TSIG and prerequisites, source subnets, a Windows client.
#[cfg(unix)]
mod rfc2136;
/// ddns as the primary of real BIND, Knot and NSD secondaries: NOTIFY, AXFR, IXFR, TSIG.
#[cfg(unix)]
mod secondaries;
/// Token and TSIG secrets appear in no log, reply or stored file.
#[cfg(unix)]
mod secrets;
/// `ddns service` on Linux: sd_notify readiness, watchdog and stopping; the install plan.
#[cfg(unix)]
mod service;
/// `ddns smb check` against real Samba in network namespaces: success (and smbclient through
/// the same name), a stopped smbd, a firewall drop, a wrong address, NXDOMAIN, a non-SMB
/// listener, no route, wrong credentials, a missing share.
#[cfg(target_os = "linux")]
mod smb_check;
/// HTTPS: DynDNS2 and REST, TLS 1.1 refused, certificates replaced on disk, the redirect
/// listener, ddclient and inadyn over HTTPS.
#[cfg(unix)]
mod tls;
/// Split horizon: answers by source address, updates of both values, a view's secondary
/// transfers only its view.
#[cfg(target_os = "linux")]
mod views;

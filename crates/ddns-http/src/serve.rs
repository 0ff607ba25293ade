//! The HTTP accept loop: binds the listeners, admits connections under a global and a
//! per-source cap, and serves each with hyper (HTTP/1.1 or HTTP/2) under connection-level
//! timeouts, until the stop token fires. A listener speaks HTTPS, plain HTTP, or plain HTTP
//! that only redirects to HTTPS ([`Role`]).
//!
//! `axum::serve` has none of these knobs, and a `TimeoutLayer` only starts once a request is
//! dispatched: a client that sends half a header would hold its socket (and a file descriptor
//! the DNS listeners and the database also need) for ever. Here:
//! - an HTTP/1.1 request header must arrive within `header_read_timeout` (hyper's timer; the
//!   wait for the next request on a kept-alive connection counts as header reading);
//! - a connection that has not sent a complete request `header_read_timeout` after it opened
//!   (a stalled TLS handshake or protocol preface, an HTTP/2 client that never opens a
//!   stream) is closed: the TLS handshake counts against the same deadline;
//! - a connection with no request in flight for `idle_timeout` is closed;
//! - over `max_connections`, or `max_connections_per_ip` from one source, a new connection
//!   is closed at once, before anything is read from it.
//!
//! **Architecture invariant:** handlers still get `ConnectInfo<SocketAddr>` (the TCP peer);
//! the forwarded client address is worked out per request in [`crate::client`].

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use ddns_config::server::HttpConfig;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use ipnet::IpNet;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::AppState;
use crate::tls::Certificates;

/// How long open requests may run on after the stop token fires (the binary waits 10 s).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);
/// How long a connection closed for idleness may take to say goodbye (HTTP/2 GOAWAY).
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// Pause after a failed accept (out of file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Connection-level limits taken from the configuration.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// Time allowed for a complete request header.
    pub header_read_timeout: Duration,
    /// Time a connection may sit with no request in flight.
    pub idle_timeout: Duration,
    /// Open connections across all listeners.
    pub max_connections: usize,
    /// Open connections from one source address (IPv6: one /64).
    pub max_connections_per_ip: usize,
    /// Concurrent streams on one HTTP/2 connection.
    pub http2_max_streams: u32,
    /// Sources exempt from the per-source cap: the reverse proxies in front of us carry
    /// everyone's connections.
    pub trusted_proxies: Vec<IpNet>,
}

impl ConnectionLimits {
    /// The limits from the server configuration.
    pub fn from_config(http: &HttpConfig) -> Self {
        Self {
            header_read_timeout: http.header_read_timeout,
            idle_timeout: http.idle_timeout,
            max_connections: http.max_connections,
            max_connections_per_ip: http.max_connections_per_ip,
            http2_max_streams: http.http2_max_streams,
            trusted_proxies: http.trusted_proxies.clone(),
        }
    }
}

/// What a listener speaks.
#[derive(Clone, Debug)]
pub enum Role {
    /// The API over plain HTTP.
    Plain,
    /// The API over HTTPS with the certificate from this store.
    Tls(Arc<Certificates>),
    /// Plain HTTP answering every request with `308 Permanent Redirect` to the same path
    /// over HTTPS on this port.
    Redirect {
        /// The HTTPS port redirected to.
        https_port: u16,
    },
}

/// A bound listener and what it speaks.
#[derive(Debug)]
pub struct Listener {
    /// The socket.
    pub tcp: TcpListener,
    /// Its protocol.
    pub role: Role,
}

/// Binds every address (failing at once on a bad one).
pub async fn bind(addrs: &[SocketAddr]) -> std::io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::with_capacity(addrs.len());
    for addr in addrs {
        listeners.push(TcpListener::bind(addr).await?);
    }
    Ok(listeners)
}

/// Serves the app on `listeners` until `stop` fires, then lets open requests finish (for at
/// most 8 s) and returns.
pub async fn serve(
    listeners: Vec<Listener>,
    state: Arc<AppState>,
    limits: ConnectionLimits,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.http2_max_streams);
    let app = crate::app(state);
    let shared = Arc::new(Shared {
        builder,
        admission: Admission::new(&limits),
        limits,
        connections: TaskTracker::new(),
        stop,
    });
    let mut loops = tokio::task::JoinSet::new();
    for listener in listeners {
        let speaks = match listener.role {
            Role::Plain => Speaks::Plain(app.clone()),
            Role::Tls(certificates) => Speaks::Tls {
                acceptor: tokio_rustls::TlsAcceptor::from(certificates.server_config()),
                certificates,
                router: app.clone(),
            },
            Role::Redirect { https_port } => {
                Speaks::Plain(crate::redirect::redirect_app(https_port))
            }
        };
        loops.spawn(accept_loop(
            listener.tcp,
            Arc::new(speaks),
            Arc::clone(&shared),
        ));
    }
    while loops.join_next().await.is_some() {}
    shared.connections.close();
    shared.connections.wait().await;
    Ok(())
}

/// What every connection task shares.
struct Shared {
    builder: auto::Builder<TokioExecutor>,
    admission: Admission,
    limits: ConnectionLimits,
    connections: TaskTracker,
    stop: CancellationToken,
}

/// How one listener's connections are served.
enum Speaks {
    Plain(Router),
    Tls {
        acceptor: tokio_rustls::TlsAcceptor,
        certificates: Arc<Certificates>,
        router: Router,
    },
}

async fn accept_loop(listener: TcpListener, speaks: Arc<Speaks>, shared: Arc<Shared>) {
    loop {
        let accepted = tokio::select! {
            () = shared.stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "cannot accept an HTTP connection");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Some(ticket) = shared.admission.admit(peer.ip()) else {
            // Dropping the stream closes it before anything is read.
            tracing::debug!(%peer, "HTTP connection refused: too many open connections");
            continue;
        };
        let opened = Instant::now();
        let _ = stream.set_nodelay(true);
        let task_shared = Arc::clone(&shared);
        let speaks = Arc::clone(&speaks);
        shared.connections.spawn(async move {
            match &*speaks {
                Speaks::Plain(router) => {
                    serve_connection(stream, peer, false, router, &task_shared, opened).await;
                }
                Speaks::Tls {
                    acceptor,
                    certificates,
                    router,
                } => {
                    // A replaced certificate is picked up here, before this connection's
                    // handshake (cheap: two stats unless the files changed).
                    certificates.refresh();
                    let deadline = opened + task_shared.limits.header_read_timeout;
                    let handshake = tokio::select! {
                        () = task_shared.stop.cancelled() => return,
                        done = tokio::time::timeout_at(deadline, acceptor.accept(stream)) => done,
                    };
                    match handshake {
                        Ok(Ok(tls)) => {
                            serve_connection(tls, peer, true, router, &task_shared, opened).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
            drop(ticket);
        });
    }
}

/// Serves one connection until the client leaves, a timeout closes it, or the server stops.
async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    https: bool,
    router: &Router,
    shared: &Shared,
    opened: Instant,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (activity, mut watch_activity) = watch::channel(Activity::new(opened));
    let activity = Arc::new(activity);
    let router = router.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        if https {
            request.extensions_mut().insert(crate::console::Https);
        }
        let in_flight = InFlight::start(Arc::clone(&activity));
        let response = router.clone().oneshot(request);
        async move {
            let response = response.await;
            drop(in_flight);
            response
        }
    });
    let connection = shared
        .builder
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let mut close_by: Option<Instant> = None;
    let idle = idle_expiry(&mut watch_activity, &shared.limits);
    tokio::pin!(idle);
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "HTTP connection ended");
                }
                return;
            }
            () = shared.stop.cancelled(), if close_by.is_none() => {
                connection.as_mut().graceful_shutdown();
                close_by = Some(Instant::now() + SHUTDOWN_GRACE);
            }
            () = &mut idle, if close_by.is_none() => {
                tracing::debug!(%peer, "HTTP connection closed: idle or no complete request");
                connection.as_mut().graceful_shutdown();
                close_by = Some(Instant::now() + CLOSE_GRACE);
            }
            () = sleep_until_or_never(close_by) => return,
        }
    }
}

async fn sleep_until_or_never(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Requests on one connection, as the idle watchdog sees them.
#[derive(Clone, Copy, Debug)]
struct Activity {
    in_flight: usize,
    /// A complete request has arrived on this connection.
    seen_request: bool,
    /// When the connection opened or its last request finished.
    since: Instant,
}

impl Activity {
    fn new(opened: Instant) -> Self {
        Self {
            in_flight: 0,
            seen_request: false,
            since: opened,
        }
    }
}

/// One request being handled; ends (also when the handler is dropped) with the guard.
struct InFlight(Arc<watch::Sender<Activity>>);

impl InFlight {
    fn start(activity: Arc<watch::Sender<Activity>>) -> Self {
        activity.send_modify(|a| {
            a.in_flight += 1;
            a.seen_request = true;
        });
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|a| {
            a.in_flight = a.in_flight.saturating_sub(1);
            a.since = Instant::now();
        });
    }
}

/// Resolves when the connection has had nothing in flight for too long: `header_read_timeout`
/// before its first request, `idle_timeout` after one.
async fn idle_expiry(activity: &mut watch::Receiver<Activity>, limits: &ConnectionLimits) {
    loop {
        let now = *activity.borrow_and_update();
        let deadline = match now {
            Activity { in_flight: 1.., .. } => None,
            Activity {
                seen_request: false,
                since,
                ..
            } => Some(since + limits.header_read_timeout),
            Activity { since, .. } => Some(since + limits.idle_timeout),
        };
        tokio::select! {
            () = sleep_until_or_never(deadline) => return,
            changed = activity.changed() => {
                if changed.is_err() {
                    // The service is gone, so the connection is ending anyway.
                    return std::future::pending().await;
                }
            }
        }
    }
}

/// Open connections per source key (see [`source_key`]).
type SourceCounts = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// The connection caps. A [`Ticket`] is held for as long as a connection is open.
struct Admission {
    total: Arc<Semaphore>,
    per_source: SourceCounts,
    max_per_source: usize,
    exempt: Vec<IpNet>,
}

impl Admission {
    fn new(limits: &ConnectionLimits) -> Self {
        Self {
            total: Arc::new(Semaphore::new(limits.max_connections)),
            per_source: Arc::default(),
            max_per_source: limits.max_connections_per_ip,
            exempt: limits.trusted_proxies.clone(),
        }
    }

    /// A ticket for a new connection from `ip`, or `None` when a cap is reached.
    fn admit(&self, ip: IpAddr) -> Option<Ticket> {
        let permit = Arc::clone(&self.total).try_acquire_owned().ok()?;
        let ip = canonical(ip);
        if self.exempt.iter().any(|net| net.contains(&ip)) {
            return Some(Ticket {
                _permit: permit,
                source: None,
            });
        }
        let source = source_key(ip);
        let mut counts = self
            .per_source
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(source).or_insert(0);
        if *count >= self.max_per_source {
            return None;
        }
        *count += 1;
        Some(Ticket {
            _permit: permit,
            source: Some((source, Arc::clone(&self.per_source))),
        })
    }
}

/// An admitted connection; gives its places back when dropped.
struct Ticket {
    _permit: OwnedSemaphorePermit,
    source: Option<(IpAddr, SourceCounts)>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some((source, counts)) = &self.source {
            let mut counts = counts.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(count) = counts.get_mut(source) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    counts.remove(source);
                }
            }
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// What the per-source cap counts: the address, or for IPv6 its /64 (one subscriber's
/// allocation, so a host cannot dodge the cap by rotating through its own prefix).
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_ip: usize) -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: total,
            max_connections_per_ip: per_ip,
            http2_max_streams: 100,
            trusted_proxies: vec!["10.0.0.1/32".parse().unwrap()],
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn per_source_cap_counts_addresses_and_ipv6_prefixes() {
        let admission = Admission::new(&limits(100, 2));
        let a1 = admission.admit(ip("192.0.2.1")).unwrap();
        let _a2 = admission.admit(ip("::ffff:192.0.2.1")).unwrap();
        assert!(admission.admit(ip("192.0.2.1")).is_none());
        assert!(admission.admit(ip("192.0.2.2")).is_some());
        drop(a1);
        assert!(
            admission.admit(ip("192.0.2.1")).is_some(),
            "a closed connection gives its place back"
        );
        let _b1 = admission.admit(ip("2001:db8:1:2::1")).unwrap();
        let _b2 = admission.admit(ip("2001:db8:1:2:ffff::9")).unwrap();
        assert!(
            admission.admit(ip("2001:db8:1:2::77")).is_none(),
            "same /64"
        );
        assert!(admission.admit(ip("2001:db8:1:3::1")).is_some());
    }

    #[test]
    fn global_cap_and_exempt_proxies() {
        let admission = Admission::new(&limits(3, 1));
        let p1 = admission.admit(ip("10.0.0.1")).unwrap();
        let _p2 = admission.admit(ip("10.0.0.1")).unwrap();
        let _c = admission.admit(ip("192.0.2.1")).unwrap();
        assert!(
            admission.admit(ip("192.0.2.9")).is_none(),
            "the global cap holds for everyone"
        );
        drop(p1);
        assert!(admission.admit(ip("192.0.2.9")).is_some());
        assert!(
            admission.per_source.lock().unwrap().len() <= 2,
            "proxies are not counted per source"
        );
    }
}

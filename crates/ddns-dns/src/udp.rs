//! The UDP fast path: datagrams in, [`respond`] from the published snapshot, datagrams out.
//!
//! On Unix every worker is an OS thread doing blocking `recv_from`/`send_to` on its own
//! socket, as Knot and NSD do: on Linux each worker has its own socket bound to the same
//! address with `SO_REUSEPORT`, so the kernel spreads clients over the sockets and no worker
//! waits on another's socket; elsewhere on Unix (where `SO_REUSEPORT` does not balance
//! datagrams) the workers share one socket. A worker reuses its buffers, so answering a query
//! allocates nothing; each answer passes the response rate limiter (`rrl.rs`) on its way out. What `respond` defers (signed messages, IXFR, UPDATE) goes to
//! [`DnsService::handle`] on the tokio runtime, bounded by a semaphore, and is answered from
//! the same socket by that task.
//!
//! Blocking threads cannot be aborted: each socket has a short read timeout and the workers
//! check a stop flag between datagrams, which [`UdpWorkers`] sets when it is stopped or
//! dropped.
//!
//! Elsewhere (Windows) the tokio path stays: `udp_workers` tasks receive on one socket.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(unix)]
use std::time::Duration;
use std::time::Instant;

use arc_swap::ArcSwap;
use ddns_core::snapshot::ZoneSet;
use socket2::{Protocol, Socket, Type};
use tokio::runtime::Handle;
use tokio::sync::Semaphore;

use crate::answer::respond;
use crate::metrics::{DnsMetrics, WorkerMetrics};
use crate::request::{Action, Outcome, Request, Transport};
use crate::rrl::{ResponseLimiter, Verdict, truncate_for_slip};
use crate::service::{DnsService, MessageSink};

/// Deferred UDP requests (signed, IXFR, UPDATE) handled at once; more are dropped, as a
/// server under load drops datagrams.
const MAX_DEFERRED_UDP: usize = 64;

/// How long a worker thread blocks in `recv_from` before it looks at the stop flag: the most
/// a stop waits for an idle worker.
#[cfg(unix)]
const RECV_TIMEOUT: Duration = Duration::from_millis(200);

/// What every UDP worker answers from.
#[derive(Clone)]
pub(crate) struct UdpContext {
    pub(crate) zones: Arc<ArcSwap<ZoneSet>>,
    pub(crate) service: Arc<DnsService>,
    deferred: Arc<Semaphore>,
    pub(crate) payload: u16,
    /// Response rate limiting, when on.
    rrl: Option<Arc<ResponseLimiter>>,
    /// Counters, when metrics are on.
    metrics: Option<Arc<DnsMetrics>>,
}

impl UdpContext {
    pub(crate) fn new(
        zones: Arc<ArcSwap<ZoneSet>>,
        service: Arc<DnsService>,
        payload: u16,
        rrl: Option<Arc<ResponseLimiter>>,
        metrics: Option<Arc<DnsMetrics>>,
    ) -> Self {
        Self {
            zones,
            service,
            deferred: Arc::new(Semaphore::new(MAX_DEFERRED_UDP)),
            payload,
            rrl,
            metrics,
        }
    }

    /// Answers one datagram and counts it in the worker's own block (when metrics are on):
    /// two clock reads and a few atomic stores, nothing shared with other workers.
    fn answer_counted(
        &self,
        request: &Request<'_>,
        out: &mut Vec<u8>,
        counters: Option<&WorkerMetrics>,
    ) -> Outcome {
        let Some(counters) = counters else {
            return self.answer(request, out, None);
        };
        let started = Instant::now();
        let outcome = self.answer(request, out, Some(counters));
        if !outcome.deferred_to_service() {
            counters.record(&outcome, started.elapsed());
        }
        outcome
    }

    /// Answers one datagram into `out`: what [`respond`] wrote, after rate limiting (a
    /// limited answer is cut to its slip form or not sent). The outcome says whether to send
    /// `out` or defer the request.
    fn answer(
        &self,
        request: &Request<'_>,
        out: &mut Vec<u8>,
        counters: Option<&WorkerMetrics>,
    ) -> Outcome {
        let zones = self.zones.load();
        let outcome = respond(&zones, request, self.payload, out);
        let Some(rrl) = self.rrl.as_deref().filter(|_| outcome.replies()) else {
            return outcome;
        };
        match rrl.check(request.peer.ip(), &outcome, out, &zones) {
            Verdict::Send => outcome,
            Verdict::Slip => {
                if let Some(c) = counters {
                    c.rrl_slipped();
                }
                truncate_for_slip(out);
                Outcome {
                    len: out.len(),
                    truncated: true,
                    ..outcome
                }
            }
            Verdict::Drop => {
                if let Some(c) = counters {
                    c.rrl_dropped();
                }
                Outcome {
                    action: Action::Drop,
                    len: 0,
                    ..outcome
                }
            }
        }
    }
}

/// A UDP socket for `addr`, bound, joinable by [`join`] where workers have a socket each.
pub(crate) fn bind(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    let socket = new_socket(addr)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Another socket on the address `first` is bound to, sharing its datagrams (`SO_REUSEPORT`).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn join(first: &std::net::UdpSocket) -> io::Result<std::net::UdpSocket> {
    bind(first.local_addr()?)
}

fn new_socket(addr: SocketAddr) -> io::Result<Socket> {
    let socket = crate::listener::socket(addr, Type::DGRAM, Protocol::UDP)?;
    // Set on every socket of the group before it is bound, the first one included. A second
    // server of the same user on the same port would share UDP silently, but its TCP bind
    // (no SO_REUSEPORT) still fails, so start-up still fails.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    socket.set_reuse_port(true)?;
    Ok(socket)
}

/// The running UDP workers of every address. Stopping or dropping it tells them to stop; a
/// worker thread notices within [`RECV_TIMEOUT`] (on Windows the workers are tasks, aborted).
#[derive(Debug, Default)]
pub(crate) struct UdpWorkers {
    stop: Arc<AtomicBool>,
    #[cfg(unix)]
    threads: Vec<std::thread::JoinHandle<()>>,
    #[cfg(not(unix))]
    tasks: tokio::task::JoinSet<()>,
}

impl UdpWorkers {
    /// Starts `workers` blocking threads serving `socket` (and, on Linux, the sockets that
    /// join it, one per thread). Must be called within the tokio runtime that deferred
    /// requests go to.
    #[cfg(unix)]
    pub(crate) fn start(
        &mut self,
        socket: std::net::UdpSocket,
        workers: usize,
        context: &UdpContext,
    ) -> io::Result<()> {
        let runtime = Handle::try_current().map_err(io::Error::other)?;
        let workers = workers.max(1);
        let mut sockets = vec![Arc::new(socket)];
        #[cfg(any(target_os = "linux", target_os = "android"))]
        for _ in 1..workers {
            sockets.push(Arc::new(join(&sockets[0])?));
        }
        for socket in &sockets {
            socket.set_nonblocking(false)?;
            socket.set_read_timeout(Some(RECV_TIMEOUT))?;
        }
        let port = sockets[0].local_addr()?.port();
        for worker in 0..workers {
            let socket = Arc::clone(&sockets[worker % sockets.len()]);
            let (context, runtime) = (context.clone(), runtime.clone());
            let stop = Arc::clone(&self.stop);
            let thread = std::thread::Builder::new()
                .name(format!("dns-udp-{port}-{worker}"))
                .spawn(move || serve_blocking(&socket, &context, &runtime, &stop))?;
            self.threads.push(thread);
        }
        Ok(())
    }

    /// Starts `workers` tasks receiving on `socket`.
    #[cfg(not(unix))]
    pub(crate) fn start(
        &mut self,
        socket: std::net::UdpSocket,
        workers: usize,
        context: &UdpContext,
    ) -> io::Result<()> {
        let socket = Arc::new(tokio::net::UdpSocket::from_std(socket)?);
        for _ in 0..workers.max(1) {
            self.tasks
                .spawn(serve_async(Arc::clone(&socket), context.clone()));
        }
        Ok(())
    }

    /// Tells the workers to stop and hands back their threads, to be joined off the runtime.
    pub(crate) fn stop(&mut self) -> Vec<std::thread::JoinHandle<()>> {
        self.stop.store(true, Ordering::Relaxed);
        #[cfg(not(unix))]
        {
            self.tasks.abort_all();
            Vec::new()
        }
        #[cfg(unix)]
        std::mem::take(&mut self.threads)
    }
}

impl Drop for UdpWorkers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(unix)]
fn serve_blocking(
    socket: &Arc<std::net::UdpSocket>,
    context: &UdpContext,
    runtime: &Handle,
    stop: &AtomicBool,
) {
    let mut buf = vec![0u8; 65_535];
    let mut out = Vec::with_capacity(1500);
    let counters = context.metrics.as_ref().map(|m| m.udp_worker());
    while !stop.load(Ordering::Relaxed) {
        let (len, peer) = match socket.recv_from(&mut buf) {
            Ok(received) => received,
            Err(e) if is_timeout(&e) => continue,
            Err(e) => {
                // ICMP errors from earlier sends surface here on some systems; keep serving.
                tracing::debug!(error = %e, "UDP receive failed");
                continue;
            }
        };
        let request = Request {
            message: &buf[..len],
            peer,
            transport: Transport::Udp,
        };
        let outcome = context.answer_counted(&request, &mut out, counters.as_deref());
        if outcome.deferred_to_service() {
            let sink = StdSink {
                socket: Arc::clone(socket),
                peer,
            };
            defer(context, runtime, &buf[..len], peer, sink);
        } else if outcome.replies()
            && let Err(e) = socket.send_to(&out, peer)
        {
            tracing::debug!(%peer, error = %e, "UDP send failed");
        }
    }
}

#[cfg(unix)]
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

#[cfg(not(unix))]
async fn serve_async(socket: Arc<tokio::net::UdpSocket>, context: UdpContext) {
    let runtime = Handle::current();
    let mut buf = vec![0u8; 65_535];
    let mut out = Vec::with_capacity(1500);
    let counters = context.metrics.as_ref().map(|m| m.udp_worker());
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(e) => {
                // Windows reports ICMP port unreachable from earlier sends here; keep serving.
                tracing::debug!(error = %e, "UDP receive failed");
                continue;
            }
        };
        let request = Request {
            message: &buf[..len],
            peer,
            transport: Transport::Udp,
        };
        let outcome = context.answer_counted(&request, &mut out, counters.as_deref());
        if outcome.deferred_to_service() {
            let sink = TokioSink {
                socket: Arc::clone(&socket),
                peer,
            };
            defer(&context, &runtime, &buf[..len], peer, sink);
        } else if outcome.replies()
            && let Err(e) = socket.send_to(&out, peer).await
        {
            tracing::debug!(%peer, error = %e, "UDP send failed");
        }
    }
}

/// Hands a request the fast path deferred to the service on the runtime, or drops it when
/// [`MAX_DEFERRED_UDP`] are already being handled.
fn defer<S: MessageSink + 'static>(
    context: &UdpContext,
    runtime: &Handle,
    message: &[u8],
    peer: SocketAddr,
    mut sink: S,
) {
    let Ok(permit) = Arc::clone(&context.deferred).try_acquire_owned() else {
        tracing::debug!(%peer, "too many deferred UDP requests; dropped");
        if let Some(m) = &context.metrics {
            m.udp_deferred_dropped();
        }
        return;
    };
    let message = message.to_vec();
    let (zones, service) = (context.zones.load_full(), Arc::clone(&context.service));
    let payload = context.payload;
    let metrics = context.metrics.clone();
    runtime.spawn(async move {
        let _permit = permit;
        let started = Instant::now();
        let request = Request {
            message: &message,
            peer,
            transport: Transport::Udp,
        };
        match service.handle(&zones, &request, payload, &mut sink).await {
            Ok(outcome) => {
                if let Some(m) = &metrics {
                    m.shared(Transport::Udp).record(&outcome, started.elapsed());
                }
            }
            Err(e) => tracing::debug!(%peer, error = %e, "UDP send failed"),
        }
    });
}

/// One UDP client's answer from a worker thread's (blocking) socket. A UDP send does not wait
/// for the peer; it blocks only while the socket's send buffer is full.
#[cfg(unix)]
struct StdSink {
    socket: Arc<std::net::UdpSocket>,
    peer: SocketAddr,
}

#[cfg(unix)]
impl MessageSink for StdSink {
    async fn send(&mut self, message: &[u8]) -> io::Result<()> {
        self.socket.send_to(message, self.peer).map(drop)
    }
}

/// One UDP client's answer from the tokio socket.
#[cfg(not(unix))]
struct TokioSink {
    socket: Arc<tokio::net::UdpSocket>,
    peer: SocketAddr,
}

#[cfg(not(unix))]
impl MessageSink for TokioSink {
    async fn send(&mut self, message: &[u8]) -> io::Result<()> {
        self.socket.send_to(message, self.peer).await.map(drop)
    }
}

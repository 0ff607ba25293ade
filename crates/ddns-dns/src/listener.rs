//! UDP and TCP listeners: sockets in, [`respond`] in the middle, sockets out.
//!
//! Sockets are bound before anything is served so a bad address fails start-up at once; with
//! port 0 the UDP socket picks the port and TCP takes the same one, so one `--dns-listen` gives
//! one address for both transports (the other UDP sockets of the address, one per worker on
//! Linux, join it when serving starts: `udp.rs`). TCP follows RFC 7766: length-prefixed messages, several
//! queries per connection, idle connections closed, answers that the client does not read
//! within a write timeout end the connection, and caps on concurrent connections overall and
//! per client address. Every message becomes a [`Request`] with its peer and transport.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use ddns_core::snapshot::ZoneSet;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::answer::respond;
use crate::metrics::DnsMetrics;
use crate::request::{Request, Transport};
use crate::rrl::{ResponseLimiter, RrlSettings};
use crate::service::{DnsService, MessageSink};
use crate::udp::{self, UdpContext, UdpWorkers};

/// Listener settings.
#[derive(Clone, Debug)]
pub struct DnsSettings {
    /// Largest UDP response for EDNS clients.
    pub udp_payload: u16,
    /// Idle TCP connections are closed after this long.
    pub tcp_idle_timeout: Duration,
    /// Concurrent TCP connections; more are closed at once.
    pub max_tcp_connections: usize,
    /// UDP workers per address: OS threads, each with its own socket on Linux (see
    /// `udp.rs`); tasks on one socket on Windows.
    pub udp_workers: usize,
    /// A response not written within this long closes the connection (clients that send
    /// queries and never read cannot hold a connection slot).
    pub tcp_write_timeout: Duration,
    /// Concurrent TCP connections from one address; more are closed at once.
    pub max_tcp_connections_per_ip: usize,
    /// Response rate limiting of UDP answers (TCP is never limited).
    pub rrl: RrlSettings,
    /// Where queries, connections and transfers are counted; `None` counts nothing (and
    /// reads no clock) on the query path.
    pub metrics: Option<Arc<DnsMetrics>>,
}

/// Bound, not yet serving, sockets.
#[derive(Debug)]
pub struct DnsListeners {
    sockets: Vec<(std::net::UdpSocket, std::net::TcpListener)>,
}

impl DnsListeners {
    /// Binds UDP and TCP on every address.
    pub fn bind(addrs: &[SocketAddr]) -> io::Result<Self> {
        let mut sockets = Vec::with_capacity(addrs.len());
        for addr in addrs {
            sockets.push(bind_pair(*addr)?);
        }
        Ok(Self { sockets })
    }

    /// The addresses actually bound (ports resolved when 0 was asked for).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.sockets
            .iter()
            .filter_map(|(udp, _)| udp.local_addr().ok())
            .collect()
    }

    /// Serves queries from the published snapshots until the returned [`DnsServing`] is shut
    /// down or dropped; what the fast path defers goes to `service`. Must be called within
    /// the tokio runtime: TCP and deferred requests run on it, UDP on threads of its own.
    pub fn serve(
        self,
        zones: Arc<ArcSwap<ZoneSet>>,
        service: Arc<DnsService>,
        settings: DnsSettings,
    ) -> io::Result<DnsServing> {
        let mut serving = DnsServing {
            tasks: JoinSet::new(),
            udp: UdpWorkers::default(),
        };
        let connections = Arc::new(Semaphore::new(settings.max_tcp_connections.max(1)));
        let udp_context = UdpContext::new(
            Arc::clone(&zones),
            Arc::clone(&service),
            settings.udp_payload,
            ResponseLimiter::new(&settings.rrl).map(Arc::new),
            settings.metrics.clone(),
        );
        for (udp, tcp) in self.sockets {
            serving.udp.start(udp, settings.udp_workers, &udp_context)?;
            let tcp = tokio::net::TcpListener::from_std(tcp)?;
            serving.tasks.spawn(serve_tcp(
                tcp,
                Arc::clone(&zones),
                Arc::clone(&service),
                settings.clone(),
                Arc::clone(&connections),
            ));
        }
        Ok(serving)
    }
}

/// What [`DnsListeners::serve`] started: TCP tasks on the runtime and UDP worker threads.
///
/// [`shutdown`](Self::shutdown) stops everything and waits until the UDP sockets are closed;
/// dropping it stops everything too, but UDP worker threads may then run for up to 200 ms
/// more (they cannot be aborted and notice a stop between reads).
#[derive(Debug)]
pub struct DnsServing {
    tasks: JoinSet<()>,
    udp: UdpWorkers,
}

impl DnsServing {
    /// Runs `task` alongside the listeners, stopped with them (the NOTIFY sender).
    pub fn spawn<F>(&mut self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task);
    }

    /// Stops serving: tasks aborted, UDP workers stopped and waited for.
    pub async fn shutdown(mut self) {
        self.tasks.abort_all();
        let threads = self.udp.stop();
        let joined = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        });
        let _ = joined.await;
        while self.tasks.join_next().await.is_some() {}
    }
}

fn bind_pair(addr: SocketAddr) -> io::Result<(std::net::UdpSocket, std::net::TcpListener)> {
    // With port 0, UDP picks a port and TCP must get the same; retry if TCP finds it taken.
    for _ in 0..16 {
        let udp = udp::bind(addr)?;
        let bound = udp.local_addr()?;
        let tcp = socket(bound, Type::STREAM, Protocol::TCP)?;
        tcp.set_reuse_address(true)?;
        match tcp.bind(&bound.into()) {
            Ok(()) => {
                tcp.listen(1024)?;
                return Ok((udp, tcp.into()));
            }
            Err(e) if addr.port() == 0 && e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        format!("no free port for UDP and TCP on {addr}"),
    ))
}

pub(crate) fn socket(addr: SocketAddr, kind: Type, protocol: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), kind, Some(protocol))?;
    if addr.is_ipv6() {
        // `[::]:53` and `0.0.0.0:53` can then both be configured.
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// Length-prefixed messages on a TCP connection (RFC 7766 §8), each within the write timeout.
struct TcpSink<'s> {
    stream: &'s mut tokio::net::TcpStream,
    timeout: Duration,
    framed: Vec<u8>,
}

impl MessageSink for TcpSink<'_> {
    async fn send(&mut self, message: &[u8]) -> io::Result<()> {
        let len = u16::try_from(message.len())
            .map_err(|_| io::Error::other("DNS message longer than 65535 octets"))?;
        self.framed.clear();
        self.framed.extend_from_slice(&len.to_be_bytes());
        self.framed.extend_from_slice(message);
        match tokio::time::timeout(self.timeout, self.stream.write_all(&self.framed)).await {
            Ok(written) => written,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "TCP client does not read its answers",
            )),
        }
    }
}

async fn serve_tcp(
    listener: tokio::net::TcpListener,
    zones: Arc<ArcSwap<ZoneSet>>,
    service: Arc<DnsService>,
    settings: DnsSettings,
    connections: Arc<Semaphore>,
) {
    let per_ip = Arc::new(PerIp::default());
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "TCP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let metrics = settings.metrics.clone();
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            tracing::debug!(%peer, "too many TCP connections; closing");
            if let Some(m) = &metrics {
                m.tcp_refused();
            }
            continue;
        };
        let Some(slot) = PerIp::enter(&per_ip, peer.ip(), settings.max_tcp_connections_per_ip)
        else {
            tracing::debug!(%peer, "too many TCP connections from this address; closing");
            if let Some(m) = &metrics {
                m.tcp_refused();
            }
            continue;
        };
        let open = metrics.map(OpenConnection::new);
        let zones = Arc::clone(&zones);
        let service = Arc::clone(&service);
        let settings = settings.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _slot = slot;
            let _open = open;
            if let Err(e) = serve_connection(stream, peer, zones, &service, &settings).await {
                tracing::debug!(%peer, error = %e, "TCP connection ended");
            }
        });
    }
}

async fn serve_connection(
    mut stream: tokio::net::TcpStream,
    peer: SocketAddr,
    zones: Arc<ArcSwap<ZoneSet>>,
    service: &DnsService,
    settings: &DnsSettings,
) -> io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut query = Vec::with_capacity(512);
    let mut out = Vec::with_capacity(1500);
    let mut framed = Vec::with_capacity(1502);
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(settings.tcp_idle_timeout, stream.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Ok(()), // idle
        }
        query.resize(usize::from(u16::from_be_bytes(len)), 0);
        match tokio::time::timeout(settings.tcp_idle_timeout, stream.read_exact(&mut query)).await {
            Ok(result) => {
                result?;
            }
            Err(_) => return Ok(()),
        }
        let request = Request {
            message: &query,
            peer,
            transport: Transport::Tcp,
        };
        let started = Instant::now();
        let outcome = respond(&zones.load(), &request, settings.udp_payload, &mut out);
        if outcome.deferred_to_service() {
            let mut sink = TcpSink {
                stream: &mut stream,
                timeout: settings.tcp_write_timeout,
                framed: std::mem::take(&mut framed),
            };
            let outcome = service
                .handle(
                    &zones.load_full(),
                    &request,
                    settings.udp_payload,
                    &mut sink,
                )
                .await?;
            if let Some(m) = &settings.metrics {
                m.shared(Transport::Tcp).record(&outcome, started.elapsed());
            }
            framed = sink.framed;
            continue;
        }
        if let Some(m) = &settings.metrics {
            m.shared(Transport::Tcp).record(&outcome, started.elapsed());
        }
        if !outcome.replies() {
            return Ok(());
        }
        framed.clear();
        framed.extend_from_slice(&u16::try_from(out.len()).unwrap_or(u16::MAX).to_be_bytes());
        framed.extend_from_slice(&out);
        match tokio::time::timeout(settings.tcp_write_timeout, stream.write_all(&framed)).await {
            Ok(written) => written?,
            Err(_) => {
                tracing::debug!(%peer, "TCP client does not read its answers; closing");
                return Ok(());
            }
        }
    }
}

/// One open TCP connection in the metrics, taken off when dropped.
struct OpenConnection(Arc<DnsMetrics>);

impl OpenConnection {
    fn new(metrics: Arc<DnsMetrics>) -> Self {
        metrics.tcp_accepted();
        Self(metrics)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.tcp_closed();
    }
}

/// Open TCP connections per client address.
#[derive(Default)]
struct PerIp {
    counts: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>,
}

/// One connection's place in [`PerIp`], given back when dropped.
struct PerIpSlot {
    table: Arc<PerIp>,
    ip: std::net::IpAddr,
}

impl PerIp {
    fn enter(table: &Arc<Self>, ip: std::net::IpAddr, max: usize) -> Option<PerIpSlot> {
        let mut counts = table
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = counts.entry(ip).or_insert(0);
        if *count >= max.max(1) {
            return None;
        }
        *count += 1;
        Some(PerIpSlot {
            table: Arc::clone(table),
            ip,
        })
    }
}

impl Drop for PerIpSlot {
    fn drop(&mut self) {
        let mut counts = self
            .table
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

//! Publishing with RFC 2136 UPDATE to a primary name server (BIND, Knot, PowerDNS, Windows
//! DNS, or a ddns server), signed with TSIG (RFC 8945).
//!
//! For each family the update sets, a plain query asks the server for the record's current
//! A or AAAA RRset; when every family already matches (values, and the TTL when one is
//! configured) nothing is sent. Otherwise one UPDATE message carries, per differing family,
//! the deletion of that RRset and the addition of the new one:
//!
//! ```text
//! RFC 2136 §2.5.2: One RR is added to the Update Section whose NAME and TYPE are those of the
//! RRset to be deleted. TTL must be specified as zero (0) and is otherwise not used by the
//! primary master. CLASS must be specified as ANY. RDLENGTH must be zero (0) and RDATA must
//! therefore be empty.
//! RFC 2136 §2.5.1: RRs are added to the Update Section whose NAME, TYPE, TTL, RDLENGTH and
//! RDATA are those being added, and CLASS is the same as the zone class.
//! ```
//! The server applies the message atomically (§3.4), so the name never goes without an
//! address. A and AAAA are separate RRsets: updating one never touches the other, and other
//! types at the name are left alone.
//!
//! Transport: UDP, retransmitted on loss, and TCP when the answer is truncated (TC) or the
//! message does not fit 512 octets (§3.8 lets a requestor use either). The TSIG is the
//! server's own implementation ([`ddns_dns::tsig`]); its answer's TSIG is verified, and a
//! BADKEY/BADSIG answer is reported as a credential error naming the key setting.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use ddns_core::record::DEFAULT_DYNAMIC_TTL;
use ddns_core::{CLASS_ANY, CLASS_IN, DomainName, Rcode, Rtype};
use ddns_dns::tsig::{self, Algorithm, Key, TsigError};
use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData, RecordType};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::outcome::{FatalKind, Outcome};
use crate::provider::{Capabilities, Provider, Update};
use crate::spec::{BuildContext, ProviderConfigError, Secret};

/// Fudge of our signatures: the clock difference the server may accept.
const FUDGE: u16 = 300;
/// How long one UDP attempt waits for an answer.
const UDP_WAIT: Duration = Duration::from_secs(2);
/// UDP attempts before giving up on the server.
const UDP_ATTEMPTS: u32 = 3;
/// The largest message sent over UDP (RFC 1035 §4.2.1 without EDNS).
const MAX_UDP: usize = 512;
const OPCODE_QUERY: u8 = 0;
const OPCODE_UPDATE: u8 = 5;

/// `type = "rfc2136"`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rfc2136Spec {
    /// The primary server, `host:port` (port 53 when omitted).
    pub server: String,
    /// The zone that holds the record.
    pub zone: String,
    /// The TSIG key's name, as the server knows it.
    #[serde(default)]
    pub key_name: Option<String>,
    /// `hmac-sha256` (default), `hmac-sha384` or `hmac-sha512`.
    #[serde(default)]
    pub key_algorithm: Option<String>,
    /// The key's secret, base64 as `tsig-keygen` / `keymgr` print it.
    #[serde(default)]
    pub key_secret: Option<Secret>,
}

impl Rfc2136Spec {
    pub(crate) fn build(
        &self,
        context: &BuildContext,
    ) -> Result<Rfc2136Provider, ProviderConfigError> {
        let server = parse_server(&self.server)?;
        let zone = DomainName::parse(&self.zone).map_err(|e| ProviderConfigError::Invalid {
            field: "zone",
            reason: e.to_string(),
        })?;
        if !context.record.is_at_or_below(&zone) {
            return Err(ProviderConfigError::Invalid {
                field: "zone",
                reason: format!("record {} is not in zone {zone}", context.record),
            });
        }
        let key = match (&self.key_name, &self.key_secret) {
            (Some(name), Some(secret)) => {
                let name = DomainName::parse(name).map_err(|e| ProviderConfigError::Invalid {
                    field: "key_name",
                    reason: e.to_string(),
                })?;
                let algorithm =
                    Algorithm::parse(self.key_algorithm.as_deref().unwrap_or("hmac-sha256"))
                        .map_err(|e| ProviderConfigError::Invalid {
                            field: "key_algorithm",
                            reason: e.to_string(),
                        })?;
                Some(Key::new(&name, algorithm, secret.expose()).map_err(|e| {
                    ProviderConfigError::Invalid {
                        field: "key_secret",
                        reason: e.to_string(),
                    }
                })?)
            }
            (None, None) if self.key_algorithm.is_none() => {
                tracing::warn!(
                    server = %self.server,
                    "rfc2136 updates of {} are not signed: anyone who can reach the server could send the same; set key_name and key_secret",
                    context.record
                );
                None
            }
            (None, _) => {
                return Err(ProviderConfigError::Missing {
                    field: "key_name",
                    hint: "the name of the TSIG key the server allows to update the record",
                });
            }
            (Some(_), None) => {
                return Err(ProviderConfigError::Missing {
                    field: "key_secret",
                    hint: "the base64 secret of the TSIG key (tsig-keygen or keymgr print it)",
                });
            }
        };
        Ok(Rfc2136Provider {
            server,
            server_text: self.server.trim().to_owned(),
            zone,
            key,
            timeout: context.http.timeout,
        })
    }
}

/// Where the server is: an address, or a host name looked up at each publish.
#[derive(Clone, Debug)]
enum Server {
    Addr(SocketAddr),
    Host(String, u16),
}

fn parse_server(text: &str) -> Result<Server, ProviderConfigError> {
    let text = text.trim();
    let bad = |reason: String| ProviderConfigError::Invalid {
        field: "server",
        reason,
    };
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(Server::Addr(addr));
    }
    if let Ok(ip) = text
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(Server::Addr(SocketAddr::new(ip, 53)));
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .map_err(|_| bad(format!("{port:?} is not a port number")))?,
        ),
        None => (text, 53),
    };
    DomainName::parse(host).map_err(|e| bad(format!("{host:?} is not a host name: {e}")))?;
    Ok(Server::Host(host.to_owned(), port))
}

/// A primary server that takes RFC 2136 updates.
pub struct Rfc2136Provider {
    server: Server,
    server_text: String,
    zone: DomainName,
    key: Option<Key>,
    timeout: Duration,
}

impl fmt::Debug for Rfc2136Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rfc2136Provider")
            .field("server", &self.server_text)
            .field("zone", &self.zone.as_str())
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// One family's wanted state.
struct Family {
    rtype: Rtype,
    addresses: Vec<IpAddr>,
}

#[async_trait]
impl Provider for Rfc2136Provider {
    fn name(&self) -> &str {
        "rfc2136"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            ipv4: true,
            ipv6: true,
            address_lists: true,
            ttl: true,
            keeps_omitted_family: true,
        }
    }

    async fn publish(&self, update: &Update) -> Outcome {
        let mut families = Vec::new();
        if let Some(v4) = update.ipv4.as_deref().filter(|l| !l.is_empty()) {
            let mut addresses: Vec<IpAddr> = v4.iter().copied().map(IpAddr::V4).collect();
            addresses.sort_unstable();
            addresses.dedup();
            families.push(Family {
                rtype: Rtype::A,
                addresses,
            });
        }
        if let Some(v6) = update.ipv6.as_deref().filter(|l| !l.is_empty()) {
            let mut addresses: Vec<IpAddr> = v6.iter().copied().map(IpAddr::V6).collect();
            addresses.sort_unstable();
            addresses.dedup();
            families.push(Family {
                rtype: Rtype::AAAA,
                addresses,
            });
        }
        if families.is_empty() {
            return Outcome::Published { changed: false };
        }
        let server = match self.resolve().await {
            Ok(server) => server,
            Err(outcome) => return outcome,
        };
        let host = &update.hostname;
        let mut changes: Vec<(&Family, u32)> = Vec::new();
        for family in &families {
            let current = match self.current(server, host, family.rtype).await {
                Ok(current) => current,
                Err(outcome) => return outcome,
            };
            let ttl = update.ttl.or(current.ttl).unwrap_or(DEFAULT_DYNAMIC_TTL);
            let ttl_ok = update.ttl.is_none_or(|t| current.ttl == Some(t));
            if current.addresses == family.addresses && ttl_ok {
                continue;
            }
            changes.push((family, ttl));
        }
        if changes.is_empty() {
            tracing::debug!(host = %host, server = %server, "the server already has these addresses");
            return Outcome::Published { changed: false };
        }
        let id = random_id();
        let mut message = encode_update(id, &self.zone, host, &changes);
        let mac = match &self.key {
            Some(key) => match tsig::sign_request(key, &mut message, unix_now(), FUDGE) {
                Ok(mac) => Some(mac),
                Err(e) => {
                    return Outcome::fatal(
                        FatalKind::Config,
                        format!("cannot sign the UPDATE of {host}: {e}"),
                    );
                }
            },
            None => None,
        };
        tracing::debug!(host = %host, server = %server, families = changes.len(), "sending RFC 2136 UPDATE");
        let answer = match self.exchange(server, &message, id, OPCODE_UPDATE).await {
            Ok(answer) => answer,
            Err(outcome) => return outcome,
        };
        self.classify_update(&answer, mac.as_deref(), host)
    }
}

/// What the server has for one family.
#[derive(Debug, Default, PartialEq, Eq)]
struct Current {
    /// Sorted, deduplicated.
    addresses: Vec<IpAddr>,
    ttl: Option<u32>,
}

impl Rfc2136Provider {
    async fn resolve(&self) -> Result<SocketAddr, Outcome> {
        match &self.server {
            Server::Addr(addr) => Ok(*addr),
            Server::Host(host, port) => match tokio::net::lookup_host((host.as_str(), *port)).await
            {
                Ok(mut addrs) => addrs.next().ok_or_else(|| {
                    Outcome::transient(format!("the server name {host} has no address"))
                }),
                Err(e) => Err(Outcome::transient(format!(
                    "cannot look up the server {host}: {e}"
                ))),
            },
        }
    }

    /// The RRset of `rtype` at `host` as the server answers a plain query.
    async fn current(
        &self,
        server: SocketAddr,
        host: &DomainName,
        rtype: Rtype,
    ) -> Result<Current, Outcome> {
        let id = random_id();
        let query = encode_query(id, host, rtype);
        let answer = self.exchange(server, &query, id, OPCODE_QUERY).await?;
        let message = Message::from_vec(&answer).map_err(|e| {
            Outcome::transient(format!(
                "the answer of {server} to the query for {host} cannot be read: {e}"
            ))
        })?;
        let rcode = Rcode(u16::from(answer[3] & 0x0f));
        if rcode == Rcode::REFUSED {
            return Err(Outcome::fatal(
                FatalKind::Config,
                format!(
                    "{server} refused to answer a query for {host} (REFUSED): the server must let this host query zone {} (BIND: allow-query), and be authoritative for it",
                    self.zone
                ),
            ));
        }
        if rcode != Rcode::NOERROR && rcode != Rcode::NXDOMAIN {
            return Err(Outcome::transient(format!(
                "{server} answered the query for {host} with {}",
                rcode_name(rcode)
            )));
        }
        if !message.authoritative {
            return Err(Outcome::fatal(
                FatalKind::Config,
                format!(
                    "{server} is not authoritative for {host} (no AA bit): set server to the primary of zone {}",
                    self.zone
                ),
            ));
        }
        let qname = Name::from_ascii(host.to_fqdn()).map_err(|e| {
            Outcome::fatal(FatalKind::Config, format!("{host} is not a DNS name: {e}"))
        })?;
        let mut current = Current::default();
        for record in message.answers.iter().filter(|r| r.name == qname) {
            match (&record.data, record.record_type()) {
                (RData::A(a), RecordType::A) if rtype == Rtype::A => {
                    current.addresses.push(IpAddr::V4(a.0))
                }
                (RData::AAAA(a), RecordType::AAAA) if rtype == Rtype::AAAA => {
                    current.addresses.push(IpAddr::V6(a.0));
                }
                (RData::CNAME(target), _) => {
                    return Err(Outcome::fatal(
                        FatalKind::Config,
                        format!(
                            "{host} is a CNAME to {} on {server}, and A/AAAA records cannot sit beside it: remove the CNAME or publish another name",
                            target.0
                        ),
                    ));
                }
                _ => continue,
            }
            current.ttl = Some(current.ttl.map_or(record.ttl, |t| t.min(record.ttl)));
        }
        current.addresses.sort_unstable();
        current.addresses.dedup();
        Ok(current)
    }

    /// Sends `message` and returns the matching answer: UDP with retransmissions, TCP when the
    /// message is too long for UDP or the answer comes back truncated.
    async fn exchange(
        &self,
        server: SocketAddr,
        message: &[u8],
        id: u16,
        opcode: u8,
    ) -> Result<Vec<u8>, Outcome> {
        let work = async {
            if message.len() > MAX_UDP {
                return tcp_exchange(server, message, id, opcode).await;
            }
            match udp_exchange(server, message, id, opcode).await? {
                Some(answer) if answer[2] & 0x02 != 0 => {
                    tcp_exchange(server, message, id, opcode).await
                }
                Some(answer) => Ok(answer),
                None => Err(format!(
                    "{server} did not answer over UDP ({UDP_ATTEMPTS} attempts, {} s each)",
                    UDP_WAIT.as_secs()
                )),
            }
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(why)) => Err(Outcome::transient(why)),
            Err(_) => Err(Outcome::transient(format!(
                "{server} did not answer within {} s",
                self.timeout.as_secs()
            ))),
        }
    }

    /// Reads the answer to our UPDATE: its TSIG first, then its RCODE.
    fn classify_update(&self, answer: &[u8], mac: Option<&[u8]>, host: &DomainName) -> Outcome {
        let rcode = Rcode(u16::from(answer[3] & 0x0f));
        let key_name = self.key.as_ref().map(Key::name_text);
        let key_desc = key_name
            .as_deref()
            .map_or_else(|| "unsigned updates".to_owned(), |k| format!("key {k}"));
        if let (Some(key), Some(mac)) = (&self.key, mac) {
            match tsig::verify_response(key, answer, mac, unix_now()) {
                Ok(_) => {}
                Err(TsigError::PeerRejected { error }) => return self.rejected_key(error),
                Err(TsigError::Unsigned) if rcode == Rcode::NOTAUTH || rcode == Rcode::REFUSED => {
                    return Outcome::fatal(
                        FatalKind::Auth,
                        format!(
                            "{} refused the UPDATE of {host} signed with {key_desc} ({}) without saying why: check key_name, key_algorithm and key_secret, and that the server allows this key to update {host}",
                            self.server_text,
                            rcode_name(rcode)
                        ),
                    );
                }
                Err(TsigError::Unsigned) if rcode != Rcode::NOERROR => {
                    // An unsigned error answer can be forged, but it cannot make us believe
                    // anything was published: report it for what it says.
                }
                Err(e) => {
                    return Outcome::transient(format!(
                        "the answer of {} to the UPDATE of {host} failed TSIG verification ({e}); whether the update was applied is unknown",
                        self.server_text
                    ));
                }
            }
        }
        let server = &self.server_text;
        let zone = &self.zone;
        match rcode {
            Rcode::NOERROR => Outcome::Published { changed: true },
            Rcode::REFUSED => Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "{server} refused the UPDATE of {host} (REFUSED): its policy must let {key_desc} change the A/AAAA records of {host} (BIND: update-policy or allow-update; Knot: an acl with action update)"
                ),
            ),
            Rcode::NOTAUTH => Outcome::fatal(
                FatalKind::Config,
                format!(
                    "{server} is not authoritative for zone {zone} (NOTAUTH): check zone, and send updates to the zone's primary"
                ),
            ),
            Rcode::NOTZONE => Outcome::fatal(
                FatalKind::Config,
                format!("{server} says {host} is not in zone {zone} (NOTZONE): check zone"),
            ),
            Rcode::NOTIMP => Outcome::fatal(
                FatalKind::Config,
                format!(
                    "{server} does not implement UPDATE for zone {zone} (NOTIMP): enable dynamic updates on the server"
                ),
            ),
            Rcode::SERVFAIL => Outcome::transient(format!(
                "{server} failed to apply the UPDATE of {host} (SERVFAIL)"
            )),
            other => Outcome::fatal(
                FatalKind::Config,
                format!(
                    "{server} refused the UPDATE of {host} with {}: check the server's log",
                    rcode_name(other)
                ),
            ),
        }
    }

    fn rejected_key(&self, error: Rcode) -> Outcome {
        let server = &self.server_text;
        let key = self.key.as_ref().map(Key::name_text).unwrap_or_default();
        match error {
            Rcode::BADKEY => Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "{server} does not know TSIG key {key} with this algorithm (BADKEY): check key_name and key_algorithm against the server's key"
                ),
            ),
            Rcode::BADSIG => Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "{server} says the signature of key {key} is wrong (BADSIG): key_secret differs from the server's secret of this key"
                ),
            ),
            Rcode::BADTIME => Outcome::transient(format!(
                "{server} rejected the signature time (BADTIME): this host's clock and the server's differ by more than {FUDGE} s; fix time synchronisation"
            )),
            other => Outcome::fatal(
                FatalKind::Auth,
                format!(
                    "{server} rejected the signature of key {key} (TSIG error {}): check key_name, key_algorithm and key_secret",
                    rcode_name(other)
                ),
            ),
        }
    }
}

fn rcode_name(rcode: Rcode) -> String {
    rcode
        .mnemonic()
        .map_or_else(|| format!("RCODE {}", rcode.0), str::to_owned)
}

/// A non-recursive query for `rtype` at `host`.
fn encode_query(id: u16, host: &DomainName, rtype: Rtype) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[OPCODE_QUERY << 3, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    host.write_wire(&mut out);
    out.extend_from_slice(&rtype.0.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    out
}

/// An UPDATE of `zone` replacing, for each change, the RRset at `host` by the new addresses.
///
/// ```text
/// RFC 2136 §2.2: ZOCOUNT, PRCOUNT, UPCOUNT, ADCOUNT in place of QDCOUNT … ARCOUNT.
/// RFC 2136 §2.3: The zone section … ZTYPE must be SOA … ZCLASS is the zone's class.
/// ```
fn encode_update(
    id: u16,
    zone: &DomainName,
    host: &DomainName,
    changes: &[(&Family, u32)],
) -> Vec<u8> {
    let updates: usize = changes.iter().map(|(f, _)| 1 + f.addresses.len()).sum();
    let updates = u16::try_from(updates).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[OPCODE_UPDATE << 3, 0, 0, 1, 0, 0]);
    out.extend_from_slice(&updates.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    zone.write_wire(&mut out);
    out.extend_from_slice(&Rtype::SOA.0.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    let owner = host.to_wire();
    for (family, ttl) in changes {
        out.extend_from_slice(&owner);
        out.extend_from_slice(&family.rtype.0.to_be_bytes());
        out.extend_from_slice(&CLASS_ANY.to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        for address in &family.addresses {
            out.extend_from_slice(&owner);
            out.extend_from_slice(&family.rtype.0.to_be_bytes());
            out.extend_from_slice(&CLASS_IN.to_be_bytes());
            out.extend_from_slice(&ttl.to_be_bytes());
            match address {
                IpAddr::V4(a) => {
                    out.extend_from_slice(&4u16.to_be_bytes());
                    out.extend_from_slice(&a.octets());
                }
                IpAddr::V6(a) => {
                    out.extend_from_slice(&16u16.to_be_bytes());
                    out.extend_from_slice(&a.octets());
                }
            }
        }
    }
    out
}

/// Whether `answer` is the response to our message `id` with `opcode`.
fn is_answer(answer: &[u8], id: u16, opcode: u8) -> bool {
    answer.len() >= 12
        && answer[..2] == id.to_be_bytes()
        && answer[2] & 0x80 != 0
        && (answer[2] >> 3) & 0x0f == opcode
}

async fn udp_exchange(
    server: SocketAddr,
    message: &[u8],
    id: u16,
    opcode: u8,
) -> Result<Option<Vec<u8>>, String> {
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let io = |e: std::io::Error| format!("{server}: {e}");
    let socket = UdpSocket::bind(local).await.map_err(io)?;
    socket.connect(server).await.map_err(io)?;
    let mut buf = vec![0u8; 65_535];
    for _ in 0..UDP_ATTEMPTS {
        socket.send(message).await.map_err(io)?;
        let deadline = tokio::time::Instant::now() + UDP_WAIT;
        loop {
            match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
                Err(_) => break,
                // ICMP port unreachable: nothing listens there.
                Ok(Err(e)) => return Err(io(e)),
                Ok(Ok(len)) if is_answer(&buf[..len], id, opcode) => {
                    return Ok(Some(buf[..len].to_vec()));
                }
                Ok(Ok(_)) => {}
            }
        }
    }
    Ok(None)
}

async fn tcp_exchange(
    server: SocketAddr,
    message: &[u8],
    id: u16,
    opcode: u8,
) -> Result<Vec<u8>, String> {
    let io = |e: std::io::Error| format!("{server} (TCP): {e}");
    let mut stream = TcpStream::connect(server).await.map_err(io)?;
    let len = u16::try_from(message.len())
        .map_err(|_| "the message is longer than 65535 octets".to_owned())?;
    let mut framed = Vec::with_capacity(message.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(message);
    stream.write_all(&framed).await.map_err(io)?;
    loop {
        let len = stream.read_u16().await.map_err(io)?;
        let mut answer = vec![0u8; usize::from(len)];
        stream.read_exact(&mut answer).await.map_err(io)?;
        if is_answer(&answer, id, opcode) {
            return Ok(answer);
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn random_id() -> u16 {
    let mut id = [0u8; 2];
    if getrandom::fill(&mut id).is_err() {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        return (nanos & 0xffff) as u16;
    }
    u16::from_be_bytes(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ddns_core::dns_update::{UpdateOp, parse_update};
    use hickory_proto::op::MessageType;

    fn name(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    /// Our UPDATE as the server's own parser (ddns-core) reads it: one RRset deletion and the
    /// additions per family, nothing else.
    #[test]
    fn update_message_reads_back() {
        let v4 = Family {
            rtype: Rtype::A,
            addresses: vec!["192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap()],
        };
        let v6 = Family {
            rtype: Rtype::AAAA,
            addresses: vec!["2001:db8::1".parse().unwrap()],
        };
        let message = encode_update(
            7,
            &name("example.com"),
            &name("home.example.com"),
            &[(&v4, 60), (&v6, 120)],
        );
        let parsed = parse_update(&message, message.len()).unwrap();
        assert_eq!(parsed.zone, name("example.com"));
        assert!(parsed.prerequisites.is_empty());
        let ops: Vec<String> = parsed.updates.iter().map(|op| format!("{op:?}")).collect();
        assert_eq!(parsed.updates.len(), 5, "{ops:#?}");
        assert!(
            matches!(&parsed.updates[0], UpdateOp::DeleteRrset { rtype, .. } if *rtype == Rtype::A),
            "{ops:#?}"
        );
        assert!(
            matches!(&parsed.updates[3], UpdateOp::DeleteRrset { rtype, .. } if *rtype == Rtype::AAAA),
            "{ops:#?}"
        );
        assert!(
            parsed
                .updates
                .iter()
                .all(|op| op.name() == &name("home.example.com"))
        );
        let added: Vec<String> = parsed
            .updates
            .iter()
            .filter(|op| matches!(op, UpdateOp::Add { .. }))
            .map(|op| format!("{op:?}"))
            .collect();
        assert_eq!(added.len(), 3, "{ops:#?}");
    }

    #[test]
    fn query_message_is_a_plain_query() {
        let q = encode_query(0x1234, &name("h.example.com"), Rtype::AAAA);
        let m = Message::from_vec(&q).unwrap();
        assert_eq!(m.id, 0x1234);
        assert_eq!(m.message_type, MessageType::Query);
        assert!(!m.recursion_desired);
        assert_eq!(m.queries.len(), 1);
        assert_eq!(m.queries[0].query_type(), RecordType::AAAA);
        assert!(
            !is_answer(&q, 0x1234, OPCODE_QUERY),
            "a query is not an answer"
        );
    }

    #[test]
    fn servers_parse() {
        assert!(matches!(parse_server("127.0.0.1:5353"), Ok(Server::Addr(a)) if a.port() == 5353));
        assert!(matches!(parse_server("[::1]:53"), Ok(Server::Addr(a)) if a.ip().is_loopback()));
        assert!(matches!(parse_server("192.0.2.53"), Ok(Server::Addr(a)) if a.port() == 53));
        assert!(
            matches!(parse_server("ns1.example.com:5300"), Ok(Server::Host(h, 5300)) if h == "ns1.example.com")
        );
        assert!(parse_server("ns1.example.com:http").is_err());
        assert!(parse_server("bad host:53").is_err());
    }
}

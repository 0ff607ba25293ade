//! A blocking DNS client for tests: build a query with hickory-proto, send it over UDP or
//! TCP to loopback, decode the reply.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};

const TIMEOUT: Duration = Duration::from_secs(5);

/// A query message for `name`/`rtype` with RD=0, optionally with EDNS (payload 1232).
pub fn query(name: &str, rtype: RecordType, edns: bool) -> Vec<u8> {
    let mut m = Message::new(0x4242, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(Name::from_str(name).unwrap(), rtype));
    if edns {
        let mut e = Edns::new();
        e.set_max_payload(1232);
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

/// Sends raw bytes over UDP; `None` when nothing came back within a second.
pub fn udp_raw(server: SocketAddr, packet: &[u8]) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    socket.send_to(packet, server).unwrap();
    let mut buf = vec![0u8; 65_535];
    let (len, _) = socket.recv_from(&mut buf).ok()?;
    buf.truncate(len);
    Some(buf)
}

/// Sends one message over TCP and reads one reply.
pub fn tcp_raw(server: SocketAddr, packet: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect_timeout(&server, TIMEOUT).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut framed = u16::try_from(packet.len()).unwrap().to_be_bytes().to_vec();
    framed.extend_from_slice(packet);
    stream.write_all(&framed).unwrap();
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).unwrap();
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut reply).unwrap();
    reply
}

/// Queries over UDP and decodes, as a stub resolver does: a lost datagram is sent again (up
/// to three tries, a second each: a test that has just flooded the server's socket buffer may
/// lose its next query to the kernel), and a truncated reply is asked again over TCP (the
/// server's rate limiting slips answers to clients that poll quickly).
pub fn udp(server: SocketAddr, name: &str, rtype: RecordType) -> Message {
    let packet = query(name, rtype, true);
    let reply = (0..3)
        .find_map(|_| udp_raw(server, &packet))
        .expect("no UDP reply in three tries");
    let message = Message::from_vec(&reply).unwrap();
    if message.metadata.truncation {
        return tcp(server, name, rtype);
    }
    message
}

/// Queries over TCP and decodes.
pub fn tcp(server: SocketAddr, name: &str, rtype: RecordType) -> Message {
    Message::from_vec(&tcp_raw(server, &query(name, rtype, true))).unwrap()
}

/// The rdata of every answer record of `rtype`, as text.
pub fn answers(message: &Message, rtype: RecordType) -> Vec<String> {
    message
        .answers
        .iter()
        .filter(|r| r.record_type() == rtype)
        .map(|r| r.data.to_string())
        .collect()
}

/// The SOA serial in the answer or authority section.
pub fn soa_serial(message: &Message) -> Option<u32> {
    message
        .answers
        .iter()
        .chain(message.authorities.iter())
        .find_map(|r| match &r.data {
            hickory_proto::rr::RData::SOA(soa) => Some(soa.serial),
            _ => None,
        })
}

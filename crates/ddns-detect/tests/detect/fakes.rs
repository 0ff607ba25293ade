//! Minimal servers for the tests: just enough HTTP/1.1 and DNS to exercise the clients.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ddns_detect::{Family, Source, SourceSpec};
use hickory_proto::op::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// A request as the fake HTTP server saw it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the fake HTTP server answers.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) delay: Duration,
}

impl Reply {
    pub(crate) fn ok(body: impl Into<String>) -> Self {
        Self {
            status: 200,
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub(crate) fn status(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            ..Self::ok(body)
        }
    }
}

pub(crate) type Seen = Arc<Mutex<Vec<Request>>>;

/// Serves HTTP/1.1 on `bind` (port 0) with `handler`; returns the address and the requests.
pub(crate) async fn http_server<H>(bind: &str, handler: H) -> (SocketAddr, Seen)
where
    H: Fn(&Request) -> Reply + Send + Sync + 'static,
{
    let listener = TcpListener::bind(bind).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let handler = Arc::new(handler);
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let _ = serve_one(stream, handler.as_ref(), &log).await;
            });
        }
    });
    (addr, seen)
}

async fn serve_one<H>(mut stream: TcpStream, handler: &H, log: &Seen) -> std::io::Result<()>
where
    H: Fn(&Request) -> Reply,
{
    let mut data = Vec::new();
    let mut buf = [0; 4096];
    let head_end = loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let mut request = Request {
        method: first.next().unwrap_or("").to_owned(),
        path: first.next().unwrap_or("").to_owned(),
        ..Request::default()
    };
    for line in lines {
        if let Some((n, v)) = line.split_once(':') {
            request
                .headers
                .push((n.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let length: usize = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = data[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    request.body = String::from_utf8_lossy(&body).into_owned();
    log.lock().unwrap().push(request.clone());
    let reply = handler(&request);
    tokio::time::sleep(reply.delay).await;
    let response = format!(
        "HTTP/1.1 {} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        reply.status,
        reply.body.len(),
        reply.body
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// Answers DNS over UDP (and TCP on the same port) on `bind` with `answer`, which gets the
/// query and returns the messages to send back, in order (UDP) or the last one (TCP).
pub(crate) async fn dns_server<A>(bind: &str, answer: A) -> SocketAddr
where
    A: Fn(&Message, bool) -> Vec<Message> + Send + Sync + 'static,
{
    // The port UDP picks may be taken for TCP by another test: try again with a new one.
    let (udp, tcp) = {
        let mut attempt = 0;
        loop {
            let udp = UdpSocket::bind(bind).await.unwrap();
            match TcpListener::bind(udp.local_addr().unwrap()).await {
                Ok(tcp) => break (udp, tcp),
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && attempt < 32 => attempt += 1,
                Err(e) => panic!("no port free for both UDP and TCP: {e}"),
            }
        }
    };
    let addr = udp.local_addr().unwrap();
    let answer = Arc::new(answer);
    let on_udp = answer.clone();
    tokio::spawn(async move {
        let mut buf = vec![0; 4096];
        while let Ok((n, from)) = udp.recv_from(&mut buf).await {
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            for reply in on_udp(&query, false) {
                let _ = udp.send_to(&reply.to_vec().unwrap(), from).await;
            }
        }
    });
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = tcp.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let len = stream.read_u16().await.unwrap();
                let mut buf = vec![0; usize::from(len)];
                stream.read_exact(&mut buf).await.unwrap();
                let query = Message::from_vec(&buf).unwrap();
                if let Some(reply) = answer(&query, true).pop() {
                    let wire = reply.to_vec().unwrap();
                    let mut framed = u16::try_from(wire.len()).unwrap().to_be_bytes().to_vec();
                    framed.extend_from_slice(&wire);
                    stream.write_all(&framed).await.unwrap();
                }
            });
        }
    });
    addr
}

/// A validated source; panics on a spec error.
pub(crate) fn source(spec: SourceSpec, family: Family) -> Source {
    Source::from_spec(&spec, family).unwrap()
}

pub(crate) fn http(url: String) -> SourceSpec {
    SourceSpec::Http { url }
}

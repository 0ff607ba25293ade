//! A scripted HTTP/1.1 server on loopback: stands in for IP echo services, DynDNS2 services and
//! webhooks in tests. It records every request and answers with the current script.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as received.
#[derive(Clone, Debug)]
pub struct Request {
    /// Method.
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

impl Request {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A reply: status, extra headers, body.
#[derive(Clone, Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

#[derive(Default)]
struct Script {
    default: Option<Reply>,
    queue: VecDeque<Reply>,
    requests: Vec<Request>,
    delay: Duration,
}

/// The server; it stops serving when dropped (its listener thread ends with the process).
#[derive(Clone)]
pub struct FakeHttp {
    /// Where it listens.
    pub addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl FakeHttp {
    /// Starts on `127.0.0.1:0`, answering `200` with `body`.
    pub fn start(body: &str) -> Self {
        Self::start_on("127.0.0.1:0", body)
    }

    /// Starts on `bind` (e.g. `[::1]:0`), answering `200` with `body`.
    pub fn start_on(bind: &str, body: &str) -> Self {
        let listener = TcpListener::bind(bind).unwrap();
        let addr = listener.local_addr().unwrap();
        let script = Arc::new(Mutex::new(Script {
            default: Some(Reply {
                status: 200,
                headers: Vec::new(),
                body: body.to_owned(),
            }),
            ..Script::default()
        }));
        let shared = Arc::clone(&script);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let script = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = serve(stream, &script);
                });
            }
        });
        Self { addr, script }
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, answer `status` with `body`.
    pub fn answer(&self, status: u16, body: &str) {
        self.script.lock().unwrap().default = Some(Reply {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
        });
    }

    /// From now on, answer with `reply`.
    pub fn answer_with(&self, reply: Reply) {
        self.script.lock().unwrap().default = Some(reply);
    }

    /// Answer the next request with `reply`, then go back to the default.
    pub fn answer_once(&self, reply: Reply) {
        self.script.lock().unwrap().queue.push_back(reply);
    }

    /// Wait this long before each answer.
    pub fn delay(&self, delay: Duration) {
        self.script.lock().unwrap().delay = delay;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.script.lock().unwrap().requests.clone()
    }
}

fn serve(stream: TcpStream, script: &Mutex<Script>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    {
        let Some(request) = read_request(&mut reader)? else {
            return Ok(());
        };
        let (reply, delay) = {
            let mut s = script.lock().unwrap();
            s.requests.push(request);
            let reply = s.queue.pop_front().or_else(|| s.default.clone());
            (reply, s.delay)
        };
        std::thread::sleep(delay);
        let Some(reply) = reply else { return Ok(()) };
        let mut out = format!(
            "HTTP/1.1 {} Scripted\r\ncontent-length: {}\r\nconnection: close\r\n",
            reply.status,
            reply.body.len()
        );
        for (n, v) in &reply.headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(&reply.body);
        let mut stream = reader.into_inner();
        stream.write_all(out.as_bytes())?;
        stream.flush()
    }
}

/// Reads one HTTP/1.1 request (line, headers, a `content-length` body); `None` at end of stream.
/// Shared by the loopback fakes of this crate.
pub(crate) fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((n, v)) = h.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    Ok(Some(Request {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }))
}

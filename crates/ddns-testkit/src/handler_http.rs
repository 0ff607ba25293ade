//! A loopback HTTP/1.1 server that answers each request with a function of it: the base of
//! stateful fakes of cloud APIs. One request per connection (`connection: close`).

use std::io::{BufReader, Write};

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use crate::fake_http::read_request;

pub use crate::fake_http::{Reply, Request};

/// Starts on `127.0.0.1:0`; every request goes to `handler`. The listener thread lives as long
/// as the process.
pub fn serve(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handler = Arc::clone(&handler);
            std::thread::spawn(move || {
                let _ = answer(stream, &*handler);
            });
        }
    });
    addr
}

fn answer(stream: TcpStream, handler: &dyn Fn(&Request) -> Reply) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let Some(request) = read_request(&mut reader)? else {
        return Ok(());
    };
    let reply = handler(&request);
    let mut out = format!(
        "HTTP/1.1 {} Fake\r\ncontent-length: {}\r\nconnection: close\r\n",
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

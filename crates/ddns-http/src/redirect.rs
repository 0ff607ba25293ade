//! The plain-HTTP listener of an HTTPS server (`[http] redirect_listen`): every request is
//! answered with `308 Permanent Redirect` to the same host and path over HTTPS, and nothing
//! else is served, so no token is accepted over plain HTTP there.
//!
//! 308 rather than 301: a client that follows it repeats its method and body (RFC 9110
//! §15.4.9), so a POST stays a POST. Clients that do not follow redirects fail visibly instead
//! of updating in clear text.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::uri::Authority;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The router of a redirect listener pointing at `https_port`.
pub(crate) fn redirect_app(https_port: u16) -> Router {
    Router::new().fallback(redirect).with_state(https_port)
}

async fn redirect(State(https_port): State<u16>, request: Request<Body>) -> Response {
    match location(&request, https_port) {
        Some(target) => (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, target)],
            "use HTTPS\n",
        )
            .into_response(),
        None => (
            StatusCode::BAD_REQUEST,
            "a Host header naming this server is needed to redirect to HTTPS\n",
        )
            .into_response(),
    }
}

/// `https://HOST[:PORT]/PATH?QUERY` for the request, the port left out when it is 443.
fn location(request: &Request<Body>, https_port: u16) -> Option<HeaderValue> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(Authority::as_str))?;
    let authority: Authority = host.parse().ok()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let path = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let host = authority.host();
    let target = if https_port == 443 {
        format!("https://{host}{path}")
    } else {
        format!("https://{host}:{https_port}{path}")
    };
    HeaderValue::try_from(target).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(host: Option<&str>, uri: &str, port: u16) -> Option<String> {
        let mut request = Request::builder().uri(uri);
        if let Some(h) = host {
            request = request.header(header::HOST, h);
        }
        let request = request.body(Body::empty()).unwrap();
        location(&request, port).map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn keeps_host_path_and_query_and_swaps_the_port() {
        assert_eq!(
            located(
                Some("ddns.example.com"),
                "/nic/update?hostname=a&myip=1.2.3.4",
                443
            )
            .as_deref(),
            Some("https://ddns.example.com/nic/update?hostname=a&myip=1.2.3.4")
        );
        assert_eq!(
            located(Some("ddns.example.com:80"), "/", 8443).as_deref(),
            Some("https://ddns.example.com:8443/")
        );
        assert_eq!(
            located(Some("[2001:db8::1]:80"), "/x", 443).as_deref(),
            Some("https://[2001:db8::1]/x")
        );
        assert_eq!(
            located(None, "http://h.example:80/y", 443).as_deref(),
            Some("https://h.example/y")
        );
        assert_eq!(located(None, "/y", 443), None);
        assert_eq!(located(Some("bad host"), "/y", 443), None);
        assert_eq!(located(Some("user@evil.example"), "/y", 443), None);
    }
}

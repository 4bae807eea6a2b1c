//! A minimal HTTP/1.1 client for the status-page tests: one request per connection, the
//! status code and the body back (what the apps' `[web]` tests assert on).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// How long a request may take before the test fails (a failure guard, not a timing goal).
pub const GUARD: Duration = Duration::from_secs(60);

/// Sends `method path` with `body` (and `Authorization: Bearer <token>` when given) on a new
/// connection and returns the status code and the body.
///
/// # Panics
/// When the server cannot be reached, does not answer within [`GUARD`], or the answer is not
/// an HTTP status line (the test fails with the reason).
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("write to {addr}: {e}"));
    let mut out = Vec::new();
    tokio::time::timeout(GUARD, s.read_to_end(&mut out))
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no answer from {addr}"))
        .unwrap_or_else(|e| panic!("read from {addr}: {e}"));
    let text = String::from_utf8_lossy(&out).into_owned();
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: not an HTTP answer: {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |x| x.1).to_owned();
    (code, body)
}

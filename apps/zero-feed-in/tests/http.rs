//! The HTTP meter path: a minimal HTTP/1.1 GET against a local server answering as a Shelly
//! Pro 3EM (`/rpc/EM.GetStatus?id=0`) and a Shelly Gen1 (`/status`).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::std_instead_of_core
)]

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use voltwire_core::Watts;
use zero_feed_in::app::http_get;
use zero_feed_in::meter::{Reading, parse};

/// Serves each connection one response chosen by the request path.
async fn serve(listener: tokio::net::TcpListener) {
    loop {
        let (mut s, _) = listener.accept().await.unwrap();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 1024];
            let n = s.read(&mut buf).await.unwrap();
            let req = String::from_utf8_lossy(&buf[..n]).into_owned();
            let (status, body) = if req.starts_with("GET /rpc/EM.GetStatus?id=0 HTTP/1.1\r\n") {
                (
                    "200 OK",
                    r#"{"id":0,"a_act_power":120.5,"b_act_power":-80.0,"c_act_power":10.0,"total_act_power":50.5}"#,
                )
            } else if req.starts_with("GET /status HTTP/1.1\r\n") {
                ("200 OK", r#"{"emeters":[{"power":-250.0},{"power":40.0}]}"#)
            } else {
                ("404 Not Found", "{}")
            };
            let resp = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            s.write_all(resp.as_bytes()).await.unwrap();
        });
    }
}

#[tokio::test]
async fn shelly_gen2_and_gen1_over_http() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(serve(listener));
    let base = format!("http://127.0.0.1:{port}");
    let body = http_get(&format!("{base}/rpc/EM.GetStatus?id=0"))
        .await
        .unwrap();
    assert_eq!(parse(&Reading::ShellyEm, &body, false), Ok(Watts(51)));
    let body = http_get(&format!("{base}/status")).await.unwrap();
    assert_eq!(parse(&Reading::ShellyGen1, &body, false), Ok(Watts(-210)));
    let e = http_get(&format!("{base}/rpc/EM1.GetStatus?id=0"))
        .await
        .unwrap_err();
    assert!(e.contains("404"), "{e}");
    // Nothing listening: an error, not a hang.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = closed.local_addr().unwrap().port();
    drop(closed);
    assert!(
        http_get(&format!("http://127.0.0.1:{dead}/status"))
            .await
            .is_err()
    );
}

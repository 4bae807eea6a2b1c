//! The `web` server over a real socket: endpoints, SSE, and every kind of bad request
//! (one test each), each of which must leave the app's state unchanged.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::missing_panics_doc,
    reason = "test code"
)]

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use voltwire_runtime::mqtt::{self, Rejection};
use voltwire_runtime::web::{
    self, CommandRequest, Field, Form, LinkHealth, LinkStatus, Metrics, PageHints, Publisher,
    RateLimit, Snapshot, Token, WebConfig,
};

const TOKEN: &str = "test-token-0123456789";
/// A failure guard only: nothing here is expected to take long.
const GUARD: Duration = Duration::from_secs(20);

/// The app's command: a limit in A, 0 ..= 100.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SetLimit(f64);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    limit_a: f64,
}

/// The app's one validator (what its MQTT path would use too).
fn validate(name: &str, payload: &[u8]) -> Result<SetLimit, Rejection> {
    match name {
        "" => {
            let b: Body = mqtt::parse_json(payload)?;
            mqtt::check_range("limit_a", b.limit_a, 0.0, 100.0).map(SetLimit)
        }
        "limit_a" => mqtt::parse_number(name, payload, 0.0, 100.0).map(SetLimit),
        other => Err(Rejection::unknown_command(other)),
    }
}

struct Rig {
    addr: SocketAddr,
    publisher: Publisher,
    commands: Option<mpsc::Receiver<CommandRequest<SetLimit>>>,
    _server: tokio::task::JoinHandle<std::io::Result<()>>,
}

fn hints() -> PageHints {
    PageHints {
        title: "test app <b>".into(),
        forms: vec![Form {
            command: String::new(),
            label: "Set".into(),
            fields: vec![Field {
                key: "limit_a".into(),
                label: "Limit".into(),
                unit: "A".into(),
                min: 0.0,
                max: 100.0,
                step: 1.0,
                optional: false,
            }],
            fixed: serde_json::Map::new(),
        }],
        headline: Some(vec!["mode".into()]),
        stale_words: vec!["stale".into()],
    }
}

async fn rig(config: WebConfig, with_commands: bool) -> Rig {
    let config = WebConfig { port: 0, ..config };
    let (server, publisher, commands) =
        web::server(config, &hints(), with_commands.then_some(validate));
    let bound = server.bind().await.unwrap();
    let addr = bound.local_addr().unwrap();
    let server = tokio::spawn(bound.serve());
    Rig {
        addr,
        publisher,
        commands,
        _server: server,
    }
}

fn config() -> WebConfig {
    WebConfig {
        token: Some(Token::new(TOKEN).unwrap()),
        ..WebConfig::default()
    }
}

fn snapshot(mode: &str, v: f64) -> Snapshot {
    let mut metrics = Metrics::new();
    metrics.gauge("voltwire_battery_voltage_volts", "Voltage", &[], Some(v));
    Snapshot {
        state: json!({ "mode": mode, "voltage_v": v, "inputs": [{ "name": "bms1", "status": "active", "age_s": 0.5 }] }),
        links: vec![LinkHealth {
            name: "bms1".into(),
            kind: "input".into(),
            status: LinkStatus::Up,
            age_s: Some(0.5),
        }],
        metrics,
    }
}

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
}

/// One HTTP/1.1 request with `Connection: close`; reads the whole answer.
async fn http(addr: SocketAddr, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Reply {
    tokio::time::timeout(GUARD, async {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        if !headers
            .iter()
            .any(|h| h.to_ascii_lowercase().starts_with("host:"))
        {
            req.push_str("Host: 127.0.0.1\r\n");
        }
        for h in headers {
            req.push_str(h);
            req.push_str("\r\n");
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        // A refused request may be answered before the body is read: ignore a reset here.
        let _ = s.write_all(body).await;
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw).await;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        Reply {
            status,
            headers: head.to_ascii_lowercase(),
            body: body.to_owned(),
        }
    })
    .await
    .expect("the server answers")
}

async fn get(addr: SocketAddr, path: &str) -> Reply {
    http(addr, "GET", path, &[], b"").await
}

async fn post(addr: SocketAddr, path: &str, token: Option<&str>, body: &[u8]) -> Reply {
    let auth = token.map(|t| format!("Authorization: Bearer {t}"));
    let headers: Vec<&str> = auth.iter().map(String::as_str).collect();
    http(addr, "POST", path, &headers, body).await
}

/// Nothing reached the app.
fn nothing_applied(r: &mut Rig) {
    if let Some(c) = &mut r.commands {
        assert!(c.try_recv().is_err(), "a refused request reached the app");
    }
}

/// Run the app's side: apply every command (store the limit), answer with it.
fn apply_commands(r: &mut Rig) -> tokio::sync::watch::Receiver<Option<f64>> {
    let mut rx = r.commands.take().unwrap();
    let (tx, seen) = tokio::sync::watch::channel(None);
    tokio::spawn(async move {
        while let Some(req) = rx.recv().await {
            let SetLimit(v) = req.command;
            if v > 90.0 {
                // The app's own second check (e.g. the engine's bounds) refuses.
                req.respond(Err(Rejection::new(
                    "refused",
                    "above what the app takes now",
                )));
            } else {
                tx.send_replace(Some(v));
                req.respond(Ok(json!({ "limit_a": v })));
            }
        }
    });
    seen
}

#[tokio::test]
async fn page_is_self_contained_with_hints_and_no_cors() {
    let r = rig(config(), true).await;
    let p = get(r.addr, "/").await;
    assert_eq!(p.status, 200);
    assert!(
        p.headers.contains("content-type: text/html"),
        "{}",
        p.headers
    );
    assert!(
        p.headers
            .contains("content-security-policy: default-src 'none'")
    );
    assert!(!p.headers.contains("access-control-allow-origin"));
    assert!(
        !p.body.contains("http://") && !p.body.contains("https://"),
        "external reference in the page"
    );
    assert!(!p.body.contains("VOLTWIRE_HINTS"), "hints not filled in");
    // The title is escaped in HTML and `<` is escaped inside the script.
    assert!(p.body.contains("<title>test app &lt;b&gt;</title>"));
    assert!(
        p.body.contains(r#""title":"test app \u003cb>""#),
        "hints JSON"
    );
    assert!(p.body.contains(r#""commands":true"#));
}

#[tokio::test]
async fn state_health_and_metrics_follow_the_publisher() {
    let r = rig(config(), false).await;
    assert_eq!(get(r.addr, "/api/state").await.json(), Value::Null);
    let h = get(r.addr, "/api/health").await;
    assert_eq!(h.status, 503);
    assert_eq!(h.json()["status"], "starting");

    r.publisher.publish(snapshot("normal", 52.5));
    let s = get(r.addr, "/api/state").await;
    assert_eq!(s.status, 200);
    assert!(s.headers.contains("application/json"));
    assert!(!s.headers.contains("access-control-allow-origin"));
    assert_eq!(s.json()["voltage_v"], 52.5);
    let h = get(r.addr, "/api/health").await;
    assert_eq!(h.status, 200);
    let hj = h.json();
    assert_eq!(hj["status"], "running");
    assert_eq!(hj["links"][0]["name"], "bms1");
    assert_eq!(hj["links"][0]["status"], "up");
    assert_eq!(hj["links_up"], true);
    let m = get(r.addr, "/metrics").await;
    assert_eq!(m.status, 200);
    assert!(
        m.headers.contains("text/plain; version=0.0.4"),
        "{}",
        m.headers
    );
    assert!(
        m.body.contains(
            "# TYPE voltwire_battery_voltage_volts gauge\nvoltwire_battery_voltage_volts 52.5\n"
        ),
        "{}",
        m.body
    );
    assert!(
        m.body
            .contains("# TYPE voltwire_web_snapshot_age_seconds gauge")
    );
}

#[tokio::test]
async fn health_reports_a_stalled_app() {
    let r = rig(
        WebConfig {
            stall_after: Duration::ZERO,
            ..config()
        },
        false,
    )
    .await;
    r.publisher.publish(snapshot("normal", 52.0));
    // Any time at all since the publication is longer than zero.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let h = get(r.addr, "/api/health").await;
    assert_eq!(h.status, 503);
    assert_eq!(h.json()["status"], "stalled");
}

/// The `data:` payloads of SSE events in `raw`.
fn events(raw: &str) -> Vec<Value> {
    raw.lines()
        .filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect()
}

#[tokio::test]
async fn sse_pushes_changes_and_repeats_unchanged_state() {
    let r = rig(config(), false).await;
    r.publisher.publish(snapshot("normal", 51.0));
    let mut s = TcpStream::connect(r.addr).await.unwrap();
    s.write_all(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut raw = String::new();
    let mut buf = [0u8; 4096];
    let mut read_until = async |raw: &mut String, n: usize| {
        tokio::time::timeout(GUARD, async {
            while events(raw).len() < n {
                let k = s.read(&mut buf).await.unwrap();
                assert!(k > 0, "the event stream ended");
                raw.push_str(&String::from_utf8_lossy(&buf[..k]));
            }
        })
        .await
        .expect("events arrive");
    };
    read_until(&mut raw, 1).await;
    assert!(
        raw.to_ascii_lowercase()
            .contains("content-type: text/event-stream")
    );
    assert!(raw.contains("event: state"));
    let first = events(&raw)[0].clone();
    assert_eq!(first["state"]["voltage_v"], 51.0);
    assert_eq!(first["links"][0]["name"], "bms1");
    r.publisher.publish(snapshot("degraded", 50.0));
    read_until(&mut raw, 2).await;
    let second = events(&raw)[1].clone();
    assert_eq!(second["state"]["mode"], "degraded");
    assert_eq!(second["seq"].as_u64(), first["seq"].as_u64().map(|x| x + 1));
    // Nothing new is published: the same snapshot comes again (at least every second).
    read_until(&mut raw, 3).await;
    let third = events(&raw)[2].clone();
    assert_eq!(third["seq"], second["seq"]);
    assert_eq!(third["state"], second["state"]);
}

#[tokio::test]
async fn a_valid_command_reaches_the_app_and_its_answer_the_client() {
    let mut r = rig(config(), true).await;
    let seen = apply_commands(&mut r);
    let a = post(r.addr, "/api/command", Some(TOKEN), br#"{"limit_a": 42}"#).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.json(),
        json!({ "ok": true, "result": { "limit_a": 42.0 } })
    );
    assert_eq!(*seen.borrow(), Some(42.0));
    let a = post(r.addr, "/api/command/limit_a", Some(TOKEN), b"7").await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(*seen.borrow(), Some(7.0));
}

#[tokio::test]
async fn malformed_json_is_400_bad_json() {
    let mut r = rig(config(), true).await;
    let a = post(r.addr, "/api/command", Some(TOKEN), b"{limit_a: 4").await;
    assert_eq!(a.status, 400);
    assert_eq!(a.error(), "bad_json");
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .contains("key must be a string"),
        "{}",
        a.body
    );
    nothing_applied(&mut r);
}

#[tokio::test]
async fn unknown_field_is_400_naming_it() {
    let mut r = rig(config(), true).await;
    let a = post(r.addr, "/api/command", Some(TOKEN), br#"{"limit": 4}"#).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.error(), "unknown_field");
    assert!(a.body.contains("limit"));
    nothing_applied(&mut r);
}

#[tokio::test]
async fn unknown_command_is_404() {
    let mut r = rig(config(), true).await;
    let a = post(r.addr, "/api/command/max_power", Some(TOKEN), b"1").await;
    assert_eq!(a.status, 404);
    assert_eq!(a.error(), "unknown_command");
    assert!(a.body.contains("max_power"));
    nothing_applied(&mut r);
}

#[tokio::test]
async fn out_of_range_is_422_naming_field_and_range() {
    let mut r = rig(config(), true).await;
    let a = post(
        r.addr,
        "/api/command",
        Some(TOKEN),
        br#"{"limit_a": 100.5}"#,
    )
    .await;
    assert_eq!(a.status, 422);
    assert_eq!(a.error(), "out_of_range");
    let msg = a.json()["message"].as_str().unwrap().to_owned();
    assert!(msg.contains("limit_a") && msg.contains("0..=100"), "{msg}");
    nothing_applied(&mut r);
}

#[tokio::test]
async fn missing_token_is_401() {
    let mut r = rig(config(), true).await;
    let a = post(r.addr, "/api/command", None, br#"{"limit_a": 4}"#).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.error(), "missing_token");
    assert!(a.headers.contains("www-authenticate: bearer"));
    nothing_applied(&mut r);
}

#[tokio::test]
async fn wrong_token_is_401() {
    let mut r = rig(config(), true).await;
    for t in ["test-token-0123456788", "test-token-01234567890", "x"] {
        let a = post(r.addr, "/api/command", Some(t), br#"{"limit_a": 4}"#).await;
        assert_eq!(a.status, 401, "{t}");
        assert_eq!(a.error(), "wrong_token");
    }
    nothing_applied(&mut r);
}

#[tokio::test]
async fn no_configured_token_turns_commands_off() {
    let mut r = rig(WebConfig::default(), true).await;
    let a = post(r.addr, "/api/command", Some(TOKEN), br#"{"limit_a": 4}"#).await;
    assert_eq!(a.status, 403);
    assert_eq!(a.error(), "commands_disabled");
    assert!(a.body.contains("web.token"));
    nothing_applied(&mut r);
    let p = get(r.addr, "/").await;
    assert!(p.body.contains(r#""commands":false"#));
}

#[tokio::test]
async fn too_large_body_is_413() {
    let mut r = rig(
        WebConfig {
            body_limit: 64,
            ..config()
        },
        true,
    )
    .await;
    let big = format!(r#"{{"limit_a": 4{}}}"#, " ".repeat(100));
    let a = post(r.addr, "/api/command", Some(TOKEN), big.as_bytes()).await;
    assert_eq!(a.status, 413);
    assert_eq!(a.error(), "body_too_large");
    assert!(a.body.contains("64 bytes"));
    nothing_applied(&mut r);
}

#[tokio::test]
async fn too_many_requests_is_429() {
    let mut r = rig(
        WebConfig {
            // No refill: the fourth request is over the limit however slow the machine.
            rate_limit: RateLimit {
                per_second: 0,
                burst: 3,
            },
            ..config()
        },
        true,
    )
    .await;
    for _ in 0..3 {
        assert_eq!(get(r.addr, "/api/state").await.status, 200);
    }
    let a = post(r.addr, "/api/command", Some(TOKEN), br#"{"limit_a": 4}"#).await;
    assert_eq!(a.status, 429);
    assert_eq!(a.error(), "rate_limited");
    assert!(a.headers.contains("retry-after: 1"));
    nothing_applied(&mut r);
    assert_eq!(get(r.addr, "/api/state").await.status, 429);
}

#[tokio::test]
async fn the_apps_refusal_is_409_and_nothing_changes() {
    let mut r = rig(config(), true).await;
    let seen = apply_commands(&mut r);
    let a = post(r.addr, "/api/command", Some(TOKEN), br#"{"limit_a": 95}"#).await;
    assert_eq!(a.status, 409);
    assert_eq!(a.error(), "refused");
    assert_eq!(*seen.borrow(), None);
}

#[tokio::test]
async fn protected_reads_need_the_token_but_the_page_does_not() {
    let r = rig(
        WebConfig {
            protect_reads: true,
            ..config()
        },
        false,
    )
    .await;
    r.publisher.publish(snapshot("normal", 52.0));
    for path in ["/api/state", "/api/events", "/api/health", "/metrics"] {
        let a = get(r.addr, path).await;
        assert_eq!(a.status, 401, "{path}");
        assert_eq!(a.error(), "missing_token");
    }
    let wrong = http(
        r.addr,
        "GET",
        "/api/state",
        &["Authorization: Bearer nope-nope-nope-nope"],
        b"",
    )
    .await;
    assert_eq!(wrong.status, 401);
    let ok = http(
        r.addr,
        "GET",
        "/api/state",
        &[&format!("Authorization: Bearer {TOKEN}")],
        b"",
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["mode"], "normal");
    assert_eq!(get(r.addr, "/").await.status, 200);
}

#[tokio::test]
async fn unknown_paths_and_methods_are_json_errors() {
    let r = rig(config(), true).await;
    let a = get(r.addr, "/api/nothing").await;
    assert_eq!(a.status, 404);
    assert_eq!(a.error(), "not_found");
    let a = get(r.addr, "/api/command").await;
    assert_eq!(a.status, 405);
    assert_eq!(a.error(), "method_not_allowed");
}

#[tokio::test]
async fn a_port_in_use_is_an_error_naming_the_address_and_fix() {
    let r = rig(config(), false).await;
    let (server, _p, _c) = web::server(
        WebConfig {
            port: r.addr.port(),
            ..config()
        },
        &hints(),
        None::<fn(&str, &[u8]) -> Result<SetLimit, Rejection>>,
    );
    let e = server.bind().await.unwrap_err();
    assert!(
        e.contains(&r.addr.to_string()) && e.contains("web.port"),
        "{e}"
    );
}

#[tokio::test]
async fn event_streams_are_limited_and_a_closed_one_frees_its_place() {
    let r = rig(
        WebConfig {
            max_event_clients: 1,
            ..config()
        },
        false,
    )
    .await;
    r.publisher.publish(snapshot("normal", 52.0));
    let open = async || {
        let mut s = TcpStream::connect(r.addr).await.unwrap();
        s.write_all(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(GUARD, s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        (s, String::from_utf8_lossy(&buf[..n]).into_owned())
    };
    let (first, head) = open().await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let second = http(r.addr, "GET", "/api/events", &[], b"").await;
    assert_eq!(second.status, 503);
    assert_eq!(second.error(), "too_many_clients");
    drop(first);
    // The server notices the closed stream at its next event (at most a second or so).
    tokio::time::timeout(GUARD, async {
        loop {
            let (_s, head) = open().await;
            if head.starts_with("HTTP/1.1 200") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the place of a closed stream is freed");
}

#[tokio::test]
async fn spawn_serves_on_its_own_thread_until_dropped() {
    let (server, publisher, _c) = web::server(
        WebConfig {
            port: 0,
            ..config()
        },
        &hints(),
        None::<fn(&str, &[u8]) -> Result<SetLimit, Rejection>>,
    );
    let bound = server.bind().await.unwrap();
    let addr = bound.local_addr().unwrap();
    let serving = bound.spawn().unwrap();
    publisher.publish(snapshot("normal", 53.0));
    assert_eq!(get(addr, "/api/state").await.json()["voltage_v"], 53.0);
    drop(serving);
    tokio::time::timeout(GUARD, async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the server stops when its handle is dropped");
}

#[tokio::test]
async fn another_host_name_on_a_loopback_server_is_421() {
    let mut r = rig(config(), true).await;
    r.publisher.publish(snapshot("normal", 52.0));
    // A page that renamed 127.0.0.1 (DNS rebinding) can neither read nor command.
    let a = http(
        r.addr,
        "GET",
        "/api/state",
        &["Host: evil.example:8080"],
        b"",
    )
    .await;
    assert_eq!(a.status, 421);
    assert_eq!(a.error(), "wrong_host");
    assert!(a.body.contains("127.0.0.1"));
    let a = http(
        r.addr,
        "POST",
        "/api/command",
        &[
            "Host: evil.example",
            &format!("Authorization: Bearer {TOKEN}"),
        ],
        br#"{"limit_a": 4}"#,
    )
    .await;
    assert_eq!(a.status, 421);
    nothing_applied(&mut r);
    let ok = http(r.addr, "GET", "/api/state", &["Host: localhost:8080"], b"").await;
    assert_eq!(ok.status, 200);
}

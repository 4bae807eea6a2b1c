//! The shared status page, JSON API and metrics of every app (feature `web`, axum).
//!
//! An app gives three things and gets an HTTP server:
//! - a [`Publisher`] it feeds with a [`Snapshot`] whenever its state changes (its JSON state,
//!   same keys as its MQTT state; a health line per link; its [`Metrics`]), or with a closure
//!   over a copy of its data ([`Publisher::publish_with`]) that the server runs on its own
//!   thread when a client first reads it;
//! - optionally a command validator, the *same* function its MQTT command path uses
//!   (`Fn(name, payload) -> Result<C, Rejection>`); validated commands arrive as
//!   [`CommandRequest`]s on a channel, the app applies them and answers each;
//! - [`PageHints`]: a title and the command forms the page offers.
//!
//! Endpoints: `GET /` (one self-contained page, no CDN), `GET /api/state`,
//! `GET /api/events` (Server-Sent Events: the snapshot on change, at least every second),
//! `GET /api/health`, `GET /metrics` (Prometheus text format), `POST /api/command` (the app's
//! JSON command, as on MQTT `<base>/command`) and `POST /api/command/{name}` (as on
//! `<base>/command/{name}`).
//!
//! Rules: commands need `Authorization: Bearer <token>` (compared in constant time); without
//! a token the command endpoints answer `403 commands_disabled`. Read endpoints are open
//! unless [`WebConfig::protect_reads`]. No CORS headers (a foreign page can neither read the
//! state nor send the token). Bodies above [`WebConfig::body_limit`] get `413`, a client
//! above its [`RateLimit`] gets `429`. Every error is JSON: `{"error": code, "message": …}`.
//! On a loopback bind, a request for another host name (DNS rebinding) gets `421
//! wrong_host`. A refused request changes nothing.
//!
//! ```rust,no_run
//! use serde_json::json;
//! use voltwire_runtime::mqtt::{self, Rejection};
//! use voltwire_runtime::web::{self, Metrics, PageHints, Snapshot, Token, WebConfig};
//!
//! /// The app's one command validator, shared with its MQTT command path.
//! fn validate(name: &str, payload: &[u8]) -> Result<f64, Rejection> {
//!     match name {
//!         "limit_a" => mqtt::parse_number(name, payload, 0.0, 100.0),
//!         other => Err(Rejection::unknown_command(other)),
//!     }
//! }
//!
//! async fn run() -> Result<(), String> {
//!     let config = WebConfig { token: Some(Token::new("a-long-random-token")?), ..WebConfig::default() };
//!     let hints = PageHints { title: "my app".into(), ..PageHints::default() };
//!     let (server, publisher, commands) = web::server(config, &hints, Some(validate));
//!     let bound = server.bind().await?; // "web: cannot listen on 127.0.0.1:8080: …; fix: …"
//!     // On a thread of its own, so no request delays the app's loop. `serving` resolves
//!     // when the server ends (always an error to report: select! on it); dropping it stops it.
//!     let _serving = bound.spawn().map_err(|e| e.to_string())?;
//!     let mut commands = commands.ok_or("validator given")?;
//!     let mut limit = 50.0;
//!     loop {
//!         // The app publishes its state whenever it changes (same keys as on MQTT) …
//!         let mut metrics = Metrics::new();
//!         metrics.gauge("voltwire_limit_amperes", "The limit, A", &[], Some(limit));
//!         publisher.publish(Snapshot { state: json!({ "limit_a": limit }), links: vec![], metrics });
//!         // (`publish_with(move || build(&copy))` defers the build to the server's thread.)
//!         // … and applies the validated commands, answering each.
//!         let Some(req) = commands.recv().await else { return Ok(()) };
//!         limit = req.command;
//!         req.respond(Ok(json!({ "limit_a": limit })));
//!     }
//! }
//! ```

mod metrics;
mod section;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

pub use self::metrics::{Kind, Metrics};
pub use self::section::{TOKEN_PLACEHOLDER, WebSection, template_with_token};
use crate::mqtt::Rejection;

/// The page: HTML, CSS and JS in one file, embedded in the binary.
const PAGE: &str = include_str!("page.html");
/// Where the page takes the app's hints (a JSON object).
const HINTS_MARK: &str = "/*VOLTWIRE_HINTS*/null";

/// How many requests a client (by IP address) may make: a bucket of `burst` requests,
/// refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: u32,
    /// Requests allowed at once.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            per_second: 20,
            burst: 40,
        }
    }
}

/// A bearer token. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

/// Shortest token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

impl Token {
    /// A token from text: at least [`MIN_TOKEN_LEN`] visible ASCII characters, no spaces
    /// (surrounding whitespace, e.g. a file's newline, is trimmed).
    ///
    /// # Errors
    /// What is wrong with it, for a message that names the field.
    pub fn new(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.len() < MIN_TOKEN_LEN {
            return Err(format!(
                "the token has {} characters, fewer than {MIN_TOKEN_LEN}",
                t.len()
            ));
        }
        if !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("the token holds a space or a non-ASCII character".to_owned());
        }
        Ok(Self(t.to_owned()))
    }

    /// The token text (to write it into a configuration).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A new random token: 32 bytes from the operating system's random source, as 64 hex
    /// digits.
    ///
    /// # Errors
    /// When `/dev/urandom` cannot be read.
    pub fn generate() -> std::io::Result<Self> {
        use std::io::Read as _;
        let mut b = [0u8; 32];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
        let hex = b.iter().fold(String::with_capacity(64), |mut s, x| {
            use std::fmt::Write as _;
            let _ = write!(s, "{x:02x}");
            s
        });
        Ok(Self(hex))
    }

    /// Compare with `given` in time independent of where they differ.
    pub fn matches(&self, given: &[u8]) -> bool {
        let want = self.0.as_bytes();
        // Every byte of `want` is looked at whatever `given` is; a length difference is
        // folded into the same accumulator.
        let mut diff = u8::from(want.len() != given.len());
        for (i, w) in want.iter().enumerate() {
            let g = given.get(i).copied().unwrap_or(0);
            diff |= w ^ g;
        }
        std::hint::black_box(diff) == 0
    }
}

/// The server's settings (an app's `[web]` section, validated).
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Address to listen on; 127.0.0.1 by default (this machine only).
    pub bind: IpAddr,
    /// TCP port (0: any free port; see [`Bound::local_addr`]).
    pub port: u16,
    /// The bearer token; `None` turns the command endpoints off.
    pub token: Option<Token>,
    /// Require the token on the read endpoints too (`/api/*`, `/metrics`; the page itself
    /// holds no data and stays open).
    pub protect_reads: bool,
    /// Largest request body, bytes.
    pub body_limit: usize,
    /// Requests per client.
    pub rate_limit: RateLimit,
    /// `/api/health` answers 503 when the app published nothing for this long.
    pub stall_after: Duration,
    /// Most `/api/events` streams open at once; one more gets `503 too_many_clients`.
    pub max_event_clients: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8080,
            token: None,
            protect_reads: false,
            body_limit: 4096,
            rate_limit: RateLimit::default(),
            stall_after: Duration::from_secs(10),
            max_event_clients: 64,
        }
    }
}

/// The state of one link (bus, port, broker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// Connected and current.
    Up,
    /// Connected but its data is too old.
    Stale,
    /// Not connected.
    Down,
}

/// One line of `/api/health`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkHealth {
    /// The link's name (an input, an output, `mqtt`).
    pub name: String,
    /// What it is: `input`, `output`, `broker`, …
    pub kind: String,
    /// Its status.
    pub status: LinkStatus,
    /// Age of its latest data, s, when known.
    pub age_s: Option<f64>,
}

/// What the app publishes.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The app's JSON state, same keys as its MQTT state.
    pub state: Value,
    /// One entry per link.
    pub links: Vec<LinkHealth>,
    /// The metrics.
    pub metrics: Metrics,
}

/// A snapshot to build from the app's data.
type Source = Box<dyn FnOnce() -> Snapshot + Send>;

struct Published {
    /// The app's builder, until the first reader runs it (on the server's thread).
    source: Mutex<Option<Source>>,
    snapshot: std::sync::OnceLock<Snapshot>,
    at: Instant,
    /// Serial number (0 = nothing published yet).
    seq: u64,
    /// The state and the links as JSON text, rendered once by the first reader (not by the
    /// app's publishing call, not once per client).
    state_text: std::sync::OnceLock<String>,
    links_text: std::sync::OnceLock<String>,
}

impl std::fmt::Debug for Published {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Published")
            .field("seq", &self.seq)
            .field("built", &self.snapshot.get().is_some())
            .finish_non_exhaustive()
    }
}

impl Published {
    fn new(source: Source, seq: u64) -> Self {
        Self {
            source: Mutex::new(Some(source)),
            snapshot: std::sync::OnceLock::new(),
            at: Instant::now(),
            seq,
            state_text: std::sync::OnceLock::new(),
            links_text: std::sync::OnceLock::new(),
        }
    }

    fn snapshot(&self) -> &Snapshot {
        self.snapshot.get_or_init(|| {
            let f = self
                .source
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            f.map(|f| f()).unwrap_or_default()
        })
    }

    fn state_text(&self) -> &str {
        self.state_text
            .get_or_init(|| self.snapshot().state.to_string())
    }

    fn links_text(&self) -> &str {
        self.links_text.get_or_init(|| {
            serde_json::to_string(&self.snapshot().links).unwrap_or_else(|_| "[]".to_owned())
        })
    }
}

/// The app's end: publish each new [`Snapshot`].
#[derive(Debug)]
pub struct Publisher {
    tx: watch::Sender<Arc<Published>>,
}

impl Publisher {
    /// Publish a new snapshot (replaces the previous one; SSE clients are woken).
    pub fn publish(&self, snapshot: Snapshot) {
        self.publish_with(move || snapshot);
    }

    /// Publish a snapshot that `build` makes when a client first asks for it, on the
    /// server's thread: the app hands over a copy of its data (e.g. a clone of its state)
    /// and pays neither for JSON nor for metrics on its own thread, nor at all while nobody
    /// reads. Ages in it are those of the moment of publishing (`snapshot_age_s` tells how
    /// long ago that was).
    pub fn publish_with(&self, build: impl FnOnce() -> Snapshot + Send + 'static) {
        let seq = self.tx.borrow().seq.wrapping_add(1);
        self.tx
            .send_replace(Arc::new(Published::new(Box::new(build), seq)));
    }
}

/// A number field of a command form on the page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// JSON key, e.g. `charge_current_limit_a`.
    pub key: String,
    /// Label.
    pub label: String,
    /// Unit shown next to it.
    pub unit: String,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Step of the input.
    pub step: f64,
    /// Leave it out of the JSON when empty.
    pub optional: bool,
}

/// A command form: its fields' values, plus `fixed`, are sent as one JSON object to
/// `POST /api/command` (or `/api/command/{command}` when `command` is not empty).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Form {
    /// The command name (`""`: the app's JSON command).
    pub command: String,
    /// Button label.
    pub label: String,
    /// Number fields.
    pub fields: Vec<Field>,
    /// Keys always sent (e.g. `{"clear": true}`).
    pub fixed: serde_json::Map<String, Value>,
}

/// What the page needs to know of the app beyond its state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PageHints {
    /// Page title (the app's name).
    pub title: String,
    /// Command forms (shown only when commands are on).
    pub forms: Vec<Form>,
    /// A top-level state key whose value is shown big in the header (e.g. `mode`).
    pub headline: Option<Vec<String>>,
    /// String values that mark an item as not current (greyed, flagged), e.g. `stale`.
    pub stale_words: Vec<String>,
}

/// The reply the app gives to a command: a JSON result, or a refusal.
pub type Reply = Result<Value, Rejection>;

/// A validated command on its way to the app, which applies it and answers with
/// [`CommandRequest::respond`] (or drops it: the client gets `503`).
#[derive(Debug)]
pub struct CommandRequest<C> {
    /// The validated command.
    pub command: C,
    reply: oneshot::Sender<Reply>,
}

impl<C> CommandRequest<C> {
    /// Answer the client (`200` with `Ok`'s JSON; `409` with the rejection).
    pub fn respond(self, reply: Reply) {
        let _ = self.reply.send(reply);
    }
}

type Dispatch = dyn Fn(&str, &[u8]) -> Result<Pin<Box<dyn Future<Output = Option<Reply>> + Send>>, Rejection>
    + Send
    + Sync;

struct Shared {
    config: WebConfig,
    page: String,
    snapshots: watch::Receiver<Arc<Published>>,
    dispatch: Option<Box<Dispatch>>,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
    counters: Mutex<HashMap<&'static str, u64>>,
    event_clients: Arc<std::sync::atomic::AtomicUsize>,
}

/// One open event stream: counted while it lives.
struct EventClient(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for EventClient {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// How long the server waits for the app to answer a command.
const REPLY_WAIT: Duration = Duration::from_secs(5);
/// Most clients tracked by the rate limiter (more: the table starts over).
const MAX_CLIENTS: usize = 4096;

/// Build a server: returns the server, the publisher for the app's snapshots and, when a
/// `validate` function is given, the receiver of validated commands.
///
/// `validate(name, payload)` is the app's one command validator (the one its MQTT command
/// path uses): `name` is `""` for `POST /api/command` and `{name}` for
/// `POST /api/command/{name}`.
#[allow(clippy::type_complexity, reason = "the three ends of one server")]
pub fn server<C, V>(
    config: WebConfig,
    hints: &PageHints,
    validate: Option<V>,
) -> (Server, Publisher, Option<mpsc::Receiver<CommandRequest<C>>>)
where
    C: Send + 'static,
    V: Fn(&str, &[u8]) -> Result<C, Rejection> + Send + Sync + 'static,
{
    let (tx, snapshots) = watch::channel(Arc::new(Published::new(Box::new(Snapshot::default), 0)));
    let (dispatch, commands) = match validate {
        Some(v) => {
            let (ctx, crx) = mpsc::channel::<CommandRequest<C>>(16);
            let d: Box<Dispatch> = Box::new(move |name: &str, body: &[u8]| {
                let command = v(name, body)?;
                let (reply, rx) = oneshot::channel();
                let ctx = ctx.clone();
                Ok(Box::pin(async move {
                    ctx.send(CommandRequest { command, reply }).await.ok()?;
                    rx.await.ok()
                }))
            });
            (Some(d), Some(crx))
        }
        None => (None, None),
    };
    let hints_json = serde_json::to_string(&json!({
        "title": hints.title,
        "forms": hints.forms,
        "headline": hints.headline,
        "stale_words": hints.stale_words,
        "commands": config.token.is_some() && dispatch.is_some(),
        "protect_reads": config.protect_reads,
    }))
    .unwrap_or_else(|_| "null".to_owned())
    // Inside <script>: no `</script>` can end it early.
    .replace('<', "\\u003c");
    let page = PAGE
        .replace(HINTS_MARK, &hints_json)
        .replace("VOLTWIRE_TITLE", &html_escape(&hints.title));
    let shared = Arc::new(Shared {
        config,
        page,
        snapshots,
        dispatch,
        buckets: Mutex::new(HashMap::new()),
        counters: Mutex::new(HashMap::new()),
        event_clients: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
    });
    (Server { shared }, Publisher { tx }, commands)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTTP server; [`Server::bind`] then [`Bound::serve`].
#[derive(Clone)]
pub struct Server {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

/// A server with its listening socket.
#[derive(Debug)]
pub struct Bound {
    server: Server,
    listener: TcpListener,
}

impl Server {
    /// Open the listening socket (`bind`:`port` of the config).
    ///
    /// # Errors
    /// A message naming the address and the fix (address in use, not an address of this
    /// machine, a port below 1024 without the right).
    pub async fn bind(self) -> Result<Bound, String> {
        let addr = SocketAddr::new(self.shared.config.bind, self.shared.config.port);
        match TcpListener::bind(addr).await {
            Ok(listener) => Ok(Bound {
                server: self,
                listener,
            }),
            Err(e) => Err(format!(
                "web: cannot listen on {addr}: {e}; fix: choose a free port (web.port) or an address of this machine (web.bind)"
            )),
        }
    }

    /// The router (for tests that drive it without a socket).
    pub fn router(&self) -> Router {
        let s = self.shared.clone();
        Router::new()
            .route("/", get(page))
            .route("/api/state", get(state))
            .route("/api/events", get(events))
            .route("/api/health", get(health))
            .route("/metrics", get(metrics))
            .route("/api/command", post(command_json))
            .route("/api/command/{name}", post(command_named))
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(middleware::from_fn_with_state(s.clone(), guard))
            .with_state(s)
    }
}

impl Bound {
    /// The address the server listens on.
    ///
    /// # Errors
    /// As `TcpListener::local_addr`.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve on a thread of its own (with its own single-threaded runtime), so that no
    /// request ever delays the app's loop (for can-gateway: the CAN path). The returned
    /// [`Serving`] resolves when the server ends, which is always an error to report
    /// (a failed listener or a panic); dropping it stops the server.
    ///
    /// # Errors
    /// When the thread or its runtime cannot be started.
    pub fn spawn(self) -> std::io::Result<Serving> {
        let listener = self.listener.into_std()?;
        listener.set_nonblocking(true)?;
        let app = self
            .server
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (done_tx, done) = oneshot::channel();
        let (stop, stop_rx) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("web".into())
            .spawn(move || {
                let r = rt.block_on(async move {
                    let l = TcpListener::from_std(listener)?;
                    tokio::select! {
                        r = axum::serve(l, app) => r,
                        _ = stop_rx => Ok(()),
                    }
                });
                let _ = done_tx.send(r);
            })?;
        Ok(Serving { done, _stop: stop })
    }

    /// Serve on the current runtime until the future is dropped.
    ///
    /// # Errors
    /// Only if the listener fails for good (axum retries accept errors itself).
    pub async fn serve(self) -> std::io::Result<()> {
        let app = self
            .server
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, app).await
    }
}

/// A server running on its own thread ([`Bound::spawn`]): await it to learn when (and why)
/// it ended; drop it to stop it.
#[derive(Debug)]
pub struct Serving {
    done: oneshot::Receiver<std::io::Result<()>>,
    _stop: oneshot::Sender<()>,
}

impl Future for Serving {
    type Output = std::io::Result<()>;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        Pin::new(&mut self.done).poll(cx).map(|r| {
            r.unwrap_or_else(|_| Err(std::io::Error::other("the web server thread panicked")))
        })
    }
}

/// A JSON error response.
fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "error": code, "message": message.into() }).to_string(),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

fn json_response(v: &Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

impl Shared {
    fn count(&self, what: &'static str) {
        let mut c = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        let n = c.entry(what).or_insert(0);
        *n = n.saturating_add(1);
    }

    /// Take one request from `ip`'s bucket.
    fn admit(&self, ip: IpAddr) -> bool {
        let RateLimit { per_second, burst } = self.config.rate_limit;
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if b.len() >= MAX_CLIENTS && !b.contains_key(&ip) {
            b.clear();
        }
        let (tokens, at) = b.entry(ip).or_insert((f64::from(burst), now));
        let refill = now.saturating_duration_since(*at).as_secs_f64() * f64::from(per_second);
        *tokens = (*tokens + refill).min(f64::from(burst));
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// `None` when the request carries the token, else the error response.
    fn authorize(&self, headers: &HeaderMap) -> Option<Response> {
        let Some(token) = &self.config.token else {
            return Some(error(
                StatusCode::FORBIDDEN,
                "commands_disabled",
                "no web token is configured, so control is off; fix: set web.token (or token_file / token_env)",
            ));
        };
        let given = headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes)
            .and_then(|h| h.strip_prefix(b"Bearer "));
        match given {
            None => Some(error(
                StatusCode::UNAUTHORIZED,
                "missing_token",
                "send the header `Authorization: Bearer <token>` (the token of web.token)",
            )),
            Some(g) if token.matches(g.trim_ascii()) => None,
            Some(_) => Some(error(
                StatusCode::UNAUTHORIZED,
                "wrong_token",
                "the bearer token does not match web.token",
            )),
        }
    }

    fn latest(&self) -> Arc<Published> {
        self.snapshots.borrow().clone()
    }
}

/// A `Host` header naming this machine's loopback: `localhost`, `127.x.y.z`, `[::1]`, with
/// or without a port. Anything else, on a loopback-only server, is a page that renamed the
/// address (DNS rebinding) and is refused.
fn loopback_host(host: &[u8]) -> bool {
    let Ok(h) = std::str::from_utf8(host) else {
        return false;
    };
    let name = if let Some(rest) = h.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        h.rsplit_once(':').map_or(h, |(n, _)| n)
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Rate limit, host check (loopback binds), read protection and the common headers, before
/// every handler.
async fn guard(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    // The peer address, when served with connect info (`Bound::serve` / `spawn`); a router
    // driven without a socket (tests) counts as one client.
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    if !s.admit(ip) {
        s.count("rate_limited");
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "more than {} requests per second from {}; slow down",
                s.config.rate_limit.per_second, ip
            ),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    }
    if s.config.bind.is_loopback() {
        if let Some(host) = req.headers().get(header::HOST) {
            if !loopback_host(host.as_bytes()) {
                s.count("wrong_host");
                return error(
                    StatusCode::MISDIRECTED_REQUEST,
                    "wrong_host",
                    format!(
                        "this server listens on {} only and answers requests for that address; open http://127.0.0.1:{}/ (a page of another origin cannot read it by renaming the address)",
                        s.config.bind, s.config.port
                    ),
                );
            }
        }
    }
    let path = req.uri().path();
    let read = path != "/" && !path.starts_with("/api/command");
    if read && s.config.protect_reads {
        if let Some(r) = s.authorize(req.headers()) {
            s.count("unauthorized");
            return r;
        }
    }
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

async fn page(State(s): State<Arc<Shared>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; frame-ancestors 'none'",
            ),
        ],
        s.page.clone(),
    )
        .into_response()
}

async fn state(State(s): State<Arc<Shared>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        s.latest().state_text().to_owned(),
    )
        .into_response()
}

/// The SSE payload: state, links and how old the snapshot is.
fn event_json(p: &Published) -> String {
    let age = (p.at.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    format!(
        "{{\"state\":{},\"links\":{},\"snapshot_age_s\":{age},\"seq\":{}}}",
        p.state_text(),
        p.links_text(),
        p.seq
    )
}

/// Shortest gap between two events to one client.
const EVENT_GAP: Duration = Duration::from_millis(200);
/// Longest gap: the snapshot is sent again even when unchanged.
const EVENT_EVERY: Duration = Duration::from_secs(1);

async fn events(State(s): State<Arc<Shared>>) -> Response {
    use std::sync::atomic::Ordering;
    let max = s.config.max_event_clients;
    let admitted = s
        .event_clients
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            (n < max).then_some(n + 1)
        })
        .is_ok();
    if !admitted {
        s.count("too_many_clients");
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_clients",
            format!("{max} event streams are open already; use /api/state, or try again later"),
        );
    }
    let client = EventClient(s.event_clients.clone());
    let mut rx = s.snapshots.clone();
    rx.mark_changed();
    let stream =
        futures_util::stream::unfold((rx, true, client), |(mut rx, first, client)| async move {
            if !first {
                tokio::time::sleep(EVENT_GAP).await;
                // A timeout sends the same snapshot again; a closed channel: the app is gone.
                if let Ok(Err(_)) = tokio::time::timeout(EVENT_EVERY, rx.changed()).await {
                    return None;
                }
            }
            let p = rx.borrow_and_update().clone();
            let ev = Event::default().event("state").data(event_json(&p));
            Some((Ok::<_, Infallible>(ev), (rx, false, client)))
        });
    Sse::new(stream).into_response()
}

async fn health(State(s): State<Arc<Shared>>) -> Response {
    let p = s.latest();
    let age = p.at.elapsed();
    let (status, word) = if p.seq == 0 {
        (StatusCode::SERVICE_UNAVAILABLE, "starting")
    } else if age > s.config.stall_after {
        (StatusCode::SERVICE_UNAVAILABLE, "stalled")
    } else {
        (StatusCode::OK, "running")
    };
    let all_up = p
        .snapshot()
        .links
        .iter()
        .all(|l| l.status == LinkStatus::Up);
    let body = json!({
        "status": word,
        "links_up": all_up,
        "snapshot_age_s": (age.as_secs_f64() * 1000.0).round() / 1000.0,
        "links": p.snapshot().links,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    let p = s.latest();
    let mut m = p.snapshot().metrics.clone();
    let mut own = Metrics::new();
    #[allow(clippy::cast_precision_loss, reason = "small")]
    own.gauge(
        "voltwire_web_snapshot_age_seconds",
        "Time since the app last published its state, s",
        &[],
        Some(p.at.elapsed().as_secs_f64()),
    );
    {
        let c = s.counters.lock().unwrap_or_else(PoisonError::into_inner);
        let mut keys: Vec<_> = c.iter().collect();
        keys.sort();
        for (reason, n) in keys {
            own.counter(
                "voltwire_web_refused_requests_total",
                "HTTP requests refused, by reason",
                &[("reason", reason)],
                *n,
            );
        }
    }
    m.extend(&own);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        m.render(),
    )
        .into_response()
}

async fn command_json(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    command(&s, "", &headers, body).await
}

async fn command_named(
    State(s): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    command(&s, &name, &headers, body).await
}

/// HTTP status of a validator's rejection.
fn rejection_status(code: &str) -> StatusCode {
    match code {
        "unknown_command" => StatusCode::NOT_FOUND,
        "invalid_value" | "out_of_range" => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::BAD_REQUEST,
    }
}

async fn command(s: &Shared, name: &str, headers: &HeaderMap, body: Body) -> Response {
    let Some(dispatch) = &s.dispatch else {
        s.count("commands_disabled");
        return error(
            StatusCode::FORBIDDEN,
            "commands_disabled",
            "this app takes no commands over HTTP",
        );
    };
    if let Some(r) = s.authorize(headers) {
        s.count("unauthorized");
        return r;
    }
    let limit = s.config.body_limit;
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is larger than {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        s.count("body_too_large");
        return too_large();
    }
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        s.count("body_too_large");
        return too_large();
    };
    let pending = match dispatch(name, &bytes) {
        Ok(p) => p,
        Err(r) => {
            s.count("invalid_command");
            return error(rejection_status(r.code), r.code, r.reason);
        }
    };
    match tokio::time::timeout(REPLY_WAIT, pending).await {
        Ok(Some(Ok(v))) => json_response(&json!({ "ok": true, "result": v })),
        Ok(Some(Err(r))) => {
            s.count("refused_by_app");
            error(StatusCode::CONFLICT, r.code, r.reason)
        }
        Ok(None) | Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_applied",
            "the app did not take the command (stopping or busy); nothing changed, try again",
        ),
    }
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see /, /api/state, /api/events, /api/health, /metrics, POST /api/command",
    )
}

async fn method_not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "wrong method: reads are GET, commands are POST",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "LOCALHOST:8080",
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.1.2.3:1",
            "[::1]",
            "[::1]:8080",
        ] {
            assert!(loopback_host(h.as_bytes()), "{h}");
        }
        for h in [
            "evil.example",
            "evil.example:8080",
            "10.0.0.1:8080",
            "[::2]:80",
            "localhost.evil.example",
            "",
            "\u{ff}",
        ] {
            assert!(!loopback_host(h.as_bytes()), "{h}");
        }
    }

    #[test]
    fn token_rules_and_compare() {
        assert!(Token::new("short").is_err());
        assert!(Token::new("has a space in the middle").is_err());
        let t = Token::new(" 0123456789abcdef\n").unwrap();
        assert_eq!(t.as_str(), "0123456789abcdef");
        assert!(t.matches(b"0123456789abcdef"));
        assert!(!t.matches(b"0123456789abcdeF"));
        assert!(!t.matches(b"0123456789abcde"));
        assert!(!t.matches(b"0123456789abcdef0"));
        assert!(!t.matches(b""));
        let g = Token::generate().unwrap();
        assert_eq!(g.as_str().len(), 64);
        assert!(Token::new(g.as_str()).is_ok());
        assert_ne!(g, Token::generate().unwrap());
        assert_eq!(format!("{g:?}"), "Token(…)");
    }
}

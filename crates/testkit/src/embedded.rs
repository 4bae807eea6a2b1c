//! A small MQTT 3.1.1 broker for tests, in-process, pure Rust.
//!
//! Why our own and not `rumqttd`: the reconnect tests kill the broker and start it again on
//! the same port, and `rumqttd` has no way to stop a running broker (its listener threads live
//! until the process exits); the tests also assert how a client left (clean DISCONNECT or a
//! closed socket), which needs a log we control. What this broker does, in the wording of
//! the MQTT 3.1.1 specification: CONNECT/CONNACK (clean sessions only: `session present` is
//! always 0, so clients re-subscribe), PUBLISH at `QoS` 0, 1 and 2 inbound, deliveries at
//! `QoS` 0 or 1 (SUBACK grants at most 1), retained messages (an empty retained payload
//! clears), the last will on any end that is not a DISCONNECT, wildcard filters (`+`, `#`,
//! `$`-topics not matched by a leading wildcard), UNSUBSCRIBE, PINGREQ, keep-alive timeout
//! (1.5 × the interval), client-id takeover, and TLS on a second listener.
//!
//! It runs on a thread of its own with a current-thread tokio runtime: [`Embedded::stop`]
//! ends the accept loops and drops the runtime, which closes every connection at once (as a
//! killed process would: no will is published, nothing is kept).
//!
//! Connection events are logged with Mosquitto's wording ("Received DISCONNECT from ID",
//! "Client ID disconnected.", "Client ID closed its connection.", …), so a test that reads
//! the broker log asserts the same lines against either broker.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, Write as _};
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_rustls::TlsAcceptor;

/// The largest packet accepted (remaining length); larger is a protocol error.
const MAX_PACKET: usize = 1 << 20;
/// How long a new connection may take to send CONNECT (and finish a TLS handshake).
const CONNECT_WAIT: Duration = Duration::from_secs(10);

/// A running embedded broker.
pub(crate) struct Embedded {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded")
            .field("running", &self.thread.is_some())
            .finish_non_exhaustive()
    }
}

impl Embedded {
    /// Binds 127.0.0.1:`port` (and the TLS listener) now, so the broker accepts connections
    /// when this returns, and serves on a thread of its own. The log is appended to `log`.
    pub(crate) fn start(
        port: u16,
        tls: Option<(u16, Arc<rustls::ServerConfig>)>,
        log: File,
    ) -> io::Result<Self> {
        let plain = bind(port)?;
        let tls = match tls {
            Some((p, config)) => Some((bind(p)?, TlsAcceptor::from(config))),
            None => None,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            log: Mutex::new(log),
        });
        shared.log(&format!(
            "embedded test broker listening on 127.0.0.1:{port}"
        ));
        let thread = std::thread::Builder::new()
            .name(format!("test-broker-{port}"))
            .spawn(move || {
                runtime.block_on(serve(plain, tls, shared, stop_rx));
                // Dropping the runtime here drops every connection task: all sockets close.
                drop(runtime);
            })?;
        Ok(Self {
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Stops serving; every connection is closed and the ports are free when this returns.
    pub(crate) fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.stop();
    }
}

fn bind(port: u16) -> io::Result<StdListener> {
    // std sets SO_REUSEADDR on Unix, so a restart can bind the port again at once.
    let l = StdListener::bind(("127.0.0.1", port))?;
    l.set_nonblocking(true)?;
    Ok(l)
}

async fn serve(
    plain: StdListener,
    tls: Option<(StdListener, TlsAcceptor)>,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    let Ok(plain) = TcpListener::from_std(plain) else {
        shared.log("cannot register the listener");
        return;
    };
    let (tls_listener, acceptor) = match tls {
        Some((l, a)) => {
            let Ok(l) = TcpListener::from_std(l) else {
                shared.log("cannot register the TLS listener");
                return;
            };
            (Some(l), Some(a))
        }
        None => (None, None),
    };
    loop {
        tokio::select! {
            _ = &mut stop => return,
            r = plain.accept() => {
                if let Ok((stream, peer)) = r {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(connection(stream, peer, Arc::clone(&shared)));
                }
            }
            r = accept_opt(tls_listener.as_ref()) => {
                if let (Ok((stream, peer)), Some(acceptor)) = (r, acceptor.clone()) {
                    let _ = stream.set_nodelay(true);
                    let shared = Arc::clone(&shared);
                    tokio::spawn(async move {
                        match tokio::time::timeout(CONNECT_WAIT, acceptor.accept(stream)).await {
                            Ok(Ok(tls)) => connection(tls, peer, shared).await,
                            Ok(Err(e)) => shared.log(&format!("TLS handshake with {peer} failed: {e}")),
                            Err(_) => shared.log(&format!("TLS handshake with {peer} timed out")),
                        }
                    });
                }
            }
        }
    }
}

async fn accept_opt(l: Option<&TcpListener>) -> io::Result<(tokio::net::TcpStream, SocketAddr)> {
    match l {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

// ---------------------------------------------------------------- shared state

struct Shared {
    state: Mutex<State>,
    log: Mutex<File>,
}

impl Shared {
    fn log(&self, line: &str) {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut f = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = writeln!(f, "{secs}: {line}");
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Default)]
struct State {
    next_conn: u64,
    /// Client id → (connection number, its takeover signal).
    clients: HashMap<String, (u64, Arc<Notify>)>,
    subs: Vec<Sub>,
    retained: BTreeMap<String, (Vec<u8>, u8)>,
}

struct Sub {
    conn: u64,
    filter: String,
    qos: u8,
    tx: mpsc::UnboundedSender<Out>,
}

impl State {
    /// Routes a message: stored when retained (an empty payload clears), delivered live
    /// (without the retain flag) once per connection with a matching subscription.
    fn publish(&mut self, topic: &str, payload: &[u8], qos: u8, retain: bool) {
        if retain {
            if payload.is_empty() {
                self.retained.remove(topic);
            } else {
                self.retained
                    .insert(topic.to_owned(), (payload.to_vec(), qos));
            }
        }
        // Per connection the highest granted QoS of its matching subscriptions.
        let mut targets: Vec<(u64, u8, &mpsc::UnboundedSender<Out>)> = Vec::new();
        for s in self.subs.iter().filter(|s| matches(&s.filter, topic)) {
            match targets.iter_mut().find(|t| t.0 == s.conn) {
                Some(t) => t.1 = t.1.max(s.qos),
                None => targets.push((s.conn, s.qos, &s.tx)),
            }
        }
        for (_, granted, tx) in targets {
            let _ = tx.send(Out::Publish {
                topic: topic.to_owned(),
                payload: payload.to_vec(),
                qos: qos.min(granted),
                retain: false,
            });
        }
    }
}

/// What a connection's writer sends.
enum Out {
    /// A complete packet.
    Raw(Vec<u8>),
    /// A PUBLISH (the writer assigns the packet id).
    Publish {
        topic: String,
        payload: Vec<u8>,
        qos: u8,
        retain: bool,
    },
    /// Close the socket after what was queued before.
    Close,
}

// ---------------------------------------------------------------- topics

/// Whether topic filter `filter` matches topic name `topic` (MQTT 3.1.1 §4.7).
fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) | (None, None) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

fn valid_filter(filter: &str) -> bool {
    if filter.is_empty() {
        return false;
    }
    let levels: Vec<&str> = filter.split('/').collect();
    let last = levels.len().saturating_sub(1);
    levels.iter().enumerate().all(|(i, l)| {
        (*l == "#" && i == last) || *l == "+" || !(l.contains('#') || l.contains('+'))
    })
}

fn valid_topic(topic: &str) -> bool {
    !topic.is_empty() && !topic.contains(['#', '+'])
}

// ---------------------------------------------------------------- packets

/// A cursor over a packet body; every read checks the length.
struct Body<'a> {
    rest: &'a [u8],
}

impl<'a> Body<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(*b)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u16()?);
        let b = self.rest.get(..n)?;
        self.rest = self.rest.get(n..)?;
        Some(b)
    }
    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.rest)
    }
}

/// Reads one packet: (first byte, body). `Ok(None)` at a clean end of stream.
async fn read_packet<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut first = [0u8; 1];
    if r.read(&mut first).await? == 0 {
        return Ok(None);
    }
    let mut len = 0usize;
    let mut shift = 0u32;
    loop {
        let b = r.read_u8().await?;
        len |= usize::from(b & 0x7F) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 21 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "remaining length over 4 bytes",
            ));
        }
    }
    if len > MAX_PACKET {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "packet too large",
        ));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    let [b] = first;
    Ok(Some((b, body)))
}

fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut n = body.len();
    loop {
        let mut b = u8::try_from(n % 128).unwrap_or(0);
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    let n = u16::try_from(s.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(s.get(..usize::from(n)).unwrap_or_default());
}

fn publish_packet(topic: &str, payload: &[u8], qos: u8, retain: bool, id: u16) -> Vec<u8> {
    let mut body = Vec::with_capacity(topic.len() + payload.len() + 4);
    put_str(&mut body, topic.as_bytes());
    if qos > 0 {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(payload);
    packet(0x30 | (qos << 1) | u8::from(retain), &body)
}

fn ack(first: u8, id: u16) -> Vec<u8> {
    packet(first, &id.to_be_bytes())
}

// ---------------------------------------------------------------- connections

struct Connect {
    client_id: String,
    keep_alive: u16,
    clean: bool,
    will: Option<Will>,
}

struct Will {
    topic: String,
    payload: Vec<u8>,
    qos: u8,
    retain: bool,
}

/// Parses CONNECT; `Err(return code)` for a CONNACK refusal, `Err(0)` for a malformed packet.
fn parse_connect(body: &[u8]) -> Result<Connect, u8> {
    let mut b = Body { rest: body };
    let name = b.bytes().ok_or(0u8)?;
    let level = b.u8().ok_or(0u8)?;
    if name != b"MQTT" || level != 4 {
        return Err(1); // unacceptable protocol version
    }
    let flags = b.u8().ok_or(0u8)?;
    let keep_alive = b.u16().ok_or(0u8)?;
    let client_id = b.string().ok_or(0u8)?;
    let will = if flags & 0x04 != 0 {
        Some(Will {
            topic: b.string().ok_or(0u8)?,
            payload: b.bytes().ok_or(0u8)?.to_vec(),
            qos: (flags >> 3) & 0x03,
            retain: flags & 0x20 != 0,
        })
    } else {
        None
    };
    if flags & 0x80 != 0 {
        b.string().ok_or(0u8)?;
    }
    if flags & 0x40 != 0 {
        b.bytes().ok_or(0u8)?;
    }
    Ok(Connect {
        client_id,
        keep_alive,
        clean: flags & 0x02 != 0,
        will,
    })
}

/// How a session ended.
enum End {
    Disconnect,
    Closed,
    Timeout,
    ProtocolError,
    TakenOver,
}

async fn connection<S>(stream: S, peer: SocketAddr, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut rd, wr) = tokio::io::split(stream);
    let (tx, rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(writer(wr, rx));
    shared.log(&format!("New connection from {peer}."));

    let first = tokio::time::timeout(CONNECT_WAIT, read_packet(&mut rd)).await;
    let connect = match first {
        Ok(Ok(Some((0x10, body)))) => parse_connect(&body),
        _ => Err(0),
    };
    let connect = match connect {
        Ok(c) => c,
        Err(code) => {
            if code != 0 {
                let _ = tx.send(Out::Raw(packet(0x20, &[0, code])));
            }
            shared.log(&format!(
                "Client <unknown> from {peer} disconnected due to protocol error."
            ));
            let _ = tx.send(Out::Close);
            let _ = writer.await;
            return;
        }
    };
    let (conn, kick, client_id) = {
        let mut st = shared.state();
        st.next_conn += 1;
        let conn = st.next_conn;
        let client_id = if connect.client_id.is_empty() {
            format!("auto-{conn}")
        } else {
            connect.client_id.clone()
        };
        let kick = Arc::new(Notify::new());
        if let Some((old, old_kick)) = st
            .clients
            .insert(client_id.clone(), (conn, Arc::clone(&kick)))
        {
            old_kick.notify_one();
            st.subs.retain(|s| s.conn != old);
        }
        (conn, kick, client_id)
    };
    shared.log(&format!(
        "New client connected from {peer} as {client_id} (p2, c{}, k{}).",
        u8::from(connect.clean),
        connect.keep_alive
    ));
    let _ = tx.send(Out::Raw(packet(0x20, &[0, 0])));

    let end = tokio::select! {
        e = session(&mut rd, &tx, &shared, conn, connect.keep_alive) => e,
        () = kick.notified() => End::TakenOver,
    };

    finish(&shared, conn, &client_id, &end, connect.will);
    let _ = tx.send(Out::Close);
    let _ = writer.await;
}

/// Forgets a finished session; logs how it ended and publishes its will when due.
fn finish(shared: &Shared, conn: u64, client_id: &str, end: &End, will: Option<Will>) {
    let mut st = shared.state();
    st.subs.retain(|s| s.conn != conn);
    if st.clients.get(client_id).is_some_and(|(c, _)| *c == conn) {
        st.clients.remove(client_id);
    }
    let publish_will = match end {
        End::Disconnect => {
            shared.log(&format!("Received DISCONNECT from {client_id}"));
            shared.log(&format!("Client {client_id} disconnected."));
            false
        }
        End::Closed => {
            shared.log(&format!("Client {client_id} closed its connection."));
            true
        }
        End::Timeout => {
            shared.log(&format!(
                "Client {client_id} has exceeded timeout, disconnecting."
            ));
            true
        }
        End::ProtocolError => {
            shared.log(&format!(
                "Client {client_id} disconnected due to protocol error."
            ));
            true
        }
        End::TakenOver => {
            shared.log(&format!(
                "Client {client_id} already connected, closing old connection."
            ));
            false
        }
    };
    if let (true, Some(w)) = (publish_will, will) {
        st.publish(&w.topic, &w.payload, w.qos, w.retain);
    }
}

async fn session<R: AsyncRead + Unpin>(
    rd: &mut R,
    tx: &mpsc::UnboundedSender<Out>,
    shared: &Shared,
    conn: u64,
    keep_alive: u16,
) -> End {
    // QoS 2 packet ids received and not yet released (a duplicate is not delivered again).
    let mut qos2: HashSet<u16> = HashSet::new();
    let limit = Duration::from_millis(u64::from(keep_alive) * 1500);
    loop {
        let read = if keep_alive == 0 {
            read_packet(rd).await
        } else {
            match tokio::time::timeout(limit, read_packet(rd)).await {
                Ok(r) => r,
                Err(_) => return End::Timeout,
            }
        };
        let Ok(Some((first, body))) = read else {
            return End::Closed;
        };
        let ok = match first >> 4 {
            3 => on_publish(first, &body, tx, shared, &mut qos2),
            6 => {
                // PUBREL
                let mut b = Body { rest: &body };
                b.u16().is_some_and(|id| {
                    qos2.remove(&id);
                    tx.send(Out::Raw(ack(0x70, id))).is_ok()
                })
            }
            4 | 5 | 7 => true, // PUBACK, PUBREC, PUBCOMP for our deliveries: nothing kept
            8 => on_subscribe(first, &body, tx, shared, conn),
            10 => on_unsubscribe(first, &body, tx, shared, conn),
            12 => tx.send(Out::Raw(vec![0xD0, 0])).is_ok(),
            14 => return End::Disconnect,
            _ => false,
        };
        if !ok {
            return End::ProtocolError;
        }
    }
}

fn on_publish(
    first: u8,
    body: &[u8],
    tx: &mpsc::UnboundedSender<Out>,
    shared: &Shared,
    qos2: &mut HashSet<u16>,
) -> bool {
    let qos = (first >> 1) & 0x03;
    let retain = first & 0x01 != 0;
    let mut b = Body { rest: body };
    let Some(topic) = b.string() else {
        return false;
    };
    if !valid_topic(&topic) || qos > 2 {
        return false;
    }
    let id = if qos > 0 {
        match b.u16() {
            Some(id) => id,
            None => return false,
        }
    } else {
        0
    };
    let payload = b.rest();
    if qos == 2 && !qos2.insert(id) {
        // A re-sent QoS 2 PUBLISH that was already delivered.
        return tx.send(Out::Raw(ack(0x50, id))).is_ok();
    }
    shared.state().publish(&topic, payload, qos, retain);
    match qos {
        1 => tx.send(Out::Raw(ack(0x40, id))).is_ok(),
        2 => tx.send(Out::Raw(ack(0x50, id))).is_ok(),
        _ => true,
    }
}

/// The packet identifier of a SUBSCRIBE or UNSUBSCRIBE whose first header byte must be
/// `expected` (the reserved flags 0b0010), and the payload after it.
fn with_id(first: u8, expected: u8, body: &[u8]) -> Option<(u16, Body<'_>)> {
    if first != expected {
        return None;
    }
    let mut b = Body { rest: body };
    Some((b.u16()?, b))
}

fn on_subscribe(
    first: u8,
    body: &[u8],
    tx: &mpsc::UnboundedSender<Out>,
    shared: &Shared,
    conn: u64,
) -> bool {
    let Some((id, mut b)) = with_id(first, 0x82, body) else {
        return false;
    };
    let mut requests = Vec::new();
    while !b.rest.is_empty() {
        let (Some(filter), Some(qos)) = (b.string(), b.u8()) else {
            return false;
        };
        requests.push((filter, qos));
    }
    if requests.is_empty() {
        return false;
    }
    // Under the lock: SUBACK first, then the retained messages, before any live message.
    let mut st = shared.state();
    let mut codes = id.to_be_bytes().to_vec();
    let mut granted = Vec::new();
    for (filter, qos) in requests {
        if !valid_filter(&filter) || qos > 2 {
            codes.push(0x80);
            continue;
        }
        let g = qos.min(1);
        codes.push(g);
        st.subs.retain(|s| !(s.conn == conn && s.filter == filter));
        st.subs.push(Sub {
            conn,
            filter: filter.clone(),
            qos: g,
            tx: tx.clone(),
        });
        granted.push((filter, g));
    }
    if tx.send(Out::Raw(packet(0x90, &codes))).is_err() {
        return false;
    }
    for (filter, g) in granted {
        for (topic, (payload, qos)) in &st.retained {
            if matches(&filter, topic) {
                let _ = tx.send(Out::Publish {
                    topic: topic.clone(),
                    payload: payload.clone(),
                    qos: (*qos).min(g),
                    retain: true,
                });
            }
        }
    }
    true
}

fn on_unsubscribe(
    first: u8,
    body: &[u8],
    tx: &mpsc::UnboundedSender<Out>,
    shared: &Shared,
    conn: u64,
) -> bool {
    let Some((id, mut b)) = with_id(first, 0xA2, body) else {
        return false;
    };
    let mut st = shared.state();
    while !b.rest.is_empty() {
        let Some(filter) = b.string() else {
            return false;
        };
        st.subs.retain(|s| !(s.conn == conn && s.filter == filter));
    }
    tx.send(Out::Raw(ack(0xB0, id))).is_ok()
}

async fn writer<W: AsyncWrite + Unpin>(mut wr: W, mut rx: mpsc::UnboundedReceiver<Out>) {
    let mut next_id: u16 = 0;
    while let Some(out) = rx.recv().await {
        let bytes = match out {
            Out::Raw(b) => b,
            Out::Publish {
                topic,
                payload,
                qos,
                retain,
            } => {
                next_id = next_id.checked_add(1).unwrap_or(1);
                publish_packet(&topic, &payload, qos, retain, next_id)
            }
            Out::Close => break,
        };
        if wr.write_all(&bytes).await.is_err() || wr.flush().await.is_err() {
            return;
        }
    }
    let _ = wr.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::{matches, valid_filter, with_id};

    #[test]
    fn subscribe_headers_need_their_flags_and_an_id() {
        let (id, b) = with_id(0x82, 0x82, &[0x12, 0x34, 0, 1, b'a', 1]).unwrap();
        assert_eq!((id, b.rest), (0x1234, &[0, 1, b'a', 1][..]));
        assert!(with_id(0xA2, 0xA2, &[0, 7]).is_some_and(|(id, b)| id == 7 && b.rest.is_empty()));
        // Reserved flags other than 0b0010, or no packet identifier: refused.
        assert!(with_id(0x80, 0x82, &[0, 1]).is_none());
        assert!(with_id(0xA2, 0xA2, &[0]).is_none());
    }

    #[test]
    fn topic_filters() {
        assert!(matches("a/b", "a/b"));
        assert!(matches("a/+", "a/b"));
        assert!(matches("a/#", "a"));
        assert!(matches("a/#", "a/b/c"));
        assert!(matches("#", "a/b"));
        assert!(matches("+/+", "/b"));
        assert!(!matches("a/+", "a/b/c"));
        assert!(!matches("a/b", "a"));
        assert!(!matches("#", "$SYS/x"));
        assert!(matches("$SYS/#", "$SYS/x"));
        assert!(valid_filter("a/+/#"));
        assert!(!valid_filter("a/#/b"));
        assert!(!valid_filter("a/b#"));
        assert!(!valid_filter(""));
    }
}

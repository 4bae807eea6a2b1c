//! Test support shared by voltwire's integration tests (a dev-dependency only). Everything
//! here works on a machine with only Rust installed: no `mosquitto`, `socat` or `openssl`
//! binary is needed.
//!
//! - [`Broker`]: an MQTT broker on a free loopback port, in a scratch directory, stopped and
//!   cleaned up on drop; [`Broker::kill`] and [`Broker::spawn`] stop and restart it on the
//!   same port (for reconnect tests). Two kinds ([`BrokerKind`]): the embedded broker (pure
//!   Rust, in-process, the default) and a real Mosquitto process.
//! - [`PtyPair`]: two linked pseudo-terminals at chosen paths, opened from Rust.
//! - [`TestCa`]: a certificate authority for TLS tests, made in Rust.
//! - [`free_port`], [`scratch_dir`]; [`bench`](mod@bench): the load benchmarks' flags and `/proc` readings;
//!   [`http::request`]: one HTTP/1.1 request for the status-page tests.
//!
//! ## Which broker
//!
//! `VOLTWIRE_TEST_BROKER` chooses: `embedded`, `mosquitto`, or unset. [`Broker::start`] uses
//! the chosen kind, the embedded broker when unset. [`BrokerKind::available`] lists the kinds
//! a test should run its body against: the chosen one, or when unset the embedded broker and
//! also Mosquitto when a `mosquitto` binary is found (on `PATH`, or in `/usr/sbin` and
//! `/usr/local/sbin`, where Debian installs it outside a normal user's `PATH`). Forcing
//! `mosquitto` when it is not installed fails the test with the install command.
//!
//! Helpers panic with a readable message when the environment is not as required (that is
//! the test failing, with the fix in the message).
#![forbid(unsafe_code)]
#![allow(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::panic,
    clippy::expect_used,
    clippy::missing_panics_doc,
    reason = "test support: a panic is a failed test with its reason"
)]

pub mod bench;
mod embedded;
pub mod http;
mod pty;
mod tls;

use std::fmt::{self, Write as _};
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub use pty::PtyPair;
pub use tls::{ServerCert, TestCa};

/// How long a broker may take to accept connections.
pub const BROKER_START: Duration = Duration::from_secs(5);

/// The environment variable that chooses the test broker (`embedded` or `mosquitto`).
pub const BROKER_ENV: &str = "VOLTWIRE_TEST_BROKER";

/// The log file in a broker's directory (both kinds).
const LOG: &str = "broker.log";

/// A free TCP port on 127.0.0.1 (free when asked; the caller binds it soon after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// A new, empty directory under the system temp dir, unique per process and call.
pub fn scratch_dir(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "voltwire-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("cannot create a scratch directory");
    dir
}

// ---------------------------------------------------------------- broker kinds

/// Which MQTT broker a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerKind {
    /// The pure-Rust broker in this crate, served in-process on a thread of its own.
    Embedded,
    /// A real `mosquitto` process (Debian package `mosquitto`).
    Mosquitto,
}

impl fmt::Display for BrokerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Embedded => "embedded",
            Self::Mosquitto => "mosquitto",
        })
    }
}

impl BrokerKind {
    /// The kind `VOLTWIRE_TEST_BROKER` names, `None` when it is unset or empty.
    ///
    /// # Panics
    /// On any other value (the message lists the valid ones).
    pub fn chosen() -> Option<Self> {
        let v = std::env::var(BROKER_ENV).unwrap_or_default();
        match v.trim() {
            "" => None,
            "embedded" => Some(Self::Embedded),
            "mosquitto" => Some(Self::Mosquitto),
            other => panic!(
                "{BROKER_ENV}={other:?} is not a test broker; use `embedded` or `mosquitto`, or unset it"
            ),
        }
    }

    /// The kind [`Broker::start`] uses: the chosen one, else [`BrokerKind::Embedded`].
    pub fn from_env() -> Self {
        Self::chosen().unwrap_or(Self::Embedded)
    }

    /// The kinds a test runs its body against: the chosen one; when none is chosen, the
    /// embedded broker, then Mosquitto if it is installed.
    pub fn available() -> Vec<Self> {
        match Self::chosen() {
            Some(k) => vec![k],
            None if mosquitto_path().is_some() => vec![Self::Embedded, Self::Mosquitto],
            None => vec![Self::Embedded],
        }
    }
}

/// Where the `mosquitto` binary is: an executable file on `PATH`, else in `/usr/sbin` or
/// `/usr/local/sbin`.
pub fn mosquitto_path() -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join("mosquitto"))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

// ---------------------------------------------------------------- broker

enum Running {
    Stopped,
    Mosquitto(Child),
    Embedded(embedded::Embedded),
}

/// An MQTT broker on 127.0.0.1 (anonymous, no persistence, logging connection events to
/// [`Broker::log`]).
pub struct Broker {
    kind: BrokerKind,
    port: u16,
    tls: Option<(u16, ServerCert)>,
    dir: PathBuf,
    running: Running,
}

impl fmt::Debug for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broker")
            .field("kind", &self.kind)
            .field("port", &self.port)
            .field("tls_port", &self.tls_port())
            .field("dir", &self.dir)
            .field("running", &!matches!(self.running, Running::Stopped))
            .finish_non_exhaustive()
    }
}

impl Broker {
    /// Start a broker of the kind `VOLTWIRE_TEST_BROKER` chooses (embedded when unset).
    pub fn start(tag: &str) -> Self {
        Self::start_on(BrokerKind::from_env(), tag)
    }

    /// Start a broker of `kind`.
    pub fn start_on(kind: BrokerKind, tag: &str) -> Self {
        Self::build(kind, tag, None)
    }

    /// Start a broker of `kind` with a second, TLS listener ([`Broker::tls_port`]) that
    /// presents `cert`.
    pub fn start_tls_on(kind: BrokerKind, tag: &str, cert: &ServerCert) -> Self {
        Self::build(kind, tag, Some((free_port(), cert.clone())))
    }

    fn build(kind: BrokerKind, tag: &str, tls: Option<(u16, ServerCert)>) -> Self {
        let mut b = Self {
            kind,
            port: free_port(),
            tls,
            dir: scratch_dir(&format!("mqtt-{tag}")),
            running: Running::Stopped,
        };
        b.spawn();
        b
    }

    /// (Re)start the broker on the same ports, empty; returns when it accepts connections.
    pub fn spawn(&mut self) {
        self.kill();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(LOG))
            .expect("cannot open the broker log");
        self.running = match self.kind {
            BrokerKind::Embedded => {
                let tls = self
                    .tls
                    .as_ref()
                    .map(|(port, cert)| (*port, cert.rustls_config()));
                Running::Embedded(
                    embedded::Embedded::start(self.port, tls, log).unwrap_or_else(|e| {
                        panic!(
                            "the embedded test broker cannot listen on 127.0.0.1:{}: {e}",
                            self.port
                        )
                    }),
                )
            }
            BrokerKind::Mosquitto => Running::Mosquitto(self.spawn_mosquitto(log)),
        };
        let deadline = Instant::now() + BROKER_START;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the {} broker did not start:\n{}",
                self.kind,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn spawn_mosquitto(&self, log: fs::File) -> Child {
        let Some(bin) = mosquitto_path() else {
            panic!(
                "{BROKER_ENV}=mosquitto, but no `mosquitto` binary is on PATH or in /usr/sbin: \
                 install it with `apt-get install mosquitto` (or unset {BROKER_ENV} to use the \
                 embedded broker)"
            );
        };
        let mut conf = format!(
            "listener {} 127.0.0.1\nallow_anonymous true\nlog_dest stderr\nlog_type all\n\
             persistence false\nmax_queued_messages 10000\n",
            self.port
        );
        if let Some((port, cert)) = &self.tls {
            let (c, k) = (self.dir.join("server.pem"), self.dir.join("server.key"));
            tls::write_public(&c, &cert.cert_pem);
            tls::write_public(&k, &cert.key_pem);
            let _ = write!(
                conf,
                "listener {port} 127.0.0.1\ncertfile {}\nkeyfile {}\n",
                c.display(),
                k.display()
            );
        }
        let path = self.dir.join("mosquitto.conf");
        fs::write(&path, conf).expect("cannot write mosquitto.conf");
        // mosquitto started as root drops to its own user: let it read its directory.
        let _ = fs::set_permissions(
            &self.dir,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        );
        Command::new(&bin)
            .arg("-c")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {}: {e}; install it with `apt-get install mosquitto`",
                    bin.display()
                )
            })
    }

    /// Stop the broker (the ports stay reserved for [`Broker::spawn`]). Clients see their
    /// connections close, as when the process is killed: no will is sent by a clean
    /// shutdown, nothing is kept.
    pub fn kill(&mut self) {
        match std::mem::replace(&mut self.running, Running::Stopped) {
            Running::Stopped => {}
            Running::Mosquitto(mut c) => {
                let _ = c.kill();
                let _ = c.wait();
            }
            Running::Embedded(mut e) => e.stop(),
        }
    }

    /// Kill and start again.
    pub fn restart(&mut self) {
        self.spawn();
    }

    /// Which kind of broker this is.
    pub const fn kind(&self) -> BrokerKind {
        self.kind
    }

    /// Its plain MQTT port.
    pub const fn port(&self) -> u16 {
        self.port
    }

    /// Its TLS port, when started with [`Broker::start_tls_on`].
    pub fn tls_port(&self) -> Option<u16> {
        self.tls.as_ref().map(|(p, _)| *p)
    }

    /// `mqtt://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Its directory (configuration, log; free for the test's own files such as TLS keys).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What it logged so far. Both kinds log connection events in Mosquitto's words:
    /// `Received DISCONNECT from ID`, `Client ID disconnected.`, `Client ID closed its
    /// connection.`, `Client ID has exceeded timeout, disconnecting.`
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join(LOG)).unwrap_or_default()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

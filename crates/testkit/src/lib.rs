//! Test support shared by voltwire's integration tests (a dev-dependency only).
//!
//! - [`Broker`]: a real Mosquitto (Debian package `mosquitto`) on a free loopback port, in a
//!   scratch directory, killed and cleaned up on drop; [`Broker::kill`] and [`Broker::spawn`]
//!   stop and restart it on the same port (for reconnect tests).
//! - [`free_port`], [`scratch_dir`].
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

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a broker may take to accept connections.
pub const BROKER_START: Duration = Duration::from_secs(5);

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

/// A Mosquitto process on 127.0.0.1.
#[derive(Debug)]
pub struct Broker {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    extra: String,
}

impl Broker {
    /// Start a broker (anonymous, no persistence, logging everything to `mosquitto.log` in
    /// its directory).
    pub fn start(tag: &str) -> Self {
        Self::start_with(tag, "")
    }

    /// Start a broker with `extra` appended to its configuration (e.g. more listeners).
    pub fn start_with(tag: &str, extra: &str) -> Self {
        let mut b = Self {
            child: None,
            port: free_port(),
            dir: scratch_dir(&format!("mqtt-{tag}")),
            extra: extra.to_owned(),
        };
        b.spawn();
        b
    }

    /// (Re)start the process on the same port; returns when it accepts connections.
    pub fn spawn(&mut self) {
        let conf = self.dir.join("mosquitto.conf");
        fs::write(
            &conf,
            format!(
                "listener {} 127.0.0.1\nallow_anonymous true\nlog_dest stderr\nlog_type all\n\
                 persistence false\nmax_queued_messages 10000\n{}\n",
                self.port, self.extra
            ),
        )
        .expect("cannot write mosquitto.conf");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("mosquitto.log"))
            .expect("cannot open mosquitto.log");
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("mosquitto not installed: apt-get install -y mosquitto");
        self.child = Some(child);
        let deadline = Instant::now() + BROKER_START;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not start:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kill the process (the port stays reserved for [`Broker::spawn`]).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Kill and start again.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Its port.
    pub const fn port(&self) -> u16 {
        self.port
    }

    /// `mqtt://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Its directory (configuration, log; free for the test's own files such as TLS keys).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("mosquitto.log")).unwrap_or_default()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

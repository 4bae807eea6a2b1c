//! Byte links named by URL: serial ports (and ptys) and raw TCP (console servers, `ser2net`),
//! with reconnect and exponential backoff.
//!
//! | URL | opens |
//! |---|---|
//! | `serial:///dev/ttyUSB0?baud=9600` | a serial port or a pty (8N1, no flow control; `baud` defaults to 9600) |
//! | `tcp://host:port` | a TCP connection (`ser2net`, a console server, a simulator) |
//!
//! Every TCP link is opened with `TCP_NODELAY`, TCP keepalive ([`TCP_KEEPALIVE_IDLE`] idle,
//! then [`TCP_KEEPALIVE_PROBES`] probes [`TCP_KEEPALIVE_INTERVAL`] apart) and, on Linux,
//! `TCP_USER_TIMEOUT` of [`TCP_USER_TIMEOUT`]: a peer that vanished (power loss, cable
//! pulled, NAT entry dropped) ends the link with an error within about 25 s, whether the
//! link is idle or has unacknowledged data, instead of never (idle) or after ~15 minutes
//! of retransmissions. A peer *process* that hangs while its kernel still acknowledges is
//! not detected at this level: that takes an application timeout (no data received, no
//! reply to a command).
//!
//! ```
//! use voltwire_runtime::link::LinkUrl;
//!
//! let url: LinkUrl = "serial:///dev/ttyUSB0?baud=115200".parse().unwrap();
//! assert_eq!(url, LinkUrl::Serial { path: "/dev/ttyUSB0".into(), baud: 115_200 });
//! let err = "tcp://localhost".parse::<LinkUrl>().unwrap_err();
//! assert!(err.to_string().contains("port"));
//! ```

use std::fmt;
use std::io;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;
use tokio_serial::SerialStream;

/// Baud rate used when a `serial://` URL gives none.
pub const DEFAULT_BAUD: u32 = 9600;

/// Idle time before the first TCP keepalive probe.
pub const TCP_KEEPALIVE_IDLE: Duration = Duration::from_secs(10);
/// Time between TCP keepalive probes.
pub const TCP_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
/// Unanswered keepalive probes after which the connection is dropped.
pub const TCP_KEEPALIVE_PROBES: u32 = 3;
/// Longest time sent data may stay unacknowledged before the connection is dropped
/// (`TCP_USER_TIMEOUT`, Linux): the keepalive budget, idle + probes × interval.
pub const TCP_USER_TIMEOUT: Duration = Duration::from_secs(25);

/// Set `TCP_NODELAY`, keepalive and (Linux) `TCP_USER_TIMEOUT` on a connected socket.
fn configure_tcp(s: &TcpStream) -> io::Result<()> {
    s.set_nodelay(true)?;
    let sock = socket2::SockRef::from(s);
    let ka = socket2::TcpKeepalive::new()
        .with_time(TCP_KEEPALIVE_IDLE)
        .with_interval(TCP_KEEPALIVE_INTERVAL)
        .with_retries(TCP_KEEPALIVE_PROBES);
    sock.set_tcp_keepalive(&ka)?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    sock.set_tcp_user_timeout(Some(TCP_USER_TIMEOUT))?;
    Ok(())
}

/// Where a link goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkUrl {
    /// A serial port or pty.
    Serial {
        /// Device path.
        path: String,
        /// Baud rate.
        baud: u32,
    },
    /// A TCP connection.
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
}

impl fmt::Display for LinkUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Serial { path, baud } => write!(f, "serial://{path}?baud={baud}"),
            Self::Tcp { host, port } if host.contains(':') => write!(f, "tcp://[{host}]:{port}"),
            Self::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
        }
    }
}

/// Why a link URL was rejected; each message names the field and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// No or an unknown scheme.
    #[error(
        "link URL {url:?}: unknown scheme; fix: start with serial:// (e.g. serial:///dev/ttyUSB0?baud=9600) or tcp:// (e.g. tcp://192.168.1.10:4001)"
    )]
    Scheme {
        /// The URL as given.
        url: String,
    },
    /// `serial://` without a device path.
    #[error(
        "link URL {url:?}: missing device path; fix: give an absolute path, e.g. serial:///dev/ttyUSB0"
    )]
    Path {
        /// The URL as given.
        url: String,
    },
    /// `baud=` is not a positive number.
    #[error("link URL {url:?}: baud {value:?} is not a positive number; fix: e.g. ?baud=9600")]
    Baud {
        /// The URL as given.
        url: String,
        /// The rejected value.
        value: String,
    },
    /// A query parameter we do not know.
    #[error(
        "link URL {url:?}: unknown parameter {name:?}; fix: the only parameter is baud, e.g. ?baud=9600"
    )]
    Parameter {
        /// The URL as given.
        url: String,
        /// The unknown name.
        name: String,
    },
    /// `tcp://` without a host.
    #[error("link URL {url:?}: missing host; fix: e.g. tcp://127.0.0.1:4001")]
    Host {
        /// The URL as given.
        url: String,
    },
    /// `tcp://` without a valid port.
    #[error(
        "link URL {url:?}: missing or invalid port; fix: add :PORT (1-65535), e.g. tcp://127.0.0.1:4001"
    )]
    Port {
        /// The URL as given.
        url: String,
    },
}

impl UrlError {
    /// The field the error is about (`scheme`, `path`, `baud`, `parameter`, `host`, `port`).
    pub const fn field(&self) -> &'static str {
        match self {
            Self::Scheme { .. } => "scheme",
            Self::Path { .. } => "path",
            Self::Baud { .. } => "baud",
            Self::Parameter { .. } => "parameter",
            Self::Host { .. } => "host",
            Self::Port { .. } => "port",
        }
    }
}

impl FromStr for LinkUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, UrlError> {
        let url = || s.to_owned();
        if let Some(rest) = s.strip_prefix("serial://") {
            let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
            if !path.starts_with('/') || path.len() < 2 {
                return Err(UrlError::Path { url: url() });
            }
            let mut baud = DEFAULT_BAUD;
            for kv in query.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                match k {
                    "baud" => {
                        baud = v
                            .parse()
                            .ok()
                            .filter(|b| *b > 0)
                            .ok_or_else(|| UrlError::Baud {
                                url: url(),
                                value: v.to_owned(),
                            })?;
                    }
                    _ => {
                        return Err(UrlError::Parameter {
                            url: url(),
                            name: k.to_owned(),
                        });
                    }
                }
            }
            return Ok(Self::Serial {
                path: path.to_owned(),
                baud,
            });
        }
        if let Some(rest) = s.strip_prefix("tcp://") {
            let rest = rest.trim_end_matches('/');
            let (host, port) = if let Some(r) = rest.strip_prefix('[') {
                let (h, p) = r
                    .split_once(']')
                    .ok_or_else(|| UrlError::Host { url: url() })?;
                (h, p.strip_prefix(':'))
            } else {
                match rest.rsplit_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (rest, None),
                }
            };
            if host.is_empty() {
                return Err(UrlError::Host { url: url() });
            }
            let port = port
                .and_then(|p| p.parse::<u16>().ok())
                .filter(|p| *p != 0)
                .ok_or_else(|| UrlError::Port { url: url() })?;
            return Ok(Self::Tcp {
                host: host.to_owned(),
                port,
            });
        }
        Err(UrlError::Scheme { url: url() })
    }
}

#[derive(Debug)]
enum Inner {
    Serial(SerialStream),
    Tcp(TcpStream),
}

/// An open link: `AsyncRead + AsyncWrite`. End of file (a read of 0 bytes) or an I/O error
/// means the port is gone; open it again (see [`Reconnect`]).
#[derive(Debug)]
pub struct Link {
    inner: Inner,
    url: LinkUrl,
}

impl Link {
    /// Open `url` once.
    ///
    /// # Errors
    /// The I/O error from opening the port or connecting.
    pub async fn open(url: &LinkUrl) -> io::Result<Self> {
        let inner = match url {
            LinkUrl::Serial { path, baud } => {
                let port = tokio_serial::new(path.as_str(), *baud)
                    .data_bits(tokio_serial::DataBits::Eight)
                    .parity(tokio_serial::Parity::None)
                    .stop_bits(tokio_serial::StopBits::One)
                    .flow_control(tokio_serial::FlowControl::None);
                Inner::Serial(SerialStream::open(&port).map_err(io::Error::from)?)
            }
            LinkUrl::Tcp { host, port } => {
                let s = TcpStream::connect((host.as_str(), *port)).await?;
                configure_tcp(&s)?;
                Inner::Tcp(s)
            }
        };
        Ok(Self {
            inner,
            url: url.clone(),
        })
    }

    /// The URL this link was opened from.
    pub const fn url(&self) -> &LinkUrl {
        &self.url
    }

    /// Flush pending output and close the link (TCP: send FIN).
    ///
    /// # Errors
    /// The I/O error from flushing or shutting down.
    pub async fn close(mut self) -> io::Result<()> {
        self.flush().await?;
        self.shutdown().await
    }
}

impl AsyncRead for Link {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Serial(s) => Pin::new(s).poll_read(cx, buf),
            Inner::Tcp(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Link {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Serial(s) => Pin::new(s).poll_write(cx, buf),
            Inner::Tcp(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Serial(s) => Pin::new(s).poll_flush(cx),
            Inner::Tcp(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Serial(s) => Pin::new(s).poll_shutdown(cx),
            Inner::Tcp(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// Exponential backoff: `initial`, doubling up to `max`, each delay reduced by a
/// deterministic pseudo-random jitter of up to `jitter_permille`/1000 (seeded, so tests and
/// several ports started together do not retry in lock step yet stay reproducible).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    jitter_permille: u16,
    state: u64,
    attempt: u32,
}

impl Default for Backoff {
    /// 100 ms doubling to 10 s, 20 % jitter, seed 1.
    fn default() -> Self {
        Self::new(Duration::from_millis(100), Duration::from_secs(10), 200, 1)
    }
}

impl Backoff {
    /// A backoff from `initial` to `max` with up to `jitter_permille` (capped at 1000) jitter.
    pub const fn new(initial: Duration, max: Duration, jitter_permille: u16, seed: u64) -> Self {
        Self {
            initial,
            max,
            jitter_permille: if jitter_permille > 1000 {
                1000
            } else {
                jitter_permille
            },
            // xorshift must not start at zero.
            state: seed | 1,
            attempt: 0,
        }
    }

    /// Failed attempts since the last [`Backoff::reset`].
    pub const fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Start again from `initial` (after a successful connection).
    pub const fn reset(&mut self) {
        self.attempt = 0;
    }

    /// The delay before the next attempt; advances the sequence.
    pub fn next_delay(&mut self) -> Duration {
        let base = self
            .initial
            .saturating_mul(1_u32 << self.attempt.min(20))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        let permille = u32::try_from(x % (u64::from(self.jitter_permille) + 1)).unwrap_or(0);
        base.saturating_sub(base * permille / 1000)
    }
}

/// Opens a link again and again, waiting by a [`Backoff`] between failed attempts.
#[derive(Debug, Clone)]
pub struct Reconnect {
    url: LinkUrl,
    backoff: Backoff,
    label: Option<String>,
}

impl Reconnect {
    /// Reconnect to `url` with `backoff`.
    pub const fn new(url: LinkUrl, backoff: Backoff) -> Self {
        Self {
            url,
            backoff,
            label: None,
        }
    }

    /// Logs name the link by `label` instead of its [`LinkUrl`]: the address the user wrote
    /// (e.g. `slcan:///dev/ttyACM0?bitrate=500000`), not the serial link made from it.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The URL.
    pub const fn url(&self) -> &LinkUrl {
        &self.url
    }

    /// What logs call the link: the label if one was given, else the URL.
    pub fn label(&self) -> String {
        self.label.clone().unwrap_or_else(|| self.url.to_string())
    }

    fn shown(&self) -> &dyn core::fmt::Display {
        match &self.label {
            Some(l) => l,
            None => &self.url,
        }
    }

    /// Open the link, retrying until it opens or `max_attempts` (if given) have failed;
    /// resets the backoff on success.
    ///
    /// # Errors
    /// The last I/O error once `max_attempts` attempts failed.
    pub async fn connect(&mut self, max_attempts: Option<u32>) -> io::Result<Link> {
        let mut tries = 0_u32;
        loop {
            match Link::open(&self.url).await {
                Ok(link) => {
                    if self.backoff.attempt() > 0 {
                        tracing::info!(url = %self.shown(), "link reconnected");
                    }
                    self.backoff.reset();
                    return Ok(link);
                }
                Err(e) => {
                    tries = tries.saturating_add(1);
                    if max_attempts.is_some_and(|m| tries >= m) {
                        return Err(e);
                    }
                    let delay = self.backoff.next_delay();
                    tracing::warn!(url = %self.shown(), error = %e, ?delay, "link unavailable, retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            "tcp://[::1]:4001".parse(),
            Ok(LinkUrl::Tcp {
                host: "::1".into(),
                port: 4001
            })
        );
        assert_eq!(
            "serial:///tmp/ptyA".parse(),
            Ok(LinkUrl::Serial {
                path: "/tmp/ptyA".into(),
                baud: DEFAULT_BAUD
            })
        );
        for (u, field) in [
            ("/dev/ttyUSB0", "scheme"),
            ("serial://", "path"),
            ("serial:///dev/x?baud=fast", "baud"),
            ("serial:///dev/x?parity=E", "parameter"),
            ("tcp://:80", "host"),
            ("tcp://h:99999", "port"),
            ("tcp://h", "port"),
        ] {
            assert_eq!(
                u.parse::<LinkUrl>().map_err(|e| e.field()),
                Err(field),
                "{u}"
            );
        }
        for u in [
            "serial:///dev/ttyUSB0?baud=9600",
            "tcp://h:1",
            "tcp://[::1]:2",
        ] {
            assert_eq!(
                u.parse::<LinkUrl>().map(|l| l.to_string()).as_deref(),
                Ok(u)
            );
        }
    }

    #[tokio::test]
    async fn tcp_links_have_keepalive_nodelay_and_a_user_timeout() {
        let srv = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url: LinkUrl = format!("tcp://{}", srv.local_addr().unwrap())
            .parse()
            .unwrap();
        let link = Link::open(&url).await.unwrap();
        let Inner::Tcp(s) = &link.inner else {
            panic!("not a TCP link")
        };
        let sock = socket2::SockRef::from(s);
        assert!(sock.keepalive().unwrap());
        assert_eq!(sock.tcp_keepalive_time().unwrap(), TCP_KEEPALIVE_IDLE);
        assert_eq!(
            sock.tcp_keepalive_interval().unwrap(),
            TCP_KEEPALIVE_INTERVAL
        );
        assert_eq!(sock.tcp_keepalive_retries().unwrap(), TCP_KEEPALIVE_PROBES);
        assert!(sock.tcp_nodelay().unwrap());
        #[cfg(target_os = "linux")]
        assert_eq!(sock.tcp_user_timeout().unwrap(), Some(TCP_USER_TIMEOUT));
    }

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1), 200, 7);
        let d: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        for (i, x) in d.iter().enumerate() {
            let base = Duration::from_millis(100 << i).min(Duration::from_secs(1));
            assert!(*x <= base && *x >= base * 8 / 10, "{i}: {x:?}");
        }
        let mut again = Backoff::new(Duration::from_millis(100), Duration::from_secs(1), 200, 7);
        assert_eq!(d, (0..8).map(|_| again.next_delay()).collect::<Vec<_>>());
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}

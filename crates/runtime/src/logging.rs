//! Logging through `tracing`: `-v` counts and `RUST_LOG`.
//!
//! `RUST_LOG`, when set and not empty, wins. Otherwise the number of `-v` flags sets the
//! level: none = `warn`, `-v` = `info`, `-vv` = `debug`, `-vvv` = `trace`. Logs go to stderr,
//! so stdout stays free for data.
//!
//! Logging never panics and never stops the program: a log line that cannot be written
//! (stderr closed, a full disk, `2>/dev/full`, a pipe into `head -1` that has gone) is
//! dropped and counted ([`dropped_lines`]). ANSI colours are used only when stderr is a
//! terminal and `NO_COLOR` is not set ([`use_ansi`]), so journald and log files get plain
//! text.

use std::ffi::OsStr;
use std::io::{self, IsTerminal as _, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Log lines dropped because stderr could not take them.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// How many log lines (writes) were dropped because stderr refused them.
pub fn dropped_lines() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Stderr for log lines: a write error drops the line (counted), never a panic or an error
/// to the caller.
#[derive(Debug, Clone, Copy, Default)]
pub struct StderrLossy;

impl Write for StderrLossy {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if io::stderr().write_all(buf).is_err() {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stderr().flush();
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for StderrLossy {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

/// Whether log lines get ANSI colours: only on a terminal, and not when `NO_COLOR` is set
/// to anything but the empty string (<https://no-color.org>).
pub fn use_ansi(stderr_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(OsStr::is_empty)
}

/// Writes one line to stderr, ignoring any error (for messages printed outside `tracing`
/// by apps: a closed or full stderr must not turn into a panic as `eprintln!` does).
pub fn stderr_line(args: core::fmt::Arguments<'_>) {
    let mut e = io::stderr().lock();
    if e.write_fmt(args).and_then(|()| e.write_all(b"\n")).is_err() {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoggingError {
    /// `RUST_LOG` does not parse as a filter.
    #[error(
        "RUST_LOG={value:?} is not a valid filter ({reason}); fix: e.g. RUST_LOG=info or RUST_LOG=voltwire_runtime=debug"
    )]
    BadFilter {
        /// The rejected text.
        value: String,
        /// The parser's reason.
        reason: String,
    },
    /// A global subscriber was already installed.
    #[error("logging is already initialised")]
    AlreadySet,
}

/// The filter directive used for `verbosity` `-v` flags and an optional `RUST_LOG` value.
pub fn filter_directive(verbosity: u8, rust_log: Option<&str>) -> String {
    match rust_log.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => s.to_owned(),
        None => match verbosity {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
        .to_owned(),
    }
}

/// Install the global subscriber (stderr through [`StderrLossy`], colours per [`use_ansi`])
/// for `verbosity` `-v` flags, honouring `RUST_LOG`.
///
/// # Errors
/// [`LoggingError::BadFilter`] for a malformed `RUST_LOG`, [`LoggingError::AlreadySet`] when
/// called twice.
pub fn init(verbosity: u8) -> Result<(), LoggingError> {
    let env = std::env::var("RUST_LOG").ok();
    let directive = filter_directive(verbosity, env.as_deref());
    let filter = EnvFilter::try_new(&directive).map_err(|e| LoggingError::BadFilter {
        value: directive.clone(),
        reason: e.to_string(),
    })?;
    let ansi = use_ansi(
        io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(StderrLossy)
        .with_ansi(ansi)
        .log_internal_errors(false)
        .try_init()
        .map_err(|_| LoggingError::AlreadySet)
}

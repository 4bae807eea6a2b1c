//! Logging through `tracing`: `-v` counts and `RUST_LOG`.
//!
//! `RUST_LOG`, when set and not empty, wins. Otherwise the number of `-v` flags sets the
//! level: none = `warn`, `-v` = `info`, `-vv` = `debug`, `-vvv` = `trace`. Logs go to stderr,
//! so stdout stays free for data.

use tracing_subscriber::EnvFilter;

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

/// Install the global subscriber (stderr) for `verbosity` `-v` flags, honouring `RUST_LOG`.
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
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .map_err(|_| LoggingError::AlreadySet)
}

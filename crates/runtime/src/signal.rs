//! The stop signals every long-running app handles the same way.
//!
//! [`Signals::register`] takes over SIGTERM, SIGINT and SIGHUP; [`Signals::stop`] resolves
//! on the first SIGTERM or SIGINT, so the app can shut down cleanly (e.g. tell its
//! inverters to stop) and exit 0. SIGHUP is logged and ignored: the apps read their
//! configuration once, at start, and a hang-up (a closed terminal, a `systemctl reload`)
//! must never end them with status 129. Register as early as possible: until then the
//! default action of SIGHUP ends the process.

/// SIGTERM, SIGINT and SIGHUP, taken over from their default actions.
#[derive(Debug)]
pub struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Take over the three signals. Needs a tokio runtime with I/O enabled (call inside it,
    /// or after `runtime.enter()`).
    ///
    /// # Errors
    /// The I/O error of a signal that could not be registered.
    pub fn register() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Resolves on SIGTERM or SIGINT (logged at info); every SIGHUP before that is logged
    /// and ignored.
    pub async fn stop(mut self) {
        loop {
            tokio::select! {
                _ = self.term.recv() => {
                    tracing::info!("SIGTERM: stopping");
                    return;
                }
                _ = self.int.recv() => {
                    tracing::info!("SIGINT: stopping");
                    return;
                }
                _ = self.hup.recv() => {
                    tracing::info!("SIGHUP ignored; restart to apply a changed configuration");
                }
            }
        }
    }
}

//! A private `dbus-daemon` (for `--demo` and the tests): a session-type bus from a config
//! file in a directory of the caller's, listening on a unix socket there. The daemon is
//! killed when the [`PrivateBus`] is dropped.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running private bus.
#[derive(Debug)]
pub struct PrivateBus {
    child: Child,
    address: String,
    socket: std::path::PathBuf,
}

/// Why a private bus did not start.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Writing the config or starting the daemon failed.
    #[error("dbus-daemon: {0} (install the Debian package dbus)")]
    Io(#[from] std::io::Error),
    /// The daemon printed no address.
    #[error("dbus-daemon printed no address")]
    NoAddress,
}

impl PrivateBus {
    /// Start `dbus-daemon` with a config written to `dir/bus.conf`, its socket `dir/bus`.
    ///
    /// # Errors
    /// [`BusError`] when the daemon cannot be started or prints no address.
    pub fn start(dir: &Path) -> Result<Self, BusError> {
        let conf = dir.join("bus.conf");
        let socket = dir.join("bus");
        std::fs::write(
            &conf,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )?;
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf.display()))
            .arg("--print-address")
            .arg("--nofork")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut line = String::new();
        let read = child
            .stdout
            .take()
            .map(|out| BufReader::new(out).read_line(&mut line));
        let address = line.trim().to_owned();
        if !matches!(read, Some(Ok(n)) if n > 0) || address.is_empty() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(BusError::NoAddress);
        }
        Ok(Self {
            child,
            address,
            socket,
        })
    }

    /// The bus address (`unix:path=…,guid=…`).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The address without the daemon's guid (`unix:path=…`): still valid for a new daemon
    /// started on the same directory.
    pub fn socket_address(&self) -> String {
        format!("unix:path={}", self.socket.display())
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

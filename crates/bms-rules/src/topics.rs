//! The MQTT topic scheme of a bms-bridge, in one place for the Linux app and the ESP32
//! firmware. Every topic is `<base>/<level>…` under one base topic (e.g. `voltwire/bms1`):
//!
//! | topic | what |
//! |---|---|
//! | `<base>/availability` | [`ONLINE`] / [`OFFLINE`], retained; `offline` is the last will |
//! | `<base>/state` | state JSON, retained |
//! | `<base>/event` | one event JSON per message, not retained |
//! | `<base>/config` | the effective rule settings JSON, retained (echo of a config command) |
//! | `<base>/command/<relay>` | `on`, `off` or `auto` for `load1`, `load2`, `balancer` |
//! | `<base>/command/config` | rule settings JSON |
//! | `<base>/command/result` | the result JSON of each command |
//!
//! The level names are the constants below; [`Command::from_name`] reads the name after
//! `<base>/command/` and [`command_name`] splits a full topic.

use core::fmt;

use crate::types::Relay;

/// `<base>/availability`: [`ONLINE`] / [`OFFLINE`].
pub const AVAILABILITY: &str = "availability";
/// `<base>/state`: the state JSON (retained).
pub const STATE: &str = "state";
/// `<base>/event`: one event JSON (not retained).
pub const EVENT: &str = "event";
/// `<base>/config`: the effective rule settings (retained).
pub const CONFIG: &str = "config";
/// `<base>/command`: the parent level of every command.
pub const COMMAND: &str = "command";
/// `<base>/command/result`: the result of each command.
pub const RESULT: &str = "result";
/// The command name of the rule settings (`<base>/command/config`).
pub const CONFIG_COMMAND: &str = "config";
/// Payload of [`AVAILABILITY`] while connected.
pub const ONLINE: &str = "online";
/// Payload of [`AVAILABILITY`] after a clean shutdown or as the last will.
pub const OFFLINE: &str = "offline";

/// A command the bridge accepts under `<base>/command/`.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// A relay's mode (`<base>/command/<relay name>`).
    Relay(Relay),
    /// Rule settings (`<base>/command/config`).
    Config,
}

impl Command {
    /// The command of a name (the level after `<base>/command/`); `None` for any other.
    pub fn from_name(name: &str) -> Option<Self> {
        if name == CONFIG_COMMAND {
            return Some(Self::Config);
        }
        Relay::from_name(name).map(Self::Relay)
    }

    /// The name of this command.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Relay(r) => r.name(),
            Self::Config => CONFIG_COMMAND,
        }
    }
}

/// The command name of `topic` under `base`: `Some(name)` for `<base>/command/<name>` (one
/// level, not [`RESULT`]), `None` for anything else.
pub fn command_name<'t>(base: &str, topic: &'t str) -> Option<&'t str> {
    let name = topic
        .strip_prefix(base)?
        .strip_prefix('/')?
        .strip_prefix(COMMAND)?
        .strip_prefix('/')?;
    (!name.is_empty() && name != RESULT && !name.contains('/')).then_some(name)
}

/// Write `<base>/<level>` to `out` (a `heapless::String` on firmware).
///
/// # Errors
/// What `out` reports (e.g. it is full).
pub fn write_topic<W: fmt::Write>(out: &mut W, base: &str, level: &str) -> fmt::Result {
    out.write_str(base)?;
    out.write_char('/')?;
    out.write_str(level)
}

/// Write `<base>/command/<name>` to `out`.
///
/// # Errors
/// What `out` reports (e.g. it is full).
pub fn write_command_topic<W: fmt::Write>(out: &mut W, base: &str, name: &str) -> fmt::Result {
    write_topic(out, base, COMMAND)?;
    out.write_char('/')?;
    out.write_str(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_by_name_and_topic() {
        assert_eq!(
            Command::from_name("load1"),
            Some(Command::Relay(Relay::Load1))
        );
        assert_eq!(
            Command::from_name("balancer"),
            Some(Command::Relay(Relay::Balancer))
        );
        assert_eq!(Command::from_name("config"), Some(Command::Config));
        assert_eq!(Command::from_name("load3"), None);
        for c in [Command::Config, Command::Relay(Relay::Load2)] {
            assert_eq!(Command::from_name(c.name()), Some(c));
        }
        assert_eq!(command_name("vw/b", "vw/b/command/load2"), Some("load2"));
        assert_eq!(command_name("vw/b", "vw/b/command/result"), None);
        assert_eq!(command_name("vw/b", "vw/b/command"), None);
        assert_eq!(command_name("vw/b", "vw/b/command/a/b"), None);
        assert_eq!(command_name("vw/b", "vw/bx/command/load1"), None);
        assert_eq!(command_name("vw/b", "vw/b/state"), None);
    }

    #[test]
    fn topics_written() {
        let mut s = heapless::String::<32>::new();
        write_topic(&mut s, "vw/b", EVENT).unwrap();
        assert_eq!(s.as_str(), "vw/b/event");
        s.clear();
        write_command_topic(&mut s, "vw/b", "load1").unwrap();
        assert_eq!(s.as_str(), "vw/b/command/load1");
        let mut tiny = heapless::String::<4>::new();
        assert!(write_topic(&mut tiny, "vw/b", STATE).is_err());
    }
}

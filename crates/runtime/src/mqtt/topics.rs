//! The topic layout under one base topic.

use std::fmt;

/// Payload of `<base>/availability` while connected.
pub const ONLINE: &str = "online";
/// Payload of `<base>/availability` after a clean shutdown or as the last will.
pub const OFFLINE: &str = "offline";

/// A base topic that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("MQTT topic `{topic}`: {problem}; {fix}")]
pub struct TopicError {
    /// The offending topic (or topic level).
    pub topic: String,
    /// What is wrong.
    pub problem: &'static str,
    /// How to fix it.
    pub fix: &'static str,
}

impl TopicError {
    /// Stable short code.
    pub fn code(&self) -> &'static str {
        "bad_topic"
    }
}

/// Topics of one node, all under `base`:
///
/// | topic | what |
/// |---|---|
/// | `<base>/availability` | `online` / `offline`, retained; `offline` is the last will |
/// | `<base>/state` | JSON state, retained |
/// | `<base>/command` | JSON command (name `""` for the validator) |
/// | `<base>/command/<name>` | a named command (e.g. a Home Assistant switch or number) |
/// | `<base>/command/result` | JSON [`CommandResult`](super::CommandResult) for each command |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    base: String,
}

impl Topics {
    /// Checks and wraps a base topic such as `voltwire/bms1`.
    ///
    /// # Errors
    /// [`TopicError`] if it is empty, starts or ends with `/`, has an empty level, or contains
    /// `+`, `#` or NUL.
    pub fn new(base: &str) -> Result<Self, TopicError> {
        let err = |problem, fix| TopicError {
            topic: base.to_owned(),
            problem,
            fix,
        };
        if base.is_empty() {
            return Err(err("is empty", "give a base topic such as `voltwire/bms1`"));
        }
        if base.contains(['+', '#', '\0']) {
            return Err(err(
                "contains a wildcard or NUL",
                "use only letters, digits, `_`, `-` and `/` between levels",
            ));
        }
        if base.split('/').any(str::is_empty) {
            return Err(err(
                "has an empty level (leading, trailing or doubled `/`)",
                "write it as `voltwire/bms1`",
            ));
        }
        Ok(Self {
            base: base.to_owned(),
        })
    }

    /// The base topic.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `<base>/availability`.
    pub fn availability(&self) -> String {
        format!("{}/availability", self.base)
    }

    /// `<base>/state`.
    pub fn state(&self) -> String {
        format!("{}/state", self.base)
    }

    /// `<base>/<sub>` (for extra retained state topics).
    pub fn sub(&self, sub: &str) -> String {
        format!("{}/{sub}", self.base)
    }

    /// `<base>/command`.
    pub fn command(&self) -> String {
        format!("{}/command", self.base)
    }

    /// `<base>/command/<name>`.
    pub fn named_command(&self, name: &str) -> String {
        format!("{}/command/{name}", self.base)
    }

    /// `<base>/command/result`.
    pub fn command_result(&self) -> String {
        format!("{}/command/result", self.base)
    }

    /// The subscriptions that receive commands: `<base>/command` and `<base>/command/+`.
    pub fn command_filters(&self) -> [String; 2] {
        [self.command(), format!("{}/command/+", self.base)]
    }

    /// The command name of a topic: `Some("")` for `<base>/command`, `Some(name)` for
    /// `<base>/command/<name>`, `None` for anything else (including `<base>/command/result`).
    pub fn command_name<'t>(&self, topic: &'t str) -> Option<&'t str> {
        let rest = topic
            .strip_prefix(self.base.as_str())?
            .strip_prefix("/command")?;
        if rest.is_empty() {
            return Some("");
        }
        let name = rest.strip_prefix('/')?;
        (!name.is_empty() && name != "result" && !name.contains('/')).then_some(name)
    }
}

impl fmt::Display for Topics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let t = Topics::new("vw/bms1").unwrap();
        assert_eq!(t.availability(), "vw/bms1/availability");
        assert_eq!(t.state(), "vw/bms1/state");
        assert_eq!(t.command_result(), "vw/bms1/command/result");
        assert_eq!(t.command_name("vw/bms1/command"), Some(""));
        assert_eq!(t.command_name("vw/bms1/command/charge"), Some("charge"));
        assert_eq!(t.command_name("vw/bms1/command/result"), None);
        assert_eq!(t.command_name("vw/bms1/commandx"), None);
        assert_eq!(t.command_name("vw/bms2/command"), None);
    }

    #[test]
    fn bad_bases() {
        for b in ["", "/a", "a/", "a//b", "a/+", "a/#"] {
            let e = Topics::new(b).unwrap_err();
            assert!(
                e.to_string().contains("voltwire/bms1") || e.to_string().contains("letters"),
                "{e}"
            );
        }
    }
}

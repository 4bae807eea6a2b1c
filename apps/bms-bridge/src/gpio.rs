//! Relays on Linux GPIO lines (`backend = "gpio"`, `url = "gpio:///dev/gpiochip0?line=17"`).
//!
//! The relay logic is ours and tested through [`GpioLine`] with a fake line: the URL
//! ([`GpioUrl`]), the active-low mapping ([`level`]) and the relay ([`GpioRelay`]: opened
//! driven to OFF, switched by physical level, released when dropped). The character-device
//! line ([`ChardevLine`], feature `gpio`, Linux) is a thin adapter over `gpiocdev`: it asks
//! for the line as an output already at the OFF level (no glitch to ON at start) and gives it
//! back to the kernel when dropped. There is no GPIO chip on the development machine, so that
//! adapter itself is not exercised by the tests.

use std::io;
use std::path::PathBuf;

/// A parsed `gpio://` relay URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpioUrl {
    /// The chip's character device, e.g. `/dev/gpiochip0`.
    pub chip: PathBuf,
    /// The line offset on that chip.
    pub line: u32,
    /// Whether the relay is ON when the line is low (`active=low`).
    pub active_low: bool,
}

/// Why a `gpio://` URL is not usable: what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpioUrlError {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: &'static str,
}

impl std::fmt::Display for GpioUrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.fix)
    }
}

const EXAMPLE: &str =
    "e.g. gpio:///dev/gpiochip0?line=17 or gpio:///dev/gpiochip0?line=17&active=low";

impl GpioUrl {
    /// Parse `gpio://<absolute chip path>?line=<offset>[&active=high|low]`.
    ///
    /// # Errors
    /// The part that is wrong and the fix.
    pub fn parse(s: &str) -> Result<Self, GpioUrlError> {
        let err = |message: String, fix: &'static str| GpioUrlError { message, fix };
        let Some(rest) = s.strip_prefix("gpio://") else {
            return Err(err(format!("{s:?} is not a gpio:// URL"), EXAMPLE));
        };
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if !path.starts_with('/') || path.len() < 2 {
            return Err(err(
                format!("the chip path {path:?} is not an absolute path"),
                "give the chip's device, e.g. gpio:///dev/gpiochip0?line=17 (three slashes)",
            ));
        }
        if path.split('/').any(|c| c == ".." || c == ".") {
            return Err(err(
                format!("the chip path {path:?} has . or .. in it"),
                "give the chip's device plainly, e.g. /dev/gpiochip0",
            ));
        }
        let mut line = None;
        let mut active_low = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "line" if line.is_none() => {
                    let n = v.parse::<u32>().ok().filter(|n| *n < 4096).ok_or_else(|| {
                        err(
                            format!("line={v:?} is not a line offset"),
                            "give the line's offset on the chip, 0..=4095 (see gpioinfo), e.g. line=17",
                        )
                    })?;
                    line = Some(n);
                }
                "active" if active_low.is_none() => {
                    active_low = Some(match v {
                        "high" => false,
                        "low" => true,
                        _ => {
                            return Err(err(
                                format!("active={v:?} is neither high nor low"),
                                "use active=high (relay on when the line is high, the default) or active=low",
                            ));
                        }
                    });
                }
                "line" | "active" => {
                    return Err(err(
                        format!("{k} is given twice"),
                        "give each of line and active once",
                    ));
                }
                other => {
                    return Err(err(
                        format!("unknown parameter {other:?}"),
                        "only line=<offset> and active=high|low are understood",
                    ));
                }
            }
        }
        let line = line.ok_or_else(|| {
            err(
                "the line is missing".to_owned(),
                "add ?line=<offset>, e.g. gpio:///dev/gpiochip0?line=17",
            )
        })?;
        Ok(Self {
            chip: PathBuf::from(path),
            line,
            active_low: active_low.unwrap_or(false),
        })
    }
}

impl std::fmt::Display for GpioUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "gpio://{}?line={}&active={}",
            self.chip.display(),
            self.line,
            if self.active_low { "low" } else { "high" }
        )
    }
}

/// The physical level (`true` = high) that switches a relay `on` or off: a relay wired
/// active-low is ON when its line is low.
pub const fn level(on: bool, active_low: bool) -> bool {
    on != active_low
}

/// One output line, driven by physical level. Dropping it releases the line.
pub trait GpioLine: Send {
    /// Drive the line high (`true`) or low.
    ///
    /// # Errors
    /// What the device reports.
    fn set_level(&mut self, high: bool) -> io::Result<()>;
}

/// Opens a line as an output already driven at the given physical level.
pub type OpenLine = fn(&GpioUrl, bool) -> io::Result<Box<dyn GpioLine>>;

/// A relay on one GPIO line.
pub struct GpioRelay {
    url: GpioUrl,
    line: Box<dyn GpioLine>,
}

impl std::fmt::Debug for GpioRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpioRelay")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl GpioRelay {
    /// Open the relay's line with `open`, driven to OFF from the first moment.
    ///
    /// # Errors
    /// The line cannot be opened (the message names the URL).
    pub fn open(url: &GpioUrl, open: OpenLine) -> Result<Self, String> {
        let line = open(url, level(false, url.active_low))
            .map_err(|e| format!("cannot open {url}: {e}"))?;
        Ok(Self {
            url: url.clone(),
            line,
        })
    }

    /// Switch the relay.
    ///
    /// # Errors
    /// The device's error, with the URL.
    pub fn set(&mut self, on: bool) -> Result<(), String> {
        self.line
            .set_level(level(on, self.url.active_low))
            .map_err(|e| format!("{}: {e}", self.url))
    }
}

/// A line of a GPIO character device (`gpiocdev`, uAPI v2), requested as an output by
/// `bms-bridge`; the kernel gets it back when this is dropped.
#[cfg(all(feature = "gpio", target_os = "linux"))]
#[derive(Debug)]
pub struct ChardevLine(gpiocdev::Request);

#[cfg(all(feature = "gpio", target_os = "linux"))]
impl ChardevLine {
    /// Request `url`'s line as an output at physical level `high`. No active-low flag is
    /// given to the kernel: [`level`] does the mapping, so the value written is the level.
    ///
    /// # Errors
    /// The chip cannot be opened, the line does not exist or is in use.
    pub fn open(url: &GpioUrl, high: bool) -> io::Result<Box<dyn GpioLine>> {
        let req = gpiocdev::Request::builder()
            .on_chip(&url.chip)
            .with_consumer("bms-bridge")
            .with_line(url.line)
            .as_output(value(high))
            .request()
            .map_err(io::Error::other)?;
        Ok(Box::new(Self(req)))
    }
}

#[cfg(all(feature = "gpio", target_os = "linux"))]
const fn value(high: bool) -> gpiocdev::line::Value {
    if high {
        gpiocdev::line::Value::Active
    } else {
        gpiocdev::line::Value::Inactive
    }
}

#[cfg(all(feature = "gpio", target_os = "linux"))]
impl GpioLine for ChardevLine {
    fn set_level(&mut self, high: bool) -> io::Result<()> {
        self.0
            .set_lone_value(value(high))
            .map(drop)
            .map_err(io::Error::other)
    }
}

/// The line opener of this build: the character device, or (without feature `gpio` or off
/// Linux) `None`, and the configuration refuses `backend = "gpio"`.
pub const fn chardev() -> Option<OpenLine> {
    #[cfg(all(feature = "gpio", target_os = "linux"))]
    {
        Some(ChardevLine::open)
    }
    #[cfg(not(all(feature = "gpio", target_os = "linux")))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test")]
    use super::*;

    #[test]
    fn urls() {
        let u = GpioUrl::parse("gpio:///dev/gpiochip0?line=17").unwrap();
        assert_eq!(
            u,
            GpioUrl {
                chip: "/dev/gpiochip0".into(),
                line: 17,
                active_low: false
            }
        );
        let u = GpioUrl::parse("gpio:///dev/gpiochip1?active=low&line=0").unwrap();
        assert_eq!((u.line, u.active_low), (0, true));
        assert_eq!(u.to_string(), "gpio:///dev/gpiochip1?line=0&active=low");
        assert!(
            !GpioUrl::parse("gpio:///dev/gpiochip0?line=4095&active=high")
                .unwrap()
                .active_low
        );
        for (bad, says, fix) in [
            (
                "serial:///dev/gpiochip0?line=1",
                "not a gpio:// URL",
                "e.g. gpio://",
            ),
            (
                "gpio://dev/gpiochip0?line=1",
                "not an absolute path",
                "three slashes",
            ),
            ("gpio:///?line=1", "not an absolute path", "three slashes"),
            ("gpio:///dev/../etc/x?line=1", "has . or ..", "plainly"),
            ("gpio:///dev/gpiochip0", "line is missing", "add ?line="),
            (
                "gpio:///dev/gpiochip0?line=",
                "not a line offset",
                "0..=4095",
            ),
            (
                "gpio:///dev/gpiochip0?line=-1",
                "not a line offset",
                "0..=4095",
            ),
            (
                "gpio:///dev/gpiochip0?line=4096",
                "not a line offset",
                "0..=4095",
            ),
            ("gpio:///dev/gpiochip0?line=1&line=2", "twice", "once"),
            (
                "gpio:///dev/gpiochip0?line=1&active=LOW",
                "neither high nor low",
                "active=low",
            ),
            (
                "gpio:///dev/gpiochip0?line=1&active=",
                "neither high nor low",
                "active=low",
            ),
            (
                "gpio:///dev/gpiochip0?line=1&pull=up",
                "unknown parameter",
                "only line=",
            ),
        ] {
            let e = GpioUrl::parse(bad).unwrap_err();
            assert!(e.message.contains(says), "{bad}: {e}");
            assert!(e.fix.contains(fix), "{bad}: {e}");
        }
    }

    #[test]
    fn active_low_mapping() {
        assert!(level(true, false), "active-high on = high");
        assert!(!level(false, false), "active-high off = low");
        assert!(!level(true, true), "active-low on = low");
        assert!(level(false, true), "active-low off = high");
    }
}

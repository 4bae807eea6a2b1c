//! Command validation: every command that arrives on a command topic goes through a
//! caller-given validator; a [`Rejection`] is logged, reported on `<base>/command/result` and
//! changes nothing.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a command was rejected: a stable snake-case `code` and a readable `reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {reason}")]
pub struct Rejection {
    /// Stable short snake-case code, e.g. `bad_json`, `unknown_field`, `out_of_range`.
    pub code: &'static str,
    /// Human-readable reason, naming the field and the allowed values where possible.
    pub reason: String,
}

impl Rejection {
    /// A rejection with any code and reason.
    pub fn new(code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }

    /// The command name (the last topic level) is not one the app knows.
    pub fn unknown_command(name: &str) -> Self {
        Self::new("unknown_command", format!("no command named `{name}`"))
    }

    /// `field` is outside `min..=max`.
    pub fn out_of_range(
        field: &str,
        value: impl fmt::Display,
        min: impl fmt::Display,
        max: impl fmt::Display,
    ) -> Self {
        Self::new(
            "out_of_range",
            format!("`{field}` = {value} is outside {min}..={max}"),
        )
    }

    /// `field` has a value of the wrong kind.
    pub fn invalid(field: &str, reason: impl fmt::Display) -> Self {
        Self::new("invalid_value", format!("`{field}`: {reason}"))
    }
}

/// Parses a JSON command payload into `T` (use `#[serde(deny_unknown_fields)]` on `T`).
///
/// # Errors
/// `bad_json` (not JSON / not UTF-8), `unknown_field` (a field `T` does not have) or
/// `invalid_value` (a missing field or a value of the wrong type).
pub fn parse_json<T: DeserializeOwned>(payload: &[u8]) -> Result<T, Rejection> {
    serde_json::from_slice(payload).map_err(|e| {
        let msg = e.to_string();
        let code = if msg.starts_with("unknown field") {
            "unknown_field"
        } else if e.is_data() {
            "invalid_value"
        } else {
            "bad_json"
        };
        Rejection::new(code, msg)
    })
}

/// Checks `min <= value <= max` (NaN is out of range).
///
/// # Errors
/// `out_of_range` naming `field`, the value and the range.
pub fn check_range<T: PartialOrd + fmt::Display + Copy>(
    field: &str,
    value: T,
    min: T,
    max: T,
) -> Result<T, Rejection> {
    if value >= min && value <= max {
        Ok(value)
    } else {
        Err(Rejection::out_of_range(field, value, min, max))
    }
}

/// Parses a Home Assistant switch payload: `ON`/`OFF` (also `true`/`false`, `1`/`0`).
///
/// # Errors
/// `invalid_value` for anything else.
pub fn parse_switch(field: &str, payload: &[u8]) -> Result<bool, Rejection> {
    match payload.trim_ascii() {
        b"ON" | b"on" | b"true" | b"1" => Ok(true),
        b"OFF" | b"off" | b"false" | b"0" => Ok(false),
        other => Err(Rejection::invalid(
            field,
            format!("`{}` is not ON or OFF", String::from_utf8_lossy(other)),
        )),
    }
}

/// Parses the payload of a trigger command such as `<base>/command/clear`, which carries no
/// value: accepts `true`, `{}`, `PRESS` (a Home Assistant button), and `field` itself, bare or
/// as a JSON string (`clear`, `"clear"`), surrounding whitespace ignored.
///
/// # Errors
/// `invalid_value` for anything else (e.g. `false`, `0`, `{"clear": false}`), so a payload
/// meant for something else triggers nothing.
pub fn parse_trigger(field: &str, payload: &[u8]) -> Result<(), Rejection> {
    let p = payload.trim_ascii();
    let quoted = p
        .strip_prefix(b"\"")
        .and_then(|q| q.strip_suffix(b"\""))
        .is_some_and(|q| q == field.as_bytes());
    if quoted || p == field.as_bytes() || matches!(p, b"true" | b"{}" | b"PRESS") {
        return Ok(());
    }
    Err(Rejection::invalid(
        field,
        format!(
            "`{}` is not a trigger; send true, {{}}, PRESS or {field}",
            String::from_utf8_lossy(p)
                .chars()
                .take(64)
                .collect::<String>()
        ),
    ))
}

/// Parses a Home Assistant number payload (a plain decimal number) and checks its range.
///
/// # Errors
/// `invalid_value` if it is not a finite number, `out_of_range` outside `min..=max`.
pub fn parse_number(field: &str, payload: &[u8], min: f64, max: f64) -> Result<f64, Rejection> {
    let text = std::str::from_utf8(payload)
        .map_err(|_| Rejection::invalid(field, "payload is not UTF-8"))?
        .trim();
    let value: f64 = text
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| Rejection::invalid(field, format!("`{text}` is not a number")))?;
    check_range(field, value, min, max)
}

/// The JSON object published to `<base>/command/result` for every command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandResult {
    /// Topic the command arrived on.
    pub topic: String,
    /// Whether the command was accepted and handed to the app.
    pub accepted: bool,
    /// Rejection code (absent when accepted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// Rejection reason (absent when accepted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl CommandResult {
    /// Result for an accepted command.
    pub fn accepted(topic: &str) -> Self {
        Self {
            topic: topic.to_owned(),
            accepted: true,
            code: None,
            reason: None,
        }
    }

    /// Result for a rejected command.
    pub fn rejected(topic: &str, rejection: &Rejection) -> Self {
        Self {
            topic: topic.to_owned(),
            accepted: false,
            code: Some(rejection.code),
            reason: Some(rejection.reason.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Cmd {
        current_a: f64,
    }

    #[test]
    fn json_rejections_have_codes() {
        assert_eq!(
            parse_json::<Cmd>(br#"{"current_a": 5}"#).unwrap(),
            Cmd { current_a: 5.0 }
        );
        assert_eq!(parse_json::<Cmd>(b"{oops").unwrap_err().code, "bad_json");
        assert_eq!(parse_json::<Cmd>(b"\xff").unwrap_err().code, "bad_json");
        let e = parse_json::<Cmd>(br#"{"current_a": 5, "volts": 1}"#).unwrap_err();
        assert_eq!(e.code, "unknown_field");
        assert!(e.reason.contains("volts"), "{e}");
        assert_eq!(
            parse_json::<Cmd>(br#"{"current_a": "x"}"#)
                .unwrap_err()
                .code,
            "invalid_value"
        );
        assert_eq!(parse_json::<Cmd>(b"{}").unwrap_err().code, "invalid_value");
    }

    #[test]
    fn ranges_and_plain_payloads() {
        assert_eq!(check_range("a", 5, 0, 10), Ok(5));
        let e = check_range("a", 11, 0, 10).unwrap_err();
        assert_eq!(
            (e.code, e.reason.as_str()),
            ("out_of_range", "`a` = 11 is outside 0..=10")
        );
        assert_eq!(
            check_range("f", f64::NAN, 0.0, 1.0).unwrap_err().code,
            "out_of_range"
        );
        assert_eq!(parse_switch("s", b" ON\n"), Ok(true));
        assert_eq!(parse_switch("s", b"0"), Ok(false));
        assert_eq!(
            parse_switch("s", b"maybe").unwrap_err().code,
            "invalid_value"
        );
        assert_eq!(parse_number("n", b"12.5", 0.0, 50.0), Ok(12.5));
        assert_eq!(
            parse_number("n", b"inf", 0.0, 50.0).unwrap_err().code,
            "invalid_value"
        );
        assert_eq!(
            parse_number("n", b"51", 0.0, 50.0).unwrap_err().code,
            "out_of_range"
        );
    }

    #[test]
    fn triggers() {
        for ok in [
            &b"true"[..],
            b"{}",
            b" {}\n",
            b"PRESS",
            b"clear",
            b"\"clear\"",
        ] {
            assert_eq!(
                parse_trigger("clear", ok),
                Ok(()),
                "{}",
                String::from_utf8_lossy(ok)
            );
        }
        for bad in [
            &b"false"[..],
            b"0",
            b"1",
            b"{\"clear\": false}",
            b"\"clearx\"",
            b"clea",
            b"\xff",
        ] {
            let e = parse_trigger("clear", bad).unwrap_err();
            assert_eq!(e.code, "invalid_value", "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn result_json() {
        let r = CommandResult::rejected("b/command", &Rejection::unknown_command("x"));
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"topic":"b/command","accepted":false,"code":"unknown_command","reason":"no command named `x`"}"#
        );
        let r = CommandResult::accepted("b/command");
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"topic":"b/command","accepted":true}"#
        );
    }
}

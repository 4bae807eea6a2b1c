//! Meter payloads to grid power (positive = import), and the meter tasks.

use serde_json::Value;
use voltwire_core::Watts;

/// How a meter payload is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// A plain number, or a JSON document with the value at this JSON pointer (RFC 6901,
    /// e.g. `/ENERGY/Power`); an empty pointer means the payload is the number.
    Pointer(String),
    /// Shelly Gen2/Gen3 `EM.GetStatus` (`total_act_power`).
    ShellyEm,
    /// Shelly Gen2/Gen3 `EM1.GetStatus` (`act_power`).
    ShellyEm1,
    /// Shelly Gen1 `/status`: `total_power`, else the sum of `emeters[].power`.
    ShellyGen1,
}

/// Why a payload gave no reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

/// A finite number of watts within ±1 MW, rounded to whole watts.
fn watts(v: &Value, what: &str) -> Result<Watts, ParseError> {
    let f = v
        .as_f64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse::<f64>().ok()))
        .ok_or_else(|| ParseError(format!("{what} is not a number: {v}")))?;
    if !f.is_finite() || f.abs() > 1.0e6 {
        return Err(ParseError(format!(
            "{what} = {f} is not a plausible power in W"
        )));
    }
    #[allow(clippy::cast_possible_truncation, reason = "range checked above")]
    Ok(Watts(f.round() as i32))
}

/// Grid power from a payload, with `invert` for meters that report export as positive.
///
/// # Errors
/// A payload that is not JSON / a number, a missing pointer, a non-number value.
pub fn parse(reading: &Reading, payload: &[u8], invert: bool) -> Result<Watts, ParseError> {
    let text =
        std::str::from_utf8(payload).map_err(|_| ParseError("payload is not UTF-8".into()))?;
    let doc: Value = serde_json::from_str(text.trim())
        .map_err(|e| ParseError(format!("payload is not JSON or a number: {e}")))?;
    let w = match reading {
        Reading::Pointer(p) if p.is_empty() => watts(&doc, "payload")?,
        Reading::Pointer(p) => {
            let v = doc
                .pointer(p)
                .ok_or_else(|| ParseError(format!("no value at JSON pointer `{p}`")))?;
            watts(v, p)?
        }
        Reading::ShellyEm => watts(
            doc.get("total_act_power").unwrap_or(&Value::Null),
            "total_act_power",
        )?,
        Reading::ShellyEm1 => watts(doc.get("act_power").unwrap_or(&Value::Null), "act_power")?,
        Reading::ShellyGen1 => {
            if let Some(v) = doc.get("total_power") {
                watts(v, "total_power")?
            } else {
                let meters = doc
                    .get("emeters")
                    .and_then(Value::as_array)
                    .ok_or_else(|| ParseError("neither `total_power` nor `emeters[]`".into()))?;
                let mut sum = 0i32;
                for (i, m) in meters.iter().enumerate() {
                    let p = watts(
                        m.get("power").unwrap_or(&Value::Null),
                        &format!("emeters[{i}].power"),
                    )?;
                    sum = sum.saturating_add(p.0);
                }
                Watts(sum)
            }
        }
    };
    Ok(if invert { Watts(-w.0) } else { w })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_pointers_and_shelly_payloads() {
        let p = |r: &Reading, s: &str| parse(r, s.as_bytes(), false);
        assert_eq!(
            p(&Reading::Pointer(String::new()), " -312.6\n"),
            Ok(Watts(-313))
        );
        assert_eq!(p(&Reading::Pointer(String::new()), "\"42\""), Ok(Watts(42)));
        let tasmota = r#"{"Time":"2024-01-01T00:00:00","SML":{"Power_curr":-1234}}"#;
        assert_eq!(
            p(&Reading::Pointer("/SML/Power_curr".into()), tasmota),
            Ok(Watts(-1234))
        );
        assert_eq!(
            parse(
                &Reading::Pointer("/SML/Power_curr".into()),
                tasmota.as_bytes(),
                true
            ),
            Ok(Watts(1234))
        );
        assert_eq!(
            p(
                &Reading::ShellyEm,
                r#"{"id":0,"a_act_power":10.0,"total_act_power":512.25}"#
            ),
            Ok(Watts(512))
        );
        assert_eq!(
            p(&Reading::ShellyEm1, r#"{"id":0,"act_power":-87.5}"#),
            Ok(Watts(-88))
        );
        assert_eq!(
            p(&Reading::ShellyGen1, r#"{"total_power":300.4}"#),
            Ok(Watts(300))
        );
        assert_eq!(
            p(
                &Reading::ShellyGen1,
                r#"{"emeters":[{"power":100.0},{"power":-30.0},{"power":5}]}"#
            ),
            Ok(Watts(75))
        );
        for bad in [
            "",
            "nan",
            "{}",
            r#"{"SML":{}}"#,
            "1e9",
            r#"{"SML":{"Power_curr":"x"}}"#,
        ] {
            assert!(
                p(&Reading::Pointer("/SML/Power_curr".into()), bad).is_err(),
                "{bad}"
            );
        }
        assert!(
            p(&Reading::ShellyEm, r#"{"act_power":1}"#)
                .unwrap_err()
                .0
                .contains("total_act_power")
        );
        assert!(p(&Reading::Pointer(String::new()), "\u{ff}").is_err());
    }
}

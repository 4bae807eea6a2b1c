//! The value of one D-Bus path (a Venus `BusItem`), at the app edge where floats are allowed.

use std::collections::HashMap;

use zbus::zvariant::{OwnedValue, Value};

/// A `BusItem` value: invalid (an empty `ai` on the wire), an integer, a float or a text.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// No valid value: an empty array of int32 on the wire.
    Invalid,
    /// An integer (`i` when it fits, else `x`).
    Int(i64),
    /// A float (`d`).
    Float(f64),
    /// A text (`s`).
    Text(String),
}

impl Item {
    /// The value as a D-Bus variant.
    pub fn to_value(&self) -> Value<'static> {
        match self {
            Self::Invalid => Value::from(Vec::<i32>::new()),
            Self::Int(i) => i32::try_from(*i).map_or_else(|_| Value::I64(*i), Value::I32),
            Self::Float(f) => Value::F64(*f),
            Self::Text(s) => Value::from(s.clone()),
        }
    }

    /// A received variant as an item: any integer or boolean is an `Int`, a double a
    /// `Float`, a string a `Text`, anything else (empty arrays included) `Invalid`.
    pub fn from_value(v: &Value<'_>) -> Self {
        match v {
            Value::U8(x) => Self::Int(i64::from(*x)),
            Value::Bool(x) => Self::Int(i64::from(*x)),
            Value::I16(x) => Self::Int(i64::from(*x)),
            Value::U16(x) => Self::Int(i64::from(*x)),
            Value::I32(x) => Self::Int(i64::from(*x)),
            Value::U32(x) => Self::Int(i64::from(*x)),
            Value::I64(x) => Self::Int(*x),
            Value::U64(x) => i64::try_from(*x).map_or(Self::Invalid, Self::Int),
            Value::F64(x) if x.is_finite() => Self::Float(*x),
            Value::Str(s) => Self::Text(s.as_str().to_owned()),
            Value::Value(inner) => Self::from_value(inner),
            _ => Self::Invalid,
        }
    }

    /// The value as a float (`None` for invalid and text).
    #[allow(
        clippy::cast_precision_loss,
        reason = "app edge: D-Bus numbers are floats"
    )]
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Int(i) => Some(*i as f64),
            Self::Float(f) => Some(*f),
            Self::Invalid | Self::Text(_) => None,
        }
    }

    /// The value as a text (`None` unless a text).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The default text of this value (as `vedbus` shows it): the number or the text,
    /// `---` for invalid, with `unit` appended to numbers.
    pub fn text(&self, unit: &str) -> String {
        match self {
            Self::Invalid => "---".to_owned(),
            Self::Int(i) => format!("{i}{unit}"),
            Self::Float(f) => format!("{f}{unit}"),
            Self::Text(s) => s.clone(),
        }
    }
}

/// `{"Value": v, "Text": s}`, the body of `PropertiesChanged` and of each `GetItems` entry.
pub fn value_and_text(item: &Item, text: &str) -> HashMap<&'static str, Value<'static>> {
    HashMap::from([
        ("Value", item.to_value()),
        ("Text", Value::from(text.to_owned())),
    ])
}

/// A received `a{sv}` entry map (`GetItems` entries, `ItemsChanged`, `PropertiesChanged`):
/// the `Value` field as an item (`None` when absent).
pub fn value_of<S: std::hash::BuildHasher>(entry: &HashMap<String, OwnedValue, S>) -> Option<Item> {
    entry.get("Value").map(|v| Item::from_value(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_variants() {
        for item in [
            Item::Invalid,
            Item::Int(3),
            Item::Int(1 << 40),
            Item::Float(53.25),
            Item::Text("x".into()),
        ] {
            assert_eq!(Item::from_value(&item.to_value()), item);
        }
        assert_eq!(Item::Invalid.to_value().value_signature().to_string(), "ai");
        assert_eq!(Item::Int(1).to_value().value_signature().to_string(), "i");
        assert_eq!(Item::Float(f64::NAN).text("V"), "NaNV");
        assert_eq!(Item::from_value(&Value::F64(f64::NAN)), Item::Invalid);
        assert_eq!(Item::Int(5).text("%"), "5%");
        assert_eq!(Item::Invalid.text("V"), "---");
    }
}

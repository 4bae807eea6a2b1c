//! Reading a Venus service the way `vedbus` clients (`systemcalc`, the GUI) do: method
//! calls without an interface header.

use std::collections::HashMap;

use zbus::Connection;
use zbus::zvariant::{OwnedValue, Value};

use crate::battery::Items;
use crate::item::{Item, value_of};

/// `GetValue` on `path` of `service`, without an interface header.
///
/// # Errors
/// The zbus error of the call (an unknown path is a D-Bus error reply).
pub async fn get_value(conn: &Connection, service: &str, path: &str) -> zbus::Result<Item> {
    let r = conn
        .call_method(Some(service), path, None::<&str>, "GetValue", &())
        .await?;
    let v: OwnedValue = r.body().deserialize()?;
    Ok(Item::from_value(&v))
}

/// `GetText` on `path` of `service`, without an interface header.
///
/// # Errors
/// As [`get_value`].
pub async fn get_text(conn: &Connection, service: &str, path: &str) -> zbus::Result<String> {
    let r = conn
        .call_method(Some(service), path, None::<&str>, "GetText", &())
        .await?;
    let v: OwnedValue = r.body().deserialize()?;
    Ok(Item::from_value(&v).as_str().unwrap_or_default().to_owned())
}

/// `SetValue` on `path` of `service`, without an interface header: 0 done, 1 not
/// writeable, 2 refused.
///
/// # Errors
/// As [`get_value`].
pub async fn set_value(
    conn: &Connection,
    service: &str,
    path: &str,
    value: Value<'_>,
) -> zbus::Result<i32> {
    let r = conn
        .call_method(Some(service), path, None::<&str>, "SetValue", &(value,))
        .await?;
    r.body().deserialize()
}

/// `GetItems` on `/` of `service`, without an interface header.
///
/// # Errors
/// As [`get_value`].
pub async fn get_items(conn: &Connection, service: &str) -> zbus::Result<Items> {
    let r = conn
        .call_method(Some(service), "/", None::<&str>, "GetItems", &())
        .await?;
    let m: HashMap<String, HashMap<String, OwnedValue>> = r.body().deserialize()?;
    Ok(m.into_iter()
        .filter_map(|(p, e)| value_of(&e).map(|v| (p, v)))
        .collect())
}

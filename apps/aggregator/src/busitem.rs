//! A Venus OS service on D-Bus: the `com.victronenergy.BusItem` interface on every path,
//! answered from the connection's message stream.
//!
//! zbus's `#[interface]` object server refuses method calls that carry no interface header,
//! and Victron's client library (`vedbus`, used by `systemcalc` and the GUI) sends exactly
//! those; so the calls are answered here, by path and member name, with or without an
//! interface header (one that is present must be `com.victronenergy.BusItem`, or
//! `org.freedesktop.DBus.Introspectable` / `org.freedesktop.DBus.Peer`).

use std::collections::{BTreeMap, HashMap};

use zbus::message::{Flags, Type};
use zbus::zvariant::{OwnedValue, Value};
use zbus::{Connection, Message};

use crate::item::{Item, value_and_text};

/// The Venus `BusItem` interface name.
pub const BUS_ITEM: &str = "com.victronenergy.BusItem";

/// How a path may be written with `SetValue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writeable {
    /// Not writeable: `SetValue` answers 1.
    No,
    /// A text of at most this many bytes; anything else is refused (2).
    Text(usize),
    /// An integer in `min ..= max`; anything else is refused (2).
    Int {
        /// Smallest value taken.
        min: i64,
        /// Largest value taken.
        max: i64,
    },
}

/// One path: its value, the unit of its text, whether it can be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The value.
    pub value: Item,
    /// Appended to numbers in `GetText`.
    pub unit: &'static str,
    /// `SetValue` rule.
    pub writeable: Writeable,
}

impl Entry {
    /// The text of the value.
    pub fn text(&self) -> String {
        match &self.value {
            Item::Float(f) => format!("{f:.2}{}", self.unit),
            v => v.text(self.unit),
        }
    }
}

/// The paths of a service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tree {
    entries: BTreeMap<String, Entry>,
}

impl Tree {
    /// Add or replace a read-only path.
    pub fn insert(&mut self, path: &str, value: Item, unit: &'static str) {
        self.entries.insert(
            path.to_owned(),
            Entry {
                value,
                unit,
                writeable: Writeable::No,
            },
        );
    }

    /// Add or replace a path that takes a text of at most `max_len` bytes.
    pub fn insert_text_setting(&mut self, path: &str, value: &str, max_len: usize) {
        self.entries.insert(
            path.to_owned(),
            Entry {
                value: Item::Text(value.to_owned()),
                unit: "",
                writeable: Writeable::Text(max_len),
            },
        );
    }

    /// Add or replace a path that takes an integer in `min ..= max` (a Venus setting).
    pub fn insert_int_setting(&mut self, path: &str, value: i64, min: i64, max: i64) {
        self.entries.insert(
            path.to_owned(),
            Entry {
                value: Item::Int(value),
                unit: "",
                writeable: Writeable::Int { min, max },
            },
        );
    }

    /// Set the value of an existing path; whether it changed (an unknown path is ignored).
    pub fn set(&mut self, path: &str, value: Item) -> bool {
        match self.entries.get_mut(path) {
            Some(e) if e.value != value => {
                e.value = value;
                true
            }
            _ => false,
        }
    }

    /// The value of a path.
    pub fn get(&self, path: &str) -> Option<&Item> {
        self.entries.get(path).map(|e| &e.value)
    }

    /// Every path in order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The paths strictly under `node` (`/` for all), relative to it, with their entries.
    fn under<'a>(&'a self, node: &'a str) -> impl Iterator<Item = (&'a str, &'a Entry)> {
        let prefix = if node == "/" {
            String::from("/")
        } else {
            format!("{node}/")
        };
        self.entries
            .iter()
            .filter_map(move |(p, e)| p.strip_prefix(prefix.as_str()).map(|rel| (rel, e)))
    }

    /// `GetItems`: every path with its value and text.
    fn items(&self) -> HashMap<&str, HashMap<&'static str, Value<'static>>> {
        self.entries
            .iter()
            .map(|(p, e)| (p.as_str(), value_and_text(&e.value, &e.text())))
            .collect()
    }
}

/// Which signal announces a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalMode {
    /// `PropertiesChanged` on each changed path (understood by every Venus version).
    #[default]
    PropertiesChanged,
    /// One `ItemsChanged` on `/` per batch of changes (newer Venus versions).
    ItemsChanged,
}

/// What answering a message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answered {
    /// Not a method call for this service (a signal, a reply): not answered.
    NotForUs,
    /// Answered; the tree is unchanged.
    Read,
    /// A `SetValue` changed this path.
    Written(String),
}

fn error_reply(msg: &Message, name: &str, text: &str) -> zbus::Result<Message> {
    Message::error(&msg.header(), name)?.build(&(text,))
}

const INTROSPECT: &str = r#"<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
 <interface name="com.victronenergy.BusItem">
  <method name="GetItems"><arg direction="out" type="a{sa{sv}}"/></method>
  <method name="GetValue"><arg direction="out" type="v"/></method>
  <method name="GetText"><arg direction="out" type="v"/></method>
  <method name="SetValue"><arg direction="in" type="v"/><arg direction="out" type="i"/></method>
  <method name="GetDescription"><arg direction="in" type="s"/><arg direction="in" type="i"/><arg direction="out" type="s"/></method>
  <signal name="PropertiesChanged"><arg type="a{sv}"/></signal>
  <signal name="ItemsChanged"><arg type="a{sa{sv}}"/></signal>
 </interface>
</node>"#;

/// Build the reply to a method call (`None`: not a call for us).
fn reply(tree: &mut Tree, msg: &Message) -> zbus::Result<Option<(Message, Answered)>> {
    if msg.message_type() != Type::MethodCall {
        return Ok(None);
    }
    let h = msg.header();
    let (Some(path), Some(member)) = (h.path(), h.member()) else {
        return Ok(None);
    };
    let path = path.as_str();
    let member = member.as_str();
    let iface = h.interface().map(|i| i.as_str().to_owned());
    let ok = |body: Message| Ok(Some((body, Answered::Read)));
    match iface.as_deref() {
        Some("org.freedesktop.DBus.Peer") => {
            return match member {
                "Ping" => ok(Message::method_return(&h)?.build(&())?),
                _ => Ok(Some((
                    error_reply(msg, "org.freedesktop.DBus.Error.UnknownMethod", member)?,
                    Answered::Read,
                ))),
            };
        }
        Some("org.freedesktop.DBus.Introspectable") => {
            return ok(Message::method_return(&h)?.build(&(INTROSPECT,))?);
        }
        None | Some(BUS_ITEM) => {}
        Some(other) => {
            return Ok(Some((
                error_reply(
                    msg,
                    "org.freedesktop.DBus.Error.UnknownInterface",
                    &format!("no interface {other}"),
                )?,
                Answered::Read,
            )));
        }
    }
    let leaf = tree.entries.get(path).cloned();
    let is_node = path == "/" || tree.under(path).next().is_some();
    let r = Message::method_return(&h)?;
    let out = match (member, leaf) {
        ("GetItems", _) if path == "/" => r.build(&(tree.items(),))?,
        ("GetValue", Some(e)) => r.build(&(e.value.to_value(),))?,
        ("GetText", Some(e)) => r.build(&(Value::from(e.text()),))?,
        ("GetDescription", Some(_)) => r.build(&(path,))?,
        ("SetValue", Some(e)) => {
            let (code, written) = set_value(tree, path, &e, msg);
            let answered = if written {
                Answered::Written(path.to_owned())
            } else {
                Answered::Read
            };
            return Ok(Some((r.build(&(code,))?, answered)));
        }
        ("GetValue", None) if is_node => {
            let m: HashMap<&str, Value<'static>> = tree
                .under(path)
                .map(|(p, e)| (p, e.value.to_value()))
                .collect();
            r.build(&(Value::from(m),))?
        }
        ("GetText", None) if is_node => {
            let m: HashMap<&str, String> = tree.under(path).map(|(p, e)| (p, e.text())).collect();
            r.build(&(Value::from(m),))?
        }
        ("GetValue" | "GetText" | "SetValue" | "GetDescription" | "GetItems", _) => error_reply(
            msg,
            "org.freedesktop.DBus.Error.UnknownObject",
            &format!("no path {path}"),
        )?,
        _ => error_reply(
            msg,
            "org.freedesktop.DBus.Error.UnknownMethod",
            &format!("no method {member}"),
        )?,
    };
    Ok(Some((out, Answered::Read)))
}

/// `SetValue`: 0 written, 1 not writeable, 2 refused (wrong type, too long). A refused
/// value never changes the tree.
fn set_value(tree: &mut Tree, path: &str, e: &Entry, msg: &Message) -> (i32, bool) {
    if e.writeable == Writeable::No {
        return (1, false);
    }
    let Ok(v) = msg.body().deserialize::<OwnedValue>() else {
        return (2, false);
    };
    match (e.writeable, Item::from_value(&v)) {
        (Writeable::Text(max), Item::Text(s))
            if s.len() <= max && !s.chars().any(char::is_control) =>
        {
            (0, tree.set(path, Item::Text(s)))
        }
        (Writeable::Int { min, max }, Item::Int(i)) if (min..=max).contains(&i) => {
            (0, tree.set(path, Item::Int(i)))
        }
        _ => (2, false),
    }
}

/// Answer `msg` if it is a method call for the service of `tree`.
///
/// # Errors
/// A zbus error building or sending the reply.
pub async fn answer(conn: &Connection, tree: &mut Tree, msg: &Message) -> zbus::Result<Answered> {
    let Some((out, answered)) = reply(tree, msg)? else {
        return Ok(Answered::NotForUs);
    };
    if !msg
        .primary_header()
        .flags()
        .contains(Flags::NoReplyExpected)
    {
        conn.send(&out).await?;
    }
    Ok(answered)
}

/// Announce the changed `paths` with one signal per path or one batch signal.
///
/// # Errors
/// A zbus error sending a signal.
pub async fn announce(
    conn: &Connection,
    tree: &Tree,
    paths: &[String],
    mode: SignalMode,
) -> zbus::Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    let entries = paths
        .iter()
        .filter_map(|p| tree.entries.get(p).map(|e| (p.as_str(), e)));
    match mode {
        SignalMode::PropertiesChanged => {
            for (p, e) in entries {
                conn.emit_signal(
                    None::<&str>,
                    p,
                    BUS_ITEM,
                    "PropertiesChanged",
                    &(value_and_text(&e.value, &e.text()),),
                )
                .await?;
            }
        }
        SignalMode::ItemsChanged => {
            let m: HashMap<&str, HashMap<&'static str, Value<'static>>> = entries
                .map(|(p, e)| (p, value_and_text(&e.value, &e.text())))
                .collect();
            conn.emit_signal(None::<&str>, "/", BUS_ITEM, "ItemsChanged", &(m,))
                .await?;
        }
    }
    Ok(())
}

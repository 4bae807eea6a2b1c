//! The aggregator: one D-Bus connection that follows the battery services, combines them
//! with the `voltwire-ess` rules and serves the aggregate battery. It never ends by itself:
//! a lost bus is reconnected (the aggregate is published again), a lost battery degrades the
//! aggregate; only the stop future ends [`run`].

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use tokio::time::Instant;
use voltwire_core::{Milliamps, Millivolts};
use voltwire_ess::Millis;
use voltwire_ess::aggregate::charge::{ChargeTables, DischargeLatch, DynamicCvl, apply};
use voltwire_ess::aggregate::current::{CurrentFrom, SourceReading, choose_current};
use voltwire_ess::aggregate::{Aggregate, Aggregator, Reading};
use zbus::message::Type;
use zbus::zvariant::OwnedValue;
use zbus::{Connection, MatchRule, Message, MessageStream};

use crate::battery::{self, Items};
use crate::busitem::{self, Answered, BUS_ITEM, Tree};
use crate::config::{Bus, Config};
use crate::direct;
use crate::item::{Item, value_of};
use crate::own::{self, FEED_IN_PATH, Own, SETTINGS_SERVICE, WallClock, date_text};
use crate::publish;
use voltwire_runtime::can::VirtualBuses;

/// The most batteries followed (more raise a count-mismatch alarm).
pub const MAX_BATTERIES: usize = 32;

/// The prefix of Venus battery services.
pub const BATTERY_PREFIX: &str = "com.victronenergy.battery.";

/// How long a call to a battery may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// [`CALL_TIMEOUT`] in ms.
const CALL_TIMEOUT_MS: u64 = 5000;

/// Connect to the configured bus, with a queue deep enough for many batteries' signals.
///
/// # Errors
/// The zbus error of the connection.
pub async fn connect(bus: &Bus) -> zbus::Result<Connection> {
    let b = match bus {
        Bus::System => zbus::connection::Builder::system()?,
        Bus::Session => zbus::connection::Builder::session()?,
        Bus::Address(a) => zbus::connection::Builder::address(a.as_str())?,
    };
    b.max_queued(16 * 1024).build().await
}

/// One followed battery service.
#[derive(Debug, Default)]
struct Followed {
    /// Its unique bus name while it is on the bus.
    owner: Option<String>,
    items: Items,
    /// When it last told us something (a signal or a `GetItems` reply).
    last: Option<Millis>,
    /// A `GetItems` is under way since then (a fetch task that never reports back, which
    /// its own timeouts rule out, is given up after three call timeouts).
    fetching: Option<Millis>,
    /// Matches the keyword (known after the first `GetItems`).
    matched: bool,
    /// Is one of the `[[current]]` sources (its kind and `/DeviceInstance`, known after
    /// the first `GetItems`): a battery service that is one (a SmartShunt) is never
    /// aggregated as a battery, whatever its name.
    source: bool,
    /// Bumped whenever the owner changes, so a fetch started for an earlier owner is
    /// ignored (a battery that left is never brought back by a late reply).
    generation: u64,
}

/// What a fetch task returns.
#[derive(Debug)]
struct Fetched {
    service: String,
    generation: u64,
    owner: Option<String>,
    items: Option<Items>,
}

/// The state that outlives a connection: the batteries (slots are kept for the process's
/// life), the rules and the published tree.
#[derive(Debug)]
pub struct App {
    cfg: Config,
    start: Instant,
    tree: Tree,
    agg: Aggregator<MAX_BATTERIES>,
    latch: DischargeLatch,
    dynamic_cvl: Option<DynamicCvl>,
    batteries: BTreeMap<String, Followed>,
    /// Battery service of each aggregator input, in order of appearance.
    slots: Vec<String>,
    last: Option<Aggregate<MAX_BATTERIES>>,
    own: Own,
    direct: direct::Shared,
    virtuals: VirtualBuses,
    direct_started: bool,
    web: Option<Web>,
    web_bound: Option<tokio::sync::oneshot::Sender<std::net::SocketAddr>>,
    /// The last choice of current (logged when it changes).
    current_from: Option<CurrentFrom>,
}

/// The status page takes no commands.
type NoCommands = fn(&str, &[u8]) -> Result<(), voltwire_runtime::mqtt::Rejection>;

/// The running status page.
struct Web {
    publisher: voltwire_runtime::web::Publisher,
    _serving: voltwire_runtime::web::Serving,
}

impl std::fmt::Debug for Web {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Web").finish_non_exhaustive()
    }
}

impl App {
    /// A new aggregator for `cfg`.
    pub fn new(cfg: Config) -> Self {
        let latch = match cfg.latch {
            Some((trip, release)) => DischargeLatch {
                trip,
                release,
                latched: false,
            },
            None => DischargeLatch {
                trip: Millivolts(i32::MIN),
                release: Millivolts(i32::MIN),
                latched: false,
            },
        };
        let mut tree = publish::initial_tree(&cfg);
        if let Some(name) = cfg.custom_name_file.as_deref().and_then(load_custom_name) {
            tree.set("/CustomName", Item::Text(name));
        }
        let dynamic_cvl = cfg
            .dynamic_cvl
            .map(|(max_cell, release_margin, floor)| DynamicCvl {
                max_cell,
                release_margin,
                floor,
                limiting: false,
            });
        let slots = cfg
            .direct
            .iter()
            .map(|d| format!("{}{}", direct::PREFIX, d.name))
            .collect();
        Self {
            own: Own::new(cfg.own.clone(), own::system_clock()),
            direct: direct::Shared::default(),
            virtuals: VirtualBuses::default(),
            direct_started: false,
            web: None,
            web_bound: None,
            current_from: None,
            dynamic_cvl,
            agg: Aggregator::new(cfg.aggregate),
            cfg,
            start: Instant::now(),
            tree,
            latch,
            batteries: BTreeMap::new(),
            slots,
            last: None,
        }
    }

    /// The same app on another wall clock (seconds since 1970 UTC; the day and month of the
    /// own algorithm), its state file read again.
    #[must_use]
    pub fn with_wall_clock(mut self, clock: WallClock) -> Self {
        self.own = Own::new(self.cfg.own.clone(), clock);
        self
    }

    /// The same app with the in-process CAN buses `virtuals` (for `virtual://` direct
    /// batteries served in this process).
    #[must_use]
    pub fn with_virtual_buses(mut self, virtuals: VirtualBuses) -> Self {
        self.virtuals = virtuals;
        self
    }

    /// Tell `tx` the status page's address once it listens (tests, with port 0).
    #[must_use]
    pub fn on_web_bound(mut self, tx: tokio::sync::oneshot::Sender<std::net::SocketAddr>) -> Self {
        self.web_bound = Some(tx);
        self
    }

    /// Bind and start the status page (once). A failure (port in use) is logged and the
    /// aggregator runs on without it: the D-Bus service matters more than the page.
    async fn start_web(&mut self) {
        let Some(cfg) = self.cfg.web.clone() else {
            return;
        };
        if self.web.is_some() {
            return;
        }
        let (server, publisher, _) =
            voltwire_runtime::web::server::<(), NoCommands>(cfg, &crate::web::hints(), None);
        let bound = match server.bind().await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!("web: {e}; running without the status page");
                return;
            }
        };
        let addr = bound.local_addr().ok();
        match bound.spawn() {
            Ok(serving) => {
                if let Some(a) = addr {
                    tracing::info!("web: status page at http://{a}/");
                    if let Some(tx) = self.web_bound.take() {
                        let _ = tx.send(a);
                    }
                }
                self.web = Some(Web {
                    publisher,
                    _serving: serving,
                });
            }
            Err(e) => tracing::error!("web: cannot start the server: {e}"),
        }
    }

    /// Publish the current tree and batteries to the status page.
    fn publish_web(&self, now: Millis, readings: &[Option<(Reading, Millis)>]) {
        let Some(w) = &self.web else { return };
        let statuses = self
            .last
            .as_ref()
            .map(|l| l.inputs.clone())
            .unwrap_or_default();
        #[allow(clippy::cast_precision_loss, reason = "app edge: ages in s")]
        let batteries: Vec<crate::web::BatteryHealth> = self
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| crate::web::BatteryHealth {
                name: s.clone(),
                status: statuses.get(i).copied(),
                age_s: readings
                    .get(i)
                    .and_then(|r| r.as_ref())
                    .map(|(_, at)| now.since(*at) as f64 / 1000.0),
            })
            .collect();
        let tree = self.tree.clone();
        w.publisher
            .publish_with(move || crate::web::snapshot(&tree, &batteries));
    }

    /// Start the direct batteries' tasks (once).
    fn start_direct(&mut self) {
        if std::mem::replace(&mut self.direct_started, true) {
            return;
        }
        for d in &self.cfg.direct {
            direct::spawn(d.clone(), self.direct.clone(), self.virtuals.clone());
        }
    }

    /// The well-known name of the aggregate.
    pub fn service_name(&self) -> String {
        format!("{BATTERY_PREFIX}{}", self.cfg.name)
    }

    /// The published paths.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The last aggregate.
    pub fn last(&self) -> Option<&Aggregate<MAX_BATTERIES>> {
        self.last.as_ref()
    }

    fn now(&self) -> Millis {
        Millis(u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// Step the rules and update the tree; the changed paths.
    fn step(&mut self) -> Vec<String> {
        let now = self.now();
        let readings: Vec<Option<(Reading, Millis)>> = self
            .slots
            .iter()
            .map(|s| {
                if let Some(name) = s.strip_prefix(direct::PREFIX) {
                    let l = self.direct.get(name)?;
                    let at = l.at.saturating_duration_since(self.start).as_millis();
                    return Some((l.reading, Millis(u64::try_from(at).unwrap_or(u64::MAX))));
                }
                let b = self.batteries.get(s)?;
                if b.owner.is_none() || !b.matched || b.source {
                    return None;
                }
                let at = b.last?;
                match battery::reading(&b.items) {
                    Ok(r) => Some((r, at)),
                    Err(e) => {
                        tracing::debug!("{s}: no reading: {e}");
                        None
                    }
                }
            })
            .collect();
        let mut out = self.agg.step(&readings, now);
        let from = self.choose_current(now, &mut out);
        let mut base = out.state;
        self.own.apply(now, &mut out, &mut base);
        let tables = ChargeTables {
            charge: &self.cfg.charge_table,
            discharge: &self.cfg.discharge_table,
        };
        let mut state = apply(
            base,
            &tables,
            &mut self.latch,
            out.min_cell.map(|e| e.value),
            out.max_cell.map(|e| e.value),
        );
        if !state.charge_enable {
            state.charge_current_limit = Milliamps(0);
        }
        if let Some(d) = self.dynamic_cvl.as_mut() {
            state.charge_voltage_limit = d.update(
                state.charge_voltage_limit,
                state.voltage,
                out.max_cell.map(|e| e.value),
            );
        }
        let cvl_limiting = self.dynamic_cvl.is_some_and(|d| d.limiting);
        self.own.feed_in(cvl_limiting);
        self.own.persist(false);
        let own = self.own.status();
        let ids = |e: Option<voltwire_ess::aggregate::Extreme<Millivolts>>, path: &str| {
            e.and_then(|e| {
                let s = self.slots.get(e.battery)?;
                if let Some(name) = s.strip_prefix(direct::PREFIX) {
                    let cells = self.direct.get(name)?.cells;
                    let n = cells.map(|c| if path.contains("Min") { c.0 } else { c.1 });
                    return Some(format!(
                        "{name}:{}",
                        n.map_or("?".into(), |n| format!("C{n}"))
                    ));
                }
                let b = self.batteries.get(s)?;
                Some(battery::cell_id(s, &b.items, path))
            })
        };
        let min_id = ids(out.min_cell, "/System/MinVoltageCellId");
        let max_id = ids(out.max_cell, "/System/MaxVoltageCellId");
        let source_batteries = self.source_batteries();
        let changed = publish::update(
            &mut self.tree,
            &out,
            &state,
            publish::Extra {
                min_cell_id: min_id,
                max_cell_id: max_id,
                fully_discharged: self.latch.latched,
                cvl_limiting,
                batteries: self.slots.len(),
                balancing: own.balancing,
                last_balanced: own.last_balanced.map(date_text),
                feed_in_off: own.feed_in_off,
                current_source: source_code(from),
                source_batteries,
            },
        );
        if self.last.as_ref().map(|l| (l.mode, l.alarms)) != Some((out.mode, out.alarms)) {
            tracing::info!(
                "aggregate {:?}, alarms {:#04x}, {} batteries, {} modules offline",
                out.mode,
                out.alarms.0,
                self.slots.len(),
                out.modules.offline
            );
        }
        self.last = Some(out);
        self.publish_web(now, &readings);
        changed
    }

    /// `/Aggregate/SourceBatteries`: the battery services seen that are `[[current]]`
    /// sources (a `SmartShunt`), so never aggregated as batteries; comma-separated, by name.
    fn source_batteries(&self) -> String {
        self.batteries
            .iter()
            .filter(|(s, b)| b.source && s.starts_with(BATTERY_PREFIX))
            .map(|(s, _)| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The `[[current]]` sources' last currents (inverted where configured), in config
    /// order; `None` for one not on the bus or without a current.
    fn source_readings(&self) -> Vec<SourceReading> {
        self.cfg
            .current
            .iter()
            .map(|c| {
                self.batteries.iter().find_map(|(s, b)| {
                    if !c.is(s, device_instance(&b.items)) || b.owner.is_none() {
                        return None;
                    }
                    let a = b.items.get("/Dc/0/Current").and_then(Item::as_f64)?;
                    let ma = battery::milliamps(a);
                    Some((if c.invert { Milliamps(-ma.0) } else { ma }, b.last?))
                })
            })
            .collect()
    }

    /// Replace the batteries' current with the sources' sum when they are all fresh
    /// (`voltwire_ess::aggregate::current`); a change of choice is logged.
    fn choose_current(&mut self, now: Millis, out: &mut Aggregate<MAX_BATTERIES>) -> CurrentFrom {
        let sources = self.source_readings();
        let max_age = Millis(self.cfg.aggregate.timeout_ms);
        let (current, from) = choose_current(out.state.current, &sources, now, max_age);
        out.state.current = current;
        if self.current_from != Some(from) {
            match from {
                CurrentFrom::Fallback => tracing::warn!(
                    "a [[current]] source is missing or stale: the batteries' current is used"
                ),
                CurrentFrom::Sources => tracing::info!("current from the [[current]] sources"),
                CurrentFrom::Batteries => {}
            }
            self.current_from = Some(from);
        }
        from
    }

    /// Keep the written `/CustomName` in the configured file (write and rename); a failure
    /// is logged, the name stays on D-Bus.
    fn keep_custom_name(&self) {
        let (Some(path), Some(Item::Text(name))) = (
            self.cfg.custom_name_file.as_deref(),
            self.tree.get("/CustomName"),
        ) else {
            return;
        };
        let tmp = path.with_extension("tmp");
        let r =
            std::fs::write(&tmp, format!("{name}\n")).and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = r {
            tracing::warn!("cannot keep /CustomName in {}: {e}", path.display());
        }
    }

    fn note_battery(&mut self, service: &str) -> &mut Followed {
        self.batteries.entry(service.to_owned()).or_default()
    }

    fn apply_fetched(&mut self, f: Fetched) -> bool {
        let now = self.now();
        let b = self.batteries.entry(f.service.clone()).or_default();
        if f.generation != b.generation {
            return false;
        }
        b.fetching = None;
        if f.owner.is_some() {
            b.owner = f.owner;
        }
        let Some(items) = f.items else {
            return false;
        };
        b.items = items;
        b.last = Some(now);
        let was = b.matched;
        b.matched = battery::matches(&b.items, &self.cfg.keyword);
        let instance = device_instance(&b.items);
        let was_source = std::mem::replace(
            &mut b.source,
            self.cfg.current.iter().any(|c| c.is(&f.service, instance)),
        );
        let (matched, source) = (b.matched, b.source);
        let battery = f.service.starts_with(BATTERY_PREFIX);
        if battery && source && !was_source {
            tracing::info!(
                "{} (/DeviceInstance {}) is a [[current]] source: its current is used, it is \
                 not aggregated as a battery",
                f.service,
                instance.unwrap_or_default()
            );
            if self.slots.contains(&f.service) {
                tracing::warn!(
                    "{} was aggregated as a battery before: its slot stays empty (offline)",
                    f.service
                );
            }
        }
        if matched && battery && !source && !self.slots.contains(&f.service) {
            tracing::info!("following battery {}", f.service);
            self.slots.push(f.service);
        } else if was && !matched && battery {
            tracing::warn!("{} no longer matches the keyword: excluded", f.service);
        }
        true
    }

    /// `NameOwnerChanged` of a battery service: forget a battery that left (its slot goes
    /// stale), fetch one that arrived; whether it concerned a battery.
    fn name_owner_changed(
        &mut self,
        conn: &Connection,
        tx: &mpsc::Sender<Fetched>,
        msg: &Message,
        ours: &str,
    ) -> bool {
        let Ok((name, _old, new)) = msg.body().deserialize::<(String, String, String)>() else {
            return false;
        };
        if !self.follows(&name) || name == ours {
            return false;
        }
        if new.is_empty() {
            if let Some(b) = self.batteries.get_mut(&name) {
                tracing::warn!("battery {name} left the bus");
                b.owner = None;
                b.fetching = None;
                b.generation += 1;
            }
        } else {
            let b = self.note_battery(&name);
            b.owner = Some(new);
            b.fetching = None;
            b.generation += 1;
            spawn_fetch(self, conn, tx, &name);
        }
        true
    }

    /// A battery service or a `[[current]]` source's kind.
    fn follows(&self, name: &str) -> bool {
        name.starts_with(BATTERY_PREFIX)
            || self.cfg.current.iter().any(|c| name.starts_with(&c.prefix))
    }

    fn service_of_owner(&self, owner: &str) -> Option<String> {
        self.batteries
            .iter()
            .find(|(_, b)| b.owner.as_deref() == Some(owner))
            .map(|(s, _)| s.clone())
    }

    /// A signal from a battery: update its paths; whether anything changed.
    fn apply_signal(&mut self, msg: &Message) -> bool {
        let h = msg.header();
        let (Some(member), Some(path), Some(sender)) = (h.member(), h.path(), h.sender()) else {
            return false;
        };
        let Some(service) = self.service_of_owner(sender.as_str()) else {
            return false;
        };
        let now = self.now();
        let Some(b) = self.batteries.get_mut(&service) else {
            return false;
        };
        match member.as_str() {
            "PropertiesChanged" => {
                let Ok(entry) = msg.body().deserialize::<HashMap<String, OwnedValue>>() else {
                    return false;
                };
                let Some(v) = value_of(&entry) else {
                    return false;
                };
                b.items.insert(path.as_str().to_owned(), v);
            }
            "ItemsChanged" => {
                let Ok(m) = msg
                    .body()
                    .deserialize::<HashMap<String, HashMap<String, OwnedValue>>>()
                else {
                    return false;
                };
                for (p, entry) in m {
                    if let Some(v) = value_of(&entry) {
                        b.items.insert(p, v);
                    }
                }
            }
            _ => return false,
        }
        b.last = Some(now);
        true
    }
}

/// A service's `/DeviceInstance`.
fn device_instance(items: &Items) -> Option<f64> {
    items.get("/DeviceInstance").and_then(Item::as_f64)
}

/// `/Aggregate/CurrentSource`: 0 the batteries, 1 the sources, 2 the batteries as a fallback.
fn source_code(from: CurrentFrom) -> u8 {
    match from {
        CurrentFrom::Batteries => 0,
        CurrentFrom::Sources => 1,
        CurrentFrom::Fallback => 2,
    }
}

/// A kept `/CustomName` (`None` when absent, unreadable or not a valid name).
fn load_custom_name(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let name = text.trim_end_matches('\n');
    (name.len() <= publish::CUSTOM_NAME_MAX && !name.chars().any(char::is_control))
        .then(|| name.to_owned())
}

/// Fetch a battery's paths: its owner, then `GetItems` on `/` (or, for services without
/// it, `GetValue` on `/`, which returns every value by relative path).
async fn fetch(conn: Connection, service: String, generation: u64, tx: mpsc::Sender<Fetched>) {
    let owner = async {
        let reply = conn
            .call_method(
                Some("org.freedesktop.DBus"),
                "/org/freedesktop/DBus",
                Some("org.freedesktop.DBus"),
                "GetNameOwner",
                &(service.as_str(),),
            )
            .await
            .ok()?;
        reply.body().deserialize::<String>().ok()
    };
    let owner = tokio::time::timeout(CALL_TIMEOUT, owner)
        .await
        .ok()
        .flatten();
    let items = async {
        let call =
            |m: &'static str| conn.call_method(Some(service.as_str()), "/", Some(BUS_ITEM), m, &());
        if let Ok(r) = call("GetItems").await {
            let m: HashMap<String, HashMap<String, OwnedValue>> = r.body().deserialize().ok()?;
            return Some(
                m.into_iter()
                    .filter_map(|(p, e)| value_of(&e).map(|v| (p, v)))
                    .collect::<Items>(),
            );
        }
        let r = call("GetValue").await.ok()?;
        let v: OwnedValue = r.body().deserialize().ok()?;
        let m: HashMap<String, OwnedValue> = HashMap::try_from(v).ok()?;
        Some(
            m.into_iter()
                .map(|(p, v)| {
                    (
                        format!("/{}", p.trim_start_matches('/')),
                        Item::from_value(&v),
                    )
                })
                .collect::<Items>(),
        )
    };
    let items = tokio::time::timeout(CALL_TIMEOUT, items)
        .await
        .ok()
        .flatten();
    if items.is_none() {
        tracing::warn!("{service}: GetItems failed");
    }
    let _ = tx
        .send(Fetched {
            service,
            generation,
            owner,
            items,
        })
        .await;
}

/// Write the feed-in setting (if `write`), then read it back; `None` when it cannot be
/// read (no settings service: nothing is written until it is back).
async fn settings_io(conn: Connection, write: Option<i32>, tx: mpsc::Sender<Option<i32>>) {
    if let Some(w) = write {
        let set = crate::client::set_value(
            &conn,
            SETTINGS_SERVICE,
            FEED_IN_PATH,
            zbus::zvariant::Value::I32(w),
        );
        match tokio::time::timeout(CALL_TIMEOUT, set).await {
            Ok(Ok(0)) => tracing::info!("{FEED_IN_PATH} set to {w}"),
            Ok(Ok(code)) => tracing::warn!("{FEED_IN_PATH} = {w} refused ({code})"),
            Ok(Err(e)) => tracing::warn!("{FEED_IN_PATH} = {w}: {e}"),
            Err(_) => tracing::warn!("{FEED_IN_PATH} = {w}: no answer"),
        }
    }
    let get = crate::client::get_value(&conn, SETTINGS_SERVICE, FEED_IN_PATH);
    let v = match tokio::time::timeout(CALL_TIMEOUT, get).await {
        Ok(Ok(Item::Int(i))) => i32::try_from(i).ok(),
        _ => None,
    };
    let _ = tx.send(v).await;
}

fn spawn_fetch(app: &mut App, conn: &Connection, tx: &mpsc::Sender<Fetched>, service: &str) {
    let now = app.now();
    let b = app.note_battery(service);
    if b.fetching
        .is_some_and(|since| now.since(since) < 3 * CALL_TIMEOUT_MS)
    {
        return;
    }
    b.fetching = Some(now);
    let generation = b.generation;
    tokio::spawn(fetch(
        conn.clone(),
        service.to_owned(),
        generation,
        tx.clone(),
    ));
}

/// Own `name` (without queueing: a name already taken is an error, so the session is
/// retried until it is free).
///
/// # Errors
/// The zbus error of the request, or a failure when another process owns the name.
pub async fn request_name(dbus: &zbus::fdo::DBusProxy<'_>, name: &str) -> zbus::Result<()> {
    let n = zbus::names::WellKnownName::try_from(name)?;
    match dbus
        .request_name(n, zbus::fdo::RequestNameFlags::DoNotQueue.into())
        .await?
    {
        zbus::fdo::RequestNameReply::PrimaryOwner | zbus::fdo::RequestNameReply::AlreadyOwner => {
            Ok(())
        }
        _ => Err(zbus::Error::Failure(format!(
            "{name} is owned by another process"
        ))),
    }
}

/// The signals followed: every `BusItem` signal and `NameOwnerChanged` of
/// `com.victronenergy.*`.
async fn subscribe(dbus: &zbus::fdo::DBusProxy<'_>) -> zbus::Result<()> {
    dbus.add_match_rule(
        MatchRule::builder()
            .msg_type(Type::Signal)
            .interface(BUS_ITEM)?
            .build(),
    )
    .await?;
    dbus.add_match_rule(
        MatchRule::builder()
            .msg_type(Type::Signal)
            .sender("org.freedesktop.DBus")?
            .interface("org.freedesktop.DBus")?
            .member("NameOwnerChanged")?
            .arg0ns("com.victronenergy")?
            .build(),
    )
    .await?;
    Ok(())
}

/// Serve on one connection until it is lost (an error) — never returns `Ok`.
#[allow(
    clippy::too_many_lines,
    reason = "one select over every source of the connection"
)]
async fn session(app: &mut App, conn: &Connection) -> zbus::Result<()> {
    let mut stream = MessageStream::from(conn);
    let dbus = zbus::fdo::DBusProxy::new(conn).await?;
    subscribe(&dbus).await?;
    let ours = app.service_name();
    request_name(&dbus, &ours).await?;
    tracing::info!("serving {ours}");
    // Everyone already on the bus: forget owners from an earlier connection.
    for b in app.batteries.values_mut() {
        b.owner = None;
        b.fetching = None;
        b.generation += 1;
    }
    let (tx, mut rx) = mpsc::channel::<Fetched>(64);
    for name in dbus.list_names().await? {
        let n = name.as_str();
        if app.follows(n) && n != ours {
            spawn_fetch(app, conn, &tx, n);
        }
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut due: Option<Instant> = None;
    let signals = app.cfg.signals;
    let (stx, mut srx) = mpsc::channel::<Option<i32>>(4);
    let direct_changed = app.direct.changed.clone();
    let mut settings_busy = false;
    loop {
        let changed = tokio::select! {
            msg = stream.next() => {
                let msg = match msg {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => { tracing::debug!("bad message: {e}"); continue; }
                    None => return Err(zbus::Error::Failure("the bus connection ended".into())),
                };
                match msg.message_type() {
                    Type::MethodCall => {
                        match busitem::answer(conn, &mut app.tree, &msg).await {
                            Ok(Answered::Written(p)) => {
                                app.keep_custom_name();
                                vec![p]
                            }
                            Ok(_) => Vec::new(),
                            Err(e) => { tracing::warn!("answering a call: {e}"); Vec::new() }
                        }
                    }
                    Type::Signal => {
                        let h = msg.header();
                        if h.member().is_some_and(|m| m.as_str() == "NameOwnerChanged") {
                            if app.name_owner_changed(conn, &tx, &msg, &ours) {
                                due.get_or_insert_with(Instant::now);
                            }
                        } else if app.apply_signal(&msg) {
                            due.get_or_insert_with(|| Instant::now() + Duration::from_millis(20));
                        }
                        Vec::new()
                    }
                    _ => Vec::new(),
                }
            }
            Some(f) = rx.recv() => {
                if app.apply_fetched(f) {
                    due.get_or_insert_with(Instant::now);
                }
                Vec::new()
            }
            () = direct_changed.notified() => {
                due.get_or_insert_with(|| Instant::now() + Duration::from_millis(20));
                Vec::new()
            }
            Some(v) = srx.recv() => {
                settings_busy = false;
                if app.own.feed_in_setting != v {
                    app.own.feed_in_setting = v;
                    due.get_or_insert_with(Instant::now);
                }
                Vec::new()
            }
            _ = tick.tick() => {
                let now = app.now();
                let refresh = app.cfg.refresh_ms;
                let quiet: Vec<String> = app
                    .batteries
                    .iter()
                    .filter(|(_, b)| b.owner.is_some()
                        && b.last.is_none_or(|l| now.since(l) >= refresh))
                    .map(|(s, _)| s.clone())
                    .collect();
                for s in quiet {
                    spawn_fetch(app, conn, &tx, &s);
                }
                let changed = app.step();
                if app.own.controls_feed_in() && !settings_busy {
                    settings_busy = true;
                    tokio::spawn(settings_io(conn.clone(), app.own.feed_in_write.take(), stx.clone()));
                }
                changed
            }
            () = async { if let Some(d) = due { tokio::time::sleep_until(d).await } else { std::future::pending().await } } => {
                due = None;
                app.step()
            }
        };
        busitem::announce(conn, &app.tree, &changed, signals).await?;
    }
}

/// Run until `stop` resolves: connect, serve, and on a lost bus reconnect with a growing
/// pause (0.5 s up to 10 s). Never ends otherwise.
pub async fn run(mut app: App, stop: impl Future<Output = ()>) {
    let mut stop = std::pin::pin!(stop);
    for c in app.cfg.current.iter().filter(|c| c.is_battery_service()) {
        tracing::info!(
            "[[current]] battery {}: the battery service with that /DeviceInstance (a \
             SmartShunt) gives current only and is never aggregated as a battery",
            c.instance
        );
    }
    app.start_direct();
    app.start_web().await;
    let mut pause = Duration::from_millis(500);
    loop {
        let began = Instant::now();
        let attempt = async {
            let conn = connect(&app.cfg.bus).await?;
            session(&mut app, &conn).await
        };
        let stopped = tokio::select! {
            () = &mut stop => true,
            r = attempt => {
                // A session that ran for a while starts the pauses over.
                if began.elapsed() > Duration::from_secs(60) {
                    pause = Duration::from_millis(500);
                }
                if let Err(e) = r {
                    tracing::error!("D-Bus: {e}; reconnecting in {:?}", pause);
                }
                false
            }
        };
        if stopped {
            break;
        }
        tokio::select! {
            () = &mut stop => break,
            () = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(Duration::from_secs(10));
    }
    // The counter's exact value at a stop.
    app.own.persist(true);
}

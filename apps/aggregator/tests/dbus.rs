//! The aggregator on a private dbus-daemon: simulated dbus-serialbattery services in, a
//! client that reads like Venus's systemcalc (GetItems, GetValue without an interface
//! header, PropertiesChanged / ItemsChanged signals) out.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::float_cmp,
    clippy::many_single_char_names,
    clippy::doc_markdown,
    clippy::too_many_lines,
    clippy::map_unwrap_or,
    clippy::redundant_closure_for_method_calls,
    missing_docs
)]

use std::time::Duration;

use aggregator::app::{App, run};
use aggregator::battery::Items;
use aggregator::bus::PrivateBus;
use aggregator::busitem::SignalMode;
use aggregator::client;
use aggregator::config::Config;
use aggregator::demo;
use aggregator::item::Item;
use aggregator::sim::{SimBattery, SimSpec};
use futures_util::StreamExt as _;
use tokio::sync::oneshot;
use zbus::message::Type;
use zbus::zvariant::OwnedValue;
use zbus::{Connection, MatchRule, MessageStream};

const SERVICE: &str = "com.victronenergy.battery.aggregate";

/// The bus of a test: by default an in-process broker (the `busd` crate) on a unix socket
/// in `dir`, so the tests need nothing but Rust; with `VOLTWIRE_TEST_BUS=dbus-daemon` a
/// private `dbus-daemon` (Debian `dbus`), the broker Venus OS runs (`.ci/run` runs the
/// suite both ways). One difference matters to the tests: busd drops a call to a name
/// nobody owns without an error reply (dbus-daemon answers `ServiceUnknown`), so every
/// read here has its own timeout.
enum TestBus {
    Busd {
        address: String,
        task: tokio::task::JoinHandle<()>,
    },
    Daemon(PrivateBus),
}

impl TestBus {
    async fn start(dir: &std::path::Path) -> Self {
        if std::env::var("VOLTWIRE_TEST_BUS").as_deref() == Ok("dbus-daemon") {
            return Self::Daemon(PrivateBus::start(dir).unwrap());
        }
        let path = dir.join("busd");
        let mut bus = busd::bus::Bus::for_address(Some(&format!("unix:path={}", path.display())))
            .await
            .unwrap();
        let address = bus.address().to_string();
        let task = tokio::spawn(async move {
            let _ = bus.run().await;
        });
        Self::Busd { address, task }
    }

    fn address(&self) -> &str {
        match self {
            Self::Busd { address, .. } => address,
            Self::Daemon(d) => d.address(),
        }
    }
}

impl Drop for TestBus {
    fn drop(&mut self) {
        if let Self::Busd { task, .. } = self {
            task.abort();
        }
    }
}

/// A failure guard only: every wait ends as soon as its condition holds.
const GUARD: Duration = Duration::from_secs(90);

/// One read of the aggregate gives up after this and is tried again (a guard, as above).
const READ: Duration = Duration::from_secs(2);

async fn connect(address: &str) -> Connection {
    zbus::connection::Builder::address(address)
        .unwrap()
        .build()
        .await
        .unwrap()
}

fn f(items: &Items, p: &str) -> f64 {
    items
        .get(p)
        .and_then(Item::as_f64)
        .unwrap_or_else(|| panic!("{p} is {:?}", items.get(p)))
}

fn text(items: &Items, p: &str) -> String {
    items
        .get(p)
        .and_then(Item::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("{p} is {:?}", items.get(p)))
}

/// Read the aggregate with GetItems until `pred` holds.
async fn wait_for(conn: &Connection, what: &str, mut pred: impl FnMut(&Items) -> bool) -> Items {
    tokio::time::timeout(GUARD, async {
        loop {
            let read = tokio::time::timeout(READ, client::get_items(conn, SERVICE)).await;
            match read {
                Ok(Ok(items)) if pred(&items) => return items,
                Ok(Ok(items)) => eprintln!("{what}: not yet: {}", mode(&items)),
                Ok(Err(e)) => eprintln!("{what}: {e}"),
                Err(_) => eprintln!("{what}: no answer (yet)"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

fn mode(items: &Items) -> String {
    items
        .get("/Aggregate/Mode")
        .and_then(Item::as_str)
        .unwrap_or("")
        .to_owned()
}

struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    fn start(app: App) -> Self {
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(run(app, async {
            let _ = rx.await;
        }));
        Self {
            stop: Some(tx),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        tokio::time::timeout(GUARD, &mut self.task)
            .await
            .expect("the aggregator did not stop on its stop signal")
            .unwrap();
    }
}

/// One test's scratch directory and bus (see [`TestBus`]).
struct Scene {
    dir: std::path::PathBuf,
    bus: TestBus,
    address: String,
}

impl Scene {
    async fn start(name: &str) -> Self {
        let dir = voltwire_testkit::scratch_dir(name);
        let bus = TestBus::start(&dir).await;
        let address = bus.address().to_owned();
        Self { dir, bus, address }
    }

    /// The demo configuration with `expected` batteries, `PropertiesChanged` signals.
    fn config(&self, expected: u16) -> Config {
        config(&self.address, expected, SignalMode::PropertiesChanged)
    }

    async fn battery(&self, spec: SimSpec) -> SimBattery {
        SimBattery::start(&self.address, spec).await.unwrap()
    }

    async fn reader(&self) -> Connection {
        connect(&self.address).await
    }

    /// Stop the aggregator (it must end on its stop signal), then the bus; remove the
    /// directory.
    async fn end(self, agg: Running) {
        agg.stop().await;
        drop(self.bus);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `wait_for` condition: `path` is `value`.
fn has(path: &'static str, value: Item) -> impl FnMut(&Items) -> bool {
    move |i| i.get(path) == Some(&value)
}

/// The demo configuration with `expected` batteries and the given signal style, on `address`.
fn config(address: &str, expected: u16, signals: SignalMode) -> Config {
    let mut c = demo::config(address);
    c.aggregate.expected = expected;
    c.signals = signals;
    c
}

/// Follow every `BusItem` signal on `reader`, as systemcalc does; the aggregate's unique
/// name (the sender of its signals).
async fn subscribe(reader: &Connection) -> String {
    let dbus = zbus::fdo::DBusProxy::new(reader).await.unwrap();
    dbus.add_match_rule(
        MatchRule::builder()
            .msg_type(Type::Signal)
            .interface("com.victronenergy.BusItem")
            .unwrap()
            .build(),
    )
    .await
    .unwrap();
    dbus.get_name_owner(SERVICE.try_into().unwrap())
        .await
        .unwrap()
        .to_string()
}

/// The first signal from `owner` on `stream` that `pick` turns into a value; `pick` sees
/// each one's member, path and body (and may assert on every one).
async fn first_signal<T>(
    stream: &mut MessageStream,
    owner: &str,
    what: &str,
    mut pick: impl FnMut(&str, &str, &zbus::Message) -> Option<T>,
) -> T {
    tokio::time::timeout(GUARD, async {
        while let Some(Ok(m)) = stream.next().await {
            let h = m.header();
            if m.message_type() != Type::Signal || h.sender().map(|s| s.as_str()) != Some(owner) {
                continue;
            }
            let member = h.member().unwrap().to_string();
            let path = h.path().unwrap().to_string();
            if let Some(v) = pick(&member, &path, &m) {
                return v;
            }
        }
        panic!("the stream ended before {what}");
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// The connections on the bus (its unique names).
async fn connections(reader: &Connection) -> usize {
    let dbus = zbus::fdo::DBusProxy::new(reader).await.unwrap();
    let names = dbus.list_names().await.unwrap();
    names.iter().filter(|n| n.as_str().starts_with(':')).count()
}

/// Wait until `check` holds (the guard only bounds a failure).
async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut check: impl FnMut() -> F,
) {
    tokio::time::timeout(GUARD, async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_batteries_one_vanishes_and_returns() {
    let _ = voltwire_runtime::logging::init(1);
    let scene = Scene::start("agg-three").await;
    let [a, b, c] = demo::specs();
    let _s1 = scene.battery(a).await;
    let _s2 = scene.battery(b).await;
    let s3 = scene.battery(c.clone()).await;
    let agg = Running::start(App::new(demo::config(&scene.address)));

    let reader = scene.reader().await;
    let items = wait_for(&reader, "three batteries admitted", |i| mode(i) == "normal").await;
    // N × smallest: 3 × 80 A, 3 × 100 A; CVL the minimum.
    assert_eq!(f(&items, "/Info/MaxChargeCurrent"), 240.0);
    assert_eq!(f(&items, "/Info/MaxDischargeCurrent"), 300.0);
    assert_eq!(f(&items, "/Info/MaxChargeVoltage"), 55.2);
    // Current summed: 5 - 4 + 5 A; SOC capacity-weighted: (70×100 + 60×200 + 70×100) / 400.
    assert_eq!(f(&items, "/Dc/0/Current"), 6.0);
    assert_eq!(f(&items, "/Soc"), 65.0);
    assert!((f(&items, "/Dc/0/Voltage") - 53.0).abs() <= 0.002);
    assert_eq!(f(&items, "/InstalledCapacity"), 400.0);
    assert_eq!(f(&items, "/System/MinCellVoltage"), 3.3);
    assert_eq!(f(&items, "/System/MaxCellVoltage"), 3.33);
    assert_eq!(
        text(&items, "/System/MinVoltageCellId"),
        "SerialBattery(Sim) sim1:C3"
    );
    assert_eq!(
        text(&items, "/System/MaxVoltageCellId"),
        "SerialBattery(Sim) sim2:C11"
    );
    assert_eq!(f(&items, "/System/NrOfModulesOnline"), 3.0);
    assert_eq!(f(&items, "/System/NrOfModulesOffline"), 0.0);
    assert_eq!(f(&items, "/Io/AllowToCharge"), 1.0);
    assert_eq!(f(&items, "/Alarms/BmsCable"), 0.0);
    assert_eq!(f(&items, "/Connected"), 1.0);
    assert_eq!(text(&items, "/Mgmt/ProcessName"), "aggregator");
    // No battery reports a time to go: invalid, an empty `ai`.
    assert_eq!(items.get("/TimeToGo"), Some(&Item::Invalid));

    // GetValue / GetText without an interface header, as vedbus sends them.
    let v = client::get_value(&reader, SERVICE, "/Info/MaxChargeCurrent")
        .await
        .unwrap();
    assert_eq!(v, Item::Float(240.0));
    let t = client::get_text(&reader, SERVICE, "/Info/MaxChargeCurrent")
        .await
        .unwrap();
    assert_eq!(t, "240.00A");
    let raw = reader
        .call_method(Some(SERVICE), "/TimeToGo", None::<&str>, "GetValue", &())
        .await
        .unwrap();
    assert_eq!(raw.body().signature().to_string(), "v");
    let v: OwnedValue = raw.body().deserialize().unwrap();
    assert_eq!(v.value_signature().to_string(), "ai");

    // The aggregate announces its changes with PropertiesChanged (a{sv}: Value, Text), never
    // ItemsChanged in this mode.
    let owner = subscribe(&reader).await;
    // One connection for everything (the reference once leaked connections until the bus
    // refused more): the reader, the aggregator and the three batteries.
    assert_eq!(connections(&reader).await, 5);
    // A stream that is not read holds up the connection once its queue is full: it lives
    // only for this check.
    let mut signals = MessageStream::from(&reader);
    let got = first_signal(
        &mut signals,
        &owner,
        "a PropertiesChanged",
        |member, path, m| {
            assert_ne!(member, "ItemsChanged");
            (member == "PropertiesChanged").then(|| {
                let body: std::collections::HashMap<String, OwnedValue> =
                    m.body().deserialize().unwrap();
                assert!(body.contains_key("Value") && body.contains_key("Text"));
                path.to_owned()
            })
        },
    )
    .await;
    drop(signals);
    assert!(got.starts_with('/'), "{got}");

    // One battery leaves: the aggregate stays, limits from the other two, alarm, 1 offline.
    s3.vanish().await;
    let items = wait_for(
        &reader,
        "one battery offline",
        has("/System/NrOfModulesOffline", Item::Int(1)),
    )
    .await;
    assert_eq!(mode(&items), "degraded");
    assert_eq!(f(&items, "/Info/MaxChargeCurrent"), 160.0);
    assert_eq!(f(&items, "/Info/MaxDischargeCurrent"), 240.0);
    assert_eq!(f(&items, "/Alarms/BmsCable"), 2.0);
    assert_eq!(f(&items, "/System/NrOfModulesOnline"), 2.0);
    assert_eq!(f(&items, "/Dc/0/Current"), 1.0);
    assert_eq!(f(&items, "/Connected"), 1.0);

    // It returns: excluded through the hold (still degraded, alarm kept), then admitted.
    let back = std::time::Instant::now();
    let _s3 = scene.battery(c).await;
    let mut seen: Vec<String> = Vec::new();
    let items = wait_for(&reader, "recovered", |i| {
        let m = mode(i);
        if seen.last() != Some(&m) {
            seen.push(m.clone());
        }
        m == "normal"
    })
    .await;
    // Never admitted before the 3 s hold (a lower bound: load only lengthens it), and it
    // never fell to the safe state on the way.
    assert!(
        back.elapsed() >= Duration::from_secs(3),
        "{:?}",
        back.elapsed()
    );
    assert!(!seen.iter().any(|m| m == "safe"), "{seen:?}");
    assert_eq!(f(&items, "/Info/MaxChargeCurrent"), 240.0);
    assert_eq!(f(&items, "/System/NrOfModulesOffline"), 0.0);
    assert_eq!(f(&items, "/Alarms/BmsCable"), 0.0);
    // After a battery left and came back (and every re-read since): still one connection of
    // the aggregator's.
    assert_eq!(connections(&reader).await, 5);
    scene.end(agg).await;
}

/// A count mismatch at start (3 expected, 2 on the bus) is no reason to stop: the aggregate
/// runs on the two, degraded, with `/Alarms/InternalFailure` and one module offline; the
/// third one arrives → admitted after the hold, the alarm cleared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fewer_batteries_than_expected_run_with_an_alarm() {
    let scene = Scene::start("agg-count").await;
    let [a, b, c] = demo::specs();
    let _s1 = scene.battery(a).await;
    let _s2 = scene.battery(b).await;
    let agg = Running::start(App::new(scene.config(3)));
    let reader = scene.reader().await;
    let items = wait_for(&reader, "two of three admitted", |i| {
        mode(i) == "degraded" && i.get("/System/NrOfModulesOnline") == Some(&Item::Int(2))
    })
    .await;
    assert_eq!(f(&items, "/Alarms/InternalFailure"), 1.0);
    assert_eq!(f(&items, "/System/NrOfModulesOffline"), 1.0);
    assert_eq!(f(&items, "/System/NrOfBatteries"), 2.0);
    // 2 × min(100, 80) A, 2 × min(150, 120) A: both directions stay open.
    assert_eq!(f(&items, "/Info/MaxChargeCurrent"), 160.0);
    assert_eq!(f(&items, "/Info/MaxDischargeCurrent"), 240.0);
    assert_eq!(f(&items, "/Io/AllowToCharge"), 1.0);
    assert_eq!(f(&items, "/Io/AllowToDischarge"), 1.0);
    assert_eq!(f(&items, "/Connected"), 1.0);

    let _s3 = scene.battery(c).await;
    let items = wait_for(&reader, "the third admitted", |i| mode(i) == "normal").await;
    assert_eq!(f(&items, "/Alarms/InternalFailure"), 0.0);
    assert_eq!(f(&items, "/System/NrOfModulesOffline"), 0.0);
    assert_eq!(f(&items, "/System/NrOfBatteries"), 3.0);
    assert_eq!(f(&items, "/Info/MaxChargeCurrent"), 240.0);
    scene.end(agg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bus_item_calls_and_one_batch_signal_per_change() {
    let scene = Scene::start("agg-calls").await;
    let [a, _, _] = demo::specs();
    let _s1 = scene.battery(a).await;
    let mut cfg = scene.config(1);
    cfg.signals = SignalMode::ItemsChanged;
    let kept = scene.dir.join("custom-name");
    cfg.custom_name_file = Some(kept.clone());
    let agg = Running::start(App::new(cfg.clone()));
    let reader = scene.reader().await;
    let items = wait_for(&reader, "one battery admitted", |i| mode(i) == "normal").await;
    assert_eq!(f(&items, "/Info/MaxChargeCurrent"), 100.0);

    let owner = subscribe(&reader).await;
    let mut signals = MessageStream::from(&reader);

    // SetValue: 0 written, 2 refused (wrong type, too long), 1 not writeable.
    let set = |p: &'static str, v: zbus::zvariant::Value<'static>| {
        let r = &reader;
        async move { client::set_value(r, SERVICE, p, v).await.unwrap() }
    };
    assert_eq!(set("/CustomName", "Bank A".into()).await, 0);
    assert_eq!(set("/CustomName", 5i32.into()).await, 2);
    assert_eq!(set("/CustomName", "x".repeat(65).into()).await, 2);
    assert_eq!(set("/Soc", 50.0f64.into()).await, 1);
    assert_eq!(
        client::get_value(&reader, SERVICE, "/CustomName")
            .await
            .unwrap(),
        Item::Text("Bank A".into())
    );
    // The refused writes changed nothing that matters: the limits are the battery's.
    assert_eq!(
        client::get_value(&reader, SERVICE, "/Info/MaxChargeCurrent")
            .await
            .unwrap(),
        Item::Float(100.0)
    );

    // The change is announced once, as ItemsChanged on /, never as PropertiesChanged.
    let batch = first_signal(
        &mut signals,
        &owner,
        "an ItemsChanged with /CustomName",
        |member, path, m| {
            assert_eq!(member, "ItemsChanged", "one style only");
            assert_eq!(path, "/");
            let body: std::collections::HashMap<
                String,
                std::collections::HashMap<String, OwnedValue>,
            > = m.body().deserialize().unwrap();
            body.get("/CustomName")
                .map(|e| Item::from_value(&e["Value"]))
        },
    )
    .await;
    drop(signals);
    assert_eq!(batch, Item::Text("Bank A".into()));

    // Unknown path, unknown interface: D-Bus errors; the BusItem interface header and
    // Introspect work too.
    let e = client::get_value(&reader, SERVICE, "/Nope")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("UnknownObject"), "{e}");
    let e = reader
        .call_method(
            Some(SERVICE),
            "/Soc",
            Some("com.example.X"),
            "GetValue",
            &(),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("UnknownInterface"), "{e}");
    let r = reader
        .call_method(
            Some(SERVICE),
            "/ProductName",
            Some("com.victronenergy.BusItem"),
            "GetValue",
            &(),
        )
        .await
        .unwrap();
    let v: OwnedValue = r.body().deserialize().unwrap();
    assert_eq!(
        Item::from_value(&v),
        Item::Text("voltwire aggregate".into())
    );
    let r = reader
        .call_method(
            Some(SERVICE),
            "/",
            Some("org.freedesktop.DBus.Introspectable"),
            "Introspect",
            &(),
        )
        .await
        .unwrap();
    let xml: String = r.body().deserialize().unwrap();
    assert!(xml.contains("com.victronenergy.BusItem"));
    // GetValue on a node: its values by relative path.
    let r = reader
        .call_method(Some(SERVICE), "/Info", None::<&str>, "GetValue", &())
        .await
        .unwrap();
    let v: OwnedValue = r.body().deserialize().unwrap();
    let m: std::collections::HashMap<String, OwnedValue> =
        std::collections::HashMap::try_from(v).unwrap();
    assert_eq!(Item::from_value(&m["MaxChargeCurrent"]), Item::Float(100.0));
    agg.stop().await;
    // The written name was kept (the refused ones were not) and a restart publishes it.
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "Bank A\n");
    let agg = Running::start(App::new(cfg));
    let name = tokio::time::timeout(GUARD, async {
        loop {
            let read = client::get_value(&reader, SERVICE, "/CustomName");
            if let Ok(Ok(v)) = tokio::time::timeout(READ, read).await {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(name, Item::Text("Bank A".into()));
    scene.end(agg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_battery_goes_stale_and_recovers() {
    let scene = Scene::start("agg-hung").await;
    let [a, b, _] = demo::specs();
    let _s1 = scene.battery(a).await;
    let s2 = scene.battery(b).await;
    let agg = Running::start(App::new(scene.config(2)));
    let reader = scene.reader().await;
    let items = wait_for(&reader, "two admitted", |i| mode(i) == "normal").await;
    assert_eq!(f(&items, "/Info/MaxChargeCurrent"), 160.0);
    // Still on the bus, but silent and not answering: stale after the 3 s timeout.
    s2.hang(true).await;
    let items = wait_for(
        &reader,
        "the hung battery excluded",
        has("/System/NrOfModulesOffline", Item::Int(1)),
    )
    .await;
    // Limits from the one left: 1 × 100 A, 1 × 150 A.
    assert_eq!(f(&items, "/Info/MaxChargeCurrent"), 100.0);
    assert_eq!(f(&items, "/Info/MaxDischargeCurrent"), 150.0);
    assert_eq!(f(&items, "/Alarms/BmsCable"), 2.0);
    assert_eq!(mode(&items), "degraded");
    s2.hang(false).await;
    let items = wait_for(&reader, "recovered", |i| mode(i) == "normal").await;
    assert_eq!(f(&items, "/Info/MaxChargeCurrent"), 160.0);
    assert_eq!(f(&items, "/System/NrOfModulesOffline"), 0.0);
    scene.end(agg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a dbus-daemon (Debian package dbus); .ci/run installs it and runs these with --ignored"]
async fn survives_a_restart_of_the_bus() {
    let dir = voltwire_testkit::scratch_dir("agg-restart");
    let bus = PrivateBus::start(&dir).unwrap();
    let socket = bus.socket_address();
    let [a, _, _] = demo::specs();
    let s1 = SimBattery::start(&socket, a.clone()).await.unwrap();
    let agg = Running::start(App::new(config(&socket, 1, SignalMode::PropertiesChanged)));
    let reader = connect(&socket).await;
    wait_for(&reader, "admitted", |i| mode(i) == "normal").await;
    drop(reader);
    drop(s1);
    drop(bus);
    // A new daemon on the same socket: the aggregate comes back by itself.
    let bus = PrivateBus::start(&dir).unwrap();
    let _s1 = SimBattery::start(&socket, a).await.unwrap();
    let reader = connect(&socket).await;
    let items = wait_for(&reader, "admitted on the new bus", |i| mode(i) == "normal").await;
    assert_eq!(f(&items, "/Info/MaxChargeCurrent"), 100.0);
    assert!(!agg.task.is_finished());
    agg.stop().await;
    drop(bus);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_safe_state_before_any_battery() {
    // Without batteries the aggregate is published at once, with both directions off.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let scene = Scene::start("agg-empty").await;
        let agg = Running::start(App::new(scene.config(2)));
        let reader = scene.reader().await;
        let items = wait_for(&reader, "published", |i| mode(i) == "safe").await;
        assert_eq!(f(&items, "/Info/MaxChargeCurrent"), 0.0);
        assert_eq!(f(&items, "/Info/MaxDischargeCurrent"), 0.0);
        assert_eq!(f(&items, "/Io/AllowToCharge"), 0.0);
        assert_eq!(f(&items, "/Io/AllowToDischarge"), 0.0);
        assert_eq!(f(&items, "/System/NrOfModulesOffline"), 2.0);
        assert_eq!(f(&items, "/Alarms/InternalFailure"), 1.0);
        scene.end(agg).await;
    });
}

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vedbus_sim.py");

/// The dbus-python peer (Debian's python3-dbus and python3-gi).
fn python(args: &[&str]) -> tokio::process::Command {
    let mut c = tokio::process::Command::new("/usr/bin/python3");
    c.arg(PEER).args(args).kill_on_drop(true);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a dbus-daemon and dbus-python (Debian dbus, python3-dbus, python3-gi); .ci/run installs them and runs these with --ignored"]
async fn a_vedbus_battery_in_python_and_a_systemcalc_style_reader() {
    use tokio::io::AsyncBufReadExt as _;
    let dir = voltwire_testkit::scratch_dir("agg-python");
    let bus = PrivateBus::start(&dir).unwrap();
    let address = bus.address().to_owned();
    let mut peer = python(&[&address, "battery", "pyb", "70", "90"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with python3-dbus and python3-gi (Debian) is needed");
    let mut lines = tokio::io::BufReader::new(peer.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(GUARD, lines.next_line())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ready.as_deref(), Some("ready"));
    let [a, _, _] = demo::specs();
    let _s1 = SimBattery::start(&address, a).await.unwrap();
    let agg = Running::start(App::new(config(&address, 2, SignalMode::PropertiesChanged)));
    let reader = connect(&address).await;
    let items = wait_for(&reader, "both admitted", |i| mode(i) == "normal").await;
    // 2 × min(100, 70) A, 2 × min(150, 90) A; current 5 + 2.5 A; the Python battery has
    // the lowest cell.
    assert_eq!(f(&items, "/Info/MaxChargeCurrent"), 140.0);
    assert_eq!(f(&items, "/Info/MaxDischargeCurrent"), 180.0);
    assert_eq!(f(&items, "/Dc/0/Current"), 7.5);
    assert_eq!(
        text(&items, "/System/MinVoltageCellId"),
        "SerialBattery(Python) pyb:C5"
    );
    // Read as systemcalc does (dbus-python, no introspection, no interface header).
    let out = python(&[&address, "read", SERVICE, "/Info/MaxChargeCurrent"])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "140.0");
    let out = python(&[&address, "read", SERVICE, "/System/NrOfModulesOnline"])
        .output()
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");

    // The Python battery dies: its limits leave the aggregate.
    peer.kill().await.unwrap();
    let items = wait_for(
        &reader,
        "python battery offline",
        has("/System/NrOfModulesOffline", Item::Int(1)),
    )
    .await;
    assert_eq!(f(&items, "/Info/MaxChargeCurrent"), 100.0);
    assert_eq!(f(&items, "/Alarms/BmsCable"), 2.0);
    agg.stop().await;
    drop(bus);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charge_rules_dynamic_cvl_and_fully_discharged_latch() {
    let scene = Scene::start("agg-charge").await;
    let [a, _, _] = demo::specs();
    let s1 = scene.battery(a).await;
    let agg = Running::start(App::new(scene.config(1)));
    let reader = scene.reader().await;
    let items = wait_for(&reader, "admitted", |i| mode(i) == "normal").await;
    assert_eq!(f(&items, "/Info/MaxChargeVoltage"), 55.2);
    assert_eq!(f(&items, "/Aggregate/CvlLimiting"), 0.0);

    // A cell 20 mV over the 3.45 V maximum: the CVL is the pack voltage less 20 mV (above
    // the 53.6 V floor).
    s1.set("/Dc/0/Voltage", Item::Float(55.0)).await;
    s1.set("/System/MaxCellVoltage", Item::Float(3.47)).await;
    let items = wait_for(
        &reader,
        "dynamic CVL",
        has("/Aggregate/CvlLimiting", Item::Int(1)),
    )
    .await;
    let v = f(&items, "/Dc/0/Voltage");
    assert!((v - 55.0).abs() <= 0.002, "{v}");
    let cvl = f(&items, "/Info/MaxChargeVoltage");
    assert!((cvl - (v - 0.020)).abs() < 1e-9, "{cvl} {v}");
    // Back within the 20 mV margin: still limiting; below it: the normal limit again.
    s1.set("/System/MaxCellVoltage", Item::Float(3.431)).await;
    let items = wait_for(
        &reader,
        "cell at 3.431 V",
        has("/System/MaxCellVoltage", Item::Float(3.431)),
    )
    .await;
    assert_eq!(f(&items, "/Aggregate/CvlLimiting"), 1.0);
    s1.set("/System/MaxCellVoltage", Item::Float(3.429)).await;
    let items = wait_for(
        &reader,
        "dynamic CVL released",
        has("/Aggregate/CvlLimiting", Item::Int(0)),
    )
    .await;
    assert_eq!(f(&items, "/Info/MaxChargeVoltage"), 55.2);

    // Lowest cell 2.90 V: fully discharged, DCL 0 (charging still allowed).
    s1.set("/System/MinCellVoltage", Item::Float(2.9)).await;
    let items = wait_for(
        &reader,
        "fully discharged",
        has("/Aggregate/FullyDischarged", Item::Int(1)),
    )
    .await;
    assert_eq!(f(&items, "/Info/MaxDischargeCurrent"), 0.0);
    assert_eq!(f(&items, "/Info/MaxChargeCurrent"), 100.0);
    // 3.00 V holds the latch; above it releases.
    s1.set("/System/MinCellVoltage", Item::Float(3.0)).await;
    let items = wait_for(
        &reader,
        "cell at 3.00 V",
        has("/System/MinCellVoltage", Item::Float(3.0)),
    )
    .await;
    assert_eq!(f(&items, "/Aggregate/FullyDischarged"), 1.0);
    assert_eq!(f(&items, "/Info/MaxDischargeCurrent"), 0.0);
    s1.set("/System/MinCellVoltage", Item::Float(3.01)).await;
    let items = wait_for(
        &reader,
        "released",
        has("/Aggregate/FullyDischarged", Item::Int(0)),
    )
    .await;
    assert_eq!(f(&items, "/Info/MaxDischargeCurrent"), 150.0);
    scene.end(agg).await;
}

/// The own algorithm on the bus: the counter and the last balancing day restored from the
/// state file; a cell at 3.45 V → dynamic CVL, SOC 100 % and DC-coupled PV feed-in off in
/// a simulated `com.victronenergy.settings`, restored after; a balancing day (held for the
/// rest of the day, back to the month's voltage the next day); a restart restores both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_algorithm_counter_balancing_and_feed_in() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    use aggregator::own::{FEED_IN_PATH, SETTINGS_SERVICE};
    use aggregator::sim::SimSettings;
    use voltwire_core::{MilliampHours, Millivolts};
    use voltwire_ess::aggregate::schedule::{BalancingConfig, Day};
    use voltwire_ess::aggregate::soc::CoulombConfig;

    let scene = Scene::start("agg-own").await;
    let state_file = scene.dir.join("state.toml");
    std::fs::write(
        &state_file,
        "charge_mah = 42000\nlast_balanced = \"2026-07-14\"\n",
    )
    .unwrap();
    let noon = |y, m, d| Day::from_civil(y, m, d).unwrap().0 * 86_400 + 43_200;
    let clock = Arc::new(AtomicI64::new(noon(2026, 7, 15)));
    let wall = {
        let c = Arc::clone(&clock);
        Arc::new(move || c.load(Ordering::SeqCst))
    };
    let mut cfg = scene.config(1);
    cfg.own.coulomb = Some((
        CoulombConfig {
            save_step: MilliampHours(1000),
            ..CoulombConfig::default()
        },
        None,
    ));
    cfg.own.month_table = Some([Millivolts(3400); 12]);
    cfg.own.balancing = Some(BalancingConfig {
        every_days: 10,
        voltage: Millivolts(3420),
        goal_spread: Millivolts(25),
    });
    cfg.own.feed_in = true;
    cfg.own.state_file = Some(state_file.clone());

    let settings = SimSettings::start(&scene.address, 1).await.unwrap();
    let [a, _, _] = demo::specs();
    let s1 = scene.battery(a).await;
    s1.set("/Dc/0/Current", Item::Float(0.0)).await;
    let agg = Running::start(App::new(cfg.clone()).with_wall_clock(wall.clone()));
    let reader = scene.reader().await;
    let feed_in_is = |v: i64| {
        let reader = &reader;
        move || async move {
            client::get_value(reader, SETTINGS_SERVICE, FEED_IN_PATH)
                .await
                .unwrap()
                == Item::Int(v)
        }
    };

    // Restored: 42.000 Ah of the battery's 100 Ah (the battery itself says 70 %); July's
    // 3.40 V × 16; balanced yesterday.
    let items = wait_for(&reader, "admitted", |i| mode(i) == "normal").await;
    assert_eq!(f(&items, "/Soc"), 42.0);
    assert_eq!(f(&items, "/ConsumedAmphours"), 58.0);
    assert_eq!(f(&items, "/Info/MaxChargeVoltage"), 54.4);
    assert_eq!(f(&items, "/Aggregate/Balancing"), 0.0);
    assert_eq!(text(&items, "/Aggregate/LastBalanced"), "2026-07-14");
    assert_eq!(f(&items, "/Aggregate/FeedInOff"), 0.0);

    // A cell at 3.45 V: dynamic CVL, full (100 %), feed-in off, the user's 1 kept.
    s1.set("/Dc/0/Voltage", Item::Float(54.0)).await;
    s1.set("/System/MaxCellVoltage", Item::Float(3.45)).await;
    let items = wait_for(
        &reader,
        "feed-in off",
        has("/Aggregate/FeedInOff", Item::Int(1)),
    )
    .await;
    assert_eq!(f(&items, "/Aggregate/CvlLimiting"), 1.0);
    assert_eq!(f(&items, "/Soc"), 100.0);
    eventually("the feed-in setting at 0", feed_in_is(0)).await;
    let kept = std::fs::read_to_string(&state_file).unwrap();
    assert!(kept.contains("feed_in_saved = 1"), "{kept}");
    // Released (below 3.43 V): the setting back to 1, nothing left to restore.
    s1.set("/System/MaxCellVoltage", Item::Float(3.40)).await;
    let items = wait_for(
        &reader,
        "feed-in restored",
        has("/Aggregate/FeedInOff", Item::Int(0)),
    )
    .await;
    assert_eq!(f(&items, "/Aggregate/CvlLimiting"), 0.0);
    eventually("the feed-in setting back at 1", feed_in_is(1)).await;
    let kept = std::fs::read_to_string(&state_file).unwrap();
    assert!(!kept.contains("feed_in_saved"), "{kept}");

    // Ten days after the last balancing: 3.42 V × 16 until the spread is below 25 mV.
    clock.store(noon(2026, 7, 24), Ordering::SeqCst);
    let items = wait_for(
        &reader,
        "balancing",
        has("/Aggregate/Balancing", Item::Int(1)),
    )
    .await;
    assert_eq!(f(&items, "/Info/MaxChargeVoltage"), 54.72);
    s1.set("/System/MinCellVoltage", Item::Float(3.39)).await;
    s1.set("/System/MaxCellVoltage", Item::Float(3.41)).await;
    let items = wait_for(
        &reader,
        "balanced",
        has("/Aggregate/LastBalanced", Item::Text("2026-07-24".into())),
    )
    .await;
    // Held for the rest of the day.
    assert_eq!(f(&items, "/Aggregate/Balancing"), 1.0);
    assert_eq!(f(&items, "/Info/MaxChargeVoltage"), 54.72);
    let kept = std::fs::read_to_string(&state_file).unwrap();
    assert!(kept.contains("last_balanced = \"2026-07-24\""), "{kept}");
    clock.store(noon(2026, 7, 25), Ordering::SeqCst);
    let items = wait_for(
        &reader,
        "next day",
        has("/Aggregate/Balancing", Item::Int(0)),
    )
    .await;
    assert_eq!(f(&items, "/Info/MaxChargeVoltage"), 54.4);

    // Discharge a little, stop: the exact charge is kept; a new process restores it.
    s1.set("/Dc/0/Current", Item::Float(-50.0)).await;
    wait_for(&reader, "discharging", |i| {
        i.get("/Soc")
            .and_then(Item::as_f64)
            .is_some_and(|s| s < 100.0)
    })
    .await;
    s1.set("/Dc/0/Current", Item::Float(0.0)).await;
    wait_for(&reader, "current 0", has("/Dc/0/Current", Item::Float(0.0))).await;
    agg.stop().await;
    let kept = std::fs::read_to_string(&state_file).unwrap();
    let charge: i64 = kept
        .lines()
        .find_map(|l| l.strip_prefix("charge_mah = "))
        .unwrap()
        .parse()
        .unwrap();
    assert!((90_000..100_000).contains(&charge), "{charge}");
    let agg = Running::start(App::new(cfg).with_wall_clock(wall));
    let items = wait_for(&reader, "restarted", |i| mode(i) == "normal").await;
    #[allow(clippy::cast_precision_loss, reason = "test")]
    let expected = (charge / 100) as f64 / 10.0;
    assert_eq!(f(&items, "/Soc"), expected);
    assert_eq!(text(&items, "/Aggregate/LastBalanced"), "2026-07-24");
    assert_eq!(f(&items, "/Aggregate/Balancing"), 0.0);
    scene.end(agg).await;
    drop(settings);
}

fn quiet(_: core::fmt::Arguments<'_>) {}

/// Serve `port` on `listen` from a thread of its own (the serving future is not `Send`)
/// until `stop` fires; its address.
async fn serve_sim<P: voltwire_sim::serve::Port + Send + 'static>(
    mut port: P,
    listen: &str,
    stop: oneshot::Receiver<()>,
) -> String {
    use voltwire_sim::serve::{self, Listen, PortDrop};
    let (tx, rx) = oneshot::channel();
    let listen = listen.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let announce = |a: &str| {
                let _ = tx.send(a.to_owned());
                Ok(())
            };
            let stop = async {
                let _ = stop.await;
            };
            let _ = serve::serve(
                &mut port,
                Listen::Tcp(listen),
                PortDrop::Never,
                quiet,
                announce,
                stop,
            )
            .await;
        });
    });
    rx.await.unwrap()
}

/// A simulated 16-cell pack at `plant_soc` behind `device`, at real speed.
fn station(
    plant_soc: f64,
    device: Box<dyn voltwire_sim::SerialResponder + Send>,
) -> voltwire_sim::serve::SerialStation {
    voltwire_sim::serve::SerialStation::new(voltwire_sim::Plant::single(16, plant_soc), device, 1.0)
}

fn pace_pack() -> voltwire_sim::serve::SerialStation {
    station(
        0.5,
        Box::new(voltwire_sim::device::PaceStack::new().with_first_address(0)),
    )
}

/// The D-Bus battery next to the direct ones: sim1 with its cells at 3.310 / 3.340 V, above
/// the simulated packs' 3.300 V at 50 %.
fn dbus_neighbour() -> SimSpec {
    let [mut a, _, _] = demo::specs();
    a.cells = (3.310, 3.340);
    a
}

/// A polled serial BMS on `link` (0.5 s polls, 0.5 s timeout) with `limits`.
fn serial_bms(
    link: voltwire_runtime::link::LinkUrl,
    address: u8,
    limits: (
        voltwire_core::Millivolts,
        voltwire_core::Milliamps,
        voltwire_core::Milliamps,
    ),
) -> aggregator::direct::SerialBms {
    aggregator::direct::SerialBms {
        link,
        address,
        interval: Duration::from_millis(500),
        timeout: Duration::from_millis(500),
        limits,
    }
}

/// A served simulator's port goes away (`stop`): the aggregate stays, degraded, with one
/// module offline, the `BmsCable` alarm, `online` modules and `capacity_ah` left; `again`
/// served on the same address: admitted after the hold, nothing offline, no alarm. The
/// stop of the new server (keep it: dropping it stops the server).
async fn lose_and_recover<P: voltwire_sim::serve::Port + Send + 'static>(
    reader: &Connection,
    name: &str,
    (stop, addr): (oneshot::Sender<()>, &str),
    again: P,
    online: f64,
    capacity_ah: f64,
) -> oneshot::Sender<()> {
    let _ = stop.send(());
    let items = wait_for(reader, &format!("{name} excluded"), |i| {
        mode(i) == "degraded" && i.get("/System/NrOfModulesOffline") == Some(&Item::Int(1))
    })
    .await;
    assert_eq!(f(&items, "/Alarms/BmsCable"), 2.0);
    assert_eq!(f(&items, "/System/NrOfModulesOnline"), online);
    assert_eq!(f(&items, "/InstalledCapacity"), capacity_ah);
    let (new_stop, stop_rx) = oneshot::channel();
    assert_eq!(serve_sim(again, addr, stop_rx).await, addr);
    let items = wait_for(reader, &format!("{name} back"), |i| mode(i) == "normal").await;
    assert_eq!(f(&items, "/System/NrOfModulesOffline"), 0.0);
    assert_eq!(f(&items, "/Alarms/BmsCable"), 0.0);
    new_stop
}

/// One battery read directly (`name`, made by `kind` for its simulator's `tcp://` link,
/// `capacity` configured) next to a D-Bus battery of 100 Ah: both admitted (2 modules,
/// `capacity_ah` in all, the CCL `ccl_a` = 2 × the smaller, the lowest cell the simulated
/// pack's 3.300 V with the id `name:C…`); its port goes away (degraded, one module
/// offline, 100 Ah left) and comes back (admitted again).
async fn direct_next_to_a_dbus_battery(
    name: &str,
    sim: fn() -> voltwire_sim::serve::SerialStation,
    kind: impl FnOnce(voltwire_runtime::link::LinkUrl) -> aggregator::direct::Kind,
    capacity: voltwire_core::MilliampHours,
    (capacity_ah, ccl_a): (f64, f64),
) {
    let scene = Scene::start(&format!("agg-{name}")).await;
    let (stop, stop_rx) = oneshot::channel();
    let addr = serve_sim(sim(), "127.0.0.1:0", stop_rx).await;
    let mut cfg = scene.config(2);
    cfg.direct = vec![aggregator::direct::DirectSpec {
        name: name.into(),
        kind: kind(format!("tcp://{addr}").parse().unwrap()),
        capacity,
    }];
    let _s1 = scene.battery(dbus_neighbour()).await;
    let agg = Running::start(App::new(cfg));
    let reader = scene.reader().await;

    let items = wait_for(&reader, "both admitted", |i| mode(i) == "normal").await;
    assert_eq!(f(&items, "/System/NrOfBatteries"), 2.0);
    assert_eq!(f(&items, "/System/NrOfModulesOnline"), 2.0);
    assert_eq!(f(&items, "/InstalledCapacity"), capacity_ah);
    assert_eq!(f(&items, "/Info/MaxChargeCurrent"), ccl_a);
    assert_eq!(f(&items, "/System/MinCellVoltage"), 3.3);
    let min_id = text(&items, "/System/MinVoltageCellId");
    assert!(min_id.starts_with(&format!("{name}:C")), "{min_id}");

    let _stop = lose_and_recover(&reader, name, (stop, &addr), sim(), 1.0, 100.0).await;
    scene.end(agg).await;
}

/// Batteries read directly next to a D-Bus one: a simulated Pylontech CAN BMS behind a
/// simulated SLCAN adapter on TCP and a simulated Pace pack on TCP, with a dbus-serialbattery
/// style service; the Pace's port goes away (the aggregate stays, degraded, one module
/// offline) and comes back on the same address (recovered after the hold).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_can_and_serial_batteries_next_to_a_dbus_one() {
    use aggregator::direct::{DirectSpec, Kind};
    use voltwire_core::{MilliampHours, Milliamps, Millivolts};
    use voltwire_sim::device::PylontechCanBms;
    use voltwire_sim::serve::can::CanStation;

    let scene = Scene::start("agg-direct").await;
    let (_can_stop, can_stop_rx) = oneshot::channel();
    let can = CanStation::new(
        voltwire_sim::Plant::single(16, 0.6),
        PylontechCanBms::new(),
        1.0,
        500_000,
        quiet,
    );
    let can_addr = serve_sim(can, "127.0.0.1:0", can_stop_rx).await;
    let (pace_stop, pace_stop_rx) = oneshot::channel();
    let pace_addr = serve_sim(pace_pack(), "127.0.0.1:0", pace_stop_rx).await;

    let mut cfg = scene.config(3);
    cfg.direct = vec![
        DirectSpec {
            name: "rack".into(),
            kind: Kind::PylontechCan {
                bus: format!("slcan+tcp://{can_addr}?bitrate=500000")
                    .parse()
                    .unwrap(),
            },
            capacity: MilliampHours(100_000),
        },
        DirectSpec {
            name: "pace".into(),
            kind: Kind::Pace {
                link: format!("tcp://{pace_addr}").parse().unwrap(),
                address: 0,
                interval: Duration::from_millis(500),
                timeout: Duration::from_millis(500),
                limits: (Millivolts(55_200), Milliamps(50_000), Milliamps(70_000)),
            },
            capacity: MilliampHours(100_000),
        },
    ];
    let _s1 = scene.battery(dbus_neighbour()).await;
    let agg = Running::start(App::new(cfg));
    let reader = scene.reader().await;

    let items = wait_for(&reader, "three batteries admitted", |i| mode(i) == "normal").await;
    assert_eq!(f(&items, "/System/NrOfBatteries"), 3.0);
    assert_eq!(f(&items, "/System/NrOfModulesOnline"), 3.0);
    assert_eq!(f(&items, "/System/NrOfModulesOffline"), 0.0);
    // 100 Ah each: the D-Bus battery's, the configured CAN one, the Pace pack's own.
    assert_eq!(f(&items, "/InstalledCapacity"), 300.0);
    // N × smallest: the Pace pack's configured 50 A is the smallest CCL of the three.
    assert_eq!(f(&items, "/Info/MaxChargeCurrent"), 150.0);
    // The Pace pack's lowest cell (3.300 V at 50 %, its cell 1) is below the D-Bus
    // battery's 3.310 V; the D-Bus battery's 3.340 V is the highest.
    assert_eq!(f(&items, "/System/MinCellVoltage"), 3.3);
    assert_eq!(text(&items, "/System/MinVoltageCellId"), "pace:C1");
    assert_eq!(f(&items, "/System/MaxCellVoltage"), 3.34);
    assert_eq!(
        text(&items, "/System/MaxVoltageCellId"),
        "SerialBattery(Sim) sim1:C11"
    );

    // The Pace's port goes: excluded, alarm, one module offline (two online, 200 Ah); the
    // aggregate stays. Back on the same address: reconnected, admitted again after the hold.
    let _pace_stop = lose_and_recover(
        &reader,
        "pace",
        (pace_stop, &pace_addr),
        pace_pack(),
        2.0,
        200.0,
    )
    .await;
    scene.end(agg).await;
}

/// A simulated Daly BMS on TCP next to a D-Bus battery: its values are read (cells, limits
/// from the config), its port goes away (module offline, the aggregate stays) and comes back
/// (recovered after the hold).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_daly_read_lost_and_recovered() {
    use voltwire_core::{MilliampHours, Milliamps, Millivolts};
    // N × smallest: the Daly's configured 40 A is the smaller CCL.
    direct_next_to_a_dbus_battery(
        "daly",
        || station(0.5, Box::new(voltwire_sim::device::DalyBms::new(0))),
        |link| {
            aggregator::direct::Kind::Daly(serial_bms(
                link,
                0,
                (Millivolts(55_200), Milliamps(40_000), Milliamps(70_000)),
            ))
        },
        MilliampHours(100_000),
        (200.0, 80.0),
    )
    .await;
}

/// A simulated JK BMS (4E 57) on TCP next to a D-Bus battery: read (limits from the config),
/// lost (module offline) and recovered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_jk_read_lost_and_recovered() {
    use voltwire_core::{MilliampHours, Milliamps, Millivolts};
    // N × smallest: the JK's configured 30 A.
    direct_next_to_a_dbus_battery(
        "jk",
        || station(0.5, Box::new(voltwire_sim::device::JkBms::new(0))),
        |link| {
            aggregator::direct::Kind::Jk(serial_bms(
                link,
                0,
                (Millivolts(55_200), Milliamps(30_000), Milliamps(70_000)),
            ))
        },
        MilliampHours(100_000),
        (200.0, 60.0),
    )
    .await;
}

/// A simulated Pylontech module on RS485 (TCP) next to a D-Bus battery: its values and its
/// own limits are read, its port goes away (module offline) and comes back (recovered).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_pylontech_rs485_read_lost_and_recovered() {
    // The module's own 100 Ah win over the configured 1 Ah; N × smallest, the module's own
    // 0x92 CCL is half its capacity, 50 A.
    direct_next_to_a_dbus_battery(
        "pylon",
        || station(0.5, Box::new(voltwire_sim::device::PylontechStack::new())),
        |link| aggregator::direct::Kind::PylontechRs485 {
            link,
            address: 2,
            interval: Duration::from_millis(500),
            timeout: Duration::from_millis(500),
        },
        voltwire_core::MilliampHours(1_000),
        (200.0, 100.0),
    )
    .await;
}

/// `GET path` on `addr`; the status code and the body.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    voltwire_testkit::http::request(addr, "GET", path, None, "").await
}

/// The shared status page with `[web]`: the page, the state with SI keys, one health line
/// per battery, the metrics; a vanished battery shows as stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_page_state_health_and_metrics() {
    let scene = Scene::start("agg-web").await;
    let mut cfg = scene.config(2);
    cfg.web = Some(voltwire_runtime::web::WebConfig {
        port: 0,
        ..voltwire_runtime::web::WebConfig::default()
    });
    let [a, b, _] = demo::specs();
    let _s1 = scene.battery(a).await;
    let s2 = scene.battery(b).await;
    let (tx, rx) = oneshot::channel();
    let agg = Running::start(App::new(cfg).on_web_bound(tx));
    let addr = tokio::time::timeout(GUARD, rx).await.unwrap().unwrap();
    let reader = scene.reader().await;
    wait_for(&reader, "admitted", |i| mode(i) == "normal").await;

    let (code, page) = http_get(addr, "/").await;
    assert_eq!(code, 200);
    assert!(page.contains("aggregator"));
    let state = tokio::time::timeout(GUARD, async {
        loop {
            let (code, body) = http_get(addr, "/api/state").await;
            assert_eq!(code, 200, "{body}");
            let j: serde_json::Value = serde_json::from_str(&body).unwrap();
            if j["mode"] == "normal" {
                return j;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap();
    // 2 × min(100, 80) A; 53.0 V ± the simulators' 1 mV wobble; 5 A - 4 A.
    assert_eq!(state["charge_current_limit_a"], 160.0);
    assert_eq!(state["batteries"], 2);
    assert_eq!(state["current_a"], 1.0);
    assert_eq!(state["inputs"].as_array().map(Vec::len), Some(2));
    // No [[current]] sources: the batteries' current, no battery service set aside.
    assert_eq!(state["current_source"], 0);
    assert_eq!(state["source_batteries"], "");
    let (code, health) = http_get(addr, "/api/health").await;
    assert_eq!(code, 200, "{health}");
    assert_eq!(health.matches("\"status\":\"up\"").count(), 2, "{health}");
    let (code, metrics) = http_get(addr, "/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains("voltwire_aggregator_charge_current_limit_amperes 160"),
        "{metrics}"
    );

    s2.vanish().await;
    tokio::time::timeout(GUARD, async {
        loop {
            let (_, body) = http_get(addr, "/api/state").await;
            let j: serde_json::Value = serde_json::from_str(&body).unwrap();
            if j["mode"] == "degraded" {
                // A battery that left the bus has no reading any more: not admitted.
                let mut st: Vec<(&str, &str)> = j["inputs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| (i["name"].as_str().unwrap(), i["status"].as_str().unwrap()))
                    .collect();
                st.sort_unstable();
                assert_eq!(
                    st,
                    [
                        ("com.victronenergy.battery.sim1", "active"),
                        ("com.victronenergy.battery.sim2", "no_data")
                    ],
                    "{j}"
                );
                let (_, health) = http_get(addr, "/api/health").await;
                assert_eq!(health.matches("\"status\":\"up\"").count(), 1, "{health}");
                assert_eq!(health.matches("\"status\":\"down\"").count(), 1, "{health}");
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap();
    scene.end(agg).await;
}

/// A Victron device that gives a current: `com.victronenergy.<service>.<name>` with
/// `/DeviceInstance` `instance` and `/Dc/0/Current` `current` (a simulated battery's paths
/// otherwise; the aggregator reads only the current of a source).
fn device(service: &str, name: &str, instance: i64, current: f64) -> SimSpec {
    let mut d = demo::specs()[1].clone();
    d.service = service.into();
    d.name = name.into();
    d.instance = instance;
    d.current = current;
    d
}

/// `[[current]]`: a solar charger and an inverted Multi replace the battery's current while
/// both are on the bus; one leaves → the battery's own current, flagged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_sources_summed_then_fallback() {
    use aggregator::config::CurrentSource;

    let scene = Scene::start("agg-current").await;
    let mut cfg = scene.config(1);
    cfg.current = vec![
        CurrentSource {
            prefix: "com.victronenergy.solarcharger.".into(),
            instance: 279,
            invert: false,
        },
        CurrentSource {
            prefix: "com.victronenergy.vebus.".into(),
            instance: 276,
            invert: true,
        },
    ];
    let [mut a, _, _] = demo::specs();
    a.current = 5.0;
    let _s1 = scene.battery(a).await;
    let _mppt = scene
        .battery(device("solarcharger", "ttyUSB1", 279, 12.5))
        .await;
    // Another solar charger (another instance) is not a configured source.
    let _other = scene
        .battery(device("solarcharger", "ttyUSB2", 280, 99.0))
        .await;
    let multi = scene.battery(device("vebus", "ttyS4", 276, 30.0)).await;
    let agg = Running::start(App::new(cfg));
    let reader = scene.reader().await;

    let items = wait_for(&reader, "current from the sources", |i| {
        mode(i) == "normal" && i.get("/Aggregate/CurrentSource") == Some(&Item::Int(1))
    })
    .await;
    // 12.5 A + (−30 A): the Multi is inverted; the battery's 5 A and the other 99 A unused.
    assert_eq!(f(&items, "/Dc/0/Current"), -17.5);
    // Only real batteries are aggregated.
    assert_eq!(f(&items, "/System/NrOfBatteries"), 1.0);
    let v = f(&items, "/Dc/0/Voltage");
    assert!((f(&items, "/Dc/0/Power") - v * -17.5).abs() < 0.01);

    multi.vanish().await;
    let items = wait_for(
        &reader,
        "fallback to the battery",
        has("/Aggregate/CurrentSource", Item::Int(2)),
    )
    .await;
    assert_eq!(f(&items, "/Dc/0/Current"), 5.0);
    assert_eq!(mode(&items), "normal");
    scene.end(agg).await;
}

/// A simulated JK-PB (status trigger → status block) on TCP next to a D-Bus battery: read
/// (limits from the config), lost (module offline) and recovered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_jk_pb_read_lost_and_recovered() {
    use voltwire_core::{MilliampHours, Milliamps, Millivolts};
    // N × smallest: the PB's configured 35 A.
    direct_next_to_a_dbus_battery(
        "pb",
        || station(0.5, Box::new(voltwire_sim::device::JkPb::new(1, 0))),
        |link| {
            aggregator::direct::Kind::JkPb(serial_bms(
                link,
                1,
                (Millivolts(55_200), Milliamps(35_000), Milliamps(70_000)),
            ))
        },
        MilliampHours(100_000),
        (200.0, 70.0),
    )
    .await;
}

/// A SmartShunt listed as a `[[current]]` source (service `battery`, by instance) whose
/// custom name matches the battery keyword is a source only: the aggregate's voltage, SOC,
/// capacity, limits and cells come from the two batteries, its current from the shunt, and
/// `/Aggregate/SourceBatteries` names it. Its leaving is a source lost (the batteries'
/// current, flagged), not a battery lost (no module offline, mode stays normal).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_smartshunt_source_is_not_also_a_battery() {
    use aggregator::config::CurrentSource;

    let scene = Scene::start("agg-shunt").await;
    let mut cfg = scene.config(2);
    cfg.current = vec![CurrentSource {
        prefix: "com.victronenergy.battery.".into(),
        instance: 279,
        invert: false,
    }];
    let [a, _, mut b] = demo::specs();
    b.soc = 60.0;
    b.current = -4.0;
    let _s1 = scene.battery(a).await;
    let _s2 = scene.battery(b).await;
    // Everything about it differs from the batteries, so any share of it in the aggregate
    // shows; its custom name contains the keyword "SerialBattery".
    let mut shunt = device("battery", "ttyS5", 279, -25.0);
    shunt.product = "SmartShunt 500A/50mV".into();
    shunt.custom_name = "SerialBattery bank shunt".into();
    shunt.voltage = 48.0;
    shunt.soc = 10.0;
    shunt.capacity = 500.0;
    shunt.cvl = 52.0;
    shunt.ccl = 10.0;
    shunt.dcl = 10.0;
    shunt.cells = (2.95, 3.60);
    let shunt = scene.battery(shunt).await;
    let agg = Running::start(App::new(cfg));
    let reader = scene.reader().await;

    let items = wait_for(&reader, "two batteries, current from the shunt", |i| {
        mode(i) == "normal" && i.get("/Aggregate/CurrentSource") == Some(&Item::Int(1))
    })
    .await;
    assert_eq!(
        text(&items, "/Aggregate/SourceBatteries"),
        "com.victronenergy.battery.ttyS5"
    );
    assert_eq!(f(&items, "/Dc/0/Current"), -25.0);
    assert_eq!(f(&items, "/System/NrOfBatteries"), 2.0);
    assert_eq!(f(&items, "/System/NrOfModulesOnline"), 2.0);
    assert_eq!(f(&items, "/System/NrOfModulesOffline"), 0.0);
    assert_eq!(f(&items, "/Alarms/BmsCable"), 0.0);
    assert_eq!(f(&items, "/Alarms/InternalFailure"), 0.0);
    // 100 Ah + 100 Ah; SOC (70 + 60) / 2; 53.0 V ± the simulators' 1 mV wobble.
    assert_eq!(f(&items, "/InstalledCapacity"), 200.0);
    assert_eq!(f(&items, "/Soc"), 65.0);
    let v = f(&items, "/Dc/0/Voltage");
    assert!((v - 53.0).abs() <= 0.002, "{v}");
    // 2 × min(100, 90) A, 2 × min(150, 100) A, the batteries' 55.2 V.
    assert_eq!(f(&items, "/Info/MaxChargeCurrent"), 180.0);
    assert_eq!(f(&items, "/Info/MaxDischargeCurrent"), 200.0);
    assert_eq!(f(&items, "/Info/MaxChargeVoltage"), 55.2);
    assert_eq!(f(&items, "/System/MinCellVoltage"), 3.3);
    assert_eq!(f(&items, "/System/MaxCellVoltage"), 3.325);
    assert_eq!(f(&items, "/Aggregate/CvlLimiting"), 0.0);
    assert!((f(&items, "/Dc/0/Power") - v * -25.0).abs() < 0.01);

    // The shunt leaves: the batteries' own 5 A − 4 A, flagged; no battery is missing.
    shunt.vanish().await;
    let items = wait_for(
        &reader,
        "fallback to the batteries",
        has("/Aggregate/CurrentSource", Item::Int(2)),
    )
    .await;
    assert_eq!(f(&items, "/Dc/0/Current"), 1.0);
    assert_eq!(mode(&items), "normal");
    assert_eq!(f(&items, "/System/NrOfBatteries"), 2.0);
    assert_eq!(f(&items, "/System/NrOfModulesOffline"), 0.0);
    assert_eq!(f(&items, "/InstalledCapacity"), 200.0);
    scene.end(agg).await;
}

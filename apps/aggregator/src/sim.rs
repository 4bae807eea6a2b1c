//! Simulated battery services, published the way dbus-serialbattery does: a
//! `com.victronenergy.battery.<name>` with the `BusItem` paths, values changing once per
//! second with a `PropertiesChanged` per changed path. For `--demo` and the tests.

use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use zbus::MessageStream;
use zbus::message::Type;

use crate::busitem::{self, SignalMode, Tree};
use crate::item::Item;

/// What a simulated battery starts with.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSpec {
    /// Service name suffix (`com.victronenergy.battery.<name>`).
    pub name: String,
    /// `/ProductName`.
    pub product: String,
    /// Pack voltage (V).
    pub voltage: f64,
    /// Current (A, positive charging).
    pub current: f64,
    /// SOC (%).
    pub soc: f64,
    /// Installed capacity (Ah).
    pub capacity: f64,
    /// Charge voltage limit (V).
    pub cvl: f64,
    /// Charge current limit (A).
    pub ccl: f64,
    /// Discharge current limit (A).
    pub dcl: f64,
    /// Lowest / highest cell (V).
    pub cells: (f64, f64),
    /// Extra paths (`/Voltages/Cell<n>`) changed every second besides the voltage, for load
    /// tests (dbus-serialbattery publishes about 40 changing paths per battery).
    pub churn: usize,
    /// The service kind: `com.victronenergy.<service>.<name>` (`battery` by default).
    pub service: String,
    /// `/DeviceInstance`.
    pub instance: i64,
    /// `/CustomName` (empty by default).
    pub custom_name: String,
}

impl SimSpec {
    /// A 16-cell LFP battery of `capacity` Ah.
    pub fn lfp(name: &str, capacity: f64, ccl: f64, dcl: f64) -> Self {
        Self {
            name: name.to_owned(),
            product: format!("SerialBattery(Sim) {name}"),
            voltage: 53.0,
            current: 5.0,
            soc: 70.0,
            capacity,
            cvl: 55.2,
            ccl,
            dcl,
            cells: (3.300, 3.320),
            churn: 0,
            service: "battery".to_owned(),
            instance: 1,
            custom_name: String::new(),
        }
    }

    /// The initial paths.
    pub fn tree(&self) -> Tree {
        let mut t = Tree::default();
        let text = |s: &str| Item::Text(s.to_owned());
        let f = Item::Float;
        for (p, v) in [
            ("/Mgmt/ProcessName", text("dbus-serialbattery (simulated)")),
            ("/Mgmt/ProcessVersion", text("1.0")),
            ("/Mgmt/Connection", text("Serial /dev/ttySIM")),
            ("/DeviceInstance", Item::Int(self.instance)),
            ("/ProductId", Item::Int(0xBA77)),
            ("/ProductName", text(&self.product)),
            ("/FirmwareVersion", text("1.0")),
            ("/HardwareVersion", text("sim")),
            ("/Connected", Item::Int(1)),
            ("/CustomName", text(&self.custom_name)),
            ("/Info/MaxChargeVoltage", f(self.cvl)),
            ("/Info/MaxChargeCurrent", f(self.ccl)),
            ("/Info/MaxDischargeCurrent", f(self.dcl)),
            ("/Dc/0/Voltage", f(self.voltage)),
            ("/Dc/0/Current", f(self.current)),
            ("/Dc/0/Power", f(self.voltage * self.current)),
            ("/Dc/0/Temperature", f(21.0)),
            ("/Soc", f(self.soc)),
            ("/Soh", f(100.0)),
            ("/InstalledCapacity", f(self.capacity)),
            ("/Capacity", f(self.capacity * self.soc / 100.0)),
            (
                "/ConsumedAmphours",
                f(self.capacity * (1.0 - self.soc / 100.0)),
            ),
            ("/TimeToGo", Item::Invalid),
            ("/System/MinCellVoltage", f(self.cells.0)),
            ("/System/MaxCellVoltage", f(self.cells.1)),
            ("/System/MinVoltageCellId", text("C3")),
            ("/System/MaxVoltageCellId", text("C11")),
            ("/System/MinCellTemperature", f(19.0)),
            ("/System/MaxCellTemperature", f(23.0)),
            ("/System/NrOfModulesOnline", Item::Int(1)),
            ("/System/NrOfModulesOffline", Item::Int(0)),
            ("/System/NrOfModulesBlockingCharge", Item::Int(0)),
            ("/System/NrOfModulesBlockingDischarge", Item::Int(0)),
            ("/Io/AllowToCharge", Item::Int(1)),
            ("/Io/AllowToDischarge", Item::Int(1)),
            ("/Io/AllowToBalance", Item::Int(1)),
            ("/Alarms/LowVoltage", Item::Int(0)),
            ("/Alarms/HighVoltage", Item::Int(0)),
        ] {
            t.insert(p, v, "");
        }
        t
    }
}

/// A command to a running simulated battery.
#[derive(Debug, Clone, PartialEq)]
pub enum SimCommand {
    /// Set a path (announced with `PropertiesChanged`).
    Set(String, Item),
    /// Hang: stop sending changes and answering calls (the service stays on the bus, as a
    /// driver stuck on its serial port would).
    Hang(bool),
}

/// A running simulated battery; dropping it (or [`SimBattery::vanish`]) takes it off the
/// bus.
#[derive(Debug)]
pub struct SimBattery {
    tx: mpsc::Sender<SimCommand>,
    task: tokio::task::JoinHandle<()>,
}

impl SimBattery {
    /// Publish `spec` on the bus at `address`; it answers calls and, once per second, moves
    /// its voltage by ±1 mV and announces it.
    ///
    /// # Errors
    /// The zbus error of the connection or of the name request.
    pub async fn start(address: &str, spec: SimSpec) -> zbus::Result<Self> {
        let conn = zbus::connection::Builder::address(address)?.build().await?;
        let mut tree = spec.tree();
        let mut stream = MessageStream::from(&conn);
        let dbus = zbus::fdo::DBusProxy::new(&conn).await?;
        crate::app::request_name(
            &dbus,
            &format!("com.victronenergy.{}.{}", spec.service, spec.name),
        )
        .await?;
        let (tx, mut rx) = mpsc::channel::<SimCommand>(32);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut frozen = false;
            let mut up = true;
            loop {
                let changed: Vec<String> = tokio::select! {
                    m = stream.next() => match m {
                        Some(Ok(m)) if m.message_type() == Type::MethodCall && !frozen => {
                            let _ = busitem::answer(&conn, &mut tree, &m).await;
                            Vec::new()
                        }
                        Some(_) => Vec::new(),
                        None => return,
                    },
                    c = rx.recv() => match c {
                        Some(SimCommand::Set(p, v)) => {
                            if tree.get(&p).is_none() {
                                tree.insert(&p, v, "");
                                vec![p]
                            } else if tree.set(&p, v) { vec![p] } else { Vec::new() }
                        }
                        Some(SimCommand::Hang(f)) => { frozen = f; Vec::new() }
                        None => return,
                    },
                    _ = tick.tick() => {
                        if frozen { Vec::new() } else {
                            let v = tree.get("/Dc/0/Voltage").and_then(Item::as_f64).unwrap_or(spec.voltage);
                            let v = if up { v + 0.001 } else { v - 0.001 };
                            up = !up;
                            tree.set("/Dc/0/Voltage", Item::Float(v));
                            let mut changed = vec!["/Dc/0/Voltage".to_owned()];
                            for n in 1..=spec.churn {
                                let p = format!("/Voltages/Cell{n}");
                                let c = if up { 3.301 } else { 3.302 };
                                if tree.get(&p).is_none() {
                                    tree.insert(&p, Item::Float(c), "V");
                                } else {
                                    tree.set(&p, Item::Float(c));
                                }
                                changed.push(p);
                            }
                            changed
                        }
                    }
                };
                if !frozen {
                    let _ =
                        busitem::announce(&conn, &tree, &changed, SignalMode::PropertiesChanged)
                            .await;
                }
            }
        });
        Ok(Self { tx, task })
    }

    /// Set a path.
    pub async fn set(&self, path: &str, value: Item) {
        let _ = self.tx.send(SimCommand::Set(path.to_owned(), value)).await;
    }

    /// Hang (or resume): no changes sent, no calls answered, still on the bus.
    pub async fn hang(&self, hung: bool) {
        let _ = self.tx.send(SimCommand::Hang(hung)).await;
    }

    /// Leave the bus (the connection is closed: `NameOwnerChanged` to nobody).
    pub async fn vanish(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for SimBattery {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A simulated `com.victronenergy.settings` with the one setting the aggregator writes
/// (`/Settings/CGwacs/OvervoltageFeedIn`, 0 or 1), answering like the real settings
/// service: `SetValue` 0 for a valid value, 2 for anything else; a change is announced.
#[derive(Debug)]
pub struct SimSettings {
    task: tokio::task::JoinHandle<()>,
}

impl SimSettings {
    /// Publish the settings service with the feed-in setting at `feed_in`.
    ///
    /// # Errors
    /// The zbus error of the connection or of the name request.
    pub async fn start(address: &str, feed_in: i64) -> zbus::Result<Self> {
        let conn = zbus::connection::Builder::address(address)?.build().await?;
        let mut tree = Tree::default();
        tree.insert_int_setting(crate::own::FEED_IN_PATH, feed_in, 0, 1);
        let mut stream = MessageStream::from(&conn);
        let dbus = zbus::fdo::DBusProxy::new(&conn).await?;
        crate::app::request_name(&dbus, crate::own::SETTINGS_SERVICE).await?;
        let task = tokio::spawn(async move {
            while let Some(m) = stream.next().await {
                let Ok(m) = m else { continue };
                if m.message_type() != Type::MethodCall {
                    continue;
                }
                if let Ok(busitem::Answered::Written(p)) =
                    busitem::answer(&conn, &mut tree, &m).await
                {
                    let _ =
                        busitem::announce(&conn, &tree, &[p], SignalMode::PropertiesChanged).await;
                }
            }
        });
        Ok(Self { task })
    }
}

impl Drop for SimSettings {
    fn drop(&mut self) {
        self.task.abort();
    }
}

//! The aggregate's paths: the mandatory Venus ones at start, then the aggregate's values
//! (exact integers from the rules, floats only here, at the edge).

use voltwire_ess::BatteryState;
use voltwire_ess::Mode;
use voltwire_ess::aggregate::{Aggregate, VenusAlarm};

use crate::busitem::Tree;
use crate::config::Config;
use crate::item::Item;

/// `/ProductId` of the aggregate: 0, no Victron product.
pub const PRODUCT_ID: i64 = 0;

/// The longest `/CustomName` accepted.
pub const CUSTOM_NAME_MAX: usize = 64;

/// Every path the aggregate publishes (the measured ones start invalid).
pub fn initial_tree(cfg: &Config) -> Tree {
    let mut t = Tree::default();
    let text = |s: &str| Item::Text(s.to_owned());
    t.insert("/Mgmt/ProcessName", text(env!("CARGO_PKG_NAME")), "");
    t.insert("/Mgmt/ProcessVersion", text(env!("CARGO_PKG_VERSION")), "");
    t.insert(
        "/Mgmt/Connection",
        text(&format!("D-Bus batteries matching \"{}\"", cfg.keyword)),
        "",
    );
    t.insert(
        "/DeviceInstance",
        Item::Int(i64::from(cfg.device_instance)),
        "",
    );
    t.insert("/ProductId", Item::Int(PRODUCT_ID), "");
    t.insert("/ProductName", text(&cfg.product_name), "");
    t.insert("/FirmwareVersion", text(env!("CARGO_PKG_VERSION")), "");
    t.insert("/HardwareVersion", text("aggregate of 0 batteries"), "");
    t.insert("/Connected", Item::Int(1), "");
    t.insert_text_setting("/CustomName", &cfg.custom_name, CUSTOM_NAME_MAX);
    for (p, unit) in [
        ("/Info/MaxChargeVoltage", "V"),
        ("/Info/MaxChargeCurrent", "A"),
        ("/Info/MaxDischargeCurrent", "A"),
        ("/Info/BatteryLowVoltage", "V"),
        ("/Info/ChargeRequest", ""),
        ("/Dc/0/Voltage", "V"),
        ("/Dc/0/Current", "A"),
        ("/Dc/0/Power", "W"),
        ("/Dc/0/Temperature", "°C"),
        ("/Soc", "%"),
        ("/Soh", "%"),
        ("/Capacity", "Ah"),
        ("/InstalledCapacity", "Ah"),
        ("/ConsumedAmphours", "Ah"),
        ("/TimeToGo", "s"),
        ("/System/MinCellVoltage", "V"),
        ("/System/MaxCellVoltage", "V"),
        ("/System/MinVoltageCellId", ""),
        ("/System/MaxVoltageCellId", ""),
        ("/System/MinCellTemperature", "°C"),
        ("/System/MaxCellTemperature", "°C"),
        ("/System/NrOfBatteries", ""),
        ("/System/NrOfModulesOnline", ""),
        ("/System/NrOfModulesOffline", ""),
        ("/System/NrOfModulesBlockingCharge", ""),
        ("/System/NrOfModulesBlockingDischarge", ""),
        ("/Io/AllowToCharge", ""),
        ("/Io/AllowToDischarge", ""),
        ("/Io/AllowToBalance", ""),
        ("/Aggregate/Mode", ""),
        ("/Aggregate/FullyDischarged", ""),
        ("/Aggregate/CvlLimiting", ""),
        ("/Aggregate/Balancing", ""),
        ("/Aggregate/LastBalanced", ""),
        ("/Aggregate/FeedInOff", ""),
        ("/Aggregate/CurrentSource", ""),
        ("/Aggregate/SourceBatteries", ""),
    ] {
        t.insert(p, Item::Invalid, unit);
    }
    for name in VenusAlarm::KNOWN.iter().filter_map(|a| a.name()) {
        t.insert(&format!("/Alarms/{name}"), Item::Int(0), "");
    }
    t
}

#[allow(
    clippy::cast_precision_loss,
    reason = "app edge: D-Bus values are floats"
)]
fn milli(v: i64) -> Item {
    Item::Float(v as f64 / 1000.0)
}

fn deci(v: i16) -> Item {
    Item::Float(f64::from(v) / 10.0)
}

fn int(v: impl Into<i64>) -> Item {
    Item::Int(v.into())
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Normal => "normal",
        Mode::Degraded => "degraded",
        Mode::Blocked => "blocked",
        Mode::Safe => "safe",
        _ => "silent",
    }
}

/// What the app adds to an [`Aggregate`] for publishing.
#[allow(
    clippy::struct_excessive_bools,
    reason = "one flag per published 0/1 path"
)]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extra {
    /// `battery:cell` of the lowest cell.
    pub min_cell_id: Option<String>,
    /// `battery:cell` of the highest cell.
    pub max_cell_id: Option<String>,
    /// The fully-discharged latch is set.
    pub fully_discharged: bool,
    /// The dynamic CVL is limiting.
    pub cvl_limiting: bool,
    /// The number of batteries followed.
    pub batteries: usize,
    /// The balancing voltage applies.
    pub balancing: bool,
    /// The day balancing last completed (`YYYY-MM-DD`).
    pub last_balanced: Option<String>,
    /// DC-coupled PV feed-in is held off by the aggregator.
    pub feed_in_off: bool,
    /// Where `/Dc/0/Current` came from: 0 the batteries, 1 the `[[current]]` sources,
    /// 2 the batteries because a configured source is missing or stale.
    pub current_source: u8,
    /// The battery services that are `[[current]]` sources (never aggregated), comma-separated.
    pub source_batteries: String,
}

/// Write the aggregate `out` (its state after the charge rules: `state`) into `tree`; the
/// changed paths, in path order.
#[allow(clippy::too_many_lines, reason = "one line per published path")]
pub fn update<const N: usize>(
    tree: &mut Tree,
    out: &Aggregate<N>,
    state: &BatteryState,
    extra: Extra,
) -> Vec<String> {
    let Extra {
        min_cell_id,
        max_cell_id,
        fully_discharged,
        cvl_limiting,
        batteries,
        balancing,
        last_balanced,
        feed_in_off,
        current_source,
        source_batteries,
    } = extra;
    let s = state;
    let opt_milli = |v: Option<i64>| v.map_or(Item::Invalid, milli);
    let any = out.mode != Mode::Safe;
    let measured = |i: Item| if any { i } else { Item::Invalid };
    let power = i64::from(s.voltage.0) * i64::from(s.current.0) / 1000;
    let mut values: Vec<(String, Item)> = vec![
        (
            "/Info/MaxChargeVoltage".into(),
            milli(s.charge_voltage_limit.0.into()),
        ),
        (
            "/Info/MaxChargeCurrent".into(),
            milli(s.charge_current_limit.0.into()),
        ),
        (
            "/Info/MaxDischargeCurrent".into(),
            milli(s.discharge_current_limit.0.into()),
        ),
        (
            "/Info/ChargeRequest".into(),
            int(u8::from(s.requests.0 != 0)),
        ),
        ("/Dc/0/Voltage".into(), measured(milli(s.voltage.0.into()))),
        ("/Dc/0/Current".into(), measured(milli(s.current.0.into()))),
        ("/Dc/0/Power".into(), measured(milli(power))),
        ("/Dc/0/Temperature".into(), measured(deci(s.temperature.0))),
        ("/Soc".into(), measured(deci(s.soc.0))),
        ("/Soh".into(), measured(deci(s.soh.0))),
        ("/Capacity".into(), opt_milli(out.capacity.map(|c| c.0))),
        (
            "/InstalledCapacity".into(),
            measured(milli(out.installed_capacity.0)),
        ),
        (
            "/ConsumedAmphours".into(),
            opt_milli(out.consumed.map(|c| c.0)),
        ),
        (
            "/TimeToGo".into(),
            out.time_to_go_s.map_or(Item::Invalid, int),
        ),
        (
            "/System/MinCellVoltage".into(),
            out.min_cell
                .map_or(Item::Invalid, |e| milli(e.value.0.into())),
        ),
        (
            "/System/MaxCellVoltage".into(),
            out.max_cell
                .map_or(Item::Invalid, |e| milli(e.value.0.into())),
        ),
        (
            "/System/MinVoltageCellId".into(),
            min_cell_id.map_or(Item::Invalid, Item::Text),
        ),
        (
            "/System/MaxVoltageCellId".into(),
            max_cell_id.map_or(Item::Invalid, Item::Text),
        ),
        (
            "/System/MinCellTemperature".into(),
            out.min_temperature
                .map_or(Item::Invalid, |e| deci(e.value.0)),
        ),
        (
            "/System/MaxCellTemperature".into(),
            out.max_temperature
                .map_or(Item::Invalid, |e| deci(e.value.0)),
        ),
        (
            "/System/NrOfBatteries".into(),
            int(i64::try_from(batteries).unwrap_or(i64::MAX)),
        ),
        ("/System/NrOfModulesOnline".into(), int(out.modules.online)),
        (
            "/System/NrOfModulesOffline".into(),
            int(out.modules.offline),
        ),
        (
            "/System/NrOfModulesBlockingCharge".into(),
            int(out.modules.blocking_charge),
        ),
        (
            "/System/NrOfModulesBlockingDischarge".into(),
            int(out.modules.blocking_discharge),
        ),
        ("/Io/AllowToCharge".into(), int(u8::from(s.charge_enable))),
        (
            "/Io/AllowToDischarge".into(),
            int(u8::from(s.discharge_enable)),
        ),
        (
            "/Io/AllowToBalance".into(),
            int(u8::from(out.allow_balance)),
        ),
        (
            "/Aggregate/Mode".into(),
            Item::Text(mode_name(out.mode).into()),
        ),
        (
            "/Aggregate/FullyDischarged".into(),
            int(u8::from(fully_discharged)),
        ),
        ("/Aggregate/CvlLimiting".into(), int(u8::from(cvl_limiting))),
        ("/Aggregate/Balancing".into(), int(u8::from(balancing))),
        (
            "/Aggregate/LastBalanced".into(),
            last_balanced.map_or(Item::Invalid, Item::Text),
        ),
        ("/Aggregate/FeedInOff".into(), int(u8::from(feed_in_off))),
        ("/Aggregate/CurrentSource".into(), int(current_source)),
        (
            "/Aggregate/SourceBatteries".into(),
            Item::Text(source_batteries),
        ),
        (
            "/HardwareVersion".into(),
            Item::Text(format!("aggregate of {batteries} batteries")),
        ),
    ];
    for a in VenusAlarm::KNOWN {
        if let Some(name) = a.name() {
            values.push((format!("/Alarms/{name}"), int(out.venus_alarms.get(*a))));
        }
    }
    let mut changed: Vec<String> = values
        .into_iter()
        .filter_map(|(p, v)| tree.set(&p, v).then_some(p))
        .collect();
    changed.sort();
    changed
}

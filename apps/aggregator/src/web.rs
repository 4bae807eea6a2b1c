//! The aggregator on the shared status page (`voltwire_runtime::web`, `[web]`, off by
//! default): the state is the aggregate as published on D-Bus, in `snake_case` keys with
//! SI suffixes (current > 0 = charging); the health has one line per battery (`up` while
//! admitted, `stale` while stale, recovering or implausible, `down` before its first
//! reading); the metrics are the aggregate's values, `voltwire_aggregator_*` with the unit
//! in the name. Read-only: no command endpoint (the aggregate is steered by its batteries
//! and its configuration only).

use serde_json::{Map, Value as J, json};
use voltwire_ess::InputStatus;
use voltwire_runtime::web::{LinkHealth, LinkStatus, Metrics, PageHints, Snapshot};

use crate::busitem::Tree;
use crate::item::Item;

/// The page's title and headline.
pub fn hints() -> PageHints {
    PageHints {
        title: "aggregator".into(),
        forms: Vec::new(),
        headline: Some(vec!["mode".into()]),
        stale_words: ["stale", "down", "safe", "degraded", "blocked"]
            .map(String::from)
            .to_vec(),
    }
}

/// Published paths and their state keys.
const KEYS: &[(&str, &str)] = &[
    ("/Dc/0/Voltage", "voltage_v"),
    ("/Dc/0/Current", "current_a"),
    ("/Dc/0/Power", "power_w"),
    ("/Dc/0/Temperature", "temperature_c"),
    ("/Soc", "soc_pct"),
    ("/Soh", "soh_pct"),
    ("/Info/MaxChargeVoltage", "charge_voltage_limit_v"),
    ("/Info/MaxChargeCurrent", "charge_current_limit_a"),
    ("/Info/MaxDischargeCurrent", "discharge_current_limit_a"),
    ("/InstalledCapacity", "installed_capacity_ah"),
    ("/Capacity", "capacity_ah"),
    ("/ConsumedAmphours", "consumed_ah"),
    ("/TimeToGo", "time_to_go_s"),
    ("/System/MinCellVoltage", "min_cell_v"),
    ("/System/MaxCellVoltage", "max_cell_v"),
    ("/System/MinVoltageCellId", "min_cell_id"),
    ("/System/MaxVoltageCellId", "max_cell_id"),
    ("/System/MinCellTemperature", "min_temperature_c"),
    ("/System/MaxCellTemperature", "max_temperature_c"),
    ("/System/NrOfBatteries", "batteries"),
    ("/System/NrOfModulesOnline", "modules_online"),
    ("/System/NrOfModulesOffline", "modules_offline"),
    (
        "/System/NrOfModulesBlockingCharge",
        "modules_blocking_charge",
    ),
    (
        "/System/NrOfModulesBlockingDischarge",
        "modules_blocking_discharge",
    ),
    ("/Io/AllowToCharge", "allow_to_charge"),
    ("/Io/AllowToDischarge", "allow_to_discharge"),
    ("/Io/AllowToBalance", "allow_to_balance"),
    ("/Aggregate/Mode", "mode"),
    ("/Aggregate/FullyDischarged", "fully_discharged"),
    ("/Aggregate/CvlLimiting", "cvl_limiting"),
    ("/Aggregate/Balancing", "balancing"),
    ("/Aggregate/LastBalanced", "last_balanced"),
    ("/Aggregate/FeedInOff", "feed_in_off"),
    ("/Aggregate/CurrentSource", "current_source"),
    ("/Aggregate/SourceBatteries", "source_batteries"),
];

/// Metrics: path, name, help.
const METRICS: &[(&str, &str, &str)] = &[
    (
        "/Dc/0/Voltage",
        "voltwire_aggregator_voltage_volts",
        "Aggregate voltage",
    ),
    (
        "/Dc/0/Current",
        "voltwire_aggregator_current_amperes",
        "Aggregate current (> 0 charging)",
    ),
    (
        "/Dc/0/Power",
        "voltwire_aggregator_power_watts",
        "Aggregate power",
    ),
    ("/Soc", "voltwire_aggregator_soc_percent", "State of charge"),
    (
        "/Info/MaxChargeVoltage",
        "voltwire_aggregator_charge_voltage_limit_volts",
        "Charge voltage limit",
    ),
    (
        "/Info/MaxChargeCurrent",
        "voltwire_aggregator_charge_current_limit_amperes",
        "Charge current limit",
    ),
    (
        "/Info/MaxDischargeCurrent",
        "voltwire_aggregator_discharge_current_limit_amperes",
        "Discharge current limit",
    ),
    (
        "/System/MinCellVoltage",
        "voltwire_aggregator_min_cell_volts",
        "Lowest cell voltage",
    ),
    (
        "/System/MaxCellVoltage",
        "voltwire_aggregator_max_cell_volts",
        "Highest cell voltage",
    ),
    (
        "/System/NrOfModulesOffline",
        "voltwire_aggregator_modules_offline",
        "Modules offline",
    ),
];

fn json_of(item: Option<&Item>) -> J {
    match item {
        Some(Item::Int(i)) => json!(i),
        Some(Item::Float(f)) => json!(f),
        Some(Item::Text(s)) => json!(s),
        Some(Item::Invalid) | None => J::Null,
    }
}

/// A followed battery for the health lines: name, classification, age of its data (s).
#[derive(Debug, Clone, PartialEq)]
pub struct BatteryHealth {
    /// Its service name or `direct:<name>`.
    pub name: String,
    /// What the policy made of it (`None`: not classified yet).
    pub status: Option<InputStatus>,
    /// Age of its latest data.
    pub age_s: Option<f64>,
}

fn status_name(s: Option<InputStatus>) -> &'static str {
    match s {
        Some(InputStatus::Active) => "active",
        Some(InputStatus::Blocking) => "blocking",
        Some(InputStatus::Recovering { .. }) => "recovering",
        Some(InputStatus::Stale) => "stale",
        Some(InputStatus::Implausible(_)) => "implausible",
        Some(InputStatus::NoData) | None => "no_data",
        Some(_) => "unknown",
    }
}

/// The snapshot of the published `tree` and the batteries.
pub fn snapshot(tree: &Tree, batteries: &[BatteryHealth]) -> Snapshot {
    let mut state = Map::new();
    for (path, key) in KEYS {
        state.insert((*key).into(), json_of(tree.get(path)));
    }
    let list: Vec<J> = batteries
        .iter()
        .map(|b| {
            json!({
                "name": b.name,
                "status": status_name(b.status),
                "age_s": b.age_s,
            })
        })
        .collect();
    state.insert("inputs".into(), J::Array(list));
    let links = batteries
        .iter()
        .map(|b| LinkHealth {
            name: b.name.clone(),
            kind: "battery".into(),
            status: match b.status {
                Some(s) if s.is_admitted() => LinkStatus::Up,
                Some(InputStatus::NoData) | None => LinkStatus::Down,
                Some(_) => LinkStatus::Stale,
            },
            age_s: b.age_s,
        })
        .collect();
    let mut metrics = Metrics::new();
    for (path, name, help) in METRICS {
        metrics.gauge(name, help, &[], tree.get(path).and_then(Item::as_f64));
    }
    Snapshot {
        state: J::Object(state),
        links,
        metrics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_keys_links_and_metrics() {
        let mut t = Tree::default();
        t.insert("/Dc/0/Current", Item::Float(-12.5), "A");
        t.insert("/Aggregate/Mode", Item::Text("degraded".into()), "");
        t.insert("/Soc", Item::Invalid, "%");
        let s = snapshot(
            &t,
            &[
                BatteryHealth {
                    name: "a".into(),
                    status: Some(InputStatus::Active),
                    age_s: Some(0.5),
                },
                BatteryHealth {
                    name: "b".into(),
                    status: Some(InputStatus::Stale),
                    age_s: Some(11.0),
                },
                BatteryHealth {
                    name: "c".into(),
                    status: None,
                    age_s: None,
                },
            ],
        );
        assert_eq!(s.state["current_a"], json!(-12.5));
        assert_eq!(s.state["mode"], json!("degraded"));
        assert_eq!(s.state["soc_pct"], J::Null);
        assert_eq!(s.state["inputs"][1]["status"], json!("stale"));
        let st: Vec<LinkStatus> = s.links.iter().map(|l| l.status).collect();
        assert_eq!(st, [LinkStatus::Up, LinkStatus::Stale, LinkStatus::Down]);
        let m = s.metrics.render();
        assert!(
            m.contains("voltwire_aggregator_current_amperes -12.5"),
            "{m}"
        );
    }
}

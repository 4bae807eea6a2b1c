//! A followed battery service: its paths, and their conversion into an exact
//! [`Reading`] (the app edge: D-Bus floats in, integers in canonical units out).

use std::collections::BTreeMap;

use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille};
use voltwire_ess::BatteryState;
use voltwire_ess::aggregate::{AlarmLevels, Modules, Reading, VenusAlarm};
use voltwire_ess::state::Flags;

use crate::item::Item;

/// The paths of one battery service.
pub type Items = BTreeMap<String, Item>;

/// Why a battery's paths give no reading.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoReading {
    /// A path the aggregate needs is missing or invalid.
    #[error("{0} is missing or invalid")]
    Missing(&'static str),
    /// `/Connected` is 0.
    #[error("/Connected is 0")]
    Disconnected,
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "clamped to the target range before the cast"
)]
fn scaled(v: f64, scale: f64, min: i64, max: i64) -> i64 {
    let x = (v * scale).round();
    #[allow(clippy::cast_precision_loss, reason = "range bounds")]
    let (lo, hi) = (min as f64, max as f64);
    if x.is_nan() {
        return 0;
    }
    x.clamp(lo, hi) as i64
}

fn num(items: &Items, path: &str) -> Option<f64> {
    items
        .get(path)
        .and_then(Item::as_f64)
        .filter(|f| f.is_finite())
}

fn i32_of(v: f64, scale: f64) -> i32 {
    i32::try_from(scaled(v, scale, i64::from(i32::MIN), i64::from(i32::MAX))).unwrap_or(0)
}

fn i16_of(v: f64, scale: f64) -> i16 {
    i16::try_from(scaled(v, scale, i64::from(i16::MIN), i64::from(i16::MAX))).unwrap_or(0)
}

/// Volts as millivolts, rounded.
pub fn millivolts(v: f64) -> Millivolts {
    Millivolts(i32_of(v, 1000.0))
}

/// Amperes as milliamps, rounded.
pub fn milliamps(v: f64) -> Milliamps {
    Milliamps(i32_of(v, 1000.0))
}

/// Ah as mAh, rounded.
pub fn milliamp_hours(v: f64) -> MilliampHours {
    MilliampHours(scaled(v, 1000.0, i64::MIN, i64::MAX))
}

fn need(items: &Items, path: &'static str) -> Result<f64, NoReading> {
    num(items, path).ok_or(NoReading::Missing(path))
}

fn allow(items: &Items, path: &str, limit: Milliamps) -> bool {
    num(items, path).map_or(limit.0 > 0, |v| v >= 0.5)
}

fn u16_of(items: &Items, path: &str) -> u16 {
    num(items, path).map_or(0, |v| {
        u16::try_from(scaled(v, 1.0, 0, i64::from(u16::MAX))).unwrap_or(0)
    })
}

/// The Venus alarm levels of a battery's `/Alarms/*` paths, and the state flags they imply:
/// level 2 of a voltage, temperature or current alarm is a protection (error) flag, so the
/// policy stops the direction it concerns for the stack; level 1 a warning.
fn alarms(items: &Items) -> (AlarmLevels, Flags, Flags) {
    let mut levels = AlarmLevels::default();
    let (mut errors, mut warnings) = (0u16, 0u16);
    for a in VenusAlarm::KNOWN {
        let Some(name) = a.name() else { continue };
        let level = num(items, &format!("/Alarms/{name}"))
            .map_or(0, |v| u8::try_from(scaled(v, 1.0, 0, 2)).unwrap_or(0));
        levels.raise(*a, level);
        let bit = match a {
            VenusAlarm::HighVoltage | VenusAlarm::HighCellVoltage => Flags::HIGH_VOLTAGE,
            VenusAlarm::LowVoltage | VenusAlarm::LowCellVoltage => Flags::LOW_VOLTAGE,
            VenusAlarm::HighTemperature | VenusAlarm::HighChargeTemperature => {
                Flags::HIGH_TEMPERATURE
            }
            VenusAlarm::LowTemperature | VenusAlarm::LowChargeTemperature => Flags::LOW_TEMPERATURE,
            VenusAlarm::HighChargeCurrent => Flags::CHARGE_OVER_CURRENT,
            VenusAlarm::HighDischargeCurrent => Flags::DISCHARGE_OVER_CURRENT,
            _ => 0,
        };
        match level {
            2 => errors |= bit,
            1 => warnings |= bit,
            _ => {}
        }
    }
    (levels, Flags(errors), Flags(warnings))
}

/// The reading of a battery's paths. Voltage, charge voltage limit and both current limits
/// are required (a battery without them is no BMS); everything else is optional.
///
/// # Errors
/// [`NoReading`] naming the missing path, or a disconnected battery.
pub fn reading(items: &Items) -> Result<Reading, NoReading> {
    if num(items, "/Connected").is_some_and(|c| c < 0.5) {
        return Err(NoReading::Disconnected);
    }
    let voltage = millivolts(need(items, "/Dc/0/Voltage")?);
    let cvl = millivolts(need(items, "/Info/MaxChargeVoltage")?);
    let ccl = milliamps(need(items, "/Info/MaxChargeCurrent")?.max(0.0));
    let dcl = milliamps(need(items, "/Info/MaxDischargeCurrent")?.max(0.0));
    let (levels, errors, warnings) = alarms(items);
    let deci = |p: &str| num(items, p).map(|t| DeciCelsius(i16_of(t, 10.0)));
    let modules = Modules {
        online: u16_of(items, "/System/NrOfModulesOnline"),
        offline: u16_of(items, "/System/NrOfModulesOffline"),
        blocking_charge: u16_of(items, "/System/NrOfModulesBlockingCharge"),
        blocking_discharge: u16_of(items, "/System/NrOfModulesBlockingDischarge"),
    };
    Ok(Reading {
        state: BatteryState {
            charge_voltage_limit: cvl,
            charge_current_limit: ccl,
            discharge_current_limit: dcl,
            soc: Permille(num(items, "/Soc").map_or(0, |v| i16_of(v, 10.0))),
            soh: Permille(num(items, "/Soh").map_or(1000, |v| i16_of(v, 10.0))),
            voltage,
            current: milliamps(num(items, "/Dc/0/Current").unwrap_or(0.0)),
            temperature: deci("/Dc/0/Temperature").unwrap_or_default(),
            errors,
            warnings,
            charge_enable: allow(items, "/Io/AllowToCharge", ccl),
            discharge_enable: allow(items, "/Io/AllowToDischarge", dcl),
            requests: voltwire_ess::Requests::NONE,
            module_count: modules.online.max(1),
        },
        installed_capacity: num(items, "/InstalledCapacity")
            .map_or(MilliampHours(0), milliamp_hours),
        capacity: num(items, "/Capacity").map(milliamp_hours),
        consumed: num(items, "/ConsumedAmphours").map(milliamp_hours),
        time_to_go_s: num(items, "/TimeToGo")
            .and_then(|t| u32::try_from(scaled(t, 1.0, -1, i64::from(u32::MAX))).ok()),
        min_cell: num(items, "/System/MinCellVoltage").map(millivolts),
        max_cell: num(items, "/System/MaxCellVoltage").map(millivolts),
        min_temperature: deci("/System/MinCellTemperature"),
        max_temperature: deci("/System/MaxCellTemperature"),
        alarms: levels,
        allow_balance: num(items, "/Io/AllowToBalance").is_none_or(|v| v >= 0.5),
        modules,
    })
}

/// Whether the battery's `/ProductName` or `/CustomName` contains `keyword` (ignoring
/// case); an empty keyword matches every battery.
pub fn matches(items: &Items, keyword: &str) -> bool {
    let k = keyword.to_lowercase();
    k.is_empty()
        || ["/ProductName", "/CustomName"].iter().any(|p| {
            items
                .get(*p)
                .and_then(Item::as_str)
                .is_some_and(|s| s.to_lowercase().contains(&k))
        })
}

/// The id of a cell extreme as `battery:cell` (`name` is the battery's custom name, else
/// its product name, else its service name's last part; `cell` the battery's own
/// `/System/MinVoltageCellId` or `/System/MaxVoltageCellId`, `?` when it has none).
pub fn cell_id(service: &str, items: &Items, id_path: &str) -> String {
    let name = ["/CustomName", "/ProductName"]
        .iter()
        .filter_map(|p| items.get(*p).and_then(Item::as_str))
        .find(|s| !s.is_empty())
        .map_or_else(
            || service.rsplit('.').next().unwrap_or(service).to_owned(),
            str::to_owned,
        );
    let cell = match items.get(id_path) {
        Some(Item::Text(s)) if !s.is_empty() => s.clone(),
        Some(Item::Int(i)) => i.to_string(),
        _ => "?".to_owned(),
    };
    format!("{name}:{cell}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(pairs: &[(&str, Item)]) -> Items {
        pairs
            .iter()
            .map(|(p, v)| ((*p).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn converts_floats_to_exact_units_and_requires_the_limits() {
        let mut it = items(&[
            ("/Dc/0/Voltage", Item::Float(53.2049)),
            ("/Info/MaxChargeVoltage", Item::Float(55.2)),
            ("/Info/MaxChargeCurrent", Item::Int(100)),
            ("/Info/MaxDischargeCurrent", Item::Float(-3.0)),
            ("/Soc", Item::Float(62.46)),
            ("/Dc/0/Current", Item::Float(-12.3456)),
            ("/Alarms/HighVoltage", Item::Int(2)),
            ("/Alarms/LowSoc", Item::Int(1)),
            ("/InstalledCapacity", Item::Float(280.0)),
            ("/TimeToGo", Item::Invalid),
        ]);
        let r = reading(&it).unwrap();
        assert_eq!(r.state.voltage, Millivolts(53_205));
        assert_eq!(r.state.charge_voltage_limit, Millivolts(55_200));
        assert_eq!(r.state.charge_current_limit, Milliamps(100_000));
        assert_eq!(r.state.discharge_current_limit, Milliamps(0));
        assert!(r.state.charge_enable && !r.state.discharge_enable);
        assert_eq!(r.state.soc, Permille(625));
        assert_eq!(r.state.current, Milliamps(-12_346));
        assert!(r.state.errors.contains(Flags::HIGH_VOLTAGE));
        assert!(r.state.forbids_charge());
        assert_eq!(r.alarms.get(VenusAlarm::LowSoc), 1);
        assert_eq!(r.installed_capacity, MilliampHours(280_000));
        assert_eq!(r.time_to_go_s, None);
        it.remove("/Info/MaxChargeVoltage");
        assert_eq!(
            reading(&it),
            Err(NoReading::Missing("/Info/MaxChargeVoltage"))
        );
        it.insert("/Info/MaxChargeVoltage".into(), Item::Float(f64::INFINITY));
        assert!(reading(&it).is_err());
        it.insert("/Info/MaxChargeVoltage".into(), Item::Float(55.2));
        it.insert("/Connected".into(), Item::Int(0));
        assert_eq!(reading(&it), Err(NoReading::Disconnected));
    }

    #[test]
    fn keyword_and_cell_ids() {
        let it = items(&[
            ("/ProductName", Item::Text("SerialBattery(Jkbms)".into())),
            ("/System/MinVoltageCellId", Item::Text("C7".into())),
            ("/System/MaxVoltageCellId", Item::Int(3)),
        ]);
        assert!(matches(&it, "serialbattery"));
        assert!(matches(&it, ""));
        assert!(!matches(&it, "pylontech"));
        assert_eq!(
            cell_id(
                "com.victronenergy.battery.ttyUSB0",
                &it,
                "/System/MinVoltageCellId"
            ),
            "SerialBattery(Jkbms):C7"
        );
        assert_eq!(
            cell_id(
                "com.victronenergy.battery.ttyUSB0",
                &it,
                "/System/MaxVoltageCellId"
            ),
            "SerialBattery(Jkbms):3"
        );
        assert_eq!(
            cell_id("com.victronenergy.battery.ttyUSB0", &Items::new(), "/x"),
            "ttyUSB0:?"
        );
    }
}

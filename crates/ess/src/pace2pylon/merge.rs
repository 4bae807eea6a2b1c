//! One battery from many packs.
//!
//! Rules (each pinned by a test below):
//! - voltage: the mean of the pack voltages (packs are in parallel), rounded toward zero;
//! - current: the sum (positive = charging);
//! - SOC: the coulomb meter's, or — by config — the packs' capacity-weighted SOC
//!   (Σ remaining / Σ full, so a small pack does not count as much as a big one);
//! - remaining and full capacity: sums; cycles: max and mean; SOH: min;
//! - cell and temperature extremes with the pack (index in the input) they come from; on a
//!   tie the first pack wins;
//! - charge voltage: the configured value (normal, or the rebalance value while a rebalance
//!   raises it), bounded by the lowest pack over-voltage setting (0xD5);
//! - discharge voltage: the highest pack under-voltage setting (0xD7), so no pack is taken
//!   below its own cut-off;
//! - charge/discharge current limits: the configured share (e.g. 800 ‰) of the summed pack
//!   over-current settings (0xD9/0xDB).

use super::{MeterInput, PackInput, share};
use voltwire_core::{DeciCelsius, MilliampHours, Milliamps, Millivolts, Permille};

/// Most packs merged (the pack bit masks are `u32`).
pub const MAX_PACKS: usize = 32;

/// Where the merged SOC comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocSource {
    /// The coulomb meter (a shunt sees every pack's current; BMS SOCs drift).
    Meter,
    /// The packs' capacity-weighted SOC.
    Bms,
}

/// Merge configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeConfig {
    /// SOC source.
    pub soc_source: SocSource,
    /// The charge voltage asked of the inverter in normal operation.
    pub charge_voltage: Millivolts,
    /// The charge voltage while a rebalance raises it.
    pub rebalance_charge_voltage: Millivolts,
    /// Share of the summed pack over-current settings offered as CCL/DCL, in ‰ (800 = 80 %).
    pub current_share_permille: u16,
}

/// A cell-voltage extreme and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellExtreme {
    /// The voltage.
    pub voltage: Millivolts,
    /// The pack (its index in the input).
    pub pack: u8,
    /// The cell in that pack (0-based).
    pub cell: u8,
}

/// A temperature extreme and the pack it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TempExtreme {
    /// The temperature.
    pub temperature: DeciCelsius,
    /// The pack (its index in the input).
    pub pack: u8,
}

/// The merged battery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merged {
    /// Number of packs merged.
    pub packs: u8,
    /// Mean pack voltage.
    pub voltage: Millivolts,
    /// Summed current, positive = charging.
    pub current: Milliamps,
    /// State of charge (from [`MergeConfig::soc_source`]).
    pub soc: Permille,
    /// Lowest state of health.
    pub soh: Permille,
    /// Summed remaining capacity.
    pub remaining: MilliampHours,
    /// Summed full capacity.
    pub full: MilliampHours,
    /// Most cycles of any pack.
    pub cycles_max: u16,
    /// Mean cycles.
    pub cycles_avg: u16,
    /// Lowest cell.
    pub cell_min: CellExtreme,
    /// Highest cell.
    pub cell_max: CellExtreme,
    /// Lowest temperature.
    pub temp_min: TempExtreme,
    /// Highest temperature.
    pub temp_max: TempExtreme,
    /// Charge voltage limit for the inverter.
    pub charge_voltage: Millivolts,
    /// Discharge voltage limit for the inverter.
    pub discharge_voltage: Millivolts,
    /// Charge current limit (share of the summed settings).
    pub charge_current_limit: Milliamps,
    /// Discharge current limit, a magnitude.
    pub discharge_current_limit: Milliamps,
    /// Σ pack charge over-current settings (the supervisor's over-current reference).
    pub charge_over_current_sum: Milliamps,
    /// Σ pack discharge over-current settings, a magnitude.
    pub discharge_over_current_sum: Milliamps,
    /// Bit `i` set: pack `i` is balancing.
    pub balancing: u32,
    /// Bit `i` set: pack `i` is locked after over-voltage ([`super::PackAlarms::locked`]).
    pub locked: u32,
}

fn sat(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX })
}

/// Fold pack `i` (id `id`) into the extremes, settings and masks of `m`.
fn fold(m: &mut Merged, i: usize, id: u8, r: &super::PackReading, s: &super::PackSettings) {
    m.cycles_max = m.cycles_max.max(r.cycles);
    m.soh = if r.soh < m.soh { r.soh } else { m.soh };
    if r.cell_min.0 < m.cell_min.voltage {
        m.cell_min = CellExtreme {
            voltage: r.cell_min.0,
            pack: id,
            cell: r.cell_min.1,
        };
    }
    if r.cell_max.0 > m.cell_max.voltage {
        m.cell_max = CellExtreme {
            voltage: r.cell_max.0,
            pack: id,
            cell: r.cell_max.1,
        };
    }
    if r.temp_min < m.temp_min.temperature {
        m.temp_min = TempExtreme {
            temperature: r.temp_min,
            pack: id,
        };
    }
    if r.temp_max > m.temp_max.temperature {
        m.temp_max = TempExtreme {
            temperature: r.temp_max,
            pack: id,
        };
    }
    m.charge_voltage = if s.over_voltage < m.charge_voltage {
        s.over_voltage
    } else {
        m.charge_voltage
    };
    m.discharge_voltage = if s.under_voltage > m.discharge_voltage {
        s.under_voltage
    } else {
        m.discharge_voltage
    };
    if r.alarms.contains(super::PackAlarms::BALANCING) {
        m.balancing |= 1 << i;
    }
    if r.alarms.locked() {
        m.locked |= 1 << i;
    }
}

/// Merge the packs. `raised` selects the rebalance charge voltage.
///
/// `None` when there is nothing to merge or something is missing: no pack, more than
/// [`MAX_PACKS`], a pack without a reading or without its settings, or the meter as SOC
/// source without a reading. (The [`super::Supervisor`] names which; a `None` merge is
/// never offered to the inverter.) A stale reading is still merged: staleness is the
/// supervisor's business.
pub fn merge(
    packs: &[PackInput],
    meter: Option<&MeterInput>,
    cfg: &MergeConfig,
    raised: bool,
) -> Option<Merged> {
    if packs.is_empty() || packs.len() > MAX_PACKS {
        return None;
    }
    let mut it = packs.iter().enumerate();
    let (_, first) = it.next()?;
    let (r0, _) = first.reading.as_ref()?;
    let s0 = first.settings?;
    let mut volt: i64 = 0;
    let mut cur: i64 = 0;
    let mut rem: i64 = 0;
    let mut full: i64 = 0;
    let mut soc_sum: i64 = 0;
    let mut cycles_sum: u64 = 0;
    let mut m = Merged {
        packs: 0,
        voltage: Millivolts(0),
        current: Milliamps(0),
        soc: Permille(0),
        soh: r0.soh,
        remaining: MilliampHours(0),
        full: MilliampHours(0),
        cycles_max: 0,
        cycles_avg: 0,
        cell_min: CellExtreme {
            voltage: r0.cell_min.0,
            pack: 0,
            cell: r0.cell_min.1,
        },
        cell_max: CellExtreme {
            voltage: r0.cell_max.0,
            pack: 0,
            cell: r0.cell_max.1,
        },
        temp_min: TempExtreme {
            temperature: r0.temp_min,
            pack: 0,
        },
        temp_max: TempExtreme {
            temperature: r0.temp_max,
            pack: 0,
        },
        charge_voltage: s0.over_voltage,
        discharge_voltage: s0.under_voltage,
        charge_current_limit: Milliamps(0),
        discharge_current_limit: Milliamps(0),
        charge_over_current_sum: Milliamps(0),
        discharge_over_current_sum: Milliamps(0),
        balancing: 0,
        locked: 0,
    };
    let mut chg: i64 = 0;
    let mut dis: i64 = 0;
    for (i, p) in packs.iter().enumerate() {
        let (r, _) = p.reading.as_ref()?;
        let s = p.settings?;
        let id = u8::try_from(i).ok()?;
        volt += i64::from(r.voltage.0);
        cur += i64::from(r.current.0);
        rem += r.remaining.0;
        full += r.full.0;
        soc_sum += i64::from(r.soc.0);
        cycles_sum += u64::from(r.cycles);
        fold(&mut m, i, id, r, &s);
        chg += i64::from(s.charge_over_current.0).abs();
        dis += i64::from(s.discharge_over_current.0).abs();
    }
    let n = i64::try_from(packs.len()).ok()?;
    m.packs = u8::try_from(n).ok()?;
    m.voltage = Millivolts(sat(volt / n));
    m.current = Milliamps(sat(cur));
    m.remaining = MilliampHours(rem);
    m.full = MilliampHours(full);
    m.cycles_avg = u16::try_from(cycles_sum / n.unsigned_abs()).unwrap_or(u16::MAX);
    m.soc = match cfg.soc_source {
        SocSource::Meter => meter?.soc,
        SocSource::Bms if full > 0 => {
            Permille(i16::try_from((rem.clamp(0, full) * 1000) / full).unwrap_or(1000))
        }
        SocSource::Bms => Permille(i16::try_from(soc_sum / n).unwrap_or(0)),
    };
    let configured = if raised {
        cfg.rebalance_charge_voltage
    } else {
        cfg.charge_voltage
    };
    if configured < m.charge_voltage {
        m.charge_voltage = configured;
    }
    m.charge_over_current_sum = Milliamps(sat(chg));
    m.discharge_over_current_sum = Milliamps(sat(dis));
    m.charge_current_limit = Milliamps(sat(share(chg, cfg.current_share_permille)));
    m.discharge_current_limit = Milliamps(sat(share(dis, cfg.current_share_permille)));
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{pack, reading, settings};
    use super::super::{PackAlarms, PackInput};
    use super::*;
    use crate::Millis;

    const CFG: MergeConfig = MergeConfig {
        soc_source: SocSource::Bms,
        charge_voltage: Millivolts(27_350),
        rebalance_charge_voltage: Millivolts(27_950),
        current_share_permille: 800,
    };

    fn three() -> [PackInput; 3] {
        let mut p = [pack(0), pack(0), pack(0)];
        let set = |p: &mut PackInput, f: &dyn Fn(&mut super::super::PackReading)| {
            if let Some((r, _)) = p.reading.as_mut() {
                f(r);
            }
        };
        set(&mut p[0], &|r| {
            r.voltage = Millivolts(26_000);
            r.current = Milliamps(10_000);
            r.cycles = 5;
            r.soh = Permille(990);
            r.remaining = MilliampHours(50_000);
        });
        set(&mut p[1], &|r| {
            r.voltage = Millivolts(26_001);
            r.current = Milliamps(-3_000);
            r.cycles = 20;
            r.soh = Permille(950);
            r.cell_min = (Millivolts(3_100), 3);
            r.temp_max = DeciCelsius(410);
            r.remaining = MilliampHours(100_000);
            r.full = MilliampHours(200_000);
            r.alarms = PackAlarms(PackAlarms::BALANCING);
        });
        set(&mut p[2], &|r| {
            r.voltage = Millivolts(26_003);
            r.current = Milliamps(1);
            r.cycles = 9;
            r.cell_max = (Millivolts(3_450), 5);
            r.temp_min = DeciCelsius(-55);
            r.alarms = PackAlarms(PackAlarms::FULLY_CHARGED);
        });
        p[1].settings = Some(PackSettings {
            over_voltage: Millivolts(27_900),
            under_voltage: Millivolts(23_000),
            charge_over_current: Milliamps(50_000),
            discharge_over_current: Milliamps(-60_000),
        });
        p
    }
    use super::super::PackSettings;

    #[test]
    fn every_rule_with_exact_numbers() {
        let m = merge(&three(), None, &CFG, false).expect("merged");
        assert_eq!(m.packs, 3);
        // (26000 + 26001 + 26003) / 3 = 26001.33 → 26001.
        assert_eq!(m.voltage, Millivolts(26_001));
        assert_eq!(m.current, Milliamps(7_001));
        // Σ remaining 50 + 100 + 80 = 230 Ah of Σ full 100 + 200 + 100 = 400 Ah → 575 ‰.
        assert_eq!(m.soc, Permille(575));
        assert_eq!(
            (m.remaining, m.full),
            (MilliampHours(230_000), MilliampHours(400_000))
        );
        assert_eq!((m.cycles_max, m.cycles_avg), (20, 11));
        assert_eq!(m.soh, Permille(950));
        assert_eq!(
            m.cell_min,
            CellExtreme {
                voltage: Millivolts(3_100),
                pack: 1,
                cell: 3
            }
        );
        assert_eq!(
            m.cell_max,
            CellExtreme {
                voltage: Millivolts(3_450),
                pack: 2,
                cell: 5
            }
        );
        assert_eq!(
            m.temp_min,
            TempExtreme {
                temperature: DeciCelsius(-55),
                pack: 2
            }
        );
        assert_eq!(
            m.temp_max,
            TempExtreme {
                temperature: DeciCelsius(410),
                pack: 1
            }
        );
        // Configured 27.35 V is below the lowest OV (27.9 V): it stands.
        assert_eq!(m.charge_voltage, Millivolts(27_350));
        // Highest UV setting: 23.0 V (pack 1), not 22.4 V.
        assert_eq!(m.discharge_voltage, Millivolts(23_000));
        // Σ charge OC 100 + 50 + 100 = 250 A → 80 % = 200 A; discharge 105 + |−60| + 105 =
        // 270 A → 216 A (a negative 0xDB read counts as its magnitude).
        assert_eq!(m.charge_over_current_sum, Milliamps(250_000));
        assert_eq!(m.charge_current_limit, Milliamps(200_000));
        assert_eq!(m.discharge_over_current_sum, Milliamps(270_000));
        assert_eq!(m.discharge_current_limit, Milliamps(216_000));
        assert_eq!((m.balancing, m.locked), (0b010, 0b100));
    }

    #[test]
    fn raised_charge_voltage_is_bounded_by_the_lowest_pack_ov() {
        let m = merge(&three(), None, &CFG, true).expect("merged");
        // 27.95 V asked, lowest pack OV 27.9 V.
        assert_eq!(m.charge_voltage, Millivolts(27_900));
        let m = merge(&[pack(0)], None, &CFG, true).expect("merged");
        assert_eq!(m.charge_voltage, Millivolts(27_950));
    }

    #[test]
    fn soc_from_the_meter_or_missing() {
        let cfg = MergeConfig {
            soc_source: SocSource::Meter,
            ..CFG
        };
        assert_eq!(merge(&three(), None, &cfg, false), None);
        let meter = MeterInput {
            soc: Permille(612),
            remaining: MilliampHours(1),
            capacity: MilliampHours(2),
            at: Millis(0),
        };
        assert_eq!(
            merge(&three(), Some(&meter), &cfg, false).map(|m| m.soc),
            Some(Permille(612))
        );
    }

    #[test]
    fn missing_pieces_merge_to_none() {
        assert_eq!(merge(&[], None, &CFG, false), None);
        let mut p = three();
        p[2].settings = None;
        assert_eq!(merge(&p, None, &CFG, false), None);
        let mut p = three();
        p[0].reading = None;
        assert_eq!(merge(&p, None, &CFG, false), None);
        let many: [PackInput; MAX_PACKS + 1] = core::array::from_fn(|_| pack(0));
        assert_eq!(merge(&many, None, &CFG, false), None);
        let max: [PackInput; MAX_PACKS] = core::array::from_fn(|_| pack(0));
        assert!(merge(&max, None, &CFG, false).is_some());
        let _ = (reading(), settings());
    }
}

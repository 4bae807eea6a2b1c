//! A plant model for closed-loop tests and demos: a house (load and PV, set by the caller),
//! devices that follow their set points with a first-order lag, and a battery whose voltage
//! follows its state of charge (a simplified LFP curve plus internal resistance). Integer
//! maths in exact units; time is injected as steps of `dt` milliseconds.

use voltwire_core::{Milliamps, Millivolts, Permille, Watts};

use crate::control::MAX_DEVICES;

/// The plant: house, up to [`MAX_DEVICES`] devices and one battery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plant {
    /// House consumption now.
    pub load: Watts,
    /// PV production now.
    pub pv: Watts,
    /// Each device's set point (positive = charging).
    pub setpoint: [Watts; MAX_DEVICES],
    /// Each device's output now (positive = charging), following its set point.
    pub delivered: [Watts; MAX_DEVICES],
    /// Each charger's constant-voltage limit, when it is low enough to matter (a trimmed
    /// Mean Well NPB): it then charges no more than the current that the difference to the
    /// open-circuit voltage drives through the internal resistance (its set point stays the
    /// cap). `None`: no such limit.
    pub cv: [Option<Millivolts>; MAX_DEVICES],
    /// The devices' response time constant.
    pub tau_ms: u64,
    /// Cells in series.
    pub cells: u8,
    /// Battery capacity in milliwatt-hours.
    pub capacity_mwh: i64,
    /// Stored energy in milliwatt-hours (0..=capacity).
    pub energy_mwh: i64,
    /// Internal resistance of the pack in milliohms.
    pub resistance_mohm: i32,
    /// Energy remainder below one mWh, in W·ms (so small steps do not round away).
    rest_wms: i64,
}

impl Plant {
    /// A plant with a battery of `cells` LFP cells, `capacity_wh` and `soc` (‰), every
    /// device off, no load, no PV, τ = 800 ms, 20 mΩ.
    pub fn new(cells: u8, capacity_wh: i64, soc: Permille) -> Self {
        let full = capacity_wh.saturating_mul(1000);
        Self {
            load: Watts(0),
            pv: Watts(0),
            setpoint: [Watts(0); MAX_DEVICES],
            delivered: [Watts(0); MAX_DEVICES],
            cv: [None; MAX_DEVICES],
            tau_ms: 800,
            cells,
            capacity_mwh: full,
            energy_mwh: full.saturating_mul(i64::from(soc.0.clamp(0, 1000))) / 1000,
            resistance_mohm: 20,
            rest_wms: 0,
        }
    }

    /// State of charge.
    pub fn soc(&self) -> Permille {
        if self.capacity_mwh <= 0 {
            return Permille(0);
        }
        let p = self.energy_mwh.saturating_mul(1000) / self.capacity_mwh;
        Permille(i16::try_from(p.clamp(0, 1000)).unwrap_or(0))
    }

    /// Open-circuit cell voltage: 2.90 → 3.20 V over 0–10 %, 3.20 → 3.35 V over 10–90 %,
    /// 3.35 → 3.50 V over 90–100 %.
    pub fn cell_ocv(&self) -> Millivolts {
        let s = i32::from(self.soc().0);
        Millivolts(if s < 100 {
            2900 + s * 3
        } else if s <= 900 {
            3200 + (s - 100) * 150 / 800
        } else {
            3350 + (s - 900) * 150 / 100
        })
    }

    /// The power a charger held at `cv` delivers: (cv − open-circuit voltage) / internal
    /// resistance × cv, 0 at or below the open-circuit voltage.
    pub fn cv_power(&self, cv: Millivolts) -> Watts {
        let ocv = i64::from(self.cell_ocv().0) * i64::from(self.cells);
        let ma = (i64::from(cv.0) - ocv).max(0) * 1000 / i64::from(self.resistance_mohm.max(1));
        Watts(i32::try_from(ma * i64::from(cv.0) / 1_000_000).unwrap_or(i32::MAX))
    }

    /// Battery power now (positive = charging): the sum of the devices' outputs.
    pub fn battery_power(&self) -> Watts {
        Watts(self.delivered.iter().map(|w| w.0).sum())
    }

    /// Pack voltage: open-circuit plus the drop over the internal resistance.
    pub fn voltage(&self) -> Millivolts {
        let ocv = i64::from(self.cell_ocv().0) * i64::from(self.cells);
        let i = self.current_at(ocv);
        let v = ocv + i64::from(i.0) * i64::from(self.resistance_mohm) / 1000;
        Millivolts(i32::try_from(v).unwrap_or(0))
    }

    fn current_at(&self, mv: i64) -> Milliamps {
        if mv <= 0 {
            return Milliamps(0);
        }
        let ma = i64::from(self.battery_power().0) * 1_000_000 / mv;
        Milliamps(i32::try_from(ma).unwrap_or(0))
    }

    /// Battery current now (positive = charging).
    pub fn current(&self) -> Milliamps {
        self.current_at(i64::from(self.voltage().0))
    }

    /// Grid power now (positive = import): load − PV + battery power.
    pub fn grid(&self) -> Watts {
        Watts(self.load.0 - self.pv.0 + self.battery_power().0)
    }

    /// Advances by `dt_ms`: each device moves toward its set point (first-order lag; a full
    /// battery takes no charge and an empty one gives none), then the battery integrates.
    pub fn advance(&mut self, dt_ms: u64) {
        let dt = i64::try_from(dt_ms).unwrap_or(i64::MAX);
        let tau = i64::try_from(self.tau_ms).unwrap_or(i64::MAX).max(1);
        let full = self.energy_mwh >= self.capacity_mwh;
        let empty = self.energy_mwh <= 0;
        let cv_power: [Option<Watts>; MAX_DEVICES] = self.cv.map(|cv| cv.map(|v| self.cv_power(v)));
        for ((out, set), cv) in self.delivered.iter_mut().zip(&self.setpoint).zip(cv_power) {
            let target = if (full && set.0 > 0) || (empty && set.0 < 0) {
                0
            } else if let (Some(cv), true) = (cv, set.0 > 0) {
                i64::from(set.0.min(cv.0))
            } else {
                i64::from(set.0)
            };
            let now = i64::from(out.0);
            let step = (target - now) * dt.min(tau) / tau;
            let next = if step == 0 { target } else { now + step };
            *out = Watts(i32::try_from(next).unwrap_or(0));
        }
        let wms = i64::from(self.battery_power().0) * dt + self.rest_wms;
        self.energy_mwh = (self.energy_mwh + wms / 3600).clamp(0, self.capacity_mwh);
        self.rest_wms = wms % 3600;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_follow_with_a_lag_and_the_battery_integrates() {
        let mut p = Plant::new(16, 10_000, Permille(500));
        assert_eq!(p.soc(), Permille(500));
        assert_eq!(p.cell_ocv(), Millivolts(3275));
        p.load = Watts(1000);
        p.setpoint[0] = Watts(-1000);
        assert_eq!(p.grid(), Watts(1000));
        p.advance(400);
        assert_eq!(p.delivered[0], Watts(-500));
        assert_eq!(p.grid(), Watts(500));
        for _ in 0..100 {
            p.advance(100);
        }
        assert_eq!(p.delivered[0], Watts(-1000));
        assert_eq!(p.grid(), Watts(0));
        // An hour at 1000 W out of 10 kWh: 10 % less.
        let before = p.energy_mwh;
        for _ in 0..36_000 {
            p.advance(100);
        }
        assert_eq!(before - p.energy_mwh, 1_000_000);
        assert!(
            p.voltage().0 < 16 * 3275,
            "a discharge current lowers the voltage"
        );
        assert!(p.current().0 < -19_000);
    }

    #[test]
    fn a_charger_at_a_low_cv_delivers_what_the_voltage_difference_drives() {
        let mut p = Plant::new(16, 10_000, Permille(500));
        // Open circuit 16 × 3.275 = 52.400 V, 20 mΩ.
        assert_eq!(p.cv_power(Millivolts(52_400)), Watts(0));
        assert_eq!(p.cv_power(Millivolts(52_300)), Watts(0));
        // 10 mV / 20 mΩ = 0.5 A at 52.41 V.
        assert_eq!(p.cv_power(Millivolts(52_410)), Watts(26));
        p.setpoint[0] = Watts(190);
        p.cv[0] = Some(Millivolts(52_420));
        for _ in 0..50 {
            p.advance(100);
        }
        assert_eq!(p.delivered[0], Watts(52));
        // The set point still caps it.
        p.setpoint[0] = Watts(30);
        for _ in 0..50 {
            p.advance(100);
        }
        assert_eq!(p.delivered[0], Watts(30));
    }
}

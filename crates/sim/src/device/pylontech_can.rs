//! A Pylontech-protocol BMS on CAN (500 kbit/s, 11-bit ids).

use core::time::Duration;

use voltwire_core::{DeciCelsius, Milliamps, Millivolts, Permille};
use voltwire_pylontech::can::{
    Alarms, CanMessage, ChargeLimits, InverterRequest, Manufacturer, Measurements, Payload,
    Protection, Request, RequestFlags, SocSoh, Warning,
};

use super::{ma, mv};
use crate::faults::Garbage;
use crate::{BmsView, CanFrame, CanResponder, Every, Faults, Plant};

/// Charge voltage limit per cell, mV.
const CELL_CHARGE_LIMIT: i32 = 3_550;
/// Discharge voltage limit per cell, mV.
const CELL_DISCHARGE_LIMIT: i32 = 3_000;

/// The BMS of the whole plant (every pack one module; [`PylontechCanBms::with_packs`] for
/// some of them) speaking the Pylontech CAN protocol:
/// the burst 0x359, 0x351, 0x355, 0x356, 0x35C, 0x35E every second of sim time, and the
/// same burst at once in answer to an inverter's 0x305.
///
/// Faults: `garbage` sends each frame of the burst with 5 bytes of noise (a length none of
/// 0x351, 0x355, 0x356 and 0x359 has, so they fail to parse; 0x35C and the free-text 0x35E carry the
/// noise); `bad_checksum` does nothing (CAN's CRC lives in the controller).
#[derive(Debug)]
pub struct PylontechCanBms {
    faults: Faults,
    garbage: Garbage,
    every: Every,
    /// The plant packs it reports (`first`, `count`); `None`: all.
    packs: Option<(usize, usize)>,
}

impl Default for PylontechCanBms {
    fn default() -> Self {
        Self::new()
    }
}

impl PylontechCanBms {
    /// A BMS with the burst due at once.
    pub fn new() -> Self {
        Self {
            faults: Faults::default(),
            garbage: Garbage::default(),
            every: Every::new(Duration::from_secs(1)),
            packs: None,
        }
    }

    /// Report plant packs `first..first + count` only (e.g. one BMS per pack, each on its
    /// own bus).
    #[must_use]
    pub fn with_packs(mut self, first: usize, count: usize) -> Self {
        self.packs = Some((first, count));
        self
    }

    fn burst(&mut self, plant: &Plant, out: &mut Vec<CanFrame>) {
        if self.faults.silent {
            return;
        }
        let (first, count) = self.packs.unwrap_or((0, plant.packs().len()));
        let views: Vec<BmsView> = (first..first.saturating_add(count))
            .filter_map(|i| BmsView::of(plant, i, &self.faults))
            .collect();
        let Some(first) = views.first() else {
            return;
        };
        let n = i32::try_from(views.len()).unwrap_or(1).max(1);
        let cells = i32::try_from(first.cells.len()).unwrap_or(0);
        let may_charge = views.iter().all(BmsView::may_charge);
        let may_discharge = views.iter().all(BmsView::may_discharge);
        let half_c: i64 = views.iter().map(|v| v.capacity.0 / 2).sum();
        let half_c = Milliamps(i32::try_from(half_c).unwrap_or(i32::MAX));

        let mut bits = 0u16;
        if views.iter().any(BmsView::cell_over_voltage) {
            bits |= Protection::OVER_VOLTAGE;
        }
        if views.iter().any(BmsView::cell_under_voltage) {
            bits |= Protection::UNDER_VOLTAGE;
        }
        if views.iter().any(BmsView::over_temperature) {
            bits |= Protection::OVER_TEMPERATURE;
        }
        let alarms = Alarms {
            protection: Protection(bits),
            warning: Warning(bits),
            module_count: u8::try_from(views.len()).unwrap_or(u8::MAX),
            tag: *b"PN",
            reserved: Some(0),
        };
        let limits = ChargeLimits {
            charge_voltage: Millivolts(cells * CELL_CHARGE_LIMIT),
            charge_current: if may_charge {
                ma(half_c, 100)
            } else {
                Milliamps(0)
            },
            discharge_current: if may_discharge {
                ma(half_c, 100)
            } else {
                Milliamps(0)
            },
            discharge_voltage: Some(Millivolts(cells * CELL_DISCHARGE_LIMIT)),
        };
        let soc: i32 = views.iter().map(|v| i32::from(v.soc.0)).sum::<i32>() / n;
        let soc = Permille(i16::try_from(soc).unwrap_or(0)).round_to(
            voltwire_core::Scale::new(10, 0),
            voltwire_core::Rounding::Nearest,
        );
        let soc_soh = SocSoh {
            soc,
            soh: Permille(1000),
            soc_high_res: None,
            reserved: None,
        };
        let mean_t: i32 = views
            .iter()
            .map(|v| i32::from(v.mean_temperature().0))
            .sum::<i32>()
            / n;
        let measurements = Measurements {
            voltage: mv(
                Millivolts(views.iter().map(|v| v.voltage.0).sum::<i32>() / n),
                10,
            ),
            current: ma(Milliamps(views.iter().map(|v| v.current.0).sum()), 100),
            temperature: DeciCelsius(i16::try_from(mean_t).unwrap_or(250)),
            extra: None,
        };
        let mut flags = 0u8;
        if may_charge {
            flags |= RequestFlags::CHARGE_ENABLE;
        }
        if may_discharge {
            flags |= RequestFlags::DISCHARGE_ENABLE;
        }
        let request = Request::new(RequestFlags(flags));
        let name = Manufacturer(Payload::new(b"PYLON\0\0\0").unwrap_or_default());

        let frames = [
            alarms.to_frame::<CanFrame>(),
            limits.to_frame(),
            soc_soh.to_frame(),
            measurements.to_frame(),
            request.to_frame(),
            name.to_frame(),
        ];
        for f in frames.into_iter().flatten() {
            if self.faults.garbage {
                let mut noise = Vec::new();
                self.garbage.fill(5, &mut noise);
                if let Some(g) = CanFrame::data_frame(f.id(), false, &noise) {
                    out.push(g);
                }
            } else {
                out.push(f);
            }
        }
    }
}

impl CanResponder for PylontechCanBms {
    fn on_frame(
        &mut self,
        frame: &CanFrame,
        _now: Duration,
        plant: &Plant,
        out: &mut Vec<CanFrame>,
    ) {
        if InverterRequest::from_frame(frame).is_ok() {
            self.burst(plant, out);
        }
    }

    fn tick(&mut self, now: Duration, plant: &Plant, out: &mut Vec<CanFrame>) {
        if self.every.due(now) {
            self.burst(plant, out);
        }
    }

    fn faults(&self) -> &Faults {
        &self.faults
    }

    fn faults_mut(&mut self) -> &mut Faults {
        &mut self.faults
    }
}

//! The inverter side: a Pylontech RS485 slave answering from the latest [`Snapshot`].
//!
//! [`answer`] is pure (request + snapshot → frame). While the battery is not ready (nothing
//! merged) or a direction is disabled the answers say so: the enables are off and that
//! direction's current limit is 0. With `silence` nothing is answered while not ready.
//! The 0x42/0x44 modules carry two cells (the lowest and highest of the module) and two
//! temperatures (lowest, highest): the packs' extremes, not every cell.

use heapless::Vec as HVec;
use voltwire_asciihex::Frame;
use voltwire_asciihex::block::{Analog, Reply, Status, state};
use voltwire_core::{DeciCelsius, DeciKelvin, MilliampHours, Milliamps, Millivolts};
use voltwire_ess::pace2pylon::{Merged, PackInput};
use voltwire_pylontech::rs485::{
    CID1_BATTERY, CURRENT_STEP_MA, ChargeManagement, DischargeSign, ManagementStatus,
    ManufacturerInfo, ModuleAlarm, ModuleAnalog, Request, RequestBody, Response, ResponseBody,
    SYSTEM_CURRENT_STEP_MA, SerialNumber, SystemAlarm, SystemAnalog, SystemInfo, SystemParameters,
    Target, VER, ZERO_CELSIUS,
};

use crate::config::PresentAs;
use crate::engine::Snapshot;

/// How the slave answers.
#[derive(Debug, Clone, Copy)]
pub struct SlaveConfig {
    /// The (first) address.
    pub address: u8,
    /// One module or one per pack.
    pub present_as: PresentAs,
    /// Answer nothing while not ready.
    pub silence: bool,
}

fn kelvin(t: DeciCelsius) -> DeciKelvin {
    DeciKelvin(i32::from(t.0) + ZERO_CELSIUS)
}

/// `ma` as the wire carries it in `step_ma` steps of an `i16`: a measurement to the nearest
/// step (`nearest`), a limit toward zero (never more than allowed), either clamped to the
/// field's range. Pace packs report 10 mA steps and the merge sums and scales them, while
/// 0x42/0x47/0x92/0x63 carry 100 mA: a value off the step must still be answered (the
/// encoder refuses it rather than round, which would leave the inverter without a reply).
fn on_wire(ma: Milliamps, step_ma: i16, nearest: bool) -> Milliamps {
    let step = i32::from(step_ma).max(1);
    let half = if nearest { step / 2 } else { 0 };
    let steps = if ma.0 >= 0 {
        ma.0.saturating_add(half) / step
    } else {
        ma.0.saturating_sub(half) / step
    };
    let steps = steps.clamp(i32::from(i16::MIN) + 1, i32::from(i16::MAX));
    Milliamps(steps.saturating_mul(step))
}

/// The limits the inverter is given: the merged ones, a disabled direction at 0 A.
pub fn management(snap: &Snapshot) -> ChargeManagement {
    let d = &snap.decision;
    let mut status = ManagementStatus(0);
    let (cvl, dvl, ccl, dcl) = match &snap.merged {
        Some(m) => (
            m.charge_voltage,
            m.discharge_voltage,
            on_wire(m.charge_current_limit, CURRENT_STEP_MA, false),
            on_wire(m.discharge_current_limit, CURRENT_STEP_MA, false),
        ),
        None => (Millivolts(0), Millivolts(0), Milliamps(0), Milliamps(0)),
    };
    let ready = snap.merged.is_some();
    if ready && d.charge {
        status.0 |= ManagementStatus::CHARGE_ENABLE;
    }
    if ready && d.discharge {
        status.0 |= ManagementStatus::DISCHARGE_ENABLE;
    }
    ChargeManagement::new(
        cvl,
        dvl,
        if ready && d.charge { ccl } else { Milliamps(0) },
        if ready && d.discharge {
            dcl
        } else {
            Milliamps(0)
        },
        DischargeSign::Negative,
        status,
    )
}

/// A module's view: (voltage, current, remaining, full, cycles, cell min/max, temp min/max).
struct ModuleView {
    voltage: Millivolts,
    current: Milliamps,
    remaining: MilliampHours,
    full: MilliampHours,
    cycles: u16,
    cells: [Millivolts; 2],
    temps: [DeciCelsius; 2],
}

fn merged_view(m: &Merged) -> ModuleView {
    ModuleView {
        voltage: m.voltage,
        current: m.current,
        remaining: m.remaining,
        full: m.full,
        cycles: m.cycles_max,
        cells: [m.cell_min.voltage, m.cell_max.voltage],
        temps: [m.temp_min.temperature, m.temp_max.temperature],
    }
}

fn pack_view(p: &PackInput) -> Option<ModuleView> {
    let (r, _) = p.reading.as_ref()?;
    Some(ModuleView {
        voltage: r.voltage,
        current: r.current,
        remaining: r.remaining,
        full: r.full,
        cycles: r.cycles,
        cells: [r.cell_min.0, r.cell_max.0],
        temps: [r.temp_min, r.temp_max],
    })
}

fn analog(v: &ModuleView) -> ModuleAnalog {
    let big = v.full.0 > 65_000;
    Analog {
        cells: v.cells.iter().copied().collect(),
        temperatures: v.temps.iter().map(|t| kelvin(*t)).collect(),
        current: on_wire(v.current, CURRENT_STEP_MA, true),
        voltage: v.voltage,
        remaining_capacity: if big {
            MilliampHours(0xFFFF)
        } else {
            v.remaining
        },
        user_defined: if big { 4 } else { 2 },
        full_capacity: if big { MilliampHours(0xFFFF) } else { v.full },
        cycles: v.cycles,
        extension: big.then_some((v.remaining, v.full)),
    }
}

fn alarm(snap: &Snapshot) -> ModuleAlarm {
    let d = &snap.decision;
    let mut s2 = 0u8;
    if snap.merged.is_some() && d.charge {
        s2 |= 0x02;
    }
    if snap.merged.is_some() && d.discharge {
        s2 |= 0x04;
    }
    Status {
        cells: [state::NORMAL; 2].into_iter().collect(),
        temperatures: [state::NORMAL; 2].into_iter().collect(),
        charge_current: state::NORMAL,
        voltage: state::NORMAL,
        discharge_current: state::NORMAL,
        state: [0, s2, 0, 0, 0],
    }
}

fn serial(adr: u8) -> [u8; 16] {
    let mut s = *b"PACE2PYLON000000";
    if let Some(last) = s.last_mut() {
        *last = b'0' + adr % 10;
    }
    if let Some(d) = s.get_mut(14) {
        *d = b'0' + adr / 10 % 10;
    }
    s
}

fn permille_pct(p: i16) -> u8 {
    u8::try_from((i32::from(p) + 5) / 10).unwrap_or(0)
}

fn system_analog(m: &Merged) -> SystemAnalog {
    let id = |pack: u8, item: u8| u16::from(pack) << 8 | u16::from(item);
    let mean = DeciCelsius(
        i16::try_from(
            (i32::from(m.temp_min.temperature.0) + i32::from(m.temp_max.temperature.0)) / 2,
        )
        .unwrap_or(250),
    );
    SystemAnalog {
        voltage: m.voltage,
        current: on_wire(m.current, SYSTEM_CURRENT_STEP_MA, true),
        soc_percent: permille_pct(m.soc.0),
        average_cycles: m.cycles_avg,
        max_cycles: m.cycles_max,
        average_soh_percent: permille_pct(m.soh.0),
        min_soh_percent: permille_pct(m.soh.0),
        max_cell_voltage: m.cell_max.voltage,
        max_cell_voltage_id: id(m.cell_max.pack, m.cell_max.cell),
        min_cell_voltage: m.cell_min.voltage,
        min_cell_voltage_id: id(m.cell_min.pack, m.cell_min.cell),
        average_cell_temperature: kelvin(mean),
        max_cell_temperature: kelvin(m.temp_max.temperature),
        max_cell_temperature_id: id(m.temp_max.pack, 0),
        min_cell_temperature: kelvin(m.temp_min.temperature),
        min_cell_temperature_id: id(m.temp_min.pack, 0),
        average_mosfet_temperature: kelvin(mean),
        max_mosfet_temperature: kelvin(m.temp_max.temperature),
        max_mosfet_temperature_id: id(m.temp_max.pack, 0),
        min_mosfet_temperature: kelvin(m.temp_min.temperature),
        min_mosfet_temperature_id: id(m.temp_min.pack, 0),
        average_bms_temperature: kelvin(mean),
        max_bms_temperature: kelvin(m.temp_max.temperature),
        max_bms_temperature_id: id(m.temp_max.pack, 0),
        min_bms_temperature: kelvin(m.temp_min.temperature),
        min_bms_temperature_id: id(m.temp_min.pack, 0),
    }
}

fn system_parameters(snap: &Snapshot) -> SystemParameters {
    let mg = management(snap);
    SystemParameters {
        info_flag: 0x11,
        cell_high_voltage: Millivolts(3_650),
        cell_low_voltage: Millivolts(3_050),
        cell_under_voltage: Millivolts(2_800),
        charge_high_temperature: kelvin(DeciCelsius(500)),
        charge_low_temperature: kelvin(DeciCelsius(0)),
        charge_current_limit: mg.charge_current_limit,
        module_high_voltage: mg.charge_voltage_limit,
        module_low_voltage: mg.discharge_voltage_limit,
        module_under_voltage: mg.discharge_voltage_limit,
        discharge_high_temperature: kelvin(DeciCelsius(550)),
        discharge_low_temperature: kelvin(DeciCelsius(-100)),
        discharge_current_limit: mg.discharge_current_limit,
    }
}

/// The modules the inverter sees: 1, or one per pack.
fn module_count(snap: &Snapshot, cfg: SlaveConfig) -> usize {
    match cfg.present_as {
        PresentAs::OneModule => 1,
        PresentAs::ModulePerPack => snap
            .packs
            .len()
            .clamp(1, voltwire_pylontech::rs485::MAX_MODULES),
    }
}

/// The answer to `req`, or `None` (not our address, or silent while not ready).
#[allow(clippy::too_many_lines, reason = "one arm per command")]
pub fn answer(req: &Request, snap: &Snapshot, cfg: &SlaveConfig) -> Option<Frame> {
    let adr = req.adr;
    let n = module_count(snap, *cfg);
    // 0x4F carries no battery data: answered at ADR 0 as well (python-pylontech asks there).
    if adr == 0
        && matches!(req.body, RequestBody::ProtocolVersion)
        && (!cfg.silence || snap.ready())
    {
        return Response::ok(adr, ResponseBody::ProtocolVersion)
            .to_frame()
            .ok();
    }
    let own = usize::from(adr)
        .checked_sub(usize::from(cfg.address))
        .filter(|i| *i < n)?;
    if cfg.silence && !snap.ready() {
        return None;
    }
    let master = own == 0;
    let view = |i: usize| -> Option<ModuleView> {
        match cfg.present_as {
            PresentAs::OneModule => snap.merged.as_ref().map(merged_view),
            PresentAs::ModulePerPack => snap.packs.get(i).and_then(pack_view),
        }
    };
    let which = |t: &Target| -> Option<(u8, Vec<usize>)> {
        match t.module() {
            Some(m) => {
                let i = usize::from(m)
                    .checked_sub(usize::from(cfg.address))
                    .filter(|i| *i < n)?;
                Some((m, vec![i]))
            }
            None if master => Some((u8::try_from(n).unwrap_or(1), (0..n).collect())),
            None => None,
        }
    };
    let refuse = || {
        Frame::new(
            VER,
            adr,
            CID1_BATTERY,
            voltwire_asciihex::Rtn::InvalidCid2.code(),
            &[],
        )
        .ok()
    };
    let body = match &req.body {
        RequestBody::ProtocolVersion => ResponseBody::ProtocolVersion,
        RequestBody::Manufacturer => ResponseBody::Manufacturer(
            ManufacturerInfo::new("PACE2PYLON", [0x01, 0x00], "VOLTWIRE").ok()?,
        ),
        RequestBody::Analog(t) => {
            let (command, list) = which(t)?;
            let mut modules = HVec::new();
            for i in list {
                let Some(v) = view(i) else { return refuse() };
                modules.push(analog(&v)).ok()?;
            }
            ResponseBody::Analog(Reply {
                info_flag: 0x11,
                command,
                modules,
                trailing: HVec::new(),
            })
        }
        RequestBody::Alarm(t) => {
            let (command, list) = which(t)?;
            let mut modules = HVec::new();
            for _ in list {
                modules.push(alarm(snap)).ok()?;
            }
            ResponseBody::Alarm(Reply {
                info_flag: 0,
                command,
                modules,
                trailing: HVec::new(),
            })
        }
        RequestBody::SystemParameters(_) => ResponseBody::SystemParameters(system_parameters(snap)),
        RequestBody::SystemInfo if master => {
            let mut serials = HVec::new();
            for i in 0..n {
                serials
                    .push(serial(
                        cfg.address.saturating_add(u8::try_from(i).unwrap_or(0)),
                    ))
                    .ok()?;
            }
            ResponseBody::SystemInfo(SystemInfo {
                device_name: *b"PACE2PYLON",
                manufacturer: *b"VOLTWIRE\0\0\0\0\0\0\0\0\0\0\0\0",
                software_version: [0x01, 0x00],
                module_count: u8::try_from(n).unwrap_or(1),
                serials,
            })
        }
        RequestBody::SystemAnalog if master => match &snap.merged {
            Some(m) => ResponseBody::SystemAnalog(system_analog(m)),
            None => return refuse(),
        },
        RequestBody::SystemAlarm if master => {
            let mut a = SystemAlarm::default();
            if snap.merged.is_none() || snap.decision.reasons.0 != 0 {
                // b3 "other" protection: something blocks a direction or nothing is known.
                a.protection_2 = 0x08;
            }
            ResponseBody::SystemAlarm(a)
        }
        RequestBody::SystemManagement if master => ResponseBody::SystemManagement(management(snap)),
        RequestBody::Management(a)
            if usize::from(*a)
                .checked_sub(usize::from(cfg.address))
                .is_some_and(|i| i < n) =>
        {
            ResponseBody::Management {
                command: *a,
                management: management(snap),
            }
        }
        RequestBody::Serial(a) => {
            let m = a.unwrap_or(adr);
            usize::from(m)
                .checked_sub(usize::from(cfg.address))
                .filter(|i| *i < n)?;
            ResponseBody::Serial(SerialNumber {
                command: m,
                serial: serial(m),
            })
        }
        _ => return refuse(),
    };
    Response::ok(adr, body).to_frame().ok()
}

#[cfg(test)]
#[allow(clippy::trivially_copy_pass_by_ref, reason = "mirrors answer()")]
mod tests {
    use super::*;
    use voltwire_core::Permille;
    use voltwire_ess::Millis;
    use voltwire_ess::pace2pylon::{
        Decision, MergeConfig, PackAlarms, PackReading, PackSettings, Reasons, SocSource, merge,
    };

    fn pack(v: i32) -> PackInput {
        PackInput {
            reading: Some((
                PackReading {
                    voltage: Millivolts(v),
                    current: Milliamps(-2_000),
                    soc: Permille(600),
                    soh: Permille(990),
                    remaining: MilliampHours(60_000),
                    full: MilliampHours(100_000),
                    cycles: 7,
                    cell_min: (Millivolts(3_300), 1),
                    cell_max: (Millivolts(3_320), 4),
                    temp_min: DeciCelsius(180),
                    temp_max: DeciCelsius(260),
                    alarms: PackAlarms(0),
                },
                Millis(0),
            )),
            settings: Some(PackSettings {
                over_voltage: Millivolts(28_800),
                under_voltage: Millivolts(22_400),
                charge_over_current: Milliamps(100_000),
                discharge_over_current: Milliamps(105_000),
            }),
        }
    }

    fn snap(charge: bool, discharge: bool) -> Snapshot {
        let packs = vec![pack(26_400), pack(26_600)];
        let cfg = MergeConfig {
            soc_source: SocSource::Bms,
            charge_voltage: Millivolts(27_350),
            rebalance_charge_voltage: Millivolts(27_950),
            current_share_permille: 800,
        };
        Snapshot {
            merged: merge(&packs, None, &cfg, false),
            decision: Decision {
                charge,
                discharge,
                reasons: Reasons(if charge && discharge {
                    0
                } else {
                    Reasons::MANUAL_DISABLE
                }),
                no_comm_packs: 0,
                rebalance_requested: false,
            },
            step: voltwire_ess::pace2pylon::RebalanceStep::Idle,
            packs,
            step_log: Vec::new(),
            meter: None,
            grid_charge: false,
            polls: Vec::new(),
        }
    }

    const ONE: SlaveConfig = SlaveConfig {
        address: 2,
        present_as: PresentAs::OneModule,
        silence: false,
    };

    fn ask(body: RequestBody, adr: u8, s: &Snapshot, cfg: &SlaveConfig) -> Option<ResponseBody> {
        let req = Request::new(adr, body);
        let f = answer(&req, s, cfg)?;
        let r = Response::from_frame(&f, req.command());
        assert!(r.answers(&req), "{r:?}");
        Some(r.body)
    }

    fn limits(s: &Snapshot, cfg: &SlaveConfig) -> ChargeManagement {
        match ask(RequestBody::SystemManagement, 2, s, cfg) {
            Some(ResponseBody::SystemManagement(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn management_carries_the_merge_and_the_enables() {
        let m = limits(&snap(true, true), &ONE);
        assert_eq!(m.charge_voltage_limit, Millivolts(27_350));
        assert_eq!(m.discharge_voltage_limit, Millivolts(22_400));
        // 2 × 100 A × 80 %, 2 × 105 A × 80 % (sent negative).
        assert_eq!(m.charge_current_limit, Milliamps(160_000));
        assert_eq!(m.discharge_current_limit, Milliamps(-168_000));
        assert_eq!(
            m.status.0,
            ManagementStatus::CHARGE_ENABLE | ManagementStatus::DISCHARGE_ENABLE
        );
    }

    #[test]
    fn a_disabled_direction_has_no_enable_and_no_current() {
        let m = limits(&snap(false, true), &ONE);
        assert_eq!(
            (m.charge_current_limit, m.discharge_current_limit),
            (Milliamps(0), Milliamps(-168_000))
        );
        assert_eq!(m.status.0, ManagementStatus::DISCHARGE_ENABLE);
        let m = limits(&snap(false, false), &ONE);
        assert_eq!(
            (
                m.charge_current_limit.0,
                m.discharge_current_limit.0,
                m.status.0
            ),
            (0, 0, 0)
        );
        // 0x92 says the same.
        let Some(ResponseBody::Management {
            command: 2,
            management,
        }) = ask(RequestBody::Management(2), 2, &snap(false, false), &ONE)
        else {
            panic!("no 0x92");
        };
        assert_eq!(management.status.0, 0);
    }

    #[test]
    fn not_ready_answers_zero_or_nothing_with_silence() {
        let mut s = snap(true, true);
        s.merged = None;
        let m = limits(&s, &ONE);
        assert_eq!(
            (
                m.charge_current_limit.0,
                m.discharge_current_limit.0,
                m.status.0
            ),
            (0, 0, 0)
        );
        let silent = SlaveConfig {
            silence: true,
            ..ONE
        };
        assert!(ask(RequestBody::SystemManagement, 2, &s, &silent).is_none());
        assert!(ask(RequestBody::ProtocolVersion, 2, &s, &silent).is_none());
        assert!(ask(RequestBody::SystemManagement, 2, &snap(true, true), &silent).is_some());
        // Disabled both ways is "not ready" for silence too.
        assert!(
            ask(
                RequestBody::SystemManagement,
                2,
                &snap(false, false),
                &silent
            )
            .is_none()
        );
    }

    #[test]
    fn system_analog_and_other_addresses() {
        let Some(ResponseBody::SystemAnalog(a)) =
            ask(RequestBody::SystemAnalog, 2, &snap(true, true), &ONE)
        else {
            panic!("no 0x61");
        };
        assert_eq!(a.voltage, Millivolts(26_500));
        assert_eq!(a.current, Milliamps(-4_000));
        assert_eq!(a.soc_percent, 60);
        assert_eq!(a.min_cell_voltage, Millivolts(3_300));
        assert_eq!(a.min_cell_voltage_id, 0x0001);
        assert!(ask(RequestBody::SystemAnalog, 3, &snap(true, true), &ONE).is_none());
        assert!(ask(RequestBody::ProtocolVersion, 0, &snap(true, true), &ONE).is_some());
        assert!(ask(RequestBody::SystemAnalog, 0, &snap(true, true), &ONE).is_none());
        for body in [
            RequestBody::ProtocolVersion,
            RequestBody::Manufacturer,
            RequestBody::SystemInfo,
            RequestBody::SystemAlarm,
            RequestBody::SystemParameters(None),
            RequestBody::Serial(None),
        ] {
            assert!(
                ask(body.clone(), 2, &snap(true, true), &ONE).is_some(),
                "{body:?}"
            );
        }
    }

    #[test]
    fn one_module_or_one_per_pack() {
        let s = snap(true, true);
        let Some(ResponseBody::Analog(r)) = ask(RequestBody::Analog(Target::All), 2, &s, &ONE)
        else {
            panic!()
        };
        assert_eq!(r.modules.len(), 1);
        assert_eq!(
            r.modules.first().map(|m| m.voltage),
            Some(Millivolts(26_500))
        );
        let per = SlaveConfig {
            present_as: PresentAs::ModulePerPack,
            ..ONE
        };
        let Some(ResponseBody::Analog(r)) = ask(RequestBody::Analog(Target::All), 2, &s, &per)
        else {
            panic!()
        };
        assert_eq!(r.command, 2);
        let volts: Vec<_> = r.modules.iter().map(|m| m.voltage.0).collect();
        assert_eq!(volts, [26_400, 26_600]);
        let Some(ResponseBody::Analog(r)) =
            ask(RequestBody::Analog(Target::Module(3)), 3, &s, &per)
        else {
            panic!()
        };
        assert_eq!(
            r.modules.first().map(|m| m.voltage),
            Some(Millivolts(26_600))
        );
        assert!(ask(RequestBody::Analog(Target::Module(4)), 4, &s, &per).is_none());
        let Some(ResponseBody::Alarm(a)) =
            ask(RequestBody::Alarm(Target::All), 2, &snap(false, true), &per)
        else {
            panic!()
        };
        assert_eq!(a.modules.first().map(|m| m.state[1]), Some(0x04));
    }

    /// The demo's bank: 12 packs of 100 Ah at 70 %, discharging 3 kW (-9.4 A each): the
    /// merged 1200 Ah module takes the wide capacity fields, and its 0x42 is answered.
    #[test]
    fn a_large_discharging_bank_answers_its_analog() {
        let mut s = snap(true, true);
        s.packs = (0..12)
            .map(|_| {
                let mut p = pack(26_560);
                if let Some((r, _)) = p.reading.as_mut() {
                    r.current = Milliamps(-9_408);
                    r.remaining = MilliampHours(70_000);
                    r.soc = Permille(700);
                }
                p
            })
            .collect();
        let cfg = MergeConfig {
            soc_source: SocSource::Bms,
            charge_voltage: Millivolts(27_350),
            rebalance_charge_voltage: Millivolts(27_950),
            current_share_permille: 800,
        };
        s.merged = merge(&s.packs, None, &cfg, false);
        let Some(ResponseBody::Analog(r)) =
            ask(RequestBody::Analog(Target::Module(2)), 2, &s, &ONE)
        else {
            panic!("no 0x42")
        };
        let m = r.modules.first().unwrap();
        // -112.896 A to the nearest 0.1 A; 0x61 carries 10 mA.
        assert_eq!(m.current, Milliamps(-112_900));
        let Some(ResponseBody::SystemAnalog(a)) = ask(RequestBody::SystemAnalog, 2, &s, &ONE)
        else {
            panic!("no 0x61")
        };
        assert_eq!(a.current, Milliamps(-112_900));
        assert_eq!(
            m.extension,
            Some((MilliampHours(840_000), MilliampHours(1_200_000)))
        );
    }

    #[test]
    fn currents_off_the_wire_step_are_rounded_and_clamped() {
        // Measurements to the nearest step, both signs, at the half step.
        assert_eq!(on_wire(Milliamps(-112_896), 100, true), Milliamps(-112_900));
        assert_eq!(on_wire(Milliamps(149), 100, true), Milliamps(100));
        assert_eq!(on_wire(Milliamps(150), 100, true), Milliamps(200));
        assert_eq!(on_wire(Milliamps(-150), 100, true), Milliamps(-200));
        // Limits toward zero: never more than the merge allows.
        assert_eq!(on_wire(Milliamps(988_080), 100, false), Milliamps(988_000));
        assert_eq!(
            on_wire(Milliamps(-1_008_099), 100, false),
            Milliamps(-1_008_000)
        );
        // Clamped to the i16 field: 0x61's 10 mA steps end at 327.67 A.
        assert_eq!(on_wire(Milliamps(400_000), 10, true), Milliamps(327_670));
        assert_eq!(on_wire(Milliamps(-400_000), 10, true), Milliamps(-327_670));
        assert_eq!(
            on_wire(Milliamps(i32::MIN), 100, false),
            Milliamps(-3_276_700)
        );
        // A limit off the step is answered (0x63, 0x92).
        let mut s = snap(true, true);
        if let Some(m) = s.merged.as_mut() {
            m.charge_current_limit = Milliamps(160_050);
            m.discharge_current_limit = Milliamps(168_090);
        }
        let m = limits(&s, &ONE);
        assert_eq!(
            (m.charge_current_limit, m.discharge_current_limit),
            (Milliamps(160_000), Milliamps(-168_000))
        );
        assert!(ask(RequestBody::SystemParameters(None), 2, &s, &ONE).is_some());
    }
}

//! `voltwire decode pylontech-rs485`: Pylontech RS485 (VER 0x20) requests and responses,
//! either role's traffic (the frame walk and its pairing rules: [`super::asciihex`]).

use serde_json::{Map, Value as J};
use voltwire_pylontech::rs485::{
    ChargeManagement, ModuleAlarm, ModuleAnalog, Request, RequestBody, Response, ResponseBody,
    Target, ZERO_CELSIUS, alarm_state, command, status_flags,
};

use super::Options;
use super::asciihex::{
    self, Temperatures, amps, analog_json, bits, cells_set, celsius, common_reply, header, hex,
    reply_json as reply, text, volts,
};

/// Frames whose CID2 is a Pylontech return code.
fn is_rtn(cid2: u8) -> bool {
    matches!(cid2, 0x00..=0x09 | 0x90 | 0x91 | 0xE1..=0xE4)
}

pub(crate) fn new(opts: &Options) -> Box<dyn super::Decode> {
    asciihex::decoder(opts, is_rtn, request_json, response_json)
}

fn request_json(r: &Request) -> Map<String, J> {
    let mut m = header(r.adr, None, r.command(), command::name(r.command()));
    match &r.body {
        RequestBody::Analog(t) | RequestBody::Alarm(t) => {
            let v: J = match t {
                Target::Module(a) => (*a).into(),
                Target::All => "all".into(),
            };
            m.insert("module".into(), v);
        }
        RequestBody::SystemParameters(Some(a))
        | RequestBody::Serial(Some(a))
        | RequestBody::Management(a) => {
            m.insert("module".into(), (*a).into());
        }
        RequestBody::Other { info, .. } => {
            m.insert("info_hex".into(), hex(info).into());
        }
        _ => {}
    }
    m
}

fn module_json(p: &ModuleAnalog) -> J {
    let mut m = analog_json(p, "total_capacity_ah", Temperatures::BoardFirst);
    m.insert("user_defined".into(), p.user_defined.into());
    m.into()
}

fn alarm_json(a: &ModuleAlarm) -> J {
    let mut m = asciihex::status_json(a, "state", "module_voltage", alarm_state::name);
    let [s1, s2, s3, s4, s5] = a.state;
    m.insert("status_1".into(), bits(status_flags::Status1(s1)));
    m.insert("status_2".into(), bits(status_flags::Status2(s2)));
    m.insert("status_3".into(), bits(status_flags::Status3(s3)));
    m.insert("cell_errors".into(), cells_set(s4, s5));
    m.into()
}

fn management(c: &ChargeManagement, m: &mut Map<String, J>) {
    m.insert(
        "charge_voltage_limit_v".into(),
        volts(c.charge_voltage_limit),
    );
    m.insert(
        "discharge_voltage_limit_v".into(),
        volts(c.discharge_voltage_limit),
    );
    m.insert(
        "charge_current_limit_a".into(),
        amps(c.charge_current_limit),
    );
    m.insert(
        "discharge_current_limit_a".into(),
        amps(c.discharge_current_limit),
    );
    m.insert("status".into(), bits(c.status));
}

/// The flag and block keys of 0x42 and 0x44 replies.
const INFO_MODULES: [&str; 2] = ["info_flag", "modules"];
const DATA_MODULES: [&str; 2] = ["data_flag", "modules"];

#[allow(clippy::too_many_lines, reason = "one arm per message")]
fn response_json(r: &Response) -> (&'static str, Map<String, J>) {
    let mut m = header(r.adr, Some(r.rtn), r.command(), command::name(r.command()));
    let c = |t| celsius(t, ZERO_CELSIUS);
    let kind = match &r.body {
        ResponseBody::ProtocolVersion => common_reply(r.ver, None, &mut m),
        ResponseBody::Manufacturer(i) => common_reply(
            r.ver,
            Some((&i.device_name, &i.software_version, &i.manufacturer)),
            &mut m,
        ),
        ResponseBody::Analog(a) => reply("analog", a, INFO_MODULES, module_json, &mut m),
        ResponseBody::Alarm(a) => reply("alarm", a, DATA_MODULES, alarm_json, &mut m),
        ResponseBody::SystemParameters(p) => {
            m.insert("info_flag".into(), p.info_flag.into());
            m.insert("cell_high_voltage_v".into(), volts(p.cell_high_voltage));
            m.insert("cell_low_voltage_v".into(), volts(p.cell_low_voltage));
            m.insert("cell_under_voltage_v".into(), volts(p.cell_under_voltage));
            m.insert(
                "charge_high_temperature_c".into(),
                c(p.charge_high_temperature),
            );
            m.insert(
                "charge_low_temperature_c".into(),
                c(p.charge_low_temperature),
            );
            m.insert(
                "charge_current_limit_a".into(),
                amps(p.charge_current_limit),
            );
            m.insert("module_high_voltage_v".into(), volts(p.module_high_voltage));
            m.insert("module_low_voltage_v".into(), volts(p.module_low_voltage));
            m.insert(
                "module_under_voltage_v".into(),
                volts(p.module_under_voltage),
            );
            m.insert(
                "discharge_high_temperature_c".into(),
                c(p.discharge_high_temperature),
            );
            m.insert(
                "discharge_low_temperature_c".into(),
                c(p.discharge_low_temperature),
            );
            m.insert(
                "discharge_current_limit_a".into(),
                amps(p.discharge_current_limit),
            );
            "system_parameters"
        }
        ResponseBody::SystemInfo(s) => {
            m.insert("device_name".into(), text(&s.device_name));
            m.insert("manufacturer".into(), text(&s.manufacturer));
            m.insert(
                "software_version".into(),
                s.software_version.to_vec().into(),
            );
            m.insert("module_count".into(), s.module_count.into());
            m.insert(
                "serials".into(),
                s.serials.iter().map(|x| text(x)).collect::<Vec<_>>().into(),
            );
            "system_info"
        }
        ResponseBody::SystemAnalog(s) => {
            m.insert("voltage_v".into(), volts(s.voltage));
            m.insert("current_a".into(), amps(s.current));
            m.insert("soc_pct".into(), s.soc_percent.into());
            m.insert("average_cycles".into(), s.average_cycles.into());
            m.insert("max_cycles".into(), s.max_cycles.into());
            m.insert("average_soh_pct".into(), s.average_soh_percent.into());
            m.insert("min_soh_pct".into(), s.min_soh_percent.into());
            m.insert("max_cell_voltage_v".into(), volts(s.max_cell_voltage));
            m.insert("max_cell_voltage_id".into(), s.max_cell_voltage_id.into());
            m.insert("min_cell_voltage_v".into(), volts(s.min_cell_voltage));
            m.insert("min_cell_voltage_id".into(), s.min_cell_voltage_id.into());
            for (k, t) in [
                ("average_cell_temperature_c", s.average_cell_temperature),
                ("max_cell_temperature_c", s.max_cell_temperature),
                ("min_cell_temperature_c", s.min_cell_temperature),
                ("average_mosfet_temperature_c", s.average_mosfet_temperature),
                ("max_mosfet_temperature_c", s.max_mosfet_temperature),
                ("min_mosfet_temperature_c", s.min_mosfet_temperature),
                ("average_bms_temperature_c", s.average_bms_temperature),
                ("max_bms_temperature_c", s.max_bms_temperature),
                ("min_bms_temperature_c", s.min_bms_temperature),
            ] {
                m.insert(k.into(), c(t));
            }
            "system_analog"
        }
        ResponseBody::SystemAlarm(a) => {
            m.insert("warning_1".into(), a.warning_1.into());
            m.insert("warning_2".into(), a.warning_2.into());
            m.insert("protection_1".into(), a.protection_1.into());
            m.insert("protection_2".into(), a.protection_2.into());
            "system_alarm"
        }
        ResponseBody::SystemManagement(x) => {
            management(x, &mut m);
            "system_management"
        }
        ResponseBody::Management {
            command,
            management: x,
        } => {
            m.insert("command_value".into(), (*command).into());
            management(x, &mut m);
            "management"
        }
        ResponseBody::Serial(s) => {
            m.insert("command_value".into(), s.command.into());
            m.insert("serial".into(), text(&s.serial));
            "serial"
        }
        ResponseBody::Undecoded { info, .. } => {
            m.insert("info_hex".into(), hex(info).into());
            "response"
        }
        // A reply added to voltwire-pylontech later: the header only, like an undecoded one.
        _ => "response",
    };
    (kind, m)
}

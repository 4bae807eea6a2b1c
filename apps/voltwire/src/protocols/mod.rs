//! The protocols `voltwire decode` knows.

use crate::output::Output;

mod asciihex;
mod daly;
mod jk;
mod jk_pb;
mod meanwell_can;
mod pace;
pub(crate) mod pylontech_can;
mod pylontech_rs485;
mod slcan;
mod vedirect;

/// Options that some protocols use.
#[derive(Debug, Default)]
pub(crate) struct Options {
    /// `--command`: the request code responses answer.
    pub(crate) command: Option<u8>,
}

/// One decodable protocol.
pub(crate) struct Protocol {
    /// Name on the command line (`voltwire decode <name>`).
    pub(crate) name: &'static str,
    /// One line for `--list`.
    pub(crate) description: &'static str,
    /// Whether `--command` applies.
    pub(crate) takes_command: bool,
    /// Decode a whole input.
    pub(crate) decode: fn(&[u8], &Options, &mut Output),
}

/// Every protocol, in `--list` order.
pub(crate) const ALL: &[Protocol] = &[
    Protocol {
        name: "vedirect",
        description: "Victron VE.Direct TEXT blocks (records assembled) with interleaved HEX frames",
        takes_command: false,
        decode: vedirect::decode,
    },
    Protocol {
        name: "daly",
        description: "Daly BMS UART/RS485 (0xA5 frames; cell voltages and temperatures assembled)",
        takes_command: false,
        decode: daly::decode,
    },
    Protocol {
        name: "jk",
        description: "JK BMS RS485/UART \"4E 57\" protocol (read-all reply typed, write requests)",
        takes_command: false,
        decode: jk::decode,
    },
    Protocol {
        name: "jk-pb",
        description: "JK-PB inverter BMS over RS485 (0x55AA/0xEB90 blocks, Modbus requests)",
        takes_command: false,
        decode: jk_pb::decode,
    },
    Protocol {
        name: "pace",
        description: "Pace BMS protocol v25 (ASCII-hex ~ frames; --command or request pairing)",
        takes_command: true,
        decode: pace::decode,
    },
    Protocol {
        name: "pylontech-rs485",
        description: "Pylontech RS485 (VER 0x20, incl. stack commands 0x60-0x63; --command or request pairing)",
        takes_command: true,
        decode: pylontech_rs485::decode,
    },
    Protocol {
        name: "pylontech-can",
        description: "Pylontech LV CAN with SMA/Victron extensions (candump log input)",
        takes_command: false,
        decode: pylontech_can::decode,
    },
    Protocol {
        name: "meanwell-can",
        description: "Mean Well BIC-2200 / NPB CAN (candump log input)",
        takes_command: false,
        decode: meanwell_can::decode,
    },
    Protocol {
        name: "slcan",
        description: "SLCAN / Lawicel ASCII (commands, replies, t/T/r/R frames)",
        takes_command: false,
        decode: slcan::decode,
    },
];

pub(crate) fn find(name: &str) -> Option<&'static Protocol> {
    ALL.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

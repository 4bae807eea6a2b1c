//! `voltwire decode pylontech-rs485`: Pylontech RS485 (VER 0x20) requests and responses,
//! either role's traffic (the frame walk and its pairing rules: [`super::asciihex`]; the
//! JSON: `voltwire_pylontech::rs485`'s `serde` impls).

use voltwire_pylontech::rs485::{RequestBody, ResponseBody};

use super::Options;
use super::asciihex;

/// Frames whose CID2 is a Pylontech return code.
fn is_rtn(cid2: u8) -> bool {
    matches!(cid2, 0x00..=0x09 | 0x90 | 0x91 | 0xE1..=0xE4)
}

pub(crate) fn new(opts: &Options) -> Box<dyn super::Decode> {
    asciihex::decoder::<RequestBody, ResponseBody>(opts, is_rtn)
}

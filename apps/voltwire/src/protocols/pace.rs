//! `voltwire decode pace`: Pace BMS protocol v25 requests and responses (the frame walk and
//! its pairing rules: [`super::asciihex`]; the JSON: `voltwire_pace`'s `serde` impls).

use voltwire_pace::{RequestBody, ResponseBody};

use super::Options;
use super::asciihex;

/// Frames whose CID2 is a Pace return code (0x90 is the pack-count command here).
fn is_rtn(cid2: u8) -> bool {
    matches!(cid2, 0x00..=0x09 | 0xE1..=0xE4)
}

pub(crate) fn new(opts: &Options) -> Box<dyn super::Decode> {
    asciihex::decoder::<RequestBody, ResponseBody>(opts, is_rtn)
}

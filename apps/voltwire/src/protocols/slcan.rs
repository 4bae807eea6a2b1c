//! `voltwire decode slcan`: raw SLCAN (Lawicel ASCII) bytes as an adapter sends them
//! (frames with or without timestamps, CR/BEL replies, version/serial/status); host commands
//! in the same stream (`S5`, `O`, …) are reported as `command`. `offset` is the byte offset.
//! The fields are `voltwire-slcan`'s `serde` impl.

use serde_json::Map;
use voltwire_core::{Located, StreamDecoder as _};
use voltwire_slcan::{Error, HostDecoder, Response};

use super::{Decode, Options};
use crate::output::Output;

pub(crate) fn new(_opts: &Options) -> Box<dyn Decode> {
    Box::new(Stream(HostDecoder::new()))
}

struct Stream(HostDecoder);

impl Decode for Stream {
    fn feed(&mut self, chunk: &[u8], out: &mut Output) {
        self.0.feed_all(chunk, |item| emit(item, out));
    }

    fn finish(&mut self, out: &mut Output) {
        while let Some(item) = self.0.finish() {
            emit(item, out);
        }
    }
}

fn emit(item: Located<Result<Response, Error>>, out: &mut Output) {
    match item.value {
        Err(e) => out.error(item.offset, e.code(), &e.to_string(), Map::new()),
        Ok(r) => {
            let kind = r.json_type();
            if kind == "unknown" {
                // Only "a line of some text": when most are, the input is not SLCAN.
                out.unrecognized += 1;
            }
            out.message_ser(kind, item.offset, (), &r);
        }
    }
}

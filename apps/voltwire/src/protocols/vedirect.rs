//! `voltwire decode vedirect`: TEXT records and HEX frames. The fields are
//! `voltwire-victron`'s `serde` impls.

use serde_json::Map;
use voltwire_core::{Located, StreamDecoder as _};
use voltwire_victron::text::{Message, RecordDecoder};

use super::{Decode, Options};
use crate::output::Output;

pub(crate) fn new(_opts: &Options) -> Box<dyn Decode> {
    Box::new(Stream(RecordDecoder::new()))
}

struct Stream(RecordDecoder);

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

fn emit(item: Located<Result<Message, voltwire_victron::text::Error>>, out: &mut Output) {
    match item.value {
        Ok(Message::Record(r)) => out.message_ser("record", item.offset, (), &r),
        Ok(Message::Hex(f)) => out.message_ser(f.json_type(), item.offset, (), &f),
        Ok(_) => {}
        Err(e) => out.error(item.offset, e.code(), &e.to_string(), Map::new()),
    }
}

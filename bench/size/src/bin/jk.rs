//! voltwire-jk: the JK02 (0x4E 0x57) frames with their records and the JK-PB (Modbus
//! blocks) frames with status, settings and about, both directions.
#![no_std]
#![no_main]

use voltwire_core::{Emit, ScanDecoder, StreamDecoder};
use voltwire_jk::pb::{self, PbDecoder};
use voltwire_jk::{JkDecoder, JkFraming, Message, Record};
use voltwire_size_probe::{input, probe_main, sink};

fn jk(m: &Message) {
    let mut out = [0u8; 512];
    sink(m.emit(&mut out));
    if let Some(r) = m.record() {
        sink(r.current());
        for v in r.cell_voltages() {
            sink(v);
        }
    }
}

fn pb_message(m: &pb::Message) {
    let mut out = [0u8; 320];
    sink(m.emit(&mut out));
    if let pb::Message::Block(b) = m {
        if let Some(s) = b.status() {
            sink(s.to_block());
        }
        if let Some(s) = b.settings() {
            sink(s.to_block());
        }
        if let Some(a) = b.about() {
            sink(a.to_block());
        }
    }
}

/// A JK02 decoder sized for real frames (the longest real reply is about 300 bytes).
type SmallJkDecoder = ScanDecoder<JkFraming, 512>;

fn probe() {
    let mut decoder = SmallJkDecoder::new();
    decoder.feed_all(input(), |item| {
        if let Ok(m) = item.value {
            jk(&m);
        }
    });
    sink(decoder.finish());
    if let Ok(m) = Message::parse(input()) {
        jk(&m);
    }
    let mut out = [0u8; 512];
    sink(Record::parse_info(input()).emit_info(&mut out));

    let mut decoder = PbDecoder::new();
    decoder.feed_all(input(), |item| {
        if let Ok(m) = item.value {
            pb_message(&m);
        }
    });
    sink(decoder.finish());
    if let Ok(m) = pb::Message::parse(input()) {
        pb_message(&m);
    }
}

probe_main! { probe;
    info "jk::JkDecoder (default, 1024)" => JkDecoder,
    decoder "jk ScanDecoder<JkFraming, 512>" => SmallJkDecoder,
    decoder "jk::pb::PbDecoder (512)" => PbDecoder,
    info "jk::Message" => Message,
    info "jk::Record" => Record,
    info "jk::pb::Message" => pb::Message,
}

//! voltwire-jk: the JK02 (0x4E 0x57) frames with their records and the JK-PB (Modbus
//! blocks) frames with status, settings and about, both directions.
#![no_std]
#![no_main]

use voltwire_core::{Emit, StreamDecoder};
use voltwire_jk::pb::{self, PbDecoder};
use voltwire_jk::{JkDecoder, Message, Record};
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

fn probe() {
    let mut decoder = JkDecoder::new();
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
    decoder "jk::JkDecoder" => JkDecoder,
    decoder "jk::pb::PbDecoder" => PbDecoder,
    info "jk::Message" => Message,
    info "jk::Record" => Record,
    info "jk::pb::Message" => pb::Message,
}

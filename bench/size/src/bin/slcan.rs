//! voltwire-slcan: host and adapter decoders, commands and responses both directions.
#![no_std]
#![no_main]

use voltwire_core::{Emit, StreamDecoder};
use voltwire_size_probe::{input, probe_main, sink};
use voltwire_slcan::{AdapterDecoder, HostDecoder};

fn probe() {
    let mut out = [0u8; 64];
    let mut host = HostDecoder::new();
    host.feed_all(input(), |item| {
        if let Ok(r) = item.value {
            sink(r.emit(&mut out));
        }
    });
    sink(host.finish());
    let mut adapter = AdapterDecoder::new();
    adapter.feed_all(input(), |item| {
        if let Ok(c) = item.value {
            sink(c.emit(&mut out));
        }
    });
    sink(adapter.finish());
}

probe_main! { probe;
    decoder "slcan::HostDecoder" => HostDecoder,
    decoder "slcan::AdapterDecoder" => AdapterDecoder,
}

//! The Daly stream decoder on arbitrary bytes in arbitrary chunks: never panics, the same
//! items whatever the chunking, every item a checksum-verified frame (or a checksum error),
//! and every frame parses as a request and (unless out of range) a response that emits back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_core::{Framing, Scan, StreamDecoder};
use voltwire_daly::{Assembler, Daly, Decoder, RawFrame, Request, Response, Series, Variant};

fn run(data: &[u8], chunk: usize) -> (Vec<(u64, Result<RawFrame, &'static str>)>, u64) {
    let mut d = Decoder::new();
    let mut got = Vec::new();
    for c in data.chunks(chunk.max(1)) {
        d.feed_all(c, |l| got.push((l.offset, l.value.map_err(|e| e.code()))));
    }
    assert!(d.finish().is_none());
    (got, d.dropped_bytes())
}

fuzz_target!(|input: &[u8]| {
    let Some((&chunk, data)) = input.split_first() else {
        return;
    };
    match Daly::scan(data) {
        Scan::Frame { skip, len } => assert!(skip + len <= data.len()),
        Scan::Incomplete { skip } => assert!(data.len() - skip < 13),
    }
    let whole = run(data, data.len());
    assert_eq!(whole, run(data, usize::from(chunk % 17) + 1));
    let v = Variant::default();
    let mut cells = Assembler::new(Series::CellVoltages);
    let mut temps = Assembler::new(Series::Temperatures);
    for (_, item) in &whole.0 {
        let Ok(f) = item else { continue };
        assert_eq!(RawFrame::parse(&f.to_bytes()).as_ref(), Ok(f));
        assert_eq!(Request::parse(f).to_frame(f.address).as_ref(), Ok(f));
        if let Ok(r) = Response::parse(f, &v) {
            assert_eq!(r.to_frame(f.address, &v).as_ref(), Ok(f));
        }
        cells.push(f);
        temps.push(f);
    }
    let _ = (
        cells.is_complete(),
        cells.missing().count(),
        cells.cell_voltages().count(),
    );
    let _ = (temps.is_complete(), temps.temperatures().count());
});

//! Fields from arbitrary bytes into a `Record`; a record that emits must decode back to
//! itself through the stream decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voltwire_core::StreamDecoder;
use voltwire_victron::text::{Message, Record, RecordDecoder};

fuzz_target!(|data: &[u8]| {
    // Fields as `label\tvalue` lines.
    let mut record = Record::new();
    for line in data.split(|&b| b == b'\n') {
        if let Some(tab) = line.iter().position(|&b| b == b'\t') {
            record.apply(&line[..tab], &line[tab + 1..]);
        }
    }
    let mut buf = vec![0u8; record.buffer_len()];
    let Ok(n) = record.emit(&mut buf) else {
        return;
    };
    assert_eq!(n, buf.len());
    let mut d = RecordDecoder::new();
    let mut records = Vec::new();
    d.feed_all(&buf, |l| records.push(l.value));
    while let Some(l) = d.finish() {
        records.push(l.value);
    }
    // Fields dropped on the way in (over `MAX_EXTRA`, too long) are not emitted.
    if record.is_empty() || record.extra_dropped() > 0 {
        return;
    }
    // Everything emitted verifies and assembles; one record when it fits one cycle.
    assert!(records.iter().all(Result::is_ok), "{records:?}");
    if let [Ok(Message::Record(back))] = records.as_slice() {
        assert_eq!(back, &record);
    }
});

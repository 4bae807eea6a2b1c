//! Property tests: encode → decode is the identity, the decoder is total, and chunking or
//! marker-free noise between blocks changes nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::format_collect,
    clippy::type_complexity,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::case_sensitive_file_extension_comparisons,
    reason = "test code"
)]

use proptest::prelude::*;
use voltwire_core::StreamDecoder;
use voltwire_victron::text::{
    Decoder, Event, Kind, Label, Message, MessageRef, Record, RecordDecoder, Unit, emit_block,
};

/// A wire-representable canonical value for `label`.
fn value_for(label: Label) -> BoxedStrategy<Option<i64>> {
    let some = |s: BoxedStrategy<i64>| s.prop_map(Some).boxed();
    match label.kind() {
        Kind::Quantity { factor, unit } => {
            let (lo, hi) = match unit {
                Unit::DeciCelsius | Unit::Permille => (-3000i64, 3000i64),
                Unit::Seconds => (0, i64::from(u32::MAX)),
                _ => (-2_000_000, 2_000_000),
            };
            some((lo..=hi).prop_map(move |r| r * factor).boxed())
        }
        Kind::Count | Kind::OffReason => some((0..=i64::from(u32::MAX)).boxed()),
        Kind::TimeToGo => some((-1..=100_000i64).boxed()),
        Kind::OnOff => some((0..=1i64).boxed()),
        Kind::ProductId | Kind::AlarmReason => some((0..=0xFFFFi64).boxed()),
        Kind::MonitorMode => some((-128..=127i64).boxed()),
        Kind::Text => Just(None).boxed(),
        _ => some((0..=255i64).boxed()),
    }
}

fn record() -> impl Strategy<Value = Record> {
    let fields: Vec<_> = Label::ALL
        .iter()
        .map(|&l| {
            (
                Just(l),
                any::<u8>(),
                value_for(l),
                "[A-Za-z0-9][A-Za-z0-9 #./-]{0,19}",
            )
        })
        .collect();
    fields.prop_map(|fields| {
        let mut r = Record::new();
        for (label, pick, value, text) in fields {
            match pick % 4 {
                0 | 1 => {} // not sent
                2 if pick > 200 => r.set_not_available(label),
                _ => match value {
                    Some(v) => r.set_int(label, v).unwrap(),
                    None => r.set_text(label, &text).unwrap(),
                },
            }
        }
        // A record from one device never holds both an MPPT day marker and monitor history.
        if (1..=18).any(|i| r.contains(Label::ALL[Label::H1.index() + i - 1])) {
            r.remove(Label::Hsds);
        }
        r
    })
}

fn decode_records(bytes: &[u8], chunk: usize) -> Vec<Result<Message, String>> {
    let mut d = RecordDecoder::new();
    let mut out = Vec::new();
    for c in bytes.chunks(chunk.max(1)) {
        d.feed_all(c, |l| out.push(l.value.map_err(|e| e.to_string())));
    }
    while let Some(l) = d.finish() {
        out.push(l.value.map_err(|e| e.to_string()));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Property 1: Record → emit → decode gives the same record, whatever the chunking.
    #[test]
    fn record_round_trip(r in record(), chunk in 1usize..40) {
        prop_assume!(!r.is_empty());
        let mut buf = vec![0u8; r.buffer_len()];
        let n = r.emit(&mut buf).unwrap();
        prop_assert_eq!(n, buf.len());
        let got = decode_records(&buf, chunk);
        prop_assert_eq!(got, vec![Ok(Message::Record(r))]);
    }

    /// Property 2: a block of arbitrary valid fields is emitted as the protocol lays it out,
    /// decodes to exactly those fields, and re-emitting the decoded fields gives the same
    /// bytes.
    #[test]
    fn block_bytes_round_trip(
        fields in proptest::collection::vec(("[A-Za-z0-9_#]{1,8}", "[ -9;-~]{0,32}"), 1..22)
    ) {
        prop_assume!(fields.iter().all(|(l, _)| l != "Checksum"));
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(l, v)| (l.as_str(), v.as_str())).collect();
        let mut buf = [0u8; 2048];
        let n = emit_block(&pairs, &mut buf).unwrap();
        let mut d = Decoder::new();
        let p = d.feed(&buf[..n]);
        prop_assert_eq!(p.consumed, n);
        let Some(item) = p.item else { panic!("no block") };
        let Event::Block(b) = item.value else { panic!("not a block: {:?}", item.value) };
        let back: Vec<(&[u8], &[u8])> = b.fields().collect();
        let want: Vec<(&[u8], &[u8])> = pairs.iter().map(|(l, v)| (l.as_bytes(), v.as_bytes())).collect();
        prop_assert_eq!(&back, &want);
        // The bytes are what the protocol says, built here by hand: `\r\n label \t value`
        // per field, then `\r\nChecksum\t` and the byte that makes the block sum to 0.
        let mut want_bytes = Vec::new();
        for (l, v) in &pairs {
            want_bytes.extend_from_slice(b"\r\n");
            want_bytes.extend_from_slice(l.as_bytes());
            want_bytes.push(b'\t');
            want_bytes.extend_from_slice(v.as_bytes());
        }
        want_bytes.extend_from_slice(b"\r\nChecksum\t");
        let sum = want_bytes.iter().fold(0u8, |s, b| s.wrapping_add(*b));
        want_bytes.push(sum.wrapping_neg());
        prop_assert_eq!(&buf[..n], want_bytes.as_slice());
        // Re-emitting the decoded fields (not the input) gives the same bytes.
        let decoded: Vec<(&str, &str)> = back
            .iter()
            .map(|(l, v)| (core::str::from_utf8(l).unwrap(), core::str::from_utf8(v).unwrap()))
            .collect();
        let mut again = [0u8; 2048];
        let m = emit_block(&decoded, &mut again).unwrap();
        prop_assert_eq!(&again[..m], &buf[..n]);
    }

    /// Property 3: the decoder is total: any bytes, any chunking, no panic, and it never
    /// reports more dropped bytes than it was fed.
    #[test]
    fn decoder_is_total(data in proptest::collection::vec(any::<u8>(), 0..2000), chunk in 1usize..50) {
        let mut d = RecordDecoder::new();
        for c in data.chunks(chunk) {
            d.feed_all(c, |_| {});
        }
        while d.finish().is_some() {}
        prop_assert!(d.dropped_bytes() <= data.len() as u64);
    }

    /// Property 4: noise between blocks (without the markers `\r` and `:`) changes nothing:
    /// every record comes back, in order, at every chunk size.
    #[test]
    fn noise_between_records(
        records in proptest::collection::vec(record(), 1..5),
        noise in proptest::collection::vec(
            proptest::collection::vec(any::<u8>().prop_filter("no marker", |b| *b != b'\r' && *b != b':'), 0..40),
            5),
        chunk in 1usize..64,
    ) {
        let records: Vec<Record> = records.into_iter().filter(|r| !r.is_empty() && r.contains(Label::Pid)).collect();
        let mut stream = Vec::new();
        for (i, r) in records.iter().enumerate() {
            stream.extend_from_slice(&noise[i % noise.len()]);
            let mut buf = vec![0u8; r.buffer_len()];
            r.emit(&mut buf).unwrap();
            stream.extend_from_slice(&buf);
        }
        let got: Vec<_> = decode_records(&stream, chunk)
            .into_iter()
            .map(|m| match m { Ok(Message::Record(r)) => r, other => panic!("{other:?}") })
            .collect();
        prop_assert_eq!(got, records);
    }

    /// Property 5: lending records (`feed_ref`) yields exactly what moving them out (`feed`)
    /// yields — same items, offsets, consumed counts and dropped bytes — for any mix of the
    /// two calls and any chunking, over records (each record emptied in place before the
    /// next is built into the same slot), corrupted bytes and noise.
    #[test]
    fn lent_records_match_owned_records(
        records in proptest::collection::vec(record(), 1..6),
        noise in proptest::collection::vec(any::<u8>(), 0..30),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
        lend in proptest::collection::vec(any::<bool>(), 1..16),
        chunk in 1usize..64,
    ) {
        let mut stream = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let mut buf = vec![0u8; r.buffer_len()];
            r.emit(&mut buf).unwrap();
            stream.extend_from_slice(&buf);
            if i % 2 == 1 {
                stream.extend_from_slice(&noise);
            }
        }
        for (at, x) in flips {
            if !stream.is_empty() {
                let n = stream.len();
                stream[at % n] ^= x;
            }
        }
        let owned = {
            let mut d = RecordDecoder::new();
            let mut out = Vec::new();
            for mut c in stream.chunks(chunk) {
                loop {
                    let p = d.feed(c);
                    c = &c[p.consumed..];
                    let done = p.item.is_none() && (c.is_empty() || p.consumed == 0);
                    out.push((p.consumed, p.item.map(|l| (l.offset, l.value))));
                    if done {
                        break;
                    }
                }
            }
            while let Some(l) = d.finish() {
                out.push((0, Some((l.offset, l.value))));
            }
            (out, d.dropped_bytes())
        };
        let mixed = {
            let mut d = RecordDecoder::new();
            let mut out = Vec::new();
            let mut call = 0usize;
            for mut c in stream.chunks(chunk) {
                loop {
                    let lent = lend[call % lend.len()];
                    call += 1;
                    let (consumed, item) = if lent {
                        let p = d.feed_ref(c);
                        (p.consumed, p.item.map(|l| (l.offset, l.value.map(MessageRef::into_message))))
                    } else {
                        let p = d.feed(c);
                        (p.consumed, p.item.map(|l| (l.offset, l.value)))
                    };
                    c = &c[consumed..];
                    let done = item.is_none() && (c.is_empty() || consumed == 0);
                    out.push((consumed, item));
                    if done {
                        break;
                    }
                }
            }
            while let Some(l) = d.finish() {
                out.push((0, Some((l.offset, l.value))));
            }
            (out, d.dropped_bytes())
        };
        prop_assert_eq!(mixed, owned);
    }

    /// Property 6: a record emptied in place equals a new one, whatever it held.
    #[test]
    fn cleared_record_is_new(r in record(), extra in proptest::collection::vec(("[A-Z]{9,12}", "[a-z]{0,8}"), 0..4)) {
        let mut r = r;
        for (l, v) in &extra {
            r.apply(l.as_bytes(), v.as_bytes());
        }
        r.clear();
        prop_assert_eq!(r, Record::new());
    }
}

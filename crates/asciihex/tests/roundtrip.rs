//! Envelope properties: emit → parse is the identity, the scanner is total on any bytes, and
//! a stream of frames with marker-free noise between them decodes the same in any chunking.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "test code"
)]

use proptest::prelude::*;
use voltwire_asciihex::{AsciiHex, Decoder, Found, Frame, MAX_FRAME_LEN, MAX_INFO_LEN, scan_frame};
use voltwire_core::{Emit as _, Framing as _, Scan, StreamDecoder as _};

fn frame() -> impl Strategy<Value = Frame> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            proptest::collection::vec(any::<u8>(), 0..=MAX_INFO_LEN),
        ],
    )
        .prop_map(|(v, a, c1, c2, info)| Frame::new(v, a, c1, c2, &info).unwrap())
}

proptest! {
    #[test]
    fn emit_parse_identity(f in frame()) {
        let bytes = f.to_bytes();
        prop_assert_eq!(bytes.len(), f.buffer_len());
        prop_assert_eq!(Frame::parse(&bytes), Ok(f.clone()));
        prop_assert_eq!(scan_frame(&bytes), Found::Frame { skip: 0, len: bytes.len() });
        let mut short = vec![0u8; bytes.len() - 1];
        prop_assert!(f.emit(&mut short).is_err());
    }

    #[test]
    fn a_flipped_character_is_rejected(f in frame(), at in any::<prop::sample::Index>(), x in 1u8..=255) {
        let mut bytes = f.to_bytes().to_vec();
        let i = at.index(bytes.len());
        let before = bytes[i];
        bytes[i] ^= x;
        // Lower-case hex digits are accepted (some devices send them), so changing only the
        // case of a hex letter keeps its value. CHKSUM (the four characters before CR) is
        // compared by value: a case-only change there parses to the very same frame.
        // Everywhere else the character itself is summed into CHKSUM, so even a case-only
        // change breaks the checksum; any other change breaks a checksum, the length or the
        // structure.
        let case_only = before.is_ascii_hexdigit()
            && bytes[i].is_ascii_hexdigit()
            && before.eq_ignore_ascii_case(&bytes[i]);
        let in_chksum = (bytes.len() - 5..bytes.len() - 1).contains(&i);
        let parsed = Frame::parse(&bytes);
        if case_only && in_chksum {
            prop_assert_eq!(parsed, Ok(f));
        } else {
            prop_assert!(parsed.is_err(), "byte {} {:?} -> {:?} parsed: {:?}", i, before as char, bytes[i] as char, parsed);
        }
    }

    #[test]
    fn scanner_is_total(data in proptest::collection::vec(prop_oneof![
        Just(b'~'), Just(b'\r'), Just(b'0'), Just(b'F'), any::<u8>()], 0..400)) {
        match <AsciiHex>::scan(&data) {
            Scan::Frame { skip, len } => {
                prop_assert!(skip + len <= data.len());
                prop_assert!(Frame::parse(&data[skip..skip + len]).is_ok());
            }
            Scan::Incomplete { skip } => {
                prop_assert!(skip <= data.len());
                prop_assert!(data.len() - skip < MAX_FRAME_LEN);
            }
        }
        let _ = scan_frame(&data);
    }

    #[test]
    fn chunking_does_not_matter(
        frames in proptest::collection::vec(frame().prop_filter("small", |f| f.info.len() < 100), 1..6),
        noise in proptest::collection::vec(proptest::collection::vec(any::<u8>().prop_filter("no ~", |b| *b != b'~'), 0..12), 6),
        chunk in 1usize..50,
    ) {
        let mut stream = Vec::new();
        for (f, n) in frames.iter().zip(&noise) {
            stream.extend_from_slice(n);
            stream.extend_from_slice(&f.to_bytes());
        }
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for c in stream.chunks(chunk) {
            d.feed_all(c, |item| got.push(item.value.unwrap()));
        }
        prop_assert_eq!(got, frames);
    }
}

/// The two outcomes of the corruption property, each on a case the random search rarely
/// draws: a case-only change inside CHKSUM is the same frame, anywhere else it is an error.
#[test]
fn case_only_changes_pin_both_outcomes() {
    let f = Frame::new(0x20, 0x02, 0x4A, 0x42, &[0xAB, 0xCD, 0xEF]).unwrap();
    let bytes = f.to_bytes().to_vec();
    let chksum = bytes.len() - 5..bytes.len() - 1;
    let (mut same, mut errors) = (0, 0);
    for i in 0..bytes.len() {
        if !bytes[i].is_ascii_uppercase() {
            continue;
        }
        let mut b = bytes.clone();
        b[i] = b[i].to_ascii_lowercase();
        if chksum.contains(&i) {
            assert_eq!(Frame::parse(&b), Ok(f.clone()), "byte {i}");
            same += 1;
        } else {
            assert!(Frame::parse(&b).is_err(), "byte {i}");
            errors += 1;
        }
    }
    // Hex letters in the header and INFO (4A, AB, CD, EF) and in this frame's CHKSUM.
    assert!(errors >= 7 && same >= 1, "{errors} errors, {same} same");
}

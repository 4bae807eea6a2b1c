//! Fault injection, one [`Faults`] value per simulator.

use core::time::Duration;

/// What a simulator should get wrong. `Default` is a healthy device.
///
/// The output faults (`silent`, `garbage`, `bad_checksum`) are applied by the simulators
/// themselves; `delay` and `drop_port` are read by the I/O layer through
/// [`crate::SerialResponder::faults`] / [`crate::CanResponder::faults`]. The plant faults
/// (`cell_over_voltage`, `over_temperature`) change what the BMS reports (cell 1 at
/// [`Faults::OVER_VOLTAGE`], every sensor at [`Faults::OVER_TEMPERATURE`]) and therefore
/// set the protection flags in its replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent switches, set from config and tests"
)]
pub struct Faults {
    /// Answer nothing and send nothing unsolicited (input is still consumed).
    pub silent: bool,
    /// Answer late by this much (the I/O layer holds each reply back).
    pub delay: Duration,
    /// Replace every reply by as many bytes of deterministic garbage (no frame markers).
    /// On CAN: frames with a payload length no message of the protocol has.
    pub garbage: bool,
    /// Corrupt the checksum of every reply (serial protocols; CAN has none at this layer).
    pub bad_checksum: bool,
    /// Drop the port: the I/O layer closes it (and reopens when the flag clears).
    pub drop_port: bool,
    /// Report cell 1 of every pack at [`Faults::OVER_VOLTAGE`].
    pub cell_over_voltage: bool,
    /// Report every temperature sensor at [`Faults::OVER_TEMPERATURE`].
    pub over_temperature: bool,
}

impl Faults {
    /// The cell voltage reported under `cell_over_voltage`, mV.
    pub const OVER_VOLTAGE: i32 = 3_800;
    /// The temperature reported under `over_temperature`, 0.1 °C.
    pub const OVER_TEMPERATURE: i16 = 700;

    /// Whether any output fault would change the bytes of a reply.
    pub fn alters_output(&self) -> bool {
        self.silent || self.garbage || self.bad_checksum
    }
}

/// A deterministic garbage byte stream that contains none of the serial protocols' frame
/// markers (`0xA5`, `~`, `:`, CR, LF), so decoders skip it as noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Garbage(u32);

impl Default for Garbage {
    fn default() -> Self {
        Self(0x1234_5678)
    }
}

impl Garbage {
    pub(crate) fn next_byte(&mut self) -> u8 {
        loop {
            // xorshift32
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            self.0 = x;
            let b = x.to_le_bytes()[1];
            if !matches!(b, 0xA5 | b'~' | b':' | b'\r' | b'\n') {
                return b;
            }
        }
    }

    pub(crate) fn fill(&mut self, n: usize, out: &mut Vec<u8>) {
        for _ in 0..n {
            let b = self.next_byte();
            out.push(b);
        }
    }
}

/// Write one encoded reply to `out` through the output faults. `corrupt` breaks the
/// reply's checksum in place.
pub(crate) fn push_reply(
    faults: &Faults,
    garbage: &mut Garbage,
    reply: &mut [u8],
    corrupt: impl FnOnce(&mut [u8]),
    out: &mut Vec<u8>,
) {
    if faults.silent {
        return;
    }
    if faults.garbage {
        garbage.fill(reply.len(), out);
        return;
    }
    if faults.bad_checksum {
        corrupt(reply);
    }
    out.extend_from_slice(reply);
}

/// Change the upper-case hex digit at `i` into another hex digit.
pub(crate) fn flip_hex_digit(bytes: &mut [u8], i: usize) {
    if let Some(b) = bytes.get_mut(i) {
        *b = match *b {
            b'0' => b'1',
            b'A' => b'B',
            b'a' => b'b',
            c => c.wrapping_sub(1),
        };
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn garbage_has_no_markers() {
        let mut g = Garbage::default();
        let mut v = Vec::new();
        g.fill(10_000, &mut v);
        assert!(
            !v.iter()
                .any(|b| matches!(b, 0xA5 | b'~' | b':' | b'\r' | b'\n'))
        );
    }

    #[test]
    fn hex_digit_flips_to_hex_digit() {
        for c in b"0123456789ABCDEFabcdef" {
            let mut b = [*c];
            flip_hex_digit(&mut b, 0);
            assert_ne!(b[0], *c);
            assert!(b[0].is_ascii_hexdigit());
        }
    }
}

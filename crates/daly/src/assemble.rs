//! Multi-frame replies (0x95 cell voltages, 0x96 temperatures, 0x57/0x62/0x63 text) joined.
//!
//! Each frame carries a 1-based frame number (the documents say 0-based; every capture and
//! implementation says 1) and 7 payload bytes. The BMS sends ceil(count / per frame) frames
//! on the RS485 port and may send all of them, zero-padded, on the UART/Bluetooth port.
//!
//! [`Assembler`] is pure and fixed-size (about 120 bytes): push each frame of one reply, then
//! read the values. It reports missing and duplicate frames; it never allocates or panics.

use voltwire_core::{DeciCelsius, Millivolts};

use crate::response::temperature;
use crate::{Command, RawFrame, StatusInfo};

/// The largest number of frames any series has (0x95: 16 frames, 48 cells).
pub const MAX_FRAMES: usize = 16;

/// Which multi-frame reply an [`Assembler`] collects.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Series {
    /// 0x95: 3 cell voltages per frame, at most 16 frames (48 cells).
    CellVoltages,
    /// 0x96: 7 temperatures per frame, at most 3 frames (the protocol allows 16 sensors).
    Temperatures,
    /// 0x57: 7 characters per frame, 5 frames.
    BatteryCode,
    /// 0x62: 7 characters per frame.
    SoftwareVersion,
    /// 0x63: 7 characters per frame.
    HardwareVersion,
}

impl Series {
    /// The series a command's reply belongs to.
    pub const fn of(command: Command) -> Option<Self> {
        match command.0 {
            0x95 => Some(Self::CellVoltages),
            0x96 => Some(Self::Temperatures),
            0x57 => Some(Self::BatteryCode),
            0x62 => Some(Self::SoftwareVersion),
            0x63 => Some(Self::HardwareVersion),
            _ => None,
        }
    }

    /// The command of the series.
    pub const fn command(self) -> Command {
        match self {
            Self::CellVoltages => Command::CELL_VOLTAGES,
            Self::Temperatures => Command::TEMPERATURES,
            Self::BatteryCode => Command::BATTERY_CODE,
            Self::SoftwareVersion => Command::SOFTWARE_VERSION,
            Self::HardwareVersion => Command::HARDWARE_VERSION,
        }
    }

    /// Items (cells, sensors, characters) per frame.
    pub const fn per_frame(self) -> u8 {
        match self {
            Self::CellVoltages => 3,
            _ => 7,
        }
    }

    /// The most frames the series has.
    pub const fn max_frames(self) -> u8 {
        match self {
            Self::CellVoltages => 16,
            Self::Temperatures => 3,
            Self::BatteryCode => 5,
            // Not documented; the one capture has 2 frames. Bounded by the buffer.
            Self::SoftwareVersion | Self::HardwareVersion => 4,
        }
    }
}

/// What [`Assembler::push`] did with a frame.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pushed {
    /// Stored as frame `frame`.
    Accepted {
        /// The 1-based frame number.
        frame: u8,
    },
    /// Frame `frame` had already arrived; the first copy is kept.
    Duplicate {
        /// The 1-based frame number.
        frame: u8,
        /// Whether the payload equals the first copy's.
        same: bool,
    },
    /// Frame number 0 or above the series' maximum: ignored.
    OutOfRange {
        /// The frame number received.
        frame: u8,
    },
    /// The frame belongs to another command: ignored.
    WrongCommand,
}

/// Collects the frames of one multi-frame reply.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembler {
    series: Series,
    count: Option<u8>,
    payload: [[u8; 7]; MAX_FRAMES],
    received: u16,
    duplicates: u8,
    conflicts: u8,
}

impl Assembler {
    /// An assembler that does not know how many items to expect: every frame up to the
    /// series' maximum is expected (as on the UART/Bluetooth port).
    pub const fn new(series: Series) -> Self {
        Self {
            series,
            count: None,
            payload: [[0; 7]; MAX_FRAMES],
            received: 0,
            duplicates: 0,
            conflicts: 0,
        }
    }

    /// An assembler for `count` items (cells, sensors, characters).
    pub const fn with_count(series: Series, count: u8) -> Self {
        let mut a = Self::new(series);
        a.count = Some(count);
        a
    }

    /// An assembler whose count comes from a 0x94 status: cells for 0x95, sensors for 0x96
    /// (text series have no count there and expect every frame).
    pub const fn from_status(series: Series, status: &StatusInfo) -> Self {
        match series {
            Series::CellVoltages => Self::with_count(series, status.cell_count),
            Series::Temperatures => Self::with_count(series, status.temperature_sensor_count),
            _ => Self::new(series),
        }
    }

    /// Forget every frame (for the next request), keeping series and count.
    pub fn reset(&mut self) {
        *self = Self {
            count: self.count,
            ..Self::new(self.series)
        };
    }

    /// The series collected.
    pub const fn series(&self) -> Series {
        self.series
    }

    /// The item count, if known.
    pub const fn count(&self) -> Option<u8> {
        self.count
    }

    /// Frames expected: ceil(count / per frame) capped at the maximum, or the maximum.
    pub const fn expected_frames(&self) -> u8 {
        let max = self.series.max_frames();
        match self.count {
            Some(c) => {
                let n = c.div_ceil(self.series.per_frame());
                if n < max { n } else { max }
            }
            None => max,
        }
    }

    /// Add a checksum-verified frame.
    pub fn push(&mut self, frame: &RawFrame) -> Pushed {
        if frame.command != self.series.command().0 {
            return Pushed::WrongCommand;
        }
        let [n, payload @ ..] = frame.data;
        self.push_payload(n, payload)
    }

    /// Add frame number `n` (1-based) with its 7 payload bytes.
    pub fn push_payload(&mut self, n: u8, payload: [u8; 7]) -> Pushed {
        if n == 0 || n > self.series.max_frames() {
            return Pushed::OutOfRange { frame: n };
        }
        let i = usize::from(n - 1);
        let Some(slot) = self.payload.get_mut(i) else {
            return Pushed::OutOfRange { frame: n };
        };
        let bit = 1u16 << i;
        if self.received & bit != 0 {
            let same = *slot == payload;
            self.duplicates = self.duplicates.saturating_add(1);
            if !same {
                self.conflicts = self.conflicts.saturating_add(1);
            }
            return Pushed::Duplicate { frame: n, same };
        }
        *slot = payload;
        self.received |= bit;
        Pushed::Accepted { frame: n }
    }

    /// Whether frame `n` (1-based) has arrived.
    pub const fn has_frame(&self, n: u8) -> bool {
        n >= 1 && n <= 16 && self.received & (1 << (n - 1)) != 0
    }

    /// Whether every expected frame has arrived.
    pub const fn is_complete(&self) -> bool {
        let n = self.expected_frames();
        let mask = if n >= 16 { u16::MAX } else { (1u16 << n) - 1 };
        self.received & mask == mask
    }

    /// The expected frame numbers that have not arrived.
    pub fn missing(&self) -> impl Iterator<Item = u8> + '_ {
        (1..=self.expected_frames()).filter(|&n| !self.has_frame(n))
    }

    /// Frames received (expected or not).
    pub const fn frames_received(&self) -> u32 {
        self.received.count_ones()
    }

    /// Duplicate frames seen.
    pub const fn duplicates(&self) -> u8 {
        self.duplicates
    }

    /// Duplicate frames seen whose payload differed from the first copy.
    pub const fn conflicting_duplicates(&self) -> u8 {
        self.conflicts
    }

    /// The number of items to report: the count if known, else every item of the frames up
    /// to the highest one received.
    pub fn item_count(&self) -> u8 {
        self.count.unwrap_or_else(|| {
            let highest = 16 - u8::try_from(self.received.leading_zeros()).unwrap_or(16);
            highest.saturating_mul(self.series.per_frame())
        })
    }

    /// The raw payload bytes of item `index` (0-based): 2 bytes for cell voltages, else 1.
    fn item(&self, index: u8) -> Option<&[u8]> {
        let per = self.series.per_frame();
        let (frame, k) = (index / per, usize::from(index % per));
        if !self.has_frame(frame.saturating_add(1)) {
            return None;
        }
        let p = self.payload.get(usize::from(frame))?;
        match self.series {
            Series::CellVoltages => p.get(k * 2..k * 2 + 2),
            _ => p.get(k..=k),
        }
    }

    /// Voltage of 1-based `cell` (0x95), `None` when its frame is missing or it is not a
    /// cell-voltage series.
    pub fn cell_voltage(&self, cell: u8) -> Option<Millivolts> {
        if self.series != Series::CellVoltages || cell == 0 {
            return None;
        }
        match self.item(cell - 1)? {
            [h, l] => Some(Millivolts(i32::from(u16::from_be_bytes([*h, *l])))),
            _ => None,
        }
    }

    /// Every cell voltage, cells 1..=[`Self::item_count`] (`None` for a missing frame).
    pub fn cell_voltages(&self) -> impl Iterator<Item = Option<Millivolts>> + '_ {
        (1..=self.item_count()).map(|c| self.cell_voltage(c))
    }

    /// Temperature of 1-based `sensor` (0x96).
    pub fn temperature(&self, sensor: u8) -> Option<DeciCelsius> {
        if self.series != Series::Temperatures || sensor == 0 {
            return None;
        }
        self.item(sensor - 1)?.first().map(|&b| temperature(b))
    }

    /// Every temperature, sensors 1..=[`Self::item_count`].
    pub fn temperatures(&self) -> impl Iterator<Item = Option<DeciCelsius>> + '_ {
        (1..=self.item_count()).map(|s| self.temperature(s))
    }

    /// Text byte `index` (0-based) of a text series.
    pub fn text_byte(&self, index: u8) -> Option<u8> {
        if matches!(self.series, Series::CellVoltages | Series::Temperatures) {
            return None;
        }
        self.item(index)?.first().copied()
    }

    /// The text of the consecutive frames from frame 1, written into `out`; returns the
    /// number of bytes written (trailing NUL bytes dropped).
    pub fn text(&self, out: &mut [u8]) -> usize {
        let mut n = 0;
        for (i, o) in (0..self.item_count())
            .map_while(|i| self.text_byte(i))
            .zip(out.iter_mut())
        {
            *o = i;
            n += 1;
        }
        while n > 0 && out.get(n - 1) == Some(&0) {
            n -= 1;
        }
        n
    }
}

#[cfg(test)]
#[allow(
    clippy::std_instead_of_alloc,
    clippy::many_single_char_names,
    clippy::trivially_copy_pass_by_ref,
    reason = "test code"
)]
mod tests {
    use super::*;

    fn tframe(n: u8, t: [u8; 7]) -> RawFrame {
        let [a, b, c, d, e, f, g] = t;
        RawFrame {
            address: 1,
            command: 0x96,
            data: [n, a, b, c, d, e, f, g],
        }
    }

    #[test]
    fn temperatures_from_capture() {
        // mpp-solar: two 0x96 frames, sensor 1 = 0x37 = 15 °C, the rest 0.
        let mut a = Assembler::with_count(Series::Temperatures, 1);
        assert_eq!(a.expected_frames(), 1);
        assert_eq!(
            a.push(&tframe(1, [0x37, 0, 0, 0, 0, 0, 0])),
            Pushed::Accepted { frame: 1 }
        );
        assert!(a.is_complete());
        assert_eq!(a.push(&tframe(2, [0; 7])), Pushed::Accepted { frame: 2 });
        assert_eq!(
            a.temperatures().collect::<std::vec::Vec<_>>(),
            [Some(DeciCelsius(150))]
        );
    }

    #[test]
    fn missing_and_duplicates() {
        let status = StatusInfo::parse([8, 1, 0, 0, 0, 0, 0, 0]);
        let mut a = Assembler::from_status(Series::CellVoltages, &status);
        assert_eq!(a.expected_frames(), 3);
        let f = |n: u8, v: u16| {
            let [h, l] = v.to_be_bytes();
            RawFrame {
                address: 1,
                command: 0x95,
                data: [n, h, l, h, l, h, l, 0],
            }
        };
        assert_eq!(a.push(&f(1, 3300)), Pushed::Accepted { frame: 1 });
        assert_eq!(a.push(&f(3, 3302)), Pushed::Accepted { frame: 3 });
        assert_eq!(
            a.push(&f(1, 3301)),
            Pushed::Duplicate {
                frame: 1,
                same: false
            }
        );
        assert_eq!(a.push(&f(0, 1)), Pushed::OutOfRange { frame: 0 });
        assert_eq!(a.push(&f(17, 1)), Pushed::OutOfRange { frame: 17 });
        assert_eq!(a.push(&tframe(1, [0; 7])), Pushed::WrongCommand);
        assert!(!a.is_complete());
        assert_eq!(a.missing().collect::<std::vec::Vec<_>>(), [2]);
        assert_eq!((a.duplicates(), a.conflicting_duplicates()), (1, 1));
        let v: std::vec::Vec<_> = a.cell_voltages().collect();
        assert_eq!(v.len(), 8);
        assert_eq!(v[0], Some(Millivolts(3300)));
        assert_eq!(v[3], None);
        assert_eq!(v[7], Some(Millivolts(3302)));
        a.reset();
        assert_eq!(a.frames_received(), 0);
        assert_eq!(a.count(), Some(8));
    }

    #[test]
    fn text_series() {
        let mut a = Assembler::new(Series::HardwareVersion);
        let t = |n: u8, s: &[u8; 7]| RawFrame {
            address: 1,
            command: 0x63,
            data: [n, s[0], s[1], s[2], s[3], s[4], s[5], s[6]],
        };
        a.push(&t(2, b"R32-01E"));
        a.push(&t(1, b"DL-BMS-"));
        let mut out = [0; 64];
        let n = a.text(&mut out);
        assert_eq!(&out[..n], b"DL-BMS-R32-01E");
    }
}

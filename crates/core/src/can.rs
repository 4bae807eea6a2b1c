//! The one classic CAN frame type every voltwire crate shares.
//!
//! [`CanFrame`] is owned, fixed-size (no allocation) and `Copy`: an 11- or 29-bit id, a data
//! or remote frame, and 0-8 data bytes. It implements [`embedded_can::Frame`], so every
//! protocol crate's generic `from_frame`/`to_frame` works on it as well as on `SocketCAN` or
//! MCU driver frames.
//!
//! ```
//! use voltwire_core::can::CanFrame;
//!
//! let f = CanFrame::standard(0x351, &[0x14, 0x02]).unwrap();
//! assert_eq!((f.id(), f.is_extended(), f.dlc(), f.data()), (0x351, false, 2, &[0x14, 0x02][..]));
//! assert_eq!(CanFrame::standard(0x800, &[]), None); // 11-bit ids end at 0x7FF
//! assert_eq!(CanFrame::extended(0x0C_0300, &[0; 9]), None); // classic CAN: at most 8 bytes
//!
//! let rtr = CanFrame::remote_frame(0x305, false, 8).unwrap();
//! assert!(rtr.is_remote() && rtr.data().is_empty() && rtr.dlc() == 8);
//! ```
//!
//! The inherent [`CanFrame::id`] is the raw number; the typed [`embedded_can::Id`] is
//! `embedded_can::Frame::id(&frame)` (what generic code over `F: Frame` sees).

use embedded_can::{ExtendedId, Frame, Id, StandardId};

/// Largest 11-bit (standard) id.
pub const MAX_STANDARD_ID: u32 = 0x7FF;

/// Largest 29-bit (extended) id.
pub const MAX_EXTENDED_ID: u32 = 0x1FFF_FFFF;

/// A classic CAN frame: 11- or 29-bit id, data or remote, 0-8 data bytes.
///
/// Invariants (kept by every constructor, so a value of this type is always sendable): the id
/// is in range for its kind, `dlc <= 8`, and the bytes past the DLC (all of them for a remote
/// frame) are zero, so two frames are equal exactly when id, kind, DLC and data are.
///
/// A remote frame has a DLC (the length it asks for) but no data: [`CanFrame::data`] is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CanFrame {
    id: Id,
    remote: bool,
    dlc: u8,
    data: [u8; 8],
}

/// By hand: `embedded_can::Id` has no `defmt` support.
#[cfg(feature = "defmt")]
impl defmt::Format for CanFrame {
    fn format(&self, f: defmt::Formatter<'_>) {
        let (id, kind) = match self.id {
            Id::Standard(id) => (u32::from(id.as_raw()), "std"),
            Id::Extended(id) => (id.as_raw(), "ext"),
        };
        defmt::write!(
            f,
            "CanFrame {{ id: {=u32:#x} ({=str}), remote: {=bool}, dlc: {=u8}, data: {=[u8]:02x} }}",
            id,
            kind,
            self.remote,
            self.dlc,
            self.data()
        );
    }
}

impl CanFrame {
    /// A data frame with an 11-bit id, or `None` if `id > 0x7FF` or `data` is longer than 8.
    pub fn standard(id: u16, data: &[u8]) -> Option<Self> {
        Self::with_id(StandardId::new(id)?.into(), data)
    }

    /// A data frame with a 29-bit id, or `None` if `id > 0x1FFF_FFFF` or `data` is longer
    /// than 8.
    pub fn extended(id: u32, data: &[u8]) -> Option<Self> {
        Self::with_id(ExtendedId::new(id)?.into(), data)
    }

    /// A data frame with a raw id, 29-bit if `extended`, or `None` if the id is out of range
    /// for its kind or `data` is longer than 8.
    pub fn data_frame(id: u32, extended: bool, data: &[u8]) -> Option<Self> {
        Self::with_id(raw_to_id(id, extended)?, data)
    }

    /// A remote (RTR) frame asking for `dlc` bytes, 29-bit if `extended`, or `None` if the id
    /// is out of range for its kind or `dlc > 8`.
    pub fn remote_frame(id: u32, extended: bool, dlc: usize) -> Option<Self> {
        Self::remote_with_id(raw_to_id(id, extended)?, dlc)
    }

    /// Copy any other [`embedded_can::Frame`] (`SocketCAN`, driver frames), or `None` if it
    /// claims more than 8 bytes (a CAN FD frame).
    pub fn from_frame<F: Frame>(f: &F) -> Option<Self> {
        if f.is_remote_frame() {
            Self::remote_with_id(f.id(), f.dlc())
        } else {
            Self::with_id(f.id(), f.data())
        }
    }

    /// The id as a raw number (11 or 29 bits; see [`CanFrame::is_extended`]).
    pub fn id(&self) -> u32 {
        match self.id {
            Id::Standard(s) => u32::from(s.as_raw()),
            Id::Extended(e) => e.as_raw(),
        }
    }

    /// Whether the id is 29-bit.
    pub const fn is_extended(&self) -> bool {
        matches!(self.id, Id::Extended(_))
    }

    /// Whether this is a remote (RTR) frame.
    pub const fn is_remote(&self) -> bool {
        self.remote
    }

    /// The data bytes (empty for a remote frame).
    pub fn data(&self) -> &[u8] {
        if self.remote {
            return &[];
        }
        self.data.get(..usize::from(self.dlc)).unwrap_or_default()
    }

    /// The data length code, 0-8: the number of data bytes, or for a remote frame the number
    /// asked for.
    pub const fn dlc(&self) -> usize {
        self.dlc as usize
    }

    fn with_id(id: Id, data: &[u8]) -> Option<Self> {
        let mut d = [0u8; 8];
        d.get_mut(..data.len())?.copy_from_slice(data);
        Some(Self {
            id,
            remote: false,
            dlc: u8::try_from(data.len()).ok()?,
            data: d,
        })
    }

    fn remote_with_id(id: Id, dlc: usize) -> Option<Self> {
        Some(Self {
            id,
            remote: true,
            dlc: u8::try_from(dlc).ok().filter(|d| *d <= 8)?,
            data: [0; 8],
        })
    }
}

fn raw_to_id(id: u32, extended: bool) -> Option<Id> {
    if extended {
        ExtendedId::new(id).map(Id::Extended)
    } else {
        u16::try_from(id)
            .ok()
            .and_then(StandardId::new)
            .map(Id::Standard)
    }
}

impl Frame for CanFrame {
    fn new(id: impl Into<Id>, data: &[u8]) -> Option<Self> {
        Self::with_id(id.into(), data)
    }

    fn new_remote(id: impl Into<Id>, dlc: usize) -> Option<Self> {
        Self::remote_with_id(id.into(), dlc)
    }

    fn is_extended(&self) -> bool {
        Self::is_extended(self)
    }

    fn is_remote_frame(&self) -> bool {
        self.remote
    }

    fn id(&self) -> Id {
        self.id
    }

    fn dlc(&self) -> usize {
        Self::dlc(self)
    }

    fn data(&self) -> &[u8] {
        Self::data(self)
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap is a failed test"
)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn id_ranges() {
        assert_eq!(CanFrame::standard(0x7FF, &[]).map(|f| f.id()), Some(0x7FF));
        assert_eq!(CanFrame::standard(0x800, &[]), None);
        assert_eq!(
            CanFrame::extended(MAX_EXTENDED_ID, &[]).map(|f| f.id()),
            Some(MAX_EXTENDED_ID)
        );
        assert_eq!(CanFrame::extended(MAX_EXTENDED_ID + 1, &[]), None);
        assert_eq!(CanFrame::data_frame(MAX_STANDARD_ID + 1, false, &[]), None);
        assert_eq!(CanFrame::data_frame(0x1_0000, false, &[]), None);
        assert!(CanFrame::data_frame(MAX_STANDARD_ID + 1, true, &[]).is_some());
        assert_eq!(CanFrame::data_frame(u32::MAX, true, &[]), None);
        assert_eq!(CanFrame::remote_frame(0x800, false, 0), None);
        assert_eq!(CanFrame::remote_frame(u32::MAX, true, 0), None);
    }

    #[test]
    fn lengths() {
        assert_eq!(CanFrame::standard(1, &[7; 8]).map(|f| f.dlc()), Some(8));
        assert_eq!(CanFrame::standard(1, &[7; 9]), None);
        assert_eq!(CanFrame::extended(1, &[7; 9]), None);
        assert_eq!(
            CanFrame::remote_frame(1, false, 8).map(|f| f.dlc()),
            Some(8)
        );
        assert_eq!(CanFrame::remote_frame(1, false, 9), None);
        assert_eq!(CanFrame::remote_frame(1, false, usize::MAX), None);
        assert_eq!(<CanFrame as Frame>::new(StandardId::ZERO, &[0; 9]), None);
        assert_eq!(<CanFrame as Frame>::new_remote(StandardId::ZERO, 9), None);
    }

    #[test]
    fn accessors_and_kinds() {
        let s = CanFrame::standard(0x351, &[1, 2, 3]).unwrap();
        assert_eq!(
            (s.id(), s.is_extended(), s.is_remote()),
            (0x351, false, false)
        );
        assert_eq!((s.dlc(), s.data()), (3, &[1, 2, 3][..]));
        assert_eq!(Frame::id(&s), Id::Standard(StandardId::new(0x351).unwrap()));

        // The same number as a 29-bit id is another frame.
        let e = CanFrame::data_frame(0x351, true, &[1, 2, 3]).unwrap();
        assert!(e.is_extended());
        assert_ne!(s, e);
        assert_eq!(e, CanFrame::extended(0x351, &[1, 2, 3]).unwrap());

        let r = CanFrame::remote_frame(0x0C_0300, true, 4).unwrap();
        assert_eq!(
            (r.id(), r.is_extended(), r.is_remote()),
            (0x0C_0300, true, true)
        );
        assert_eq!((r.dlc(), r.data()), (4, &[][..]));
        assert!(Frame::is_remote_frame(&r) && !Frame::is_data_frame(&r));
        // A remote frame and a data frame with the same id and length differ.
        assert_ne!(r, CanFrame::extended(0x0C_0300, &[0; 4]).unwrap());
    }

    #[test]
    fn equal_frames_hash_alike() {
        use core::hash::{Hash, Hasher};
        let h = |f: &CanFrame| {
            let mut s = std::hash::DefaultHasher::new();
            f.hash(&mut s);
            s.finish()
        };
        let a = CanFrame::standard(0x100, &[1, 2]).unwrap();
        let b = <CanFrame as Frame>::new(StandardId::new(0x100).unwrap(), &[1, 2]).unwrap();
        assert_eq!(a, b);
        assert_eq!(h(&a), h(&b));
        assert_ne!(h(&a), h(&CanFrame::standard(0x100, &[1, 3]).unwrap()));
    }

    /// A driver-style frame type of its own, to check the conversions through the trait.
    #[derive(Debug, Clone, PartialEq)]
    struct Other {
        id: Id,
        remote: bool,
        dlc: usize,
        data: [u8; 8],
    }

    impl Frame for Other {
        fn new(id: impl Into<Id>, data: &[u8]) -> Option<Self> {
            let mut d = [0; 8];
            d.get_mut(..data.len())?.copy_from_slice(data);
            Some(Self {
                id: id.into(),
                remote: false,
                dlc: data.len(),
                data: d,
            })
        }
        fn new_remote(id: impl Into<Id>, dlc: usize) -> Option<Self> {
            (dlc <= 8).then(|| Self {
                id: id.into(),
                remote: true,
                dlc,
                data: [0; 8],
            })
        }
        fn is_extended(&self) -> bool {
            matches!(self.id, Id::Extended(_))
        }
        fn is_remote_frame(&self) -> bool {
            self.remote
        }
        fn id(&self) -> Id {
            self.id
        }
        fn dlc(&self) -> usize {
            self.dlc
        }
        fn data(&self) -> &[u8] {
            if self.remote {
                &[]
            } else {
                &self.data[..self.dlc]
            }
        }
    }

    fn any_frame() -> impl Strategy<Value = CanFrame> {
        let id = prop_oneof![
            (0..=MAX_STANDARD_ID).prop_map(|i| (i, false)),
            (0..=MAX_EXTENDED_ID).prop_map(|i| (i, true)),
        ];
        (
            id,
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..=8),
        )
            .prop_map(|((id, ext), remote, data)| {
                if remote {
                    CanFrame::remote_frame(id, ext, data.len()).unwrap()
                } else {
                    CanFrame::data_frame(id, ext, &data).unwrap()
                }
            })
    }

    proptest! {
        #[test]
        fn roundtrip_through_embedded_can(f in any_frame()) {
            // Through the trait's own constructors.
            let via_trait = if Frame::is_remote_frame(&f) {
                <CanFrame as Frame>::new_remote(Frame::id(&f), Frame::dlc(&f))
            } else {
                <CanFrame as Frame>::new(Frame::id(&f), Frame::data(&f))
            };
            prop_assert_eq!(via_trait, Some(f));
            // Through another implementation of the trait and back.
            let other: Other = if f.is_remote() {
                Other::new_remote(Frame::id(&f), f.dlc()).unwrap()
            } else {
                Other::new(Frame::id(&f), f.data()).unwrap()
            };
            prop_assert_eq!(other.is_extended(), f.is_extended());
            prop_assert_eq!(other.dlc(), f.dlc());
            prop_assert_eq!(CanFrame::from_frame(&other), Some(f));
            // The raw accessors agree with the typed id.
            let raw = match Frame::id(&f) {
                Id::Standard(s) => (u32::from(s.as_raw()), false),
                Id::Extended(e) => (e.as_raw(), true),
            };
            prop_assert_eq!(raw, (f.id(), f.is_extended()));
        }

        #[test]
        fn constructors_never_panic(id in any::<u32>(), ext in any::<bool>(), len in 0usize..=16, dlc in any::<usize>()) {
            let data = [0xA5u8; 16];
            let d = CanFrame::data_frame(id, ext, &data[..len]);
            let max = if ext { MAX_EXTENDED_ID } else { MAX_STANDARD_ID };
            prop_assert_eq!(d.is_some(), id <= max && len <= 8);
            if let Some(d) = d {
                prop_assert_eq!(d.data(), &data[..len]);
                prop_assert_eq!((d.id(), d.is_extended()), (id, ext));
            }
            let r = CanFrame::remote_frame(id, ext, dlc);
            prop_assert_eq!(r.is_some(), id <= max && dlc <= 8);
        }
    }
}

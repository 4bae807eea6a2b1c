//! Table vocabulary: code ↔ name enums that keep unknown codes ([`code_enum!`](crate::code_enum))
//! and named flag words ([`FlagWord`]).
//!
//! Both keep the raw wire value, so a code or a bit we have no name for survives a
//! parse → emit round trip unchanged.

/// Declares a code ↔ name enum that keeps unknown codes.
///
/// Every variant names a wire code and a stable `snake_case` name; an `Unknown(raw)` variant
/// is added for every other code, so conversion from the raw type never fails and conversion
/// back reproduces the code exactly. Generated: `Debug, Clone, Copy, PartialEq, Eq, Hash`,
/// `From<raw>` both ways, and the `const fn`s `from_raw`, `raw`, `name`, `is_known`, plus
/// `from_name` and the `KNOWN` list of named variants in declaration order.
///
/// ```
/// voltwire_core::code_enum! {
///     /// Battery chemistry.
///     pub enum Chemistry(u8) {
///         /// 0: lithium iron phosphate.
///         Lfp = 0 => "lfp",
///         /// 1: NMC.
///         Ternary = 1 => "ternary",
///     }
/// }
///
/// assert_eq!(Chemistry::from(1), Chemistry::Ternary);
/// assert_eq!(Chemistry::from(9), Chemistry::Unknown(9));
/// assert_eq!(u8::from(Chemistry::Unknown(9)), 9);
/// assert_eq!(Chemistry::Lfp.name(), Some("lfp"));
/// assert_eq!(Chemistry::from_name("ternary"), Some(Chemistry::Ternary));
/// assert_eq!(Chemistry::KNOWN.len(), 2);
/// ```
#[macro_export]
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident($raw:ty) {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal => $label:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// Any other code, kept verbatim.
            Unknown($raw),
        }

        impl $name {
            /// The named variants, in declaration order.
            $vis const KNOWN: &'static [Self] = &[$(Self::$variant),*];

            /// The variant for a wire code (`Unknown` when it has no name).
            $vis const fn from_raw(raw: $raw) -> Self {
                match raw {
                    $( $code => Self::$variant, )*
                    other => Self::Unknown(other),
                }
            }

            /// The wire code.
            $vis const fn raw(self) -> $raw {
                match self {
                    $( Self::$variant => $code, )*
                    Self::Unknown(raw) => raw,
                }
            }

            /// A `snake_case` name, `None` for unknown codes.
            $vis const fn name(self) -> Option<&'static str> {
                match self {
                    $( Self::$variant => Some($label), )*
                    Self::Unknown(_) => None,
                }
            }

            /// Whether the code has a name.
            $vis const fn is_known(self) -> bool {
                !matches!(self, Self::Unknown(_))
            }

            /// The named variant called `name`.
            $vis fn from_name(name: &str) -> Option<Self> {
                Self::KNOWN.iter().copied().find(|v| v.name() == Some(name))
            }
        }

        $crate::__defmt_code!($name);
        $crate::__serde_code!($name($raw));

        impl From<$raw> for $name {
            fn from(raw: $raw) -> Self {
                Self::from_raw(raw)
            }
        }

        impl From<$name> for $raw {
            fn from(v: $name) -> Self {
                v.raw()
            }
        }
    };
}

/// `defmt::Format` for a `code_enum!` type: its name, or the raw code when it has none.
/// Decided by this crate's `defmt` feature, so the calling crate needs no `defmt` of its own.
#[cfg(feature = "defmt")]
#[doc(hidden)]
#[macro_export]
macro_rules! __defmt_code {
    ($name:ident) => {
        impl $crate::__defmt::Format for $name {
            fn format(&self, f: $crate::__defmt::Formatter<'_>) {
                match self.name() {
                    Some(name) => $crate::__defmt::Format::format(name, f),
                    None => $crate::__defmt::Format::format(&self.raw(), f),
                }
            }
        }
    };
}

/// Without the `defmt` feature: nothing.
#[cfg(not(feature = "defmt"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __defmt_code {
    ($name:ident) => {};
}

/// `defmt::Format` for a `flag_word!` type: its raw word.
#[cfg(feature = "defmt")]
#[doc(hidden)]
#[macro_export]
macro_rules! __defmt_word {
    ($name:ident) => {
        impl $crate::__defmt::Format for $name {
            fn format(&self, f: $crate::__defmt::Formatter<'_>) {
                $crate::__defmt::Format::format(&self.0, f);
            }
        }
    };
}

/// Without the `defmt` feature: nothing.
#[cfg(not(feature = "defmt"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __defmt_word {
    ($name:ident) => {};
}

/// `serde` for a `code_enum!` type (`json::__serde_code_impl`), with this crate's `serde`.
#[cfg(feature = "serde")]
#[doc(hidden)]
#[macro_export]
macro_rules! __serde_code {
    ($name:ident($raw:ty)) => {
        $crate::__serde_code_impl!($name($raw));
    };
}

/// Without the `serde` feature: nothing.
#[cfg(not(feature = "serde"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __serde_code {
    ($name:ident($raw:ty)) => {};
}

/// `serde` for a `flag_word!` type (`json::__serde_word_impl`), with this crate's `serde`.
#[cfg(feature = "serde")]
#[doc(hidden)]
#[macro_export]
macro_rules! __serde_word {
    ($name:ident($raw:ty)) => {
        $crate::__serde_word_impl!($name($raw));
    };
}

/// Without the `serde` feature: nothing.
#[cfg(not(feature = "serde"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __serde_word {
    ($name:ident($raw:ty)) => {};
}

mod sealed {
    pub trait Sealed {}
}

/// The raw integer of a flag word: `u8`, `u16`, `u32` or `u64`. Sealed.
pub trait RawWord: Copy + sealed::Sealed {
    /// Width in bits.
    const WIDTH: u32;
    /// Zero-extended to 64 bits.
    fn widen(self) -> u64;
    /// The low [`Self::WIDTH`] bits of `bits`.
    fn narrow(bits: u64) -> Self;
}

macro_rules! raw_word {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl RawWord for $t {
            const WIDTH: u32 = <$t>::BITS;
            fn widen(self) -> u64 {
                u64::from(self)
            }
            fn narrow(bits: u64) -> Self {
                <$t>::try_from(bits & (u64::MAX >> (64 - Self::WIDTH))).unwrap_or_default()
            }
        }
    )*};
}

raw_word!(u8, u16, u32, u64);

/// What [`FlagWord::flags`] reports for a set bit that has no name in the table.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unnamed {
    /// Skip it (it is still in `raw()` and in [`FlagWord::unknown_bits`]); names come in
    /// table order.
    Skip,
    /// Report it as `bit_N`; names come in bit order, lowest first.
    BitN,
}

/// `bit_0` … `bit_63`, the names [`Unnamed::BitN`] reports.
pub const BIT_NAMES: [&str; 64] = [
    "bit_0", "bit_1", "bit_2", "bit_3", "bit_4", "bit_5", "bit_6", "bit_7", "bit_8", "bit_9",
    "bit_10", "bit_11", "bit_12", "bit_13", "bit_14", "bit_15", "bit_16", "bit_17", "bit_18",
    "bit_19", "bit_20", "bit_21", "bit_22", "bit_23", "bit_24", "bit_25", "bit_26", "bit_27",
    "bit_28", "bit_29", "bit_30", "bit_31", "bit_32", "bit_33", "bit_34", "bit_35", "bit_36",
    "bit_37", "bit_38", "bit_39", "bit_40", "bit_41", "bit_42", "bit_43", "bit_44", "bit_45",
    "bit_46", "bit_47", "bit_48", "bit_49", "bit_50", "bit_51", "bit_52", "bit_53", "bit_54",
    "bit_55", "bit_56", "bit_57", "bit_58", "bit_59", "bit_60", "bit_61", "bit_62", "bit_63",
];

/// A table of named bits: `(bit index, name)`, bit 0 the least significant.
pub type BitTable = &'static [(u8, &'static str)];

/// A word of named flag bits (alarm, status, protection words).
///
/// Implementors state the bit table once and how to get the raw word; the names of the set
/// bits (the `flags` of the apps' `{raw, flags}` JSON) and the unnamed set bits follow.
///
/// ```
/// use voltwire_core::table::{BitTable, FlagWord};
///
/// #[derive(Clone, Copy)]
/// struct Alarm(u16);
///
/// impl FlagWord for Alarm {
///     type Raw = u16;
///     const BITS: BitTable = &[(0, "over_voltage"), (3, "over_temperature")];
///     fn raw(self) -> u16 {
///         self.0
///     }
/// }
///
/// let a = Alarm(0b1000_1001);
/// assert!(a.flags().eq(["over_voltage", "over_temperature"]));
/// assert_eq!(a.unknown_bits(), 0b1000_0000);
/// assert!(a.is_set(3) && !a.is_set(1) && !a.is_set(99));
/// ```
pub trait FlagWord: Copy {
    /// The wire integer.
    type Raw: RawWord;
    /// The named bits, in the order [`Unnamed::Skip`] reports them.
    const BITS: BitTable;
    /// What to report for a set bit without a name.
    const UNNAMED: Unnamed = Unnamed::Skip;

    /// The raw word, every bit kept.
    fn raw(self) -> Self::Raw;

    /// Names of the set bits (see [`Self::UNNAMED`]).
    fn flags(self) -> FlagNames {
        FlagNames::with(
            self.raw().widen(),
            Self::BITS,
            Self::UNNAMED,
            Self::Raw::WIDTH,
        )
    }

    /// Set bits that have no name in [`Self::BITS`].
    fn unknown_bits(self) -> Self::Raw {
        Self::Raw::narrow(self.raw().widen() & !mask(Self::BITS))
    }

    /// Whether bit `bit` is set (`false` past the word's width).
    fn is_set(self, bit: u8) -> bool {
        bit_of(self.raw().widen(), bit)
    }
}

/// The mask of every bit named in `table` (bits past 63 are ignored).
pub const fn mask(table: BitTable) -> u64 {
    let mut acc = 0u64;
    let mut rest = table;
    while let [(bit, _), more @ ..] = rest {
        if *bit < 64 {
            acc |= 1 << *bit;
        }
        rest = more;
    }
    acc
}

fn bit_of(word: u64, bit: u8) -> bool {
    word.checked_shr(bit.into()).is_some_and(|w| w & 1 == 1)
}

/// Iterator over the names of the set bits of a word; see [`FlagWord::flags`].
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone)]
pub struct FlagNames {
    word: u64,
    table: BitTable,
    unnamed: Unnamed,
    width: u32,
    next: u32,
}

impl FlagNames {
    /// Names of the set bits of `word` that `table` names, in table order. For words whose
    /// table depends on something else (a device family), where no [`FlagWord`] fits.
    pub const fn new(word: u64, table: BitTable) -> Self {
        Self::with(word, table, Unnamed::Skip, 64)
    }

    /// As [`Self::new`], with a policy for unnamed bits and the word's width in bits.
    pub const fn with(word: u64, table: BitTable, unnamed: Unnamed, width: u32) -> Self {
        Self {
            word,
            table,
            unnamed,
            width,
            next: 0,
        }
    }
}

impl Iterator for FlagNames {
    type Item = &'static str;

    fn next(&mut self) -> Option<&'static str> {
        loop {
            let i = self.next;
            self.next = i.saturating_add(1);
            match self.unnamed {
                Unnamed::Skip => {
                    let &(bit, name) = self.table.get(usize::try_from(i).ok()?)?;
                    if bit_of(self.word, bit) {
                        return Some(name);
                    }
                }
                Unnamed::BitN => {
                    if i >= self.width.min(64) {
                        return None;
                    }
                    let bit = u8::try_from(i).ok()?;
                    if bit_of(self.word, bit) {
                        let named = self.table.iter().find(|(b, _)| *b == bit);
                        return named
                            .map(|&(_, n)| n)
                            .or_else(|| BIT_NAMES.get(usize::from(bit)).copied());
                    }
                }
            }
        }
    }
}

/// A dense name list (`names[i]` is bit `i`) as a [`BitTable`], at compile time:
/// `const BITS: BitTable = &indexed(NAMES);`. Bits past 255 are not representable and left
/// out (their slots keep bit 0 and an empty name).
///
/// ```
/// use voltwire_core::table::indexed;
/// const PAIRS: [(u8, &str); 2] = indexed(["a", "b"]);
/// assert_eq!(PAIRS, [(0, "a"), (1, "b")]);
/// ```
pub const fn indexed<const N: usize>(names: [&'static str; N]) -> [(u8, &'static str); N] {
    let mut out = [(0u8, ""); N];
    let mut slots: &mut [(u8, &'static str)] = &mut out;
    let mut rest: &[&'static str] = &names;
    let mut bit: u8 = 0;
    while let ([slot, more_slots @ ..], [name, more_names @ ..]) = (slots, rest) {
        *slot = (bit, *name);
        slots = more_slots;
        rest = more_names;
        bit = match bit.checked_add(1) {
            Some(b) => b,
            None => break,
        };
    }
    out
}

/// Declares a flag word: a `pub` newtype over a [`RawWord`] with its bit table, implementing
/// [`FlagWord`], with a mask constant for each bit given `as NAME`, and the inherent methods
/// `flags()`, `unknown_bits()` and `contains(mask)` (so callers need not import the trait).
///
/// Derives `Debug, Clone, Copy, PartialEq, Eq, Hash, Default`. Bits are reported in table
/// order; write `report_unnamed` after the raw type to report unnamed set bits as `bit_N`
/// (in bit order) instead of skipping them.
///
/// For an existing newtype whose table is kept elsewhere (a dense name list, say), the form
/// `flag_word!(/// doc of flags() \n impl Name(u16) = TABLE, report_unnamed);` implements only
/// [`FlagWord`] and an inherent `flags()`.
///
/// ```
/// voltwire_core::flag_word! {
///     /// Protection bits.
///     pub struct Protection(u16) {
///         /// Over-voltage.
///         1 => "over_voltage" as OVER_VOLTAGE,
///         11 => "system_error",
///     }
/// }
///
/// let p = Protection(Protection::OVER_VOLTAGE | 1 << 11 | 1 << 15);
/// assert!(p.flags().eq(["over_voltage", "system_error"]));
/// assert_eq!(p.unknown_bits(), 1 << 15);
/// assert!(p.contains(Protection::OVER_VOLTAGE));
/// ```
#[macro_export]
macro_rules! flag_word {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($raw:ty) $($policy:ident)? {
            $( $(#[$bmeta:meta])* $bit:literal => $label:literal $(as $konst:ident)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        $vis struct $name(pub $raw);

        impl $name {
            $( $crate::flag_word!(@mask $vis, $raw, $bit, [$(#[$bmeta])*] $($konst)?); )*

            /// Names of the set bits that have one.
            $vis fn flags(self) -> $crate::FlagNames {
                <Self as $crate::FlagWord>::flags(self)
            }

            /// Set bits without a name.
            $vis fn unknown_bits(self) -> $raw {
                <Self as $crate::FlagWord>::unknown_bits(self)
            }

            /// Whether every bit of `mask` (e.g. one of the associated constants) is set.
            $vis const fn contains(self, mask: $raw) -> bool {
                self.0 & mask == mask
            }
        }

        $crate::__defmt_word!($name);
        $crate::__serde_word!($name($raw));

        impl $crate::FlagWord for $name {
            type Raw = $raw;
            const BITS: $crate::BitTable = &[$(($bit, $label)),*];
            $( const UNNAMED: $crate::Unnamed = $crate::flag_word!(@policy $policy); )?
            fn raw(self) -> $raw {
                self.0
            }
        }
    };
    (
        $(#[$fmeta:meta])*
        impl $name:ident($raw:ty) = $table:expr $(, $policy:ident)?
    ) => {
        impl $name {
            $(#[$fmeta])*
            pub fn flags(self) -> $crate::FlagNames {
                <Self as $crate::FlagWord>::flags(self)
            }
        }

        $crate::__serde_word!($name($raw));

        impl $crate::FlagWord for $name {
            type Raw = $raw;
            const BITS: $crate::BitTable = $table;
            $( const UNNAMED: $crate::Unnamed = $crate::flag_word!(@policy $policy); )?
            fn raw(self) -> $raw {
                self.0
            }
        }
    };
    (@mask $vis:vis, $raw:ty, $bit:literal, [$($m:tt)*] $konst:ident) => {
        $($m)*
        $vis const $konst: $raw = 1 << $bit;
    };
    (@mask $vis:vis, $raw:ty, $bit:literal, [$($m:tt)*]) => {};
    (@policy report_unnamed) => {
        $crate::Unnamed::BitN
    };
}

/// Implements `From` both ways between newtypes and the raw integers they wrap (for
/// `pub struct Name(pub u16)`-style wire words whose every raw value is valid).
///
/// ```
/// #[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// pub struct Status(pub u16);
/// #[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// pub struct Command(pub u8);
///
/// voltwire_core::raw_from!(Status(u16), Command(u8));
///
/// assert_eq!(Status::from(7), Status(7));
/// assert_eq!(u16::from(Status(7)), 7);
/// assert_eq!(u8::from(Command::from(0x90)), 0x90);
/// ```
#[macro_export]
macro_rules! raw_from {
    ($($name:ident($raw:ty)),* $(,)?) => {$(
        impl ::core::convert::From<$raw> for $name {
            fn from(raw: $raw) -> Self {
                Self(raw)
            }
        }

        impl ::core::convert::From<$name> for $raw {
            fn from(word: $name) -> Self {
                word.0
            }
        }
    )*};
}

#[cfg(test)]
#[allow(unreachable_pub, reason = "test types expanded from the macros")]
mod tests {
    use super::*;

    #[derive(Clone, Copy)]
    struct W(u8);
    impl FlagWord for W {
        type Raw = u8;
        const BITS: BitTable = &[(7, "seven"), (0, "zero")];
        fn raw(self) -> u8 {
            self.0
        }
    }

    #[derive(Clone, Copy)]
    struct N(u8);
    impl FlagWord for N {
        type Raw = u8;
        const BITS: BitTable = &[(7, "seven"), (0, "zero")];
        const UNNAMED: Unnamed = Unnamed::BitN;
        fn raw(self) -> u8 {
            self.0
        }
    }

    code_enum! {
        /// Test enum.
        #[allow(dead_code)]
        enum Code(u16) {
            /// A.
            A = 0x100 => "a",
        }
    }

    #[test]
    fn table_order_and_bit_order() {
        assert!(W(0x83).flags().eq(["seven", "zero"]));
        assert_eq!(W(0x83).unknown_bits(), 0x02);
        assert!(N(0x83).flags().eq(["zero", "bit_1", "seven"]));
        assert_eq!(N(0).flags().count(), 0);
        assert!(FlagNames::new(1 << 63, &[(63, "top"), (64, "none")]).eq(["top"]));
        assert_eq!(mask(&[(64, "x"), (1, "y")]), 2);
    }

    #[test]
    fn codes() {
        assert_eq!(Code::from(0x100), Code::A);
        assert_eq!(Code::from(7).raw(), 7);
        assert!(!Code::Unknown(7).is_known() && Code::A.is_known());
        assert_eq!(Code::from_name("b"), None);
    }

    flag_word! {
        /// Dense.
        pub(crate) struct Dense(u16) report_unnamed {
            /// Bit 0.
            0 => "zero" as ZERO,
            2 => "two",
        }
    }

    #[derive(Clone, Copy)]
    struct Existing(u8);
    flag_word!(
        /// Names.
        impl Existing(u8) = &indexed(["a", "b"]), report_unnamed
    );

    #[test]
    fn impl_form() {
        assert!(Existing(0b101).flags().eq(["a", "bit_2"]));
    }

    #[test]
    fn macro_and_indexed() {
        let d = Dense(0b1_0101);
        assert!(d.flags().eq(["zero", "two", "bit_4"]));
        assert_eq!(d.unknown_bits(), 0b1_0000);
        assert!(d.contains(Dense::ZERO) && !d.contains(0b10));
        assert_eq!(indexed(["a", "b", "c"]), [(0, "a"), (1, "b"), (2, "c")]);
    }
}

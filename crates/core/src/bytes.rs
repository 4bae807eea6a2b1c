//! [`ShortBytes`]: a handful of bytes kept verbatim with their length (ASCII names, text
//! fields, payloads a message does not interpret), `Copy` and without allocation.

/// Up to `N` bytes with their length.
///
/// Invariant (kept by the constructor): the length is at most `N` (and at most 255) and every
/// byte past it is zero, so two values are equal exactly when their bytes are.
///
/// ```
/// use voltwire_core::ShortBytes;
/// let name = ShortBytes::<8>::new(b"PYLON\0\0\0").unwrap();
/// assert_eq!(name.len(), 8);
/// assert_eq!(name.as_text(), Some("PYLON"));
/// let model = ShortBytes::<6>::new(b"BIC\xFF\xFF").unwrap();
/// assert_eq!(model.as_text(), None);
/// assert_eq!(model.as_text_trimming(b"\0 \xFF"), Some("BIC"));
/// assert!(ShortBytes::<6>::new(b"too long").is_none());
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShortBytes<const N: usize> {
    bytes: [u8; N],
    len: u8,
}

impl<const N: usize> Default for ShortBytes<N> {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl<const N: usize> ShortBytes<N> {
    /// No bytes.
    pub const EMPTY: Self = Self {
        bytes: [0; N],
        len: 0,
    };

    /// `data`, or `None` when it is longer than `N` bytes (or than 255).
    pub fn new(data: &[u8]) -> Option<Self> {
        let mut bytes = [0u8; N];
        bytes.get_mut(..data.len())?.copy_from_slice(data);
        Some(Self {
            bytes,
            len: u8::try_from(data.len()).ok()?,
        })
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// Number of bytes.
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether there are no bytes.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes as text: ASCII with trailing NUL and space padding removed, or `None` when
    /// a remaining byte is not printable ASCII.
    pub fn as_text(&self) -> Option<&str> {
        self.as_text_trimming(b"\0 ")
    }

    /// The bytes as text with every trailing byte found in `padding` removed, or `None` when
    /// a remaining byte is not printable ASCII (0x20-0x7E).
    pub fn as_text_trimming(&self, padding: &[u8]) -> Option<&str> {
        let b = self.as_bytes();
        let end = b
            .iter()
            .rposition(|c| !padding.contains(c))
            .map_or(0, |i| i + 1);
        let t = b.get(..end)?;
        if t.iter().all(|c| (0x20..0x7F).contains(c)) {
            core::str::from_utf8(t).ok()
        } else {
            None
        }
    }
}

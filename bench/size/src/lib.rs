//! Shared parts of the size probes: opaque inputs, an output sink, the panic handler and the
//! table of `size_of` values that `bench/size.sh` reads back from the ELF file.
#![no_std]

use core::hint::black_box;

/// Bytes the probes decode. Their content does not matter: `black_box` hides it from the
/// optimiser, so every branch of every decoder stays in the binary.
static INPUT: [u8; 64] = [0; 64];

/// An opaque input slice.
pub fn input() -> &'static [u8] {
    black_box(&INPUT[..])
}

/// An opaque byte.
pub fn byte() -> u8 {
    black_box(0)
}

/// An opaque value of any type with a default: the probes build messages from it so that the
/// encoders see values the optimiser cannot predict.
pub fn opaque<T>(value: T) -> T {
    black_box(value)
}

/// Keep a result alive.
pub fn sink<T>(value: T) {
    black_box(value);
}

/// One `size_of` record of the `.vw_sizes` section: a NUL-padded name, a kind
/// (0 = information, 1 = decoder under the RAM budget, 2 = message under the RAM budget) and
/// the size in bytes.
#[repr(C)]
#[derive(Debug)]
pub struct Entry {
    /// The type's name as printed, NUL-padded.
    pub name: [u8; 56],
    /// 0 = information only, 1 = a decoder held to the RAM budget, 2 = a message held to the
    /// message RAM budget.
    pub kind: u32,
    /// `size_of` on the probe's target.
    pub size: u32,
}

/// An [`Entry`] (const, for the static table).
pub const fn entry(name: &str, kind: u32, size: usize) -> Entry {
    let bytes = name.as_bytes();
    let mut out = [0u8; 56];
    let mut i = 0;
    while i < bytes.len() && i < out.len() {
        out[i] = bytes[i];
        i += 1;
    }
    #[allow(clippy::cast_possible_truncation)]
    Entry {
        name: out,
        kind,
        size: size as u32,
    }
}

/// The table of sizes, in its own section `.vw_sizes`, and the entry point that runs the
/// probe and keeps the table referenced.
#[macro_export]
macro_rules! probe_main {
    ($probe:path; $($kind:ident $name:literal => $ty:ty),* $(,)?) => {
        #[used]
        #[unsafe(link_section = ".vw_sizes")]
        static SIZES: [$crate::Entry; [$($name),*].len()] =
            [$($crate::entry($name, $crate::probe_main!(@kind $kind), core::mem::size_of::<$ty>())),*];

        /// The entry point the linker keeps; everything the probe reaches stays.
        #[unsafe(no_mangle)]
        pub extern "C" fn _start() -> ! {
            $crate::sink(&SIZES);
            $probe();
            loop {
                core::hint::spin_loop();
            }
        }
    };
    (@kind decoder) => { 1 };
    (@kind info) => { 0 };
    (@kind message) => { 2 };
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

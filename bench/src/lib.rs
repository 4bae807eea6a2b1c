//! Helpers shared by the benchmarks in `benches/` (this crate exists only for them).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// A global allocator that delegates to the system allocator and counts allocations
/// (and reallocations), so a bench can report heap allocations per frame. Install it with
/// `#[global_allocator] static GLOBAL: voltwire_bench::CountingAlloc = voltwire_bench::CountingAlloc;`.
#[derive(Debug)]
pub struct CountingAlloc;

// SAFETY: every call is forwarded unchanged to `System`, which upholds the contract.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `dealloc`; `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations (and reallocations) counted so far.
pub fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Time each function `rounds` times, interleaved (A B C A B C …), and return the fastest
/// pass of each in seconds. On a loaded machine the minimum of interleaved passes is far
/// steadier than one long run per function, and every function sees the same load, so the
/// ratios between them are what to read.
pub fn interleaved_min(fs: &[&dyn Fn() -> u64], rounds: usize) -> Vec<f64> {
    let mut best = vec![f64::INFINITY; fs.len()];
    for _ in 0..rounds {
        for (f, b) in fs.iter().zip(best.iter_mut()) {
            let t = std::time::Instant::now();
            std::hint::black_box(f());
            *b = b.min(t.elapsed().as_secs_f64());
        }
    }
    best
}

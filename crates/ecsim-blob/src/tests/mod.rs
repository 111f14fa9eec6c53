//! Tests against the real filesystem and the real `qemu-img`.

mod bucket;
mod qemu;
mod store;

use std::sync::atomic::{AtomicBool, Ordering};

/// Asserts that progress reports are monotone and end at `total`.
pub(crate) fn assert_progress(reports: &[u64], total: u64) {
    assert!(!reports.is_empty(), "no progress reported");
    assert!(
        reports.windows(2).all(|w| w[0] <= w[1]),
        "progress not monotone: {reports:?}"
    );
    assert_eq!(
        reports.last().copied(),
        Some(total),
        "progress must end at the total"
    );
}

/// A deterministic, incompressible-ish byte pattern.
pub(crate) fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

pub(crate) fn set(flag: &AtomicBool) {
    flag.store(true, Ordering::Relaxed);
}

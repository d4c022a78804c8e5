//! Shared by the matrix host and plugin: the framing and the deterministic
//! clock and ids of conformance/matrix/README.md.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

/// Unix time of the invocation start, and realtime at monotonic zero.
pub const TIME_BASE: u64 = 1_700_000_000_000_000_000;
/// Largest PluginTelemetry frame body a host accepts.
pub const MAX_PAYLOAD: usize = 4 << 20;

/// Monotonic time set by the caller; realtime = TIME_BASE + monotonic.
#[derive(Clone, Default)]
pub struct ManualClock(pub Arc<AtomicU64>);

impl ManualClock {
    /// Set the monotonic time in nanoseconds.
    pub fn set(&self, ns: u64) {
        self.0.store(ns, Ordering::Relaxed)
    }
}

impl ptel::Clock for ManualClock {
    fn monotonic_ns(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    fn realtime_ns(&self) -> u64 {
        TIME_BASE + self.0.load(Ordering::Relaxed)
    }
}

/// Ids all zero but the first byte (`.0`) and the last, a counter from 1.
#[derive(Default)]
pub struct CountingIds(pub u8, pub AtomicU8);

impl ptel::IdGenerator for CountingIds {
    fn fill(&self, out: &mut [u8]) {
        out.fill(0);
        out[0] = self.0;
        if let Some(last) = out.last_mut() {
            *last = self.1.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        }
    }
}

/// One frame: 4-byte little-endian length, then the bytes.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// The body of exactly one frame of at most `limit` bytes, or None.
pub fn unframe(data: &[u8], limit: usize) -> Option<&[u8]> {
    let head: [u8; 4] = data.get(..4)?.try_into().ok()?;
    let n = u32::from_le_bytes(head) as usize;
    (n <= limit && n == data.len() - 4).then(|| &data[4..])
}

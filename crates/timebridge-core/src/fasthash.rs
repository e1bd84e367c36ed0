//! A small, fast, non-cryptographic hasher for the planner's in-memory hash joins.
//!
//! The planner joins millions of string keys; SipHash (std's default) spends most of the
//! planning time hashing. These maps live for one planning call only and are never
//! persisted, so stability across versions does not matter here (see `fingerprint` for
//! the stable hash). Keys come from the configured source and target systems, not from
//! anonymous clients, so hash flooding is not a concern.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Fx-style multiplicative hasher (as used by rustc), fed a word at a time.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FastHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(buf));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // Final avalanche so the low bits used by the table depend on every input bit.
        let mut h = self.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Hash of a string key with [`FastHasher`], computed once and reused by the joins.
#[inline]
pub(crate) fn hash_str(s: &str) -> u64 {
    let mut h = FastHasher::default();
    h.write(s.as_bytes());
    h.write_u8(0xff);
    h.finish()
}

/// A string key with its precomputed hash. Equality compares the hash first, then the
/// pointer (the same string seen again costs no memory access), then the bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HKey<'a> {
    pub hash: u64,
    pub key: &'a str,
}

impl<'a> HKey<'a> {
    #[inline]
    pub fn new(hash: u64, key: &'a str) -> Self {
        HKey { hash, key }
    }
}

impl PartialEq for HKey<'_> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && self.key.len() == other.key.len()
            && (std::ptr::eq(self.key.as_ptr(), other.key.as_ptr()) || self.key == other.key)
    }
}

impl Eq for HKey<'_> {}

impl std::hash::Hash for HKey<'_> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Passes a precomputed, already mixed hash through unchanged.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PassHasher(u64);

impl Hasher for PassHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(SEED);
        }
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by [`HKey`], hashing nothing again.
pub(crate) type HMap<'a, V> = HashMap<HKey<'a>, V, BuildHasherDefault<PassHasher>>;

pub(crate) fn hmap_with_capacity<'a, V>(n: usize) -> HMap<'a, V> {
    HMap::with_capacity_and_hasher(n, BuildHasherDefault::default())
}

pub(crate) fn map_with_capacity<K, V>(n: usize) -> FastMap<K, V> {
    FastMap::with_capacity_and_hasher(n, BuildHasherDefault::default())
}

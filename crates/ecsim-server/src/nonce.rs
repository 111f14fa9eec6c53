//! Replay protection: a SignatureNonce is accepted once per AccessKey within the timestamp
//! window. Requests older than the window are refused by their timestamp, so nonces only need
//! remembering for twice the window.
//!
//! At thousands of signed requests per second the retention holds millions of nonces, so each
//! is kept as a 128-bit keyed digest of (AccessKey, nonce) — 16 bytes instead of two heap
//! strings — in time buckets, so forgetting the old ones drops whole buckets instead of
//! sweeping one big map under the lock every request waits on.

use ecsim_core::Millis;
use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// How many buckets the retention is cut into: a lookup checks every live bucket, and a
/// bucket is dropped once all of it is older than the retention (kept at most one bucket
/// width longer, which is harmless: the timestamp check refuses such requests anyway).
const BUCKETS_PER_RETENTION: Millis = 8;

pub struct NonceCache {
    retention_ms: Millis,
    bucket_ms: Millis,
    /// Two independently keyed SipHash functions with per-process random keys: together a
    /// 128-bit digest nobody outside the process can aim a collision at.
    digest_keys: (RandomState, RandomState),
    inner: Mutex<Buckets>,
    /// Whether the nonces of earlier runs are in `inner` ([`NonceCache::preload`] done).
    loaded: AtomicBool,
    /// Whether the preload is over, done or failed ([`NonceCache::wait_settled`]).
    settled: AtomicBool,
    settled_signal: tokio::sync::Notify,
}

/// Oldest first; each holds the digests of the nonces first seen in its time slice.
type Buckets = VecDeque<(Millis, DigestSet)>;
type DigestSet = HashSet<u128, BuildHasherDefault<DigestHasher>>;

impl NonceCache {
    pub fn new(window_ms: Millis) -> Self {
        let retention_ms = window_ms.saturating_mul(2);
        Self {
            retention_ms,
            bucket_ms: (retention_ms / BUCKETS_PER_RETENTION).max(1),
            digest_keys: (RandomState::new(), RandomState::new()),
            inner: Mutex::new(VecDeque::new()),
            loaded: AtomicBool::new(false),
            settled: AtomicBool::new(false),
            settled_signal: tokio::sync::Notify::new(),
        }
    }

    /// Returns once the preload is over (done or failed), or after `limit`. On SQLite a signed
    /// request waits here instead of looking its nonce up in the database: the nonce log has no
    /// index (one append per accepted nonce), so that lookup is a scan, ~140 ms with 700k rows,
    /// while the whole preload of those rows takes about as long.
    pub async fn wait_settled(&self, limit: std::time::Duration) {
        if self.settled.load(Ordering::Acquire) {
            return;
        }
        let notified = self.settled_signal.notified();
        tokio::pin!(notified);
        // Registered before the second check, so a preload settling in between is not missed.
        notified.as_mut().enable();
        if self.settled.load(Ordering::Acquire) {
            return;
        }
        let _ = tokio::time::timeout(limit, notified).await;
    }

    /// The preload failed: nobody waits for it any more, and authentication keeps asking the
    /// database about each nonce this cache has not seen (slow, still correct).
    pub fn preload_failed(&self) {
        self.settle();
    }

    fn settle(&self) {
        self.settled.store(true, Ordering::Release);
        self.settled_signal.notify_waiters();
    }

    /// Whether the nonces of earlier runs are all here. Until then a nonce this cache has not
    /// seen must also be looked up in the database. Read it before [`NonceCache::first_use`]:
    /// a preload that finishes in between has then put every earlier nonce in the map.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Remembers nonces accepted before a restart, as [`NonceCache::digest`]s and the time
    /// each was seen; may be called in parts, then [`NonceCache::preload_done`].
    pub fn preload(&self, digests: impl IntoIterator<Item = (u128, Millis)>) {
        let mut buckets = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for (digest, at) in digests {
            self.bucket_for(&mut buckets, at).insert(digest);
        }
    }

    /// Every earlier nonce is preloaded: afterwards [`NonceCache::is_loaded`].
    pub fn preload_done(&self) {
        self.loaded.store(true, Ordering::Release);
        self.settle();
    }

    pub fn retention_ms(&self) -> Millis {
        self.retention_ms
    }

    /// Records the nonce; false if this key already used it.
    pub fn first_use(&self, access_key_id: &str, nonce: &str, now: Millis) -> bool {
        let digest = self.digest(access_key_id, nonce);
        let mut buckets = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let horizon = now - self.retention_ms;
        while buckets
            .front()
            .is_some_and(|(start, _)| start + self.bucket_ms <= horizon)
        {
            buckets.pop_front();
        }
        if buckets.iter().any(|(_, set)| set.contains(&digest)) {
            return false;
        }
        self.bucket_for(&mut buckets, now).insert(digest)
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        let buckets = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        buckets.iter().map(|(_, set)| set.len()).sum()
    }

    /// The pair's 128-bit keyed digest, what the cache remembers of it.
    pub fn digest(&self, access_key_id: &str, nonce: &str) -> u128 {
        let pair = (access_key_id, nonce);
        let high = self.digest_keys.0.hash_one(pair);
        let low = self.digest_keys.1.hash_one(pair);
        (u128::from(high) << 64) | u128::from(low)
    }

    /// The bucket whose time slice holds `at`, created in time order if missing.
    fn bucket_for<'a>(&self, buckets: &'a mut Buckets, at: Millis) -> &'a mut DigestSet {
        let start = at.div_euclid(self.bucket_ms) * self.bucket_ms;
        let index = buckets.partition_point(|(s, _)| *s < start);
        if buckets.get(index).is_none_or(|(s, _)| *s != start) {
            buckets.insert(index, (start, DigestSet::default()));
        }
        &mut buckets[index].1
    }
}

/// The digests are already uniformly distributed keyed hashes, so the sets use their low 64
/// bits as the hash instead of hashing them a second time.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached if something other than a u128 is hashed; fold it in anyway.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u128(&mut self, digest: u128) {
        self.0 = digest as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_accepted_once_per_key() {
        let cache = NonceCache::new(1000);
        assert!(cache.first_use("ak", "n1", 0));
        assert!(!cache.first_use("ak", "n1", 10));
        assert!(cache.first_use("other", "n1", 10));
        assert!(cache.first_use("ak", "n2", 10));
        // The pair is hashed as a pair: moving a character across the boundary is another pair.
        assert!(cache.first_use("akn", "1", 10));
    }

    #[test]
    fn a_nonce_is_refused_for_the_whole_retention_across_buckets() {
        let cache = NonceCache::new(1000); // retention 2000 ms, buckets of 250 ms
        assert!(cache.first_use("ak", "n1", 0));
        for now in (10..2000).step_by(97) {
            assert!(cache.first_use("ak", &format!("filler{now}"), now));
            assert!(
                !cache.first_use("ak", "n1", now),
                "replay accepted at {now} ms"
            );
        }
        // A bucket is kept while any of its slice is within the retention: seen at 200 ms,
        // in the bucket starting at 0, so still refused at 2100 ms.
        assert!(cache.first_use("ak", "late-in-bucket", 200));
        assert!(!cache.first_use("ak", "late-in-bucket", 2100));
    }

    #[test]
    fn old_nonces_are_forgotten_after_the_retention() {
        let cache = NonceCache::new(1000);
        assert!(cache.first_use("ak", "n1", 0));
        // Past twice the window the timestamp check refuses the request anyway.
        assert!(cache.first_use("ak", "n1", 5000));
        // Expired buckets are dropped, not kept forever.
        assert_eq!(cache.remembered(), 1);
    }

    #[test]
    fn preloaded_nonces_are_refused_and_expire_by_their_own_time() {
        let cache = NonceCache::new(1000);
        cache.preload([(cache.digest("ak", "old"), 100)]);
        assert!(!cache.is_loaded(), "loaded only once all parts are in");
        cache.preload([(cache.digest("ak", "recent"), 1900)]);
        cache.preload_done();
        assert!(cache.is_loaded());
        assert!(!cache.first_use("ak", "recent", 2000));
        assert!(!cache.first_use("ak", "old", 2000));
        // 2400 ms: "old" (seen at 100) is past the 2000 ms retention, "recent" is not.
        assert!(cache.first_use("ak", "old", 2400));
        assert!(!cache.first_use("ak", "recent", 2400));
    }
}

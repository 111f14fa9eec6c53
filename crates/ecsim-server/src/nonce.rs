//! Replay protection: a SignatureNonce is accepted once per AccessKey within the timestamp
//! window. Requests older than the window are refused by their timestamp, so nonces only need
//! remembering for twice the window.

use ecsim_core::Millis;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct NonceCache {
    retention_ms: Millis,
    inner: Mutex<Inner>,
    /// Whether the nonces of earlier runs are in `inner` ([`NonceCache::preload`] done).
    loaded: AtomicBool,
}

struct Inner {
    seen: HashMap<(String, String), Millis>,
    last_sweep: Millis,
}

impl NonceCache {
    pub fn new(window_ms: Millis) -> Self {
        Self {
            retention_ms: window_ms.saturating_mul(2),
            inner: Mutex::new(Inner {
                seen: HashMap::new(),
                last_sweep: 0,
            }),
            loaded: AtomicBool::new(false),
        }
    }

    /// Whether the nonces of earlier runs are all here. Until then a nonce this cache has not
    /// seen must also be looked up in the database. Read it before [`NonceCache::first_use`]:
    /// a preload that finishes in between has then put every earlier nonce in the map.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Remembers nonces accepted before a restart; afterwards [`NonceCache::is_loaded`].
    pub fn preload(&self, records: impl IntoIterator<Item = (String, String, Millis)>) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for (key, nonce, at) in records {
            inner.seen.entry((key, nonce)).or_insert(at);
        }
        drop(inner);
        self.loaded.store(true, Ordering::Release);
    }

    pub fn retention_ms(&self) -> Millis {
        self.retention_ms
    }

    /// Records the nonce; false if this key already used it.
    pub fn first_use(&self, access_key_id: &str, nonce: &str, now: Millis) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if now - inner.last_sweep > self.retention_ms / 4 {
            let horizon = now - self.retention_ms;
            inner.seen.retain(|_, at| *at >= horizon);
            inner.last_sweep = now;
        }
        match inner
            .seen
            .entry((access_key_id.to_string(), nonce.to_string()))
        {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(now);
                true
            }
        }
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
    }

    #[test]
    fn old_nonces_are_forgotten_after_the_retention() {
        let cache = NonceCache::new(1000);
        assert!(cache.first_use("ak", "n1", 0));
        // Past twice the window the timestamp check refuses the request anyway.
        assert!(cache.first_use("ak", "n1", 5000));
    }
}

//! What every request can reach: the store, the clock, settings and caches.

use crate::nonce::NonceCache;
use ecsim_core::Clock;
use ecsim_core::model::Region;
use ecsim_store::Store;
use std::sync::Arc;
use tokio::sync::Notify;

/// Tunables, with the defaults `ecsim serve` uses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long CreateImage and CreateSnapshot stay `Creating`/`progressing`.
    pub creation_time_ms: i64,
    /// Largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
    /// Allowed clock skew of signed requests (ECS: 15 minutes).
    pub timestamp_window_ms: i64,
    /// How many of its images one account may share (`QuotaExceed.ShareImage`).
    pub shared_images_quota: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            creation_time_ms: 2_000,
            max_body_bytes: 1024 * 1024,
            timestamp_window_ms: 15 * 60 * 1000,
            shared_images_quota: 100,
        }
    }
}

pub struct AppState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
    /// The region catalog, read once at start (it never changes while running).
    pub regions: Vec<Region>,
    pub nonces: NonceCache,
    /// Woken when a timed creation starts, so the completion worker recomputes its deadline.
    pub completions: Notify,
}

impl AppState {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Result<Self, ecsim_wire::ApiError> {
        let regions = store.read(|tx| Ok(tx.regions()?))?;
        let nonces = NonceCache::new(settings.timestamp_window_ms);
        let recent = store.nonces_since(clock.now() - nonces.retention_ms())?;
        nonces.preload(
            recent
                .into_iter()
                .map(|r| (r.access_key_id, r.nonce, r.seen_at)),
        );
        Ok(Self {
            store,
            clock,
            settings,
            regions,
            nonces,
            completions: Notify::new(),
        })
    }

    pub fn region(&self, id: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.id == id)
    }
}

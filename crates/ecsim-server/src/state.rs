//! What every request can reach: the store, the byte store, the clock, settings and caches.

use crate::auth::RootKeyCache;
use crate::nonce::NonceCache;
use ecsim_blob::{BlobStore, DirStore, OssRoot, Qemu};
use ecsim_core::Clock;
use ecsim_core::model::Region;
use ecsim_store::Store;
use ecsim_wire::{ApiError, Code};
use std::num::NonZeroU64;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Notify;

/// Tunables, with the defaults `ecsim serve` uses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where blobs (`blobs/`) and the node's identity (`node-id`) live.
    pub data_dir: PathBuf,
    /// Keep blobs here instead of `data_dir/blobs`: a directory every node of a shared
    /// (PostgreSQL) database mounts, standing in for object storage.
    pub blob_dir: Option<PathBuf>,
    /// Keep blobs in an S3-compatible object store instead: `s3://BUCKET[/PREFIX]`, endpoint and
    /// credentials from the `AWS_*` environment. Needs the cargo feature `s3`.
    pub blob_url: Option<String>,
    /// The OSS emulation for ImportImage/ExportImage: bucket = subdirectory.
    pub oss_root: Option<PathBuf>,
    /// How long CreateImage and CreateSnapshot stay `Creating`/`progressing`.
    pub creation_time_ms: i64,
    /// Largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
    /// Allowed clock skew of signed requests (ECS: 15 minutes).
    pub timestamp_window_ms: i64,
    /// How many of its images one account may share (`QuotaExceed.ShareImage`).
    pub shared_images_quota: u64,
    /// Limits every task's byte rate, so in-flight states can be observed.
    pub task_bytes_per_second: Option<NonZeroU64>,
    /// How long a worker's claim on a task lasts without renewal.
    pub task_lease_ms: i64,
    /// Tasks one node works on at once.
    pub task_workers: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./ecsim-data"),
            blob_dir: None,
            blob_url: None,
            oss_root: None,
            creation_time_ms: 2_000,
            max_body_bytes: 1024 * 1024,
            timestamp_window_ms: 15 * 60 * 1000,
            shared_images_quota: 100,
            task_bytes_per_second: None,
            task_lease_ms: 30_000,
            task_workers: 2,
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
    pub root_keys: RootKeyCache,
    /// Woken when a timed creation starts, so the completion worker recomputes its deadline.
    pub completions: Notify,
    /// Woken when a task is queued or cancelled.
    pub tasks: Notify,
    pub blobs: Arc<dyn BlobStore>,
    pub qemu: Qemu,
    pub oss: Option<OssRoot>,
    /// This node's stable name in task leases (kept in `DATA_DIR/node-id`).
    pub node_id: String,
}

fn io_failure(what: &str, err: std::io::Error) -> ApiError {
    tracing::error!(error = %err, "{what}");
    ApiError::new(Code::InternalError)
}

/// The node id survives restarts, so a restarted node resumes its own tasks at once instead of
/// waiting for their leases to expire.
fn node_id(data_dir: &std::path::Path) -> Result<String, ApiError> {
    let path = data_dir.join("node-id");
    if let Ok(existing) = std::fs::read_to_string(&path)
        && !existing.trim().is_empty()
    {
        return Ok(existing.trim().to_string());
    }
    let id = uuid::Uuid::new_v4().to_string();
    std::fs::create_dir_all(data_dir).map_err(|e| io_failure("creating the data dir", e))?;
    std::fs::write(&path, &id).map_err(|e| io_failure("writing node-id", e))?;
    Ok(id)
}

/// The blob store the settings name: an S3 bucket (`blob_url`), a shared directory
/// (`blob_dir`) or `DATA_DIR/blobs`.
fn open_blobs(settings: &Settings) -> Result<Arc<dyn BlobStore>, ApiError> {
    if let Some(url) = &settings.blob_url {
        return open_s3(url, settings);
    }
    let blobs = match &settings.blob_dir {
        Some(dir) => DirStore::open_root(dir),
        None => DirStore::open(&settings.data_dir),
    }
    .map_err(|e| io_failure("opening the blob store", e))?;
    // Half-written files of a previous run (killed mid-task) are never finished: tasks redo
    // their work from the start.
    // A shared blob directory may hold other nodes' live writes: only old leftovers go.
    let temp_age = if settings.blob_dir.is_some() {
        std::time::Duration::from_secs(3600)
    } else {
        std::time::Duration::ZERO
    };
    if let Err(err) = blobs.sweep_temps(temp_age) {
        tracing::warn!(error = %err, "sweeping unfinished blob files failed");
    }
    Ok(Arc::new(blobs))
}

#[cfg(feature = "s3")]
fn open_s3(url: &str, settings: &Settings) -> Result<Arc<dyn BlobStore>, ApiError> {
    // Unfinished multipart uploads of a killed run never become objects; S3 lifecycle rules
    // (AbortIncompleteMultipartUpload) reclaim their parts.
    let store = ecsim_blob::S3Store::from_env(url, &settings.data_dir.join("s3-scratch"))
        .and_then(|s| s.check().map(|()| s))
        .map_err(|e| {
            tracing::error!(error = %e, "opening the S3 blob store");
            ApiError::new(Code::InternalError)
        })?;
    tracing::info!(store = ?store, "blobs in S3");
    Ok(Arc::new(store))
}

#[cfg(not(feature = "s3"))]
fn open_s3(_url: &str, _settings: &Settings) -> Result<Arc<dyn BlobStore>, ApiError> {
    tracing::error!("a blob URL needs an ecsim built with the cargo feature `s3`");
    Err(ApiError::new(Code::InternalError))
}

impl AppState {
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: Settings) -> Result<Self, ApiError> {
        let regions = store.read(|tx| Ok(tx.regions()?))?;
        // Earlier runs' nonces are loaded by `preload_nonces`, after start-up.
        let nonces = NonceCache::new(settings.timestamp_window_ms);
        let blobs = open_blobs(&settings)?;
        let oss = settings
            .oss_root
            .as_deref()
            .map(OssRoot::new)
            .transpose()
            .map_err(|e| io_failure("opening the OSS root", e))?;
        let _ = std::fs::remove_dir_all(settings.data_dir.join("scratch"));
        let node_id = node_id(&settings.data_dir)?;
        store.write(|tx| Ok(tx.release_leases(&node_id)?))?;
        Ok(Self {
            store,
            clock,
            settings,
            regions,
            nonces,
            root_keys: RootKeyCache::default(),
            completions: Notify::new(),
            tasks: Notify::new(),
            blobs,
            qemu: Qemu::new(),
            oss,
            node_id,
        })
    }

    /// Loads the nonces earlier runs accepted within the retention, so their replays are
    /// refused from memory. After heavy use that is hundreds of thousands of rows (most of a
    /// second), so `ecsim serve` runs it after it starts answering; until it is done, signed
    /// requests wait for it ([`NonceCache::wait_settled`]; on PostgreSQL every node claims each
    /// nonce in the database instead).
    pub fn preload_nonces(&self) -> Result<(), ApiError> {
        // Digested as they are read and added in small batches: a list of all the records
        // (~140 bytes each) was freed right after, but an allocator with per-thread caches
        // may keep such a peak resident while idle.
        const BATCH: usize = 4096;
        let mut batch = Vec::with_capacity(BATCH);
        let mut count = 0usize;
        self.store.each_nonce_since(
            self.clock.now() - self.nonces.retention_ms(),
            |access_key_id, nonce, seen_at| {
                batch.push((self.nonces.digest(access_key_id, nonce), seen_at));
                if batch.len() == BATCH {
                    self.nonces.preload(batch.drain(..));
                }
                count += 1;
            },
        )?;
        self.nonces.preload(batch);
        self.nonces.preload_done();
        tracing::debug!(count, "nonces of earlier runs loaded");
        Ok(())
    }

    pub fn region(&self, id: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.id == id)
    }
}

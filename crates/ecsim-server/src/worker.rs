//! Ends timed creations (images `Creating`, snapshots `progressing`) when they are due. The due
//! time is stored with the resource, so a restart simply finds overdue ones and ends them.

use crate::blobs;
use crate::state::AppState;
use ecsim_core::model::{BlobRef, ImageStatus, SnapshotStatus};
use ecsim_wire::ApiError;
use std::sync::Arc;
use std::time::Duration;

/// Longest nap between checks when nothing is due; new creations wake the worker anyway.
const IDLE_WAIT: Duration = Duration::from_secs(60);
const RETRY_WAIT: Duration = Duration::from_secs(1);

pub async fn run_completions(app: Arc<AppState>) {
    loop {
        let worker_app = Arc::clone(&app);
        let step = tokio::task::spawn_blocking(move || {
            let now = worker_app.clock.now();
            complete_due(&worker_app, now)?;
            worker_app
                .store
                .read(|tx| Ok(tx.next_due()?))
                .map(|n| (n, now))
        })
        .await;
        let wait = match step {
            Ok(Ok((Some(due), now))) => {
                Duration::from_millis(u64::try_from((due - now).max(1)).unwrap_or(1)).min(IDLE_WAIT)
            }
            Ok(Ok((None, _))) => IDLE_WAIT,
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "completing timed creations failed; retrying");
                RETRY_WAIT
            }
            Err(err) => {
                tracing::error!(error = %err, "completion worker task failed; retrying");
                RETRY_WAIT
            }
        };
        tokio::select! {
            _ = app.completions.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Ends the creations due by `now`: their bytes are cloned from the source blob first (snapshots
/// before images, since an image is made from its system-disk snapshot), then the status flips.
/// A missing source fails the creation instead of leaving it `Creating`.
fn complete_due(app: &AppState, now: ecsim_core::Millis) -> Result<(), ApiError> {
    let snapshots = app.store.read(|tx| Ok(tx.due_snapshots(now)?))?;
    for snapshot in snapshots {
        let cloned = clone_source(
            app,
            snapshot.blob_source.as_ref(),
            &snapshot.region_id,
            &snapshot.id,
        );
        app.store.write(|tx| {
            let Some(mut current) = tx.snapshot(&snapshot.id)? else {
                return Ok(());
            };
            if current.status != SnapshotStatus::Progressing {
                return Ok(());
            }
            current.status = if cloned.is_some() {
                SnapshotStatus::Accomplished
            } else {
                SnapshotStatus::Failed
            };
            current.ready_at = None;
            current.blob_source = None;
            Ok(tx.put_snapshot(&current)?)
        })?;
        // The snapshot of a disk whose image was Force-deleted (and whose instance went
        // meanwhile) was the last reader of the image's bytes.
        if let Some(source) = &snapshot.blob_source {
            blobs::release_image_if_unused(app, &source.region, &source.key);
        }
    }
    let images = app.store.read(|tx| Ok(tx.due_images(now)?))?;
    for image in images {
        // An image is made from its system-disk snapshot's bytes. If that snapshot is still
        // progressing (its CreateImage committed after the snapshots were read above), the
        // next round takes it first; failing the image here would be wrong.
        if let Some(source) = &image.blob_source {
            let pending = app.store.read(|tx| {
                Ok(tx
                    .snapshot(&source.key)?
                    .is_some_and(|s| s.status == SnapshotStatus::Progressing))
            })?;
            if pending {
                continue;
            }
        }
        let cloned = clone_source(app, image.blob_source.as_ref(), &image.region_id, &image.id);
        app.store.write(|tx| {
            let Some(mut current) = tx.image(&image.region_id, &image.id)? else {
                return Ok(());
            };
            if current.status != ImageStatus::Creating || current.is_deleted() {
                return Ok(());
            }
            current.status = if cloned.is_some() {
                ImageStatus::Available
            } else {
                ImageStatus::CreateFailed
            };
            current.blob_sha256 = cloned.flatten();
            current.ready_at = None;
            current.blob_source = None;
            Ok(tx.put_image(&current)?)
        })?;
    }
    Ok(())
}

/// Clones `source` to `region/key`; `Some(checksum)` when the bytes are in place (`Some(None)`
/// when there are none to move), `None` when cloning failed.
fn clone_source(
    app: &AppState,
    source: Option<&BlobRef>,
    region: &str,
    key: &str,
) -> Option<Option<String>> {
    let Some(source) = source else {
        return Some(None);
    };
    let result = blobs::ensure_system_blob(app, &source.region, &source.key).and_then(|src| {
        let dst = blobs::blob_id(region, key)?;
        app.blobs
            .clone_blob(&src, &dst, None, &mut ecsim_blob::Transfer::new())
            .map_err(|e| e.to_string())
    });
    match result {
        Ok(cloned) => Some(Some(cloned.info.sha256)),
        Err(err) => {
            tracing::warn!(error = %err, source = %source.key, target = key, "cloning bytes failed");
            None
        }
    }
}

/// How long an accepted nonce of a read-only request may wait in memory before it is written.
const NONCE_FLUSH_EVERY: Duration = Duration::from_millis(200);
/// How often nonces older than the retention are deleted.
const NONCE_PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Writes accepted nonces that no write transaction took along, and prunes expired ones.
pub async fn run_nonce_flusher(app: Arc<AppState>) {
    let mut last_prune = std::time::Instant::now();
    loop {
        tokio::time::sleep(NONCE_FLUSH_EVERY).await;
        let prune = last_prune.elapsed() >= NONCE_PRUNE_EVERY;
        if !prune && !app.store.has_pending_nonces() {
            continue;
        }
        if prune {
            last_prune = std::time::Instant::now();
        }
        flush_nonces(&app).await;
    }
}

/// One flush, also run at shutdown so a graceful restart forgets nothing.
pub async fn flush_nonces(app: &Arc<AppState>) {
    let app = Arc::clone(app);
    let result = tokio::task::spawn_blocking(move || {
        let forget_before = app.clock.now() - app.nonces.retention_ms();
        app.store.flush_nonces(forget_before)
    })
    .await;
    match result {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!(error = %err, "writing nonces failed; will retry"),
        Err(err) => tracing::error!(error = %err, "nonce flush task failed"),
    }
}

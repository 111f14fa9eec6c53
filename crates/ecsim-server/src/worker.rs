//! Ends timed creations (images `Creating`, snapshots `progressing`) when they are due. The due
//! time is stored with the resource, so a restart simply finds overdue ones and ends them.

use crate::blobs::{self, Batch, Cloned, Plan, SourceBlob};
use crate::state::AppState;
use ecsim_core::model::{BlobRef, Image, ImageStatus, SnapshotStatus};
use ecsim_wire::ApiError;
use std::collections::HashMap;
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

/// Ends the creations due by `now`: their bytes are cloned from the source blob first (a
/// snapshot's from its disk's image, an image's from its system-disk snapshot), then the status
/// flips. A missing source fails the creation instead of leaving it `Creating`.
///
/// Everything due is ended in one round: one read, one batch of clones (the directory store
/// fsyncs each directory once for the batch, not once per clone) and one write transaction (one
/// commit and fsync), so a burst of CreateImage calls costs about as much as one. A failed
/// commit leaves them all due and the next round clones them again (a clone replaces its
/// destination atomically).
fn complete_due(app: &AppState, now: ecsim_core::Millis) -> Result<(), ApiError> {
    let (snapshots, images) = app.store.read(|tx| {
        let snapshots = tx.due_snapshots(now)?;
        // Each due image with the snapshot its bytes come from.
        let mut images = Vec::new();
        for image in tx.due_images(now)? {
            let snapshot = match &image.blob_source {
                Some(source) => tx.snapshot(&source.key)?,
                None => None,
            };
            images.push((image, snapshot));
        }
        Ok((snapshots, images))
    })?;
    if snapshots.is_empty() && images.is_empty() {
        return Ok(());
    }
    let mut batch = Batch::default();
    // Snapshots of one burst usually share a source (one instance's image): look it up once.
    let mut sources: HashMap<&BlobRef, Result<SourceBlob, String>> = HashMap::new();
    let snapshot_plans: Vec<Plan> = snapshots
        .iter()
        .map(|snapshot| match &snapshot.blob_source {
            None => Plan::Nothing,
            Some(source) => {
                let blob = sources
                    .entry(source)
                    .or_insert_with(|| blobs::image_blob(app, &source.region, &source.key));
                batch.add(blob.clone(), &snapshot.region_id, &snapshot.id)
            }
        })
        .collect();
    let in_this_round: HashMap<&str, usize> = snapshots
        .iter()
        .enumerate()
        .map(|(n, s)| (s.id.as_str(), n))
        .collect();
    // (image, its clone, the snapshot of this round it is made from)
    let mut image_plans: Vec<(&Image, Plan, Option<usize>)> = Vec::new();
    for (image, snapshot) in &images {
        let Some(source) = &image.blob_source else {
            image_plans.push((image, Plan::Nothing, None));
            continue;
        };
        let (checksum, made_from) = match snapshot {
            Some(s) if s.status == SnapshotStatus::Progressing => {
                // Its snapshot ends in this round, cloned first in the same batch: its bytes
                // are that snapshot's source's, so its recorded checksum holds for both. When
                // none is recorded (or the snapshot is not due yet, its CreateImage having
                // committed after the read), the image waits for the next round, which finds
                // the snapshot ended; failing it here would be wrong.
                let Some(&n) = in_this_round.get(s.id.as_str()) else {
                    continue;
                };
                let Some(sum) = batch.source_checksum(snapshot_plans[n]) else {
                    continue;
                };
                (Some(sum), Some(n))
            }
            Some(s) => (s.blob_sha256.clone(), None),
            None => (None, None),
        };
        let blob =
            blobs::blob_id(&source.region, &source.key).map(|id| SourceBlob { id, checksum });
        let plan = batch.add(blob, &image.region_id, &image.id);
        image_plans.push((image, plan, made_from));
    }
    let done = batch.run(app);
    let snapshot_bytes: Vec<Cloned> = snapshot_plans.iter().map(|p| done.of(*p)).collect();
    let image_bytes: Vec<Cloned> = image_plans
        .iter()
        .map(|(_, plan, made_from)| match made_from {
            // Bytes linked from a snapshot whose own clone failed are not the image's.
            Some(n) if !snapshot_bytes[*n].succeeded() => Cloned::Failed,
            _ => done.of(*plan),
        })
        .collect();
    app.store.write(|tx| {
        for (snapshot, cloned) in snapshots.iter().zip(&snapshot_bytes) {
            let Some(mut current) = tx.snapshot(&snapshot.id)? else {
                continue;
            };
            if current.status != SnapshotStatus::Progressing {
                continue;
            }
            current.status = if cloned.succeeded() {
                SnapshotStatus::Accomplished
            } else {
                SnapshotStatus::Failed
            };
            current.blob_sha256 = cloned.checksum();
            current.ready_at = None;
            current.blob_source = None;
            tx.put_snapshot(&current)?;
        }
        for ((image, _, _), cloned) in image_plans.iter().zip(&image_bytes) {
            let Some(mut current) = tx.image(&image.region_id, &image.id)? else {
                continue;
            };
            if current.status != ImageStatus::Creating || current.is_deleted() {
                continue;
            }
            current.status = if cloned.succeeded() {
                ImageStatus::Available
            } else {
                ImageStatus::CreateFailed
            };
            current.blob_sha256 = cloned.checksum();
            current.ready_at = None;
            current.blob_source = None;
            tx.put_image(&current)?;
        }
        Ok(())
    })?;
    // The snapshot of a disk whose image was Force-deleted (and whose instance went meanwhile)
    // was the last reader of the image's bytes.
    for source in sources.keys() {
        blobs::release_image_if_unused(app, &source.region, &source.key);
    }
    Ok(())
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

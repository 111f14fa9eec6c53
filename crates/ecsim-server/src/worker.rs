//! Ends timed creations (images `Creating`, snapshots `progressing`) when they are due. The due
//! time is stored with the resource, so a restart simply finds overdue ones and ends them.

use crate::state::AppState;
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
            let next = worker_app.store.read(|tx| Ok(tx.next_due()?))?;
            if next.is_some_and(|due| due <= now) {
                worker_app.store.write(|tx| Ok(tx.complete_due(now)?))?;
                return worker_app
                    .store
                    .read(|tx| Ok(tx.next_due()?))
                    .map(|n| (n, now));
            }
            Ok((next, now))
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

//! Shared directory fsyncs: the same protocol as the store's group commit, for the directory
//! entries that links, renames and unlinks make.
//!
//! A change to a directory (a new name, a rename, an unlink) is durable once an fsync of the
//! directory that *began after* the change returned has completed. Each caller takes a ticket
//! right after its change returned, then waits for an fsync that covers its ticket: if one that
//! began later already finished, it returns at once; otherwise it queues for the directory's
//! turn, checks again (the fsync it waited behind may have covered it), reads the latest ticket
//! handed out, fsyncs, and records that ticket as synced. Every change whose ticket was handed out
//! before that read had already returned, so the fsync covers it. Concurrent clones and deletes
//! in one region thus share a handful of directory fsyncs instead of each paying its own.
//!
//! A failed fsync fails only the caller that ran it and records nothing: the callers waiting
//! behind it run their own fsync.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Per directory: tickets handed out, the newest ticket a finished fsync covered, and the turn
/// to run the next fsync.
#[derive(Debug, Default)]
struct DirState {
    changed: AtomicU64,
    synced: AtomicU64,
    turn: Mutex<()>,
}

/// The shared fsyncs of every directory one store changes.
#[derive(Debug, Default)]
pub(crate) struct DirSyncs {
    dirs: Mutex<HashMap<PathBuf, Arc<DirState>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl DirSyncs {
    /// Call after a change in `dir` returned: returns once an fsync of `dir` that began after
    /// this call has succeeded (see the module's notes).
    pub(crate) fn sync(&self, dir: &Path) -> io::Result<()> {
        self.sync_with(dir, crate::transfer::sync_dir)
    }

    /// [`DirSyncs::sync`] with the fsync itself given (tests count and hold it).
    fn sync_with(&self, dir: &Path, fsync: impl Fn(&Path) -> io::Result<()>) -> io::Result<()> {
        let state = {
            let mut dirs = lock(&self.dirs);
            match dirs.get(dir) {
                Some(state) => Arc::clone(state),
                None => Arc::clone(dirs.entry(dir.to_path_buf()).or_default()),
            }
        };
        let ticket = state.changed.fetch_add(1, Ordering::SeqCst) + 1;
        if state.synced.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        let _turn = lock(&state.turn);
        if state.synced.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        let upto = state.changed.load(Ordering::SeqCst);
        fsync(dir)?;
        state.synced.fetch_max(upto, Ordering::SeqCst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::DirSyncs;
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier, Mutex};
    use std::time::Duration;

    /// Changes that return while an fsync runs share the next one; none returns before an
    /// fsync that began after it.
    #[test]
    fn changes_made_during_an_fsync_share_the_next_one() {
        let syncs = Arc::new(DirSyncs::default());
        let dir = Path::new("/nonexistent/region");
        let started = AtomicUsize::new(0);
        let finished = Arc::new(AtomicUsize::new(0));
        // The first fsync is held open until the 8 others have taken their tickets.
        let hold = Arc::new(Barrier::new(2));
        let returned: Arc<Mutex<Vec<(usize, usize)>>> = Arc::default();
        let fsync = |_: &Path| {
            let n = started.fetch_add(1, Ordering::SeqCst);
            if n == 0 {
                hold.wait();
            }
            finished.fetch_add(1, Ordering::SeqCst);
            Ok(())
        };
        std::thread::scope(|scope| {
            let first = scope.spawn(|| {
                // Fsyncs started before this change count for nothing.
                let before = started.load(Ordering::SeqCst);
                syncs.sync_with(dir, fsync).expect("syncs");
                returned
                    .lock()
                    .expect("lock")
                    .push((before, finished.load(Ordering::SeqCst)));
            });
            // Wait until the first fsync is running.
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while started.load(Ordering::SeqCst) == 0 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the first fsync never started"
                );
                std::thread::yield_now();
            }
            let others: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        let before = started.load(Ordering::SeqCst);
                        syncs.sync_with(dir, fsync).expect("syncs");
                        returned
                            .lock()
                            .expect("lock")
                            .push((before, finished.load(Ordering::SeqCst)));
                    })
                })
                .collect();
            // All 8 have their tickets once they queue; give them until the turn is contended.
            while syncs
                .dirs
                .lock()
                .expect("lock")
                .get(dir)
                .map_or(0, |s| s.changed.load(Ordering::SeqCst))
                < 9
            {
                assert!(std::time::Instant::now() < deadline, "tickets not taken");
                std::thread::yield_now();
            }
            hold.wait();
            first.join().expect("first");
            for other in others {
                other.join().expect("other");
            }
        });
        // One fsync for the first change, one more for the 8 made while it ran.
        assert_eq!(started.load(Ordering::SeqCst), 2);
        for (before, finished_at_return) in returned.lock().expect("lock").iter() {
            assert!(
                finished_at_return > before,
                "returned before an fsync that began after its change"
            );
        }
    }

    #[test]
    fn a_failed_fsync_fails_its_caller_and_the_next_one_runs_again() {
        let syncs = DirSyncs::default();
        let dir = Path::new("/nonexistent/region");
        let calls = AtomicUsize::new(0);
        let failing = |_: &Path| {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(std::io::Error::other("disk gone"))
        };
        assert!(syncs.sync_with(dir, failing).is_err());
        let ok = |_: &Path| {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(())
        };
        syncs.sync_with(dir, ok).expect("syncs");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "nothing was recorded as synced"
        );
    }
}

//! Shared directory fsyncs: [`GroupSync`] per directory, for the entries that links, renames
//! and unlinks make. Concurrent clones and deletes in one region share a handful of directory
//! fsyncs instead of each paying its own.
//!
//! A failed fsync fails only the caller that ran it: the callers waiting behind it run their
//! own fsync (a directory's entries are not pages the kernel may have dropped as clean).

use ecsim_groupsync::GroupSync;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// The shared fsyncs of every directory one store changes.
#[derive(Debug, Default)]
pub(crate) struct DirSyncs {
    dirs: Mutex<HashMap<PathBuf, Arc<GroupSync>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl DirSyncs {
    /// Call after a change in `dir` returned: returns once an fsync of `dir` that began after
    /// this call has succeeded.
    pub(crate) fn sync(&self, dir: &Path) -> io::Result<()> {
        self.sync_with(dir, crate::transfer::sync_dir)
    }

    /// [`DirSyncs::sync`] with the fsync itself given (tests count it).
    fn sync_with(&self, dir: &Path, fsync: impl Fn(&Path) -> io::Result<()>) -> io::Result<()> {
        let group = {
            let mut dirs = lock(&self.dirs);
            match dirs.get(dir) {
                Some(group) => Arc::clone(group),
                None => Arc::clone(dirs.entry(dir.to_path_buf()).or_default()),
            }
        };
        let ticket = group.changed();
        group.sync(ticket, || fsync(dir))
    }
}

#[cfg(test)]
mod tests {
    use super::DirSyncs;
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering};

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

    #[test]
    fn each_directory_has_its_own_fsyncs() {
        let syncs = DirSyncs::default();
        let synced: std::sync::Mutex<Vec<String>> = Default::default();
        let fsync = |dir: &Path| {
            synced.lock().expect("lock").push(dir.display().to_string());
            Ok(())
        };
        syncs.sync_with(Path::new("/r/a"), fsync).expect("syncs");
        syncs.sync_with(Path::new("/r/b"), fsync).expect("syncs");
        syncs.sync_with(Path::new("/r/a"), fsync).expect("syncs");
        assert_eq!(*synced.lock().expect("lock"), ["/r/a", "/r/b", "/r/a"]);
    }
}

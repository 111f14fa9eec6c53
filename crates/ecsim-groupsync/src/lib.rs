//! Group sync: one fsync for every change that returned before it began.
//!
//! A change to a file or a directory (a commit's WAL frames, a new name, an unlink) is durable
//! once an fsync that *began after* the change returned has completed. Each caller takes a
//! ticket right after its change returned ([`GroupSync::changed`]), then waits for an fsync that
//! covers its ticket ([`GroupSync::sync`]): if one that began later already finished it returns
//! at once; otherwise it queues for the turn, checks again (the fsync it waited behind may have
//! covered it), reads the latest ticket handed out, fsyncs, and records that ticket as synced.
//! Every change whose ticket was handed out before that read had already returned, so the fsync
//! covers it. Changes that return while an fsync runs share the next one, so 32 concurrent
//! writers pay a handful of fsyncs instead of queueing 32 of them.
//!
//! What a failed fsync means is the user's policy: the store's WAL refuses every later write
//! (on Linux a failed fsync may mark lost pages clean, so a later success proves nothing about
//! them), a blob directory only fails the caller that ran it. Here a failure records nothing,
//! so whoever comes next runs an fsync of its own unless the policy stops it first.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// The tickets handed out, the newest one a finished fsync covered, and the turn to run the
/// next fsync.
#[derive(Debug, Default)]
pub struct GroupSync {
    changed: AtomicU64,
    synced: AtomicU64,
    turn: Mutex<()>,
}

impl GroupSync {
    pub const fn new() -> Self {
        Self {
            changed: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            turn: Mutex::new(()),
        }
    }

    /// Call right after a change returned: its ticket, for [`GroupSync::sync`]. Tickets follow
    /// the order of the calls (a store takes them under its writer lock: commit order).
    pub fn changed(&self) -> u64 {
        // SeqCst: readers of `changes` (the checkpointer's sleep check) pair with it.
        self.changed.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The newest ticket handed out.
    pub fn changes(&self) -> u64 {
        self.changed.load(Ordering::SeqCst)
    }

    /// Returns once an fsync that began after `ticket` was handed out has succeeded, running
    /// `fsync` itself when none that finished covers it. `fsync`'s error is returned as it is
    /// and records nothing.
    pub fn sync<E>(&self, ticket: u64, fsync: impl FnOnce() -> Result<(), E>) -> Result<(), E> {
        if self.synced.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        let _turn = self.turn.lock().unwrap_or_else(PoisonError::into_inner);
        if self.synced.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        // Every change up to `upto` had returned when its ticket was taken, so the fsync below
        // covers all of them.
        let upto = self.changed.load(Ordering::SeqCst);
        fsync()?;
        self.synced.fetch_max(upto, Ordering::SeqCst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::GroupSync;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Barrier, Mutex};
    use std::time::{Duration, Instant};

    fn wait_until(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::yield_now();
        }
    }

    /// Changes that return while an fsync runs share the next one; none returns before an
    /// fsync that began after it.
    #[test]
    fn changes_made_during_an_fsync_share_the_next_one() {
        let group = GroupSync::new();
        let started = AtomicUsize::new(0);
        let finished = AtomicUsize::new(0);
        // The first fsync is held open until the 8 others have taken their tickets.
        let hold = Barrier::new(2);
        // (fsyncs started before the change, fsyncs finished when it returned)
        let returned: Mutex<Vec<(usize, usize)>> = Mutex::default();
        let fsync = || -> Result<(), ()> {
            if started.fetch_add(1, Ordering::SeqCst) == 0 {
                hold.wait();
            }
            finished.fetch_add(1, Ordering::SeqCst);
            Ok(())
        };
        let change_and_sync = || {
            let before = started.load(Ordering::SeqCst);
            let ticket = group.changed();
            group.sync(ticket, fsync).expect("syncs");
            returned
                .lock()
                .expect("lock")
                .push((before, finished.load(Ordering::SeqCst)));
        };
        std::thread::scope(|scope| {
            let first = scope.spawn(change_and_sync);
            wait_until("the first fsync", || started.load(Ordering::SeqCst) == 1);
            let others: Vec<_> = (0..8).map(|_| scope.spawn(change_and_sync)).collect();
            wait_until("the 8 tickets", || group.changes() == 9);
            hold.wait();
            first.join().expect("first");
            for other in others {
                other.join().expect("other");
            }
        });
        // One fsync for the first change, one more for the 8 made while it ran.
        assert_eq!(started.load(Ordering::SeqCst), 2);
        let returned = returned.lock().expect("lock");
        assert_eq!(returned.len(), 9);
        for (before, finished_at_return) in returned.iter() {
            assert!(
                finished_at_return > before,
                "returned before an fsync that began after its change"
            );
        }
    }

    #[test]
    fn a_covered_ticket_runs_no_fsync_and_a_failed_fsync_records_nothing() {
        let group = GroupSync::new();
        let calls = AtomicUsize::new(0);
        let first = group.changed();
        let second = group.changed();
        let failed = group.sync(second, || {
            calls.fetch_add(1, Ordering::SeqCst);
            Err("disk gone")
        });
        assert_eq!(failed, Err("disk gone"));
        let ok = || -> Result<(), &str> {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(())
        };
        group.sync(second, ok).expect("syncs");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "the failure recorded a sync"
        );
        // The successful fsync began after both tickets: the first needs none of its own.
        group.sync(first, ok).expect("covered");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // A later change is not covered by it.
        let third = group.changed();
        group.sync(third, ok).expect("syncs");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}

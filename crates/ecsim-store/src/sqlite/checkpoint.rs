//! WAL checkpoints off the commit path.
//!
//! SQLite's automatic checkpoint runs inside the `COMMIT` that takes the WAL past 1000 pages,
//! while that connection holds the write lock: it fsyncs the WAL, copies the pages into the
//! database file and fsyncs that. Under RunInstances + DeleteInstance at 32 connections that was
//! ~80 checkpoints a second (a commit writes ~13 pages), 16% of the writer's time, and with
//! ~800k nonces in the table (random keys: every checkpoint writes ~1000 scattered pages) single
//! commits took up to 630 ms, every other write queueing behind them (BENCHMARKS.md).
//!
//! So the writer connection runs with `wal_autocheckpoint=0`, and a thread with its own
//! connection checkpoints instead:
//!
//! - every [`CheckpointPolicy::pass_every`] commits, a `PASSIVE` checkpoint: it copies what it
//!   can without taking the write lock, concurrently with new commits;
//! - under sustained writes a passive pass never catches up with the last frame, and SQLite
//!   restarts the WAL from its start only when a write begins with every frame copied; so when a
//!   pass leaves the WAL at [`CheckpointPolicy::restart_frames`] or more, the thread takes the
//!   writer mutex (no commit can run) and runs a `RESTART` checkpoint: it copies the frames
//!   committed since the pass and makes the next write start the WAL over. That bounds the WAL
//!   file, at the cost of one short pause per `restart_frames` frames;
//! - after [`CheckpointPolicy::idle`] without a commit, a `TRUNCATE` checkpoint under the writer
//!   mutex empties the WAL file;
//! - a hard bound that does not depend on the thread getting the CPU: every `pass_every`
//!   commits the writer looks at the WAL file's size, and past [`CheckpointPolicy::hard_frames`]
//!   it truncates the WAL itself before it lets the next commit in (a pause like the automatic
//!   checkpoint's, only when the thread fell that far behind).
//!
//! Durability is untouched: a write is acknowledged only after group commit's own fsync of the
//! WAL covers it ([`super::GroupCommit`]); a checkpoint acknowledges nothing. With
//! `synchronous=NORMAL` SQLite fsyncs the WAL before it copies frames into the database file and
//! fsyncs the database file before a frame may be overwritten by a restart, the same as for the
//! automatic checkpoint before. A checkpoint that fails with an I/O error marks the store failed
//! like a failed fsync of ours: the pages it lost may be ones a later fsync reports clean.

use super::{GroupCommit, lock};
use rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// When the background thread checkpoints.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CheckpointPolicy {
    /// A passive pass after this many commits (~13 pages each for RunInstances/DeleteInstance).
    pub pass_every: u64,
    /// A WAL at least this many frames long after a pass is restarted under the writer mutex.
    pub restart_frames: i64,
    /// This long without a commit: the WAL is checkpointed in full and truncated.
    pub idle: Duration,
    /// A WAL file longer than this many frames is truncated by the writer itself.
    pub hard_frames: u64,
}

/// Bytes per WAL frame: a 24-byte header and a page (SQLite's default 4096 bytes).
const FRAME_BYTES: u64 = 24 + 4096;

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self {
            // ~1000 frames, what SQLite's automatic checkpoint took, but off the commit path.
            pass_every: 64,
            // Small: SQLite's WAL index hashes frames by page number with linear probing, and a
            // commit rewrites the same hot pages (a table's last leaf), so appending a frame
            // gets slower the fuller the current 4096-frame block is. Per 1000 RunInstances/
            // DeleteInstance requests (callgrind) `walIndexAppend` took 8.7M instructions with
            // the automatic checkpoint (~1000 frames), 38-43M restarting at 16384 frames and
            // 25M at 2048; fewer frames would mean more restart pauses (the frames since the
            // last pass and two fsyncs, under the writer mutex: one every ~25 ms at full load).
            restart_frames: 2_048,
            idle: Duration::from_secs(1),
            // ~64 MiB: never reached while the thread keeps up.
            hard_frames: 16_384,
        }
    }
}

/// What happened so far, for the tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CheckpointStats {
    pub passes: u64,
    pub restarts: u64,
    pub truncates: u64,
    /// Truncations the writer had to do itself ([`CheckpointPolicy::hard_frames`]).
    pub forced: u64,
}

#[derive(Default)]
struct State {
    kicked: bool,
    stop: bool,
    stats: CheckpointStats,
}

#[derive(Default)]
struct Signal {
    state: Mutex<State>,
    /// Held while a checkpoint runs. SQLite lets one checkpoint run at a time and answers
    /// another at once as busy, so the writer's forced truncation waits here for the thread's
    /// pass to finish instead of giving up. Taken after the writer mutex, never before it.
    running: Mutex<()>,
    changed: Condvar,
    /// The thread waits without a timeout (the WAL was emptied, nothing committed since): the
    /// next commit must wake it, however few follow, or they would stay un-checkpointed.
    sleeping: AtomicBool,
}

enum Wake {
    Stop,
    Kick,
    Timeout,
}

impl Signal {
    fn wait(&self, timeout: Option<Duration>) -> Wake {
        let mut state = lock(&self.state);
        loop {
            if state.stop {
                return Wake::Stop;
            }
            if state.kicked {
                state.kicked = false;
                return Wake::Kick;
            }
            state = match timeout {
                None => self
                    .changed
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
                Some(t) => {
                    let (state, waited) = self
                        .changed
                        .wait_timeout(state, t)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    if waited.timed_out() && !state.stop && !state.kicked {
                        return Wake::Timeout;
                    }
                    state
                }
            };
        }
    }

    fn set(&self, f: impl FnOnce(&mut State)) {
        f(&mut lock(&self.state));
        self.changed.notify_all();
    }
}

/// The background checkpointer; stopped and joined when dropped.
pub(crate) struct Checkpointer {
    signal: Arc<Signal>,
    pass_every: u64,
    hard_bytes: u64,
    durability: Arc<GroupCommit>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn start(
        conn: Connection,
        writer: Arc<Mutex<Connection>>,
        durability: Arc<GroupCommit>,
        policy: CheckpointPolicy,
    ) -> std::io::Result<Self> {
        let signal = Arc::new(Signal::default());
        let worker = Worker {
            conn,
            writer,
            durability: Arc::clone(&durability),
            policy,
            signal: Arc::clone(&signal),
        };
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || worker.run())?;
        Ok(Self {
            signal,
            pass_every: policy.pass_every.max(1),
            hard_bytes: policy.hard_frames.saturating_mul(FRAME_BYTES),
            durability,
            thread: Some(thread),
        })
    }

    /// Called by the writer after commit number `seq`: wakes the thread once per `pass_every`
    /// commits (a mutex and a futex wake, not one per commit). A wake-up lost while the thread
    /// is busy is not lost: the flag stays set until it looks.
    ///
    /// `writer` is the writer connection, still held: when the WAL file at `wal` has grown past
    /// the hard bound, it is truncated here, before the next commit.
    pub(crate) fn committed(&self, seq: u64, writer: &Connection, wal: &Path) {
        let due = seq.is_multiple_of(self.pass_every);
        // SeqCst, paired with the thread's store of `sleeping` and load of the commit count:
        // either this sees it asleep or it sees this commit before it sleeps.
        if due || self.signal.sleeping.load(Ordering::SeqCst) {
            self.signal.set(|s| s.kicked = true);
        }
        if due && std::fs::metadata(wal).is_ok_and(|m| m.len() > self.hard_bytes) {
            let _alone = lock(&self.signal.running);
            let truncated = checkpoint(writer, "TRUNCATE", &self.durability);
            if truncated.is_some_and(|t| !t.busy) {
                self.signal.set(|s| s.stats.forced += 1);
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn stats(&self) -> CheckpointStats {
        lock(&self.signal.state).stats
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.signal.set(|s| s.stop = true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Worker {
    conn: Connection,
    writer: Arc<Mutex<Connection>>,
    durability: Arc<GroupCommit>,
    policy: CheckpointPolicy,
    signal: Arc<Signal>,
}

/// `PRAGMA wal_checkpoint`'s answer.
struct Outcome {
    /// The checkpoint could not finish (readers or a writer in the way).
    busy: bool,
    /// Frames in the WAL.
    log: i64,
    /// Frames of it now in the database file.
    copied: i64,
}

impl Worker {
    fn run(self) {
        // Commits up to this one were in the WAL when it was last emptied: nothing to do while
        // no new ones arrive, so the thread sleeps without a timeout. Not yet emptied at start
        // (the schema's statements, an earlier run's frames; and commits may come before this
        // thread first runs).
        let mut emptied_at = u64::MAX;
        loop {
            let mut before = self.committed();
            let mut timeout = Some(self.policy.idle);
            if before == emptied_at {
                self.signal.sleeping.store(true, Ordering::SeqCst);
                before = self.committed();
                if before == emptied_at {
                    timeout = None;
                }
            }
            let wake = self.signal.wait(timeout);
            self.signal.sleeping.store(false, Ordering::SeqCst);
            match wake {
                Wake::Stop => return,
                Wake::Kick => {
                    let Some(pass) = self.checkpoint("PASSIVE") else {
                        continue;
                    };
                    self.count(|s| s.passes += 1);
                    if pass.log >= self.policy.restart_frames {
                        let _writes_wait = lock(&self.writer);
                        if self.checkpoint("RESTART").is_some_and(|r| !r.busy) {
                            self.count(|s| s.restarts += 1);
                        }
                    }
                }
                Wake::Timeout if self.committed() == before => {
                    let _writes_wait = lock(&self.writer);
                    let at = self.committed();
                    if let Some(done) = self.checkpoint("TRUNCATE")
                        && !done.busy
                    {
                        emptied_at = at;
                        self.count(|s| s.truncates += 1);
                    }
                }
                // Commits arrived during the wait, fewer than `pass_every`: wait again.
                Wake::Timeout => {}
            }
        }
    }

    fn committed(&self) -> u64 {
        self.durability.commits()
    }

    fn count(&self, f: impl FnOnce(&mut CheckpointStats)) {
        self.signal.set(|s| f(&mut s.stats));
    }

    fn checkpoint(&self, mode: &str) -> Option<Outcome> {
        let _alone = lock(&self.signal.running);
        checkpoint(&self.conn, mode, &self.durability)
    }
}

/// Runs one checkpoint on `conn`; `None` when it failed (logged; an I/O error marks the store
/// failed, see the module comment).
fn checkpoint(conn: &Connection, mode: &str, durability: &GroupCommit) -> Option<Outcome> {
    let sql = format!("PRAGMA wal_checkpoint({mode})");
    match conn.query_row(&sql, [], |r| {
        Ok(Outcome {
            busy: r.get::<_, i64>(0)? != 0,
            log: r.get(1)?,
            copied: r.get(2)?,
        })
    }) {
        Ok(outcome) => {
            tracing::trace!(
                mode,
                busy = outcome.busy,
                log = outcome.log,
                copied = outcome.copied,
                "checkpoint"
            );
            Some(outcome)
        }
        Err(err) => {
            // An I/O error may come from one of its fsyncs; anything else (busy, disk full)
            // left the WAL as it was, and the next pass tries again.
            if err.sqlite_error_code() == Some(rusqlite::ErrorCode::SystemIoFailure) {
                durability.failed.store(true, Ordering::Release);
            }
            tracing::error!(mode, error = %err, "WAL checkpoint failed");
            None
        }
    }
}

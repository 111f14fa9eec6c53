//! The background checkpointer: it checkpoints, keeps the WAL bounded under sustained writes,
//! empties it when idle, and never acknowledges a write (that stays group commit's fsync).

use super::checkpoint::CheckpointStats;
use super::*;
use crate::tests::TempDir;
use std::sync::Condvar;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

/// A syncer that syncs nothing: these tests are about checkpoints, not power loss.
struct NoSync;

impl WalSync for NoSync {
    fn sync(&self) -> std::io::Result<()> {
        Ok(())
    }
}

fn store_with(dir: &TempDir, policy: CheckpointPolicy) -> (SqliteStore, PathBuf) {
    std::fs::create_dir_all(&dir.0).unwrap();
    let db = dir.0.join("ecsim.db");
    let store = SqliteStore::open_with(&db, |_| Ok(Box::new(NoSync)), Some(policy)).unwrap();
    (store, db)
}

fn stats(store: &SqliteStore) -> CheckpointStats {
    store.checkpointer.as_ref().unwrap().stats()
}

fn wal_len(db: &Path) -> u64 {
    std::fs::metadata(wal_path(db)).map_or(0, |m| m.len())
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

// A value of 3 KiB: each write takes at least one 4 KiB page of its own in the WAL.
fn put(store: &SqliteStore, key: &str) {
    let value = "v".repeat(3 * 1024);
    store.write(|tx| Ok(tx.set_meta(key, &value)?)).unwrap();
}

#[test]
fn under_sustained_writes_the_wal_is_checkpointed_and_restarted_and_stays_bounded() {
    let dir = crate::tests::temp_dir("checkpoint-bounded");
    let policy = CheckpointPolicy {
        pass_every: 8,
        restart_frames: 200,
        // Never idle here: what bounds the WAL is the restart under load.
        idle: Duration::from_secs(3600),
        hard_frames: 800,
    };
    let (store, db) = store_with(&dir, policy);
    const THREADS: usize = 4;
    const WRITES: usize = 1500;
    let largest = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (store, db) = (&store, &db);
                s.spawn(move || {
                    let mut largest = 0;
                    for i in 0..WRITES {
                        put(store, &format!("k-{t}-{i}"));
                        largest = largest.max(wal_len(db));
                    }
                    largest
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .max()
            .unwrap()
    });
    let seen = stats(&store);
    assert!(seen.passes > 0, "no background pass: {seen:?}");
    assert!(
        seen.restarts + seen.forced > 0,
        "the WAL never restarted: {seen:?}"
    );
    // 6000 writes of a page or more each: a WAL that never restarted would hold over 24 MiB.
    // It may pass the hard bound only by what `pass_every` commits add before the writer
    // looks (a few pages each: the value, the key's index, the table's root).
    let bound = (policy.hard_frames + policy.pass_every * 8) * (24 + 4096);
    assert!(
        largest <= bound,
        "the WAL grew to {largest} bytes, over {bound} ({seen:?})"
    );
    eprintln!("largest WAL {largest} bytes, {seen:?}");
    // The database file holds what the checkpoints copied, and restarts lost nothing: every
    // acknowledged write is there after a reopen.
    drop(store);
    let reopened = SqliteStore::open_with(&db, |_| Ok(Box::new(NoSync)), None).unwrap();
    let keys: i64 = lock(&reopened.writer)
        .query_row("SELECT COUNT(*) FROM meta WHERE key LIKE 'k-%'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(keys, (THREADS * WRITES) as i64);
}

#[test]
fn an_idle_wal_is_checkpointed_in_full_and_truncated() {
    let dir = crate::tests::temp_dir("checkpoint-idle");
    let policy = CheckpointPolicy {
        pass_every: 1_000_000,
        restart_frames: i64::MAX,
        idle: Duration::from_millis(50),
        hard_frames: u64::MAX,
    };
    let (store, db) = store_with(&dir, policy);
    let before = std::fs::read(&db).unwrap();
    for i in 0..20 {
        put(&store, &format!("k-{i}"));
    }
    wait_for("the idle truncation", || stats(&store).truncates >= 1);
    assert_eq!(wal_len(&db), 0, "truncated");
    assert_ne!(
        std::fs::read(&db).unwrap(),
        before,
        "copied into the database"
    );
    // Emptied, the thread sleeps without a timeout; the first commit wakes it, and the WAL is
    // emptied again once idle (with far fewer commits than `pass_every`).
    let truncates = stats(&store).truncates;
    put(&store, "after");
    wait_for("the next idle truncation", || {
        stats(&store).truncates > truncates
    });
    assert_eq!(wal_len(&db), 0);
    assert_eq!(
        store.read(|tx| Ok(tx.meta("after")?)).unwrap().as_deref(),
        Some("v".repeat(3 * 1024).as_str())
    );
}

/// Holds the first write's fsync (the store's second sync) until the test opens the gate.
#[derive(Default)]
struct Gate {
    calls: AtomicU64,
    state: Mutex<(bool, bool)>, // (held sync started, gate open)
    changed: Condvar,
}

impl WalSync for Arc<Gate> {
    fn sync(&self) -> std::io::Result<()> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 1 {
            let mut state = lock(&self.state);
            state.0 = true;
            self.changed.notify_all();
            while !state.1 {
                state = self.changed.wait(state).unwrap();
            }
        }
        Ok(())
    }
}

#[test]
fn a_checkpoint_does_not_acknowledge_a_write_that_its_fsync_has_not_covered() {
    let dir = crate::tests::temp_dir("checkpoint-ack");
    std::fs::create_dir_all(&dir.0).unwrap();
    let db = dir.0.join("ecsim.db");
    let gate = Arc::new(Gate::default());
    let syncer = Arc::clone(&gate);
    let policy = CheckpointPolicy {
        // A pass after every commit: the held write's own commit triggers one.
        pass_every: 1,
        restart_frames: 1,
        idle: Duration::from_secs(3600),
        hard_frames: u64::MAX,
    };
    let store = SqliteStore::open_with(&db, move |_| Ok(Box::new(syncer)), Some(policy)).unwrap();
    let before = std::fs::read(&db).unwrap();
    std::thread::scope(|s| {
        let held = s.spawn(|| put(&store, "held"));
        wait_for("the held fsync", || lock(&gate.state).0);
        // The checkpointer copies the committed write into the database file (SQLite fsyncs
        // the WAL and the file itself for that) and restarts the WAL ...
        wait_for("a checkpoint of the held commit", || {
            let seen = stats(&store);
            seen.passes >= 1 && seen.restarts >= 1
        });
        assert_ne!(
            std::fs::read(&db).unwrap(),
            before,
            "nothing was checkpointed"
        );
        // ... and the write still waits for group commit's fsync.
        assert!(
            !held.is_finished(),
            "acknowledged before its fsync finished"
        );
        lock(&gate.state).1 = true;
        gate.changed.notify_all();
        held.join().unwrap();
    });
    assert_eq!(gate.calls.load(Ordering::SeqCst), 2);
}

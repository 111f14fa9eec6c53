//! Group commit's protocol, checked against a simulated power loss: a syncer that records what
//! the `-wal` file held when each fsync began, i.e. the bytes that fsync made durable.

use super::*;
use crate::tests::TempDir;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The WAL's content at the start of each successful sync, in order: after sync `n` returns,
/// a power loss leaves at least `durable[n - 1]` on disk.
type Durable = Arc<Mutex<Vec<Vec<u8>>>>;

struct RecordingSync {
    wal: PathBuf,
    file: std::fs::File,
    durable: Durable,
    fail: Arc<AtomicBool>,
}

impl WalSync for RecordingSync {
    fn sync(&self) -> std::io::Result<()> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("simulated EIO"));
        }
        // Only what the file held before the fsync began is sure to be durable after it.
        let bytes = std::fs::read(&self.wal)?;
        self.file.sync_data()?;
        // A real fsync takes a while; commits that land meanwhile must wait for the next one.
        std::thread::sleep(std::time::Duration::from_millis(1));
        lock(&self.durable).push(bytes);
        Ok(())
    }
}

fn recording_store(dir: &TempDir) -> (SqliteStore, Durable, Arc<AtomicBool>, PathBuf) {
    std::fs::create_dir_all(&dir.0).unwrap();
    let db = dir.0.join("ecsim.db");
    let durable = Durable::default();
    let fail = Arc::new(AtomicBool::new(false));
    let (d, f) = (Arc::clone(&durable), Arc::clone(&fail));
    let store = SqliteStore::open_with(
        &db,
        move |path| {
            let wal = wal_path(path);
            let file = std::fs::File::open(&wal).unwrap();
            Ok(Box::new(RecordingSync {
                wal,
                file,
                durable: d,
                fail: f,
            }))
        },
        None,
    )
    .unwrap();
    // No checkpoints during the test: the database file stays as it is now, so "database file
    // + recorded WAL" is exactly what a power loss would leave.
    lock(&store.writer)
        .execute_batch("PRAGMA wal_autocheckpoint=0")
        .unwrap();
    (store, durable, fail, db)
}

fn put(store: &SqliteStore, key: &str) -> Result<(), ApiError> {
    store.write(|tx| Ok(tx.set_meta(key, "acknowledged")?))
}

/// The meta keys of the database a power loss after sync `n` would leave.
fn keys_after_power_loss(db: &[u8], wal: &[u8], scratch: &Path) -> Vec<String> {
    std::fs::create_dir_all(scratch).unwrap();
    let path = scratch.join("crashed.db");
    std::fs::write(&path, db).unwrap();
    std::fs::write(wal_path(&path), wal).unwrap();
    let conn = Connection::open(&path).unwrap();
    let mut stmt = conn.prepare("SELECT key FROM meta").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn every_acknowledged_write_survives_a_simulated_power_loss() {
    let dir = crate::tests::temp_dir("group-commit");
    let (store, durable, _, db) = recording_store(&dir);
    let db_bytes = std::fs::read(&db).unwrap();
    let store = Arc::new(store);
    const THREADS: usize = 16;
    const WRITES: usize = 25;
    let acknowledged: Vec<(String, usize)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (store, durable) = (Arc::clone(&store), Arc::clone(&durable));
                s.spawn(move || {
                    let mut acked = Vec::new();
                    for i in 0..WRITES {
                        let key = format!("k-{t}-{i}");
                        put(&store, &key).unwrap();
                        // The write returned: a power loss now leaves at least the newest
                        // completed sync's bytes.
                        acked.push((key, lock(&durable).len()));
                    }
                    acked
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert_eq!(acknowledged.len(), THREADS * WRITES);
    assert_eq!(
        std::fs::read(&db).unwrap(),
        db_bytes,
        "a checkpoint ran; the simulation assumes none"
    );

    let mut by_sync: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (key, syncs) in acknowledged {
        by_sync.entry(syncs).or_default().push(key);
    }
    let durable = lock(&durable).clone();
    for (syncs, keys) in by_sync {
        assert!(syncs > 0, "{keys:?} acknowledged before any sync");
        let survived = keys_after_power_loss(
            &db_bytes,
            &durable[syncs - 1],
            &dir.0.join(format!("crash-{syncs}")),
        );
        for key in keys {
            assert!(
                survived.contains(&key),
                "{key} was acknowledged after sync {syncs} but is not in what it made durable"
            );
        }
    }
    eprintln!("{} syncs for {} writes", durable.len(), THREADS * WRITES);
}

/// A syncer that holds its first call open until the test lets it finish.
#[derive(Default)]
struct GatedSync {
    calls: std::sync::atomic::AtomicUsize,
    state: Mutex<(bool, bool)>, // (first sync started, gate open)
    changed: std::sync::Condvar,
}

impl WalSync for Arc<GatedSync> {
    fn sync(&self) -> std::io::Result<()> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n == 1 {
            // Call 0 is the store's own at open; call 1 is the first write's.
            let mut state = lock(&self.state);
            state.0 = true;
            self.changed.notify_all();
            while !state.1 {
                state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
            }
        }
        Ok(())
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::yield_now();
    }
}

#[test]
fn commits_that_land_during_an_fsync_share_the_next_one() {
    let dir = crate::tests::temp_dir("group-commit-gated");
    std::fs::create_dir_all(&dir.0).unwrap();
    let gate = Arc::new(GatedSync::default());
    let syncer = Arc::clone(&gate);
    let store =
        SqliteStore::open_with(&dir.0.join("ecsim.db"), move |_| Ok(Box::new(syncer)), None)
            .unwrap();
    const LATE: usize = 8;
    std::thread::scope(|s| {
        let first = s.spawn(|| put(&store, "first"));
        let mut state = lock(&gate.state);
        while !state.0 {
            state = gate.changed.wait(state).unwrap();
        }
        drop(state);
        // The first write's fsync is running; these commit meanwhile and must wait.
        let late: Vec<_> = (0..LATE)
            .map(|i| {
                let store = &store;
                s.spawn(move || put(store, &format!("late-{i}")))
            })
            .collect();
        wait_for("the late commits", || {
            store.durability.commits() == 1 + LATE as u64
        });
        assert!(!first.is_finished(), "returned before its fsync finished");
        assert!(
            late.iter().all(|t| !t.is_finished()),
            "returned before any fsync covered it"
        );
        lock(&gate.state).1 = true;
        gate.changed.notify_all();
        first.join().unwrap().unwrap();
        for t in late {
            t.join().unwrap().unwrap();
        }
    });
    // Open, the first write's, and one more for all eight late commits.
    assert_eq!(gate.calls.load(Ordering::SeqCst), 3);
}

#[test]
fn a_failed_fsync_fails_the_write_and_every_write_after_it() {
    let dir = crate::tests::temp_dir("group-commit-eio");
    let (store, _, fail, _) = recording_store(&dir);
    put(&store, "before").unwrap();
    fail.store(true, Ordering::SeqCst);
    let err = put(&store, "during").unwrap_err();
    assert_eq!(err.code(), ecsim_wire::Code::InternalError);
    // The device may have dropped the pages and marked them clean: a later fsync that
    // succeeds would prove nothing, so writes stay refused.
    fail.store(false, Ordering::SeqCst);
    let err = put(&store, "after").unwrap_err();
    assert_eq!(err.code(), ecsim_wire::Code::InternalError);
    // Reads still work.
    let seen = store.read(|tx| Ok(tx.meta("before")?)).unwrap();
    assert_eq!(seen.as_deref(), Some("acknowledged"));
}

#[test]
fn a_refused_write_rolls_back_without_a_sync() {
    let dir = crate::tests::temp_dir("group-commit-refused");
    let (store, durable, _, _) = recording_store(&dir);
    let before = lock(&durable).len();
    let refused: Result<(), ApiError> = store.write(|tx| {
        tx.set_meta("refused", "x")?;
        Err(ApiError::new(ecsim_wire::Code::InternalError))
    });
    assert!(refused.is_err());
    assert_eq!(lock(&durable).len(), before);
    assert_eq!(store.read(|tx| Ok(tx.meta("refused")?)).unwrap(), None);
}

/// A write whose closure panics rolls back; the writer connection is left outside any
/// transaction, so the next write works.
#[test]
fn a_panicking_write_rolls_back_and_the_next_write_works() {
    let dir = crate::tests::temp_dir("group-commit-panic");
    let (store, durable, _, _) = recording_store(&dir);
    let before = lock(&durable).len();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _: Result<(), ApiError> = store.write(|tx| {
            tx.set_meta("panicked", "x")?;
            panic!("a handler bug");
        });
    }));
    assert!(panicked.is_err());
    assert_eq!(lock(&durable).len(), before);
    put(&store, "after").unwrap();
    assert_eq!(store.read(|tx| Ok(tx.meta("panicked")?)).unwrap(), None);
    assert_eq!(
        store.read(|tx| Ok(tx.meta("after")?)).unwrap().as_deref(),
        Some("acknowledged")
    );
}

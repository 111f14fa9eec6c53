//! The embedded SQLite backend.
//!
//! Durability: every [`SqliteStore::write`] that returns `Ok` has had its commit fsynced, so a
//! 200 survives a power loss. The fsyncs are shared (group commit, [`GroupCommit`]): the
//! connections run `synchronous=NORMAL` in WAL mode, so a `COMMIT` appends its frames to the
//! `-wal` file without an fsync; the committer then leaves the writer lock and waits for one
//! `fdatasync` of the `-wal` file that began after its commit. While one fsync runs, the
//! commits that land meanwhile queue for the next one, which covers all of them.
//!
//! One writer connection (writes are serialized, `BEGIN IMMEDIATE`), a small pool of reader
//! connections that read consistent snapshots concurrently with the writer, and a checkpointer
//! thread with a connection of its own: commits never checkpoint ([`checkpoint`]).

use crate::{
    DiskQuery, IdempotentRecord, ImageExtras, ImageQuery, InstanceQuery, NonceRecord, Page,
    SnapshotQuery, StoreError, StoreResult, TagQuery, TagRow, TaskQuery, Tx,
};
use ecsim_core::Millis;
use ecsim_core::model::{
    AccessKey, AccountId, Disk, Image, Instance, KeyStatus, Region, ResourceType, Secret, Snapshot,
    Tag, Task, TaskAction,
};
use ecsim_core::rules::DeletionFacts;
use ecsim_groupsync::GroupSync;
use ecsim_wire::ApiError;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

mod checkpoint;
#[cfg(test)]
mod checkpoint_tests;
#[cfg(test)]
mod group_commit_tests;
mod identity;

use checkpoint::{CheckpointPolicy, Checkpointer};

const SCHEMA: &str = include_str!("schema.sql");
/// Fills `image_counts` for a data dir made before it existed; run only when the `meta` key is
/// missing (as a statement guarded by that key in the schema it still scanned every image, 90 ms
/// per start with 1M images).
const COUNT_IMAGES: &str = "BEGIN IMMEDIATE;
    INSERT OR REPLACE INTO image_counts(region_id, owner, status, live)
    SELECT region_id, coalesce(owner, -1), status, COUNT(*) FROM images
    WHERE deleted_at IS NULL GROUP BY 1, 2, 3;
    INSERT OR IGNORE INTO meta(key, value) VALUES ('image_counts', 'kept by triggers');
    COMMIT;";
/// The owner `image_counts` records system images under (`images.owner` is NULL for them).
const SYSTEM_OWNER: i64 = -1;
// Enough for every blocking worker that reads at once; opening a connection costs far more than keeping one.
const MAX_IDLE_READERS: usize = 64;
/// Nonces per multi-row INSERT of a flush (3 bound values each, far below SQLite's limit).
const NONCE_ROWS: usize = 64;
/// Moves the nonces of a data dir made before `nonce_log` into it; run only while the old table
/// exists.
const MOVE_NONCES: &str = "BEGIN IMMEDIATE;
    INSERT INTO nonce_log(seen_at, access_key_id, nonce)
    SELECT seen_at, access_key_id, nonce FROM nonces ORDER BY seen_at;
    DROP TABLE nonces;
    COMMIT;";

pub struct SqliteStore {
    path: PathBuf,
    wal: PathBuf,
    // Shared with the checkpointer, which holds it to keep commits out while it restarts the WAL.
    writer: Arc<Mutex<Connection>>,
    /// Parsed image documents, shared by every connection (see [`ParsedImages`]).
    parsed: ParsedImages,
    readers: Mutex<Vec<Reader>>,
    durability: Arc<GroupCommit>,
    /// `None` only in tests that need the database file to stay as it is.
    checkpointer: Option<Checkpointer>,
}

/// Makes everything written to the `-wal` file so far durable.
pub(crate) trait WalSync: Send + Sync {
    fn sync(&self) -> std::io::Result<()>;
}

/// The real one: `fdatasync` on a handle of the `-wal` file. fsync works per inode, so it
/// covers the frames SQLite's writer connection wrote through its own descriptor. The handle
/// stays open for the store's life, so a writeback error is reported to it even if it happened
/// between two syncs. The file is the same inode throughout: SQLite deletes `-wal` only when
/// its last connection closes, and the writer connection lives as long as the store (a WAL
/// restart after a checkpoint overwrites the file from the start; it does not replace it).
struct WalFile(std::fs::File);

impl WalSync for WalFile {
    fn sync(&self) -> std::io::Result<()> {
        self.0.sync_data()
    }
}

/// Group commit: one fsync of the WAL for every commit that completed before it began
/// ([`GroupSync`]).
///
/// Each commit takes its ticket under the writer lock ([`GroupCommit::committed`]), so tickets
/// follow commit order; [`GroupCommit::make_durable`] is called after the writer lock is
/// released, so commits that complete while an fsync runs are covered by the next one and 32
/// concurrent committers share a handful of fsyncs instead of queueing 32 of them behind the
/// writer lock.
///
/// Checkpoints (off the commit path, [`checkpoint`]) need nothing from this: with
/// `synchronous=NORMAL` SQLite itself fsyncs the WAL before it copies frames into the database
/// file and fsyncs the database file after, before the WAL may be restarted; so a frame
/// overwritten by a WAL restart is already durable in the database file.
///
/// A failed fsync fails the write (`InternalError`) and every write after it: on Linux a
/// failed fsync may mark the lost pages clean, so a later fsync that succeeds proves nothing.
struct GroupCommit {
    group: GroupSync,
    failed: AtomicBool,
    syncer: Box<dyn WalSync>,
}

impl GroupCommit {
    fn new(syncer: Box<dyn WalSync>) -> Self {
        Self {
            group: GroupSync::new(),
            failed: AtomicBool::new(false),
            syncer,
        }
    }

    fn check_healthy(&self) -> StoreResult<()> {
        if self.failed.load(Ordering::Acquire) {
            return Err(StoreError::Internal(
                "an earlier fsync of the WAL failed; refusing writes until restart".into(),
            ));
        }
        Ok(())
    }

    /// Called under the writer lock right after a commit: that commit's ticket.
    fn committed(&self) -> u64 {
        self.group.changed()
    }

    /// The newest commit's ticket (the checkpointer's sleep check).
    fn commits(&self) -> u64 {
        self.group.changes()
    }

    /// Returns once an fsync that began after commit `seq` completed has succeeded.
    fn make_durable(&self, seq: u64) -> StoreResult<()> {
        self.check_healthy()?;
        self.group.sync(seq, || {
            // An fsync that failed while this one queued poisons the WAL for this one too.
            self.check_healthy()?;
            self.syncer.sync().map_err(|err| {
                self.failed.store(true, Ordering::Release);
                StoreError::Internal(format!("fsync of the WAL failed: {err}"))
            })
        })
    }
}

/// The `-wal` file beside the database, as SQLite names it.
fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push("-wal");
    PathBuf::from(name)
}

fn io_err(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let at = format!("{what} {}", path.display());
    move |e| StoreError::Internal(format!("{at}: {e}"))
}

/// Opens the `-wal` file for [`WalFile`] and makes it and its directory entry durable (SQLite
/// would fsync the directory on the first sync of a new WAL; with group commit that first
/// sync is ours).
fn open_wal(db: &Path) -> StoreResult<Box<dyn WalSync>> {
    let wal = wal_path(db);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&wal)
        .map_err(io_err("opening", &wal))?;
    file.sync_all().map_err(io_err("syncing", &wal))?;
    if let Some(dir) = db.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err("syncing directory", dir))?;
    }
    Ok(Box::new(WalFile(file)))
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        match err.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                StoreError::Unavailable(err.to_string())
            }
            _ => StoreError::Internal(err.to_string()),
        }
    }
}

fn json_err(err: serde_json::Error) -> StoreError {
    StoreError::Internal(format!("stored document: {err}"))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves a connection that is still usable: SQLite rolls
    // back the open transaction when the next one begins.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn connect(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // Listings build their SQL from the filters given, so there are more distinct statements
    // than rusqlite's default cache of 16 holds; re-parsing them showed up in profiles.
    conn.set_prepared_statement_cache_capacity(256);
    // Without the query planner stability guarantee SQLite re-plans a cached statement whenever
    // a bound LIMIT changes; that re-preparing was a third of DescribeImages' CPU (BENCHMARKS.md).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    // NORMAL: a commit does not fsync; `SqliteStore::write` does, shared (`GroupCommit`).
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    )?;
    Ok(conn)
}

impl SqliteStore {
    pub fn open(path: &Path) -> StoreResult<Self> {
        Self::open_with(path, open_wal, Some(CheckpointPolicy::default()))
    }

    /// [`SqliteStore::open`] with the WAL syncer `make_syncer` makes from the database path,
    /// and checkpoints by `checkpoints` (`None`: none at all).
    fn open_with(
        path: &Path,
        make_syncer: impl FnOnce(&Path) -> StoreResult<Box<dyn WalSync>>,
        checkpoints: Option<CheckpointPolicy>,
    ) -> StoreResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Internal(format!("creating {}: {e}", dir.display())))?;
        }
        let writer = connect(path)?;
        writer.execute_batch(SCHEMA)?;
        writer.execute_batch(identity::SCHEMA)?;
        let counted: bool = writer.query_row(
            "SELECT EXISTS(SELECT 1 FROM meta WHERE key = 'image_counts')",
            [],
            |r| r.get(0),
        )?;
        if !counted {
            writer.execute_batch(COUNT_IMAGES)?;
        }
        let old_nonces: bool = writer.query_row(
            "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'nonces')",
            [],
            |r| r.get(0),
        )?;
        if old_nonces {
            writer.execute_batch(MOVE_NONCES)?;
        }
        // The schema statements above created the `-wal` file; they become durable with the
        // syncer's first sync below.
        let syncer = make_syncer(path)?;
        syncer.sync().map_err(io_err("syncing", &wal_path(path)))?;
        // Commits never checkpoint: a checkpoint inside a commit held the writer for up to
        // 630 ms (`checkpoint`'s module comment); the checkpointer thread does it instead.
        writer.execute_batch("PRAGMA wal_autocheckpoint=0;")?;
        let writer = Arc::new(Mutex::new(writer));
        let durability = Arc::new(GroupCommit::new(syncer));
        let checkpointer = match checkpoints {
            None => None,
            Some(policy) => {
                let conn = connect(path)?;
                // RESTART and TRUNCATE wait for readers while no commit can run: give up soon
                // (the next pass tries again) rather than hold writes for seconds.
                conn.busy_timeout(std::time::Duration::from_millis(100))?;
                Some(
                    Checkpointer::start(conn, Arc::clone(&writer), Arc::clone(&durability), policy)
                        .map_err(|e| {
                            StoreError::Internal(format!("starting the checkpointer: {e}"))
                        })?,
                )
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            wal: wal_path(path),
            writer,
            parsed: ParsedImages::default(),
            readers: Mutex::new(Vec::new()),
            durability,
            checkpointer,
        })
    }

    pub fn read<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let pooled = lock(&self.readers).pop();
        let reader = match pooled {
            Some(r) => r,
            None => Reader {
                conn: connect(&self.path)?,
            },
        };
        let conn = &reader.conn;
        // BEGIN and ROLLBACK through the statement cache: `Connection::transaction` parses
        // both again on every call (`execute_batch`), 2.6% of a lookup's instructions.
        conn.prepare_cached("BEGIN DEFERRED")
            .and_then(|mut begin| begin.execute([]))
            .map_err(StoreError::from)?;
        let result = f(&mut SqliteTx {
            conn,
            parsed: Some(&self.parsed),
        });
        // A read transaction has nothing to keep; ending it releases the snapshot. Should the
        // ROLLBACK fail, the connection may still hold the transaction: it is not reused.
        let ended = conn
            .prepare_cached("ROLLBACK")
            .and_then(|mut rollback| rollback.execute([]))
            .is_ok();
        if ended && conn.is_autocommit() {
            let mut idle = lock(&self.readers);
            if idle.len() < MAX_IDLE_READERS {
                idle.push(reader);
            }
        }
        result
    }

    /// Runs `f` in the write transaction and commits; returns `Ok` only once an fsync of the
    /// WAL that began after the commit has succeeded ([`GroupCommit`]). When `f` fails the
    /// transaction rolls back and the error returns at once: nothing changed, nothing to sync.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let (out, seq) = {
            let conn = lock(&self.writer);
            self.durability.check_healthy()?;
            // BEGIN and COMMIT through the statement cache, as reads do: `Transaction` parses
            // them again on every call (`execute_batch`).
            let tx = WriteTx::begin(&conn)?;
            let out = f(&mut SqliteTx {
                conn: &conn,
                parsed: Some(&self.parsed),
            })?;
            tx.commit()?;
            let seq = self.durability.committed();
            if let Some(checkpointer) = &self.checkpointer {
                checkpointer.committed(seq, &conn, &self.wal);
            }
            (out, seq)
        };
        // Outside the writer lock: the next transactions run while this one waits for its
        // fsync, and are covered by the same or the next one.
        self.durability.make_durable(seq)?;
        Ok(out)
    }
}

/// The writer's open transaction (`BEGIN IMMEDIATE`): rolled back unless committed, also when
/// the closure fails or panics, so the connection is always left outside a transaction.
struct WriteTx<'a> {
    conn: &'a Connection,
}

impl<'a> WriteTx<'a> {
    fn begin(conn: &'a Connection) -> StoreResult<Self> {
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        Ok(Self { conn })
    }

    fn commit(self) -> StoreResult<()> {
        // On failure the transaction may still be open: dropping `self` rolls it back.
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(())
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        if !self.conn.is_autocommit() {
            let rolled_back = self
                .conn
                .prepare_cached("ROLLBACK")
                .and_then(|mut rollback| rollback.execute([]));
            if let Err(err) = rolled_back {
                tracing::error!(error = %err, "rolling back a write transaction failed");
            }
        }
    }
}

struct SqliteTx<'a> {
    conn: &'a Connection,
    /// The store's parsed image documents.
    parsed: Option<&'a ParsedImages>,
}

/// A pooled reading connection.
struct Reader {
    conn: Connection,
}

/// Image documents parsed (or written) by any of the store's connections, by image id, each
/// with the exact text it was parsed from. Parsing an ~850-byte document cost 12% of
/// DescribeImages by id and a third of a page (BENCHMARKS.md); an unchanged document is a string
/// comparison and a clone instead. A hit needs the text read in the current transaction to be
/// byte for byte the remembered one, so the result is always the parse of what that transaction
/// sees, whichever connection remembered it: a write changes the text and the next read parses
/// it again (or finds the parse the writer remembered with the text it wrote). Shared, so an
/// image written by the writer is not parsed again by each reader that reads it (DeleteImage's
/// read snapshot after CreateImage); in shards, each forgotten all at once when full.
struct ParsedImages {
    shards: Box<[Shard]>,
    hasher: std::hash::RandomState,
}

/// Part of [`ParsedImages`]: image id → (document text, its parse).
type Shard = Mutex<HashMap<String, (Box<str>, Image)>>;

impl Default for ParsedImages {
    fn default() -> Self {
        Self {
            shards: (0..Self::SHARDS).map(|_| Mutex::default()).collect(),
            hasher: std::hash::RandomState::new(),
        }
    }
}

impl ParsedImages {
    /// Independent locks: concurrent readers rarely wait for one another.
    const SHARDS: usize = 16;
    /// ~2 KB each (text and parse): at most ~8 MB in all.
    const PER_SHARD: usize = 256;

    fn shard(&self, id: &str) -> &Shard {
        use std::hash::BuildHasher;
        let n = self.hasher.hash_one(id) as usize % Self::SHARDS;
        &self.shards[n]
    }

    /// The image `doc` (a column's bytes, checked for UTF-8 only when parsed) holds.
    fn parse(&self, id: &str, doc: &[u8]) -> StoreResult<Image> {
        if let Some((text, image)) = lock(self.shard(id)).get(id)
            && text.as_bytes() == doc
        {
            return Ok(image.clone());
        }
        // Parsed outside the lock.
        let doc = std::str::from_utf8(doc)
            .map_err(|e| rusqlite::Error::from(rusqlite::types::FromSqlError::other(e)))?;
        let image: Image = from_doc(doc)?;
        self.remember(id, doc.into(), image.clone());
        Ok(image)
    }

    /// Remembers that `doc` is the text of `image` (as parsed, or as just serialized: the
    /// serialization parses back to the same value).
    fn remember(&self, id: &str, doc: Box<str>, image: Image) {
        let mut shard = lock(self.shard(id));
        if shard.len() >= Self::PER_SHARD && !shard.contains_key(id) {
            shard.clear();
        }
        match shard.get_mut(id) {
            Some(entry) => *entry = (doc, image),
            None => {
                shard.insert(id.to_owned(), (doc, image));
            }
        }
    }
}

fn to_doc<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(json_err)
}

fn from_doc<T: DeserializeOwned>(doc: &str) -> StoreResult<T> {
    serde_json::from_str(doc).map_err(json_err)
}

fn page_bounds(offset: u64, limit: u64) -> (i64, i64) {
    (
        i64::try_from(limit).unwrap_or(i64::MAX),
        i64::try_from(offset).unwrap_or(i64::MAX),
    )
}

/// `ids IN (...)` with one placeholder per id.
fn push_in(sql: &mut String, args: &mut Vec<SqlValue>, column: &str, ids: &[String]) {
    if ids.is_empty() {
        sql.push_str(" AND 0");
        return;
    }
    sql.push_str(" AND ");
    sql.push_str(column);
    sql.push_str(" IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        sql.push('?');
        args.push(SqlValue::Text(id.clone()));
    }
    sql.push(')');
}

/// `EXISTS` clauses requiring each tag on the row named by `id_column`.
fn push_tag_filters(
    sql: &mut String,
    args: &mut Vec<SqlValue>,
    resource_type: &str,
    id_column: &str,
    tags: &[(String, Option<String>)],
) {
    for (key, value) in tags {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM tags t WHERE t.resource_type = ? AND t.resource_id = ",
        );
        sql.push_str(id_column);
        sql.push_str(" AND t.key = ?");
        args.push(SqlValue::Text(resource_type.into()));
        args.push(SqlValue::Text(key.clone()));
        if let Some(v) = value {
            sql.push_str(" AND t.value = ?");
            args.push(SqlValue::Text(v.clone()));
        }
        sql.push(')');
    }
}

/// A GLOB pattern in which only `*` is special: case-sensitive like ECS names, with GLOB's
/// other metacharacters escaped.
fn glob_of(pattern: &str) -> String {
    pattern
        .chars()
        .map(|c| match c {
            '?' => "[?]".to_string(),
            '[' => "[[]".to_string(),
            other => other.to_string(),
        })
        .collect()
}

impl SqliteTx<'_> {
    /// Records that the image's disk mappings name the snapshot (`image_snapshots`).
    fn link_image_snapshot(&self, image_id: &str, snapshot_id: &str) -> StoreResult<()> {
        self.conn
            .prepare_cached("INSERT INTO image_snapshots(image_id, snapshot_id) VALUES (?, ?) ON CONFLICT DO NOTHING")?
            .execute([image_id, snapshot_id])?;
        Ok(())
    }

    /// [`Tx::image_listing_extras`] of a single image (every lookup by one id): primary-key
    /// probes, without the id map, the JSON array and `json_each` a page needs, which cost
    /// more than the probes themselves. Tags, usage and the share count come back from one
    /// statement (rows tagged 0, 1, 2), which spares two trips through rusqlite's statement
    /// cache, binding and resetting (~0.8k of a lookup's instructions).
    fn one_image_extras(
        &mut self,
        region_id: &str,
        id: &str,
        count_shares: bool,
    ) -> StoreResult<Vec<ImageExtras>> {
        let mut extra = ImageExtras::default();
        let mut stmt = self.conn.prepare_cached(
            "SELECT 0, key, value FROM tags WHERE resource_type = ?1 AND resource_id = ?2
             UNION ALL SELECT 1, EXISTS(SELECT 1 FROM instances WHERE image_id = ?2 AND region_id = ?3), NULL
             UNION ALL SELECT 2, (SELECT COUNT(*) FROM image_shares WHERE image_id = ?2), NULL WHERE ?4",
        )?;
        let mut rows = stmt.query(params![
            ResourceType::Image.as_str(),
            id,
            region_id,
            count_shares
        ])?;
        while let Some(r) = rows.next()? {
            match r.get::<_, i64>(0)? {
                0 => extra.tags.push(Tag {
                    key: r.get(1)?,
                    value: r.get(2)?,
                }),
                1 => extra.in_use = r.get::<_, i64>(1)? != 0,
                _ => extra.shared_accounts = u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
            }
        }
        extra.tags.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        Ok(vec![extra])
    }

    /// Runs `SELECT COUNT(*)` and `SELECT doc` over the same `FROM … WHERE …` tail.
    fn paged_docs<T: DeserializeOwned>(
        &self,
        from_where: &str,
        order: &str,
        args: Vec<SqlValue>,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<T>> {
        let total: i64 = self
            .conn
            .prepare_cached(&format!("SELECT COUNT(*) {from_where}"))?
            .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
        let (lim, off) = page_bounds(offset, limit);
        let mut args = args;
        args.push(SqlValue::Integer(lim));
        args.push(SqlValue::Integer(off));
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT doc {from_where} ORDER BY {order} LIMIT ? OFFSET ?"
        ))?;
        let docs = stmt
            .query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let items = docs
            .iter()
            .map(|d| from_doc(d))
            .collect::<StoreResult<Vec<T>>>()?;
        Ok(Page {
            total: u64::try_from(total).unwrap_or(0),
            items,
        })
    }

    /// Live images of one owner (`SYSTEM_OWNER`: system images) in a region with one of these
    /// statuses (none: any), from the counters the triggers on `images` maintain.
    fn live_images(&self, region_id: &str, owner: i64, statuses: &[String]) -> StoreResult<u64> {
        let list = serde_json::to_string(statuses).map_err(json_err)?;
        let n: i64 = self
            .conn
            .prepare_cached(
                "SELECT coalesce(SUM(live), 0) FROM image_counts WHERE region_id = ? AND owner = ?
                   AND (? = '[]' OR status IN (SELECT value FROM json_each(?)))",
            )?
            .query_row(params![region_id, owner, list, list], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn docs<T: DeserializeOwned>(&self, sql: &str, arg: i64) -> StoreResult<Vec<T>> {
        let docs: Vec<String> = self
            .conn
            .prepare_cached(sql)?
            .query_map([arg], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        docs.iter().map(|d| from_doc(d)).collect()
    }

    fn doc_by_id<T: DeserializeOwned>(&self, table: &str, id: &str) -> StoreResult<Option<T>> {
        let doc: Option<String> = self
            .conn
            .prepare_cached(&format!("SELECT doc FROM {table} WHERE id = ?"))?
            .query_row([id], |r| r.get(0))
            .optional()?;
        doc.map(|d| from_doc(&d)).transpose()
    }

    fn exists(&self, sql: &str, args: &[&dyn rusqlite::ToSql]) -> StoreResult<bool> {
        Ok(self
            .conn
            .prepare_cached(sql)?
            .query_row(args, |r| r.get::<_, i64>(0))?
            != 0)
    }

    fn count(&self, sql: &str, args: &[&dyn rusqlite::ToSql]) -> StoreResult<u64> {
        let n: i64 = self
            .conn
            .prepare_cached(sql)?
            .query_row(args, |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

impl Tx for SqliteTx<'_> {
    fn meta(&mut self, key: &str) -> StoreResult<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    fn set_meta(&mut self, key: &str, value: &str) -> StoreResult<()> {
        self.conn
            .prepare_cached("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")?
            .execute([key, value])?;
        Ok(())
    }

    fn insert_account(&mut self, id: AccountId, now: Millis) -> StoreResult<()> {
        self.conn
            .prepare_cached("INSERT INTO accounts(id, created_at) VALUES (?, ?)")?
            .execute(params![id, now])?;
        Ok(())
    }

    fn account_exists(&mut self, id: AccountId) -> StoreResult<bool> {
        self.exists("SELECT EXISTS(SELECT 1 FROM accounts WHERE id = ?)", &[&id])
    }

    fn insert_access_key(&mut self, key: &AccessKey) -> StoreResult<()> {
        self.conn
            .prepare_cached("INSERT INTO access_keys(id, secret, account_id, status, created_at) VALUES (?, ?, ?, ?, ?)")?
            .execute(params![key.id, key.secret.expose(), key.account_id, key.status.as_str(), key.created_at])?;
        Ok(())
    }

    fn access_key(&mut self, id: &str) -> StoreResult<Option<AccessKey>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT secret, account_id, status, created_at FROM access_keys WHERE id = ?",
            )?
            .query_row([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .optional()?;
        Ok(
            row.map(|(secret, account_id, status, created_at)| AccessKey {
                id: id.to_string(),
                secret: Secret::new(secret),
                account_id,
                status: KeyStatus::parse(&status).unwrap_or(KeyStatus::Inactive),
                created_at,
            }),
        )
    }

    fn insert_region(&mut self, position: usize, region: &Region) -> StoreResult<()> {
        self.conn
            .prepare_cached("INSERT INTO regions(id, position, local_name_en, local_name_zh, endpoint, zones) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING")?
            .execute(params![
                region.id,
                i64::try_from(position).unwrap_or(i64::MAX),
                region.local_name_en,
                region.local_name_zh,
                region.endpoint,
                region.zones.join(",")
            ])?;
        Ok(())
    }

    fn regions(&mut self) -> StoreResult<Vec<Region>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, local_name_en, local_name_zh, endpoint, zones FROM regions ORDER BY position",
        )?;
        let rows = stmt.query_map([], |r| {
            let zones: String = r.get(4)?;
            Ok(Region {
                id: r.get(0)?,
                local_name_en: r.get(1)?,
                local_name_zh: r.get(2)?,
                endpoint: r.get(3)?,
                zones: zones
                    .split(',')
                    .filter(|z| !z.is_empty())
                    .map(str::to_string)
                    .collect(),
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn image(&mut self, region_id: &str, id: &str) -> StoreResult<Option<Image>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT doc FROM images WHERE region_id = ? AND id = ?")?;
        let mut rows = stmt.query([region_id, id])?;
        let Some(row) = rows.next()? else {
            return Ok(None);
        };
        // Parsed in SQLite's own buffer, through the connection's memo of parsed documents.
        let doc = row.get_ref(0)?;
        Ok(Some(match self.parsed {
            Some(parsed) => parsed.parse(id, doc.as_bytes().map_err(rusqlite::Error::from)?)?,
            None => from_doc::<Image>(doc.as_str().map_err(rusqlite::Error::from)?)?,
        }))
    }

    fn image_is_deleted(&mut self, region_id: &str, id: &str) -> StoreResult<bool> {
        self.exists(
            "SELECT EXISTS(SELECT 1 FROM images WHERE region_id = ? AND id = ? AND deleted_at IS NOT NULL)",
            &[&region_id, &id],
        )
    }

    fn put_image(&mut self, image: &Image) -> StoreResult<()> {
        let doc = to_doc(image)?;
        self.conn
            .prepare_cached(
                "INSERT INTO images(id, region_id, owner, name, family, status, os_type, arch, is_public, created_at, ready_at, deleted_at, doc)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT(region_id, id) DO UPDATE SET owner = excluded.owner, name = excluded.name,
                   family = excluded.family, status = excluded.status, os_type = excluded.os_type, arch = excluded.arch,
                   is_public = excluded.is_public, created_at = excluded.created_at, ready_at = excluded.ready_at,
                   deleted_at = excluded.deleted_at, doc = excluded.doc",
            )?
            .execute(params![
                image.id,
                image.region_id,
                image.owner,
                image.name,
                image.family,
                image.status.as_str(),
                image.os_type.as_str(),
                image.architecture.as_str(),
                image.is_public,
                image.created_at,
                image.ready_at,
                image.deleted_at,
                doc
            ])?;
        // The next read of this document (DeleteImage after CreateImage, a completion round)
        // finds its parse here instead of parsing the text written now.
        if let Some(parsed) = self.parsed {
            parsed.remember(&image.id, doc.into_boxed_str(), image.clone());
        }
        for snapshot_id in image
            .disk_mappings
            .iter()
            .filter_map(|m| m.snapshot_id.as_deref())
        {
            self.link_image_snapshot(&image.id, snapshot_id)?;
        }
        Ok(())
    }

    fn find_images(&mut self, q: &ImageQuery) -> StoreResult<Page<Image>> {
        // One SELECT per owner branch the query covers, each written only when enabled, so
        // every branch is a plain `owner = ?` / `owner IS NULL` that `images_by_owner` serves
        // in `created_at DESC, id` order; UNION ALL merges the ordered branches and LIMIT stops
        // the merge after one page instead of sorting every image of the region.
        let caller = SqlValue::Integer(q.caller);
        let mut arms: Vec<(Cow<'static, str>, Vec<SqlValue>, Option<i64>)> = Vec::new();
        if q.owners.system {
            arms.push(("owner IS NULL".into(), Vec::new(), Some(SYSTEM_OWNER)));
        }
        if q.owners.own {
            arms.push(("owner = ?".into(), vec![caller.clone()], Some(q.caller)));
        }
        // "Shared with the caller": a listing walks the caller's shares (`IN`); a lookup by id
        // already has its few rows and checks each by the share's key (`EXISTS`), which spares
        // the temporary b-tree `IN (SELECT …)` builds on every request.
        let shared = if q.ids.is_empty() {
            "id IN (SELECT image_id FROM image_shares WHERE account_id = ?)"
        } else {
            "EXISTS (SELECT 1 FROM image_shares AS s WHERE s.image_id = images.id AND s.account_id = ?)"
        };
        if q.owners.shared_with_me {
            let mut arm = String::from("owner <> ? AND ");
            arm.push_str(shared);
            arms.push((arm.into(), vec![caller.clone(), caller.clone()], None));
        }
        if q.owners.community {
            // An image both public and shared with the caller is listed once, by the branch above.
            let mut arm = String::from("owner <> ? AND is_public = 1");
            let mut args = vec![caller.clone()];
            if q.owners.shared_with_me {
                arm.push_str(" AND NOT ");
                arm.push_str(shared);
                args.push(caller);
            }
            arms.push((arm.into(), args, None));
        }
        if arms.is_empty() {
            return Ok(Page::default());
        }
        let mut filters = String::new();
        let mut fargs: Vec<SqlValue> = Vec::new();
        if !q.ids.is_empty() {
            push_in(&mut filters, &mut fargs, "id", &q.ids);
        }
        if let Some(owner) = q.owner_id {
            filters.push_str(" AND owner = ?");
            fargs.push(SqlValue::Integer(owner));
        }
        if let Some(name) = &q.name_contains {
            filters.push_str(" AND instr(name, ?) > 0");
            fargs.push(SqlValue::Text(name.clone()));
        }
        if let Some(family) = &q.family {
            filters.push_str(" AND family = ?");
            fargs.push(SqlValue::Text(family.clone()));
        }
        if let Some(os) = q.os_type {
            filters.push_str(" AND os_type = ?");
            fargs.push(SqlValue::Text(os.as_str().into()));
        }
        if let Some(arch) = q.architecture {
            filters.push_str(" AND arch = ?");
            fargs.push(SqlValue::Text(arch.as_str().into()));
        }
        if let Some(in_use) = q.in_use {
            filters.push_str(if in_use {
                " AND EXISTS (SELECT 1 FROM instances i WHERE i.image_id = images.id AND i.region_id = images.region_id)"
            } else {
                " AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.image_id = images.id AND i.region_id = images.region_id)"
            });
        }
        if let Some(snapshot) = &q.snapshot_id {
            filters.push_str(" AND EXISTS (SELECT 1 FROM image_snapshots s WHERE s.image_id = images.id AND s.snapshot_id = ?)");
            fargs.push(SqlValue::Text(snapshot.clone()));
        }
        if let Some(from) = q.created_from {
            filters.push_str(" AND created_at >= ?");
            fargs.push(SqlValue::Integer(from));
        }
        if let Some(to) = q.created_to {
            filters.push_str(" AND created_at <= ?");
            fargs.push(SqlValue::Integer(to));
        }
        push_tag_filters(
            &mut filters,
            &mut fargs,
            ResourceType::Image.as_str(),
            "images.id",
            &q.tags,
        );
        // Only the filters above stop the maintained counters from answering TotalCount.
        let counted = filters.is_empty();
        let statuses: Vec<String> = q.statuses.iter().map(|s| s.as_str().to_string()).collect();
        if !statuses.is_empty() {
            push_in(&mut filters, &mut fargs, "status", &statuses);
        }
        let region = SqlValue::Text(q.region_id.clone());
        // Statement text and bound values are built by appending and borrowing: a lookup by id
        // runs this once per request, and formatting and cloning the values for every branch
        // cost more instructions than SQLite's step of the query (BENCHMARKS.md).
        let push_arm = |sql: &mut String, select: &str, arm: &str| {
            sql.push_str("SELECT ");
            sql.push_str(select);
            sql.push_str(" FROM images WHERE region_id = ? AND deleted_at IS NULL AND ");
            sql.push_str(arm);
            sql.push_str(&filters);
        };
        /// A branch's bound values: the region, the branch's own, the filters'.
        fn arm_args<'v>(
            region: &'v SqlValue,
            arm: &'v [SqlValue],
            filters: &'v [SqlValue],
        ) -> impl Iterator<Item = &'v SqlValue> {
            std::iter::once(region).chain(arm).chain(filters)
        }

        let mut sql = String::with_capacity(512);
        let mut args: Vec<&SqlValue> = Vec::with_capacity(8 * arms.len() + 2);
        if q.ids.is_empty() {
            for (i, (arm, a, _)) in arms.iter().enumerate() {
                if i > 0 {
                    sql.push_str(" UNION ALL ");
                }
                push_arm(&mut sql, "created_at, id, doc", arm);
                args.extend(arm_args(&region, a, &fargs));
            }
        } else {
            // A lookup by id probes the primary key once per id and tests the owner branches on
            // the row (they exclude one another): a UNION ALL probed it once per branch and
            // merged, a tenth of DescribeImages by id's instructions (BENCHMARKS.md).
            sql.push_str(
                "SELECT created_at, id, doc FROM images WHERE region_id = ? AND deleted_at IS NULL AND (",
            );
            args.push(&region);
            for (i, (arm, a, _)) in arms.iter().enumerate() {
                sql.push_str(if i > 0 { " OR (" } else { "(" });
                sql.push_str(arm);
                sql.push(')');
                args.extend(a);
            }
            sql.push(')');
            sql.push_str(&filters);
            args.extend(&fargs);
        }
        sql.push_str(" ORDER BY 1 DESC, 2 LIMIT ? OFFSET ?");
        let (lim, off) = page_bounds(q.offset, q.limit);
        let (lim, off) = (SqlValue::Integer(lim), SqlValue::Integer(off));
        args.push(&lim);
        args.push(&off);
        let mut items = Vec::new();
        {
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params_from_iter(args.iter()))?;
            while let Some(row) = rows.next()? {
                // Parsed in SQLite's own buffer, without copying the document out first.
                let doc = row.get_ref(2)?;
                items.push(match self.parsed {
                    Some(parsed) => parsed.parse(
                        row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?,
                        doc.as_bytes().map_err(rusqlite::Error::from)?,
                    )?,
                    None => from_doc::<Image>(doc.as_str().map_err(rusqlite::Error::from)?)?,
                });
            }
        }

        // A first page that is not full holds every match: nothing to count.
        if q.offset == 0 && (items.len() as u64) < q.limit {
            return Ok(Page {
                total: items.len() as u64,
                items,
            });
        }
        let mut total = 0u64;
        for (arm, a, owner_key) in &arms {
            total += match owner_key {
                Some(owner) if counted => self.live_images(&q.region_id, *owner, &statuses)?,
                _ => {
                    let mut count_sql = String::new();
                    push_arm(&mut count_sql, "COUNT(*)", arm);
                    let n: i64 = self
                        .conn
                        .prepare_cached(&count_sql)?
                        .query_row(params_from_iter(arm_args(&region, a, &fargs)), |r| r.get(0))?;
                    u64::try_from(n).unwrap_or(0)
                }
            };
        }
        Ok(Page { total, items })
    }

    fn image_listing_extras(
        &mut self,
        region_id: &str,
        ids: &[String],
        count_shares: bool,
    ) -> StoreResult<Vec<ImageExtras>> {
        // Three queries for the whole page instead of three per image; the ids travel as one
        // JSON array, so the statements stay the same whatever the page holds. Each walks that
        // array (`CROSS JOIN` keeps it the outer loop) and looks every id up by index: `IN
        // (SELECT … json_each)` built a temporary b-tree per query, a tenth of the server's CPU
        // for DescribeImages by id (BENCHMARKS.md).
        if let [id] = ids {
            return self.one_image_extras(region_id, id, count_shares);
        }
        let mut at: std::collections::HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        // Each id once (the one `at` keeps), so no row comes back twice.
        let unique: Vec<&str> = ids
            .iter()
            .enumerate()
            .filter(|(i, id)| at.get(id.as_str()) == Some(i))
            .map(|(_, id)| id.as_str())
            .collect();
        let list = serde_json::to_string(&unique).map_err(json_err)?;
        let mut extras: Vec<ImageExtras> = ids.iter().map(|_| ImageExtras::default()).collect();
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT t.resource_id, t.key, t.value FROM json_each(?2) AS j CROSS JOIN tags AS t
                 WHERE t.resource_type = ?1 AND t.resource_id = j.value",
            )?;
            let mut rows = stmt.query(params![ResourceType::Image.as_str(), list])?;
            while let Some(r) = rows.next()? {
                let id: String = r.get(0)?;
                if let Some(&i) = at.get(id.as_str()) {
                    extras[i].tags.push(Tag {
                        key: r.get(1)?,
                        value: r.get(2)?,
                    });
                }
            }
        }
        // Sorted here rather than by an ORDER BY, which would build a temporary b-tree.
        for extra in &mut extras {
            extra.tags.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        }
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT j.value FROM json_each(?2) AS j WHERE EXISTS
                 (SELECT 1 FROM instances AS i WHERE i.image_id = j.value AND i.region_id = ?1)",
            )?;
            let mut rows = stmt.query(params![region_id, list])?;
            while let Some(r) = rows.next()? {
                let id: String = r.get(0)?;
                if let Some(&i) = at.get(id.as_str()) {
                    extras[i].in_use = true;
                }
            }
        }
        if count_shares {
            let mut stmt = self.conn.prepare_cached(
                "SELECT j.value, (SELECT COUNT(*) FROM image_shares AS s WHERE s.image_id = j.value)
                 FROM json_each(?1) AS j",
            )?;
            let mut rows = stmt.query([&list])?;
            while let Some(r) = rows.next()? {
                let id: String = r.get(0)?;
                let n: i64 = r.get(1)?;
                if let Some(&i) = at.get(id.as_str()) {
                    extras[i].shared_accounts = u64::try_from(n).unwrap_or(0);
                }
            }
        }
        at.clear();
        Ok(extras)
    }

    fn image_name_taken(
        &mut self,
        owner: AccountId,
        region_id: &str,
        name: &str,
        except_id: Option<&str>,
    ) -> StoreResult<bool> {
        self.exists(
            "SELECT EXISTS(SELECT 1 FROM images WHERE owner = ? AND region_id = ? AND name = ? AND deleted_at IS NULL AND id <> ?)",
            &[&owner, &region_id, &name, &except_id.unwrap_or("")],
        )
    }

    fn instances_using_image(&mut self, region_id: &str, image_id: &str) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(*) FROM instances WHERE image_id = ? AND region_id = ?",
            &[&image_id, &region_id],
        )
    }

    fn deletion_facts(&mut self, region_id: &str, image_id: &str) -> StoreResult<DeletionFacts> {
        // One statement for the five questions (each its own probe, as in `open_task`,
        // `shared_accounts` and `instances_using_image`): DeleteImage asks them twice, on its
        // read snapshot and in its write.
        let mut stmt = self.conn.prepare_cached(
            "SELECT
               EXISTS(SELECT 1 FROM tasks WHERE resource_id = ?1 AND action = ?3 AND +status IN ('Waiting', 'Processing')),
               EXISTS(SELECT 1 FROM tasks WHERE resource_id = ?1 AND action = ?4 AND +status IN ('Waiting', 'Processing')),
               EXISTS(SELECT 1 FROM tasks WHERE resource_id = ?1 AND action = ?5 AND +status IN ('Waiting', 'Processing')),
               (SELECT COUNT(*) FROM image_shares WHERE image_id = ?1),
               (SELECT COUNT(*) FROM instances WHERE image_id = ?1 AND region_id = ?2)",
        )?;
        let facts = stmt.query_row(
            params![
                image_id,
                region_id,
                TaskAction::CopyImage.as_str(),
                TaskAction::ImportImage.as_str(),
                TaskAction::ExportImage.as_str()
            ],
            |r| {
                Ok(DeletionFacts {
                    copying: r.get::<_, i64>(0)? != 0,
                    importing: r.get::<_, i64>(1)? != 0,
                    exporting: r.get::<_, i64>(2)? != 0,
                    shared_accounts: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                    instances_using: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
                })
            },
        )?;
        Ok(facts)
    }

    fn shared_accounts(&mut self, image_id: &str) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(*) FROM image_shares WHERE image_id = ?",
            &[&image_id],
        )
    }

    fn is_shared_with(&mut self, image_id: &str, account: AccountId) -> StoreResult<bool> {
        self.exists(
            "SELECT EXISTS(SELECT 1 FROM image_shares WHERE image_id = ? AND account_id = ?)",
            &[&image_id, &account],
        )
    }

    fn share_image(&mut self, image_id: &str, account: AccountId, now: Millis) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO image_shares(image_id, account_id, shared_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            )?
            .execute(params![image_id, account, now])?;
        Ok(())
    }

    fn unshare_image(&mut self, image_id: &str, account: AccountId) -> StoreResult<()> {
        self.conn
            .prepare_cached("DELETE FROM image_shares WHERE image_id = ? AND account_id = ?")?
            .execute(params![image_id, account])?;
        Ok(())
    }

    fn image_shares(
        &mut self,
        image_id: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<(AccountId, Millis)>> {
        let total = self.count(
            "SELECT COUNT(*) FROM image_shares WHERE image_id = ?",
            &[&image_id],
        )?;
        let (lim, off) = page_bounds(offset, limit);
        let mut stmt = self.conn.prepare_cached(
            "SELECT account_id, shared_at FROM image_shares WHERE image_id = ? ORDER BY shared_at, account_id LIMIT ? OFFSET ?",
        )?;
        let items = stmt
            .query_map(params![image_id, lim, off], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page { total, items })
    }

    fn shared_image_count(&mut self, owner: AccountId) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(DISTINCT s.image_id) FROM image_shares s JOIN images i ON i.id = s.image_id WHERE i.owner = ?",
            &[&owner],
        )
    }

    fn instance(&mut self, id: &str) -> StoreResult<Option<Instance>> {
        self.doc_by_id("instances", id)
    }

    fn put_instance(&mut self, i: &Instance) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO instances(id, owner, region_id, zone_id, image_id, status, instance_type, name, created_at, doc)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT(id) DO UPDATE SET image_id = excluded.image_id, status = excluded.status,
                   instance_type = excluded.instance_type, name = excluded.name, doc = excluded.doc",
            )?
            .execute(params![
                i.id,
                i.owner,
                i.region_id,
                i.zone_id,
                i.image_id,
                i.status.as_str(),
                i.instance_type,
                i.name,
                i.created_at,
                to_doc(i)?
            ])?;
        Ok(())
    }

    fn delete_instance(&mut self, id: &str) -> StoreResult<()> {
        self.conn
            .prepare_cached("DELETE FROM instances WHERE id = ?")?
            .execute([id])?;
        Ok(())
    }

    fn find_instances(&mut self, q: &InstanceQuery) -> StoreResult<Page<Instance>> {
        let mut sql = String::from("FROM instances WHERE owner = ? AND region_id = ?");
        let mut args = vec![
            SqlValue::Integer(q.owner),
            SqlValue::Text(q.region_id.clone()),
        ];
        if let Some(ids) = &q.ids {
            push_in(&mut sql, &mut args, "id", ids);
        }
        for (column, value) in [
            ("image_id", &q.image_id),
            ("zone_id", &q.zone_id),
            ("instance_type", &q.instance_type),
        ] {
            if let Some(v) = value {
                sql.push_str(&format!(" AND {column} = ?"));
                args.push(SqlValue::Text(v.clone()));
            }
        }
        if let Some(status) = q.status {
            sql.push_str(" AND status = ?");
            args.push(SqlValue::Text(status.as_str().into()));
        }
        if let Some(pattern) = &q.name_pattern {
            sql.push_str(" AND name GLOB ?");
            args.push(SqlValue::Text(glob_of(pattern)));
        }
        self.paged_docs(&sql, "created_at DESC, id", args, q.offset, q.limit)
    }

    fn disk(&mut self, id: &str) -> StoreResult<Option<Disk>> {
        self.doc_by_id("disks", id)
    }

    fn put_disk(&mut self, d: &Disk) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO disks(id, owner, region_id, instance_id, created_at, doc) VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT(id) DO UPDATE SET instance_id = excluded.instance_id, doc = excluded.doc",
            )?
            .execute(params![d.id, d.owner, d.region_id, d.instance_id, d.created_at, to_doc(d)?])?;
        Ok(())
    }

    fn delete_disk(&mut self, id: &str) -> StoreResult<()> {
        self.conn
            .prepare_cached("DELETE FROM disks WHERE id = ?")?
            .execute([id])?;
        Ok(())
    }

    fn disks_of_instance(&mut self, instance_id: &str) -> StoreResult<Vec<Disk>> {
        // Sorted here, not by `ORDER BY created_at, id`: an instance has a few disks, and
        // SQLite sorted them in a temporary b-tree on every call (twice per CreateImage).
        let mut stmt = self
            .conn
            .prepare_cached("SELECT doc FROM disks WHERE instance_id = ?")?;
        let mut rows = stmt.query([instance_id])?;
        let mut disks: Vec<Disk> = Vec::new();
        while let Some(row) = rows.next()? {
            disks.push(from_doc(
                row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?,
            )?);
        }
        disks.sort_unstable_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(disks)
    }

    fn find_disks(&mut self, q: &DiskQuery) -> StoreResult<Page<Disk>> {
        let mut sql = String::from("FROM disks WHERE owner = ? AND region_id = ?");
        let mut args = vec![
            SqlValue::Integer(q.owner),
            SqlValue::Text(q.region_id.clone()),
        ];
        if let Some(ids) = &q.ids {
            push_in(&mut sql, &mut args, "id", ids);
        }
        if let Some(instance) = &q.instance_id {
            sql.push_str(" AND instance_id = ?");
            args.push(SqlValue::Text(instance.clone()));
        }
        if let Some(kind) = q.kind {
            sql.push_str(" AND json_extract(doc, '$.kind') = ?");
            args.push(SqlValue::Text(format!("{kind:?}")));
        }
        self.paged_docs(&sql, "created_at DESC, id", args, q.offset, q.limit)
    }

    fn snapshot(&mut self, id: &str) -> StoreResult<Option<Snapshot>> {
        self.doc_by_id("snapshots", id)
    }

    fn put_snapshot(&mut self, s: &Snapshot) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO snapshots(id, owner, region_id, source_disk_id, status, created_at, ready_at, doc)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT(id) DO UPDATE SET status = excluded.status, ready_at = excluded.ready_at, doc = excluded.doc",
            )?
            .execute(params![
                s.id,
                s.owner,
                s.region_id,
                s.source_disk_id,
                s.status.as_str(),
                s.created_at,
                s.ready_at,
                to_doc(s)?
            ])?;
        Ok(())
    }

    fn delete_snapshot(&mut self, id: &str) -> StoreResult<()> {
        self.conn
            .prepare_cached("DELETE FROM image_snapshots WHERE snapshot_id = ?")?
            .execute([id])?;
        self.conn
            .prepare_cached("DELETE FROM snapshots WHERE id = ?")?
            .execute([id])?;
        Ok(())
    }

    fn find_snapshots(&mut self, q: &SnapshotQuery) -> StoreResult<Page<Snapshot>> {
        let mut sql = String::from("FROM snapshots WHERE owner = ? AND region_id = ?");
        let mut args = vec![
            SqlValue::Integer(q.owner),
            SqlValue::Text(q.region_id.clone()),
        ];
        if let Some(ids) = &q.ids {
            push_in(&mut sql, &mut args, "id", ids);
        }
        if let Some(disk) = &q.disk_id {
            sql.push_str(" AND source_disk_id = ?");
            args.push(SqlValue::Text(disk.clone()));
        }
        if let Some(instance) = &q.instance_id {
            sql.push_str(" AND source_disk_id IN (SELECT id FROM disks WHERE instance_id = ?)");
            args.push(SqlValue::Text(instance.clone()));
        }
        if let Some(status) = q.status {
            sql.push_str(" AND status = ?");
            args.push(SqlValue::Text(status.as_str().into()));
        }
        if let Some(kind) = q.source_disk_type {
            sql.push_str(" AND json_extract(doc, '$.source_disk_type') = ?");
            args.push(SqlValue::Text(format!("{kind:?}")));
        }
        self.paged_docs(&sql, "created_at DESC, id", args, q.offset, q.limit)
    }

    fn snapshot_used_by_image(&mut self, id: &str) -> StoreResult<bool> {
        self.exists(
            "SELECT EXISTS(SELECT 1 FROM image_snapshots s JOIN images i ON i.id = s.image_id AND i.owner IS NOT NULL WHERE s.snapshot_id = ? AND i.deleted_at IS NULL)",
            &[&id],
        )
    }

    fn disk_has_progressing_snapshot(&mut self, disk_id: &str) -> StoreResult<bool> {
        self.exists(
            "SELECT EXISTS(SELECT 1 FROM snapshots WHERE source_disk_id = ? AND status = 'progressing')",
            &[&disk_id],
        )
    }

    fn tags(&mut self, resource_type: ResourceType, id: &str) -> StoreResult<Vec<Tag>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT key, value FROM tags WHERE resource_type = ? AND resource_id = ? ORDER BY key",
        )?;
        let rows = stmt.query_map([resource_type.as_str(), id], |r| {
            Ok(Tag {
                key: r.get(0)?,
                value: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn set_tag(
        &mut self,
        owner: AccountId,
        region_id: &str,
        resource_type: ResourceType,
        id: &str,
        tag: &Tag,
    ) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO tags(resource_type, resource_id, key, value, owner, region_id) VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT(resource_type, resource_id, key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![resource_type.as_str(), id, tag.key, tag.value, owner, region_id])?;
        Ok(())
    }

    fn remove_tag(&mut self, resource_type: ResourceType, id: &str, key: &str) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "DELETE FROM tags WHERE resource_type = ? AND resource_id = ? AND key = ?",
            )?
            .execute([resource_type.as_str(), id, key])?;
        Ok(())
    }

    fn remove_all_tags(&mut self, resource_type: ResourceType, id: &str) -> StoreResult<()> {
        self.conn
            .prepare_cached("DELETE FROM tags WHERE resource_type = ? AND resource_id = ?")?
            .execute([resource_type.as_str(), id])?;
        Ok(())
    }

    fn find_tags(&mut self, q: &TagQuery) -> StoreResult<Page<TagRow>> {
        let mut sql = String::from("FROM tags r WHERE r.owner = ? AND r.region_id = ?");
        let mut args = vec![
            SqlValue::Integer(q.owner),
            SqlValue::Text(q.region_id.clone()),
        ];
        if let Some(rt) = q.resource_type {
            sql.push_str(" AND r.resource_type = ?");
            args.push(SqlValue::Text(rt.as_str().into()));
        }
        if !q.resource_ids.is_empty() {
            push_in(&mut sql, &mut args, "r.resource_id", &q.resource_ids);
        }
        for (key, value) in &q.tags {
            sql.push_str(" AND EXISTS (SELECT 1 FROM tags t WHERE t.resource_type = r.resource_type AND t.resource_id = r.resource_id AND t.key = ?");
            args.push(SqlValue::Text(key.clone()));
            if let Some(v) = value {
                sql.push_str(" AND t.value = ?");
                args.push(SqlValue::Text(v.clone()));
            }
            sql.push(')');
        }
        for pattern in &q.patterns {
            sql.push_str(" AND EXISTS (SELECT 1 FROM tags t WHERE t.resource_type = r.resource_type AND t.resource_id = r.resource_id AND t.key = ?");
            args.push(SqlValue::Text(pattern.key.clone()));
            if !pattern.values.is_empty() {
                sql.push_str(" AND (");
                for (i, value) in pattern.values.iter().enumerate() {
                    if i > 0 {
                        sql.push_str(" OR ");
                    }
                    sql.push_str("t.value GLOB ?");
                    args.push(SqlValue::Text(glob_of(value)));
                }
                sql.push(')');
            }
            sql.push(')');
        }
        let total: i64 = self
            .conn
            .prepare_cached(&format!("SELECT COUNT(*) {sql}"))?
            .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
        let (lim, off) = page_bounds(q.offset, q.limit);
        args.push(SqlValue::Integer(lim));
        args.push(SqlValue::Integer(off));
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT r.resource_type, r.resource_id, r.key, r.value {sql} ORDER BY r.resource_id, r.key LIMIT ? OFFSET ?"
        ))?;
        let rows = stmt
            .query_map(params_from_iter(args.iter()), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let items = rows
            .into_iter()
            .filter_map(|(rt, id, key, value)| {
                Some(TagRow {
                    resource_type: ResourceType::parse(&rt)?,
                    resource_id: id,
                    tag: Tag { key, value },
                })
            })
            .collect();
        Ok(Page {
            total: u64::try_from(total).unwrap_or(0),
            items,
        })
    }

    fn idempotent_record(
        &mut self,
        owner: AccountId,
        action: &str,
        token: &str,
    ) -> StoreResult<Option<IdempotentRecord>> {
        Ok(self
            .conn
            .prepare_cached("SELECT fingerprint, response FROM client_tokens WHERE owner = ? AND action = ? AND token = ?")?
            .query_row(params![owner, action, token], |r| {
                Ok(IdempotentRecord { fingerprint: r.get(0)?, response: r.get(1)? })
            })
            .optional()?)
    }

    fn put_idempotent_record(
        &mut self,
        owner: AccountId,
        action: &str,
        token: &str,
        record: &IdempotentRecord,
        now: Millis,
    ) -> StoreResult<()> {
        self.conn
            .prepare_cached("INSERT INTO client_tokens(owner, action, token, fingerprint, response, created_at) VALUES (?, ?, ?, ?, ?, ?)")?
            .execute(params![owner, action, token, record.fingerprint, record.response, now])?;
        Ok(())
    }

    fn insert_nonces(&mut self, nonces: &[NonceRecord]) -> StoreResult<()> {
        // A flush holds every nonce of up to 200 ms (thousands under load): NONCE_ROWS rows per
        // statement bind and step once for all of them, where one statement per row bound,
        // stepped and reset it per request. A nonce repeated here (never, in practice: the
        // cache refused it first) is kept twice, which only remembers it longer.
        static MANY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            let mut sql =
                String::from("INSERT INTO nonce_log(access_key_id, nonce, seen_at) VALUES ");
            for i in 0..NONCE_ROWS {
                sql.push_str(if i == 0 { "(?, ?, ?)" } else { ", (?, ?, ?)" });
            }
            sql
        });
        fn values(rows: &[NonceRecord]) -> impl Iterator<Item = &dyn rusqlite::ToSql> {
            rows.iter().flat_map(|n| {
                [
                    &n.access_key_id as &dyn rusqlite::ToSql,
                    &n.nonce,
                    &n.seen_at,
                ]
            })
        }
        let mut batches = nonces.chunks_exact(NONCE_ROWS);
        if batches.len() > 0 {
            let mut stmt = self.conn.prepare_cached(&MANY)?;
            for batch in &mut batches {
                stmt.execute(params_from_iter(values(batch)))?;
            }
        }
        let rest = batches.remainder();
        if !rest.is_empty() {
            let mut stmt = self.conn.prepare_cached(
                "INSERT INTO nonce_log(access_key_id, nonce, seen_at) VALUES (?, ?, ?)",
            )?;
            for n in rest {
                stmt.execute(params![n.access_key_id, n.nonce, n.seen_at])?;
            }
        }
        Ok(())
    }

    fn delete_nonces_before(&mut self, before: Millis) -> StoreResult<()> {
        // Rows are in acceptance order, so the old ones are a prefix: delete up to the first
        // row seen at `before` or later (all of them if there is none). A row appended late
        // with an older time (a flush retried after a failed write) stays until the rows
        // before it go: remembered a little longer, never forgotten early.
        self.conn
            .prepare_cached(
                "DELETE FROM nonce_log WHERE rowid < ifnull(
                    (SELECT rowid FROM nonce_log WHERE seen_at >= ? ORDER BY rowid LIMIT 1),
                    (SELECT max(rowid) + 1 FROM nonce_log))",
            )?
            .execute([before])?;
        Ok(())
    }

    fn nonce_recorded(
        &mut self,
        access_key_id: &str,
        nonce: &str,
        since: Millis,
    ) -> StoreResult<bool> {
        // A scan: asked only until the start-up preload has read the whole table once, which
        // is cheaper than an index every accepted nonce would have to be inserted into.
        self.exists(
            "SELECT EXISTS(SELECT 1 FROM nonce_log WHERE nonce = ? AND access_key_id = ? AND seen_at >= ?)",
            &[&nonce, &access_key_id, &since],
        )
    }

    fn each_nonce_since(
        &mut self,
        since: Millis,
        each: &mut dyn FnMut(&str, &str, Millis),
    ) -> StoreResult<()> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT access_key_id, nonce, seen_at FROM nonce_log WHERE seen_at >= ?",
        )?;
        // Borrowed from the row: no string is allocated per nonce.
        fn text<'r>(r: &'r rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<&'r str> {
            let value = r.get_ref(idx)?;
            value.as_str().map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(idx, value.data_type(), Box::new(e))
            })
        }
        let mut rows = stmt.query([since])?;
        while let Some(r) = rows.next()? {
            each(text(r, 0)?, text(r, 1)?, r.get(2)?);
        }
        Ok(())
    }

    fn due_images(&mut self, now: Millis) -> StoreResult<Vec<Image>> {
        self.docs(
            "SELECT doc FROM images WHERE status = 'Creating' AND ready_at <= ?",
            now,
        )
    }

    fn due_snapshots(&mut self, now: Millis) -> StoreResult<Vec<Snapshot>> {
        self.docs(
            "SELECT doc FROM snapshots WHERE status = 'progressing' AND ready_at <= ?",
            now,
        )
    }

    fn task(&mut self, id: &str) -> StoreResult<Option<Task>> {
        self.doc_by_id("tasks", id)
    }

    fn put_task(&mut self, t: &Task) -> StoreResult<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO tasks(id, owner, region_id, action, status, resource_id, created_at, lease_owner, lease_until, doc)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT(id) DO UPDATE SET status = excluded.status, lease_owner = excluded.lease_owner,
                   lease_until = excluded.lease_until, doc = excluded.doc",
            )?
            .execute(params![
                t.id,
                t.owner,
                t.region_id,
                t.action.as_str(),
                t.status.as_str(),
                t.resource_id,
                t.created_at,
                t.lease_owner,
                t.lease_until,
                to_doc(t)?
            ])?;
        Ok(())
    }

    fn find_tasks(&mut self, q: &TaskQuery) -> StoreResult<Page<Task>> {
        let mut sql = String::from("FROM tasks WHERE owner = ? AND region_id = ?");
        let mut args = vec![
            SqlValue::Integer(q.owner),
            SqlValue::Text(q.region_id.clone()),
        ];
        if let Some(ids) = &q.ids {
            push_in(&mut sql, &mut args, "id", ids);
        }
        if !q.resource_ids.is_empty() {
            push_in(&mut sql, &mut args, "resource_id", &q.resource_ids);
        }
        if let Some(action) = q.action {
            sql.push_str(" AND action = ?");
            args.push(SqlValue::Text(action.as_str().into()));
        }
        if let Some(status) = q.status {
            sql.push_str(" AND status = ?");
            args.push(SqlValue::Text(status.as_str().into()));
        }
        if let Some(from) = q.created_from {
            sql.push_str(" AND created_at >= ?");
            args.push(SqlValue::Integer(from));
        }
        if let Some(to) = q.created_to {
            sql.push_str(" AND created_at <= ?");
            args.push(SqlValue::Integer(to));
        }
        self.paged_docs(&sql, "created_at DESC, id", args, q.offset, q.limit)
    }

    fn open_task(&mut self, resource_id: &str, action: TaskAction) -> StoreResult<Option<Task>> {
        let doc: Option<String> = self
            .conn
            .prepare_cached(
                // `+status`: the index finds the resource's tasks of this action (a few rows) and
                // the two statuses are compared on them; an indexed `IN` list builds an ephemeral
                // table on every execution, a third of a refused DeleteImage's instructions
                // (three of these per call; BENCHMARKS.md).
                "SELECT doc FROM tasks WHERE resource_id = ? AND action = ? AND +status IN ('Waiting', 'Processing') LIMIT 1",
            )?
            .query_row([resource_id, action.as_str()], |r| r.get(0))
            .optional()?;
        doc.map(|d| from_doc(&d)).transpose()
    }

    fn open_copy_of(&mut self, source_image_id: &str) -> StoreResult<bool> {
        self.exists(
            "SELECT EXISTS(SELECT 1 FROM tasks WHERE action = 'CopyImage' AND status IN ('Waiting', 'Processing')
               AND json_extract(doc, '$.work.Copy.source_image_id') = ?)",
            &[&source_image_id],
        )
    }

    fn claim_task(
        &mut self,
        node: &str,
        now: Millis,
        lease_until: Millis,
    ) -> StoreResult<Option<Task>> {
        let doc: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT doc FROM tasks WHERE status IN ('Waiting', 'Processing')
                   AND (lease_until IS NULL OR lease_until < ?) ORDER BY created_at, id LIMIT 1",
            )?
            .query_row([now], |r| r.get(0))
            .optional()?;
        let Some(doc) = doc else { return Ok(None) };
        let mut task: Task = from_doc(&doc)?;
        task.lease_owner = Some(node.to_string());
        task.lease_until = Some(lease_until);
        self.put_task(&task)?;
        Ok(Some(task))
    }

    fn release_leases(&mut self, node: &str) -> StoreResult<()> {
        let docs: Vec<String> = self
            .conn
            .prepare_cached("SELECT doc FROM tasks WHERE lease_owner IS NOT NULL AND status IN ('Waiting', 'Processing')")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        // Workers lease as `{node}#{n}`.
        let worker_prefix = format!("{node}#");
        for doc in docs {
            let mut task: Task = from_doc(&doc)?;
            let held = task
                .lease_owner
                .as_deref()
                .is_some_and(|o| o == node || o.starts_with(&worker_prefix));
            if !held {
                continue;
            }
            task.lease_owner = None;
            task.lease_until = None;
            self.put_task(&task)?;
        }
        Ok(())
    }

    fn next_due(&mut self) -> StoreResult<Option<Millis>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT MIN(t) FROM (SELECT MIN(ready_at) AS t FROM images WHERE status = 'Creating'
                 UNION ALL SELECT MIN(ready_at) FROM snapshots WHERE status = 'progressing')",
            )?
            .query_row([], |r| r.get::<_, Option<i64>>(0))?)
    }
}

//! The PostgreSQL backend, for several ecsim nodes sharing one database (`--database-url
//! postgres://…`). Every SQL statement mirrors the SQLite one in `sqlite.rs`; the conformance
//! suite (`tests.rs`) runs against both.
//!
//! **Serialization across nodes.** Every write transaction first takes one transaction-level
//! advisory lock, `pg_advisory_xact_lock(WRITE_LOCK, hash(schema))`, held until it commits or
//! rolls back. That is exactly SQLite's single writer (`BEGIN IMMEDIATE`), stretched across all
//! nodes: a rule checked inside a write transaction ("no instance uses this image", "no
//! share/copy of a deleted image") still holds when it commits, whichever node the racing
//! request reached. Chosen over row locks (every check-then-write rule would need the right
//! `FOR UPDATE` on rows that may not exist yet — an insert race) and over SERIALIZABLE (retry
//! loops around closures that also move bytes). Writes run READ COMMITTED, so each statement
//! after the lock sees every transaction committed before it (REPEATABLE READ would take its
//! snapshot before the wait). Reads run REPEATABLE READ READ ONLY: one consistent snapshot per
//! request, never blocked by writers. Throughput of writes is that of one writer; reads scale.
//!
//! The lock key includes the schema, so test runs in separate schemas of one database do not
//! serialize against each other.
//!
//! **Connections.** `tokio-postgres` on one small process-wide runtime that drives the
//! connections; callers block on their query with a thread-parking waker, so the store can be
//! used from any thread — tokio's blocking pool, plain threads, and even a thread that runs a
//! runtime (server start-up, `#[tokio::test]`), where the sync `postgres` crate would panic.
//! A bounded pool (default 16 per node, `ECSIM_DATABASE_POOL_SIZE`) hands out connections; a
//! broken one is dropped and replaced on the next request. When the database is unreachable
//! requests fail with `ServiceUnavailable` (connect timeout 5 s, statement timeout 30 s) and the
//! node recovers by itself when it comes back.

use crate::{
    DiskQuery, IdempotentRecord, ImageExtras, ImageQuery, InstanceQuery, NonceRecord, Page,
    SnapshotQuery, StoreError, StoreResult, TagQuery, TagRow, TaskQuery, Tx,
};
use ecsim_core::Millis;
use ecsim_core::model::{
    AccessKey, AccountId, Disk, Image, Instance, KeyStatus, Region, ResourceType, Secret, Snapshot,
    Tag, Task, TaskAction,
};
use ecsim_wire::ApiError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{Client, Config, NoTls, Row, Statement};

mod identity;

const SCHEMA: &str = include_str!("postgres/schema.sql");
/// Held by every write transaction. Advisory lock keys: a constant for ecsim, and a hash of
/// the schema.
const WRITE_LOCK: &str =
    "SELECT pg_advisory_xact_lock(250941184, coalesce(hashtext(current_schema()), 0))";
/// Held while the schema is created, so two nodes starting at once do not race.
const MIGRATE_LOCK: &str =
    "SELECT pg_advisory_lock(250941185, coalesce(hashtext(current_schema()), 0))";
const MIGRATE_UNLOCK: &str =
    "SELECT pg_advisory_unlock(250941185, coalesce(hashtext(current_schema()), 0))";
const DEFAULT_POOL_SIZE: usize = 16;
/// How long a request waits for a free connection before it is answered `ServiceUnavailable`.
const POOL_WAIT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Per connection: bounds every statement (including the wait for the write lock), and frees
/// the write lock of a node that hangs inside a transaction.
const SESSION_SETTINGS: &str =
    "SET statement_timeout = '30s'; SET idle_in_transaction_session_timeout = '60s'";
const MAX_CACHED_STATEMENTS: usize = 512;

// ---- blocking on tokio-postgres from any thread ----------------------------------------

/// Drives every connection of the process. Never dropped (dropping a runtime on a thread
/// that runs another one panics).
fn runtime() -> StoreResult<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("ecsim-postgres")
                .enable_all()
                .build()
                .ok()
        })
        .as_ref()
        .ok_or_else(|| StoreError::Internal("cannot start the PostgreSQL runtime".into()))
}

struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `fut` on this thread, parking between wake-ups. The futures only talk to the
/// connection task over channels, so they need no runtime of their own.
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return out,
            Poll::Pending => std::thread::park(),
        }
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(err: tokio_postgres::Error) -> Self {
        let unavailable = err.is_closed()
            || match err.code() {
                Some(code) => {
                    code.code().starts_with("08")
                        || code.code().starts_with("57")
                        || [
                            SqlState::T_R_SERIALIZATION_FAILURE,
                            SqlState::T_R_DEADLOCK_DETECTED,
                            SqlState::LOCK_NOT_AVAILABLE,
                            SqlState::TOO_MANY_CONNECTIONS,
                        ]
                        .contains(code)
                }
                // No server answer: I/O, connect failures and timeouts.
                None => {
                    std::error::Error::source(&err).is_some_and(|s| s.is::<std::io::Error>())
                        || matches!(
                            err.to_string().as_str(),
                            "error connecting to server"
                                | "timeout waiting for server"
                                | "error communicating with the server"
                        )
                }
            };
        let message = match err.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => err.to_string(),
        };
        if unavailable {
            StoreError::Unavailable(message)
        } else {
            StoreError::Internal(message)
        }
    }
}

fn json_err(err: serde_json::Error) -> StoreError {
    StoreError::Internal(format!("stored document: {err}"))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---- connections and the pool ----------------------------------------------------------

pub(crate) type Arg = Box<dyn ToSql + Sync + Send>;

pub(crate) struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
    /// A statement failed inside the open transaction: PostgreSQL has aborted it, so it must
    /// not be reported as committed.
    failed: bool,
}

impl Conn {
    fn connect(config: &Config) -> StoreResult<Conn> {
        let rt = runtime()?;
        let config = config.clone();
        let connecting = rt.spawn(async move {
            let (client, connection) = config.connect(NoTls).await?;
            tokio::spawn(async move {
                if let Err(err) = connection.await {
                    tracing::debug!(error = %err, "PostgreSQL connection ended");
                }
            });
            Ok::<_, tokio_postgres::Error>(client)
        });
        let client = block_on(connecting)
            .map_err(|e| StoreError::Internal(format!("connecting: {e}")))??;
        let mut conn = Conn {
            client,
            statements: HashMap::new(),
            failed: false,
        };
        conn.batch(SESSION_SETTINGS)?;
        Ok(conn)
    }

    fn note<T>(&mut self, result: Result<T, tokio_postgres::Error>) -> StoreResult<T> {
        result.map_err(|e| {
            self.failed = true;
            StoreError::from(e)
        })
    }

    fn prepare(&mut self, sql: &str) -> StoreResult<Statement> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let prepared = block_on(self.client.prepare(sql));
        let st = self.note(prepared)?;
        if self.statements.len() >= MAX_CACHED_STATEMENTS {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }

    pub(crate) fn query(
        &mut self,
        sql: &str,
        args: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Vec<Row>> {
        let st = self.prepare(sql)?;
        let rows = block_on(self.client.query(&st, args));
        self.note(rows)
    }

    pub(crate) fn execute(&mut self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
        let st = self.prepare(sql)?;
        let n = block_on(self.client.execute(&st, args));
        self.note(n)
    }

    fn batch(&mut self, sql: &str) -> StoreResult<()> {
        let done = block_on(self.client.batch_execute(sql));
        self.note(done)
    }
}

struct Pool {
    config: Config,
    max: usize,
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Conn>,
    open: usize,
}

/// A connection out of the pool; back to it on drop unless it broke or is mid-transaction
/// (a panic inside a handler): then it is closed, which rolls the transaction back.
struct Lease<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    clean: bool,
}

impl Lease<'_> {
    fn conn(&mut self) -> StoreResult<&mut Conn> {
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::Internal("connection already returned".into()))
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut state = lock(&self.pool.state);
            if self.clean && !conn.client.is_closed() {
                state.idle.push(conn);
            } else {
                state.open = state.open.saturating_sub(1);
            }
            drop(state);
            self.pool.freed.notify_one();
        }
    }
}

impl Pool {
    fn get(&self) -> StoreResult<Lease<'_>> {
        let deadline = Instant::now() + POOL_WAIT;
        let mut state = lock(&self.state);
        loop {
            if let Some(conn) = state.idle.pop() {
                if conn.client.is_closed() {
                    state.open = state.open.saturating_sub(1);
                    continue;
                }
                return Ok(Lease {
                    pool: self,
                    conn: Some(conn),
                    clean: true,
                });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match Conn::connect(&self.config) {
                    Ok(conn) => Ok(Lease {
                        pool: self,
                        conn: Some(conn),
                        clean: true,
                    }),
                    Err(err) => {
                        let mut state = lock(&self.state);
                        state.open = state.open.saturating_sub(1);
                        drop(state);
                        self.freed.notify_one();
                        Err(err)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Unavailable(
                    "every database connection is busy".into(),
                ));
            }
            state = self
                .freed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }
}

pub struct PgStore {
    pool: Pool,
}

impl PgStore {
    /// Connects, and creates the tables if needed (under an advisory lock, so nodes starting
    /// together do not race). Fails when the database cannot be reached.
    pub fn open(url: &str) -> StoreResult<Self> {
        let mut config: Config = url
            .parse()
            .map_err(|e| StoreError::Internal(format!("database URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("ecsim");
        }
        config.keepalives_idle(Duration::from_secs(30));
        let max = std::env::var("ECSIM_DATABASE_POOL_SIZE")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_POOL_SIZE);
        let store = PgStore {
            pool: Pool {
                config,
                max,
                state: Mutex::new(PoolState {
                    idle: Vec::new(),
                    open: 0,
                }),
                freed: Condvar::new(),
            },
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&self) -> StoreResult<()> {
        let mut lease = self.pool.get()?;
        let conn = lease.conn()?;
        conn.batch(MIGRATE_LOCK)?;
        let created = conn
            .batch(SCHEMA)
            .and_then(|()| conn.batch(identity::SCHEMA));
        let unlocked = conn.batch(MIGRATE_UNLOCK);
        created?;
        unlocked?;
        conn.failed = false;
        Ok(())
    }

    fn transaction<T>(
        &self,
        begin: &str,
        commit: bool,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut lease = self.pool.get()?;
        lease.clean = false;
        let conn = lease.conn()?;
        conn.failed = false;
        conn.batch(begin)?;
        let out = f(&mut PgTx { conn: &mut *conn });
        match out {
            Ok(value) if !conn.failed => {
                conn.batch(if commit { "COMMIT" } else { "ROLLBACK" })?;
                lease.clean = true;
                Ok(value)
            }
            Ok(_) => {
                // A statement failed and the closure went on: PostgreSQL would turn the COMMIT
                // into a rollback, so say so instead of answering success.
                if conn.batch("ROLLBACK").is_ok() {
                    conn.failed = false;
                    lease.clean = true;
                }
                Err(StoreError::Internal(
                    "a statement failed inside a transaction that was to commit".into(),
                )
                .into())
            }
            Err(err) => {
                if conn.batch("ROLLBACK").is_ok() {
                    conn.failed = false;
                    lease.clean = true;
                }
                Err(err)
            }
        }
    }

    pub fn read<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", false, f)
    }

    /// Serialized across every node by the write lock (see the module docs).
    pub fn write<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.transaction(
            &format!("BEGIN ISOLATION LEVEL READ COMMITTED; {WRITE_LOCK}"),
            true,
            f,
        )
    }

    /// Records the nonce unless some node already did: true when this call recorded it.
    /// Committed before it returns, so every node refuses the nonce from then on. The commit
    /// does not wait for the WAL flush (`synchronous_commit = off`, this transaction only): a
    /// crash of the database server may forget the last few hundred milliseconds of nonces,
    /// which the accepting node's own cache still refuses; every request saves an fsync.
    pub fn claim_nonce(&self, record: &NonceRecord) -> Result<bool, ApiError> {
        let mut lease = self.pool.get()?;
        lease.clean = false;
        let conn = lease.conn()?;
        conn.failed = false;
        conn.batch("BEGIN; SET LOCAL synchronous_commit = off")?;
        let inserted = conn.execute(
            "INSERT INTO nonces(access_key_id, nonce, seen_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&record.access_key_id, &record.nonce, &record.seen_at],
        );
        let end = conn.batch(if inserted.is_ok() {
            "COMMIT"
        } else {
            "ROLLBACK"
        });
        let inserted = inserted?;
        end?;
        conn.failed = false;
        lease.clean = true;
        Ok(inserted == 1)
    }
}

/// Runs `sql` (one or more statements) on its own connection to `url`: set-up outside the
/// store, like creating the schema a node's URL names.
pub fn execute_batch(url: &str, sql: &str) -> StoreResult<()> {
    let mut config: Config = url
        .parse()
        .map_err(|e| StoreError::Internal(format!("database URL: {e}")))?;
    config.connect_timeout(CONNECT_TIMEOUT);
    Conn::connect(&config)?.batch(sql)
}

/// `url` with `search_path` set to `schema`, so every table the store creates and uses lives
/// there.
pub fn url_with_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

/// A fresh, empty schema in the database at `base_url`, dropped with everything in it when this
/// is dropped: each test (run) gets its own, so runs never interfere.
pub struct ScratchSchema {
    base_url: String,
    pub name: String,
    /// `base_url` with `search_path` set to the schema: give this to [`crate::Store::open`].
    pub url: String,
}

impl ScratchSchema {
    pub fn create(base_url: &str) -> StoreResult<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let name = format!(
            "ecsim_test_{}_{nanos}_{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        execute_batch(base_url, &format!("CREATE SCHEMA {name}"))?;
        Ok(Self {
            base_url: base_url.to_string(),
            url: url_with_schema(base_url, &name),
            name,
        })
    }
}

impl Drop for ScratchSchema {
    fn drop(&mut self) {
        if let Err(err) = execute_batch(
            &self.base_url,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        ) {
            tracing::warn!(error = %err, schema = %self.name, "dropping a scratch schema failed");
        }
    }
}

// ---- the transaction -------------------------------------------------------------------

pub(crate) struct PgTx<'a> {
    conn: &'a mut Conn,
}

fn to_doc<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(json_err)
}

fn from_doc<T: DeserializeOwned>(doc: &str) -> StoreResult<T> {
    serde_json::from_str(doc).map_err(json_err)
}

fn get<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> StoreResult<T> {
    Ok(row.try_get(idx)?)
}

fn page_bounds(offset: u64, limit: u64) -> (i64, i64) {
    (
        i64::try_from(limit).unwrap_or(i64::MAX),
        i64::try_from(offset).unwrap_or(i64::MAX),
    )
}

/// A statement built from the filters given: SQL text plus its `$n` arguments.
#[derive(Default)]
struct Query {
    sql: String,
    args: Vec<Arg>,
}

impl Query {
    /// Adds an argument and answers its placeholder.
    fn arg(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.args.push(Box::new(value));
        format!("${}", self.args.len())
    }

    fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    /// `AND column IN (...)` with one placeholder per id (none: matches nothing).
    fn push_in(&mut self, column: &str, ids: &[String]) {
        if ids.is_empty() {
            self.sql.push_str(" AND FALSE");
            return;
        }
        let holders: Vec<String> = ids.iter().map(|id| self.arg(id.clone())).collect();
        self.sql
            .push_str(&format!(" AND {column} IN ({})", holders.join(",")));
    }

    /// `EXISTS` clauses requiring each tag on the row named by `id_column`.
    fn push_tag_filters(
        &mut self,
        resource_type: &str,
        id_column: &str,
        tags: &[(String, Option<String>)],
    ) {
        for (key, value) in tags {
            let rt = self.arg(resource_type.to_string());
            let k = self.arg(key.clone());
            self.sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM tags t WHERE t.resource_type = {rt} AND t.resource_id = {id_column} AND t.key = {k}"
            ));
            if let Some(v) = value {
                let v = self.arg(v.clone());
                self.sql.push_str(&format!(" AND t.value = {v}"));
            }
            self.sql.push(')');
        }
    }
}

fn refs(args: &[Arg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|a| &**a as &(dyn ToSql + Sync)).collect()
}

/// A LIKE pattern in which only `*` is special (SQLite: GLOB with the other metacharacters
/// escaped): case-sensitive like ECS names.
fn like_of(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        match c {
            '*' => out.push('%'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            other => out.push(other),
        }
    }
    out
}

impl PgTx<'_> {
    pub(crate) fn rows(
        &mut self,
        sql: &str,
        args: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Vec<Row>> {
        self.conn.query(sql, args)
    }

    pub(crate) fn row(
        &mut self,
        sql: &str,
        args: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Option<Row>> {
        Ok(self.conn.query(sql, args)?.into_iter().next())
    }

    pub(crate) fn execute(&mut self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
        self.conn.execute(sql, args)
    }

    /// An insert that may break a unique constraint, in a savepoint: on failure the transaction
    /// goes on, as it does in SQLite.
    pub(crate) fn insert_guarded(
        &mut self,
        sql: &str,
        args: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<()> {
        self.conn.batch("SAVEPOINT ecsim_insert")?;
        match self.conn.execute(sql, args) {
            Ok(_) => self.conn.batch("RELEASE SAVEPOINT ecsim_insert"),
            Err(err) => {
                self.conn.batch("ROLLBACK TO SAVEPOINT ecsim_insert")?;
                self.conn.failed = false;
                Err(err)
            }
        }
    }

    pub(crate) fn exists(&mut self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> StoreResult<bool> {
        match self.row(sql, args)? {
            Some(row) => get(&row, 0),
            None => Ok(false),
        }
    }

    pub(crate) fn count(&mut self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
        match self.row(sql, args)? {
            Some(row) => Ok(u64::try_from(get::<i64>(&row, 0)?).unwrap_or(0)),
            None => Ok(0),
        }
    }

    pub(crate) fn doc_where<T: DeserializeOwned>(
        &mut self,
        sql: &str,
        args: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Option<T>> {
        match self.row(sql, args)? {
            Some(row) => Ok(Some(from_doc(get::<&str>(&row, 0)?)?)),
            None => Ok(None),
        }
    }

    pub(crate) fn docs_where<T: DeserializeOwned>(
        &mut self,
        sql: &str,
        args: &[&(dyn ToSql + Sync)],
    ) -> StoreResult<Vec<T>> {
        self.rows(sql, args)?
            .iter()
            .map(|row| from_doc(get::<&str>(row, 0)?))
            .collect()
    }

    fn doc_by_id<T: DeserializeOwned>(&mut self, table: &str, id: &str) -> StoreResult<Option<T>> {
        self.doc_where(&format!("SELECT doc FROM {table} WHERE id = $1"), &[&id])
    }

    /// Runs `SELECT COUNT(*)` and `SELECT doc` over the same `FROM … WHERE …` tail.
    fn paged_docs<T: DeserializeOwned>(
        &mut self,
        mut q: Query,
        order: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<T>> {
        let total = self.count(&format!("SELECT COUNT(*) {}", q.sql), &refs(&q.args))?;
        let (lim, off) = page_bounds(offset, limit);
        let lim = q.arg(lim);
        let off = q.arg(off);
        let sql = format!(
            "SELECT doc {} ORDER BY {order} LIMIT {lim} OFFSET {off}",
            q.sql
        );
        let items = self.docs_where(&sql, &refs(&q.args))?;
        Ok(Page { total, items })
    }
}

impl Tx for PgTx<'_> {
    fn meta(&mut self, key: &str) -> StoreResult<Option<String>> {
        match self.row("SELECT value FROM meta WHERE key = $1", &[&key])? {
            Some(row) => Ok(Some(get(&row, 0)?)),
            None => Ok(None),
        }
    }

    fn set_meta(&mut self, key: &str, value: &str) -> StoreResult<()> {
        self.execute(
            "INSERT INTO meta(key, value) VALUES ($1, $2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )?;
        Ok(())
    }

    fn insert_account(&mut self, id: AccountId, now: Millis) -> StoreResult<()> {
        self.insert_guarded(
            "INSERT INTO accounts(id, created_at) VALUES ($1, $2)",
            &[&id, &now],
        )
    }

    fn account_exists(&mut self, id: AccountId) -> StoreResult<bool> {
        self.exists(
            "SELECT EXISTS(SELECT 1 FROM accounts WHERE id = $1)",
            &[&id],
        )
    }

    fn insert_access_key(&mut self, key: &AccessKey) -> StoreResult<()> {
        self.insert_guarded(
            "INSERT INTO access_keys(id, secret, account_id, status, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[&key.id, &key.secret.expose(), &key.account_id, &key.status.as_str(), &key.created_at],
        )
    }

    fn access_key(&mut self, id: &str) -> StoreResult<Option<AccessKey>> {
        let Some(row) = self.row(
            "SELECT secret, account_id, status, created_at FROM access_keys WHERE id = $1",
            &[&id],
        )?
        else {
            return Ok(None);
        };
        Ok(Some(AccessKey {
            id: id.to_string(),
            secret: Secret::new(get::<String>(&row, 0)?),
            account_id: get(&row, 1)?,
            status: KeyStatus::parse(get(&row, 2)?).unwrap_or(KeyStatus::Inactive),
            created_at: get(&row, 3)?,
        }))
    }

    fn insert_region(&mut self, position: usize, region: &Region) -> StoreResult<()> {
        self.execute(
            "INSERT INTO regions(id, position, local_name_en, local_name_zh, endpoint, zones) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT(id) DO NOTHING",
            &[
                &region.id,
                &i64::try_from(position).unwrap_or(i64::MAX),
                &region.local_name_en,
                &region.local_name_zh,
                &region.endpoint,
                &region.zones.join(","),
            ],
        )?;
        Ok(())
    }

    fn regions(&mut self) -> StoreResult<Vec<Region>> {
        let rows = self.rows(
            "SELECT id, local_name_en, local_name_zh, endpoint, zones FROM regions ORDER BY position",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                let zones: &str = get(r, 4)?;
                Ok(Region {
                    id: get(r, 0)?,
                    local_name_en: get(r, 1)?,
                    local_name_zh: get(r, 2)?,
                    endpoint: get(r, 3)?,
                    zones: zones
                        .split(',')
                        .filter(|z| !z.is_empty())
                        .map(str::to_string)
                        .collect(),
                })
            })
            .collect()
    }

    fn image(&mut self, region_id: &str, id: &str) -> StoreResult<Option<Image>> {
        self.doc_where(
            "SELECT doc FROM images WHERE region_id = $1 AND id = $2",
            &[&region_id, &id],
        )
    }

    fn put_image(&mut self, image: &Image) -> StoreResult<()> {
        self.execute(
            "INSERT INTO images(id, region_id, owner, name, family, status, os_type, arch, is_public, created_at, ready_at, deleted_at, doc)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT(region_id, id) DO UPDATE SET owner = excluded.owner, name = excluded.name,
               family = excluded.family, status = excluded.status, os_type = excluded.os_type, arch = excluded.arch,
               is_public = excluded.is_public, created_at = excluded.created_at, ready_at = excluded.ready_at,
               deleted_at = excluded.deleted_at, doc = excluded.doc",
            &[
                &image.id,
                &image.region_id,
                &image.owner,
                &image.name,
                &image.family,
                &image.status.as_str(),
                &image.os_type.as_str(),
                &image.architecture.as_str(),
                &image.is_public,
                &image.created_at,
                &image.ready_at,
                &image.deleted_at,
                &to_doc(image)?,
            ],
        )?;
        for snapshot_id in image
            .disk_mappings
            .iter()
            .filter_map(|m| m.snapshot_id.as_deref())
        {
            self.execute(
                "INSERT INTO image_snapshots(image_id, snapshot_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&image.id, &snapshot_id],
            )?;
        }
        Ok(())
    }

    fn find_images(&mut self, iq: &ImageQuery) -> StoreResult<Page<Image>> {
        let mut q = Query::default();
        let region = q.arg(iq.region_id.clone());
        // Only the owner branches the query covers are written, so `self` alone is a plain
        // `owner = $n` that `images_by_owner` serves in order (bound booleans would hide that
        // from the planner's generic plan).
        let mut branches: Vec<String> = Vec::new();
        if iq.owners.system {
            branches.push("owner IS NULL".into());
        }
        if iq.owners.own || iq.owners.shared_with_me || iq.owners.community {
            let caller = q.arg(iq.caller);
            if iq.owners.own {
                branches.push(format!("owner = {caller}"));
            }
            if iq.owners.shared_with_me {
                branches.push(format!("(owner <> {caller} AND EXISTS (SELECT 1 FROM image_shares s WHERE s.image_id = images.id AND s.account_id = {caller}))"));
            }
            if iq.owners.community {
                branches.push(format!("(owner <> {caller} AND is_public)"));
            }
        }
        if branches.is_empty() {
            return Ok(Page::default());
        }
        q.sql = format!(
            "FROM images WHERE region_id = {region} AND deleted_at IS NULL AND ({})",
            branches.join(" OR ")
        );
        if !iq.ids.is_empty() {
            q.push_in("id", &iq.ids);
        }
        if let Some(owner) = iq.owner_id {
            let p = q.arg(owner);
            q.push(&format!(" AND owner = {p}"));
        }
        if let Some(name) = &iq.name_contains {
            let p = q.arg(name.clone());
            q.push(&format!(" AND strpos(name, {p}) > 0"));
        }
        if let Some(family) = &iq.family {
            let p = q.arg(family.clone());
            q.push(&format!(" AND family = {p}"));
        }
        if !iq.statuses.is_empty() {
            let statuses: Vec<String> =
                iq.statuses.iter().map(|s| s.as_str().to_string()).collect();
            q.push_in("status", &statuses);
        }
        if let Some(os) = iq.os_type {
            let p = q.arg(os.as_str().to_string());
            q.push(&format!(" AND os_type = {p}"));
        }
        if let Some(arch) = iq.architecture {
            let p = q.arg(arch.as_str().to_string());
            q.push(&format!(" AND arch = {p}"));
        }
        if let Some(in_use) = iq.in_use {
            q.push(if in_use {
                " AND EXISTS (SELECT 1 FROM instances i WHERE i.image_id = images.id AND i.region_id = images.region_id)"
            } else {
                " AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.image_id = images.id AND i.region_id = images.region_id)"
            });
        }
        if let Some(snapshot) = &iq.snapshot_id {
            let p = q.arg(snapshot.clone());
            q.push(&format!(" AND EXISTS (SELECT 1 FROM image_snapshots s WHERE s.image_id = images.id AND s.snapshot_id = {p})"));
        }
        if let Some(from) = iq.created_from {
            let p = q.arg(from);
            q.push(&format!(" AND created_at >= {p}"));
        }
        if let Some(to) = iq.created_to {
            let p = q.arg(to);
            q.push(&format!(" AND created_at <= {p}"));
        }
        q.push_tag_filters(ResourceType::Image.as_str(), "images.id", &iq.tags);
        self.paged_docs(q, "created_at DESC, id", iq.offset, iq.limit)
    }

    fn image_name_taken(
        &mut self,
        owner: AccountId,
        region_id: &str,
        name: &str,
        except_id: Option<&str>,
    ) -> StoreResult<bool> {
        self.exists(
            "SELECT EXISTS(SELECT 1 FROM images WHERE owner = $1 AND region_id = $2 AND name = $3 AND deleted_at IS NULL AND id <> $4)",
            &[&owner, &region_id, &name, &except_id.unwrap_or("")],
        )
    }

    fn image_listing_extras(
        &mut self,
        region_id: &str,
        ids: &[String],
        count_shares: bool,
    ) -> StoreResult<Vec<ImageExtras>> {
        // Two round trips for the whole page instead of three per image: over the network each
        // query costs far more than its work (a page of 10 made 30 round trips).
        let mut extras: Vec<ImageExtras> = ids.iter().map(|_| ImageExtras::default()).collect();
        // Positions of each id on the page (an id asked for twice is shown twice).
        let mut positions: HashMap<&str, Vec<usize>> = HashMap::new();
        for (n, id) in ids.iter().enumerate() {
            positions.entry(id.as_str()).or_default().push(n);
        }
        let at = |id: &str| positions.get(id).cloned().unwrap_or_default();
        for r in self.rows(
            "SELECT u.id,
                    EXISTS(SELECT 1 FROM instances AS i WHERE i.image_id = u.id AND i.region_id = $1),
                    CASE WHEN $3 THEN (SELECT COUNT(*) FROM image_shares AS s WHERE s.image_id = u.id)
                         ELSE 0 END
             FROM unnest($2::text[]) AS u(id) GROUP BY u.id",
            &[&region_id, &ids, &count_shares],
        )? {
            let id: String = get(&r, 0)?;
            let in_use: bool = get(&r, 1)?;
            let shares: i64 = get(&r, 2)?;
            for n in at(&id) {
                extras[n].in_use = in_use;
                extras[n].shared_accounts = u64::try_from(shares).unwrap_or(0);
            }
        }
        for r in self.rows(
            "SELECT resource_id, key, value FROM tags
             WHERE resource_type = $1 AND resource_id = ANY($2) ORDER BY resource_id, key",
            &[&ResourceType::Image.as_str(), &ids],
        )? {
            let id: String = get(&r, 0)?;
            let tag = Tag {
                key: get(&r, 1)?,
                value: get(&r, 2)?,
            };
            for n in at(&id) {
                extras[n].tags.push(tag.clone());
            }
        }
        Ok(extras)
    }

    fn instances_using_image(&mut self, region_id: &str, image_id: &str) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(*) FROM instances WHERE image_id = $1 AND region_id = $2",
            &[&image_id, &region_id],
        )
    }

    fn shared_accounts(&mut self, image_id: &str) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(*) FROM image_shares WHERE image_id = $1",
            &[&image_id],
        )
    }

    fn is_shared_with(&mut self, image_id: &str, account: AccountId) -> StoreResult<bool> {
        self.exists(
            "SELECT EXISTS(SELECT 1 FROM image_shares WHERE image_id = $1 AND account_id = $2)",
            &[&image_id, &account],
        )
    }

    fn share_image(&mut self, image_id: &str, account: AccountId, now: Millis) -> StoreResult<()> {
        self.execute(
            "INSERT INTO image_shares(image_id, account_id, shared_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&image_id, &account, &now],
        )?;
        Ok(())
    }

    fn unshare_image(&mut self, image_id: &str, account: AccountId) -> StoreResult<()> {
        self.execute(
            "DELETE FROM image_shares WHERE image_id = $1 AND account_id = $2",
            &[&image_id, &account],
        )?;
        Ok(())
    }

    fn image_shares(
        &mut self,
        image_id: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<(AccountId, Millis)>> {
        let total = self.count(
            "SELECT COUNT(*) FROM image_shares WHERE image_id = $1",
            &[&image_id],
        )?;
        let (lim, off) = page_bounds(offset, limit);
        let rows = self.rows(
            "SELECT account_id, shared_at FROM image_shares WHERE image_id = $1 ORDER BY shared_at, account_id LIMIT $2 OFFSET $3",
            &[&image_id, &lim, &off],
        )?;
        let items = rows
            .iter()
            .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page { total, items })
    }

    fn shared_image_count(&mut self, owner: AccountId) -> StoreResult<u64> {
        self.count(
            "SELECT COUNT(DISTINCT s.image_id) FROM image_shares s JOIN images i ON i.id = s.image_id WHERE i.owner = $1",
            &[&owner],
        )
    }

    fn instance(&mut self, id: &str) -> StoreResult<Option<Instance>> {
        self.doc_by_id("instances", id)
    }

    fn put_instance(&mut self, i: &Instance) -> StoreResult<()> {
        self.execute(
            "INSERT INTO instances(id, owner, region_id, zone_id, image_id, status, instance_type, name, created_at, doc)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT(id) DO UPDATE SET image_id = excluded.image_id, status = excluded.status,
               instance_type = excluded.instance_type, name = excluded.name, doc = excluded.doc",
            &[
                &i.id,
                &i.owner,
                &i.region_id,
                &i.zone_id,
                &i.image_id,
                &i.status.as_str(),
                &i.instance_type,
                &i.name,
                &i.created_at,
                &to_doc(i)?,
            ],
        )?;
        Ok(())
    }

    fn delete_instance(&mut self, id: &str) -> StoreResult<()> {
        self.execute("DELETE FROM instances WHERE id = $1", &[&id])?;
        Ok(())
    }

    fn find_instances(&mut self, iq: &InstanceQuery) -> StoreResult<Page<Instance>> {
        let mut q = Query::default();
        let owner = q.arg(iq.owner);
        let region = q.arg(iq.region_id.clone());
        q.sql = format!("FROM instances WHERE owner = {owner} AND region_id = {region}");
        if let Some(ids) = &iq.ids {
            q.push_in("id", ids);
        }
        for (column, value) in [
            ("image_id", &iq.image_id),
            ("zone_id", &iq.zone_id),
            ("instance_type", &iq.instance_type),
        ] {
            if let Some(v) = value {
                let p = q.arg(v.clone());
                q.push(&format!(" AND {column} = {p}"));
            }
        }
        if let Some(status) = iq.status {
            let p = q.arg(status.as_str().to_string());
            q.push(&format!(" AND status = {p}"));
        }
        if let Some(pattern) = &iq.name_pattern {
            let p = q.arg(like_of(pattern));
            q.push(&format!(" AND name LIKE {p}"));
        }
        self.paged_docs(q, "created_at DESC, id", iq.offset, iq.limit)
    }

    fn disk(&mut self, id: &str) -> StoreResult<Option<Disk>> {
        self.doc_by_id("disks", id)
    }

    fn put_disk(&mut self, d: &Disk) -> StoreResult<()> {
        self.execute(
            "INSERT INTO disks(id, owner, region_id, instance_id, created_at, doc) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT(id) DO UPDATE SET instance_id = excluded.instance_id, doc = excluded.doc",
            &[&d.id, &d.owner, &d.region_id, &d.instance_id, &d.created_at, &to_doc(d)?],
        )?;
        Ok(())
    }

    fn delete_disk(&mut self, id: &str) -> StoreResult<()> {
        self.execute("DELETE FROM disks WHERE id = $1", &[&id])?;
        Ok(())
    }

    fn disks_of_instance(&mut self, instance_id: &str) -> StoreResult<Vec<Disk>> {
        self.docs_where(
            "SELECT doc FROM disks WHERE instance_id = $1 ORDER BY created_at, id",
            &[&instance_id],
        )
    }

    fn find_disks(&mut self, dq: &DiskQuery) -> StoreResult<Page<Disk>> {
        let mut q = Query::default();
        let owner = q.arg(dq.owner);
        let region = q.arg(dq.region_id.clone());
        q.sql = format!("FROM disks WHERE owner = {owner} AND region_id = {region}");
        if let Some(ids) = &dq.ids {
            q.push_in("id", ids);
        }
        if let Some(instance) = &dq.instance_id {
            let p = q.arg(instance.clone());
            q.push(&format!(" AND instance_id = {p}"));
        }
        if let Some(kind) = dq.kind {
            let p = q.arg(format!("{kind:?}"));
            q.push(&format!(" AND (doc::jsonb ->> 'kind') = {p}"));
        }
        self.paged_docs(q, "created_at DESC, id", dq.offset, dq.limit)
    }

    fn snapshot(&mut self, id: &str) -> StoreResult<Option<Snapshot>> {
        self.doc_by_id("snapshots", id)
    }

    fn put_snapshot(&mut self, s: &Snapshot) -> StoreResult<()> {
        self.execute(
            "INSERT INTO snapshots(id, owner, region_id, source_disk_id, status, created_at, ready_at, doc)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT(id) DO UPDATE SET status = excluded.status, ready_at = excluded.ready_at, doc = excluded.doc",
            &[
                &s.id,
                &s.owner,
                &s.region_id,
                &s.source_disk_id,
                &s.status.as_str(),
                &s.created_at,
                &s.ready_at,
                &to_doc(s)?,
            ],
        )?;
        Ok(())
    }

    fn delete_snapshot(&mut self, id: &str) -> StoreResult<()> {
        self.execute("DELETE FROM image_snapshots WHERE snapshot_id = $1", &[&id])?;
        self.execute("DELETE FROM snapshots WHERE id = $1", &[&id])?;
        Ok(())
    }

    fn find_snapshots(&mut self, sq: &SnapshotQuery) -> StoreResult<Page<Snapshot>> {
        let mut q = Query::default();
        let owner = q.arg(sq.owner);
        let region = q.arg(sq.region_id.clone());
        q.sql = format!("FROM snapshots WHERE owner = {owner} AND region_id = {region}");
        if let Some(ids) = &sq.ids {
            q.push_in("id", ids);
        }
        if let Some(disk) = &sq.disk_id {
            let p = q.arg(disk.clone());
            q.push(&format!(" AND source_disk_id = {p}"));
        }
        if let Some(instance) = &sq.instance_id {
            let p = q.arg(instance.clone());
            q.push(&format!(
                " AND source_disk_id IN (SELECT id FROM disks WHERE instance_id = {p})"
            ));
        }
        if let Some(status) = sq.status {
            let p = q.arg(status.as_str().to_string());
            q.push(&format!(" AND status = {p}"));
        }
        if let Some(kind) = sq.source_disk_type {
            let p = q.arg(format!("{kind:?}"));
            q.push(&format!(" AND (doc::jsonb ->> 'source_disk_type') = {p}"));
        }
        self.paged_docs(q, "created_at DESC, id", sq.offset, sq.limit)
    }

    fn snapshot_used_by_image(&mut self, id: &str) -> StoreResult<bool> {
        self.exists(
            "SELECT EXISTS(SELECT 1 FROM image_snapshots s JOIN images i ON i.id = s.image_id AND i.owner IS NOT NULL WHERE s.snapshot_id = $1 AND i.deleted_at IS NULL)",
            &[&id],
        )
    }

    fn disk_has_progressing_snapshot(&mut self, disk_id: &str) -> StoreResult<bool> {
        self.exists(
            "SELECT EXISTS(SELECT 1 FROM snapshots WHERE source_disk_id = $1 AND status = 'progressing')",
            &[&disk_id],
        )
    }

    fn tags(&mut self, resource_type: ResourceType, id: &str) -> StoreResult<Vec<Tag>> {
        let rows = self.rows(
            "SELECT key, value FROM tags WHERE resource_type = $1 AND resource_id = $2 ORDER BY key",
            &[&resource_type.as_str(), &id],
        )?;
        rows.iter()
            .map(|r| {
                Ok(Tag {
                    key: get(r, 0)?,
                    value: get(r, 1)?,
                })
            })
            .collect()
    }

    fn set_tag(
        &mut self,
        owner: AccountId,
        region_id: &str,
        resource_type: ResourceType,
        id: &str,
        tag: &Tag,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO tags(resource_type, resource_id, key, value, owner, region_id) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT(resource_type, resource_id, key) DO UPDATE SET value = excluded.value",
            &[&resource_type.as_str(), &id, &tag.key, &tag.value, &owner, &region_id],
        )?;
        Ok(())
    }

    fn remove_tag(&mut self, resource_type: ResourceType, id: &str, key: &str) -> StoreResult<()> {
        self.execute(
            "DELETE FROM tags WHERE resource_type = $1 AND resource_id = $2 AND key = $3",
            &[&resource_type.as_str(), &id, &key],
        )?;
        Ok(())
    }

    fn remove_all_tags(&mut self, resource_type: ResourceType, id: &str) -> StoreResult<()> {
        self.execute(
            "DELETE FROM tags WHERE resource_type = $1 AND resource_id = $2",
            &[&resource_type.as_str(), &id],
        )?;
        Ok(())
    }

    fn find_tags(&mut self, tq: &TagQuery) -> StoreResult<Page<TagRow>> {
        let mut q = Query::default();
        let owner = q.arg(tq.owner);
        let region = q.arg(tq.region_id.clone());
        q.sql = format!("FROM tags r WHERE r.owner = {owner} AND r.region_id = {region}");
        if let Some(rt) = tq.resource_type {
            let p = q.arg(rt.as_str().to_string());
            q.push(&format!(" AND r.resource_type = {p}"));
        }
        if !tq.resource_ids.is_empty() {
            q.push_in("r.resource_id", &tq.resource_ids);
        }
        for (key, value) in &tq.tags {
            let k = q.arg(key.clone());
            q.push(&format!(" AND EXISTS (SELECT 1 FROM tags t WHERE t.resource_type = r.resource_type AND t.resource_id = r.resource_id AND t.key = {k}"));
            if let Some(v) = value {
                let p = q.arg(v.clone());
                q.push(&format!(" AND t.value = {p}"));
            }
            q.push(")");
        }
        for pattern in &tq.patterns {
            let k = q.arg(pattern.key.clone());
            q.push(&format!(" AND EXISTS (SELECT 1 FROM tags t WHERE t.resource_type = r.resource_type AND t.resource_id = r.resource_id AND t.key = {k}"));
            if !pattern.values.is_empty() {
                let alternatives: Vec<String> = pattern
                    .values
                    .iter()
                    .map(|v| format!("t.value LIKE {}", q.arg(like_of(v))))
                    .collect();
                q.push(&format!(" AND ({})", alternatives.join(" OR ")));
            }
            q.push(")");
        }
        let total = self.count(&format!("SELECT COUNT(*) {}", q.sql), &refs(&q.args))?;
        let (lim, off) = page_bounds(tq.offset, tq.limit);
        let lim = q.arg(lim);
        let off = q.arg(off);
        let rows = self.rows(
            &format!(
                "SELECT r.resource_type, r.resource_id, r.key, r.value {} ORDER BY r.resource_id, r.key LIMIT {lim} OFFSET {off}",
                q.sql
            ),
            &refs(&q.args),
        )?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            let Some(resource_type) = ResourceType::parse(get(r, 0)?) else {
                continue;
            };
            items.push(TagRow {
                resource_type,
                resource_id: get(r, 1)?,
                tag: Tag {
                    key: get(r, 2)?,
                    value: get(r, 3)?,
                },
            });
        }
        Ok(Page { total, items })
    }

    fn idempotent_record(
        &mut self,
        owner: AccountId,
        action: &str,
        token: &str,
    ) -> StoreResult<Option<IdempotentRecord>> {
        let Some(row) = self.row(
            "SELECT fingerprint, response FROM client_tokens WHERE owner = $1 AND action = $2 AND token = $3",
            &[&owner, &action, &token],
        )?
        else {
            return Ok(None);
        };
        Ok(Some(IdempotentRecord {
            fingerprint: get(&row, 0)?,
            response: get(&row, 1)?,
        }))
    }

    fn put_idempotent_record(
        &mut self,
        owner: AccountId,
        action: &str,
        token: &str,
        record: &IdempotentRecord,
        now: Millis,
    ) -> StoreResult<()> {
        self.insert_guarded(
            "INSERT INTO client_tokens(owner, action, token, fingerprint, response, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&owner, &action, &token, &record.fingerprint, &record.response, &now],
        )
    }

    fn insert_nonces(&mut self, nonces: &[NonceRecord]) -> StoreResult<()> {
        for n in nonces {
            self.execute(
                "INSERT INTO nonces(access_key_id, nonce, seen_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&n.access_key_id, &n.nonce, &n.seen_at],
            )?;
        }
        Ok(())
    }

    fn delete_nonces_before(&mut self, before: Millis) -> StoreResult<()> {
        self.execute("DELETE FROM nonces WHERE seen_at < $1", &[&before])?;
        Ok(())
    }

    fn nonce_recorded(
        &mut self,
        access_key_id: &str,
        nonce: &str,
        since: Millis,
    ) -> StoreResult<bool> {
        self.exists(
            "SELECT EXISTS(SELECT 1 FROM nonces WHERE access_key_id = $1 AND nonce = $2 AND seen_at >= $3)",
            &[&access_key_id, &nonce, &since],
        )
    }

    fn each_nonce_since(
        &mut self,
        since: Millis,
        each: &mut dyn FnMut(&str, &str, Millis),
    ) -> StoreResult<()> {
        let rows = self.rows(
            "SELECT access_key_id, nonce, seen_at FROM nonces WHERE seen_at >= $1",
            &[&since],
        )?;
        for r in &rows {
            each(get(r, 0)?, get(r, 1)?, get(r, 2)?);
        }
        Ok(())
    }

    fn due_images(&mut self, now: Millis) -> StoreResult<Vec<Image>> {
        self.docs_where(
            "SELECT doc FROM images WHERE status = 'Creating' AND ready_at <= $1",
            &[&now],
        )
    }

    fn due_snapshots(&mut self, now: Millis) -> StoreResult<Vec<Snapshot>> {
        self.docs_where(
            "SELECT doc FROM snapshots WHERE status = 'progressing' AND ready_at <= $1",
            &[&now],
        )
    }

    fn task(&mut self, id: &str) -> StoreResult<Option<Task>> {
        self.doc_by_id("tasks", id)
    }

    fn put_task(&mut self, t: &Task) -> StoreResult<()> {
        self.execute(
            "INSERT INTO tasks(id, owner, region_id, action, status, resource_id, created_at, lease_owner, lease_until, doc)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT(id) DO UPDATE SET status = excluded.status, lease_owner = excluded.lease_owner,
               lease_until = excluded.lease_until, doc = excluded.doc",
            &[
                &t.id,
                &t.owner,
                &t.region_id,
                &t.action.as_str(),
                &t.status.as_str(),
                &t.resource_id,
                &t.created_at,
                &t.lease_owner,
                &t.lease_until,
                &to_doc(t)?,
            ],
        )?;
        Ok(())
    }

    fn find_tasks(&mut self, tq: &TaskQuery) -> StoreResult<Page<Task>> {
        let mut q = Query::default();
        let owner = q.arg(tq.owner);
        let region = q.arg(tq.region_id.clone());
        q.sql = format!("FROM tasks WHERE owner = {owner} AND region_id = {region}");
        if let Some(ids) = &tq.ids {
            q.push_in("id", ids);
        }
        if !tq.resource_ids.is_empty() {
            q.push_in("resource_id", &tq.resource_ids);
        }
        if let Some(action) = tq.action {
            let p = q.arg(action.as_str().to_string());
            q.push(&format!(" AND action = {p}"));
        }
        if let Some(status) = tq.status {
            let p = q.arg(status.as_str().to_string());
            q.push(&format!(" AND status = {p}"));
        }
        if let Some(from) = tq.created_from {
            let p = q.arg(from);
            q.push(&format!(" AND created_at >= {p}"));
        }
        if let Some(to) = tq.created_to {
            let p = q.arg(to);
            q.push(&format!(" AND created_at <= {p}"));
        }
        self.paged_docs(q, "created_at DESC, id", tq.offset, tq.limit)
    }

    fn open_task(&mut self, resource_id: &str, action: TaskAction) -> StoreResult<Option<Task>> {
        self.doc_where(
            "SELECT doc FROM tasks WHERE resource_id = $1 AND action = $2 AND status IN ('Waiting', 'Processing') LIMIT 1",
            &[&resource_id, &action.as_str()],
        )
    }

    fn open_copy_of(&mut self, source_image_id: &str) -> StoreResult<bool> {
        self.exists(
            "SELECT EXISTS(SELECT 1 FROM tasks WHERE action = 'CopyImage' AND status IN ('Waiting', 'Processing')
               AND (doc::jsonb #>> '{work,Copy,source_image_id}') = $1)",
            &[&source_image_id],
        )
    }

    /// `FOR UPDATE SKIP LOCKED`: a task row another transaction is claiming is passed over.
    /// (Write transactions are serialized anyway; the clause keeps claims correct without it.)
    fn claim_task(
        &mut self,
        node: &str,
        now: Millis,
        lease_until: Millis,
    ) -> StoreResult<Option<Task>> {
        let task: Option<Task> = self.doc_where(
            "SELECT doc FROM tasks WHERE status IN ('Waiting', 'Processing')
               AND (lease_until IS NULL OR lease_until < $1) ORDER BY created_at, id LIMIT 1
               FOR UPDATE SKIP LOCKED",
            &[&now],
        )?;
        let Some(mut task) = task else {
            return Ok(None);
        };
        task.lease_owner = Some(node.to_string());
        task.lease_until = Some(lease_until);
        self.put_task(&task)?;
        Ok(Some(task))
    }

    fn release_leases(&mut self, node: &str) -> StoreResult<()> {
        let tasks: Vec<Task> = self.docs_where(
            "SELECT doc FROM tasks WHERE lease_owner IS NOT NULL AND status IN ('Waiting', 'Processing')",
            &[],
        )?;
        // Workers lease as `{node}#{n}`.
        let worker_prefix = format!("{node}#");
        for mut task in tasks {
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
        match self.row(
            "SELECT MIN(t) FROM (SELECT MIN(ready_at) AS t FROM images WHERE status = 'Creating'
             UNION ALL SELECT MIN(ready_at) FROM snapshots WHERE status = 'progressing') AS due",
            &[],
        )? {
            Some(row) => get(&row, 0),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::like_of;

    #[test]
    fn only_the_star_is_a_wildcard() {
        assert_eq!(like_of("web-*"), "web-%");
        assert_eq!(like_of("a_b%c\\"), "a\\_b\\%c\\\\");
        assert_eq!(like_of("x?[y]"), "x?[y]");
    }
}

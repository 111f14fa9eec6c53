//! Durable state. Handlers run a closure inside one transaction through [`Store::read`] or
//! [`Store::write`]; the closure sees the [`Tx`] repository interface and returns the domain's
//! `Result<T, ApiError>`. `Ok` commits (durably, before the caller answers), `Err` rolls back.
//!
//! Writes are serialized (SQLite `BEGIN IMMEDIATE`; PostgreSQL: one advisory lock taken by
//! every write transaction of every node, see [`postgres`]), so a rule checked inside a write
//! transaction — "no instance uses this image" — still holds when the transaction commits.

mod identity;
pub mod postgres;
mod sqlite;

use ecsim_core::Millis;
use ecsim_core::model::{
    AccessKey, AccountId, Architecture, Disk, DiskType, Image, ImageStatus, Instance,
    InstanceStatus, OsType, Region, ResourceType, Snapshot, SnapshotStatus, Tag, Task, TaskAction,
    TaskStatus,
};
use ecsim_core::rules::DeletionFacts;
use ecsim_wire::{ApiError, Code};
use std::path::Path;
use std::sync::Mutex;

pub use identity::{
    AppliedPolicy, Attachment, CustomPolicy, IdentityTx, PolicyOrigin, PolicyVersion,
    PrincipalKind, RamGroup, RamRole, RamUser, StsSession, UserAccessKey,
};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// A storage failure. It never reaches the client as anything but `InternalError` or
/// `ServiceUnavailable`; the cause is logged.
#[derive(Debug)]
pub enum StoreError {
    /// The database is locked or unreachable for now; the client may retry.
    Unavailable(String),
    Internal(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Unavailable(m) => write!(f, "store unavailable: {m}"),
            StoreError::Internal(m) => write!(f, "store error: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        tracing::error!(error = %err, "storage failure");
        match err {
            StoreError::Unavailable(_) => ApiError::new(Code::ServiceUnavailable),
            StoreError::Internal(_) => ApiError::new(Code::InternalError),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One page of a listing and the number of matches across all pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub total: u64,
    pub items: Vec<T>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Self {
            total: 0,
            items: Vec::new(),
        }
    }
}

/// Which owners' images a DescribeImages call covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OwnerSet {
    pub system: bool,
    pub own: bool,
    /// Images other accounts shared with the caller.
    pub shared_with_me: bool,
    /// Other accounts' community (public) images.
    pub community: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageQuery {
    pub caller: AccountId,
    pub region_id: String,
    pub ids: Vec<String>,
    pub name_contains: Option<String>,
    pub family: Option<String>,
    pub owners: OwnerSet,
    pub owner_id: Option<AccountId>,
    /// Empty: every status.
    pub statuses: Vec<ImageStatus>,
    pub os_type: Option<OsType>,
    pub architecture: Option<Architecture>,
    /// `Some(true)`: used by at least one instance; `Some(false)`: by none.
    pub in_use: Option<bool>,
    pub snapshot_id: Option<String>,
    /// Each tag must be present; a `None` value matches any value.
    pub tags: Vec<(String, Option<String>)>,
    pub created_from: Option<Millis>,
    pub created_to: Option<Millis>,
    pub offset: u64,
    pub limit: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceQuery {
    pub owner: AccountId,
    pub region_id: String,
    /// `None`: any id; `Some(empty)`: matches nothing.
    pub ids: Option<Vec<String>>,
    pub image_id: Option<String>,
    pub status: Option<InstanceStatus>,
    pub zone_id: Option<String>,
    pub instance_type: Option<String>,
    /// `*` is a wildcard.
    pub name_pattern: Option<String>,
    pub offset: u64,
    pub limit: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskQuery {
    pub owner: AccountId,
    pub region_id: String,
    pub ids: Option<Vec<String>>,
    pub instance_id: Option<String>,
    pub kind: Option<DiskType>,
    pub offset: u64,
    pub limit: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotQuery {
    pub owner: AccountId,
    pub region_id: String,
    pub ids: Option<Vec<String>>,
    pub disk_id: Option<String>,
    pub instance_id: Option<String>,
    pub status: Option<SnapshotStatus>,
    pub source_disk_type: Option<DiskType>,
    pub offset: u64,
    pub limit: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRow {
    pub resource_type: ResourceType,
    pub resource_id: String,
    pub tag: Tag,
}

/// A fuzzy tag filter: the key, and values of which one must match (`*` is a wildcard);
/// no values: any value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagPattern {
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagQuery {
    pub owner: AccountId,
    pub region_id: String,
    pub resource_type: Option<ResourceType>,
    pub resource_ids: Vec<String>,
    /// Resources carrying every one of these (value `None`: any value).
    pub tags: Vec<(String, Option<String>)>,
    /// Resources carrying a tag matching each pattern.
    pub patterns: Vec<TagPattern>,
    pub offset: u64,
    pub limit: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskQuery {
    pub owner: AccountId,
    pub region_id: String,
    pub ids: Option<Vec<String>>,
    pub action: Option<TaskAction>,
    pub status: Option<TaskStatus>,
    pub resource_ids: Vec<String>,
    pub created_from: Option<Millis>,
    pub created_to: Option<Millis>,
    pub offset: u64,
    pub limit: u64,
}

/// What DescribeImages shows of an image beside the image itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageExtras {
    /// Ordered by key.
    pub tags: Vec<Tag>,
    /// Whether an instance in the image's region runs it.
    pub in_use: bool,
    /// How many accounts the image is shared with.
    pub shared_accounts: u64,
}

/// A stored answer to a request that carried a ClientToken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentRecord {
    pub fingerprint: String,
    pub response: String,
}

/// Everything a handler can read or change, inside one transaction.
pub trait Tx: IdentityTx {
    fn meta(&mut self, key: &str) -> StoreResult<Option<String>>;
    fn set_meta(&mut self, key: &str, value: &str) -> StoreResult<()>;

    fn insert_account(&mut self, id: AccountId, now: Millis) -> StoreResult<()>;
    fn account_exists(&mut self, id: AccountId) -> StoreResult<bool>;
    fn insert_access_key(&mut self, key: &AccessKey) -> StoreResult<()>;
    fn access_key(&mut self, id: &str) -> StoreResult<Option<AccessKey>>;

    fn insert_region(&mut self, position: usize, region: &Region) -> StoreResult<()>;
    fn regions(&mut self) -> StoreResult<Vec<Region>>;

    /// The image with this id in this region, including tombstones of deleted ones.
    fn image(&mut self, region_id: &str, id: &str) -> StoreResult<Option<Image>>;
    /// Whether that image exists and is deleted: [`Tx::image`] without reading its document,
    /// for DeleteInstance, which only needs to know whether the image's bytes may be due for
    /// release.
    fn image_is_deleted(&mut self, region_id: &str, id: &str) -> StoreResult<bool> {
        Ok(self.image(region_id, id)?.is_some_and(|i| i.is_deleted()))
    }
    fn put_image(&mut self, image: &Image) -> StoreResult<()>;
    fn find_images(&mut self, query: &ImageQuery) -> StoreResult<Page<Image>>;
    /// What a listing shows beside each of these images of the region, in the same order.
    /// `count_shares`: whether `shared_accounts` is wanted (DescribeImages shows it for the
    /// caller's own images only, so a page without any skips that query); otherwise it is 0.
    fn image_listing_extras(
        &mut self,
        region_id: &str,
        ids: &[String],
        count_shares: bool,
    ) -> StoreResult<Vec<ImageExtras>>;
    fn image_name_taken(
        &mut self,
        owner: AccountId,
        region_id: &str,
        name: &str,
        except_id: Option<&str>,
    ) -> StoreResult<bool>;
    /// Non-released instances in the region whose current image is this one.
    fn instances_using_image(&mut self, region_id: &str, image_id: &str) -> StoreResult<u64>;
    /// What DeleteImage's rules ask about an image beside its document: its unfinished copy,
    /// import and export tasks, the accounts it is shared with and the instances using it.
    fn deletion_facts(&mut self, region_id: &str, image_id: &str) -> StoreResult<DeletionFacts> {
        Ok(DeletionFacts {
            copying: self.open_task(image_id, TaskAction::CopyImage)?.is_some(),
            importing: self.open_task(image_id, TaskAction::ImportImage)?.is_some(),
            exporting: self.open_task(image_id, TaskAction::ExportImage)?.is_some(),
            shared_accounts: self.shared_accounts(image_id)?,
            instances_using: self.instances_using_image(region_id, image_id)?,
        })
    }
    fn shared_accounts(&mut self, image_id: &str) -> StoreResult<u64>;
    fn is_shared_with(&mut self, image_id: &str, account: AccountId) -> StoreResult<bool>;
    fn share_image(&mut self, image_id: &str, account: AccountId, now: Millis) -> StoreResult<()>;
    fn unshare_image(&mut self, image_id: &str, account: AccountId) -> StoreResult<()>;
    /// The share list, oldest share first: (account, shared at).
    fn image_shares(
        &mut self,
        image_id: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<(AccountId, Millis)>>;
    /// How many of the owner's images are shared with at least one account.
    fn shared_image_count(&mut self, owner: AccountId) -> StoreResult<u64>;

    fn instance(&mut self, id: &str) -> StoreResult<Option<Instance>>;
    fn put_instance(&mut self, instance: &Instance) -> StoreResult<()>;
    fn delete_instance(&mut self, id: &str) -> StoreResult<()>;
    fn find_instances(&mut self, query: &InstanceQuery) -> StoreResult<Page<Instance>>;

    fn disk(&mut self, id: &str) -> StoreResult<Option<Disk>>;
    fn put_disk(&mut self, disk: &Disk) -> StoreResult<()>;
    fn delete_disk(&mut self, id: &str) -> StoreResult<()>;
    fn disks_of_instance(&mut self, instance_id: &str) -> StoreResult<Vec<Disk>>;
    fn find_disks(&mut self, query: &DiskQuery) -> StoreResult<Page<Disk>>;

    fn snapshot(&mut self, id: &str) -> StoreResult<Option<Snapshot>>;
    fn put_snapshot(&mut self, snapshot: &Snapshot) -> StoreResult<()>;
    fn delete_snapshot(&mut self, id: &str) -> StoreResult<()>;
    fn find_snapshots(&mut self, query: &SnapshotQuery) -> StoreResult<Page<Snapshot>>;
    /// Whether a non-deleted image references the snapshot.
    fn snapshot_used_by_image(&mut self, id: &str) -> StoreResult<bool>;
    fn disk_has_progressing_snapshot(&mut self, disk_id: &str) -> StoreResult<bool>;

    fn tags(&mut self, resource_type: ResourceType, id: &str) -> StoreResult<Vec<Tag>>;
    fn set_tag(
        &mut self,
        owner: AccountId,
        region_id: &str,
        resource_type: ResourceType,
        id: &str,
        tag: &Tag,
    ) -> StoreResult<()>;
    fn remove_tag(&mut self, resource_type: ResourceType, id: &str, key: &str) -> StoreResult<()>;
    fn remove_all_tags(&mut self, resource_type: ResourceType, id: &str) -> StoreResult<()>;
    fn find_tags(&mut self, query: &TagQuery) -> StoreResult<Page<TagRow>>;

    fn idempotent_record(
        &mut self,
        owner: AccountId,
        action: &str,
        token: &str,
    ) -> StoreResult<Option<IdempotentRecord>>;
    fn put_idempotent_record(
        &mut self,
        owner: AccountId,
        action: &str,
        token: &str,
        record: &IdempotentRecord,
        now: Millis,
    ) -> StoreResult<()>;

    fn insert_nonces(&mut self, nonces: &[NonceRecord]) -> StoreResult<()>;
    fn delete_nonces_before(&mut self, before: Millis) -> StoreResult<()>;
    /// Calls `each(access_key_id, nonce, seen_at)` for every nonce recorded at `since` or
    /// later, without collecting them: after heavy use they are hundreds of thousands.
    fn each_nonce_since(
        &mut self,
        since: Millis,
        each: &mut dyn FnMut(&str, &str, Millis),
    ) -> StoreResult<()>;
    /// Whether this nonce of this key was recorded at `since` or later.
    fn nonce_recorded(
        &mut self,
        access_key_id: &str,
        nonce: &str,
        since: Millis,
    ) -> StoreResult<bool>;

    /// Images still `Creating` on a timer that is due by `now`.
    fn due_images(&mut self, now: Millis) -> StoreResult<Vec<Image>>;
    /// Snapshots still `progressing` that are due by `now`.
    fn due_snapshots(&mut self, now: Millis) -> StoreResult<Vec<Snapshot>>;

    fn task(&mut self, id: &str) -> StoreResult<Option<Task>>;
    fn put_task(&mut self, task: &Task) -> StoreResult<()>;
    fn find_tasks(&mut self, query: &TaskQuery) -> StoreResult<Page<Task>>;
    /// The unfinished task of this action on this image, if any.
    fn open_task(&mut self, resource_id: &str, action: TaskAction) -> StoreResult<Option<Task>>;
    /// Whether an unfinished CopyImage reads this image.
    fn open_copy_of(&mut self, source_image_id: &str) -> StoreResult<bool>;
    /// Leases the oldest unfinished task nobody holds (or whose lease expired) to `node`.
    fn claim_task(
        &mut self,
        node: &str,
        now: Millis,
        lease_until: Millis,
    ) -> StoreResult<Option<Task>>;
    /// Gives up every lease `node` holds (a restarted node resumes its tasks at once).
    fn release_leases(&mut self, node: &str) -> StoreResult<()>;
    /// When the next timed creation is due, if any is running.
    fn next_due(&mut self) -> StoreResult<Option<Millis>>;
}

/// A SignatureNonce that was accepted, kept so replays are refused after a restart too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceRecord {
    pub access_key_id: String,
    pub nonce: String,
    pub seen_at: Millis,
}

enum Backend {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// The configured backend (PostgreSQL joins as a second one), plus the nonces accepted but
/// not yet written.
pub struct Store {
    backend: Backend,
    /// Written by the next write transaction (so a mutating request's nonce commits with its
    /// change) or by [`Store::flush_nonces`], whichever comes first.
    pending_nonces: Mutex<Vec<NonceRecord>>,
}

impl Store {
    /// Opens (creating if needed) the database named by `url`: `sqlite://PATH` or a plain path.
    pub fn open(url: &str) -> StoreResult<Store> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Store {
                backend: Backend::Postgres(PgStore::open(url)?),
                pending_nonces: Mutex::new(Vec::new()),
            });
        }
        Ok(Store {
            backend: Backend::Sqlite(SqliteStore::open(Path::new(path))?),
            pending_nonces: Mutex::new(Vec::new()),
        })
    }

    /// A read-only transaction over a consistent snapshot.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        match &self.backend {
            Backend::Sqlite(s) => s.read(f),
            Backend::Postgres(p) => p.read(f),
        }
    }

    /// A serialized read-write transaction, committed durably before this returns `Ok`.
    /// Nonces accepted so far are written in the same transaction.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let nonces = std::mem::take(&mut *self.lock_nonces());
        let with_nonces = |tx: &mut dyn Tx| {
            let out = f(tx)?;
            if !nonces.is_empty() {
                tx.insert_nonces(&nonces)?;
            }
            Ok(out)
        };
        let result = match &self.backend {
            Backend::Sqlite(s) => s.write(with_nonces),
            Backend::Postgres(p) => p.write(with_nonces),
        };
        if result.is_err() && !nonces.is_empty() {
            self.lock_nonces().extend(nonces);
        }
        result
    }

    /// Whether other ecsim nodes may share this database (PostgreSQL): then a nonce must be
    /// claimed in the database ([`Store::claim_nonce`]) before the request goes on.
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Records a SignatureNonce at once, durably: `Ok(false)` when some node already recorded
    /// it (a replay). PostgreSQL only; the embedded backend keeps its in-memory check and
    /// deferred write ([`Store::record_nonce`]) and answers `true`.
    pub fn claim_nonce(&self, record: &NonceRecord) -> Result<bool, ApiError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(true),
            Backend::Postgres(p) => p.claim_nonce(record),
        }
    }

    fn lock_nonces(&self) -> std::sync::MutexGuard<'_, Vec<NonceRecord>> {
        self.pending_nonces
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues an accepted nonce for writing.
    pub fn record_nonce(&self, record: NonceRecord) {
        self.lock_nonces().push(record);
    }

    pub fn has_pending_nonces(&self) -> bool {
        !self.lock_nonces().is_empty()
    }

    /// Writes queued nonces and forgets those seen before `forget_before`.
    pub fn flush_nonces(&self, forget_before: Millis) -> Result<(), ApiError> {
        self.write(|tx| Ok(tx.delete_nonces_before(forget_before)?))
    }

    /// Whether this nonce was written by a run before this one (nonces of this run are in
    /// memory). Asked while [`Store::nonces_since`] is still being loaded.
    pub fn nonce_recorded(
        &self,
        access_key_id: &str,
        nonce: &str,
        since: Millis,
    ) -> Result<bool, ApiError> {
        self.read(|tx| Ok(tx.nonce_recorded(access_key_id, nonce, since)?))
    }

    /// Nonces seen since `since`, to refuse their replay after a restart.
    /// See [`Tx::each_nonce_since`].
    pub fn each_nonce_since(
        &self,
        since: Millis,
        mut each: impl FnMut(&str, &str, Millis),
    ) -> Result<(), ApiError> {
        self.read(|tx| Ok(tx.each_nonce_since(since, &mut each)?))
    }

    #[cfg(test)]
    pub fn nonces_since(&self, since: Millis) -> Result<Vec<NonceRecord>, ApiError> {
        let mut out = Vec::new();
        self.each_nonce_since(since, |access_key_id, nonce, seen_at| {
            out.push(NonceRecord {
                access_key_id: access_key_id.to_string(),
                nonce: nonce.to_string(),
                seen_at,
            });
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests;

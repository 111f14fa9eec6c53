//! Blob stores: where the bytes of image disks live, per region.
//!
//! A blob is named by a [`BlobId`] (region + key) and is **immutable once written**: every write
//! goes to a new temporary file that is renamed over the final name, and a stored blob file is
//! never opened for writing again (it is even made read-only). That invariant is what makes
//! [`BlobStore::clone_blob`] by hard link safe: two names for one inode can only ever be
//! replaced or unlinked, never modified in place, so deleting or overwriting one name never
//! changes the bytes seen through the other.

use crate::checksum::Algorithm;
use crate::dirsync::DirSyncs;
use crate::transfer::{self, AtomicFile, CopyError, TEMP_PREFIX, Transfer};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A failure of a blob store operation.
#[derive(Debug)]
pub enum BlobError {
    /// The region or key is not a valid name (see [`BlobId::new`]).
    InvalidId(String),
    /// No blob by that id.
    NotFound(BlobId),
    /// The transfer's cancellation flag was set; nothing was left behind.
    Cancelled,
    /// The filesystem (or, later, the object store) failed.
    Io(io::Error),
}

impl fmt::Display for BlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobError::InvalidId(m) => write!(f, "invalid blob id: {m}"),
            BlobError::NotFound(id) => write!(f, "blob {id} not found"),
            BlobError::Cancelled => f.write_str("transfer cancelled"),
            BlobError::Io(e) => write!(f, "blob i/o: {e}"),
        }
    }
}

impl std::error::Error for BlobError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BlobError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<CopyError> for BlobError {
    fn from(e: CopyError) -> Self {
        match e {
            CopyError::Cancelled => BlobError::Cancelled,
            CopyError::Io(e) => BlobError::Io(e),
        }
    }
}

/// The name of a blob: a region and a key within it. Both are 1–128 characters of
/// `[A-Za-z0-9._-]` starting with a letter or digit, so they are always one safe path segment
/// (no `/`, no `..`, no hidden or temporary names).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BlobId {
    region: String,
    key: String,
}

impl BlobId {
    /// Validates and builds an id, e.g. `BlobId::new("cn-hangzhou", "m-abc123.disk1")`.
    pub fn new(region: &str, key: &str) -> Result<Self, BlobError> {
        check_name("region", region)?;
        check_name("key", key)?;
        Ok(Self {
            region: region.to_owned(),
            key: key.to_owned(),
        })
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.region, self.key)
    }
}

fn check_name(what: &str, s: &str) -> Result<(), BlobError> {
    let ok = (1..=128).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(BlobError::InvalidId(format!("{what} {s:?}")))
    }
}

/// What a write produced: the size and the checksum of the bytes written, as recorded (see
/// [`crate::checksum`]: `blake3:<hex>`, or bare SHA-256 hex when a clone was verified against an
/// older SHA-256 recording).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobInfo {
    pub size: u64,
    pub checksum: String,
}

/// What [`BlobStore::clone_blob`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cloned {
    /// Size and checksum of the destination, read back after the copy.
    pub info: BlobInfo,
    /// `true` when the copy shares storage with the source (a hard link), `false` when the bytes
    /// were streamed.
    pub linked: bool,
}

/// One clone of a batch (see [`BlobStore::clone_blobs`]).
#[derive(Clone, Copy, Debug)]
pub struct CloneJob<'a> {
    pub src: &'a BlobId,
    pub dst: &'a BlobId,
    /// The source's recorded checksum, as for [`BlobStore::clone_blob`].
    pub src_checksum: Option<&'a str>,
}

/// A blob as a local file, for tools that need a path (`qemu-img`). For the directory store this
/// is the blob file itself (immutable, so safe to hand out); a remote store would download to a
/// temporary file that is removed when this value drops.
#[derive(Debug)]
pub struct LocalBlob {
    path: PathBuf,
    temporary: bool,
}

impl LocalBlob {
    /// A downloaded copy at `path`, removed when the value drops.
    #[cfg_attr(not(feature = "s3"), allow(dead_code))]
    pub(crate) fn temporary(path: PathBuf) -> Self {
        Self {
            path,
            temporary: true,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LocalBlob {
    fn drop(&mut self) {
        if self.temporary {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Where image bytes live. Methods block (they do file or network I/O): call them from
/// `tokio::task::spawn_blocking` or a worker thread. The trait is object safe
/// (`Arc<dyn BlobStore>`), so the server chooses the backend at start-up.
///
/// Backends: [`DirStore`] (the default, `DATA_DIR/blobs/<region>/<key>`) and, with the cargo
/// feature `s3`, `S3Store` (an S3-compatible object store by URL, `object_store`): there `put`
/// streams a multipart upload, `clone_blob` is a server-side copy, `local` downloads to a
/// temporary file, and the async client runs on the store's own small runtime.
pub trait BlobStore: Send + Sync + fmt::Debug {
    /// Writes `src` as blob `id`, replacing an existing blob of that id atomically (readers of the
    /// old one, and clones of it, keep the old bytes), and checksums it with
    /// [`Algorithm::DEFAULT`]. Honors the transfer's progress, cancellation and throttle; on
    /// error or cancellation nothing is left under `id`.
    fn put(
        &self,
        id: &BlobId,
        src: &mut dyn Read,
        ctl: &mut Transfer<'_>,
    ) -> Result<BlobInfo, BlobError> {
        self.put_hashed(id, src, ctl, Algorithm::DEFAULT)
    }

    /// [`BlobStore::put`] with the checksum taken by `algorithm`: a streamed clone hashes with
    /// the algorithm of the source's recorded checksum, so the two can be compared.
    fn put_hashed(
        &self,
        id: &BlobId,
        src: &mut dyn Read,
        ctl: &mut Transfer<'_>,
        algorithm: Algorithm,
    ) -> Result<BlobInfo, BlobError>;

    /// Writes the file at `path` as blob `id` (a streamed copy, as [`BlobStore::put`]). The
    /// source may be mutable (a bucket object); the blob is an independent copy of it.
    fn put_file(
        &self,
        id: &BlobId,
        path: &Path,
        ctl: &mut Transfer<'_>,
    ) -> Result<BlobInfo, BlobError> {
        let mut f = File::open(path).map_err(BlobError::Io)?;
        self.put(id, &mut f, ctl)
    }

    /// Opens the blob for reading.
    fn open(&self, id: &BlobId) -> Result<Box<dyn Read + Send>, BlobError>;

    /// The blob's size in bytes.
    fn size(&self, id: &BlobId) -> Result<u64, BlobError>;

    /// Deletes the blob. `Ok(false)` if it did not exist (deletion is idempotent, which is what
    /// a retried or resumed task wants). Clones of it are untouched.
    fn delete(&self, id: &BlobId) -> Result<bool, BlobError>;

    /// The checksum (as recorded, see [`crate::checksum`]) of the blob's bytes by `algorithm`,
    /// computed by reading them.
    fn checksum(&self, id: &BlobId, algorithm: Algorithm) -> Result<String, BlobError> {
        let mut r = self.open(id)?;
        Ok(transfer::hash_reader(&mut r, algorithm)
            .map_err(BlobError::Io)?
            .1)
    }

    /// Makes `dst` an independent copy of `src` (possibly in another region): deleting or
    /// replacing either never affects the other. Cheap when the backend can share storage and
    /// the transfer is unthrottled; a throttled transfer always streams, so tests can watch a
    /// copy in flight. The returned checksum is of the destination as stored: computed from the
    /// bytes written when streamed; for a shared-storage or server-side copy it is
    /// `src_checksum` when the caller knows the source's (recorded when it was written — blobs
    /// are immutable, so it still holds), and read back otherwise. Whenever bytes are hashed,
    /// it is with the algorithm `src_checksum` names (so the caller can compare the two), or
    /// [`Algorithm::DEFAULT`] when there is none.
    fn clone_blob(
        &self,
        src: &BlobId,
        dst: &BlobId,
        src_checksum: Option<&str>,
        ctl: &mut Transfer<'_>,
    ) -> Result<Cloned, BlobError>;

    /// Clones each job as [`BlobStore::clone_blob`] with an unthrottled, unobserved transfer
    /// would, in order (a job may clone an earlier job's destination), with one result per
    /// job. Every clone that succeeded is durable when this returns. A backend may share the
    /// durability work: the directory store links them all, then fsyncs each directory it
    /// linked into once, instead of once per link.
    fn clone_blobs(&self, jobs: &[CloneJob<'_>]) -> Vec<Result<Cloned, BlobError>> {
        jobs.iter()
            .map(|job| self.clone_blob(job.src, job.dst, job.src_checksum, &mut Transfer::new()))
            .collect()
    }

    /// The blob as a local file (see [`LocalBlob`]).
    fn local(&self, id: &BlobId) -> Result<LocalBlob, BlobError>;
}

/// The directory blob store: blob `region/key` is the file `ROOT/region/key`, where `ROOT` is
/// `DATA_DIR/blobs`. Writes use [`AtomicFile`]; stored files are mode 0444.
#[derive(Clone, Debug)]
pub struct DirStore {
    root: PathBuf,
    /// Directory fsyncs shared by concurrent clones and deletes (clones of a store share it).
    syncs: Arc<DirSyncs>,
    /// Tests: links to a file with this many names fail as the filesystem's limit would.
    #[cfg(test)]
    link_limit: Option<u64>,
}

impl DirStore {
    /// Opens (creating if needed) the store under `data_dir/blobs`.
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let root = std::path::absolute(data_dir.join("blobs"))?;
        fs::create_dir_all(&root)?;
        Ok(Self {
            root,
            syncs: Arc::default(),
            #[cfg(test)]
            link_limit: None,
        })
    }

    /// Opens (creating if needed) the store with its blobs directly under `root` (a directory
    /// several nodes may share, standing in for object storage).
    pub fn open_root(root: &Path) -> io::Result<Self> {
        let root = std::path::absolute(root)?;
        fs::create_dir_all(&root)?;
        Ok(Self {
            root,
            syncs: Arc::default(),
            #[cfg(test)]
            link_limit: None,
        })
    }

    /// Tests: a filesystem that allows `limit` names per file (ext4 allows 65,000).
    #[cfg(test)]
    pub(crate) fn with_link_limit(mut self, limit: u64) -> Self {
        self.link_limit = Some(limit);
        self
    }

    /// The store's root directory (`DATA_DIR/blobs`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, id: &BlobId) -> PathBuf {
        self.root.join(&id.region).join(&id.key)
    }

    fn region_dir(&self, id: &BlobId) -> io::Result<PathBuf> {
        let dir = self.root.join(&id.region);
        if !dir.is_dir() {
            fs::create_dir_all(&dir)?;
            transfer::sync_dir(&self.root)?;
        }
        Ok(dir)
    }

    /// Removes temporary files (of writes interrupted by a crash) older than `older_than`, in
    /// every region. Call at start-up; the age guard keeps it from racing a live write of a
    /// second process on the same directory. Returns how many were removed.
    pub fn sweep_temps(&self, older_than: Duration) -> io::Result<usize> {
        let mut removed = 0;
        for region in fs::read_dir(&self.root)? {
            let region = region?;
            if !region.file_type()?.is_dir() {
                continue;
            }
            for entry in fs::read_dir(region.path())? {
                let entry = entry?;
                if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                    continue;
                }
                let age = entry
                    .metadata()?
                    .modified()?
                    .elapsed()
                    .unwrap_or(Duration::ZERO);
                if age >= older_than && fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    fn not_found(id: &BlobId, e: io::Error) -> BlobError {
        if e.kind() == io::ErrorKind::NotFound {
            BlobError::NotFound(id.clone())
        } else {
            BlobError::Io(e)
        }
    }

    /// Hard-links `src` to `dst`; an existing `dst` is replaced atomically (a link to a fresh
    /// temporary name beside it, renamed over it). A new name is one link, which is atomic
    /// itself. The new name is durable once `dst`'s directory is fsynced, which the caller does.
    fn link(&self, src: &Path, dst: &Path) -> io::Result<()> {
        match self.hard_link(src, dst) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            done => return done,
        }
        let temp = transfer::temp_name(dst)?;
        self.hard_link(src, &temp)?;
        if let Err(e) = fs::rename(&temp, dst) {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
        Ok(())
    }

    fn hard_link(&self, src: &Path, dst: &Path) -> io::Result<()> {
        #[cfg(test)]
        if let Some(limit) = self.link_limit {
            use std::os::unix::fs::MetadataExt;
            if fs::metadata(src)?.nlink() >= limit {
                return Err(io::ErrorKind::TooManyLinks.into());
            }
        }
        fs::hard_link(src, dst)
    }

    /// Gives the name of blob `id` a fresh copy of its bytes: a new file (one name) renamed
    /// over it, fsynced with its directory. The other names keep the old file; the bytes are
    /// the same, so every name still holds what was recorded for it. For a source whose file
    /// has as many names as the filesystem allows (ext4: 65,000; each CreateImage from an
    /// instance adds one for its snapshot, which stays): without it, every later clone of the
    /// source would copy its bytes instead of linking them (a CreateImage cycle fell from
    /// ~1,400 to 80 a second after 65,000 of them).
    fn renew(&self, id: &BlobId, algorithm: Algorithm) -> Result<BlobInfo, BlobError> {
        let mut old = File::open(self.path(id)).map_err(|e| Self::not_found(id, e))?;
        self.put_hashed(id, &mut old, &mut Transfer::new(), algorithm)
    }

    /// The shared-storage part of [`BlobStore::clone_blob`]: `Ok(Some((cloned, dir)))` when `dst`
    /// now names `src`'s bytes, where `dir` is the directory that must be fsynced before the
    /// clone is durable (`None` when nothing changed: `src` is `dst`); `Ok(None)` when they
    /// could not be linked and must be streamed instead.
    fn clone_linked(
        &self,
        src: &BlobId,
        dst: &BlobId,
        src_checksum: Option<&str>,
        ctl: &mut Transfer<'_>,
    ) -> Result<Option<(Cloned, Option<PathBuf>)>, BlobError> {
        let src_path = self.path(src);
        let size = fs::metadata(&src_path)
            .map_err(|e| Self::not_found(src, e))?
            .len();
        let algorithm = Algorithm::of_or_default(src_checksum);
        if src == dst {
            ctl.report(size);
            let checksum = self.checksum(dst, algorithm)?;
            let cloned = Cloned {
                info: BlobInfo { size, checksum },
                linked: true,
            };
            return Ok(Some((cloned, None)));
        }
        if ctl.is_throttled() {
            return Ok(None);
        }
        if ctl.is_cancelled() {
            return Err(BlobError::Cancelled);
        }
        let dir = self.region_dir(dst).map_err(BlobError::Io)?;
        // Hard links fail across filesystems (EXDEV) or on filesystems without them: then
        // stream instead. At the source's link-count limit the source gets a new file first.
        let dst_path = dir.join(&dst.key);
        match self.link(&src_path, &dst_path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::TooManyLinks => {
                let renewed = self.renew(src, algorithm)?;
                // Bytes that no longer match their record are not linked on: streaming the
                // clone checks them (and fails it).
                if src_checksum.is_some_and(|known| known != renewed.checksum)
                    || self.link(&src_path, &dst_path).is_err()
                {
                    return Ok(None);
                }
            }
            Err(_) => return Ok(None),
        }
        ctl.report(size);
        let checksum = match src_checksum {
            Some(known) => known.to_owned(),
            None => self.checksum(dst, algorithm)?,
        };
        let cloned = Cloned {
            info: BlobInfo { size, checksum },
            linked: true,
        };
        Ok(Some((cloned, Some(dir))))
    }

    /// The streamed part of [`BlobStore::clone_blob`] (durable when it returns).
    fn clone_streamed(
        &self,
        src: &BlobId,
        dst: &BlobId,
        src_checksum: Option<&str>,
        ctl: &mut Transfer<'_>,
    ) -> Result<Cloned, BlobError> {
        let mut reader = File::open(self.path(src)).map_err(|e| Self::not_found(src, e))?;
        let algorithm = Algorithm::of_or_default(src_checksum);
        let info = self.put_hashed(dst, &mut reader, ctl, algorithm)?;
        Ok(Cloned {
            info,
            linked: false,
        })
    }
}

impl BlobStore for DirStore {
    fn put_hashed(
        &self,
        id: &BlobId,
        src: &mut dyn Read,
        ctl: &mut Transfer<'_>,
        algorithm: Algorithm,
    ) -> Result<BlobInfo, BlobError> {
        self.region_dir(id).map_err(BlobError::Io)?;
        let mut out = AtomicFile::create(self.path(id)).map_err(BlobError::Io)?;
        let (size, checksum) =
            transfer::copy_to_file(src, out.file_mut().map_err(BlobError::Io)?, ctl, algorithm)?;
        out.make_read_only().map_err(BlobError::Io)?;
        out.commit().map_err(BlobError::Io)?;
        Ok(BlobInfo { size, checksum })
    }

    fn open(&self, id: &BlobId) -> Result<Box<dyn Read + Send>, BlobError> {
        let f = File::open(self.path(id)).map_err(|e| Self::not_found(id, e))?;
        Ok(Box::new(f))
    }

    fn size(&self, id: &BlobId) -> Result<u64, BlobError> {
        Ok(fs::metadata(self.path(id))
            .map_err(|e| Self::not_found(id, e))?
            .len())
    }

    fn delete(&self, id: &BlobId) -> Result<bool, BlobError> {
        let path = self.path(id);
        match fs::remove_file(&path) {
            Ok(()) => {
                if let Some(dir) = path.parent() {
                    self.syncs.sync(dir).map_err(BlobError::Io)?;
                }
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(BlobError::Io(e)),
        }
    }

    fn clone_blob(
        &self,
        src: &BlobId,
        dst: &BlobId,
        src_checksum: Option<&str>,
        ctl: &mut Transfer<'_>,
    ) -> Result<Cloned, BlobError> {
        match self.clone_linked(src, dst, src_checksum, ctl)? {
            Some((cloned, dir)) => {
                if let Some(dir) = dir {
                    self.syncs.sync(&dir).map_err(BlobError::Io)?;
                }
                Ok(cloned)
            }
            None => self.clone_streamed(src, dst, src_checksum, ctl),
        }
    }

    fn clone_blobs(&self, jobs: &[CloneJob<'_>]) -> Vec<Result<Cloned, BlobError>> {
        // Per job: its result, and the directory it linked into, not yet fsynced.
        let mut done: Vec<(Result<Cloned, BlobError>, Option<PathBuf>)> = jobs
            .iter()
            .map(|job| {
                let mut ctl = Transfer::new();
                match self.clone_linked(job.src, job.dst, job.src_checksum, &mut ctl) {
                    Ok(Some((cloned, dir))) => (Ok(cloned), dir),
                    Ok(None) => (
                        self.clone_streamed(job.src, job.dst, job.src_checksum, &mut ctl),
                        None,
                    ),
                    Err(e) => (Err(e), None),
                }
            })
            .collect();
        let mut dirs: Vec<PathBuf> = done.iter().filter_map(|(_, d)| d.clone()).collect();
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            if let Err(e) = self.syncs.sync(&dir) {
                // The links into it may not survive a crash: none of them counts as done.
                for (result, linked_into) in &mut done {
                    if linked_into.as_ref() == Some(&dir) {
                        *result = Err(BlobError::Io(io::Error::new(e.kind(), e.to_string())));
                    }
                }
            }
        }
        done.into_iter().map(|(result, _)| result).collect()
    }

    fn local(&self, id: &BlobId) -> Result<LocalBlob, BlobError> {
        let path = self.path(id);
        fs::metadata(&path).map_err(|e| Self::not_found(id, e))?;
        Ok(LocalBlob {
            path,
            temporary: false,
        })
    }
}

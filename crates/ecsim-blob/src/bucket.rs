//! The OSS emulation used by ImportImage and ExportImage: `ecsim serve --oss-root DIR`, where a
//! bucket is a subdirectory of `DIR` and an object key is a relative path inside it.
//!
//! Names come from API callers, so resolution is defensive: bucket names are one path segment,
//! object keys are rejected when absolute or when they contain empty, `.` or `..` segments, and
//! symbolic links are followed only while they stay inside their bucket (checked on the
//! canonical path). Each refusal is its own variant of [`OssError`]; [`OssError::not_found`]
//! gives the spec's mapping (`InvalidOSSBucket.NotFound` / `InvalidOSSObject.NotFound`).
//!
//! The check and the open are separate steps, so a concurrent rename of a symlink inside the
//! bucket between them is not detected; the bucket directory belongs to the operator, and
//! imports inspect their private copy of the bytes (never the bucket file), so this only ever
//! affects what is read, not what is trusted.

use crate::checksum::Algorithm;
use crate::store::BlobInfo;
use crate::transfer::{self, AtomicFile, CopyError, Transfer};
use flate2::Compression;
use flate2::write::GzEncoder;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The longest object key OSS accepts, in bytes.
const MAX_KEY: usize = 1023;

/// Why an object key was refused before touching the filesystem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyProblem {
    /// The key is empty.
    Empty,
    /// The key is longer than 1023 bytes.
    TooLong,
    /// The key starts with `/`.
    Absolute,
    /// The key has an empty segment (`a//b`, a trailing `/`).
    EmptySegment,
    /// The key has a `.` segment.
    DotSegment,
    /// The key has a `..` segment.
    ParentSegment,
    /// The key contains a NUL byte.
    NulByte,
}

/// Which spec error an [`OssError`] stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OssNotFound {
    /// `InvalidOSSBucket.NotFound`
    Bucket,
    /// `InvalidOSSObject.NotFound`
    Object,
}

/// A failure to resolve, read or write a bucket object.
#[derive(Debug)]
pub enum OssError {
    /// Not a single, non-hidden path segment.
    InvalidBucketName(String),
    /// No such directory under the OSS root.
    BucketNotFound(String),
    /// The bucket is a symlink that leads outside the OSS root.
    BucketEscapesRoot(String),
    /// The object key is malformed.
    InvalidObjectKey { key: String, problem: KeyProblem },
    /// No such object.
    ObjectNotFound(String),
    /// The object (or a directory on its way) is a symlink leading outside its bucket.
    ObjectEscapesBucket(String),
    /// The object names a directory, FIFO, device or socket, not a regular file.
    NotAFile(String),
    /// The transfer was cancelled; nothing was left behind.
    Cancelled,
    /// Any other filesystem failure.
    Io(io::Error),
}

impl OssError {
    /// The spec error this stands for, or `None` for cancellation and I/O failures (which are
    /// the server's `InternalError`, or a failed task).
    pub fn not_found(&self) -> Option<OssNotFound> {
        match self {
            OssError::InvalidBucketName(_)
            | OssError::BucketNotFound(_)
            | OssError::BucketEscapesRoot(_) => Some(OssNotFound::Bucket),
            OssError::InvalidObjectKey { .. }
            | OssError::ObjectNotFound(_)
            | OssError::ObjectEscapesBucket(_)
            | OssError::NotAFile(_) => Some(OssNotFound::Object),
            OssError::Cancelled | OssError::Io(_) => None,
        }
    }
}

impl fmt::Display for OssError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OssError::InvalidBucketName(b) => write!(f, "invalid bucket name {b:?}"),
            OssError::BucketNotFound(b) => write!(f, "bucket {b:?} not found"),
            OssError::BucketEscapesRoot(b) => write!(f, "bucket {b:?} leads outside the OSS root"),
            OssError::InvalidObjectKey { key, problem } => {
                write!(f, "invalid object key {key:?}: {problem:?}")
            }
            OssError::ObjectNotFound(k) => write!(f, "object {k:?} not found"),
            OssError::ObjectEscapesBucket(k) => write!(f, "object {k:?} leads outside its bucket"),
            OssError::NotAFile(k) => write!(f, "object {k:?} is not a regular file"),
            OssError::Cancelled => f.write_str("transfer cancelled"),
            OssError::Io(e) => write!(f, "bucket i/o: {e}"),
        }
    }
}

impl std::error::Error for OssError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OssError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<CopyError> for OssError {
    fn from(e: CopyError) -> Self {
        match e {
            CopyError::Cancelled => OssError::Cancelled,
            CopyError::Io(e) => OssError::Io(e),
        }
    }
}

/// An object opened for reading.
#[derive(Debug)]
pub struct OssObject {
    /// Canonical path of the object file.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    pub file: File,
}

/// The OSS root directory (`--oss-root`).
#[derive(Clone, Debug)]
pub struct OssRoot {
    root: PathBuf,
}

impl OssRoot {
    /// Opens an existing directory as the OSS root (canonicalized, so later containment checks
    /// compare canonical paths).
    pub fn new(dir: &Path) -> io::Result<Self> {
        let root = fs::canonicalize(dir)?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves a bucket to its canonical directory (ExportImage checks this at request time).
    pub fn bucket_dir(&self, bucket: &str) -> Result<PathBuf, OssError> {
        let valid = !bucket.is_empty()
            && bucket.len() <= 255
            && !bucket.starts_with('.')
            && !bucket.contains(['/', '\0']);
        if !valid {
            return Err(OssError::InvalidBucketName(bucket.to_owned()));
        }
        let dir = fs::canonicalize(self.root.join(bucket))
            .map_err(|e| missing(e, || OssError::BucketNotFound(bucket.to_owned())))?;
        if !dir.starts_with(&self.root) || dir == self.root {
            return Err(OssError::BucketEscapesRoot(bucket.to_owned()));
        }
        if !dir.is_dir() {
            return Err(OssError::BucketNotFound(bucket.to_owned()));
        }
        Ok(dir)
    }

    /// Resolves an existing object to the canonical path of a regular file inside its bucket
    /// (ImportImage checks this at request time).
    pub fn object_path(&self, bucket: &str, key: &str) -> Result<PathBuf, OssError> {
        let bucket_dir = self.bucket_dir(bucket)?;
        check_key(key)?;
        let path = fs::canonicalize(bucket_dir.join(key))
            .map_err(|e| missing(e, || OssError::ObjectNotFound(key.to_owned())))?;
        if !path.starts_with(&bucket_dir) {
            return Err(OssError::ObjectEscapesBucket(key.to_owned()));
        }
        let meta = fs::metadata(&path).map_err(OssError::Io)?;
        if !meta.is_file() {
            return Err(OssError::NotAFile(key.to_owned()));
        }
        Ok(path)
    }

    /// Opens an object for reading.
    pub fn open_object(&self, bucket: &str, key: &str) -> Result<OssObject, OssError> {
        let path = self.object_path(bucket, key)?;
        let file = File::open(&path)
            .map_err(|e| missing(e, || OssError::ObjectNotFound(key.to_owned())))?;
        let meta = file.metadata().map_err(OssError::Io)?;
        if !meta.is_file() {
            return Err(OssError::NotAFile(key.to_owned()));
        }
        Ok(OssObject {
            path,
            size: meta.len(),
            file,
        })
    }

    /// Prepares writing an object: creates the directories of the key inside the bucket (never
    /// following a symlink out of it) and returns an [`AtomicFile`] that becomes the object on
    /// commit — for example the target of `qemu-img convert` in ExportImage. An existing object
    /// is replaced atomically on commit.
    pub fn create_object(&self, bucket: &str, key: &str) -> Result<AtomicFile, OssError> {
        let bucket_dir = self.bucket_dir(bucket)?;
        check_key(key)?;
        let mut segments: Vec<&str> = key.split('/').collect();
        let name = segments.pop().unwrap_or(key);
        let mut dir = bucket_dir.clone();
        for seg in segments {
            let next = dir.join(seg);
            match fs::symlink_metadata(&next) {
                Ok(_) => {
                    let real = fs::canonicalize(&next).map_err(OssError::Io)?;
                    if !real.starts_with(&bucket_dir) {
                        return Err(OssError::ObjectEscapesBucket(key.to_owned()));
                    }
                    if !real.is_dir() {
                        return Err(OssError::NotAFile(key.to_owned()));
                    }
                    dir = real;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    match fs::create_dir(&next) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(OssError::Io(e)),
                    }
                    transfer::sync_dir(&dir).map_err(OssError::Io)?;
                    dir = next;
                }
                Err(e) => return Err(OssError::Io(e)),
            }
        }
        let dest = dir.join(name);
        if fs::symlink_metadata(&dest).is_ok_and(|m| m.is_dir()) {
            return Err(OssError::NotAFile(key.to_owned()));
        }
        AtomicFile::create(dest).map_err(OssError::Io)
    }

    /// Removes temporary files a dead process left in the directory of `bucket/key` (an export
    /// killed mid-write). Files of living processes, this one included, are kept: their name
    /// carries the writer's pid.
    pub fn sweep_dead_temps(&self, bucket: &str, key: &str) -> Result<usize, OssError> {
        let path = self.object_path(bucket, key).or_else(|e| match e {
            OssError::ObjectNotFound(_) => {
                let dir = self.bucket_dir(bucket)?;
                Ok(dir.join(key))
            }
            other => Err(other),
        })?;
        let Some(dir) = path.parent() else {
            return Ok(0);
        };
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(_) => return Ok(0),
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(crate::transfer::TEMP_PREFIX) else {
                continue;
            };
            let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            let alive =
                pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists();
            if !alive && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Writes `src` as an object (streamed, honoring the transfer's controls) and returns its
    /// size and checksum ([`Algorithm::DEFAULT`]). On error or cancellation no object appears.
    pub fn write_object(
        &self,
        bucket: &str,
        key: &str,
        src: &mut dyn Read,
        ctl: &mut Transfer<'_>,
    ) -> Result<BlobInfo, OssError> {
        let mut out = self.create_object(bucket, key)?;
        let (size, checksum) = transfer::copy_to_file(
            src,
            out.file_mut().map_err(OssError::Io)?,
            ctl,
            Algorithm::DEFAULT,
        )?;
        out.commit().map_err(OssError::Io)?;
        Ok(BlobInfo { size, checksum })
    }
}

impl OssRoot {
    /// Writes `src` (`size` bytes) as a gzip-compressed tar archive holding one regular file,
    /// `member`: how ECS hands out a RAW export (`{ImageId}_system.raw.tar.gz`). The transfer's
    /// controls (progress, throttle, cancellation) count the archived bytes, not the compressed
    /// ones, so an export's progress is the disk's. On error or cancellation no object appears.
    pub fn write_tar_gz_object(
        &self,
        bucket: &str,
        key: &str,
        member: &str,
        size: u64,
        src: &mut dyn Read,
        ctl: &mut Transfer<'_>,
    ) -> Result<(), OssError> {
        const BLOCK: u64 = 512;
        let mut out = self.create_object(bucket, key)?;
        let mut header = tar::Header::new_gnu();
        header.set_path(member).map_err(OssError::Io)?;
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(size);
        header.set_mode(0o644);
        header.set_mtime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        );
        header.set_cksum();
        {
            let file = out.file_mut().map_err(OssError::Io)?;
            // Level 1: a disk image is mostly zeros or already-dense data; higher levels cost
            // several times the CPU for a few percent.
            let mut gz = GzEncoder::new(io::BufWriter::new(file), Compression::fast());
            gz.write_all(header.as_bytes()).map_err(OssError::Io)?;
            let (archived, _) =
                transfer::pump(src, ctl, Algorithm::DEFAULT, &mut |data| gz.write_all(data))?;
            if archived != size {
                return Err(OssError::Io(io::Error::other(format!(
                    "{member}: read {archived} bytes, expected {size}"
                ))));
            }
            // The member's last block is padded, and two zero blocks end the archive.
            let padding = (BLOCK - size % BLOCK) % BLOCK + 2 * BLOCK;
            io::copy(&mut io::repeat(0).take(padding), &mut gz).map_err(OssError::Io)?;
            gz.finish()
                .and_then(|buffered| {
                    buffered
                        .into_inner()
                        .map_err(io::IntoInnerError::into_error)
                })
                .map_err(OssError::Io)?;
        }
        out.commit().map_err(OssError::Io)
    }
}

/// A missing path (or a path through a non-directory) is the caller's not-found error.
fn missing(e: io::Error, not_found: impl FnOnce() -> OssError) -> OssError {
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => not_found(),
        _ => OssError::Io(e),
    }
}

fn check_key(key: &str) -> Result<(), OssError> {
    let problem = if key.is_empty() {
        Some(KeyProblem::Empty)
    } else if key.len() > MAX_KEY {
        Some(KeyProblem::TooLong)
    } else if key.contains('\0') {
        Some(KeyProblem::NulByte)
    } else if key.starts_with('/') {
        Some(KeyProblem::Absolute)
    } else {
        key.split('/').find_map(|seg| match seg {
            "" => Some(KeyProblem::EmptySegment),
            "." => Some(KeyProblem::DotSegment),
            ".." => Some(KeyProblem::ParentSegment),
            _ => None,
        })
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(OssError::InvalidObjectKey {
            key: key.to_owned(),
            problem,
        }),
    }
}

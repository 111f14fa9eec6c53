//! Image bytes for ecsim: where disk images live and how they are checked and converted.
//!
//! * [`store`] — [`BlobStore`], per-region blob storage. [`DirStore`] keeps blob `region/key` at
//!   `DATA_DIR/blobs/<region>/<key>`. Blobs are immutable once written (new bytes always go to a
//!   new temporary file renamed into place), which makes hard-link clones safe: CopyImage and
//!   CreateImage get independent copies for the price of a link.
//! * `s3` (cargo feature `s3`) — `S3Store`, the same trait on an S3-compatible object store
//!   (AWS S3, OSS, MinIO, moto) through `object_store`; without the feature nothing here pulls
//!   network crates into the build.
//! * [`bucket`] — [`OssRoot`], the `--oss-root` directory ImportImage reads and ExportImage
//!   writes, with path-traversal and symlink-escape checks.
//! * [`qemu`] — [`Qemu`], `qemu-img` under a timeout and resource limits: inspection with the
//!   import policy (no backing files, no external data files), conversion, blank disks.
//! * [`transfer`] — [`Transfer`] (progress, cancellation, throttle) and [`AtomicFile`].
//! * [`checksum`] — the recorded checksums of blob bytes: BLAKE3 (`blake3:<hex>`) for new
//!   bytes, bare hex for SHA-256 recordings made before it; bytes are verified with the
//!   algorithm their recording names.
//!
//! Everything here is blocking I/O: callers run it on blocking threads
//! (`tokio::task::spawn_blocking`), which is also where a task worker wants to be while it moves
//! a gigabyte.
//!
//! A typical import: stream the bucket object into a blob ([`BlobStore::put_file`], throttled,
//! with progress), then [`Qemu::check_import`] that private, immutable copy and record the
//! detected format. Export: [`Qemu::convert`] from [`BlobStore::local`] into
//! [`OssRoot::create_object`], then commit. Copy: [`BlobStore::clone_blob`].

pub mod bucket;
pub mod checksum;
mod dirsync;
pub mod qemu;
#[cfg(feature = "s3")]
pub mod s3;
pub mod store;
pub mod transfer;

#[cfg(test)]
mod testutil;

pub use bucket::{KeyProblem, OssError, OssNotFound, OssObject, OssRoot};
pub use checksum::Algorithm;
pub use qemu::{DiskFormat, DiskInfo, Limiter, Limits, Qemu, QemuError, Refusal};
#[cfg(feature = "s3")]
pub use s3::S3Store;
pub use store::{BlobError, BlobId, BlobInfo, BlobStore, CloneJob, Cloned, DirStore, LocalBlob};
pub use transfer::{AtomicFile, Transfer};

#[cfg(test)]
mod tests;

//! [`S3Store`]: blobs in an S3-compatible object store (AWS S3, Alibaba OSS's S3 endpoint,
//! MinIO, moto), through the `object_store` crate. Built only with the cargo feature `s3`.
//!
//! Blob `region/key` is the object `PREFIX/region/key` of the bucket named by the store URL
//! `s3://BUCKET/PREFIX`. The endpoint, region and credentials come from the standard `AWS_*`
//! environment variables (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `AWS_REGION`, ...), never from the URL, so no secret ends up in a command
//! line, a log line or `Debug` output.
//!
//! How the trait maps: `put` is a single PUT for small blobs and a multipart upload (parts of
//! [`PART`] bytes, a few in flight) for large ones — both replace the object atomically and leave
//! nothing behind on error or cancellation (the upload is aborted); `clone_blob` is a server-side
//! `CopyObject` (streamed instead when throttled, or when the server refuses the copy, e.g. past
//! its single-copy size limit); `open` reads in ranged GETs pinned to the object's ETag, so a
//! concurrent replacement fails the read instead of mixing two versions; `local` downloads to a
//! temporary file in the store's scratch directory.
//!
//! The trait is blocking; the async client runs on a small runtime the store owns, driven with
//! `Runtime::block_on` from the caller's (blocking) thread.

use crate::checksum::Algorithm;
use crate::store::{BlobError, BlobId, BlobInfo, BlobStore, Cloned, LocalBlob};
use crate::transfer::{self, TEMP_PREFIX, Transfer};
use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjPath;
use object_store::{GetOptions, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Multipart part size (S3's minimum is 5 MiB for all but the last part).
const PART: usize = 16 << 20;
/// Parts uploaded concurrently by one `put`.
const PARTS_IN_FLIGHT: usize = 4;
/// Bytes per ranged GET of a reader.
const READ_RANGE: u64 = 16 << 20;

/// The S3 blob store. Cheap to clone (shared client and runtime).
#[derive(Clone)]
pub struct S3Store {
    inner: Arc<Inner>,
}

struct Inner {
    client: AmazonS3,
    /// `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    bucket: String,
    prefix: String,
    endpoint: Option<String>,
    scratch: PathBuf,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle may drop on an async thread, where a blocking shutdown would panic.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl fmt::Debug for S3Store {
    /// Bucket, prefix and endpoint only: credentials are never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.inner.bucket)
            .field("prefix", &self.inner.prefix)
            .field("endpoint", &self.inner.endpoint)
            .finish_non_exhaustive()
    }
}

fn other(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> BlobError {
    BlobError::Io(io::Error::other(e))
}

fn io_other(e: object_store::Error) -> io::Error {
    io::Error::other(e)
}

/// Splits `s3://bucket/some/prefix` into `("bucket", "some/prefix")`.
fn parse_url(url: &str) -> Result<(String, String), BlobError> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| BlobError::InvalidId(format!("blob URL {url:?} must start with s3://")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() || rest.contains(['?', '#', '@']) {
        return Err(BlobError::InvalidId(format!(
            "blob URL {url:?} must be s3://BUCKET[/PREFIX] (endpoint and keys go in AWS_* variables)"
        )));
    }
    let prefix = prefix.trim_matches('/').to_owned();
    if prefix.split('/').any(|seg| seg == "." || seg == "..")
        || (!prefix.is_empty() && prefix.split('/').any(str::is_empty))
    {
        return Err(BlobError::InvalidId(format!(
            "blob URL {url:?} has an invalid prefix"
        )));
    }
    Ok((bucket.to_owned(), prefix))
}

impl S3Store {
    /// Opens the store at `url` (`s3://BUCKET[/PREFIX]`), configured from the `AWS_*` environment
    /// (see the module docs). `scratch` is a local directory for [`BlobStore::local`] downloads;
    /// leftovers of an earlier run there are removed. Does not contact the server.
    pub fn from_env(url: &str, scratch: &Path) -> Result<Self, BlobError> {
        Self::with_builder(url, scratch, AmazonS3Builder::from_env())
    }

    /// As [`S3Store::from_env`], with explicit endpoint and static credentials (tests, embedding).
    pub fn with_credentials(
        url: &str,
        scratch: &Path,
        endpoint: &str,
        access_key_id: &str,
        secret_access_key: &str,
    ) -> Result<Self, BlobError> {
        let builder = AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_access_key_id(access_key_id)
            .with_secret_access_key(secret_access_key)
            .with_region("us-east-1");
        Self::with_builder(url, scratch, builder)
    }

    fn with_builder(
        url: &str,
        scratch: &Path,
        mut builder: AmazonS3Builder,
    ) -> Result<Self, BlobError> {
        let (bucket, prefix) = parse_url(url)?;
        // reqwest's rustls is built without a bundled crypto provider (no aws-lc, no cmake):
        // ring is the process default. An error means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let endpoint = builder.get_config_value(&AmazonS3ConfigKey::Endpoint);
        if endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"))
        {
            builder = builder.with_allow_http(true);
        }
        if builder
            .get_config_value(&AmazonS3ConfigKey::Region)
            .is_none()
            && builder
                .get_config_value(&AmazonS3ConfigKey::DefaultRegion)
                .is_none()
        {
            builder = builder.with_region("us-east-1");
        }
        let client = builder.with_bucket_name(&bucket).build().map_err(other)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ecsim-s3")
            .enable_all()
            .build()
            .map_err(BlobError::Io)?;
        let scratch = std::path::absolute(scratch).map_err(BlobError::Io)?;
        fs::create_dir_all(&scratch).map_err(BlobError::Io)?;
        for entry in fs::read_dir(&scratch).map_err(BlobError::Io)? {
            let entry = entry.map_err(BlobError::Io)?;
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                runtime: Some(runtime),
                bucket,
                prefix,
                endpoint,
                scratch,
            }),
        })
    }

    /// Contacts the server once (a HEAD of a key no blob has): fails when the endpoint, bucket or
    /// credentials are wrong, so a server can refuse to start instead of failing its first task.
    /// Safe to call from async code too (it runs on a thread of its own).
    pub fn check(&self) -> Result<(), BlobError> {
        let probe = BlobId::new("ecsim-probe", "absent")?;
        std::thread::scope(|s| {
            s.spawn(|| match self.head(&probe) {
                Ok(_) | Err(BlobError::NotFound(_)) => Ok(()),
                Err(e) => Err(e),
            })
            .join()
            .unwrap_or_else(|_| Err(other("the S3 check panicked")))
        })
    }

    /// The bucket named by the store URL.
    pub fn bucket(&self) -> &str {
        &self.inner.bucket
    }

    fn rt(&self) -> Result<&tokio::runtime::Runtime, BlobError> {
        self.inner
            .runtime
            .as_ref()
            .ok_or_else(|| other("the S3 store is shut down"))
    }

    fn path(&self, id: &BlobId) -> ObjPath {
        if self.inner.prefix.is_empty() {
            ObjPath::from(format!("{}/{}", id.region(), id.key()))
        } else {
            ObjPath::from(format!(
                "{}/{}/{}",
                self.inner.prefix,
                id.region(),
                id.key()
            ))
        }
    }

    fn map_err(id: &BlobId, e: object_store::Error) -> BlobError {
        match e {
            object_store::Error::NotFound { .. } => BlobError::NotFound(id.clone()),
            e => other(e),
        }
    }

    fn head(&self, id: &BlobId) -> Result<object_store::ObjectMeta, BlobError> {
        let path = self.path(id);
        self.rt()?
            .block_on(self.inner.client.head(&path))
            .map_err(|e| Self::map_err(id, e))
    }

    fn reader(&self, id: &BlobId) -> Result<S3Reader, BlobError> {
        let meta = self.head(id)?;
        Ok(S3Reader {
            store: self.clone(),
            id: id.clone(),
            path: self.path(id),
            e_tag: meta.e_tag,
            size: meta.size,
            pos: 0,
            buf: Bytes::new(),
        })
    }
}

/// Where a `put` is: small blobs are buffered for one PUT, larger ones become a multipart upload
/// once the first part is full.
enum Upload {
    Buffer(Vec<u8>),
    Parts(WriteMultipart),
}

impl BlobStore for S3Store {
    fn put_hashed(
        &self,
        id: &BlobId,
        src: &mut dyn Read,
        ctl: &mut Transfer<'_>,
        algorithm: Algorithm,
    ) -> Result<BlobInfo, BlobError> {
        let rt = self.rt()?;
        let client = &self.inner.client;
        let path = self.path(id);
        // Part uploads are spawned (by `WriteMultipart::write`) onto this store's runtime.
        let _entered = rt.enter();
        let mut upload = Upload::Buffer(Vec::new());
        let pumped = transfer::pump(src, ctl, algorithm, &mut |data: &[u8]| {
            match &mut upload {
                Upload::Buffer(buf) => {
                    buf.extend_from_slice(data);
                    if buf.len() >= PART {
                        let first = std::mem::take(buf);
                        let parts = rt.block_on(client.put_multipart(&path)).map_err(io_other)?;
                        let mut writer = WriteMultipart::new_with_chunk_size(parts, PART);
                        writer.put(Bytes::from(first));
                        upload = Upload::Parts(writer);
                    }
                }
                Upload::Parts(writer) => {
                    rt.block_on(writer.wait_for_capacity(PARTS_IN_FLIGHT))
                        .map_err(io_other)?;
                    writer.write(data);
                }
            }
            Ok(())
        });
        let (size, checksum) = match pumped {
            Ok(done) => done,
            Err(e) => {
                if let Upload::Parts(writer) = upload {
                    // Best effort: an unfinished multipart upload never becomes the object.
                    let _ = rt.block_on(writer.abort());
                }
                return Err(e.into());
            }
        };
        let stored = match upload {
            Upload::Buffer(buf) => rt.block_on(client.put(&path, PutPayload::from(buf))),
            Upload::Parts(writer) => rt.block_on(writer.finish()),
        };
        stored.map_err(|e| Self::map_err(id, e))?;
        Ok(BlobInfo { size, checksum })
    }

    fn open(&self, id: &BlobId) -> Result<Box<dyn Read + Send>, BlobError> {
        Ok(Box::new(self.reader(id)?))
    }

    fn size(&self, id: &BlobId) -> Result<u64, BlobError> {
        Ok(self.head(id)?.size)
    }

    fn delete(&self, id: &BlobId) -> Result<bool, BlobError> {
        match self.head(id) {
            Ok(_) => {}
            Err(BlobError::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e),
        }
        let path = self.path(id);
        match self.rt()?.block_on(self.inner.client.delete(&path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(true),
            Err(e) => Err(other(e)),
        }
    }

    fn clone_blob(
        &self,
        src: &BlobId,
        dst: &BlobId,
        src_checksum: Option<&str>,
        ctl: &mut Transfer<'_>,
    ) -> Result<Cloned, BlobError> {
        let size = self.head(src)?.size;
        let algorithm = Algorithm::of_or_default(src_checksum);
        if src == dst {
            ctl.report(size);
            let checksum = self.checksum(dst, algorithm)?;
            return Ok(Cloned {
                info: BlobInfo { size, checksum },
                linked: true,
            });
        }
        if !ctl.is_throttled() {
            if ctl.is_cancelled() {
                return Err(BlobError::Cancelled);
            }
            let (from, to) = (self.path(src), self.path(dst));
            match self.rt()?.block_on(self.inner.client.copy(&from, &to)) {
                Ok(()) => {
                    ctl.report(size);
                    let checksum = match src_checksum {
                        Some(known) => known.to_owned(),
                        None => self.checksum(dst, algorithm)?,
                    };
                    return Ok(Cloned {
                        info: BlobInfo { size, checksum },
                        linked: true,
                    });
                }
                Err(object_store::Error::NotFound { .. }) => {
                    return Err(BlobError::NotFound(src.clone()));
                }
                // E.g. past the server's single-request copy limit: stream instead.
                Err(_) => {}
            }
        }
        let mut reader = self.reader(src)?;
        let info = self.put_hashed(dst, &mut reader, ctl, algorithm)?;
        Ok(Cloned {
            info,
            linked: false,
        })
    }

    fn local(&self, id: &BlobId) -> Result<LocalBlob, BlobError> {
        let mut reader = self.reader(id)?;
        let temp =
            transfer::temp_name(&self.inner.scratch.join(id.key())).map_err(BlobError::Io)?;
        let mut file = File::options()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(BlobError::Io)?;
        // Owns the file from here on: removed on drop, also when the download fails.
        let local = LocalBlob::temporary(temp);
        // The download's checksum is not needed (the blob's is recorded); the cheaper one.
        transfer::copy_to_file(
            &mut reader,
            &mut file,
            &mut Transfer::new(),
            Algorithm::DEFAULT,
        )?;
        Ok(local)
    }
}

/// Reads an object in ranged GETs, each pinned to the ETag seen when it was opened.
struct S3Reader {
    store: S3Store,
    id: BlobId,
    path: ObjPath,
    e_tag: Option<String>,
    size: u64,
    pos: u64,
    buf: Bytes,
}

impl Read for S3Reader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.buf.is_empty() {
            if self.pos >= self.size || out.is_empty() {
                return Ok(0);
            }
            let end = self.size.min(self.pos + READ_RANGE);
            let options = GetOptions::default()
                .with_if_match(self.e_tag.clone())
                .with_range(Some(self.pos..end));
            let rt = self.store.rt().map_err(io::Error::other)?;
            let client = &self.store.inner.client;
            let got = rt
                .block_on(async {
                    let result = client.get_opts(&self.path, options).await?;
                    result.bytes().await
                })
                .map_err(|e| match e {
                    object_store::Error::NotFound { .. } => io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("blob {} not found", self.id),
                    ),
                    e => io_other(e),
                })?;
            if got.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("blob {} ended early", self.id),
                ));
            }
            self.pos += got.len() as u64;
            self.buf = got;
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        let _ = self.buf.split_to(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_url;

    #[test]
    fn urls_name_a_bucket_and_an_optional_prefix() {
        assert_eq!(
            parse_url("s3://images").expect("bucket"),
            ("images".into(), String::new())
        );
        assert_eq!(
            parse_url("s3://images/ecsim/prod/").expect("prefix"),
            ("images".into(), "ecsim/prod".into())
        );
        for bad in [
            "images",
            "http://x/y",
            "s3://",
            "s3:///p",
            "s3://b/../x",
            "s3://b/a//c",
            "s3://key:secret@b",
            "s3://b?endpoint=x",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}

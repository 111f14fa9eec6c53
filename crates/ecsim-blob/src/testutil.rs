//! A temporary directory for tests, removed on drop (no `tempfile` dependency needed).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ecsim-blob-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Blobs are read-only files, but removal only needs write access to their directory.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An `S3Store` on a fresh prefix of the test S3 server, with its scratch directory.
#[cfg(feature = "s3")]
pub struct TestS3 {
    pub store: crate::S3Store,
    _scratch: TempDir,
}

/// The test S3 server comes from `ECSIM_TEST_S3_ENDPOINT` (e.g. `http://127.0.0.1:5000`, moto;
/// `scripts/test` starts one) with the bucket `ECSIM_TEST_S3_BUCKET` (default `ecsim-test`,
/// which must exist). Unset, the test fails — unless `ECSIM_SKIP_S3=1` says to skip it (`None`).
#[cfg(feature = "s3")]
pub fn test_s3_store(test: &str) -> Option<TestS3> {
    static N: AtomicU64 = AtomicU64::new(0);
    let Ok(endpoint) = std::env::var("ECSIM_TEST_S3_ENDPOINT") else {
        if std::env::var("ECSIM_SKIP_S3").as_deref() == Ok("1") {
            eprintln!("skipped: ECSIM_SKIP_S3=1");
            return None;
        }
        panic!(
            "ECSIM_TEST_S3_ENDPOINT is not set (scripts/test starts moto); ECSIM_SKIP_S3=1 skips"
        );
    };
    let bucket = std::env::var("ECSIM_TEST_S3_BUCKET").unwrap_or_else(|_| "ecsim-test".into());
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let url = format!("s3://{bucket}/t{}-{nanos}-{n}/{test}", std::process::id());
    let scratch = TempDir::new();
    let store = crate::S3Store::with_credentials(&url, scratch.path(), &endpoint, "test", "test")
        .expect("open the S3 store");
    Some(TestS3 {
        store,
        _scratch: scratch,
    })
}

use super::{assert_progress, pattern, set};
use crate::Algorithm;
use crate::testutil::TempDir;
use crate::{BlobError, BlobId, BlobStore, DirStore, Transfer};
use std::fs;
use std::num::NonZeroU64;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

fn id(region: &str, key: &str) -> BlobId {
    BlobId::new(region, key).expect("valid id")
}

fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn put_read_size_checksum_delete() {
    let tmp = TempDir::new();
    let store = DirStore::open(tmp.path()).expect("open");
    let data = pattern(3 * 1024 * 1024 + 17);
    let b = id("cn-hangzhou", "m-abc.disk1");
    let info = store
        .put(&b, &mut data.as_slice(), &mut Transfer::new())
        .expect("put");
    let sha = Algorithm::DEFAULT.digest(&data);
    assert_eq!(info.size, data.len() as u64);
    assert_eq!(info.checksum, sha);
    assert_eq!(store.size(&b).expect("size"), data.len() as u64);
    assert_eq!(store.checksum(&b, Algorithm::DEFAULT).expect("sha"), sha);
    let mut back = Vec::new();
    store
        .open(&b)
        .expect("open")
        .read_to_end(&mut back)
        .expect("read");
    assert_eq!(back, data);
    let path = tmp.path().join("blobs/cn-hangzhou/m-abc.disk1");
    assert_eq!(store.local(&b).expect("local").path(), path);
    assert_eq!(
        fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
        0o444,
        "stored blobs are read-only"
    );
    assert!(store.delete(&b).expect("delete"));
    assert!(!store.delete(&b).expect("delete again is a no-op"));
    assert!(matches!(store.size(&b), Err(BlobError::NotFound(_))));
    assert!(matches!(store.open(&b), Err(BlobError::NotFound(_))));
    assert!(matches!(store.local(&b), Err(BlobError::NotFound(_))));
}

use std::io::Read;

#[test]
fn ids_are_single_safe_segments() {
    for (region, key) in [
        ("cn-hangzhou", ""),
        ("cn-hangzhou", ".."),
        ("cn-hangzhou", "a/b"),
        ("cn-hangzhou", ".hidden"),
        ("cn-hangzhou", "-flag"),
        ("..", "k"),
        ("", "k"),
        ("cn/x", "k"),
        ("cn-hangzhou", "k\0"),
    ] {
        assert!(
            matches!(BlobId::new(region, key), Err(BlobError::InvalidId(_))),
            "{region:?}/{key:?} must be refused"
        );
    }
    assert!(BlobId::new("cn-hangzhou", "m-1.disk_1").is_ok());
    assert!(BlobId::new("cn-hangzhou", &"a".repeat(129)).is_err());
}

#[test]
fn progress_is_monotone_and_ends_at_total() {
    let tmp = TempDir::new();
    let store = DirStore::open(tmp.path()).expect("open");
    let data = pattern(3 * 1024 * 1024 + 512 * 1024);
    let mut reports = Vec::new();
    let mut record = |n| reports.push(n);
    store
        .put(
            &id("r1", "k"),
            &mut data.as_slice(),
            &mut Transfer::new().on_progress(&mut record),
        )
        .expect("put");
    assert!(reports.len() >= 4, "one report per chunk: {reports:?}");
    assert_progress(&reports, data.len() as u64);

    let mut reports = Vec::new();
    let mut record = |n| reports.push(n);
    store
        .put(
            &id("r1", "empty"),
            &mut [].as_slice(),
            &mut Transfer::new().on_progress(&mut record),
        )
        .expect("put empty");
    assert_eq!(reports, vec![0]);
}

#[test]
fn cancelled_write_leaves_no_partial_blob() {
    let tmp = TempDir::new();
    let store = DirStore::open(tmp.path()).expect("open");
    let b = id("r1", "k");
    // An older blob under the same id must survive a cancelled replacement.
    store
        .put(&b, &mut b"old".as_slice(), &mut Transfer::new())
        .expect("put old");
    let data = pattern(1 << 20);
    let cancel = AtomicBool::new(false);
    let mut reports = Vec::new();
    let mut on_progress = |n| {
        reports.push(n);
        // Cancel once the first chunk is on disk: the write is midway.
        set(&cancel);
    };
    let mut ctl = Transfer::new()
        .on_progress(&mut on_progress)
        .cancel_on(&cancel)
        .throttle(NonZeroU64::new(4 << 20));
    let err = store
        .put(&b, &mut data.as_slice(), &mut ctl)
        .expect_err("cancelled");
    assert!(matches!(err, BlobError::Cancelled), "{err}");
    assert_eq!(reports.len(), 1, "stopped after the first chunk");
    assert!(reports[0] < data.len() as u64);
    assert_eq!(
        entries(&tmp.path().join("blobs/r1")),
        vec!["k"],
        "no temp file left"
    );
    assert_eq!(store.size(&b).expect("size"), 3, "old blob intact");
}

#[test]
fn throttle_waits_on_the_clock() {
    let tmp = TempDir::new();
    let store = DirStore::open(tmp.path()).expect("open");
    let data = pattern(1 << 20);
    let mut reports = Vec::new();
    let mut record = |n| reports.push(n);
    let started = Instant::now();
    store
        .put(
            &id("r1", "slow"),
            &mut data.as_slice(),
            &mut Transfer::new()
                .on_progress(&mut record)
                .throttle(NonZeroU64::new(512 * 1024)),
        )
        .expect("put");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1500),
        "1 MiB at 512 KiB/s took {took:?}"
    );
    assert!(reports.len() >= 10, "many small chunks: {}", reports.len());
    assert_progress(&reports, data.len() as u64);
}

#[test]
fn throttled_cancel_is_prompt() {
    let tmp = TempDir::new();
    let store = DirStore::open(tmp.path()).expect("open");
    let data = pattern(1 << 20);
    let cancel = AtomicBool::new(false);
    let started = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(200));
            set(&cancel);
        });
        let err = store
            .put(
                &id("r1", "slow"),
                &mut data.as_slice(),
                &mut Transfer::new()
                    .cancel_on(&cancel)
                    .throttle(NonZeroU64::new(64 * 1024)),
            )
            .expect_err("cancelled");
        assert!(matches!(err, BlobError::Cancelled));
    });
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(entries(&tmp.path().join("blobs/r1")).is_empty());
}

#[test]
fn clones_are_independent() {
    let tmp = TempDir::new();
    let store = DirStore::open(tmp.path()).expect("open");
    let data = pattern(2 << 20);
    let src = id("cn-hangzhou", "m-src");
    let dst = id("cn-shanghai", "m-dst");
    let info = store
        .put(&src, &mut data.as_slice(), &mut Transfer::new())
        .expect("put");
    let mut reports = Vec::new();
    let mut record = |n| reports.push(n);
    let cloned = store
        .clone_blob(
            &src,
            &dst,
            None,
            &mut Transfer::new().on_progress(&mut record),
        )
        .expect("clone");
    assert!(cloned.linked, "same filesystem: a hard link");
    assert_eq!(cloned.info, info);
    assert_progress(&reports, data.len() as u64);

    // Replacing the source does not change the copy ...
    store
        .put(&src, &mut b"new bytes".as_slice(), &mut Transfer::new())
        .expect("replace");
    assert_eq!(
        store.checksum(&dst, Algorithm::DEFAULT).expect("sha"),
        info.checksum
    );
    // ... and deleting it does not either.
    assert!(store.delete(&src).expect("delete"));
    assert_eq!(
        store.checksum(&dst, Algorithm::DEFAULT).expect("sha"),
        info.checksum
    );
    // Nor does deleting the copy touch a new source.
    store
        .put(&src, &mut data.as_slice(), &mut Transfer::new())
        .expect("put again");
    let again = store
        .clone_blob(
            &src,
            &id("cn-shanghai", "m-dst2"),
            None,
            &mut Transfer::new(),
        )
        .expect("clone");
    assert!(store.delete(&id("cn-shanghai", "m-dst2")).expect("delete"));
    assert_eq!(
        store.checksum(&src, Algorithm::DEFAULT).expect("sha"),
        again.info.checksum
    );

    assert!(matches!(
        store.clone_blob(&id("r", "missing"), &dst, None, &mut Transfer::new()),
        Err(BlobError::NotFound(_))
    ));
}

/// A clone to a new name is one link; onto an existing blob it replaces it whole (the old
/// bytes under that name go, the source's stay), and leaves no temporary name behind.
#[test]
fn a_clone_onto_an_existing_blob_replaces_it() {
    let tmp = TempDir::new();
    let store = DirStore::open(tmp.path()).expect("open");
    let src = id("cn-hangzhou", "m-src");
    let dst = id("cn-hangzhou", "m-dst");
    let info = store
        .put(&src, &mut pattern(1 << 20).as_slice(), &mut Transfer::new())
        .expect("put");
    let old = store
        .put(&dst, &mut b"older bytes".as_slice(), &mut Transfer::new())
        .expect("put");
    assert_ne!(old.checksum, info.checksum);
    let cloned = store
        .clone_blob(&src, &dst, None, &mut Transfer::new())
        .expect("clone");
    assert!(cloned.linked);
    assert_eq!(
        store.checksum(&dst, Algorithm::DEFAULT).expect("sum"),
        info.checksum
    );
    assert_eq!(
        store.checksum(&src, Algorithm::DEFAULT).expect("sum"),
        info.checksum
    );
    assert_eq!(
        entries(&tmp.path().join("blobs/cn-hangzhou")),
        ["m-dst", "m-src"]
    );
}

/// A source whose file has as many names as the filesystem allows gets a fresh file under its
/// own name, and clones go on linking (to that): the same bytes everywhere, nothing streamed,
/// no temporary name left. A source whose bytes no longer match their record is not renewed
/// into links: its clone streams (and the caller's check fails it).
#[test]
fn a_source_at_the_link_limit_is_renewed_and_clones_stay_links() {
    let tmp = TempDir::new();
    let store = DirStore::open(tmp.path()).expect("open").with_link_limit(3);
    let data = pattern(1 << 20);
    let src = id("cn-hangzhou", "m-src");
    let info = store
        .put(&src, &mut data.as_slice(), &mut Transfer::new())
        .expect("put");
    let dir = tmp.path().join("blobs/cn-hangzhou");
    let inode = |key: &str| fs::metadata(dir.join(key)).expect("stat").ino();
    let first = inode("m-src");
    for n in 1..=5 {
        let dst = id("cn-hangzhou", &format!("m-dst{n}"));
        let cloned = store
            .clone_blob(&src, &dst, Some(&info.checksum), &mut Transfer::new())
            .expect("clone");
        assert!(cloned.linked, "clone {n} is a link");
        assert_eq!(cloned.info, info, "clone {n}");
        assert_eq!(
            store.checksum(&dst, Algorithm::DEFAULT).expect("sum"),
            info.checksum
        );
    }
    // At most 3 names per file: the first holds the source's and 2 clones', then a new file.
    assert_eq!(inode("m-dst1"), first);
    assert_eq!(inode("m-dst2"), first);
    assert_ne!(inode("m-src"), first);
    assert_eq!(inode("m-dst3"), inode("m-dst4"));
    assert_eq!(
        store.checksum(&src, Algorithm::DEFAULT).expect("sum"),
        info.checksum
    );
    assert!(
        entries(&dir).iter().all(|e| e.starts_with("m-")),
        "{:?}",
        entries(&dir)
    );

    // Recorded bytes that are not what the file holds: no link to a renewed file.
    let other = id("cn-hangzhou", "m-other");
    store
        .put(&other, &mut b"other bytes".as_slice(), &mut Transfer::new())
        .expect("put");
    for n in 1..=2 {
        store
            .clone_blob(
                &other,
                &id("cn-hangzhou", &format!("m-o{n}")),
                None,
                &mut Transfer::new(),
            )
            .expect("clone");
    }
    let wrong = info.checksum.clone();
    let cloned = store
        .clone_blob(
            &other,
            &id("cn-hangzhou", "m-o3"),
            Some(&wrong),
            &mut Transfer::new(),
        )
        .expect("clone");
    assert!(!cloned.linked, "streamed");
    assert_ne!(cloned.info.checksum, wrong);
}

#[test]
fn throttled_clone_streams_and_checksums() {
    let tmp = TempDir::new();
    let store = DirStore::open(tmp.path()).expect("open");
    let data = pattern(256 * 1024);
    let src = id("cn-hangzhou", "m-src");
    let info = store
        .put(&src, &mut data.as_slice(), &mut Transfer::new())
        .expect("put");
    let dst = id("cn-shanghai", "m-dst");
    let cloned = store
        .clone_blob(
            &src,
            &dst,
            None,
            &mut Transfer::new().throttle(NonZeroU64::new(16 << 20)),
        )
        .expect("clone");
    assert!(!cloned.linked);
    assert_eq!(cloned.info, info);
    let a = fs::metadata(store.local(&src).expect("src").path()).expect("meta");
    let b = fs::metadata(store.local(&dst).expect("dst").path()).expect("meta");
    assert_ne!(a.ino(), b.ino(), "a streamed copy is a separate file");
}

#[test]
fn zero_runs_stay_sparse() {
    let tmp = TempDir::new();
    let store = DirStore::open(tmp.path()).expect("open");
    let mut data = vec![0u8; 64 << 20];
    data[5 << 20] = 1;
    let b = id("r1", "sparse");
    let info = store
        .put(&b, &mut data.as_slice(), &mut Transfer::new())
        .expect("put");
    assert_eq!(info.size, 64 << 20);
    let meta = fs::metadata(store.local(&b).expect("local").path()).expect("meta");
    assert_eq!(meta.len(), 64 << 20);
    assert!(
        meta.blocks() * 512 <= 2 << 20,
        "only the non-zero chunk is allocated: {} bytes",
        meta.blocks() * 512
    );
    assert_eq!(info.checksum, Algorithm::DEFAULT.digest(&data));
}

#[test]
fn sweep_removes_leftover_temps() {
    let tmp = TempDir::new();
    let store = DirStore::open(tmp.path()).expect("open");
    store
        .put(&id("r1", "k"), &mut b"x".as_slice(), &mut Transfer::new())
        .expect("put");
    let region = tmp.path().join("blobs/r1");
    fs::write(region.join(".ecsim-tmp.999.1"), b"half").expect("write");
    assert_eq!(
        store.sweep_temps(Duration::from_secs(3600)).expect("sweep"),
        0,
        "young temps are kept"
    );
    assert_eq!(store.sweep_temps(Duration::ZERO).expect("sweep"), 1);
    assert_eq!(entries(&region), vec!["k"]);
}

/// The backend-neutral contract of [`BlobStore`], run on [`DirStore`] and (feature `s3`) on
/// `S3Store` against a real S3 server.
mod conformance {
    use super::super::{assert_progress, pattern, set};
    use super::id;
    use crate::Algorithm;
    use crate::{BlobError, BlobStore, Transfer};
    use std::io::Read;
    use std::num::NonZeroU64;
    use std::sync::atomic::AtomicBool;
    use std::time::{Duration, Instant};

    fn read_all(store: &dyn BlobStore, b: &crate::BlobId) -> Vec<u8> {
        let mut back = Vec::new();
        store
            .open(b)
            .expect("open")
            .read_to_end(&mut back)
            .expect("read");
        back
    }

    pub fn round_trip(store: &dyn BlobStore) {
        let data = pattern(3 * 1024 * 1024 + 17);
        let b = id("cn-hangzhou", "m-abc.disk1");
        let info = store
            .put(&b, &mut data.as_slice(), &mut Transfer::new())
            .expect("put");
        let sha = Algorithm::DEFAULT.digest(&data);
        assert_eq!(info.size, data.len() as u64);
        assert_eq!(info.checksum, sha);
        assert_eq!(store.size(&b).expect("size"), data.len() as u64);
        assert_eq!(store.checksum(&b, Algorithm::DEFAULT).expect("sha"), sha);
        assert_eq!(read_all(store, &b), data);
        let local = store.local(&b).expect("local");
        assert_eq!(std::fs::read(local.path()).expect("read local"), data);
        drop(local);
        assert!(store.delete(&b).expect("delete"));
        assert!(!store.delete(&b).expect("delete again is a no-op"));
        assert!(matches!(store.size(&b), Err(BlobError::NotFound(_))));
        assert!(matches!(store.open(&b), Err(BlobError::NotFound(_))));
        assert!(matches!(store.local(&b), Err(BlobError::NotFound(_))));
        assert!(matches!(
            store.checksum(&b, Algorithm::DEFAULT),
            Err(BlobError::NotFound(_))
        ));
    }

    /// Larger than one multipart part (16 MiB) and not a multiple of it; zero runs included.
    pub fn large_blob_round_trip(store: &dyn BlobStore) {
        let mut data = pattern(40 * 1024 * 1024 + 5);
        data[20 << 20..24 << 20].fill(0);
        let b = id("cn-hangzhou", "m-large");
        let mut reports = Vec::new();
        let mut record = |n| reports.push(n);
        let info = store
            .put(
                &b,
                &mut data.as_slice(),
                &mut Transfer::new().on_progress(&mut record),
            )
            .expect("put");
        assert_progress(&reports, data.len() as u64);
        assert_eq!(info.checksum, Algorithm::DEFAULT.digest(&data));
        assert_eq!(store.size(&b).expect("size"), data.len() as u64);
        assert_eq!(
            store.checksum(&b, Algorithm::DEFAULT).expect("sha"),
            info.checksum
        );
        let local = store.local(&b).expect("local");
        assert_eq!(std::fs::read(local.path()).expect("read"), data);
    }

    pub fn replace_is_whole(store: &dyn BlobStore) {
        let b = id("r1", "k");
        store
            .put(&b, &mut pattern(1 << 20).as_slice(), &mut Transfer::new())
            .expect("put");
        store
            .put(&b, &mut b"short".as_slice(), &mut Transfer::new())
            .expect("replace");
        assert_eq!(read_all(store, &b), b"short");
        let empty = id("r1", "empty");
        let mut reports = Vec::new();
        let mut record = |n| reports.push(n);
        let info = store
            .put(
                &empty,
                &mut [].as_slice(),
                &mut Transfer::new().on_progress(&mut record),
            )
            .expect("put empty");
        assert_eq!(reports, vec![0]);
        assert_eq!(info.size, 0);
        assert_eq!(store.size(&empty).expect("size"), 0);
        assert!(read_all(store, &empty).is_empty());
    }

    pub fn cancelled_write_keeps_the_old_blob(store: &dyn BlobStore) {
        let b = id("r1", "k");
        store
            .put(&b, &mut b"old".as_slice(), &mut Transfer::new())
            .expect("put old");
        let data = pattern(1 << 20);
        let cancel = AtomicBool::new(false);
        let mut reports = Vec::new();
        let mut on_progress = |n| {
            reports.push(n);
            set(&cancel);
        };
        let mut ctl = Transfer::new()
            .on_progress(&mut on_progress)
            .cancel_on(&cancel)
            .throttle(NonZeroU64::new(4 << 20));
        let err = store
            .put(&b, &mut data.as_slice(), &mut ctl)
            .expect_err("cancelled");
        assert!(matches!(err, BlobError::Cancelled), "{err}");
        assert_eq!(reports.len(), 1, "stopped after the first chunk");
        assert_eq!(read_all(store, &b), b"old", "old blob intact");
        // A cancelled first write leaves no blob at all.
        let fresh = id("r1", "fresh");
        let cancel = AtomicBool::new(true);
        let err = store
            .put(
                &fresh,
                &mut data.as_slice(),
                &mut Transfer::new().cancel_on(&cancel),
            )
            .expect_err("cancelled");
        assert!(matches!(err, BlobError::Cancelled));
        assert!(matches!(store.size(&fresh), Err(BlobError::NotFound(_))));
    }

    pub fn throttle_waits_and_cancel_is_prompt(store: &dyn BlobStore) {
        let data = pattern(1 << 20);
        let started = Instant::now();
        store
            .put(
                &id("r1", "slow"),
                &mut data.as_slice(),
                &mut Transfer::new().throttle(NonZeroU64::new(1 << 20)),
            )
            .expect("put");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(800),
            "1 MiB at 1 MiB/s took {took:?}"
        );
        let cancel = AtomicBool::new(false);
        let started = Instant::now();
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(200));
                set(&cancel);
            });
            let err = store
                .put(
                    &id("r1", "slower"),
                    &mut data.as_slice(),
                    &mut Transfer::new()
                        .cancel_on(&cancel)
                        .throttle(NonZeroU64::new(64 * 1024)),
                )
                .expect_err("cancelled");
            assert!(matches!(err, BlobError::Cancelled));
        });
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(matches!(
            store.size(&id("r1", "slower")),
            Err(BlobError::NotFound(_))
        ));
    }

    pub fn clones_are_independent(store: &dyn BlobStore) {
        let data = pattern(2 << 20);
        let src = id("cn-hangzhou", "m-src");
        let dst = id("cn-shanghai", "m-dst");
        let info = store
            .put(&src, &mut data.as_slice(), &mut Transfer::new())
            .expect("put");
        let mut reports = Vec::new();
        let mut record = |n| reports.push(n);
        let cloned = store
            .clone_blob(
                &src,
                &dst,
                None,
                &mut Transfer::new().on_progress(&mut record),
            )
            .expect("clone");
        assert!(
            cloned.linked,
            "unthrottled: storage shared or copied server-side"
        );
        assert_eq!(cloned.info, info);
        assert_progress(&reports, data.len() as u64);
        store
            .put(&src, &mut b"new bytes".as_slice(), &mut Transfer::new())
            .expect("replace");
        assert_eq!(
            store.checksum(&dst, Algorithm::DEFAULT).expect("sha"),
            info.checksum
        );
        assert!(store.delete(&src).expect("delete"));
        assert_eq!(
            store.checksum(&dst, Algorithm::DEFAULT).expect("sha"),
            info.checksum
        );
        assert!(matches!(
            store.clone_blob(&id("r", "missing"), &dst, None, &mut Transfer::new()),
            Err(BlobError::NotFound(_))
        ));
        assert_eq!(
            store.checksum(&dst, Algorithm::DEFAULT).expect("sha"),
            info.checksum,
            "dst untouched"
        );
    }

    /// A shared-storage (or server-side) clone reports the caller's known checksum instead of
    /// reading the bytes back; a streamed clone always computes its own.
    pub fn known_checksum_of_the_source(store: &dyn BlobStore) {
        let data = pattern(1 << 20);
        let src = id("cn-hangzhou", "m-src");
        let info = store
            .put(&src, &mut data.as_slice(), &mut Transfer::new())
            .expect("put");
        let known = "0".repeat(64);
        let shared = store
            .clone_blob(
                &src,
                &id("cn-shanghai", "a"),
                Some(&known),
                &mut Transfer::new(),
            )
            .expect("clone");
        assert!(shared.linked);
        assert_eq!(
            shared.info.checksum, known,
            "taken from the caller, not re-read"
        );
        assert_eq!(
            store
                .checksum(&id("cn-shanghai", "a"), Algorithm::DEFAULT)
                .expect("sha"),
            info.checksum
        );
        let streamed = store
            .clone_blob(
                &src,
                &id("cn-shanghai", "b"),
                Some(&known),
                &mut Transfer::new().throttle(NonZeroU64::new(64 << 20)),
            )
            .expect("clone");
        assert!(!streamed.linked);
        assert_eq!(
            streamed.info.checksum,
            Algorithm::Sha256.digest(&data),
            "computed from the bytes written, with the algorithm `known` names (bare hex: SHA-256)"
        );
    }

    /// A streamed clone hashes with the algorithm the source's recording names, so the caller
    /// compares like with like: a right recording of either algorithm (an old bare SHA-256 one
    /// included) comes back equal, a wrong one of either comes back different.
    pub fn streamed_clones_hash_like_the_recording(store: &dyn BlobStore) {
        let data = pattern(300 * 1024);
        let src = id("cn-hangzhou", "m-src");
        let info = store
            .put(&src, &mut data.as_slice(), &mut Transfer::new())
            .expect("put");
        assert_eq!(
            Algorithm::of(&info.checksum),
            Algorithm::Blake3,
            "new bytes: BLAKE3"
        );
        for (n, algorithm) in [Algorithm::Sha256, Algorithm::Blake3]
            .into_iter()
            .enumerate()
        {
            let right = algorithm.digest(&data);
            let wrong = algorithm.digest(b"other bytes");
            for (m, recorded) in [&right, &wrong].into_iter().enumerate() {
                let cloned = store
                    .clone_blob(
                        &src,
                        &id("cn-shanghai", &format!("m-{n}-{m}")),
                        Some(recorded),
                        &mut Transfer::new().throttle(NonZeroU64::new(64 << 20)),
                    )
                    .expect("clone");
                assert!(!cloned.linked);
                assert_eq!(cloned.info.checksum, right, "{algorithm:?}");
                assert_eq!(
                    cloned.info.checksum == *recorded,
                    recorded == &right,
                    "{algorithm:?}: only the right recording matches"
                );
            }
        }
    }

    /// A batch answers one result per job, in order; a job may clone an earlier job's
    /// destination; a failing job does not stop the others; known checksums are taken as
    /// `clone_blob` takes them.
    pub fn batched_clones_answer_each_job_in_order(store: &dyn BlobStore) {
        let data = pattern(300 * 1024);
        let src = id("cn-hangzhou", "m-src");
        let info = store
            .put(&src, &mut data.as_slice(), &mut Transfer::new())
            .expect("put");
        let (a, b, c) = (
            id("cn-hangzhou", "s-a"),
            id("cn-shanghai", "m-b"),
            id("cn-hangzhou", "m-c"),
        );
        let missing = id("cn-hangzhou", "missing");
        let known = "0".repeat(64);
        let results = store.clone_blobs(&[
            crate::CloneJob {
                src: &src,
                dst: &a,
                src_checksum: None,
            },
            crate::CloneJob {
                src: &a,
                dst: &b,
                src_checksum: Some(&known),
            },
            crate::CloneJob {
                src: &missing,
                dst: &c,
                src_checksum: None,
            },
        ]);
        assert_eq!(results.len(), 3);
        let first = results[0].as_ref().expect("cloned");
        assert_eq!(first.info, info, "read back: no checksum was known");
        let second = results[1].as_ref().expect("cloned from the first clone");
        assert_eq!(second.info.checksum, known, "taken from the caller");
        assert!(matches!(&results[2], Err(BlobError::NotFound(m)) if *m == missing));
        assert_eq!(read_all(store, &a), data);
        assert_eq!(read_all(store, &b), data);
        assert!(matches!(store.size(&c), Err(BlobError::NotFound(_))));
        assert!(store.clone_blobs(&[]).is_empty());
    }

    pub fn throttled_clone_streams(store: &dyn BlobStore) {
        let data = pattern(256 * 1024);
        let src = id("cn-hangzhou", "m-src");
        let info = store
            .put(&src, &mut data.as_slice(), &mut Transfer::new())
            .expect("put");
        let dst = id("cn-shanghai", "m-dst");
        let mut reports = Vec::new();
        let mut record = |n| reports.push(n);
        let cloned = store
            .clone_blob(
                &src,
                &dst,
                None,
                &mut Transfer::new()
                    .on_progress(&mut record)
                    .throttle(NonZeroU64::new(2 << 20)),
            )
            .expect("clone");
        assert!(!cloned.linked);
        assert_eq!(cloned.info, info);
        assert!(reports.len() > 1, "streamed in chunks: {reports:?}");
        assert_eq!(read_all(store, &dst), data);
    }
}

/// Runs each conformance test on a fresh [`DirStore`] and, with the `s3` feature, on a fresh
/// prefix of the test S3 server.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod dir {
            $(
                #[test]
                fn $name() {
                    let tmp = crate::testutil::TempDir::new();
                    let store = crate::DirStore::open(tmp.path()).expect("open");
                    super::conformance::$name(&store);
                }
            )*
        }
        #[cfg(feature = "s3")]
        mod s3 {
            $(
                #[test]
                fn $name() {
                    if let Some(store) = crate::testutil::test_s3_store(stringify!($name)) {
                        super::conformance::$name(&store.store);
                    }
                }
            )*
        }
    };
}

conformance!(
    round_trip,
    large_blob_round_trip,
    replace_is_whole,
    cancelled_write_keeps_the_old_blob,
    throttle_waits_and_cancel_is_prompt,
    clones_are_independent,
    known_checksum_of_the_source,
    streamed_clones_hash_like_the_recording,
    batched_clones_answer_each_job_in_order,
    throttled_clone_streams,
);

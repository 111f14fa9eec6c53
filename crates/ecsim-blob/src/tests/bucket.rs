use super::{assert_progress, pattern, set};
use crate::testutil::TempDir;
use crate::{KeyProblem, OssError, OssNotFound, OssRoot, Transfer};
use std::fs;
use std::io::{Read, Write};
use std::num::NonZeroU64;
use std::os::unix::fs::symlink;
use std::sync::atomic::AtomicBool;

/// `TMP/outside/secret`, `TMP/oss/bucket/…`.
fn setup() -> (TempDir, OssRoot) {
    let tmp = TempDir::new();
    fs::create_dir_all(tmp.path().join("outside")).expect("mkdir");
    fs::write(tmp.path().join("outside/secret"), b"secret").expect("write");
    fs::create_dir_all(tmp.path().join("oss/bucket/dir")).expect("mkdir");
    fs::create_dir_all(tmp.path().join("oss/other")).expect("mkdir");
    fs::write(tmp.path().join("oss/bucket/dir/disk.qcow2"), b"disk").expect("write");
    fs::write(tmp.path().join("oss/other/x"), b"x").expect("write");
    let root = OssRoot::new(&tmp.path().join("oss")).expect("root");
    (tmp, root)
}

#[test]
fn reads_objects_by_relative_key() {
    let (_tmp, root) = setup();
    let mut obj = root.open_object("bucket", "dir/disk.qcow2").expect("open");
    assert_eq!(obj.size, 4);
    let mut s = String::new();
    obj.file.read_to_string(&mut s).expect("read");
    assert_eq!(s, "disk");
    assert!(obj.path.ends_with("oss/bucket/dir/disk.qcow2"));
}

#[test]
fn malformed_keys_are_refused() {
    let (_tmp, root) = setup();
    let long = "a".repeat(1024);
    for (key, problem) in [
        ("", KeyProblem::Empty),
        ("../other/x", KeyProblem::ParentSegment),
        ("dir/../../other/x", KeyProblem::ParentSegment),
        ("..", KeyProblem::ParentSegment),
        ("/etc/passwd", KeyProblem::Absolute),
        ("dir//disk.qcow2", KeyProblem::EmptySegment),
        ("dir/", KeyProblem::EmptySegment),
        ("./dir/disk.qcow2", KeyProblem::DotSegment),
        ("dir/disk\0", KeyProblem::NulByte),
        (long.as_str(), KeyProblem::TooLong),
    ] {
        let err = root.open_object("bucket", key).expect_err(key);
        match &err {
            OssError::InvalidObjectKey { problem: p, .. } => assert_eq!(*p, problem, "{key:?}"),
            other => panic!("{key:?}: {other}"),
        }
        assert_eq!(err.not_found(), Some(OssNotFound::Object));
        let err = root.create_object("bucket", key).expect_err(key);
        assert!(
            matches!(err, OssError::InvalidObjectKey { .. }),
            "{key:?}: {err}"
        );
    }
}

#[test]
fn bad_and_missing_buckets() {
    let (_tmp, root) = setup();
    for b in ["", ".", "..", ".hidden", "a/b", "bucket/dir", "x\0"] {
        let err = root.open_object(b, "dir/disk.qcow2").expect_err(b);
        assert!(
            matches!(err, OssError::InvalidBucketName(_)),
            "{b:?}: {err}"
        );
        assert_eq!(err.not_found(), Some(OssNotFound::Bucket));
    }
    let err = root.open_object("nope", "x").expect_err("missing");
    assert!(matches!(err, OssError::BucketNotFound(_)));
    assert_eq!(err.not_found(), Some(OssNotFound::Bucket));
    fs::write(root.root().join("file-bucket"), b"").expect("write");
    let err = root.bucket_dir("file-bucket").expect_err("a file");
    assert!(matches!(err, OssError::BucketNotFound(_)), "{err}");
    let err = root
        .open_object("bucket", "dir/missing")
        .expect_err("missing");
    assert!(matches!(err, OssError::ObjectNotFound(_)));
    assert_eq!(err.not_found(), Some(OssNotFound::Object));
    let err = root
        .open_object("bucket", "dir/disk.qcow2/below")
        .expect_err("below a file");
    assert!(matches!(err, OssError::ObjectNotFound(_)), "{err}");
}

#[test]
fn symlinks_may_not_escape() {
    let (tmp, root) = setup();
    let bucket = tmp.path().join("oss/bucket");
    symlink(tmp.path().join("outside/secret"), bucket.join("leak")).expect("symlink");
    symlink("../../outside", bucket.join("outdir")).expect("symlink");
    symlink("../other/x", bucket.join("sideways")).expect("symlink");
    symlink("dir/disk.qcow2", bucket.join("inside")).expect("symlink");
    symlink(tmp.path().join("outside"), tmp.path().join("oss/evil")).expect("symlink");

    for key in ["leak", "outdir/secret", "sideways"] {
        let err = root.open_object("bucket", key).expect_err(key);
        assert!(
            matches!(err, OssError::ObjectEscapesBucket(_)),
            "{key}: {err}"
        );
        assert_eq!(err.not_found(), Some(OssNotFound::Object));
    }
    let err = root
        .create_object("bucket", "outdir/planted")
        .expect_err("write through");
    assert!(matches!(err, OssError::ObjectEscapesBucket(_)), "{err}");
    assert!(!tmp.path().join("outside/planted").exists());

    let err = root
        .open_object("evil", "secret")
        .expect_err("bucket escapes");
    assert!(matches!(err, OssError::BucketEscapesRoot(_)), "{err}");
    assert_eq!(err.not_found(), Some(OssNotFound::Bucket));

    assert_eq!(
        root.open_object("bucket", "inside").expect("inside").size,
        4
    );
}

#[test]
fn non_files_are_refused_without_blocking() {
    let (tmp, root) = setup();
    let err = root.open_object("bucket", "dir").expect_err("a directory");
    assert!(matches!(err, OssError::NotAFile(_)), "{err}");
    let fifo = tmp.path().join("oss/bucket/fifo");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo")
        .success();
    assert!(ok);
    let err = root.open_object("bucket", "fifo").expect_err("a fifo");
    assert!(matches!(err, OssError::NotAFile(_)), "{err}");
    let err = root
        .create_object("bucket", "dir")
        .expect_err("over a directory");
    assert!(matches!(err, OssError::NotAFile(_)), "{err}");
}

#[test]
fn writes_objects_atomically() {
    let (tmp, root) = setup();
    let data = pattern(600 * 1024);
    let mut reports = Vec::new();
    let mut record = |n| reports.push(n);
    let info = root
        .write_object(
            "bucket",
            "exports/2024/m-1_system.vhd",
            &mut data.as_slice(),
            &mut Transfer::new().on_progress(&mut record),
        )
        .expect("write");
    assert_eq!(info.size, data.len() as u64);
    assert_progress(&reports, data.len() as u64);
    let path = tmp.path().join("oss/bucket/exports/2024/m-1_system.vhd");
    assert_eq!(fs::read(&path).expect("read"), data);

    // A cancelled export leaves nothing, not even a temporary file.
    let cancel = AtomicBool::new(false);
    let mut cancel_after_first = |_| set(&cancel);
    let err = root
        .write_object(
            "bucket",
            "exports/2024/m-2_system.vhd",
            &mut data.as_slice(),
            &mut Transfer::new()
                .on_progress(&mut cancel_after_first)
                .cancel_on(&cancel)
                .throttle(NonZeroU64::new(1 << 20)),
        )
        .expect_err("cancelled");
    assert!(matches!(err, OssError::Cancelled));
    let names: Vec<_> = fs::read_dir(tmp.path().join("oss/bucket/exports/2024"))
        .expect("ls")
        .map(|e| e.expect("e").file_name())
        .collect();
    assert_eq!(names, vec!["m-1_system.vhd"]);

    // create_object for external writers: invisible until commit.
    let mut f = root
        .create_object("bucket", "exports/late.raw")
        .expect("create");
    f.file_mut()
        .expect("file")
        .write_all(b"abc")
        .expect("write");
    assert!(!tmp.path().join("oss/bucket/exports/late.raw").exists());
    f.commit().expect("commit");
    assert_eq!(
        fs::read(tmp.path().join("oss/bucket/exports/late.raw")).expect("read"),
        b"abc"
    );
    assert!(matches!(
        root.write_object("nope", "x", &mut [].as_slice(), &mut Transfer::new()),
        Err(OssError::BucketNotFound(_))
    ));
}

/// A RAW export is a `.tar.gz` holding the disk: GNU tar and gzip read it back byte for byte,
/// and the progress counts the disk's bytes, not the compressed ones.
#[test]
fn writes_tar_gz_objects_that_tar_extracts() {
    let (tmp, root) = setup();
    // Not a multiple of 512: the archive pads the member's last block.
    let mut data = pattern(300 * 1024 + 7);
    data.extend(std::iter::repeat_n(0u8, 1 << 20));
    let mut reports = Vec::new();
    let mut record = |n| reports.push(n);
    root.write_tar_gz_object(
        "bucket",
        "exp_m-1_system.raw.tar.gz",
        "exp_m-1_system.raw",
        data.len() as u64,
        &mut data.as_slice(),
        &mut Transfer::new().on_progress(&mut record),
    )
    .expect("write");
    assert_progress(&reports, data.len() as u64);
    let object = tmp.path().join("oss/bucket/exp_m-1_system.raw.tar.gz");
    let compressed = fs::metadata(&object).expect("object").len();
    assert!(
        compressed < data.len() as u64 / 2,
        "{compressed} bytes: the zeros were not compressed"
    );
    let out = tmp.path().join("extracted");
    fs::create_dir(&out).expect("mkdir");
    let status = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&object)
        .arg("-C")
        .arg(&out)
        .status()
        .expect("tar runs");
    assert!(status.success(), "tar -xzf failed: {status}");
    let names: Vec<_> = fs::read_dir(&out)
        .expect("ls")
        .map(|e| e.expect("e").file_name())
        .collect();
    assert_eq!(names, vec!["exp_m-1_system.raw"]);
    assert_eq!(
        fs::read(out.join("exp_m-1_system.raw")).expect("read"),
        data
    );

    // A source shorter than announced leaves nothing behind.
    let err = root
        .write_tar_gz_object(
            "bucket",
            "short.raw.tar.gz",
            "short.raw",
            10,
            &mut [1u8; 4].as_slice(),
            &mut Transfer::new(),
        )
        .expect_err("short source");
    assert!(matches!(err, OssError::Io(_)), "{err}");
    let names: Vec<_> = fs::read_dir(tmp.path().join("oss/bucket"))
        .expect("ls")
        .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "dir")
        .collect();
    assert_eq!(names, vec!["exp_m-1_system.raw.tar.gz"]);
}

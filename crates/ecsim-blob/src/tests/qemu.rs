use super::{assert_progress, pattern, set};
use crate::testutil::TempDir;
use crate::{DiskFormat, Limiter, Limits, Qemu, QemuError, Refusal, Transfer};
use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;

fn qemu_img(args: &[&str]) {
    let out = Command::new("qemu-img")
        .args(args)
        .output()
        .expect("qemu-img");
    assert!(
        out.status.success(),
        "qemu-img {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn blank(dir: &Path, name: &str, format: DiskFormat, size: u64) -> PathBuf {
    let p = dir.join(name);
    Qemu::new().create_blank(&p, format, size).expect("create");
    p
}

/// A raw disk with data at a few places and holes between.
fn raw_with_data(dir: &Path) -> PathBuf {
    let p = dir.join("data.raw");
    let mut f = fs::File::create(&p).expect("create");
    f.set_len(8 * MIB).expect("size");
    for at in [0, 3 * MIB + 4096, 8 * MIB - 65536] {
        f.seek(SeekFrom::Start(at)).expect("seek");
        f.write_all(&pattern(65536)).expect("write");
    }
    p
}

#[test]
fn version_and_limiter() {
    let q = Qemu::new();
    assert!(
        q.version()
            .expect("version")
            .starts_with("qemu-img version")
    );
    assert!(
        matches!(q.limiter(), Limiter::Prlimit(_)),
        "prlimit is installed here"
    );
    let shell = Qemu::new().with_limiter(Limiter::Shell);
    assert!(
        shell
            .version()
            .expect("version")
            .starts_with("qemu-img version")
    );
}

#[test]
fn inspects_each_format() {
    let tmp = TempDir::new();
    let q = Qemu::new();
    for (name, format, qemu_name) in [
        ("a.raw", DiskFormat::Raw, "raw"),
        ("a.qcow2", DiskFormat::Qcow2, "qcow2"),
        ("a.vmdk", DiskFormat::Vmdk, "vmdk"),
        ("a.vhd", DiskFormat::Vhd, "vpc"),
        ("a.vdi", DiskFormat::Vdi, "vdi"),
    ] {
        let p = blank(tmp.path(), name, format, 64 * MIB);
        let info = q.inspect(&p).expect(name);
        assert_eq!(info.format, qemu_name, "{name}");
        assert_eq!(info.disk_format(), Some(format));
        assert_eq!(info.virtual_size, 64 * MIB, "{name}");
        assert_eq!(info.backing_file, None);
        assert!(
            info.external_files.is_empty(),
            "{name}: {:?}",
            info.external_files
        );
        assert!(!info.encrypted);
        assert!(
            fs::metadata(&p).expect("meta").len() <= 64 * MIB,
            "{name}: blank disks are small or sparse"
        );
        let checked = q.check_import(&p, None);
        if format == DiskFormat::Vdi {
            assert!(matches!(
                checked,
                Err(QemuError::Refused(Refusal::UnsupportedFormat(_)))
            ));
        } else {
            assert_eq!(checked.expect(name).0, format);
            assert_eq!(q.check_import(&p, Some(format)).expect(name).0, format);
        }
    }
    let info = q.inspect(&tmp.path().join("a.vmdk")).expect("vmdk");
    assert_eq!(info.subformat.as_deref(), Some("monolithicSparse"));
}

#[test]
fn backing_files_and_external_data_are_refused() {
    let tmp = TempDir::new();
    let q = Qemu::new();
    let d = |n: &str| tmp.path().join(n).to_string_lossy().into_owned();
    fs::write(tmp.path().join("secret"), b"root:x:0:0").expect("write");
    qemu_img(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        "-b",
        &d("secret"),
        "-F",
        "raw",
        &d("ovl.qcow2"),
    ]);
    let info = q.inspect(&tmp.path().join("ovl.qcow2")).expect("inspect");
    assert_eq!(info.backing_file.as_deref(), Some(d("secret").as_str()));
    for declared in [None, Some(DiskFormat::Qcow2), Some(DiskFormat::Raw)] {
        let err = q
            .check_import(&tmp.path().join("ovl.qcow2"), declared)
            .expect_err("backing file");
        assert!(
            matches!(err, QemuError::Refused(Refusal::BackingFile(_))),
            "{declared:?}: {err}"
        );
    }

    qemu_img(&[
        "create",
        "-q",
        "-f",
        "qcow2",
        "-o",
        &format!("data_file={}", d("data.raw")),
        &d("ext.qcow2"),
        "1M",
    ]);
    let err = q
        .check_import(&tmp.path().join("ext.qcow2"), None)
        .expect_err("data file");
    assert!(
        matches!(err, QemuError::Refused(Refusal::ExternalFile(_))),
        "{err}"
    );

    qemu_img(&[
        "create",
        "-q",
        "-f",
        "vmdk",
        "-o",
        "subformat=monolithicFlat",
        &d("flat.vmdk"),
        "1M",
    ]);
    // qemu reports the extent elsewhere ...
    let info = q.inspect(&tmp.path().join("flat.vmdk")).expect("inspect");
    assert_eq!(info.external_files, vec![d("flat-flat.vmdk")]);
    // ... but the policy refuses the descriptor before qemu opens it.
    let err = q
        .check_import(&tmp.path().join("flat.vmdk"), Some(DiskFormat::Vmdk))
        .expect_err("descriptor");
    assert!(
        matches!(err, QemuError::Refused(Refusal::UnsupportedSubformat(_))),
        "{err}"
    );
}

#[test]
fn encrypted_images_are_refused() {
    let tmp = TempDir::new();
    let q = Qemu::new();
    let p = tmp.path().join("enc.qcow2");
    let ps = p.to_string_lossy();
    qemu_img(&[
        "create",
        "-q",
        "--object",
        "secret,id=s0,data=pw",
        "-f",
        "qcow2",
        "-o",
        "encrypt.format=luks,encrypt.key-secret=s0",
        &ps,
        "1M",
    ]);
    let err = q.check_import(&p, None).expect_err("encrypted");
    assert!(
        matches!(err, QemuError::Refused(Refusal::Encrypted)),
        "{err}"
    );
}

#[test]
fn declared_format_is_checked_against_the_real_one() {
    let tmp = TempDir::new();
    let q = Qemu::new();
    let garbage = tmp.path().join("garbage.bin");
    fs::write(&garbage, pattern(MIB as usize)).expect("write");
    // Every byte string is a raw disk: accepted when undeclared or declared RAW ...
    assert_eq!(
        q.check_import(&garbage, None).expect("raw").0,
        DiskFormat::Raw
    );
    assert_eq!(
        q.check_import(&garbage, Some(DiskFormat::Raw))
            .expect("raw")
            .0,
        DiskFormat::Raw
    );
    // ... and refused when declared as anything else.
    for declared in [DiskFormat::Qcow2, DiskFormat::Vhd, DiskFormat::Vmdk] {
        let err = q
            .check_import(&garbage, Some(declared))
            .expect_err("mismatch");
        match err {
            QemuError::Refused(Refusal::FormatMismatch {
                declared: d,
                detected,
            }) => {
                assert_eq!(d, declared);
                assert_eq!(detected, "raw");
            }
            other => panic!("{declared}: {other}"),
        }
    }
    let qcow = blank(tmp.path(), "a.qcow2", DiskFormat::Qcow2, MIB);
    let err = q
        .check_import(&qcow, Some(DiskFormat::Raw))
        .expect_err("mismatch");
    assert_eq!(
        err.to_string(),
        "the image was declared RAW but is QCOW2",
        "a message fit for the task"
    );

    // A fixed VHD has its footer only at the end; qemu probes it as raw. Declared VHD, it is one.
    let fixed = tmp.path().join("fixed.vhd");
    qemu_img(&[
        "create",
        "-q",
        "-f",
        "vpc",
        "-o",
        "subformat=fixed,force_size=on",
        &fixed.to_string_lossy(),
        "2M",
    ]);
    assert_eq!(q.inspect(&fixed).expect("inspect").format, "raw");
    let (format, info) = q
        .check_import(&fixed, Some(DiskFormat::Vhd))
        .expect("fixed vhd");
    assert_eq!(format, DiskFormat::Vhd);
    assert_eq!(info.virtual_size, 2 * MIB);

    let empty = tmp.path().join("empty.raw");
    fs::write(&empty, b"").expect("write");
    assert!(matches!(
        q.check_import(&empty, None),
        Err(QemuError::Refused(Refusal::Empty))
    ));
}

#[test]
fn broken_files_fail_cleanly() {
    let tmp = TempDir::new();
    let q = Qemu::new();
    let good = blank(tmp.path(), "a.qcow2", DiskFormat::Qcow2, 64 * MIB);
    // Write data so the qcow2 has tables to lose, then cut the file short.
    let data = raw_with_data(tmp.path());
    let full = tmp.path().join("full.qcow2");
    q.convert(
        &data,
        DiskFormat::Raw,
        &full,
        DiskFormat::Qcow2,
        &mut Transfer::new(),
    )
    .expect("convert");
    let bytes = fs::read(&full).expect("read");
    let cut = tmp.path().join("cut.qcow2");
    fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let err = q
        .check_import(&cut, Some(DiskFormat::Qcow2))
        .expect_err("truncated");
    assert!(
        matches!(
            err,
            QemuError::Refused(Refusal::Corrupt) | QemuError::Failed { .. }
        ),
        "{err}"
    );
    // A qcow2 magic with a nonsense header.
    let mut header = fs::read(&good).expect("read");
    header.truncate(512);
    header[4..8].copy_from_slice(&[0, 0, 0, 99]); // version 99
    let bad = tmp.path().join("bad.qcow2");
    fs::write(&bad, &header).expect("write");
    let err = q.check_import(&bad, None).expect_err("bad header");
    assert!(matches!(err, QemuError::Failed { .. }), "{err}");
    assert!(!err.to_string().is_empty());
    // A missing file.
    let err = q.inspect(&tmp.path().join("missing")).expect_err("missing");
    assert!(
        matches!(err, QemuError::Failed { code: Some(1), .. }),
        "{err}"
    );
}

#[test]
fn converts_and_compares_equal() {
    let tmp = TempDir::new();
    let q = Qemu::new();
    let raw = raw_with_data(tmp.path());
    let qcow = tmp.path().join("a.qcow2");
    let mut reports = Vec::new();
    let mut record = |n| reports.push(n);
    q.convert(
        &raw,
        DiskFormat::Raw,
        &qcow,
        DiskFormat::Qcow2,
        &mut Transfer::new().on_progress(&mut record),
    )
    .expect("raw -> qcow2");
    assert_progress(&reports, 8 * MIB);

    let raw2 = tmp.path().join("b.raw");
    q.convert(
        &qcow,
        DiskFormat::Qcow2,
        &raw2,
        DiskFormat::Raw,
        &mut Transfer::new(),
    )
    .expect("qcow2 -> raw");
    assert_eq!(
        fs::read(&raw2).expect("read"),
        fs::read(&raw).expect("read")
    );
    for (name, format) in [
        ("c.vhd", DiskFormat::Vhd),
        ("c.vmdk", DiskFormat::Vmdk),
        ("c.vdi", DiskFormat::Vdi),
    ] {
        let out = tmp.path().join(name);
        q.convert(&raw2, DiskFormat::Raw, &out, format, &mut Transfer::new())
            .expect(name);
        let info = q.inspect(&out).expect("inspect");
        assert_eq!(info.disk_format(), Some(format));
        assert_eq!(info.virtual_size, 8 * MIB, "{name}: exact size");
        assert!(
            q.compare(&qcow, DiskFormat::Qcow2, &out, format)
                .expect("compare"),
            "{name}"
        );
    }
    // And the command-line compare agrees.
    let st = Command::new("qemu-img")
        .args(["compare", "-f", "qcow2", "-F", "vpc"])
        .arg(&qcow)
        .arg(tmp.path().join("c.vhd"))
        .output()
        .expect("compare");
    assert!(st.status.success());

    let other = blank(tmp.path(), "blank.qcow2", DiskFormat::Qcow2, 8 * MIB);
    assert!(
        !q.compare(&qcow, DiskFormat::Qcow2, &other, DiskFormat::Qcow2)
            .expect("compare")
    );
}

#[test]
fn convert_into_an_atomic_file() {
    let tmp = TempDir::new();
    let q = Qemu::new();
    let raw = raw_with_data(tmp.path());
    let dest = tmp.path().join("export.vhd");
    let out = crate::AtomicFile::create(&dest).expect("temp");
    q.convert(
        &raw,
        DiskFormat::Raw,
        out.path(),
        DiskFormat::Vhd,
        &mut Transfer::new(),
    )
    .expect("convert");
    assert!(!dest.exists());
    out.commit().expect("commit");
    assert!(
        q.compare(&raw, DiskFormat::Raw, &dest, DiskFormat::Vhd)
            .expect("compare")
    );
}

#[test]
fn hangs_are_cut_off() {
    let tmp = TempDir::new();
    let fifo = tmp.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    // Opening a FIFO blocks forever: the timeout kills qemu-img.
    let short = Limits {
        timeout: Duration::from_millis(300),
        ..Limits::PROBE
    };
    for limiter in [Qemu::new().limiter().clone(), Limiter::Shell] {
        let q = Qemu::new().with_limiter(limiter).with_limits(short, short);
        let started = Instant::now();
        let err = q.inspect(&fifo).expect_err("hang");
        assert!(matches!(err, QemuError::TimedOut(_)), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
    // Cancellation kills it too.
    let q = Qemu::new();
    let cancel = AtomicBool::new(false);
    let dst = tmp.path().join("out.raw");
    let started = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(200));
            set(&cancel);
        });
        // Reading the FIFO blocks; the flag kills the run.
        let err = q
            .convert(
                &fifo,
                DiskFormat::Raw,
                &dst,
                DiskFormat::Qcow2,
                &mut Transfer::new().cancel_on(&cancel),
            )
            .expect_err("cancelled");
        assert!(matches!(err, QemuError::Cancelled), "{err}");
    });
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(!dst.exists());
}

#[test]
fn resource_limits_bite() {
    let tmp = TempDir::new();
    let p = blank(tmp.path(), "a.qcow2", DiskFormat::Qcow2, MIB);
    let tiny = Limits {
        address_space: 16 << 20,
        ..Limits::PROBE
    };
    for limiter in [Qemu::new().limiter().clone(), Limiter::Shell] {
        let q = Qemu::new()
            .with_limiter(limiter.clone())
            .with_limits(tiny, tiny);
        let err = q
            .inspect(&p)
            .expect_err("16 MiB is too little for qemu-img");
        assert!(
            matches!(err, QemuError::Failed { .. }),
            "{limiter:?}: {err}"
        );
    }
}

#[test]
fn missing_qemu_img_is_unavailable() {
    let q = Qemu::new().with_program("/nonexistent/qemu-img");
    let err = q.version().expect_err("missing");
    assert!(matches!(err, QemuError::Unavailable(_)), "{err}");
    let q = Qemu::new().with_program("no-such-qemu-img");
    assert!(matches!(q.version(), Err(QemuError::Unavailable(_))));
    let q = Qemu::new()
        .with_program("/nonexistent/qemu-img")
        .with_limiter(Limiter::Shell);
    assert!(matches!(q.version(), Err(QemuError::Unavailable(_))));
}

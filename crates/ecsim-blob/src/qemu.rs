//! Disk formats through `qemu-img`: inspection of imports, conversion on export, blank disks for
//! seeds and tests.
//!
//! # Trust
//!
//! Image files are hostile input. A qcow2 with a backing file or an external data file, or a
//! VMDK descriptor with extents elsewhere, makes qemu read *other* files (the classic
//! `/etc/shadow` exfiltration through an image service). So:
//!
//! * [`Qemu::check_import`] probes the real format (it never trusts the declared one), compares it
//!   with the declared format, and refuses backing files, external data files or extents,
//!   encryption, corruption and formats ECS does not import.
//! * Every other command is given the format explicitly (`-f`), so qemu never probes a file
//!   whose format was already established (a raw disk whose guest wrote a qcow2 header stays raw).
//! * Paths are made absolute before they reach qemu, so a name like `json:{…}` or `nbd:…` is
//!   never read as a protocol.
//! * Check the private copy you will convert from (the blob), not a file someone else can still
//!   change.
//!
//! # Limits
//!
//! Every run has a wall-clock timeout (the child is killed on expiry, or when the caller's
//! cancellation flag is set) and kernel resource limits: address space and CPU seconds, no core
//! files. They are applied by running `prlimit --as=… --cpu=… --core=0 -- qemu-img …` when
//! `prlimit` (util-linux) is on `PATH`, else by `sh -c 'ulimit -v …; ulimit -t …; ulimit -c 0;
//! exec "$@"'` with the values passed as positional arguments (nothing is interpolated into the
//! script). Both exec `qemu-img` in place, so killing the child kills qemu. A broken or hostile
//! file therefore ends as an error — never a hang, never a panic.

use crate::transfer::Transfer;
use serde_json::Value;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{self, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Most stdout kept from one run (the JSON of `info`).
const MAX_STDOUT: usize = 8 << 20;
/// Most stderr kept from one run (the tail of it is the error message).
const MAX_STDERR: usize = 64 << 10;
/// Longest wait between checks of the child, the deadline and the cancellation flag.
const MAX_NAP: Duration = Duration::from_millis(50);

/// A disk format ECS names and `qemu-img` handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiskFormat {
    Raw,
    Qcow2,
    /// VHD; qemu calls it `vpc`.
    Vhd,
    Vmdk,
    /// Export only.
    Vdi,
}

impl DiskFormat {
    /// ImportImage's `DiskDeviceMapping.N.Format`: `RAW`/`VHD`/`QCOW2`/`VMDK` (any case).
    pub fn parse_import(s: &str) -> Option<Self> {
        match Self::parse_any(s)? {
            DiskFormat::Vdi => None,
            f => Some(f),
        }
    }

    /// ExportImage's `ImageFormat`: `raw`/`vhd`/`qcow2`/`vmdk`/`vdi` (any case).
    pub fn parse_export(s: &str) -> Option<Self> {
        Self::parse_any(s)
    }

    fn parse_any(s: &str) -> Option<Self> {
        [Self::Raw, Self::Qcow2, Self::Vhd, Self::Vmdk, Self::Vdi]
            .into_iter()
            .find(|f| f.extension().eq_ignore_ascii_case(s))
    }

    /// The format of a qemu driver name (`vpc` is VHD), if ECS knows it.
    pub fn from_qemu(name: &str) -> Option<Self> {
        match name {
            "vpc" => Some(DiskFormat::Vhd),
            "raw" | "qcow2" | "vmdk" | "vdi" => Self::parse_any(name),
            _ => None,
        }
    }

    /// The qemu driver name, for `-f`/`-O`.
    pub fn qemu_name(self) -> &'static str {
        match self {
            DiskFormat::Raw => "raw",
            DiskFormat::Qcow2 => "qcow2",
            DiskFormat::Vhd => "vpc",
            DiskFormat::Vmdk => "vmdk",
            DiskFormat::Vdi => "vdi",
        }
    }

    /// The upper-case name ImportImage uses (`RAW`, `VHD`, …).
    pub fn ecs_name(self) -> &'static str {
        match self {
            DiskFormat::Raw => "RAW",
            DiskFormat::Qcow2 => "QCOW2",
            DiskFormat::Vhd => "VHD",
            DiskFormat::Vmdk => "VMDK",
            DiskFormat::Vdi => "VDI",
        }
    }

    /// The lower-case name ExportImage uses, also the file extension of an export.
    pub fn extension(self) -> &'static str {
        match self {
            DiskFormat::Raw => "raw",
            DiskFormat::Qcow2 => "qcow2",
            DiskFormat::Vhd => "vhd",
            DiskFormat::Vmdk => "vmdk",
            DiskFormat::Vdi => "vdi",
        }
    }

    /// `-o` creation options: VHDs keep their exact size (`force_size`, otherwise qemu rounds to
    /// a CHS geometry and the copy no longer compares equal).
    fn create_options(self) -> Option<&'static str> {
        match self {
            DiskFormat::Vhd => Some("subformat=dynamic,force_size=on"),
            _ => None,
        }
    }
}

impl fmt::Display for DiskFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ecs_name())
    }
}

/// What `qemu-img info` says about a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskInfo {
    /// The qemu driver name (`raw`, `qcow2`, `vpc`, `vmdk`, `vdi`, `luks`, …); see
    /// [`DiskInfo::disk_format`].
    pub format: String,
    /// The size of the disk the guest sees.
    pub virtual_size: u64,
    /// Bytes allocated on the host, if qemu reports it.
    pub actual_size: Option<u64>,
    /// The backing file the image names, if any.
    pub backing_file: Option<String>,
    /// Other files the image reads: a qcow2 external data file, VMDK extents outside the
    /// image, any child node on another file.
    pub external_files: Vec<String>,
    pub encrypted: bool,
    /// qcow2's corrupt flag (and, from [`Qemu::check_import`], a failed `qemu-img check`).
    pub corrupt: bool,
    /// The VMDK create type (`monolithicSparse`, `streamOptimized`, …).
    pub subformat: Option<String>,
}

impl DiskInfo {
    /// The detected format, if it is one ECS names.
    pub fn disk_format(&self) -> Option<DiskFormat> {
        DiskFormat::from_qemu(&self.format)
    }

    fn parse(json: &str) -> Result<Self, QemuError> {
        let v: Value = serde_json::from_str(json)
            .map_err(|e| QemuError::BadOutput(format!("qemu-img info: {e}")))?;
        let format = v["format"]
            .as_str()
            .ok_or_else(|| QemuError::BadOutput("qemu-img info: no format".into()))?
            .to_owned();
        let virtual_size = v["virtual-size"]
            .as_u64()
            .ok_or_else(|| QemuError::BadOutput("qemu-img info: no virtual-size".into()))?;
        let filename = v["filename"].as_str().unwrap_or_default();
        let data = &v["format-specific"]["data"];
        let backing_file = v["backing-filename"]
            .as_str()
            .or_else(|| v["full-backing-filename"].as_str())
            .map(str::to_owned);
        let mut external_files = Vec::new();
        if let Some(f) = data["data-file"].as_str() {
            external_files.push(f.to_owned());
        }
        for extent in data["extents"].as_array().into_iter().flatten() {
            if let Some(f) = extent["filename"].as_str()
                && f != filename
            {
                external_files.push(f.to_owned());
            }
        }
        collect_children(&v, filename, &mut external_files);
        external_files.sort();
        external_files.dedup();
        Ok(Self {
            format,
            virtual_size,
            actual_size: v["actual-size"].as_u64(),
            backing_file,
            external_files,
            encrypted: v["encrypted"].as_bool().unwrap_or(false),
            corrupt: data["corrupt"].as_bool().unwrap_or(false),
            subformat: data["create-type"].as_str().map(str::to_owned),
        })
    }
}

/// Files of child nodes (recursively) other than the image itself.
fn collect_children(v: &Value, image: &str, out: &mut Vec<String>) {
    for child in v["children"].as_array().into_iter().flatten() {
        let info = &child["info"];
        if let Some(f) = info["filename"].as_str()
            && f != image
        {
            out.push(f.to_owned());
        }
        collect_children(info, image, out);
    }
}

/// Why [`Qemu::check_import`] refused a file. The `Display` text is meant for the task's error
/// message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    BackingFile(String),
    ExternalFile(String),
    Encrypted,
    Corrupt,
    /// The virtual size is zero.
    Empty,
    /// A format ECS does not import (vdi, vhdx, luks, qed, …).
    UnsupportedFormat(String),
    /// A VMDK that is not a single self-contained file (`monolithicSparse`/`streamOptimized`).
    UnsupportedSubformat(String),
    FormatMismatch {
        declared: DiskFormat,
        detected: String,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::BackingFile(b) => write!(f, "the image has a backing file ({b})"),
            Refusal::ExternalFile(x) => write!(f, "the image references an external file ({x})"),
            Refusal::Encrypted => f.write_str("the image is encrypted"),
            Refusal::Corrupt => f.write_str("the image is marked corrupt"),
            Refusal::Empty => f.write_str("the image is empty"),
            Refusal::UnsupportedFormat(x) => write!(f, "the image format {x} is not supported"),
            Refusal::UnsupportedSubformat(x) => {
                write!(
                    f,
                    "the VMDK type {x} is not supported (use a single-file VMDK)"
                )
            }
            Refusal::FormatMismatch { declared, detected } => {
                match DiskFormat::from_qemu(detected) {
                    Some(d) => write!(f, "the image was declared {declared} but is {d}"),
                    None => write!(f, "the image was declared {declared} but is {detected}"),
                }
            }
        }
    }
}

/// A failed `qemu-img` run.
#[derive(Debug)]
pub enum QemuError {
    /// `qemu-img` is not installed (or not executable).
    Unavailable(String),
    /// The run exceeded its wall-clock limit and was killed.
    TimedOut(Duration),
    /// The caller's cancellation flag was set; the run was killed.
    Cancelled,
    /// `qemu-img` failed: an unreadable, broken or hostile file, or a resource limit (killed by
    /// a signal).
    Failed {
        code: Option<i32>,
        signal: Option<i32>,
        message: String,
    },
    /// Output that could not be understood.
    BadOutput(String),
    /// The file was inspected and refused by policy.
    Refused(Refusal),
    Io(io::Error),
}

impl fmt::Display for QemuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QemuError::Unavailable(m) => write!(f, "qemu-img unavailable: {m}"),
            QemuError::TimedOut(d) => write!(f, "qemu-img timed out after {d:?}"),
            QemuError::Cancelled => f.write_str("cancelled"),
            QemuError::Failed {
                code,
                signal,
                message,
            } => match (code, signal) {
                (_, Some(24)) => f.write_str("qemu-img exceeded its CPU time limit"),
                (_, Some(s)) => write!(f, "qemu-img killed by signal {s}: {message}"),
                (Some(c), None) => write!(f, "qemu-img failed ({c}): {message}"),
                (None, None) => write!(f, "qemu-img failed: {message}"),
            },
            QemuError::BadOutput(m) => write!(f, "unexpected qemu-img output: {m}"),
            QemuError::Refused(r) => r.fmt(f),
            QemuError::Io(e) => write!(f, "qemu-img i/o: {e}"),
        }
    }
}

impl std::error::Error for QemuError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            QemuError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Limits of one `qemu-img` run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wall clock; the child is killed after it.
    pub timeout: Duration,
    /// `RLIMIT_CPU`.
    pub cpu_seconds: u64,
    /// `RLIMIT_AS`, bytes.
    pub address_space: u64,
}

impl Limits {
    /// For `info`, `create`: OpenStack's limits for `qemu-img info` (1 GiB, 30 CPU seconds).
    pub const PROBE: Limits = Limits {
        timeout: Duration::from_secs(60),
        cpu_seconds: 30,
        address_space: 1 << 30,
    };
    /// For `convert`, `compare`: room for large images, still bounded.
    pub const CONVERT: Limits = Limits {
        timeout: Duration::from_secs(2 * 3600),
        cpu_seconds: 2 * 3600,
        address_space: 2 << 30,
    };
}

/// How resource limits are applied to the child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Limiter {
    /// `prlimit --as --cpu --core=0 -- qemu-img …` (util-linux).
    Prlimit(PathBuf),
    /// `sh -c 'ulimit -v; ulimit -t; ulimit -c 0; exec "$@"'`.
    Shell,
}

/// A configured `qemu-img`. Cheap to clone; every method blocks until the child exits (run it on
/// a blocking thread).
#[derive(Clone, Debug)]
pub struct Qemu {
    program: PathBuf,
    limiter: Limiter,
    probe: Limits,
    convert: Limits,
}

impl Default for Qemu {
    fn default() -> Self {
        Self::new()
    }
}

impl Qemu {
    /// `qemu-img` from `PATH`, limited by `prlimit` if it is on `PATH` (else `sh`), with
    /// [`Limits::PROBE`] and [`Limits::CONVERT`].
    pub fn new() -> Self {
        let limiter = find_on_path(OsStr::new("prlimit")).map_or(Limiter::Shell, Limiter::Prlimit);
        Self {
            program: PathBuf::from("qemu-img"),
            limiter,
            probe: Limits::PROBE,
            convert: Limits::CONVERT,
        }
    }

    /// Use another `qemu-img` binary (a path, or a name looked up on `PATH`).
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    pub fn with_limiter(mut self, limiter: Limiter) -> Self {
        self.limiter = limiter;
        self
    }

    /// Limits for inspection/creation and for conversion/comparison.
    pub fn with_limits(mut self, probe: Limits, convert: Limits) -> Self {
        self.probe = probe;
        self.convert = convert;
        self
    }

    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// The first line of `qemu-img --version` (for start-up logs and the README's check).
    pub fn version(&self) -> Result<String, QemuError> {
        let out = self.run(&[OsString::from("--version")], &self.probe, None, None)?;
        Ok(out.lines().next().unwrap_or_default().trim().to_owned())
    }

    /// `qemu-img info` with format probing: what the file really is, trusting nothing about it.
    /// No policy is applied; see [`Qemu::check_import`].
    pub fn inspect(&self, path: &Path) -> Result<DiskInfo, QemuError> {
        self.info(path, None, None)
    }

    fn info(
        &self,
        path: &Path,
        format: Option<DiskFormat>,
        cancel: Option<&AtomicBool>,
    ) -> Result<DiskInfo, QemuError> {
        let mut args = os_args(&["info", "--output=json", "--force-share"]);
        if let Some(f) = format {
            args.extend(os_args(&["-f", f.qemu_name()]));
        }
        args.push(absolute(path)?);
        let out = self.run(&args, &self.probe, cancel, None)?;
        DiskInfo::parse(&out)
    }

    /// Inspects a file to import and applies the import policy. The format is probed, never
    /// taken from `declared`; then:
    ///
    /// * a declared `VHD` probed as raw is re-opened as `vpc` (fixed VHDs carry their footer only
    ///   at the end, which qemu's probe does not look at) and accepted if that works;
    /// * any other difference from `declared` is [`Refusal::FormatMismatch`] (so a garbage file
    ///   declared `QCOW2` is refused, while undeclared or declared `RAW` it is a raw disk — every
    ///   byte string is one);
    /// * backing files, external data files or extents, encryption, the corrupt flag, an empty
    ///   disk, formats other than raw/qcow2/vhd/vmdk, and multi-file VMDKs are refused;
    /// * qcow2 and VMDK metadata is verified with `qemu-img check` (corruption is refused);
    /// * a VMDK text descriptor is refused before qemu sees it (qemu opens its extents even for
    ///   `info`).
    ///
    /// Returns the real format and the info. Use that format (`-f`) for every later command.
    pub fn check_import(
        &self,
        path: &Path,
        declared: Option<DiskFormat>,
    ) -> Result<(DiskFormat, DiskInfo), QemuError> {
        if is_vmdk_descriptor(path)? {
            // A text descriptor lists extent files that qemu would open even to inspect it.
            return Err(QemuError::Refused(Refusal::UnsupportedSubformat(
                "descriptor file".into(),
            )));
        }
        let mut info = self.inspect(path)?;
        if declared == Some(DiskFormat::Vhd) && info.format == "raw" {
            match self.info(path, Some(DiskFormat::Vhd), None) {
                Ok(vhd) => info = vhd,
                Err(QemuError::Failed { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let refuse = |r| Err(QemuError::Refused(r));
        if let Some(b) = &info.backing_file {
            return refuse(Refusal::BackingFile(b.clone()));
        }
        if let Some(x) = info.external_files.first() {
            return refuse(Refusal::ExternalFile(x.clone()));
        }
        if info.encrypted {
            return refuse(Refusal::Encrypted);
        }
        let detected = match info.disk_format() {
            Some(DiskFormat::Vdi) | None => {
                return refuse(Refusal::UnsupportedFormat(info.format.clone()));
            }
            Some(f) => f,
        };
        if let Some(declared) = declared
            && declared != detected
        {
            return refuse(Refusal::FormatMismatch {
                declared,
                detected: info.format.clone(),
            });
        }
        if info.corrupt {
            return refuse(Refusal::Corrupt);
        }
        if detected == DiskFormat::Vmdk {
            let sub = info.subformat.as_deref().unwrap_or("unknown");
            if !matches!(sub, "monolithicSparse" | "streamOptimized") {
                return refuse(Refusal::UnsupportedSubformat(sub.to_owned()));
            }
        }
        if info.virtual_size == 0 {
            return refuse(Refusal::Empty);
        }
        if matches!(detected, DiskFormat::Qcow2 | DiskFormat::Vmdk) {
            self.check(path, detected)?;
        }
        Ok((detected, info))
    }

    /// `qemu-img check` of the metadata: `info` does not read the tables, so a truncated or
    /// inconsistent qcow2 would otherwise pass inspection and fail only on export. Leaked
    /// clusters (exit 3) are harmless; "checks not supported" (63) passes.
    fn check(&self, path: &Path, format: DiskFormat) -> Result<(), QemuError> {
        let mut args = os_args(&["check", "-q", "--force-share", "-f", format.qemu_name()]);
        args.push(absolute(path)?);
        match self.run(&args, &self.probe, None, None) {
            Ok(_) => Ok(()),
            Err(QemuError::Failed {
                code: Some(3 | 63), ..
            }) => Ok(()),
            Err(QemuError::Failed { code: Some(2), .. }) => {
                Err(QemuError::Refused(Refusal::Corrupt))
            }
            Err(e) => Err(e),
        }
    }

    /// `qemu-img convert` from `src` (of the established format `src_format`) to `dst` in
    /// `dst_format`, overwriting `dst` (typically [`crate::AtomicFile::path`]). Honors the
    /// transfer's cancellation (the child is killed) and reports progress in bytes of the
    /// virtual disk, from qemu's `-p` percentages; the throttle does not apply to qemu (stream
    /// the result through a throttled copy when a test needs to watch it).
    pub fn convert(
        &self,
        src: &Path,
        src_format: DiskFormat,
        dst: &Path,
        dst_format: DiskFormat,
        ctl: &mut Transfer<'_>,
    ) -> Result<(), QemuError> {
        let cancel = ctl.cancel_flag();
        let total = self.info(src, Some(src_format), cancel)?.virtual_size;
        let mut args = os_args(&[
            "convert",
            "-p",
            "-f",
            src_format.qemu_name(),
            "-O",
            dst_format.qemu_name(),
        ]);
        if let Some(o) = dst_format.create_options() {
            args.extend(os_args(&["-o", o]));
        }
        args.push(absolute(src)?);
        args.push(absolute(dst)?);
        let mut done = 0u64;
        let mut on_pct = |pct: f64| {
            let bytes = ((pct / 100.0).clamp(0.0, 1.0) * total as f64) as u64;
            if bytes > done {
                done = bytes;
                ctl.report(bytes);
            }
        };
        self.run(&args, &self.convert, cancel, Some(&mut on_pct))?;
        if done < total || total == 0 {
            ctl.report(total);
        }
        Ok(())
    }

    /// `qemu-img create`: a blank (sparse) disk of `size` bytes, for seeds and tests.
    pub fn create_blank(
        &self,
        path: &Path,
        format: DiskFormat,
        size: u64,
    ) -> Result<(), QemuError> {
        let mut args = os_args(&["create", "-q", "-f", format.qemu_name()]);
        if let Some(o) = format.create_options() {
            args.extend(os_args(&["-o", o]));
        }
        args.push(absolute(path)?);
        args.push(OsString::from(size.to_string()));
        self.run(&args, &self.probe, None, None)?;
        Ok(())
    }

    /// `qemu-img compare`: whether two disks have the same guest-visible content (allocation and
    /// format may differ).
    pub fn compare(
        &self,
        a: &Path,
        a_format: DiskFormat,
        b: &Path,
        b_format: DiskFormat,
    ) -> Result<bool, QemuError> {
        let mut args = os_args(&[
            "compare",
            "-q",
            "-f",
            a_format.qemu_name(),
            "-F",
            b_format.qemu_name(),
        ]);
        args.push(absolute(a)?);
        args.push(absolute(b)?);
        match self.run(&args, &self.convert, None, None) {
            Ok(_) => Ok(true),
            Err(QemuError::Failed {
                code: Some(1),
                signal: None,
                ..
            }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Runs `qemu-img args` under the limits; returns stdout. `progress` receives the
    /// percentages of `-p` output.
    fn run(
        &self,
        args: &[OsString],
        limits: &Limits,
        cancel: Option<&AtomicBool>,
        mut progress: Option<&mut dyn FnMut(f64)>,
    ) -> Result<String, QemuError> {
        let program = if self.program.components().count() > 1 {
            Some(self.program.clone()).filter(|p| p.is_file())
        } else {
            find_on_path(self.program.as_os_str())
        }
        .ok_or_else(|| {
            QemuError::Unavailable(format!(
                "{} not found (install qemu-img: Debian/Ubuntu `apt install qemu-utils`)",
                self.program.display()
            ))
        })?;
        let mut cmd = match &self.limiter {
            Limiter::Prlimit(prlimit) => {
                let mut c = Command::new(prlimit);
                c.arg(format!("--as={}", limits.address_space))
                    .arg(format!("--cpu={}", limits.cpu_seconds))
                    .arg("--core=0")
                    .arg("--");
                c
            }
            Limiter::Shell => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(r#"ulimit -v "$1" && ulimit -t "$2" && ulimit -c 0 && shift 2 && exec "$@""#)
                    .arg("sh")
                    .arg((limits.address_space / 1024).to_string())
                    .arg(limits.cpu_seconds.to_string());
                c
            }
        };
        cmd.arg(&program)
            .args(args)
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied => {
                QemuError::Unavailable(format!("{}: {e}", program.display()))
            }
            _ => QemuError::Io(e),
        })?;

        let (tx, rx) = mpsc::channel::<f64>();
        let stdout = child
            .stdout
            .take()
            .map(|s| std::thread::spawn(move || read_stdout(s, &tx)));
        let stderr = child
            .stderr
            .take()
            .map(|s| std::thread::spawn(move || read_capped(s, MAX_STDERR)));

        let outcome = wait(&mut child, limits.timeout, cancel, &rx, &mut progress);
        let out = stdout
            .and_then(|h| h.join().ok())
            .unwrap_or((Vec::new(), false));
        let err = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
        for pct in rx.try_iter() {
            if let Some(p) = progress.as_mut() {
                p(pct);
            }
        }
        let status = outcome?;
        if !status.success() {
            let message = String::from_utf8_lossy(&err).trim().to_owned();
            let message = message
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or_default()
                .to_owned();
            // prlimit's own failure to exec the program.
            if message.contains("failed to execute") {
                return Err(QemuError::Unavailable(message));
            }
            return Err(QemuError::Failed {
                code: status.code(),
                signal: status.signal(),
                message,
            });
        }
        let (out, truncated) = out;
        if truncated {
            return Err(QemuError::BadOutput("output too large".into()));
        }
        String::from_utf8(out).map_err(|e| QemuError::BadOutput(e.to_string()))
    }
}

/// Waits for the child, killing it on timeout or cancellation. Naps on the progress channel, so
/// progress is delivered promptly and an idle wait costs no CPU.
fn wait(
    child: &mut Child,
    timeout: Duration,
    cancel: Option<&AtomicBool>,
    rx: &mpsc::Receiver<f64>,
    progress: &mut Option<&mut dyn FnMut(f64)>,
) -> Result<ExitStatus, QemuError> {
    let deadline = Instant::now() + timeout;
    let mut nap = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(e) => {
                kill(child);
                return Err(QemuError::Io(e));
            }
        }
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            kill(child);
            return Err(QemuError::Cancelled);
        }
        let now = Instant::now();
        if now >= deadline {
            kill(child);
            return Err(QemuError::TimedOut(timeout));
        }
        let span = nap.min(deadline - now);
        match rx.recv_timeout(span) {
            Ok(pct) => {
                if let Some(p) = progress.as_mut() {
                    p(pct);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => nap = (nap * 2).min(MAX_NAP),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                std::thread::sleep(span);
                nap = (nap * 2).min(MAX_NAP);
            }
        }
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Collects stdout (capped) and forwards `-p` percentages: qemu prints `    (12.34/100%)\r`.
fn read_stdout(mut s: impl Read, tx: &mpsc::Sender<f64>) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut line = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        for &b in &buf[..n] {
            if b == b'\r' || b == b'\n' {
                if let Some(pct) = parse_percent(&line) {
                    let _ = tx.send(pct);
                }
                line.clear();
            } else if line.len() < 64 {
                line.push(b);
            }
        }
        let room = MAX_STDOUT.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
        truncated |= n > room;
    }
    (kept, truncated)
}

fn parse_percent(line: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(line).ok()?.trim();
    let inner = s.strip_prefix('(')?.strip_suffix("/100%)")?;
    inner.parse().ok()
}

fn read_capped(mut s: impl Read, cap: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // Keep the tail: the last lines carry the error.
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > cap {
                    kept.drain(..kept.len() - cap);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    kept
}

/// Whether a regular file starts like a VMDK text descriptor. Non-regular files are left to qemu
/// (and its timeout): opening a FIFO here would block this thread.
fn is_vmdk_descriptor(path: &Path) -> Result<bool, QemuError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {}
        _ => return Ok(false),
    }
    let mut head = Vec::with_capacity(64);
    std::fs::File::open(path)
        .and_then(|f| f.take(64).read_to_end(&mut head))
        .map_err(QemuError::Io)?;
    Ok(head.starts_with(b"# Disk DescriptorFile"))
}

fn os_args(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// Absolute paths only: qemu reads `proto:…` before the first `/` as a protocol.
fn absolute(path: &Path) -> Result<OsString, QemuError> {
    Ok(std::path::absolute(path)
        .map_err(QemuError::Io)?
        .into_os_string())
}

fn find_on_path(name: &OsStr) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names() {
        assert_eq!(DiskFormat::parse_import("VHD"), Some(DiskFormat::Vhd));
        assert_eq!(DiskFormat::parse_import("qcow2"), Some(DiskFormat::Qcow2));
        assert_eq!(DiskFormat::parse_import("VDI"), None);
        assert_eq!(DiskFormat::parse_import("ISO"), None);
        assert_eq!(DiskFormat::parse_export("vdi"), Some(DiskFormat::Vdi));
        assert_eq!(DiskFormat::Vhd.qemu_name(), "vpc");
        assert_eq!(DiskFormat::from_qemu("vpc"), Some(DiskFormat::Vhd));
        assert_eq!(DiskFormat::from_qemu("vhd"), None);
        assert_eq!(DiskFormat::from_qemu("luks"), None);
    }

    #[test]
    fn extents_and_children_elsewhere_are_external() {
        let json = r#"{
            "format": "vmdk", "virtual-size": 1048576, "filename": "/b/a.vmdk",
            "format-specific": {"type": "vmdk", "data": {
                "create-type": "monolithicSparse",
                "extents": [{"filename": "/b/a.vmdk"}, {"filename": "/etc/shadow"}]}},
            "children": [{"name": "file", "info": {"filename": "/b/a.vmdk", "children": [
                {"name": "x", "info": {"filename": "/dev/sda"}}]}}]
        }"#;
        let info = DiskInfo::parse(json).expect("parse");
        assert_eq!(info.external_files, vec!["/dev/sda", "/etc/shadow"]);
        assert_eq!(info.subformat.as_deref(), Some("monolithicSparse"));
        assert!(matches!(
            DiskInfo::parse("{\"format\": \"raw\"}"),
            Err(QemuError::BadOutput(_))
        ));
        assert!(matches!(
            DiskInfo::parse("not json"),
            Err(QemuError::BadOutput(_))
        ));
    }

    #[test]
    fn progress_lines() {
        assert_eq!(parse_percent(b"    (12.50/100%)"), Some(12.5));
        assert_eq!(parse_percent(b"(100.00/100%)"), Some(100.0));
        assert_eq!(parse_percent(b"garbage"), None);
    }
}

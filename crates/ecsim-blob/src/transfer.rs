//! Moving bytes: the per-transfer controls (progress, cancellation, throttle), the streamed copy
//! every store and bucket write goes through, and [`AtomicFile`], the temp-file-and-rename
//! discipline that keeps half-written files from ever appearing under their final name.

use crate::checksum::Algorithm;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::num::NonZeroU64;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Buffer size of an unthrottled copy: large enough that syscalls do not dominate a 1 GiB copy.
const CHUNK: usize = 1 << 20;
/// How many bytes a copy writes between two background flushes (see [`copy_to_file`]): large
/// enough that the flushes' journal commits and cache flushes cost little, small enough that
/// the device starts early.
const FLUSH_EVERY: u64 = 32 << 20;
/// Smallest chunk of a throttled copy, so a very low rate still makes progress in whole pages.
const MIN_THROTTLED_CHUNK: usize = 4 << 10;
/// Longest single sleep while throttled, so cancellation is noticed within this time.
const MAX_NAP: Duration = Duration::from_millis(50);

/// The controls of one transfer, chosen by whoever runs the task: a progress callback (cumulative
/// bytes done), a cancellation flag (checked between chunks and while throttled) and an optional
/// rate limit. `Transfer::default()` is an unobserved, uncancellable, unthrottled transfer.
#[derive(Default)]
pub struct Transfer<'a> {
    cancel: Option<&'a AtomicBool>,
    progress: Option<&'a mut dyn FnMut(u64)>,
    rate: Option<NonZeroU64>,
}

impl<'a> Transfer<'a> {
    /// A transfer with no callback, no cancellation and no throttle.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stop (with a `Cancelled` error, leaving nothing behind) once `flag` becomes true.
    pub fn cancel_on(mut self, flag: &'a AtomicBool) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Report progress: `f` receives the cumulative number of bytes done. Calls are monotone and
    /// the last call of a successful transfer reports the total (a transfer of zero bytes reports
    /// `0` once).
    pub fn on_progress(mut self, f: &'a mut dyn FnMut(u64)) -> Self {
        self.progress = Some(f);
        self
    }

    /// Limit streamed copies to `bytes_per_second` (`None` = unlimited). This is the test control
    /// behind `--task-bytes-per-second`: it waits on the clock (a token bucket), it never spins.
    pub fn throttle(mut self, bytes_per_second: Option<NonZeroU64>) -> Self {
        self.rate = bytes_per_second;
        self
    }

    /// Whether the cancellation flag is set.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }

    pub(crate) fn cancel_flag(&self) -> Option<&'a AtomicBool> {
        self.cancel
    }

    pub(crate) fn is_throttled(&self) -> bool {
        self.rate.is_some()
    }

    pub(crate) fn report(&mut self, done: u64) {
        if let Some(f) = self.progress.as_mut() {
            f(done);
        }
    }

    fn chunk_size(&self) -> usize {
        match self.rate {
            None => CHUNK,
            Some(r) => usize::try_from(r.get() / 16)
                .unwrap_or(CHUNK)
                .clamp(MIN_THROTTLED_CHUNK, CHUNK),
        }
    }
}

/// Why a streamed copy stopped.
#[derive(Debug)]
pub(crate) enum CopyError {
    Cancelled,
    Io(io::Error),
}

impl From<io::Error> for CopyError {
    fn from(e: io::Error) -> Self {
        CopyError::Io(e)
    }
}

/// Copies `src` to the fresh, empty file `dst`, hashing every byte with `algorithm`. All-zero
/// chunks become holes (seek instead of write) so sparse disk images stay sparse. Returns (bytes,
/// checksum as recorded).
///
/// Written pages go to the device as the copy goes: every [`FLUSH_EVERY`] bytes a helper thread
/// runs `fdatasync` on the file, so the device writes while the copy reads and hashes, instead
/// of all of it waiting for the caller's final fsync (which still makes the whole file durable).
/// A failed background flush fails the copy: its error would not be reported again to the
/// final fsync of another descriptor.
pub(crate) fn copy_to_file(
    src: &mut dyn Read,
    dst: &mut File,
    ctl: &mut Transfer<'_>,
    algorithm: Algorithm,
) -> Result<(u64, String), CopyError> {
    let flush_handle = dst.try_clone()?;
    let (flush_requests, requested) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let flusher = scope.spawn(move || -> io::Result<()> {
            while requested.recv().is_ok() {
                // One fdatasync covers every request that queued up meanwhile.
                while requested.try_recv().is_ok() {}
                flush_handle.sync_data()?;
            }
            Ok(())
        });
        let mut unflushed: u64 = 0;
        let copied = pump(src, ctl, algorithm, &mut |data: &[u8]| {
            if data.iter().all(|&b| b == 0) {
                dst.seek(SeekFrom::Current(data.len() as i64))?;
            } else {
                dst.write_all(data)?;
                unflushed += data.len() as u64;
                if unflushed >= FLUSH_EVERY {
                    unflushed = 0;
                    // The flusher only stops when this sender goes, or after a failed flush,
                    // which is reported below.
                    let _ = flush_requests.send(());
                }
            }
            Ok(())
        });
        drop(flush_requests);
        let flushed = flusher
            .join()
            .map_err(|_| io::Error::other("the flushing thread stopped"))?;
        let (done, checksum) = copied?;
        flushed?;
        // Trailing holes: the seek alone does not extend the file.
        dst.set_len(done)?;
        Ok((done, checksum))
    })
}

/// The one copy loop: reads `src` in chunks, honoring the transfer's cancellation and throttle,
/// hands each chunk to `sink` and reports progress after it, and hashes every byte with
/// `algorithm`. Returns (bytes, checksum as recorded).
///
/// Hashing runs on a helper thread, overlapped with reading the next chunk and writing this one
/// (a few chunk buffers circulate between the two), so a copy costs about the larger of I/O and
/// hashing rather than their sum.
pub(crate) fn pump(
    src: &mut dyn Read,
    ctl: &mut Transfer<'_>,
    algorithm: Algorithm,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> Result<(u64, String), CopyError> {
    const BUFFERS: usize = 3;
    let chunk = ctl.chunk_size();
    let (to_hash, hash_queue) = mpsc::sync_channel::<(Vec<u8>, usize)>(BUFFERS);
    let (give_back, free) = mpsc::channel::<Vec<u8>>();
    for _ in 0..BUFFERS {
        // Cannot fail: the receiver is alive.
        let _ = give_back.send(vec![0u8; chunk]);
    }
    std::thread::scope(|scope| {
        let hasher = scope.spawn(move || {
            let mut hasher = algorithm.hasher();
            for (buf, n) in hash_queue {
                hasher.update(&buf[..n]);
                let _ = give_back.send(buf);
            }
            hasher.finish()
        });
        let hasher_gone = || io::Error::other("the hashing thread stopped");
        let mut copy = || -> Result<u64, CopyError> {
            let mut done: u64 = 0;
            let mut reported = false;
            let start = Instant::now();
            loop {
                if ctl.is_cancelled() {
                    return Err(CopyError::Cancelled);
                }
                let mut buf = free.recv().map_err(|_| hasher_gone())?;
                let n = read_full(src, &mut buf)?;
                if n == 0 {
                    break;
                }
                if let Some(rate) = ctl.rate {
                    pace(start, done + n as u64, chunk as u64, rate, ctl.cancel)?;
                }
                sink(&buf[..n])?;
                let full = n == buf.len();
                to_hash.send((buf, n)).map_err(|_| hasher_gone())?;
                done += n as u64;
                ctl.report(done);
                reported = true;
                if !full {
                    break;
                }
            }
            if !reported {
                ctl.report(0);
            }
            Ok(done)
        };
        let copied = copy();
        drop(to_hash);
        let checksum = hasher.join().map_err(|_| CopyError::Io(hasher_gone()))?;
        Ok((copied?, checksum))
    })
}

/// Streams `src` through `algorithm`. Returns (bytes, checksum as recorded).
pub(crate) fn hash_reader(src: &mut dyn Read, algorithm: Algorithm) -> io::Result<(u64, String)> {
    let mut buf = vec![0u8; CHUNK];
    let mut hasher = algorithm.hasher();
    let mut done = 0u64;
    loop {
        let n = read_full(src, &mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        done += n as u64;
    }
    Ok((done, hasher.finish()))
}

/// Reads until `buf` is full or the reader is exhausted.
fn read_full(src: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match src.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Token bucket with a burst of one chunk: the byte that brings the total to `sent_after` may go
/// once `(sent_after - burst) / rate` seconds have passed since `start`. Sleeps in naps of at most
/// [`MAX_NAP`] so a cancellation is seen promptly.
fn pace(
    start: Instant,
    sent_after: u64,
    burst: u64,
    rate: NonZeroU64,
    cancel: Option<&AtomicBool>,
) -> Result<(), CopyError> {
    let owed = sent_after.saturating_sub(burst);
    let due = start + Duration::from_secs_f64(owed as f64 / rate.get() as f64);
    loop {
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(CopyError::Cancelled);
        }
        let now = Instant::now();
        if now >= due {
            return Ok(());
        }
        std::thread::sleep((due - now).min(MAX_NAP));
    }
}

/// A file written under a temporary name in its destination's directory and renamed into place
/// by [`AtomicFile::commit`] (after fsync of the file, and followed by an fsync of the directory),
/// so a crash or a cancellation never leaves a partial file under the final name. Dropping an
/// uncommitted `AtomicFile` removes the temporary file.
///
/// Temporary names start with `.ecsim-tmp.`; blob keys cannot start with a dot, so they never
/// collide with a blob, and [`crate::DirStore::sweep_temps`] can find leftovers of a crash.
#[derive(Debug)]
pub struct AtomicFile {
    temp: PathBuf,
    dest: PathBuf,
    file: Option<File>,
    committed: bool,
}

pub(crate) const TEMP_PREFIX: &str = ".ecsim-tmp.";

/// A temporary name beside `dest`, unique within this process (pid + counter); creation with
/// `create_new` or `hard_link` still fails rather than clobbers if the name is taken.
pub(crate) fn temp_name(dest: &Path) -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    Ok(parent_dir(dest)?.join(format!("{TEMP_PREFIX}{pid}.{n}")))
}

impl AtomicFile {
    /// Creates the (empty) temporary file next to `dest`. The directory must exist.
    pub fn create(dest: impl Into<PathBuf>) -> io::Result<Self> {
        let dest = dest.into();
        loop {
            let temp = temp_name(&dest)?;
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&temp)
            {
                Ok(file) => {
                    return Ok(Self {
                        temp,
                        dest,
                        file: Some(file),
                        committed: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The temporary path, for a writer that needs a name rather than a handle (`qemu-img
    /// convert`). It is absolute whenever the destination is.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// The name the file gets on commit.
    pub fn destination(&self) -> &Path {
        &self.dest
    }

    /// The open temporary file, for streamed writes.
    pub fn file_mut(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("atomic file already closed"))
    }

    /// Makes the temporary file read-only (blobs are immutable once written).
    pub(crate) fn make_read_only(&self) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&self.temp, fs::Permissions::from_mode(0o444))
    }

    /// fsync the file, rename it over the destination (replacing an existing file atomically),
    /// fsync the directory. Whatever was written through [`AtomicFile::path`] by another process
    /// is included: the file is reopened by name for the fsync.
    pub fn commit(mut self) -> io::Result<()> {
        drop(self.file.take());
        File::open(&self.temp)?.sync_all()?;
        fs::rename(&self.temp, &self.dest)?;
        self.committed = true;
        sync_dir(&parent_dir(&self.dest)?)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            drop(self.file.take());
            let _ = fs::remove_file(&self.temp);
        }
    }
}

fn parent_dir(path: &Path) -> io::Result<PathBuf> {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => Ok(p.to_path_buf()),
        Some(_) => Ok(PathBuf::from(".")),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} has no parent directory", path.display()),
        )),
    }
}

/// fsync a directory so a rename or unlink in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    #[test]
    fn copy_is_sparse_and_hashes_everything() {
        let dir = TempDir::new();
        let mut data = vec![0u8; 3 * CHUNK + 10];
        data[CHUNK + 5] = 7;
        let path = dir.path().join("out");
        for algorithm in [Algorithm::Sha256, Algorithm::Blake3] {
            let mut f = File::create(&path).expect("create");
            let (n, sum) = copy_to_file(
                &mut data.as_slice(),
                &mut f,
                &mut Transfer::new(),
                algorithm,
            )
            .expect("copy");
            drop(f);
            assert_eq!(n, data.len() as u64);
            assert_eq!(sum, algorithm.digest(&data));
            assert_eq!(fs::read(&path).expect("read"), data);
        }
    }

    /// Past FLUSH_EVERY bytes the background flusher runs alongside the copy; the file must
    /// still hold exactly the bytes copied, holes included.
    #[test]
    fn a_copy_flushed_as_it_goes_holds_every_byte() {
        let dir = TempDir::new();
        let len = 2 * FLUSH_EVERY as usize + CHUNK + 5;
        let mut data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        data[CHUNK..3 * CHUNK].fill(0);
        let path = dir.path().join("flushed");
        let mut f = File::create(&path).expect("create");
        let (n, sum) = copy_to_file(
            &mut data.as_slice(),
            &mut f,
            &mut Transfer::new(),
            Algorithm::Blake3,
        )
        .expect("copy");
        drop(f);
        assert_eq!(n, len as u64);
        assert_eq!(sum, Algorithm::Blake3.digest(&data));
        assert!(fs::read(&path).expect("read") == data, "the bytes match");
    }

    #[test]
    fn dropped_atomic_file_leaves_nothing() {
        let dir = TempDir::new();
        let dest = dir.path().join("final");
        let mut a = AtomicFile::create(&dest).expect("create");
        a.file_mut()
            .expect("file")
            .write_all(b"half")
            .expect("write");
        drop(a);
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 0);
    }

    #[test]
    fn commit_replaces_atomically() {
        let dir = TempDir::new();
        let dest = dir.path().join("final");
        fs::write(&dest, b"old").expect("write");
        let mut a = AtomicFile::create(&dest).expect("create");
        a.file_mut()
            .expect("file")
            .write_all(b"new")
            .expect("write");
        a.commit().expect("commit");
        assert_eq!(fs::read(&dest).expect("read"), b"new");
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 1);
    }
}

//! The task workers: they lease Waiting/Processing tasks, move the bytes (import from the OSS
//! directory, export to it, copy between regions), report progress, notice cancellation, and
//! finish or fail the task together with its image in one transaction.
//!
//! Leases make this restart- and multi-node-safe: a worker holds a task for `task_lease_ms` and
//! renews the lease with every progress report; a task whose lease ran out (its node died) is
//! claimed again and redone from the start. A restarted node releases its own leases at once
//! (`AppState::new`). Blobs are written atomically, so a redo never sees half a file.

use crate::blobs::{blob_id, image_blob_of};
use crate::state::AppState;
use ecsim_blob::{Algorithm, AtomicFile, BlobId, DiskFormat, QemuError, Transfer};
use ecsim_core::Millis;
use ecsim_core::model::{
    DiskMapping, DiskType, ExportedDisk, Image, ImageStatus, Task, TaskStatus, TaskWork,
};
use ecsim_wire::ApiError;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often progress is written (and the lease renewed) while bytes move.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);
const IDLE_WAIT: Duration = Duration::from_secs(1);
const GIB: u64 = 1024 * 1024 * 1024;

pub async fn run_task_workers(app: Arc<AppState>) {
    let workers: Vec<_> = (0..app.settings.task_workers.max(1))
        .map(|n| {
            tokio::spawn(worker_loop(
                Arc::clone(&app),
                format!("{}#{n}", app.node_id),
            ))
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
}

/// One worker; `owner` (`{node}#{n}`) names it in leases, so two workers of one node never
/// hold the same task.
async fn worker_loop(app: Arc<AppState>, owner: String) {
    loop {
        let worker_app = Arc::clone(&app);
        let worker = owner.clone();
        let ran = tokio::task::spawn_blocking(move || {
            let now = worker_app.clock.now();
            let lease_until = now + worker_app.settings.task_lease_ms;
            let claimed = worker_app
                .store
                .write(|tx| Ok(tx.claim_task(&worker, now, lease_until)?))?;
            match claimed {
                Some(task) => {
                    run(&worker_app, task, &worker);
                    Ok::<bool, ApiError>(true)
                }
                None => Ok(false),
            }
        })
        .await;
        match ran {
            Ok(Ok(true)) => continue,
            Ok(Ok(false)) => {}
            Ok(Err(err)) => tracing::warn!(error = %err, "claiming a task failed; retrying"),
            Err(err) => tracing::error!(error = %err, "task worker failed; retrying"),
        }
        // Leases held by dead nodes expire on their own; look again at least every second.
        // Handlers wake one worker with `notify_one`, whose permit is kept if nobody waits yet,
        // so a task queued while this worker was looking is not missed.
        tokio::select! {
            _ = app.tasks.notified() => {}
            _ = tokio::time::sleep(IDLE_WAIT) => {}
        }
    }
}

/// What a finished byte move tells the final transaction.
enum Outcome {
    /// Bytes in place: one entry per disk whose blob was written (none for an export).
    Done {
        disks: Vec<DiskBytes>,
    },
    Cancelled,
    Failed {
        code: &'static str,
        message: String,
    },
}

/// One disk's bytes as written: its position in the image's `disk_mappings` (0 = system),
/// their checksum (as recorded, see `ecsim_blob::checksum`), and for imports the detected format
/// and virtual size.
struct DiskBytes {
    position: usize,
    checksum: String,
    format: Option<DiskFormat>,
    virtual_size: Option<u64>,
}

/// Writes progress at most every [`PROGRESS_EVERY`], renews the lease, and raises the cancel
/// flag when the task was cancelled (or taken over) in the meantime.
struct Reporter<'a> {
    app: &'a AppState,
    /// The worker holding the lease (set on the task when it was claimed).
    owner: String,
    task_id: String,
    total: u64,
    cancel: &'a AtomicBool,
    last: Instant,
}

impl Reporter<'_> {
    fn report(&mut self, done: u64) {
        if self.last.elapsed() < PROGRESS_EVERY && done < self.total {
            return;
        }
        self.last = Instant::now();
        let now = self.app.clock.now();
        let lease_until = now + self.app.settings.task_lease_ms;
        let node = self.owner.as_str();
        let (total, id, cancel) = (self.total, &self.task_id, self.cancel);
        let result = self.app.store.write(|tx| {
            let Some(mut task) = tx.task(id)? else {
                cancel.store(true, Ordering::SeqCst);
                return Ok(());
            };
            if task.status.is_done()
                || task.cancel_requested
                || task.lease_owner.as_deref() != Some(node)
            {
                cancel.store(true, Ordering::SeqCst);
                return Ok(());
            }
            task.bytes_done = done;
            task.bytes_total = total;
            task.lease_until = Some(lease_until);
            Ok(tx.put_task(&task)?)
        });
        if let Err(err) = result {
            tracing::warn!(error = %err, task = %self.task_id, "recording progress failed");
        }
    }
}

/// Renews the lease while the work runs — also through long silent steps such as `qemu-img`
/// inspecting a large file — and raises `cancel` as soon as the task is cancelled or lost.
fn heartbeat(app: &AppState, owner: &str, task_id: &str, cancel: &AtomicBool, stop: &AtomicBool) {
    let every = Duration::from_millis(
        u64::try_from(app.settings.task_lease_ms / 3)
            .unwrap_or(1000)
            .clamp(50, 5000),
    );
    let mut last = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(25));
        if last.elapsed() < every {
            continue;
        }
        last = Instant::now();
        let lease_until = app.clock.now() + app.settings.task_lease_ms;
        let result = app.store.write(|tx| {
            let Some(mut task) = tx.task(task_id)? else {
                cancel.store(true, Ordering::SeqCst);
                return Ok(());
            };
            if task.status.is_done()
                || task.cancel_requested
                || task.lease_owner.as_deref() != Some(owner)
            {
                cancel.store(true, Ordering::SeqCst);
                return Ok(());
            }
            task.lease_until = Some(lease_until);
            Ok(tx.put_task(&task)?)
        });
        if let Err(err) = result {
            tracing::warn!(error = %err, task = task_id, "renewing a task lease failed");
        }
    }
}

fn run(app: &AppState, task: Task, owner: &str) {
    tracing::info!(task = %task.id, action = %task.action, "task started");
    let started = app.store.write(|tx| {
        let Some(mut current) = tx.task(&task.id)? else {
            return Ok(None);
        };
        if current.status.is_done() {
            return Ok(None);
        }
        current.status = TaskStatus::Processing;
        current.bytes_done = 0;
        tx.put_task(&current)?;
        if let Some(mut image) = tx.image(&current.region_id, &current.resource_id)?
            && image.status == ImageStatus::Waiting
        {
            image.status = ImageStatus::Creating;
            tx.put_image(&image)?;
        }
        Ok(Some(current))
    });
    let task = match started {
        Ok(Some(t)) => t,
        Ok(None) => return,
        Err(err) => {
            tracing::warn!(error = %err, task = %task.id, "starting a task failed; it will be retried");
            return;
        }
    };
    let cancel = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let outcome = std::thread::scope(|scope| {
        scope.spawn(|| heartbeat(app, owner, &task.id, &cancel, &stop));
        let outcome = work(app, &task, &cancel);
        stop.store(true, Ordering::SeqCst);
        outcome
    });
    finish(app, &task, outcome, owner);
}

fn work(app: &AppState, task: &Task, cancel: &AtomicBool) -> Outcome {
    match &task.work {
        TaskWork::Import {
            bucket,
            object,
            declared_format,
        } => import(
            app,
            task,
            bucket,
            object,
            declared_format.as_deref(),
            cancel,
        ),
        TaskWork::Export {
            bucket,
            object,
            format,
            data_disks,
        } => export(app, task, bucket, object, data_disks, format, cancel),
        TaskWork::Copy {
            source_region,
            source_image_id,
        } => copy(app, task, source_region, source_image_id, cancel),
    }
}

fn reporter<'a>(
    app: &'a AppState,
    task: &Task,
    total: u64,
    cancel: &'a AtomicBool,
) -> Reporter<'a> {
    Reporter {
        app,
        owner: task.lease_owner.clone().unwrap_or_default(),
        task_id: task.id.clone(),
        total,
        cancel,
        last: Instant::now(),
    }
}

fn failed(code: &'static str, message: impl std::fmt::Display) -> Outcome {
    Outcome::Failed {
        code,
        message: message.to_string(),
    }
}

/// One disk an import reads: its position in the image's `disk_mappings`, its object and the
/// format the caller declared for it.
struct ImportDisk {
    position: usize,
    bucket: String,
    object: String,
    declared: Option<DiskFormat>,
}

/// The disks of an import: the system disk from the task, the data disks from the image's
/// mappings (recorded by ImportImage with their declared formats; the final transaction
/// replaces those only when the task finishes, so a redo reads the same list).
fn import_disks(
    app: &AppState,
    task: &Task,
    bucket: &str,
    object: &str,
    declared: Option<&str>,
) -> Result<Vec<ImportDisk>, ApiError> {
    let image = app
        .store
        .read(|tx| Ok(tx.image(&task.region_id, &task.resource_id)?))?;
    let system = ImportDisk {
        position: 0,
        bucket: bucket.to_string(),
        object: object.to_string(),
        declared: declared.and_then(DiskFormat::parse_import),
    };
    let data = image
        .into_iter()
        .flat_map(|i| i.disk_mappings.into_iter().enumerate())
        .filter(|(position, m)| {
            *position > 0 && m.kind == DiskType::Data && !m.import_oss_object.is_empty()
        })
        .map(|(position, m)| ImportDisk {
            position,
            declared: DiskFormat::parse_import(&m.format),
            bucket: m.import_oss_bucket,
            object: m.import_oss_object,
        });
    Ok(std::iter::once(system).chain(data).collect())
}

fn import(
    app: &AppState,
    task: &Task,
    bucket: &str,
    object: &str,
    declared: Option<&str>,
    cancel: &AtomicBool,
) -> Outcome {
    let Some(oss) = app.oss.as_ref() else {
        return failed("InvalidOSSBucket.NotFound", "no --oss-root is configured");
    };
    let disks = match import_disks(app, task, bucket, object, declared) {
        Ok(d) => d,
        Err(e) => return failed("InternalError", e),
    };
    let mut sources = Vec::with_capacity(disks.len());
    for disk in &disks {
        match oss.open_object(&disk.bucket, &disk.object) {
            Ok(o) => sources.push(o),
            Err(e) => return failed("InvalidOSSObject.NotFound", e),
        }
    }
    // Progress covers every disk's bytes.
    let total = sources.iter().map(|s| s.size).sum();
    let mut rep = reporter(app, task, total, cancel);
    let mut offset = 0;
    let mut written = Vec::with_capacity(disks.len());
    for (disk, source) in disks.iter().zip(&sources) {
        let key = crate::blobs::disk_blob_key(&task.resource_id, disk.position);
        let dst = match blob_id(&task.region_id, &key) {
            Ok(id) => id,
            Err(e) => return failed("InternalError", e),
        };
        let mut progress = |done: u64| rep.report(offset + done);
        let mut ctl = Transfer::new()
            .cancel_on(cancel)
            .on_progress(&mut progress)
            .throttle(app.settings.task_bytes_per_second);
        let info = match app.blobs.put_file(&dst, &source.path, &mut ctl) {
            Ok(info) => info,
            Err(_) if cancel.load(Ordering::SeqCst) => return Outcome::Cancelled,
            Err(e) => return failed("ImportImageFailed", e),
        };
        offset += source.size;
        let local = match app.blobs.local(&dst) {
            Ok(l) => l,
            Err(e) => return failed("ImportImageFailed", e),
        };
        match app.qemu.check_import(local.path(), disk.declared) {
            Ok((format, inspected)) => written.push(DiskBytes {
                position: disk.position,
                checksum: info.checksum,
                format: Some(format),
                virtual_size: Some(inspected.virtual_size),
            }),
            Err(QemuError::Refused(refusal)) if disk.position == 0 => {
                return failed("InvalidImageFormat.Malformed", refusal);
            }
            Err(QemuError::Refused(refusal)) => {
                return failed(
                    "InvalidImageFormat.Malformed",
                    format!("data disk {}: {refusal}", disk.object),
                );
            }
            Err(e) => return failed("ImportImageFailed", e),
        }
    }
    Outcome::Done { disks: written }
}

/// One disk an export writes: its bytes, its object, and the format recorded for it.
struct ExportDisk<'a> {
    blob: BlobId,
    object: &'a str,
    recorded: Option<DiskFormat>,
}

fn export(
    app: &AppState,
    task: &Task,
    bucket: &str,
    object: &str,
    data_disks: &[ExportedDisk],
    format: &str,
    cancel: &AtomicBool,
) -> Outcome {
    let (Some(oss), Some(target)) = (app.oss.as_ref(), DiskFormat::parse_export(format)) else {
        return failed("InvalidOSSBucket.NotFound", "no --oss-root is configured");
    };
    let mappings = app
        .store
        .read(|tx| Ok(tx.image(&task.region_id, &task.resource_id)?))
        .ok()
        .flatten()
        .map(|i| i.disk_mappings)
        .unwrap_or_default();
    // The format recorded at import wins: a fixed VHD reads as raw to `qemu-img info`.
    let recorded = |m: &DiskMapping| DiskFormat::parse_import(&m.format);
    let mut disks = Vec::with_capacity(1 + data_disks.len());
    let system = match blob_id(&task.region_id, &task.resource_id) {
        Ok(id) => id,
        Err(e) => return failed("InternalError", e),
    };
    disks.push(ExportDisk {
        blob: system,
        object,
        recorded: mappings
            .iter()
            .find(|m| m.kind == DiskType::System)
            .and_then(recorded),
    });
    for disk in data_disks {
        let key = crate::blobs::disk_blob_key(&task.resource_id, disk.position);
        match blob_id(&task.region_id, &key) {
            Ok(blob) => disks.push(ExportDisk {
                blob,
                object: &disk.object,
                recorded: mappings.get(disk.position).and_then(recorded),
            }),
            Err(e) => return failed("InternalError", e),
        }
    }
    let sizes: Vec<u64> = disks
        .iter()
        .map(|d| app.blobs.size(&d.blob).unwrap_or(0))
        .collect();
    let total = sizes.iter().sum();
    let mut rep = reporter(app, task, total, cancel);
    let mut offset = 0;
    for (disk, size) in disks.iter().zip(sizes) {
        let local = match app.blobs.local(&disk.blob) {
            Ok(l) => l,
            Err(e) => return failed("ExportImageFailed", e),
        };
        let inspected = || app.qemu.inspect(local.path()).map(|i| i.disk_format());
        let source_format = match disk.recorded.map_or_else(inspected, |f| Ok(Some(f))) {
            Ok(Some(f)) => f,
            Ok(None) => {
                return failed(
                    "ExportImageFailed",
                    "the image's disk format is not exportable",
                );
            }
            Err(e) => return failed("ExportImageFailed", e),
        };
        // A redo after a crash: the killed attempt's half-written object is of no use.
        if let Err(err) = oss.sweep_dead_temps(bucket, disk.object) {
            tracing::warn!(error = %err, task = %task.id, "sweeping unfinished exports failed");
        }
        let mut progress = |done: u64| rep.report(offset + done);
        let exported = export_disk(
            app,
            task,
            (bucket, disk.object),
            (local.path(), source_format),
            target,
            &mut progress,
            cancel,
        );
        match exported {
            Ok(()) => offset += size,
            Err(_) if cancel.load(Ordering::SeqCst) => return Outcome::Cancelled,
            Err(e) => return failed("ExportImageFailed", e),
        }
    }
    Outcome::Done { disks: Vec::new() }
}

/// Writes one disk's bytes (`source`, in its format) as the object `bucket/object` in `target`.
fn export_disk(
    app: &AppState,
    task: &Task,
    (bucket, object): (&str, &str),
    (source, source_format): (&std::path::Path, DiskFormat),
    target: DiskFormat,
    progress: &mut dyn FnMut(u64),
    cancel: &AtomicBool,
) -> Result<(), String> {
    let Some(oss) = app.oss.as_ref() else {
        return Err("no --oss-root is configured".into());
    };
    let error = |e: &dyn std::fmt::Display| e.to_string();
    // qemu-img cannot be slowed down, and a tar archive needs its member's size first: both
    // convert to a scratch file, then stream it out (at the configured rate).
    let scratch_of = |format: DiskFormat| -> Result<AtomicFile, String> {
        let path = app.settings.data_dir.join("scratch").join(format!(
            "{}.{}",
            task.id,
            format.extension()
        ));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| error(&e))?;
        }
        let scratch = AtomicFile::create(&path).map_err(|e| error(&e))?;
        let mut plain = Transfer::new().cancel_on(cancel);
        app.qemu
            .convert(source, source_format, scratch.path(), format, &mut plain)
            .map_err(|e| error(&e))?;
        Ok(scratch)
    };
    let mut ctl = Transfer::new()
        .cancel_on(cancel)
        .on_progress(progress)
        .throttle(app.settings.task_bytes_per_second);
    if target == DiskFormat::Raw {
        let scratch = if source_format == DiskFormat::Raw {
            None
        } else {
            Some(scratch_of(DiskFormat::Raw)?)
        };
        let raw = scratch.as_ref().map_or(source, AtomicFile::path);
        let mut file = std::fs::File::open(raw).map_err(|e| error(&e))?;
        let size = file.metadata().map_err(|e| error(&e))?.len();
        let member = object
            .strip_suffix(crate::handlers::tasks::RAW_ARCHIVE_SUFFIX)
            .unwrap_or(object);
        let member = member.rsplit('/').next().unwrap_or(member);
        return oss
            .write_tar_gz_object(bucket, object, member, size, &mut file, &mut ctl)
            .map_err(|e| error(&e));
    }
    if app.settings.task_bytes_per_second.is_some() {
        let scratch = scratch_of(target)?;
        let mut file = std::fs::File::open(scratch.path()).map_err(|e| error(&e))?;
        return oss
            .write_object(bucket, object, &mut file, &mut ctl)
            .map(|_| ())
            .map_err(|e| error(&e));
    }
    let out = oss.create_object(bucket, object).map_err(|e| error(&e))?;
    let dst_path = out.path().to_path_buf();
    app.qemu
        .convert(source, source_format, &dst_path, target, &mut ctl)
        .map_err(|e| error(&e))?;
    out.commit().map_err(|e| error(&e))
}

/// One blob a copy clones: the source's and the copy's key, and the source's checksum when
/// one was recorded.
struct CopyDisk {
    position: usize,
    src: BlobId,
    dst: BlobId,
    recorded: Option<String>,
}

/// The blobs of a copy: the source's system disk (a public image's is made on first use) and
/// every data disk that has bytes of its own.
fn copy_disks(
    app: &AppState,
    task: &Task,
    source_region: &str,
    source_id: &str,
) -> Result<Vec<CopyDisk>, String> {
    let source = app
        .store
        .read(|tx| Ok(tx.image(source_region, source_id)?))
        .map_err(|e| e.to_string())?;
    // The checksum recorded when the source's bytes were written; older images are hashed
    // when copied.
    let recorded = source.as_ref().and_then(|i| i.blob_sha256.clone());
    let system = image_blob_of(app, source_region, source_id, recorded)?;
    let dst = blob_id(&task.region_id, &task.resource_id)?;
    let mut disks = vec![CopyDisk {
        position: 0,
        src: system.id,
        dst,
        recorded: system.checksum,
    }];
    let mappings = source.map(|i| i.disk_mappings).unwrap_or_default();
    for (position, mapping) in mappings.into_iter().enumerate() {
        if position == 0 || mapping.blob_sha256.is_none() {
            continue;
        }
        disks.push(CopyDisk {
            position,
            src: blob_id(
                source_region,
                &crate::blobs::disk_blob_key(source_id, position),
            )?,
            dst: blob_id(
                &task.region_id,
                &crate::blobs::disk_blob_key(&task.resource_id, position),
            )?,
            recorded: mapping.blob_sha256,
        });
    }
    Ok(disks)
}

fn copy(
    app: &AppState,
    task: &Task,
    source_region: &str,
    source_id: &str,
    cancel: &AtomicBool,
) -> Outcome {
    let disks = match copy_disks(app, task, source_region, source_id) {
        Ok(d) => d,
        Err(e) => return failed("CopyImageFailed", e),
    };
    let mut expected = Vec::with_capacity(disks.len());
    let mut total = 0;
    for disk in &disks {
        match disk
            .recorded
            .clone()
            .map_or_else(|| app.blobs.checksum(&disk.src, Algorithm::DEFAULT), Ok)
        {
            Ok(sum) => expected.push(sum),
            Err(e) => return failed("CopyImageFailed", e),
        }
        total += app.blobs.size(&disk.src).unwrap_or(0);
    }
    let mut rep = reporter(app, task, total, cancel);
    let mut offset = 0;
    let mut written = Vec::with_capacity(disks.len());
    for (disk, expected) in disks.iter().zip(expected) {
        let mut progress = |done: u64| rep.report(offset + done);
        let mut ctl = Transfer::new()
            .cancel_on(cancel)
            .on_progress(&mut progress)
            .throttle(app.settings.task_bytes_per_second);
        match app
            .blobs
            .clone_blob(&disk.src, &disk.dst, Some(&expected), &mut ctl)
        {
            // A streamed copy's checksum is computed from the bytes written, with the algorithm
            // `expected` names; they must be the source's. A shared-storage clone reports the
            // source's recorded one (same bytes).
            Ok(cloned) if cloned.info.checksum == expected => {
                offset += cloned.info.size;
                written.push(DiskBytes {
                    position: disk.position,
                    checksum: cloned.info.checksum,
                    format: None,
                    virtual_size: None,
                });
            }
            Ok(_) => {
                return failed(
                    "CopyImageFailed",
                    "the copied bytes do not match the source's checksum",
                );
            }
            Err(_) if cancel.load(Ordering::SeqCst) => return Outcome::Cancelled,
            Err(e) => return failed("CopyImageFailed", e),
        }
    }
    Outcome::Done { disks: written }
}

/// Ends the task and its image in one transaction — unless it was cancelled (or taken over)
/// meanwhile, in which case the cancelling side already settled both.
fn finish(app: &AppState, task: &Task, outcome: Outcome, owner: &str) {
    let now: Millis = app.clock.now();
    let node = owner;
    let result = app.store.write(|tx| {
        let Some(mut current) = tx.task(&task.id)? else {
            return Ok(());
        };
        if current.status.is_done() || current.lease_owner.as_deref() != Some(node) {
            return Ok(());
        }
        let image = tx.image(&current.region_id, &current.resource_id)?;
        match &outcome {
            Outcome::Done { disks } => {
                current.status = TaskStatus::Finished;
                current.bytes_done = current.bytes_total;
                if let Some(mut image) = image.filter(|i| !i.is_deleted()) {
                    if image.status == ImageStatus::Creating {
                        image.status = ImageStatus::Available;
                    }
                    record_disks(&mut image, disks);
                    tx.put_image(&image)?;
                }
            }
            Outcome::Cancelled => {
                crate::handlers::tasks::cancel_in_tx(tx, &mut current, now)?;
                return Ok(());
            }
            Outcome::Failed { code, message } => {
                current.status = TaskStatus::Failed;
                current.error_code = Some((*code).to_string());
                current.error_message = Some(without_local_paths(app, message));
                if let Some(mut image) =
                    image.filter(|i| !i.is_deleted() && i.status != ImageStatus::Available)
                {
                    image.status = ImageStatus::CreateFailed;
                    tx.put_image(&image)?;
                }
            }
        }
        current.finished_at = Some(now);
        current.lease_owner = None;
        current.lease_until = None;
        Ok(tx.put_task(&current)?)
    });
    if result.is_ok() {
        // A deleted (e.g. cancelled) image's bytes, and a deleted copy source's that only this
        // copy kept alive, are freed now that nothing reads them.
        crate::blobs::release_image_if_unused(app, &task.region_id, &task.resource_id);
        if let TaskWork::Copy {
            source_region,
            source_image_id,
        } = &task.work
        {
            crate::blobs::release_image_if_unused(app, source_region, source_image_id);
        }
    }
    match (&outcome, result) {
        (_, Err(err)) => {
            tracing::warn!(error = %err, task = %task.id, "finishing a task failed; it will be retried")
        }
        (Outcome::Failed { message, .. }, Ok(())) => {
            tracing::info!(task = %task.id, reason = %message, "task failed")
        }
        (_, Ok(())) => tracing::info!(task = %task.id, "task ended"),
    }
}

/// Records what was written for each disk: the system disk's checksum and size on the image,
/// each disk's detected format and size (never below the declared size) on its mapping, and a
/// data disk's checksum on its mapping.
fn record_disks(image: &mut Image, disks: &[DiskBytes]) {
    for disk in disks {
        let size_gib = disk
            .virtual_size
            .map(|size| i64::try_from(size.div_ceil(GIB).max(1)).unwrap_or(i64::MAX));
        if disk.position == 0 {
            image.blob_sha256 = Some(disk.checksum.clone());
            if let Some(size) = size_gib {
                image.size_gib = size;
            }
        }
        let Some(mapping) = image.disk_mappings.get_mut(disk.position) else {
            continue;
        };
        if disk.position > 0 {
            mapping.blob_sha256 = Some(disk.checksum.clone());
        }
        if let Some(format) = disk.format {
            mapping.format = format.ecs_name().to_string();
        }
        if let Some(size) = size_gib {
            mapping.size_gib = mapping.size_gib.max(size);
        }
    }
}

/// Error texts from `qemu-img` name files by their path on this machine; callers see the
/// image, not the server's directories.
fn without_local_paths(app: &AppState, message: &str) -> String {
    let mut text = message.to_string();
    let roots = [
        Some(app.settings.data_dir.clone()),
        app.settings.oss_root.clone(),
    ];
    for root in roots.into_iter().flatten() {
        let absolute = std::path::absolute(&root).unwrap_or(root);
        for form in [absolute.join("blobs"), absolute] {
            let prefix = format!("{}/", form.display());
            text = text.replace(&prefix, "");
        }
    }
    text
}

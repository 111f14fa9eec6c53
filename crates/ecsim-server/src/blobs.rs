//! Where the server's bytes come from: blob ids for images and snapshots, and the small real
//! disk files standing in for the public system images, made on first use.

use crate::state::AppState;
use ecsim_blob::{Algorithm, BlobError, BlobId, Transfer};
use ecsim_core::catalog::SYSTEM_IMAGES;
use ecsim_core::model::{DiskType, Image};
use std::io::Read;

/// Virtual size of a system image's stand-in disk: small enough to copy in milliseconds, a real
/// raw disk `qemu-img` reads. The image's `Size` (GiB) stays what ECS shows.
const SYSTEM_BLOB_BYTES: u64 = 8 * 1024 * 1024;

pub fn blob_id(region: &str, key: &str) -> Result<BlobId, String> {
    BlobId::new(region, key).map_err(|e| e.to_string())
}

/// The blob key of the disk at `position` in an image's `disk_mappings`: the system disk
/// (position 0) is the image id itself, a data disk `{image}.disk{position}`. Positions are
/// stable: mappings are fixed when the image is made and a copy keeps their order.
pub fn disk_blob_key(image_id: &str, position: usize) -> String {
    if position == 0 {
        image_id.to_string()
    } else {
        format!("{image_id}.disk{position}")
    }
}

/// Every blob key `image` may have bytes under: the system disk's and each data disk's.
/// Snapshot-backed data disks have none; deleting a blob that does not exist is a no-op.
fn image_blob_keys(image: &Image) -> Vec<String> {
    std::iter::once(disk_blob_key(&image.id, 0))
        .chain(
            image
                .disk_mappings
                .iter()
                .enumerate()
                .filter(|(position, m)| *position > 0 && m.kind == DiskType::Data)
                .map(|(position, _)| disk_blob_key(&image.id, position)),
        )
        .collect()
}

/// A blob to clone from, with the checksum recorded when its bytes were written (BLAKE3, or
/// SHA-256 for older bytes: see `ecsim_blob::checksum`); `None` when none was (bytes written
/// before checksums were recorded), and a clone then reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceBlob {
    pub id: BlobId,
    pub checksum: Option<String>,
}

/// The system-disk blob of image `region/image_id` with its recorded checksum. A public system
/// image's stand-in is written on first use and its checksum recorded on the image's row then;
/// a stand-in written before checksums were recorded is hashed once, on its next use, and
/// recorded the same way. Other images carry the checksum their bytes were written with.
pub fn image_blob(app: &AppState, region: &str, image_id: &str) -> Result<SourceBlob, String> {
    let image = app
        .store
        .read(|tx| Ok(tx.image(region, image_id)?))
        .map_err(|e| e.to_string())?;
    image_blob_of(app, region, image_id, image.and_then(|i| i.blob_sha256))
}

/// [`image_blob`] for a caller that has read the image already: `recorded` is its
/// `blob_sha256`.
pub fn image_blob_of(
    app: &AppState,
    region: &str,
    image_id: &str,
    recorded: Option<String>,
) -> Result<SourceBlob, String> {
    let id = blob_id(region, image_id)?;
    let Some(system) = SYSTEM_IMAGES.iter().find(|s| s.id == image_id) else {
        return Ok(SourceBlob {
            id,
            checksum: recorded,
        });
    };
    let checksum = match app.blobs.size(&id) {
        Ok(_) => match recorded {
            Some(sum) => {
                return Ok(SourceBlob {
                    id,
                    checksum: Some(sum),
                });
            }
            None => app
                .blobs
                .checksum(&id, Algorithm::DEFAULT)
                .map_err(|e| e.to_string())?,
        },
        Err(BlobError::NotFound(_)) => {
            let header = format!("ecsim system image {} ({})\n", system.id, system.os_name_en);
            let mut bytes = std::io::Cursor::new(header.into_bytes()).chain(std::io::repeat(0));
            let mut sized = (&mut bytes).take(SYSTEM_BLOB_BYTES);
            app.blobs
                .put(&id, &mut sized, &mut Transfer::new())
                .map_err(|e| e.to_string())?
                .checksum
        }
        Err(e) => return Err(e.to_string()),
    };
    record_system_checksum(app, region, image_id, &checksum);
    Ok(SourceBlob {
        id,
        checksum: Some(checksum),
    })
}

/// Records a system image's stand-in checksum on its row. A failure costs only a re-hash on a
/// later use, so it is logged, not returned.
fn record_system_checksum(app: &AppState, region: &str, image_id: &str, checksum: &str) {
    let result = app.store.write(|tx| {
        let Some(mut image) = tx.image(region, image_id)?.filter(Image::is_system) else {
            return Ok(());
        };
        if image.blob_sha256.as_deref() != Some(checksum) {
            image.blob_sha256 = Some(checksum.to_string());
            tx.put_image(&image)?;
        }
        Ok(())
    });
    if let Err(err) = result {
        tracing::warn!(error = %err, region, image_id, "recording a system image's checksum failed");
    }
}

/// Deletes a blob nothing references any more; a failure only leaves a file behind.
pub fn release(app: &AppState, region: &str, key: &str) {
    let deleted =
        blob_id(region, key).and_then(|id| app.blobs.delete(&id).map_err(|e| e.to_string()));
    if let Err(err) = deleted {
        tracing::warn!(error = %err, region, key, "releasing image bytes failed");
    }
}

/// Deletes an image's bytes once nothing needs them any more: the image is deleted, no instance
/// in its region runs from it (a Force-deleted image keeps its bytes for them), no unfinished
/// copy reads it, and no progressing snapshot of such an instance's disk still has to clone them.
/// Call after every commit that can drop the last reference — DeleteImage, DeleteInstance(s),
/// the end of a copy, an import or a snapshot. Once an image is deleted its references only ever
/// decrease (nothing new can run from, copy or snapshot it), so checking after the commit is
/// race-free: whichever caller drops the last reference frees the bytes, and a second release
/// finds nothing to delete. Only an image row that exists and is deleted qualifies: ids that are
/// not images (or not in this store) are never freed here. Returns whether the bytes went.
/// All of the image's blobs go together: the system disk's and every data disk's.
pub fn release_image_if_unused(app: &AppState, region: &str, image_id: &str) -> bool {
    let unused = app.store.read(|tx| {
        let Some(image) = tx.image(region, image_id)?.filter(Image::is_deleted) else {
            return Ok(None);
        };
        unused_blob_keys(tx, &image)
    });
    match unused {
        Ok(Some(keys)) => {
            release_keys(app, region, &keys);
            true
        }
        Ok(None) => false,
        Err(err) => {
            tracing::warn!(error = %err, region, image_id, "checking an image's references failed");
            false
        }
    }
}

/// The blob keys of `image` (deleted, or being deleted in `tx`) when nothing needs its bytes
/// any more: no instance in its region runs from it, no unfinished copy reads it, and no
/// progressing snapshot still clones them (see [`release_image_if_unused`]). Asked inside the
/// transaction that deletes the image, the answer holds after its commit: from then on the
/// references only decrease.
pub fn unused_blob_keys(
    tx: &mut dyn ecsim_store::Tx,
    image: &Image,
) -> Result<Option<Vec<String>>, ecsim_wire::ApiError> {
    let (region, image_id) = (image.region_id.as_str(), image.id.as_str());
    if tx.instances_using_image(region, image_id)? > 0 || tx.open_copy_of(image_id)? {
        return Ok(None);
    }
    // Every progressing snapshot, whenever due (there are few at any time).
    let snapshotting = tx
        .due_snapshots(ecsim_core::Millis::MAX)?
        .iter()
        .filter_map(|s| s.blob_source.as_ref())
        .any(|source| source.region == region && source.key == image_id);
    Ok((!snapshotting).then(|| image_blob_keys(image)))
}

/// Deletes the blobs `keys` of an image whose bytes nothing needs ([`unused_blob_keys`]).
pub fn release_keys(app: &AppState, region: &str, keys: &[String]) {
    for key in keys {
        release(app, region, key);
    }
}

// Cloning creations' bytes: the completion worker's rounds and an instant CreateImage from an
// instance (`handlers::images::prepare_instant`) queue their clones in a [`Batch`], run it once
// (one `clone_blobs`: each directory fsynced once for all) and read each job's outcome from
// [`Done`].

/// How a creation's bytes are made in a round.
#[derive(Debug, Clone, Copy)]
pub enum Plan {
    /// There are none to move (a disk made from no image).
    Nothing,
    /// Job `n` of the round's [`Batch`] clones them.
    Clone(usize),
    /// The source could not even be named or found; the creation fails.
    Failed,
}

/// The clones of one round, run together by `BlobStore::clone_blobs`.
#[derive(Default)]
pub struct Batch {
    jobs: Vec<(SourceBlob, BlobId)>,
}

impl Batch {
    /// Queues cloning `source` to `region/key`.
    pub fn add(&mut self, source: Result<SourceBlob, String>, region: &str, key: &str) -> Plan {
        match source.and_then(|source| Ok((source, blob_id(region, key)?))) {
            Ok(job) => {
                self.jobs.push(job);
                Plan::Clone(self.jobs.len() - 1)
            }
            Err(err) => {
                tracing::warn!(error = %err, target = key, "cloning bytes failed");
                Plan::Failed
            }
        }
    }

    /// The recorded checksum of the source a plan clones from.
    pub fn source_checksum(&self, plan: Plan) -> Option<String> {
        match plan {
            Plan::Clone(n) => self.jobs[n].0.checksum.clone(),
            Plan::Nothing | Plan::Failed => None,
        }
    }

    /// Where a plan's job clones to.
    pub fn destination(&self, plan: Plan) -> Option<&BlobId> {
        match plan {
            Plan::Clone(n) => self.jobs.get(n).map(|(_, dst)| dst),
            Plan::Nothing | Plan::Failed => None,
        }
    }

    /// Clones everything, then checks each clone against its source's recorded checksum.
    pub fn run(self, app: &AppState) -> Done {
        let jobs: Vec<ecsim_blob::CloneJob<'_>> = self
            .jobs
            .iter()
            .map(|(source, dst)| ecsim_blob::CloneJob {
                src: &source.id,
                dst,
                src_checksum: source.checksum.as_deref(),
            })
            .collect();
        let results = app.blobs.clone_blobs(&jobs);
        let checked = self
            .jobs
            .iter()
            .zip(results)
            .map(|((source, dst), result)| {
                let checked = result
                    .map_err(|e| e.to_string())
                    .and_then(|cloned| verified(source.checksum.as_deref(), &cloned));
                match checked {
                    Ok(sum) => Cloned::Bytes(sum),
                    Err(err) => {
                        // Nothing will refer to bytes that failed their check or half a clone.
                        let _ = app.blobs.delete(dst);
                        tracing::warn!(error = %err, source = %source.id, target = %dst, "cloning bytes failed");
                        Cloned::Failed
                    }
                }
            })
            .collect();
        Done(checked)
    }
}

/// The outcome of each job of a [`Batch`].
pub struct Done(Vec<Cloned>);

impl Done {
    pub fn of(&self, plan: Plan) -> Cloned {
        match plan {
            Plan::Nothing => Cloned::Nothing,
            Plan::Clone(n) => self.0.get(n).cloned().unwrap_or(Cloned::Failed),
            Plan::Failed => Cloned::Failed,
        }
    }
}

/// What cloning a creation's bytes gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cloned {
    /// There were none to move.
    Nothing,
    /// In place, with the checksum of the bytes now under the creation's key.
    Bytes(String),
    /// Cloning failed; the creation fails.
    Failed,
}

impl Cloned {
    pub fn succeeded(&self) -> bool {
        !matches!(self, Cloned::Failed)
    }

    pub fn checksum(&self) -> Option<String> {
        match self {
            Cloned::Bytes(sum) => Some(sum.clone()),
            Cloned::Nothing | Cloned::Failed => None,
        }
    }
}

/// The checksum to record for a clone of a source whose bytes were recorded with `expected`.
/// A clone that shares storage reports `expected` itself (blobs never change, so it still
/// holds; that is what spares re-reading them); one that streamed the bytes computed their
/// checksum (with the algorithm `expected` names), which must equal the recorded one — the check
/// CopyImage makes — or the bytes are not what the source was written with and the creation
/// fails.
pub fn verified(expected: Option<&str>, cloned: &ecsim_blob::Cloned) -> Result<String, String> {
    match expected {
        Some(expected) if !cloned.linked && cloned.info.checksum != expected => Err(format!(
            "the cloned bytes (checksum {}) do not match the source's recorded checksum {expected}",
            cloned.info.checksum
        )),
        _ => Ok(cloned.info.checksum.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::verified;
    use ecsim_blob::{BlobInfo, Cloned};

    fn clone_of(checksum: &str, linked: bool) -> Cloned {
        Cloned {
            info: BlobInfo {
                size: 8,
                checksum: checksum.to_string(),
            },
            linked,
        }
    }

    #[test]
    fn a_streamed_clone_must_match_the_recorded_checksum() {
        let (recorded, other) = ("a".repeat(64), "b".repeat(64));
        assert_eq!(
            verified(Some(&recorded), &clone_of(&recorded, false)),
            Ok(recorded.clone())
        );
        let refused = verified(Some(&recorded), &clone_of(&other, false));
        assert!(
            refused.as_ref().is_err_and(|e| e.contains(&other)),
            "{refused:?}"
        );
    }

    #[test]
    fn a_shared_clone_keeps_the_recorded_checksum_and_an_unrecorded_source_is_hashed() {
        let recorded = "a".repeat(64);
        // The store hands back the known checksum for a link (same inode, same bytes).
        assert_eq!(
            verified(Some(&recorded), &clone_of(&recorded, true)),
            Ok(recorded.clone())
        );
        // Nothing recorded: whatever the store read back is what is recorded now.
        let read_back = "c".repeat(64);
        assert_eq!(
            verified(None, &clone_of(&read_back, true)),
            Ok(read_back.clone())
        );
        assert_eq!(verified(None, &clone_of(&read_back, false)), Ok(read_back));
    }
}

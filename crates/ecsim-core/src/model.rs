//! The resources ecsim keeps, as plain values. Enums carry their exact wire spelling.

use crate::Millis;
use serde::{Deserialize, Serialize};

pub type AccountId = i64;

/// Defines a wire enum: exact spelling out, case-sensitive parse in.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(ImageStatus {
    Creating => "Creating",
    Waiting => "Waiting",
    Available => "Available",
    UnAvailable => "UnAvailable",
    CreateFailed => "CreateFailed",
    Deprecated => "Deprecated",
});

wire_enum!(OsType { Linux => "linux", Windows => "windows" });

wire_enum!(Architecture { I386 => "i386", X86_64 => "x86_64", Arm64 => "arm64" });

wire_enum!(BootMode { Bios => "BIOS", Uefi => "UEFI", UefiPreferred => "UEFI-Preferred" });

wire_enum!(OwnerAlias {
    System => "system",
    SelfOwned => "self",
    Others => "others",
    Marketplace => "marketplace",
});

wire_enum!(InstanceStatus {
    Pending => "Pending",
    Running => "Running",
    Starting => "Starting",
    Stopping => "Stopping",
    Stopped => "Stopped",
});

wire_enum!(DiskType { System => "system", Data => "data" });

wire_enum!(SnapshotStatus {
    Progressing => "progressing",
    Accomplished => "accomplished",
    Failed => "failed",
});

wire_enum!(ResourceType {
    Image => "image",
    Instance => "instance",
    Snapshot => "snapshot",
    Disk => "disk",
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskMapping {
    pub device: String,
    pub kind: DiskType,
    pub size_gib: i64,
    pub snapshot_id: Option<String>,
    pub format: String,
    /// Where ImportImage read this disk from.
    #[serde(default)]
    pub import_oss_bucket: String,
    #[serde(default)]
    pub import_oss_object: String,
    /// Checksum of a data disk's own bytes (blob `{image}.disk{position}`, see
    /// `ecsim-server` `blobs`), taken when they were written; `None` when the disk has no
    /// bytes of its own (a snapshot-backed disk) or is the system disk (`Image::blob_sha256`).
    /// The value names its algorithm (`blake3:<hex>`; bare hex is SHA-256, as recorded before
    /// BLAKE3, see `ecsim_blob::checksum`); the field keeps its first name so stored documents
    /// keep reading.
    #[serde(default)]
    pub blob_sha256: Option<String>,
}

/// An image. System images have no owner. A deleted image keeps its row as a tombstone, so a
/// repeated DeleteImage from its owner is recognised and ignored (design.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub id: String,
    pub region_id: String,
    pub owner: Option<AccountId>,
    pub name: String,
    pub description: String,
    pub family: String,
    pub version: String,
    pub status: ImageStatus,
    pub os_type: OsType,
    pub os_name: String,
    pub os_name_en: String,
    pub platform: String,
    pub architecture: Architecture,
    pub boot_mode: BootMode,
    pub size_gib: i64,
    pub license_type: String,
    pub imds_support: String,
    pub nvme_support: String,
    pub is_copied: bool,
    /// Published as a community image.
    pub is_public: bool,
    /// Built from encrypted snapshots (CopyImage with `Encrypted`); such images cannot be
    /// shared or published.
    #[serde(default)]
    pub encrypted: bool,
    pub created_at: Millis,
    /// While `Creating`: when creation completes. Progress is derived from it.
    pub ready_at: Option<Millis>,
    pub deleted_at: Option<Millis>,
    pub source_instance_id: Option<String>,
    pub disk_mappings: Vec<DiskMapping>,
    /// While a timed creation runs: the blob its bytes are cloned from when it completes.
    #[serde(default)]
    pub blob_source: Option<BlobRef>,
    /// Checksum of the image's bytes, taken when they were written, so a copy can be verified
    /// without reading the source again (`blake3:<hex>`, or bare hex for SHA-256 as recorded
    /// before BLAKE3; see `DiskMapping::blob_sha256`).
    #[serde(default)]
    pub blob_sha256: Option<String>,
}

/// A blob in the byte store: `region/key` (images by id, snapshots by id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlobRef {
    pub region: String,
    pub key: String,
}

impl Image {
    pub fn is_system(&self) -> bool {
        self.owner.is_none()
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// Creation progress as ECS shows it: `"0%"` … `"100%"`.
    pub fn progress(&self, now: Millis) -> String {
        format!(
            "{}%",
            progress_percent(
                self.created_at,
                self.ready_at,
                now,
                matches!(self.status, ImageStatus::Creating | ImageStatus::Waiting)
            )
        )
    }
}

/// Percentage of a timed creation; `running` false means it already ended.
pub fn progress_percent(started: Millis, ready: Option<Millis>, now: Millis, running: bool) -> i64 {
    match (running, ready) {
        (false, _) => 100,
        // No timer: the work is measured elsewhere (a task); nothing is known done yet.
        (true, None) => 0,
        (true, Some(ready)) if ready <= started => 99,
        // Never show 100% while the status still says it is running.
        (true, Some(ready)) => ((now - started).max(0) * 100 / (ready - started)).clamp(0, 99),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    pub owner: AccountId,
    pub region_id: String,
    pub zone_id: String,
    pub name: String,
    pub instance_type: String,
    pub image_id: String,
    pub status: InstanceStatus,
    pub cpu: u32,
    pub memory_mib: u32,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disk {
    pub id: String,
    pub owner: AccountId,
    pub region_id: String,
    pub zone_id: String,
    pub instance_id: Option<String>,
    pub kind: DiskType,
    pub device: String,
    pub category: String,
    pub size_gib: i64,
    /// The image the disk was created from (system disks).
    pub image_id: Option<String>,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub id: String,
    pub owner: AccountId,
    pub region_id: String,
    pub name: String,
    pub description: String,
    pub source_disk_id: String,
    pub source_disk_type: DiskType,
    pub source_disk_size_gib: i64,
    /// The image the source disk was created from, so an image built from this snapshot can
    /// inherit its OS description.
    pub source_image_id: Option<String>,
    pub status: SnapshotStatus,
    pub created_at: Millis,
    pub ready_at: Option<Millis>,
    /// While `progressing`: the blob its bytes are cloned from when it completes.
    #[serde(default)]
    pub blob_source: Option<BlobRef>,
    /// Checksum of the snapshot's bytes (blob `region/id`; its form as for
    /// `DiskMapping::blob_sha256`), taken when they were written, so an image made from it need
    /// not read them again. `None` for snapshots of disks with no image, and for snapshots
    /// completed before checksums were recorded (their bytes are hashed when an image is made
    /// from them).
    #[serde(default)]
    pub blob_sha256: Option<String>,
}

impl Snapshot {
    /// A new snapshot of `disk`, `progressing` from `now` until `ready_at`.
    pub fn of_disk(
        id: String,
        disk: &Disk,
        name: String,
        description: String,
        now: Millis,
        ready_at: Millis,
    ) -> Self {
        Snapshot {
            id,
            owner: disk.owner,
            region_id: disk.region_id.clone(),
            name,
            description,
            source_disk_id: disk.id.clone(),
            source_disk_type: disk.kind,
            source_disk_size_gib: disk.size_gib,
            source_image_id: disk.image_id.clone(),
            status: SnapshotStatus::Progressing,
            created_at: now,
            ready_at: Some(ready_at),
            blob_source: disk.image_id.as_ref().map(|image| BlobRef {
                region: disk.region_id.clone(),
                key: image.clone(),
            }),
            blob_sha256: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub id: String,
    pub local_name_en: String,
    pub local_name_zh: String,
    pub endpoint: String,
    pub zones: Vec<String>,
}

wire_enum!(TaskAction {
    ImportImage => "ImportImage",
    ExportImage => "ExportImage",
    CopyImage => "CopyImage",
});

wire_enum!(TaskStatus {
    Waiting => "Waiting",
    Processing => "Processing",
    Finished => "Finished",
    Failed => "Failed",
});

impl TaskStatus {
    pub fn is_done(self) -> bool {
        matches!(self, TaskStatus::Finished | TaskStatus::Failed)
    }
}

/// What a task moves, with everything the worker needs to redo it after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskWork {
    /// Bytes from `--oss-root/bucket/object` into the image's blob, then inspection.
    Import {
        bucket: String,
        object: String,
        declared_format: Option<String>,
    },
    /// The image's blob converted into `--oss-root/bucket/object`, and each data disk with
    /// bytes of its own into its object.
    Export {
        bucket: String,
        object: String,
        format: String,
        /// Tasks recorded before data disks were exported have none.
        #[serde(default)]
        data_disks: Vec<ExportedDisk>,
    },
    /// The source image's blob into the copy's blob, in the copy's region.
    Copy {
        source_region: String,
        source_image_id: String,
    },
}

/// A data disk an ExportImage writes: its position in the image's disk mappings and the
/// object it becomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedDisk {
    pub position: usize,
    pub object: String,
}

/// A long-running, durable unit of work: ImportImage, ExportImage, CopyImage. A worker holds a
/// lease on it while moving bytes; an expired lease lets another worker (or this node after a
/// restart) take it over, so no task is ever stuck.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub owner: AccountId,
    pub region_id: String,
    pub action: TaskAction,
    pub status: TaskStatus,
    /// The image the task creates or reads.
    pub resource_id: String,
    pub work: TaskWork,
    pub created_at: Millis,
    pub finished_at: Option<Millis>,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub cancel_requested: bool,
    pub lease_owner: Option<String>,
    pub lease_until: Option<Millis>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

impl Task {
    /// `TaskProcess` as ECS shows it: `"0%"` … `"100%"`.
    pub fn percent(&self) -> u64 {
        match (self.status, self.bytes_total) {
            (TaskStatus::Finished, _) => 100,
            (_, 0) => 0,
            (_, total) => (self.bytes_done.min(total) * 100 / total).min(99),
        }
    }
}

/// A secret that never shows in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

wire_enum!(KeyStatus { Active => "Active", Inactive => "Inactive" });

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub id: String,
    pub secret: Secret,
    pub account_id: AccountId,
    pub status: KeyStatus,
    pub created_at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_enums_round_trip_their_spelling() {
        for s in ImageStatus::ALL {
            assert_eq!(ImageStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(
            BootMode::parse("UEFI-Preferred"),
            Some(BootMode::UefiPreferred)
        );
        assert_eq!(OwnerAlias::parse("self"), Some(OwnerAlias::SelfOwned));
        assert_eq!(ImageStatus::parse("available"), None);
    }

    #[test]
    fn progress_never_reaches_100_while_running() {
        assert_eq!(progress_percent(0, Some(1000), 0, true), 0);
        assert_eq!(progress_percent(0, Some(1000), 500, true), 50);
        assert_eq!(progress_percent(0, Some(1000), 5000, true), 99);
        assert_eq!(progress_percent(0, Some(1000), 5000, false), 100);
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let k = AccessKey {
            id: "LTAI".into(),
            secret: Secret::new("hunter2"),
            account_id: 1,
            status: KeyStatus::Active,
            created_at: 0,
        };
        assert!(!format!("{k:?}").contains("hunter2"));
    }

    /// Snapshot documents written before checksums were recorded still read (the stores keep
    /// snapshots as JSON documents, so the new field needs no schema migration).
    #[test]
    fn snapshot_documents_without_a_checksum_still_read() {
        let disk = Disk {
            id: "d-1".into(),
            owner: 1,
            region_id: "cn-hangzhou".into(),
            zone_id: "cn-hangzhou-i".into(),
            instance_id: None,
            kind: DiskType::System,
            device: "/dev/xvda".into(),
            category: "cloud_essd".into(),
            size_gib: 20,
            image_id: Some("m-1".into()),
            created_at: 1,
        };
        let mut doc = serde_json::to_value(Snapshot::of_disk(
            "s-1".into(),
            &disk,
            String::new(),
            String::new(),
            1,
            2,
        ))
        .expect("serializes");
        let fields = doc.as_object_mut().expect("an object");
        assert!(fields.remove("blob_sha256").is_some());
        let snapshot: Snapshot = serde_json::from_value(doc).expect("an older document reads");
        assert_eq!(snapshot.blob_sha256, None);
        assert_eq!(snapshot.id, "s-1");
    }
}

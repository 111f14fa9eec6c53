//! The rules that decide whether an operation may proceed, as functions over values.

use crate::model::{AccountId, Image, ImageStatus, InstanceStatus, Snapshot, SnapshotStatus};
use ecsim_wire::{ApiError, Code};

/// What DeleteImage needs to know about an image besides the image itself. The store gathers
/// these inside the deleting transaction, so the decision and the delete see the same state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeletionFacts {
    /// The image is the target of a CopyImage still in progress.
    pub copying: bool,
    /// An ImportImage task for it has not finished.
    pub importing: bool,
    /// An ExportImage task for it has not finished.
    pub exporting: bool,
    /// Accounts on its share list.
    pub shared_accounts: u64,
    /// Non-released instances, of any account, whose current image is this one.
    pub instances_using: u64,
}

/// What DeleteImage will do with an id, before the blockers are looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteTarget {
    /// The caller's own image, not yet deleted.
    Live,
    /// The caller's own image, already deleted: the request is ignored (200).
    AlreadyDeleted,
}

/// Ownership and existence (spec §3.1 and design.md's tombstone rule): only the caller's own
/// custom images are deletable; any other id — unknown, system, another account's, shared to
/// the caller — is `InvalidImageId.NotFound`.
pub fn delete_target(image: Option<&Image>, caller: AccountId) -> Result<DeleteTarget, ApiError> {
    match image {
        Some(img) if img.owner == Some(caller) => Ok(if img.is_deleted() {
            DeleteTarget::AlreadyDeleted
        } else {
            DeleteTarget::Live
        }),
        _ => Err(ApiError::new(Code::InvalidImageIdNotFound)),
    }
}

/// The blockers of a live image, checked in the order of spec §3.1:
/// `ImageIsPublic` → copying → importing → exporting → `ImageIsCreating` → `ImageUseShared`
/// → (unless `force`) `ImageUsingByInstance`. `Force` bypasses only the last.
pub fn check_delete(image: &Image, facts: &DeletionFacts, force: bool) -> Result<(), ApiError> {
    let in_progress = matches!(image.status, ImageStatus::Creating | ImageStatus::Waiting);
    let blocker = if image.is_public {
        Some(Code::ImageIsPublic)
    } else if facts.copying || (in_progress && image.is_copied) {
        Some(Code::ImageCopying)
    } else if facts.importing {
        Some(Code::ImageIsImporting)
    } else if facts.exporting {
        Some(Code::ImageIsExporting)
    } else if in_progress {
        Some(Code::ImageIsCreating)
    } else if facts.shared_accounts > 0 {
        Some(Code::ImageUseShared)
    } else if facts.instances_using > 0 && !force {
        Some(Code::ImageUsingByInstance)
    } else {
        None
    };
    blocker.map_or(Ok(()), |code| Err(ApiError::new(code)))
}

/// Whether `caller` may see an image at all: its own, a system image, one shared to it, or a
/// community (public) image — never a deleted one.
pub fn image_visible_to(image: &Image, caller: AccountId, shared_with_caller: bool) -> bool {
    !image.is_deleted()
        && (image.is_system()
            || image.owner == Some(caller)
            || shared_with_caller
            || image.is_public)
}

/// RunInstances on an image the caller can see: only `Available` and `Deprecated` images launch.
pub fn check_launchable(image: &Image) -> Result<(), ApiError> {
    match image.status {
        ImageStatus::Available | ImageStatus::Deprecated => Ok(()),
        _ => Err(ApiError::new(Code::OperationDeniedImageNotValid)),
    }
}

/// CreateImage from an instance: it must be `Running` or `Stopped`.
pub fn check_instance_imageable(status: InstanceStatus) -> Result<(), ApiError> {
    match status {
        InstanceStatus::Running | InstanceStatus::Stopped => Ok(()),
        _ => Err(ApiError::new(Code::CreateImageIncorrectInstanceStatus)),
    }
}

/// CreateImage from a snapshot: it must be finished.
pub fn check_snapshot_usable(snapshot: &Snapshot) -> Result<(), ApiError> {
    match snapshot.status {
        SnapshotStatus::Accomplished => Ok(()),
        _ => Err(ApiError::new(Code::SnapshotNotReady)),
    }
}

/// DeleteInstance: a running instance goes only with `Force`.
pub fn check_instance_deletable(status: InstanceStatus, force: bool) -> Result<(), ApiError> {
    if status == InstanceStatus::Stopped || force {
        Ok(())
    } else {
        Err(ApiError::new(Code::IncorrectInstanceStatus))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Architecture, BootMode, OsType};
    use proptest::prelude::*;

    fn image(owner: Option<AccountId>, status: ImageStatus) -> Image {
        Image {
            id: "m-1".into(),
            region_id: "cn-hangzhou".into(),
            owner,
            name: "n".into(),
            description: String::new(),
            family: String::new(),
            version: String::new(),
            status,
            os_type: OsType::Linux,
            os_name: String::new(),
            os_name_en: String::new(),
            platform: "Aliyun".into(),
            architecture: Architecture::X86_64,
            boot_mode: BootMode::Bios,
            size_gib: 20,
            license_type: String::new(),
            imds_support: "v1".into(),
            nvme_support: "unsupported".into(),
            is_copied: false,
            is_public: false,
            created_at: 0,
            ready_at: None,
            deleted_at: None,
            source_instance_id: None,
            disk_mappings: vec![],
        }
    }

    fn code(r: Result<(), ApiError>) -> Option<&'static str> {
        r.err().map(|e| e.code().spec().1)
    }

    #[test]
    fn only_own_images_are_targets_and_tombstones_are_ignored() {
        let own = image(Some(7), ImageStatus::Available);
        assert_eq!(delete_target(Some(&own), 7), Ok(DeleteTarget::Live));
        assert_eq!(
            delete_target(Some(&own), 8).unwrap_err().code(),
            Code::InvalidImageIdNotFound
        );
        let system = image(None, ImageStatus::Available);
        assert!(delete_target(Some(&system), 7).is_err());
        assert!(delete_target(None, 7).is_err());
        let mut gone = own.clone();
        gone.deleted_at = Some(5);
        assert_eq!(
            delete_target(Some(&gone), 7),
            Ok(DeleteTarget::AlreadyDeleted)
        );
        assert!(delete_target(Some(&gone), 8).is_err());
    }

    #[test]
    fn force_bypasses_only_instance_use() {
        let img = image(Some(1), ImageStatus::Available);
        let used = DeletionFacts {
            instances_using: 2,
            ..Default::default()
        };
        assert_eq!(
            code(check_delete(&img, &used, false)),
            Some("ImageUsingByInstance")
        );
        assert_eq!(code(check_delete(&img, &used, true)), None);
        let shared = DeletionFacts {
            shared_accounts: 1,
            ..used
        };
        assert_eq!(
            code(check_delete(&img, &shared, true)),
            Some("ImageUseShared")
        );
        let mut public = img.clone();
        public.is_public = true;
        assert_eq!(
            code(check_delete(&public, &shared, true)),
            Some("ImageIsPublic")
        );
    }

    #[test]
    fn blockers_follow_the_spec_order() {
        let mut img = image(Some(1), ImageStatus::Creating);
        let all = DeletionFacts {
            copying: true,
            importing: true,
            exporting: true,
            shared_accounts: 1,
            instances_using: 1,
        };
        img.is_public = true;
        assert_eq!(code(check_delete(&img, &all, false)), Some("ImageIsPublic"));
        img.is_public = false;
        assert_eq!(
            code(check_delete(&img, &all, false)),
            Some("OperationDenied.ImageCopying")
        );
        let f = DeletionFacts {
            copying: false,
            ..all
        };
        assert_eq!(
            code(check_delete(&img, &f, false)),
            Some("ImageIsImporting")
        );
        let f = DeletionFacts {
            importing: false,
            ..f
        };
        assert_eq!(
            code(check_delete(&img, &f, false)),
            Some("ImageIsExporting")
        );
        let f = DeletionFacts {
            exporting: false,
            ..f
        };
        assert_eq!(code(check_delete(&img, &f, false)), Some("ImageIsCreating"));
        img.status = ImageStatus::Available;
        assert_eq!(code(check_delete(&img, &f, false)), Some("ImageUseShared"));
        let f = DeletionFacts {
            shared_accounts: 0,
            ..f
        };
        assert_eq!(
            code(check_delete(&img, &f, false)),
            Some("ImageUsingByInstance")
        );
        assert_eq!(code(check_delete(&img, &f, true)), None);
    }

    #[test]
    fn copies_in_progress_report_copying_not_creating() {
        let mut img = image(Some(1), ImageStatus::Waiting);
        img.is_copied = true;
        assert_eq!(
            code(check_delete(&img, &DeletionFacts::default(), true)),
            Some("OperationDenied.ImageCopying")
        );
    }

    #[test]
    fn failed_and_unavailable_images_are_deletable() {
        for status in [
            ImageStatus::CreateFailed,
            ImageStatus::UnAvailable,
            ImageStatus::Deprecated,
        ] {
            let img = image(Some(1), status);
            assert_eq!(
                code(check_delete(&img, &DeletionFacts::default(), false)),
                None
            );
        }
    }

    proptest! {
        /// Force never turns a refusal other than ImageUsingByInstance into a success, and a
        /// refusal without Force is at least as strict as with it.
        #[test]
        fn force_is_monotone(copying: bool, importing: bool, exporting: bool, public: bool,
                             shared in 0u64..3, using in 0u64..3, status_idx in 0usize..6) {
            let mut img = image(Some(1), ImageStatus::ALL[status_idx]);
            img.is_public = public;
            let facts = DeletionFacts { copying, importing, exporting, shared_accounts: shared, instances_using: using };
            let forced = check_delete(&img, &facts, true);
            let plain = check_delete(&img, &facts, false);
            if let Err(e) = &forced {
                prop_assert_eq!(plain.clone().err().map(|p| p.code()), Some(e.code()));
            }
            if plain.is_ok() { prop_assert!(forced.is_ok()); }
            if let Err(e) = plain
                && forced.is_ok()
            {
                prop_assert_eq!(e.code(), Code::ImageUsingByInstance);
            }
        }
    }

    #[test]
    fn visibility() {
        let mut img = image(Some(1), ImageStatus::Available);
        assert!(image_visible_to(&img, 1, false));
        assert!(!image_visible_to(&img, 2, false));
        assert!(image_visible_to(&img, 2, true));
        img.is_public = true;
        assert!(image_visible_to(&img, 2, false));
        img.deleted_at = Some(1);
        assert!(!image_visible_to(&img, 1, false));
        assert!(image_visible_to(
            &image(None, ImageStatus::Available),
            9,
            false
        ));
    }

    #[test]
    fn launch_and_instance_rules() {
        assert!(check_launchable(&image(None, ImageStatus::Available)).is_ok());
        assert!(check_launchable(&image(None, ImageStatus::Deprecated)).is_ok());
        assert!(check_launchable(&image(None, ImageStatus::Creating)).is_err());
        assert!(check_instance_deletable(InstanceStatus::Running, false).is_err());
        assert!(check_instance_deletable(InstanceStatus::Running, true).is_ok());
        assert!(check_instance_deletable(InstanceStatus::Stopped, false).is_ok());
        assert!(check_instance_imageable(InstanceStatus::Pending).is_err());
    }
}

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

/// Most accounts one image may be shared with (spec §3.5).
pub const MAX_SHARE_ACCOUNTS: u64 = 50;

/// A ModifyImageSharePermission request, after parameter parsing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShareChange {
    pub add: Vec<AccountId>,
    pub remove: Vec<AccountId>,
    /// `Some(true)` publishes as a community image, `Some(false)` unpublishes.
    pub publish: Option<bool>,
}

/// What the store knows that the sharing rule needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShareFacts {
    /// Accounts on the share list after this change would apply.
    pub accounts_after: u64,
    /// Whether the image has no share yet and this change adds its first: it then counts
    /// against the owner's quota of shared images.
    pub becomes_shared: bool,
    /// Images of the owner that are shared now.
    pub owner_shared_images: u64,
    pub owner_shared_images_quota: u64,
}

/// ModifyImageSharePermission's checks on the owner's own, live image (ownership and existence
/// are checked before: other accounts' images are `InvalidImageId.NotFound`).
pub fn check_share_change(
    image: &Image,
    owner: AccountId,
    change: &ShareChange,
    facts: &ShareFacts,
) -> Result<(), ApiError> {
    if image.is_system() {
        return Err(ApiError::new(Code::ImagePublic));
    }
    let grants = !change.add.is_empty() || change.publish == Some(true);
    if grants && image.status == ImageStatus::Deprecated {
        return Err(ApiError::new(Code::ShareInvalidImageStatus));
    }
    if grants && image.status != ImageStatus::Available {
        return Err(ApiError::new(Code::ShareInvalidImageStatus)
            .with_message("The specified image cannot be shared when it is not available."));
    }
    if grants && image.encrypted {
        return Err(ApiError::new(Code::ShareEncryptedSnapshot));
    }
    if change.publish == Some(false) && !image.is_public {
        return Err(ApiError::new(Code::ImageNotPublic));
    }
    // Community images are shared with everyone already; they cannot be shared to accounts.
    let public_after = change.publish.unwrap_or(image.is_public);
    if !change.add.is_empty() && public_after {
        return Err(ApiError::new(Code::ImagePublic));
    }
    if change.add.contains(&owner) || change.remove.contains(&owner) {
        return Err(ApiError::new(Code::InvalidAccountForbidden));
    }
    if facts.accounts_after > MAX_SHARE_ACCOUNTS {
        return Err(ApiError::new(Code::QuotaExceedShareImageUser));
    }
    if facts.becomes_shared && facts.owner_shared_images >= facts.owner_shared_images_quota {
        return Err(ApiError::new(Code::QuotaExceedShareImage));
    }
    Ok(())
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
            encrypted: false,
            created_at: 0,
            ready_at: None,
            deleted_at: None,
            source_instance_id: None,
            blob_sha256: None,
            blob_source: None,
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

    fn share_code(img: &Image, change: &ShareChange, facts: &ShareFacts) -> Option<&'static str> {
        code(check_share_change(img, 1, change, facts))
    }

    #[test]
    fn sharing_rules_cover_every_refusal_of_the_spec() {
        let ok = ShareFacts {
            accounts_after: 1,
            owner_shared_images_quota: 10,
            ..Default::default()
        };
        let add = ShareChange {
            add: vec![2],
            ..Default::default()
        };
        let img = image(Some(1), ImageStatus::Available);
        assert_eq!(share_code(&img, &add, &ok), None);
        assert_eq!(
            share_code(&image(None, ImageStatus::Available), &add, &ok),
            Some("Image.Public")
        );
        assert_eq!(
            share_code(&image(Some(1), ImageStatus::Deprecated), &add, &ok),
            Some("OperationDenied.InvalidImageStatus")
        );
        assert_eq!(
            share_code(&image(Some(1), ImageStatus::Creating), &add, &ok),
            Some("OperationDenied.InvalidImageStatus")
        );
        let mut enc = img.clone();
        enc.encrypted = true;
        assert_eq!(
            share_code(&enc, &add, &ok),
            Some("OperationDeined.EncryptedSnapshot")
        );
        let unpublish = ShareChange {
            publish: Some(false),
            ..Default::default()
        };
        assert_eq!(share_code(&img, &unpublish, &ok), Some("Image.NotPublic"));
        let mut public = img.clone();
        public.is_public = true;
        assert_eq!(share_code(&public, &add, &ok), Some("Image.Public"));
        assert_eq!(share_code(&public, &unpublish, &ok), None);
        let to_self = ShareChange {
            add: vec![1],
            ..Default::default()
        };
        assert_eq!(
            share_code(&img, &to_self, &ok),
            Some("InvalidAccount.Forbbiden")
        );
        let full = ShareFacts {
            accounts_after: MAX_SHARE_ACCOUNTS + 1,
            ..ok
        };
        assert_eq!(
            share_code(&img, &add, &full),
            Some("QuotaExceed.ShareImageUser")
        );
        let quota = ShareFacts {
            becomes_shared: true,
            owner_shared_images: 10,
            ..ok
        };
        assert_eq!(
            share_code(&img, &add, &quota),
            Some("QuotaExceed.ShareImage")
        );
        // Removing accounts is allowed whatever the image's state.
        let remove = ShareChange {
            remove: vec![2],
            ..Default::default()
        };
        assert_eq!(
            share_code(&image(Some(1), ImageStatus::Deprecated), &remove, &ok),
            None
        );
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

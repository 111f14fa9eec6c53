//! What each operation reads from a request: name, type, whether it is required and a short
//! description (from the spec's parameter tables, ecs-image-api §3–4 and ram-authorization §6).
//! The operation tables (`actions::ACTIONS` for ECS, `ram::RAM_OPS` and `ram::STS_OPS`) point at
//! these lists; the web console's API explorer renders them, and
//! `tests/http_api/operation_params.rs` proves every `required` mark against the handlers.
//!
//! A name containing `.N` is a repeated parameter: on the wire `.N` becomes `.1`, `.2`, ….

/// The wire type of one parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    Integer,
    Boolean,
    /// A JSON array of strings in one parameter (`InstanceIds=["i-1","i-2"]`).
    JsonArray,
}

impl ParamType {
    pub fn name(self) -> &'static str {
        match self {
            ParamType::String => "String",
            ParamType::Integer => "Integer",
            ParamType::Boolean => "Boolean",
            ParamType::JsonArray => "JSON array of String",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub ty: ParamType,
    pub required: bool,
    /// For `.N` names, the largest N accepted; 0 for plain parameters.
    pub max_items: u16,
    pub description: &'static str,
}

impl Param {
    pub fn is_repeated(&self) -> bool {
        self.max_items > 0
    }
}

const fn p(name: &'static str, ty: ParamType, description: &'static str) -> Param {
    Param {
        name,
        ty,
        required: false,
        max_items: 0,
        description,
    }
}

const fn req(name: &'static str, ty: ParamType, description: &'static str) -> Param {
    Param {
        required: true,
        ..p(name, ty, description)
    }
}

/// A `.N` parameter accepting N from 1 to `max_items`.
const fn list(
    name: &'static str,
    ty: ParamType,
    max_items: u16,
    description: &'static str,
) -> Param {
    Param {
        max_items,
        ..p(name, ty, description)
    }
}

const fn req_list(
    name: &'static str,
    ty: ParamType,
    max_items: u16,
    description: &'static str,
) -> Param {
    Param {
        required: true,
        ..list(name, ty, max_items, description)
    }
}

use ParamType::{Boolean as Bool, Integer as Int, JsonArray as Json, String as Str};

const REGION: Param = req("RegionId", Str, "Region, e.g. cn-hangzhou.");
const DRY_RUN: Param = p(
    "DryRun",
    Bool,
    "true: only check the request (DryRunOperation on success).",
);
const CLIENT_TOKEN: Param = p(
    "ClientToken",
    Str,
    "Idempotence token: a retry with the same token and parameters returns the first answer.",
);
const PAGE_NUMBER: Param = p("PageNumber", Int, "Page to return, from 1 (default 1).");
const PAGE_SIZE: Param = p("PageSize", Int, "Entries per page, 1–100 (default 10).");
const TAG_KEY: Param = list("Tag.N.Key", Str, 20, "Tag key, non-empty, ≤128 characters.");
const TAG_VALUE: Param = list("Tag.N.Value", Str, 20, "Tag value (may be empty), ≤128.");
const IMAGE_NAME_RULES: &str =
    "2–128 characters, starts with a letter, no http:// or aliyun/acs: prefix.";

pub const DESCRIBE_REGIONS: &[Param] = &[
    p(
        "AcceptLanguage",
        Str,
        "Language of LocalName: zh-CN (default), en-US or ja.",
    ),
    p(
        "ResourceType",
        Str,
        "instance (default), disk, reservedinstance or scu.",
    ),
];

pub const DESCRIBE_ZONES: &[Param] = &[
    REGION,
    p(
        "AcceptLanguage",
        Str,
        "Language of LocalName: zh-CN (default), en-US or ja.",
    ),
];

pub const DESCRIBE_IMAGE_FROM_FAMILY: &[Param] = &[
    REGION,
    req(
        "ImageFamily",
        Str,
        "Family whose newest Available custom image to show.",
    ),
];

pub const DESCRIBE_IMAGES: &[Param] = &[
    REGION,
    p(
        "ImageId",
        Str,
        "Image id (m-… or a public image id); a comma list selects several.",
    ),
    p("ImageName", Str, "Substring of the image name."),
    p("ImageFamily", Str, "Image family."),
    p(
        "ImageOwnerAlias",
        Str,
        "system, self, others or marketplace; empty = system+self+others.",
    ),
    p(
        "ImageOwnerId",
        Int,
        "Owner account; only with shared or community queries.",
    ),
    p(
        "IsPublic",
        Bool,
        "true: community images (needs ImageOwnerAlias=others).",
    ),
    p(
        "Status",
        Str,
        "Comma list of Creating, Waiting, Available, UnAvailable, CreateFailed, Deprecated, or ALL (default Available).",
    ),
    p("Usage", Str, "instance (used by instances) or none."),
    p("OSType", Str, "windows or linux."),
    p("Architecture", Str, "i386, x86_64 or arm64."),
    p("SnapshotId", Str, "Images built from this snapshot."),
    p("InstanceType", Str, "Images usable on this instance type."),
    TAG_KEY,
    TAG_VALUE,
    list(
        "Filter.N.Key",
        Str,
        10,
        "CreationStartTime, CreationEndTime, NetworkType, CpuOnlineUpgrade, …",
    ),
    list(
        "Filter.N.Value",
        Str,
        10,
        "Value of the filter (times as yyyy-MM-ddTHH:mmZ).",
    ),
    PAGE_NUMBER,
    PAGE_SIZE,
    DRY_RUN,
];

pub const CREATE_IMAGE: &[Param] = &[
    REGION,
    p(
        "InstanceId",
        Str,
        "Source instance (Running or Stopped); one of InstanceId, SnapshotId, DiskDeviceMapping.",
    ),
    p(
        "SnapshotId",
        Str,
        "Source system-disk snapshot (used when InstanceId is absent).",
    ),
    list(
        "DiskDeviceMapping.N.SnapshotId",
        Str,
        17,
        "Snapshot of disk N.",
    ),
    list(
        "DiskDeviceMapping.N.Size",
        Int,
        17,
        "Size of disk N in GiB (≥ the snapshot's).",
    ),
    list(
        "DiskDeviceMapping.N.Device",
        Str,
        17,
        "/dev/xvda for the system disk, /dev/xvdb–/dev/xvdz for data disks.",
    ),
    list(
        "DiskDeviceMapping.N.DiskType",
        Str,
        17,
        "system (exactly one) or data.",
    ),
    p("ImageName", Str, IMAGE_NAME_RULES),
    p(
        "Description",
        Str,
        "2–256 characters, not starting with http://.",
    ),
    p(
        "ImageFamily",
        Str,
        "2–128 characters, starts with a letter.",
    ),
    p("ImageVersion", Str, "Image version."),
    p(
        "Platform",
        Str,
        "OS platform (default Others Linux) when built from snapshots.",
    ),
    p(
        "Architecture",
        Str,
        "i386, x86_64 (default) or arm64 when built from snapshots.",
    ),
    p("BootMode", Str, "BIOS, UEFI or UEFI-Preferred."),
    p("Features.ImdsSupport", Str, "v1 or v2."),
    TAG_KEY,
    TAG_VALUE,
    CLIENT_TOKEN,
    DRY_RUN,
];

pub const DELETE_IMAGE: &[Param] = &[
    REGION,
    req("ImageId", Str, "Your custom image (m-…)."),
    p(
        "Force",
        Bool,
        "true: delete even if instances use the image (default false).",
    ),
    DRY_RUN,
];

pub const MODIFY_IMAGE_ATTRIBUTE: &[Param] = &[
    REGION,
    req("ImageId", Str, "Your custom image (m-…)."),
    p("ImageName", Str, IMAGE_NAME_RULES),
    p(
        "Description",
        Str,
        "2–256 characters; empty keeps the current.",
    ),
    p("ImageFamily", Str, "Same rules as the name."),
    p(
        "Status",
        Str,
        "Deprecated, or Available to restore a deprecated image.",
    ),
    p(
        "BootMode",
        Str,
        "BIOS, UEFI or UEFI-Preferred; refused while instances use the image.",
    ),
    p("LicenseType", Str, "BYOL."),
    p("Features.NvmeSupport", Str, "supported or unsupported."),
    p(
        "Features.ImdsSupport",
        Str,
        "v1 or v2 (v2 → v1 is refused).",
    ),
    DRY_RUN,
];

pub const MODIFY_IMAGE_SHARE_PERMISSION: &[Param] = &[
    REGION,
    req("ImageId", Str, "Your custom image (m-…)."),
    list(
        "AddAccount.N",
        Str,
        10,
        "Account ids to share the image with.",
    ),
    list(
        "RemoveAccount.N",
        Str,
        10,
        "Account ids to stop sharing with.",
    ),
    p(
        "IsPublic",
        Bool,
        "true publishes as a community image, false unpublishes.",
    ),
    p("LaunchPermission", Str, "Invitational preview permission."),
    DRY_RUN,
];

pub const DESCRIBE_IMAGE_SHARE_PERMISSION: &[Param] = &[
    REGION,
    req("ImageId", Str, "Your custom image (m-…)."),
    PAGE_NUMBER,
    PAGE_SIZE,
];

pub const COPY_IMAGE: &[Param] = &[
    REGION,
    req("ImageId", Str, "Source image, must be Available."),
    p(
        "DestinationRegionId",
        Str,
        "Region of the copy (default: the source region).",
    ),
    p("DestinationImageName", Str, IMAGE_NAME_RULES),
    p("DestinationDescription", Str, "2–256 characters."),
    p("Encrypted", Bool, "Encrypt the copy (default false)."),
    TAG_KEY,
    TAG_VALUE,
    CLIENT_TOKEN,
    DRY_RUN,
];

pub const CANCEL_COPY_IMAGE: &[Param] = &[
    req("RegionId", Str, "Region of the copy."),
    req("ImageId", Str, "The copy being created."),
];

pub const IMPORT_IMAGE: &[Param] = &[
    REGION,
    req_list(
        "DiskDeviceMapping.N.OSSBucket",
        Str,
        17,
        "OSS bucket (same region) holding disk N; N=1 is the system disk.",
    ),
    req_list(
        "DiskDeviceMapping.N.OSSObject",
        Str,
        17,
        "Object key of disk N's file.",
    ),
    list(
        "DiskDeviceMapping.N.Format",
        Str,
        17,
        "RAW, VHD, QCOW2 or VMDK (default: detected).",
    ),
    list(
        "DiskDeviceMapping.N.DiskImageSize",
        Int,
        17,
        "Disk size in GiB, 1–2048.",
    ),
    p("ImageName", Str, IMAGE_NAME_RULES),
    p("Description", Str, "2–256 characters."),
    p("Architecture", Str, "x86_64 (default), i386 or arm64."),
    p("OSType", Str, "linux (default) or windows."),
    p("Platform", Str, "OS platform (default Others Linux)."),
    p("BootMode", Str, "BIOS (default; UEFI for arm64) or UEFI."),
    p("LicenseType", Str, "Auto, Aliyun or BYOL."),
    p(
        "Features.NvmeSupport",
        Str,
        "supported or unsupported (default).",
    ),
    p("Features.ImdsSupport", Str, "v1 (default) or v2."),
    TAG_KEY,
    TAG_VALUE,
    CLIENT_TOKEN,
    DRY_RUN,
];

pub const EXPORT_IMAGE: &[Param] = &[
    REGION,
    req("ImageId", Str, "Your custom image, Available."),
    req("OSSBucket", Str, "OSS bucket in the same region."),
    p(
        "OSSPrefix",
        Str,
        "Object name prefix, 1–30 letters or digits.",
    ),
    p(
        "ImageFormat",
        Str,
        "raw (default), vhd, qcow2, vmdk or vdi.",
    ),
];

pub const DESCRIBE_TASKS: &[Param] = &[
    REGION,
    p("TaskIds", Str, "Comma list of task ids, ≤ 100."),
    p(
        "TaskAction",
        Str,
        "ImportImage, ExportImage, CopyImage, CreateImage, ….",
    ),
    p("TaskStatus", Str, "Finished, Processing or Failed."),
    p(
        "StartTime",
        Str,
        "Created at or after, yyyy-MM-ddTHH:mm:ssZ (UTC).",
    ),
    p(
        "EndTime",
        Str,
        "Created at or before, yyyy-MM-ddTHH:mm:ssZ (UTC).",
    ),
    list(
        "ResourceIds.N",
        Str,
        100,
        "Resources the tasks work on (image ids).",
    ),
    PAGE_NUMBER,
    PAGE_SIZE,
];

pub const DESCRIBE_TASK_ATTRIBUTE: &[Param] = &[REGION, req("TaskId", Str, "Task (t-…).")];

pub const CANCEL_TASK: &[Param] = &[
    REGION,
    req("TaskId", Str, "An ImportImage or ExportImage task (t-…)."),
];

pub const RUN_INSTANCES: &[Param] = &[
    REGION,
    req(
        "ImageId",
        Str,
        "Image to launch (Available or Deprecated); ImageFamily may replace it.",
    ),
    p(
        "ImageFamily",
        Str,
        "Launch the family's newest Available image instead of ImageId.",
    ),
    req(
        "InstanceType",
        Str,
        "e.g. ecs.g7.large (x86) or ecs.g8y.large (arm).",
    ),
    p("ZoneId", Str, "Zone (default: the region's first)."),
    p(
        "InstanceName",
        Str,
        "2–128 characters (default: the instance id).",
    ),
    p("Amount", Int, "How many instances, 1–100 (default 1)."),
    p(
        "SystemDisk.Category",
        Str,
        "cloud_essd, cloud_efficiency, ….",
    ),
    p("SystemDisk.Size", Int, "GiB, at least the image size."),
    CLIENT_TOKEN,
    DRY_RUN,
];

pub const CREATE_INSTANCE: &[Param] = &[
    REGION,
    req(
        "ImageId",
        Str,
        "Image to launch (Available or Deprecated); ImageFamily may replace it.",
    ),
    p(
        "ImageFamily",
        Str,
        "Launch the family's newest Available image instead of ImageId.",
    ),
    req("InstanceType", Str, "e.g. ecs.g7.large."),
    p("ZoneId", Str, "Zone (default: the region's first)."),
    p(
        "InstanceName",
        Str,
        "2–128 characters (default: the instance id).",
    ),
    p(
        "SystemDisk.Category",
        Str,
        "cloud_essd, cloud_efficiency, ….",
    ),
    p("SystemDisk.Size", Int, "GiB, at least the image size."),
    CLIENT_TOKEN,
    DRY_RUN,
];

pub const DESCRIBE_INSTANCES: &[Param] = &[
    REGION,
    p("InstanceIds", Json, "Instance ids, ≤ 100."),
    p("ImageId", Str, "Instances launched from this image."),
    p(
        "Status",
        Str,
        "Pending, Running, Starting, Stopping or Stopped.",
    ),
    p("ZoneId", Str, "Zone."),
    p("InstanceType", Str, "Instance type."),
    p("InstanceName", Str, "Name; * is a wildcard."),
    PAGE_NUMBER,
    PAGE_SIZE,
    p(
        "NextToken",
        Str,
        "Token of the next page (with MaxResults).",
    ),
    p("MaxResults", Int, "Entries per page with NextToken, 1–100."),
];

const INSTANCE_ID: Param = req("InstanceId", Str, "Instance (i-…).");

pub const START_INSTANCE: &[Param] = &[INSTANCE_ID, DRY_RUN];
pub const STOP_INSTANCE: &[Param] = &[INSTANCE_ID, DRY_RUN];

pub const DELETE_INSTANCE: &[Param] = &[
    INSTANCE_ID,
    p(
        "Force",
        Bool,
        "true: release a Running instance (default false).",
    ),
    DRY_RUN,
];

pub const DELETE_INSTANCES: &[Param] = &[
    REGION,
    req_list("InstanceId.N", Str, 100, "Instances to release."),
    p(
        "Force",
        Bool,
        "true: release Running instances (default false).",
    ),
    CLIENT_TOKEN,
    DRY_RUN,
];

pub const DESCRIBE_DISKS: &[Param] = &[
    REGION,
    p("DiskIds", Json, "Disk ids, ≤ 100."),
    p("InstanceId", Str, "Disks of this instance."),
    p("DiskType", Str, "system, data or all."),
    PAGE_NUMBER,
    PAGE_SIZE,
];

pub const CREATE_SNAPSHOT: &[Param] = &[
    req("DiskId", Str, "Disk to snapshot (d-…)."),
    p(
        "SnapshotName",
        Str,
        "2–128 characters, starts with a letter.",
    ),
    p("Description", Str, "2–256 characters."),
    TAG_KEY,
    TAG_VALUE,
    CLIENT_TOKEN,
];

pub const DESCRIBE_SNAPSHOTS: &[Param] = &[
    REGION,
    p("SnapshotIds", Json, "Snapshot ids, ≤ 100."),
    p("InstanceId", Str, "Snapshots of this instance's disks."),
    p("DiskId", Str, "Snapshots of this disk."),
    p("Status", Str, "progressing, accomplished, failed or all."),
    p("Usage", Str, "image, disk, image_disk or none."),
    p("SourceDiskType", Str, "system or data."),
    PAGE_NUMBER,
    PAGE_SIZE,
];

pub const DELETE_SNAPSHOT: &[Param] = &[
    req("SnapshotId", Str, "Snapshot (s-…)."),
    p(
        "Force",
        Bool,
        "Delete even if disks were created from it (never when an image uses it).",
    ),
];

const RESOURCE_TYPE: Param = req(
    "ResourceType",
    Str,
    "instance, disk, snapshot, image, securitygroup, ….",
);

pub const TAG_RESOURCES: &[Param] = &[
    REGION,
    RESOURCE_TYPE,
    req_list("ResourceId.N", Str, 50, "Resources to tag."),
    req_list("Tag.N.Key", Str, 20, "Tag key, non-empty, ≤128 characters."),
    list(
        "Tag.N.Value",
        Str,
        20,
        "Tag value (may be empty); replaces an existing key's value.",
    ),
];

pub const UNTAG_RESOURCES: &[Param] = &[
    REGION,
    RESOURCE_TYPE,
    req_list("ResourceId.N", Str, 50, "Resources to untag."),
    list("TagKey.N", Str, 20, "Tag keys to remove."),
    p(
        "All",
        Bool,
        "Remove every tag when no TagKey is given (default false).",
    ),
];

pub const LIST_TAG_RESOURCES: &[Param] = &[
    REGION,
    RESOURCE_TYPE,
    list("ResourceId.N", Str, 50, "Resources to list."),
    TAG_KEY,
    TAG_VALUE,
    list("TagFilter.N.TagKey", Str, 5, "Fuzzy filter: tag key."),
    p("NextToken", Str, "Token of the next page."),
];

// RAM (2015-05-01), spec ram-authorization §2 and §6. Names are checked before anything is
// looked up, so each missing one is reported as such.

const USER_NAME: Param = req("UserName", Str, "User name: 1–64 of A–Z a–z 0–9 . @ _ -.");
const USER_NAME_OR_SELF: Param = p(
    "UserName",
    Str,
    "The user; a RAM user may leave it out to mean itself (the root account must name one).",
);
const GROUP_NAME: Param = req("GroupName", Str, "Group name: 1–64 of A–Z a–z 0–9 -.");
const ROLE_NAME: Param = req("RoleName", Str, "Role name: 1–64 of A–Z a–z 0–9 . @ -.");
const POLICY_NAME: Param = req("PolicyName", Str, "Policy name: 1–128 of A–Z a–z 0–9 -.");
const POLICY_TYPE: Param = req("PolicyType", Str, "System or Custom.");
const VERSION_ID: Param = req("VersionId", Str, "Policy version: v1, v2, ….");
const MARKER: Param = p(
    "Marker",
    Str,
    "Where the previous page ended (its Marker, when IsTruncated).",
);
const MAX_ITEMS: Param = p("MaxItems", Int, "Entries per page, 1–1000 (default 100).");
const COMMENTS: Param = p("Comments", Str, "Note, ≤128 characters.");

pub const CREATE_USER: &[Param] = &[
    USER_NAME,
    p("DisplayName", Str, "Display name, 1–128 characters."),
    p(
        "MobilePhone",
        Str,
        "Country code, dash, number: 86-1860000xxxx.",
    ),
    p("Email", Str, "E-mail address."),
    COMMENTS,
];

pub const GET_USER: &[Param] = &[USER_NAME];

pub const UPDATE_USER: &[Param] = &[
    USER_NAME,
    p(
        "NewUserName",
        Str,
        "New user name (same rules as UserName).",
    ),
    p("NewDisplayName", Str, "New display name, 1–128 characters."),
    p("NewMobilePhone", Str, "New mobile phone: 86-1860000xxxx."),
    p("NewEmail", Str, "New e-mail address."),
    p("NewComments", Str, "New note, ≤128 characters."),
];

pub const LIST_USERS: &[Param] = &[MARKER, MAX_ITEMS];

pub const DELETE_USER: &[Param] = &[USER_NAME];

pub const CREATE_ACCESS_KEY: &[Param] = &[USER_NAME_OR_SELF];

pub const LIST_ACCESS_KEYS: &[Param] = &[USER_NAME_OR_SELF];

pub const UPDATE_ACCESS_KEY: &[Param] = &[
    USER_NAME_OR_SELF,
    req("UserAccessKeyId", Str, "The AccessKey id."),
    req("Status", Str, "Active or Inactive."),
];

pub const DELETE_ACCESS_KEY: &[Param] = &[
    USER_NAME_OR_SELF,
    req("UserAccessKeyId", Str, "The AccessKey id."),
];

pub const CREATE_GROUP: &[Param] = &[GROUP_NAME, COMMENTS];

pub const GET_GROUP: &[Param] = &[GROUP_NAME];

pub const UPDATE_GROUP: &[Param] = &[
    GROUP_NAME,
    p(
        "NewGroupName",
        Str,
        "New group name (same rules as GroupName).",
    ),
    p("NewComments", Str, "New note, ≤128 characters."),
];

pub const LIST_GROUPS: &[Param] = &[MARKER, MAX_ITEMS];

pub const DELETE_GROUP: &[Param] = &[GROUP_NAME];

pub const USER_AND_GROUP: &[Param] = &[GROUP_NAME, USER_NAME];

pub const LIST_GROUPS_FOR_USER: &[Param] = &[USER_NAME];

pub const LIST_USERS_FOR_GROUP: &[Param] = &[GROUP_NAME, MARKER, MAX_ITEMS];

pub const CREATE_POLICY: &[Param] = &[
    POLICY_NAME,
    p("Description", Str, "Description, ≤1024 characters."),
    req(
        "PolicyDocument",
        Str,
        "Policy document (JSON, Version \"1\"), ≤6144 characters.",
    ),
];

pub const GET_POLICY: &[Param] = &[POLICY_TYPE, POLICY_NAME];

pub const LIST_POLICIES: &[Param] = &[
    p("PolicyType", Str, "System or Custom; both when left out."),
    MARKER,
    MAX_ITEMS,
];

pub const UPDATE_POLICY_DESCRIPTION: &[Param] = &[
    POLICY_NAME,
    p(
        "NewDescription",
        Str,
        "New description, ≤1024 characters (empty clears it).",
    ),
];

pub const DELETE_POLICY: &[Param] = &[
    POLICY_NAME,
    p(
        "CascadingDelete",
        Bool,
        "true: detach it from every user, group and role first (default false).",
    ),
];

pub const CREATE_POLICY_VERSION: &[Param] = &[
    POLICY_NAME,
    req(
        "PolicyDocument",
        Str,
        "Policy document (JSON), ≤6144 characters.",
    ),
    p(
        "SetAsDefault",
        Bool,
        "Make it the default version (default false).",
    ),
    p(
        "RotateStrategy",
        Str,
        "None (default) or DeleteOldestNonDefaultVersionWhenLimitExceeded.",
    ),
];

pub const GET_POLICY_VERSION: &[Param] = &[POLICY_TYPE, POLICY_NAME, VERSION_ID];

pub const LIST_POLICY_VERSIONS: &[Param] = &[POLICY_TYPE, POLICY_NAME];

pub const POLICY_VERSION: &[Param] = &[POLICY_NAME, VERSION_ID];

pub const POLICY_AND_USER: &[Param] = &[POLICY_TYPE, POLICY_NAME, USER_NAME];

pub const POLICY_AND_GROUP: &[Param] = &[POLICY_TYPE, POLICY_NAME, GROUP_NAME];

pub const POLICY_AND_ROLE: &[Param] = &[POLICY_TYPE, POLICY_NAME, ROLE_NAME];

pub const LIST_POLICIES_FOR_USER: &[Param] = &[USER_NAME];

pub const LIST_POLICIES_FOR_GROUP: &[Param] = &[GROUP_NAME];

pub const LIST_POLICIES_FOR_ROLE: &[Param] = &[ROLE_NAME];

pub const LIST_ENTITIES_FOR_POLICY: &[Param] = &[POLICY_TYPE, POLICY_NAME];

pub const CREATE_ROLE: &[Param] = &[
    ROLE_NAME,
    req(
        "AssumeRolePolicyDocument",
        Str,
        "Trust policy: who may assume the role (JSON).",
    ),
    p("Description", Str, "Description, ≤1024 characters."),
    p(
        "MaxSessionDuration",
        Int,
        "Longest STS session in seconds, 3600–43200 (default 3600).",
    ),
];

pub const GET_ROLE: &[Param] = &[ROLE_NAME];

pub const UPDATE_ROLE: &[Param] = &[
    ROLE_NAME,
    p(
        "NewAssumeRolePolicyDocument",
        Str,
        "New trust policy (JSON).",
    ),
    p("NewDescription", Str, "New description, ≤1024 characters."),
    p(
        "NewMaxSessionDuration",
        Int,
        "New longest session, 3600–43200 seconds.",
    ),
];

pub const LIST_ROLES: &[Param] = &[MARKER, MAX_ITEMS];

pub const DELETE_ROLE: &[Param] = &[ROLE_NAME];

pub const DECODE_DIAGNOSTIC_MESSAGE: &[Param] = &[req(
    "EncodedDiagnosticMessage",
    Str,
    "The EncodedDiagnosticMessage of an AccessDenied error.",
)];

// STS (2015-04-01).

pub const ASSUME_ROLE: &[Param] = &[
    req("RoleArn", Str, "The role: acs:ram::<account>:role/<name>."),
    req(
        "RoleSessionName",
        Str,
        "Session name, 2–64 of A–Z a–z 0–9 . @ _ -.",
    ),
    p(
        "Policy",
        Str,
        "Session policy (JSON): narrows what the session may do.",
    ),
    p(
        "DurationSeconds",
        Int,
        "Session length, 900 up to the role's MaxSessionDuration (default 3600).",
    ),
];

/// GetCallerIdentity reads nothing but the signature.
pub const GET_CALLER_IDENTITY: &[Param] = &[];

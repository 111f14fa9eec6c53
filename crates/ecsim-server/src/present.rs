//! How resources look on the wire, field by field (spec §3.3, §4). Lists are wrapped
//! (`"Tags": {"Tag": [...]}`) and stay arrays even when they hold one element.

use crate::args::Paging;
use ecsim_core::Millis;
use ecsim_core::clock::{format_minutes, format_time};
use ecsim_core::model::{
    AccountId, Disk, Image, ImageStatus, Instance, InstanceStatus, Snapshot, SnapshotStatus, Tag,
    progress_percent,
};
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use serde_json::{Map, Value, json};

pub fn tags(tags: &[Tag]) -> Value {
    let list: Vec<Value> = tags
        .iter()
        .map(|t| json!({"TagKey": t.key, "TagValue": t.value}))
        .collect();
    json!({ "Tag": list })
}

/// What DescribeImages shows of one image: its row and what the listing extras add.
pub struct ImageView {
    pub image: Image,
    /// Ordered by key.
    pub tags: Vec<Tag>,
    pub in_use: bool,
    /// How many accounts the image is shared with (counted for the caller's own images only).
    pub shared_accounts: u64,
    /// Progress of the import or copy creating the image, if one runs.
    pub task_percent: Option<u64>,
}

/// DescribeImages' body. It serializes field by field straight into the response, JSON or
/// XML: building a `serde_json::Value` tree per image (~45 keys, each an allocated `String` in
/// an ordered map) cost more than the query (BENCHMARKS.md, finding 1).
pub struct ImagesPage {
    pub region_id: String,
    pub total: u64,
    pub paging: Paging,
    /// Whose view: `ImageOwnerAlias` and `IsSelfShared` depend on it.
    pub caller: AccountId,
    pub now: Millis,
    pub images: Vec<ImageView>,
}

impl Serialize for ImagesPage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (caller, now) = (self.caller, self.now);
        let images = self
            .images
            .iter()
            .map(move |view| ImageFields { view, caller, now });
        let mut out = serializer.serialize_struct("DescribeImagesResponse", 5)?;
        out.serialize_field("RegionId", &self.region_id)?;
        out.serialize_field("TotalCount", &self.total)?;
        out.serialize_field("PageNumber", &self.paging.number)?;
        out.serialize_field("PageSize", &self.paging.size)?;
        out.serialize_field("Images", &Wrapped::new("Image", images))?;
        out.end()
    }
}

/// DescribeImageFromFamily's body: `Image` is the family's newest Available image, or an empty
/// object when there is none (spec §3.14), never an error.
pub struct FamilyImage {
    pub image: Option<ImageView>,
    pub caller: AccountId,
    pub now: Millis,
}

impl Serialize for FamilyImage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("DescribeImageFromFamilyResponse", 1)?;
        match &self.image {
            Some(view) => out.serialize_field(
                "Image",
                &ImageFields {
                    view,
                    caller: self.caller,
                    now: self.now,
                },
            )?,
            None => out.serialize_field("Image", &NoImage)?,
        }
        out.end()
    }
}

/// `{}`.
struct NoImage;

impl Serialize for NoImage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_struct("Image", 0)?.end()
    }
}

/// One image as `caller` sees it at `now`.
struct ImageFields<'a> {
    view: &'a ImageView,
    caller: AccountId,
    now: Millis,
}

impl Serialize for ImageFields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let v = self.view;
        let img = &v.image;
        let (alias, owner_id, self_shared) = match img.owner {
            None => ("system", 0, ""),
            Some(owner) if owner == self.caller => (
                "self",
                owner,
                if v.shared_accounts > 0 {
                    "True"
                } else {
                    "False"
                },
            ),
            Some(owner) => ("others", owner, ""),
        };
        let progress = match v.task_percent {
            Some(percent) => format!("{percent}%"),
            None => img.progress(self.now),
        };
        let remain_time = remaining_seconds(img.ready_at, self.now);
        let mappings = img.disk_mappings.iter().map(|m| DiskMappingFields {
            snapshot_id: m.snapshot_id.as_deref().unwrap_or_default(),
            size: m.size_gib,
            device: &m.device,
            kind: m.kind.as_str(),
            format: &m.format,
            import_oss_bucket: &m.import_oss_bucket,
            import_oss_object: &m.import_oss_object,
            progress: &progress,
            remain_time,
            encrypted: false,
        });
        let tags = v.tags.iter().map(|t| TagFields {
            key: &t.key,
            value: &t.value,
        });

        let mut out = serializer.serialize_struct("Image", 37)?;
        out.serialize_field("ImageId", &img.id)?;
        out.serialize_field("ImageName", &img.name)?;
        out.serialize_field("Description", &img.description)?;
        out.serialize_field("ImageVersion", &img.version)?;
        out.serialize_field("ImageFamily", &img.family)?;
        out.serialize_field("ImageOwnerAlias", alias)?;
        out.serialize_field("ImageOwnerId", &owner_id)?;
        out.serialize_field("IsPublic", &(img.is_system() || img.is_public))?;
        out.serialize_field("IsSelfShared", self_shared)?;
        out.serialize_field("IsCopied", &img.is_copied)?;
        out.serialize_field("IsSubscribed", &false)?;
        out.serialize_field("IsSupportIoOptimized", &true)?;
        out.serialize_field("IsSupportCloudinit", &true)?;
        out.serialize_field("LoginAsNonRootSupported", &false)?;
        out.serialize_field(
            "Usable",
            &matches!(img.status, ImageStatus::Available | ImageStatus::Deprecated),
        )?;
        out.serialize_field("Status", img.status.as_str())?;
        out.serialize_field("Progress", &progress)?;
        out.serialize_field("Usage", if v.in_use { "instance" } else { "none" })?;
        out.serialize_field("CreationTime", &format_time(img.created_at))?;
        out.serialize_field("Size", &img.size_gib)?;
        out.serialize_field("OSType", img.os_type.as_str())?;
        out.serialize_field("OSName", &img.os_name)?;
        out.serialize_field("OSNameEn", &img.os_name_en)?;
        out.serialize_field("Platform", &img.platform)?;
        out.serialize_field("Architecture", img.architecture.as_str())?;
        out.serialize_field("BootMode", img.boot_mode.as_str())?;
        out.serialize_field("ProductCode", "")?;
        out.serialize_field("SupplierName", "")?;
        out.serialize_field("ResourceGroupId", "")?;
        out.serialize_field("LicenseType", &img.license_type)?;
        out.serialize_field(
            "SecureBootOptions",
            &SecureBootOptions {
                secure_boot_support: "unsupported",
            },
        )?;
        out.serialize_field(
            "Features",
            &Features {
                nvme_support: &img.nvme_support,
                imds_support: &img.imds_support,
            },
        )?;
        out.serialize_field("DetectionOptions", &DetectionOptions {})?;
        out.serialize_field("Tags", &Wrapped::new("Tag", tags))?;
        out.serialize_field(
            "DiskDeviceMappings",
            &Wrapped::new("DiskDeviceMapping", mappings),
        )?;
        out.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DiskMappingFields<'a> {
    snapshot_id: &'a str,
    /// A string on the wire, unlike the image's own `Size`.
    #[serde(serialize_with = "as_text")]
    size: i64,
    device: &'a str,
    #[serde(rename = "Type")]
    kind: &'a str,
    format: &'a str,
    #[serde(rename = "ImportOSSBucket")]
    import_oss_bucket: &'a str,
    #[serde(rename = "ImportOSSObject")]
    import_oss_object: &'a str,
    progress: &'a str,
    remain_time: i64,
    encrypted: bool,
}

#[derive(Serialize)]
struct TagFields<'a> {
    #[serde(rename = "TagKey")]
    key: &'a str,
    #[serde(rename = "TagValue")]
    value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SecureBootOptions {
    secure_boot_support: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Features<'a> {
    nvme_support: &'a str,
    imds_support: &'a str,
}

/// Always `{}`: ecsim runs no image checks.
#[derive(Serialize)]
struct DetectionOptions {}

fn as_text<S: Serializer>(value: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// How ECS wraps every list, `{"<name>": [items…]}`; the items are serialized as `items`
/// yields them, never collected.
struct Wrapped<I> {
    name: &'static str,
    items: I,
}

impl<I> Wrapped<I> {
    fn new(name: &'static str, items: I) -> Self {
        Wrapped { name, items }
    }
}

impl<I> Serialize for Wrapped<I>
where
    I: Iterator + Clone,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("List", 1)?;
        out.serialize_field(self.name, &Items(self.items.clone()))?;
        out.end()
    }
}

struct Items<I>(I);

impl<I> Serialize for Items<I>
where
    I: Iterator + Clone,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.clone())
    }
}

fn remaining_seconds(ready_at: Option<Millis>, now: Millis) -> i64 {
    ready_at.map_or(0, |r| ((r - now).max(0) + 999) / 1000)
}

pub fn instance(i: &Instance, image: Option<&Image>, tag_list: &[Tag]) -> Value {
    json!({
        "InstanceId": i.id,
        "InstanceName": i.name,
        "HostName": i.name,
        "Description": "",
        "ImageId": i.image_id,
        "Status": i.status.as_str(),
        "RegionId": i.region_id,
        "ZoneId": i.zone_id,
        "InstanceType": i.instance_type,
        "InstanceTypeFamily": family_of(&i.instance_type),
        "Cpu": i.cpu,
        "Memory": i.memory_mib,
        "OSType": image.map_or("linux", |img| img.os_type.as_str()),
        "OSName": image.map(|img| img.os_name.clone()).unwrap_or_default(),
        "OSNameEn": image.map(|img| img.os_name_en.clone()).unwrap_or_default(),
        "CreationTime": format_minutes(i.created_at),
        "StartTime": if i.status == InstanceStatus::Running { format_minutes(i.created_at) } else { String::new() },
        "ExpiredTime": "2099-12-31T15:59Z",
        "InstanceChargeType": "PostPaid",
        "InternetChargeType": "PayByTraffic",
        "InstanceNetworkType": "vpc",
        "DeletionProtection": false,
        "Tags": tags(tag_list),
    })
}

fn family_of(instance_type: &str) -> String {
    instance_type
        .rsplit_once('.')
        .map_or_else(|| instance_type.to_string(), |(f, _)| f.to_string())
}

pub fn disk(d: &Disk, tag_list: &[Tag]) -> Value {
    json!({
        "DiskId": d.id,
        "DiskName": "",
        "Description": "",
        "RegionId": d.region_id,
        "ZoneId": d.zone_id,
        "InstanceId": d.instance_id.clone().unwrap_or_default(),
        "Type": d.kind.as_str(),
        "Category": d.category,
        "Size": d.size_gib,
        "ImageId": d.image_id.clone().unwrap_or_default(),
        "SourceSnapshotId": "",
        "Device": d.device,
        "Status": if d.instance_id.is_some() { "In_use" } else { "Available" },
        "Portable": false,
        "DeleteWithInstance": true,
        "DeleteAutoSnapshot": true,
        "Encrypted": false,
        "CreationTime": format_time(d.created_at),
        "Tags": tags(tag_list),
    })
}

pub fn snapshot(s: &Snapshot, used_by_image: bool, tag_list: &[Tag], now: Millis) -> Value {
    let running = s.status == SnapshotStatus::Progressing;
    json!({
        "SnapshotId": s.id,
        "SnapshotName": s.name,
        "Description": s.description,
        "Status": s.status.as_str(),
        "Progress": format!("{}%", progress_percent(s.created_at, s.ready_at, now, running)),
        "Usage": if used_by_image { "image" } else { "none" },
        "SourceDiskId": s.source_disk_id,
        "SourceDiskType": s.source_disk_type.as_str(),
        "SourceDiskSize": s.source_disk_size_gib.to_string(),
        "SnapshotType": "user",
        "Category": "standard",
        "InstantAccess": false,
        "Encrypted": false,
        "ProductCode": "",
        "RegionId": s.region_id,
        "CreationTime": format_time(s.created_at),
        "Tags": tags(tag_list),
    })
}

pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_drop_the_seconds() {
        assert_eq!(family_of("ecs.g7.large"), "ecs.g7");
        assert_eq!(remaining_seconds(Some(1500), 0), 2);
        assert_eq!(remaining_seconds(None, 0), 0);
    }

    use ecsim_core::model::{Architecture, BootMode, DiskMapping, DiskType, OsType};
    use ecsim_wire::render::{self, Format};

    const NOW: Millis = 1_700_000_000_000;
    const CALLER: AccountId = 1111;

    fn disk(device: &str, kind: DiskType, snapshot: Option<&str>) -> DiskMapping {
        DiskMapping {
            device: device.into(),
            kind,
            size_gib: 20,
            snapshot_id: snapshot.map(str::to_string),
            format: String::new(),
            import_oss_bucket: String::new(),
            import_oss_object: String::new(),
            blob_sha256: None,
        }
    }

    fn sample_image(id: &str, owner: Option<AccountId>) -> Image {
        Image {
            id: id.into(),
            region_id: "cn-hangzhou".into(),
            owner,
            name: format!("name-{id}"),
            description: String::new(),
            family: String::new(),
            version: String::new(),
            status: ImageStatus::Available,
            os_type: OsType::Linux,
            os_name: "Alibaba Cloud Linux 3".into(),
            os_name_en: "Alibaba Cloud Linux 3 (English)".into(),
            platform: "Aliyun".into(),
            architecture: Architecture::X86_64,
            boot_mode: BootMode::Uefi,
            size_gib: 20,
            license_type: "Auto".into(),
            imds_support: "v2".into(),
            nvme_support: "supported".into(),
            is_copied: false,
            is_public: false,
            encrypted: false,
            created_at: NOW - 86_400_000,
            ready_at: None,
            deleted_at: None,
            source_instance_id: None,
            disk_mappings: vec![disk("/dev/xvda", DiskType::System, Some("s-sys"))],
            blob_source: None,
            blob_sha256: None,
        }
    }

    /// Representative images, each with what DescribeImages knows of it besides the row.
    fn representative_images() -> Vec<ImageView> {
        let system = sample_image("aliyun_3_x64_20G_alibase_20240819.vhd", None);

        // The caller's own image: shared, in use, tagged (with characters XML escapes), copied,
        // with an imported data disk and non-ASCII text.
        let mut own = sample_image("m-own", Some(CALLER));
        own.description = "Описание <b> & \"quotes\" 'single' 镜像".into();
        own.family = "fam".into();
        own.version = "1.0".into();
        own.is_copied = true;
        own.os_type = OsType::Windows;
        own.architecture = Architecture::Arm64;
        own.boot_mode = BootMode::Bios;
        let mut data = disk("/dev/xvdb", DiskType::Data, None);
        data.format = "QCOW2".into();
        data.import_oss_bucket = "bucket".into();
        data.import_oss_object = "dir/disk.qcow2".into();
        data.size_gib = 40;
        own.disk_mappings.push(data);

        // Another account's image, shared with the caller, still Creating on a timer.
        let mut others = sample_image("m-others", Some(2222));
        others.status = ImageStatus::Creating;
        others.ready_at = Some(NOW + 2_500);
        others.created_at = NOW - 7_500;
        others.is_public = true;

        // The caller's image being imported: its task's progress, not shared.
        let mut importing = sample_image("m-importing", Some(CALLER));
        importing.status = ImageStatus::Creating;
        importing.disk_mappings.clear();

        vec![
            ImageView {
                image: system,
                tags: Vec::new(),
                in_use: false,
                shared_accounts: 0,
                task_percent: None,
            },
            ImageView {
                image: own,
                tags: vec![
                    Tag {
                        key: "env".into(),
                        value: "a<b&c>\"d\"'e'".into(),
                    },
                    Tag {
                        key: "team".into(),
                        value: String::new(),
                    },
                ],
                in_use: true,
                shared_accounts: 2,
                task_percent: None,
            },
            ImageView {
                image: others,
                tags: Vec::new(),
                in_use: false,
                shared_accounts: 0,
                task_percent: None,
            },
            ImageView {
                image: importing,
                tags: Vec::new(),
                in_use: false,
                shared_accounts: 0,
                task_percent: Some(37),
            },
        ]
    }

    fn describe_images_body(format: Format, images: Vec<ImageView>) -> String {
        let page = ImagesPage {
            region_id: "cn-hangzhou".into(),
            total: 9,
            paging: Paging { number: 2, size: 4 },
            caller: CALLER,
            now: NOW,
            images,
        };
        String::from_utf8(render::success(format, "DescribeImages", "RID-1", &page)).unwrap()
    }

    /// Compares with `testdata/<name>`; `ECSIM_BLESS=1` rewrites the file instead.
    fn assert_golden(name: &str, actual: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name);
        if std::env::var_os("ECSIM_BLESS").is_some() {
            std::fs::write(&path, actual).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(&path).unwrap();
        assert_eq!(actual, expected, "{name} changed");
    }

    /// SDKs parse these bodies: every field, its type, its order and the XML list rule must
    /// stay exactly as they were (files written by the `serde_json::Value` renderer).
    #[test]
    fn describe_images_bodies_match_the_golden_files() {
        assert_golden(
            "describe_images.json",
            &describe_images_body(Format::Json, representative_images()),
        );
        assert_golden(
            "describe_images.xml",
            &describe_images_body(Format::Xml, representative_images()),
        );
        assert_golden(
            "describe_images_empty.json",
            &describe_images_body(Format::Json, Vec::new()),
        );
        assert_golden(
            "describe_images_empty.xml",
            &describe_images_body(Format::Xml, Vec::new()),
        );
    }

    #[test]
    fn tag_lists_stay_arrays() {
        assert_eq!(tags(&[]), json!({"Tag": []}));
    }
}

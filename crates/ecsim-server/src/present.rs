//! How resources look on the wire, field by field (spec §3.3, §4). Lists are wrapped
//! (`"Tags": {"Tag": [...]}`) and stay arrays even when they hold one element.

use crate::args::Paging;
use ecsim_core::Millis;
use ecsim_core::clock::{format_minutes, format_time};
use ecsim_core::model::{
    AccountId, Disk, Image, ImageStatus, Instance, InstanceStatus, Snapshot, SnapshotStatus, Tag,
    progress_percent,
};
use serde_json::{Map, Value, json};

pub fn tags(tags: &[Tag]) -> Value {
    let list: Vec<Value> = tags
        .iter()
        .map(|t| json!({"TagKey": t.key, "TagValue": t.value}))
        .collect();
    json!({ "Tag": list })
}

/// What DescribeImages shows of one image to `caller`.
pub struct ImageView<'a> {
    pub image: &'a Image,
    pub caller: AccountId,
    pub tags: &'a [Tag],
    pub in_use: bool,
    pub shared_accounts: u64,
    pub now: Millis,
    /// Progress of the import or copy creating the image, if one runs.
    pub task_percent: Option<u64>,
}

pub fn image(v: &ImageView<'_>) -> Value {
    let img = v.image;
    let (alias, owner_id, self_shared) = match img.owner {
        None => ("system", 0, String::new()),
        Some(owner) if owner == v.caller => (
            "self",
            owner,
            if v.shared_accounts > 0 {
                "True"
            } else {
                "False"
            }
            .to_string(),
        ),
        Some(owner) => ("others", owner, String::new()),
    };
    let progress = match v.task_percent {
        Some(percent) => format!("{percent}%"),
        None => img.progress(v.now),
    };
    let mappings: Vec<Value> = img
        .disk_mappings
        .iter()
        .map(|m| {
            json!({
                "SnapshotId": m.snapshot_id.clone().unwrap_or_default(),
                "Size": m.size_gib.to_string(),
                "Device": m.device,
                "Type": m.kind.as_str(),
                "Format": m.format,
                "ImportOSSBucket": m.import_oss_bucket,
                "ImportOSSObject": m.import_oss_object,
                "Progress": progress,
                "RemainTime": remaining_seconds(img.ready_at, v.now),
                "Encrypted": false,
            })
        })
        .collect();
    json!({
        "ImageId": img.id,
        "ImageName": img.name,
        "Description": img.description,
        "ImageVersion": img.version,
        "ImageFamily": img.family,
        "ImageOwnerAlias": alias,
        "ImageOwnerId": owner_id,
        "IsPublic": img.is_system() || img.is_public,
        "IsSelfShared": self_shared,
        "IsCopied": img.is_copied,
        "IsSubscribed": false,
        "IsSupportIoOptimized": true,
        "IsSupportCloudinit": true,
        "LoginAsNonRootSupported": false,
        "Usable": matches!(img.status, ImageStatus::Available | ImageStatus::Deprecated),
        "Status": img.status.as_str(),
        "Progress": progress,
        "Usage": if v.in_use { "instance" } else { "none" },
        "CreationTime": format_time(img.created_at),
        "Size": img.size_gib,
        "OSType": img.os_type.as_str(),
        "OSName": img.os_name,
        "OSNameEn": img.os_name_en,
        "Platform": img.platform,
        "Architecture": img.architecture.as_str(),
        "BootMode": img.boot_mode.as_str(),
        "ProductCode": "",
        "SupplierName": "",
        "ResourceGroupId": "",
        "LicenseType": img.license_type,
        "SecureBootOptions": {"SecureBootSupport": "unsupported"},
        "Features": {"NvmeSupport": img.nvme_support, "ImdsSupport": img.imds_support},
        "DetectionOptions": {},
        "Tags": tags(v.tags),
        "DiskDeviceMappings": {"DiskDeviceMapping": mappings},
    })
}

/// DescribeImages' body: the page's images with the paging fields.
pub fn images_page(
    region_id: &str,
    total: u64,
    paging: &Paging,
    images: Vec<Value>,
) -> Map<String, Value> {
    object(json!({
        "RegionId": region_id,
        "TotalCount": total,
        "PageNumber": paging.number,
        "PageSize": paging.size,
        "Images": { "Image": images },
    }))
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
    struct Shown {
        image: Image,
        tags: Vec<Tag>,
        in_use: bool,
        shared_accounts: u64,
        task_percent: Option<u64>,
    }

    fn representative_images() -> Vec<Shown> {
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
            Shown {
                image: system,
                tags: Vec::new(),
                in_use: false,
                shared_accounts: 0,
                task_percent: None,
            },
            Shown {
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
            Shown {
                image: others,
                tags: Vec::new(),
                in_use: false,
                shared_accounts: 0,
                task_percent: None,
            },
            Shown {
                image: importing,
                tags: Vec::new(),
                in_use: false,
                shared_accounts: 0,
                task_percent: Some(37),
            },
        ]
    }

    fn describe_images_body(format: Format, shown: &[Shown]) -> String {
        let images = shown
            .iter()
            .map(|s| {
                image(&ImageView {
                    image: &s.image,
                    caller: CALLER,
                    tags: &s.tags,
                    in_use: s.in_use,
                    shared_accounts: s.shared_accounts,
                    now: NOW,
                    task_percent: s.task_percent,
                })
            })
            .collect();
        let paging = Paging { number: 2, size: 4 };
        let body = images_page("cn-hangzhou", 9, &paging, images);
        String::from_utf8(render::success(format, "DescribeImages", "RID-1", body)).unwrap()
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
        let shown = representative_images();
        assert_golden(
            "describe_images.json",
            &describe_images_body(Format::Json, &shown),
        );
        assert_golden(
            "describe_images.xml",
            &describe_images_body(Format::Xml, &shown),
        );
        assert_golden(
            "describe_images_empty.json",
            &describe_images_body(Format::Json, &[]),
        );
        assert_golden(
            "describe_images_empty.xml",
            &describe_images_body(Format::Xml, &[]),
        );
    }

    #[test]
    fn tag_lists_stay_arrays() {
        assert_eq!(tags(&[]), json!({"Tag": []}));
    }
}

//! How resources look on the wire, field by field (spec §3.3, §4). Lists are wrapped
//! (`"Tags": {"Tag": [...]}`) and stay arrays even when they hold one element.

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

    #[test]
    fn tag_lists_stay_arrays() {
        assert_eq!(tags(&[]), json!({"Tag": []}));
    }
}

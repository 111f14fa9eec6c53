//! DescribeRegions and DescribeZones.

use super::{Ctx, Reply};
use crate::present::object;
use ecsim_core::catalog::INSTANCE_TYPES;
use ecsim_wire::{ApiError, Code};
use serde_json::json;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Language {
    Chinese,
    English,
}

fn language(ctx: &Ctx<'_>) -> Result<Language, ApiError> {
    match ctx.params.get_nonempty("AcceptLanguage") {
        None | Some("zh-CN") => Ok(Language::Chinese),
        // Japanese names are not in the catalog; English is the closest real answer.
        Some("en-US") | Some("ja") => Ok(Language::English),
        Some(_) => Err(ApiError::new(Code::InvalidAcceptLanguageNotFound)),
    }
}

pub fn describe_regions(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let lang = language(ctx)?;
    if let Some(kind) = ctx.params.get_nonempty("ResourceType")
        && !matches!(kind, "instance" | "disk" | "reservedinstance" | "scu")
    {
        return Err(ApiError::new(Code::InvalidResourceTypeNotFound));
    }
    let regions: Vec<_> = ctx
        .app
        .regions
        .iter()
        .map(|r| {
            json!({
                "RegionId": r.id,
                "LocalName": if lang == Language::English { &r.local_name_en } else { &r.local_name_zh },
                "RegionEndpoint": r.endpoint,
                "Status": "available",
            })
        })
        .collect();
    Ok(object(json!({ "Regions": { "Region": regions } })))
}

pub fn describe_zones(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let lang = language(ctx)?;
    let Some(region) = ctx.region else {
        return Err(ApiError::missing("RegionId"));
    };
    // "China (Hangzhou)" → "Hangzhou"; names without a city in parentheses are used whole.
    let city_en = region
        .local_name_en
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or(&region.local_name_en);
    let city_zh = region
        .local_name_zh
        .split_once('（')
        .and_then(|(_, rest)| rest.strip_suffix('）'))
        .unwrap_or(&region.local_name_zh);
    let instance_types: Vec<&str> = INSTANCE_TYPES.iter().map(|t| t.id).collect();
    let zones: Vec<_> = region
        .zones
        .iter()
        .map(|zone| {
            let letter = zone.rsplit('-').next().unwrap_or_default().to_uppercase();
            let name = match lang {
                Language::English => format!("{city_en} Zone {letter}"),
                Language::Chinese => format!("{city_zh} 可用区{letter}"),
            };
            json!({
                "ZoneId": zone,
                "LocalName": name,
                "ZoneType": "AvailabilityZone",
                "AvailableResourceCreation": {"ResourceTypes": ["VSwitch", "IoOptimized", "Instance", "Disk"]},
                "AvailableDiskCategories": {"DiskCategories": ["cloud_essd", "cloud_efficiency", "cloud_ssd", "cloud_auto"]},
                "AvailableVolumeCategories": {"VolumeCategories": []},
                "AvailableInstanceTypes": {"InstanceTypes": instance_types},
            })
        })
        .collect();
    Ok(object(json!({ "Zones": { "Zone": zones } })))
}

//! TagResources, UntagResources, ListTagResources.

use super::{Ctx, Reply};
use crate::args::{tag_filters, tags_to_attach};
use crate::present::object;
use ecsim_core::model::{AccountId, ResourceType};
use ecsim_store::{TagPattern, TagQuery, Tx};
use ecsim_wire::{ApiError, Code, Params};
use serde_json::json;

const MAX_RESOURCES: usize = 50;
const MAX_TAGS_PER_RESOURCE: usize = 20;
const LIST_PAGE: u64 = 50;

fn missing(name: &str) -> ApiError {
    ApiError::missing_dotted(name)
}

fn resource_type(p: &Params) -> Result<ResourceType, ApiError> {
    let raw = p
        .get_nonempty("ResourceType")
        .ok_or_else(|| missing("ResourceType"))?;
    ResourceType::parse(&raw.to_ascii_lowercase())
        .ok_or_else(|| ApiError::new(Code::InvalidResourceTypeNotFound))
}

fn resource_ids(p: &Params) -> Result<Vec<&str>, ApiError> {
    let ids = p.list("ResourceId")?;
    if ids.is_empty() {
        return Err(missing("ResourceIds"));
    }
    if ids.len() > MAX_RESOURCES {
        return Err(ApiError::new(Code::NumberExceedResourceIds));
    }
    Ok(ids)
}

/// Whether `owner` has a live resource of this type and id in `region_id`.
fn owns(
    tx: &mut dyn Tx,
    owner: AccountId,
    region_id: &str,
    rt: ResourceType,
    id: &str,
) -> Result<bool, ApiError> {
    Ok(match rt {
        ResourceType::Image => tx
            .image(region_id, id)?
            .is_some_and(|i| i.owner == Some(owner) && !i.is_deleted()),
        ResourceType::Instance => tx
            .instance(id)?
            .is_some_and(|i| i.owner == owner && i.region_id == region_id),
        ResourceType::Snapshot => tx
            .snapshot(id)?
            .is_some_and(|s| s.owner == owner && s.region_id == region_id),
        ResourceType::Disk => tx
            .disk(id)?
            .is_some_and(|d| d.owner == owner && d.region_id == region_id),
    })
}

pub fn tag_resources(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let p = ctx.params;
    let rt = resource_type(p)?;
    let ids = resource_ids(p)?;
    let tags = tags_to_attach(p).map_err(|e| {
        if e.code() == Code::InvalidTagCount {
            ApiError::new(Code::NumberExceedTags)
        } else {
            e
        }
    })?;
    if tags.is_empty() {
        return Err(missing("Tags"));
    }
    ctx.app.store.write(|tx| {
        for id in &ids {
            if !owns(tx, ctx.account(), ctx.region_id(), rt, id)? {
                return Err(ApiError::new(Code::InvalidResourceIdNotFound));
            }
            let existing = tx.tags(rt, id)?;
            let added = tags
                .iter()
                .filter(|t| !existing.iter().any(|e| e.key == t.key))
                .count();
            if existing.len() + added > MAX_TAGS_PER_RESOURCE {
                return Err(ApiError::new(Code::QuotaExceedTags));
            }
            for tag in &tags {
                tx.set_tag(ctx.account(), ctx.region_id(), rt, id, tag)?;
            }
        }
        Ok(Reply::new())
    })
}

pub fn untag_resources(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let p = ctx.params;
    let rt = resource_type(p)?;
    let ids = resource_ids(p)?;
    let keys = p.list("TagKey")?;
    if keys.len() > MAX_TAGS_PER_RESOURCE {
        return Err(ApiError::new(Code::NumberExceedTags));
    }
    let all = p.bool("All")?.unwrap_or(false);
    ctx.app.store.write(|tx| {
        for id in &ids {
            if !owns(tx, ctx.account(), ctx.region_id(), rt, id)? {
                return Err(ApiError::new(Code::InvalidResourceIdNotFound));
            }
            if keys.is_empty() {
                if all {
                    tx.remove_all_tags(rt, id)?;
                }
            } else {
                for key in &keys {
                    tx.remove_tag(rt, id, key)?;
                }
            }
        }
        Ok(Reply::new())
    })
}

/// `TagFilter.N.TagKey` with `TagFilter.N.TagValues.M` (N 1–5): fuzzy filters.
fn tag_patterns(p: &Params) -> Result<Vec<TagPattern>, ApiError> {
    let filters = p.object_list("TagFilter")?;
    if filters.len() > 5 {
        return Err(ApiError::new(Code::NumberExceedTags));
    }
    filters
        .into_iter()
        .map(|fields| {
            let key = fields
                .get("TagKey")
                .filter(|k| !k.is_empty())
                .cloned()
                .ok_or_else(|| ApiError::invalid_parameter("TagFilter.N.TagKey", "is required"))?;
            let mut values: Vec<(u64, String)> = fields
                .iter()
                .filter_map(|(name, value)| {
                    let index = name.strip_prefix("TagValues.")?.parse::<u64>().ok()?;
                    Some((index, value.clone()))
                })
                .collect();
            values.sort();
            Ok(TagPattern {
                key,
                values: values.into_iter().map(|(_, v)| v).collect(),
            })
        })
        .collect()
}

pub fn list_tag_resources(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let p = ctx.params;
    let rt = resource_type(p)?;
    let ids = p.list("ResourceId")?;
    if ids.len() > MAX_RESOURCES {
        return Err(ApiError::new(Code::NumberExceedResourceIds));
    }
    let offset = match p.get_nonempty("NextToken") {
        None => 0,
        Some(t) => t
            .parse::<u64>()
            .map_err(|_| ApiError::invalid_parameter("NextToken", t))?,
    };
    let query = TagQuery {
        owner: ctx.account(),
        region_id: ctx.region_id().to_string(),
        resource_type: Some(rt),
        resource_ids: ids.iter().map(|s| s.to_string()).collect(),
        tags: tag_filters(p)?,
        patterns: tag_patterns(p)?,
        offset,
        limit: LIST_PAGE,
    };
    let page = ctx.app.store.read(|tx| Ok(tx.find_tags(&query)?))?;
    let next = offset + page.items.len() as u64;
    let rows: Vec<_> = page
        .items
        .iter()
        .map(|r| {
            json!({
                "ResourceId": r.resource_id,
                "ResourceType": r.resource_type.as_str(),
                "TagKey": r.tag.key,
                "TagValue": r.tag.value,
            })
        })
        .collect();
    Ok(object(json!({
        "NextToken": if next < page.total { next.to_string() } else { String::new() },
        "TagResources": { "TagResource": rows },
    })))
}

//! The one action table: every operation ecsim serves, its handler, how it takes its region,
//! and what RAM authorizes it against (spec ecs-image-api §5).

use crate::handlers::{self, Answer, Ctx};
use crate::operation_params::{self as params, Param};
use ecsim_wire::{ApiError, Params};

pub const ECS_VERSION: &str = "2014-05-26";

/// How an operation names its region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionRule {
    /// `RegionId` is required: missing → 400 `MissingRegionId`, unknown → 404.
    Required,
    /// Required, missing → 400 `MissingParameter` (the sharing operations' documented form).
    RequiredLongForm,
    /// Required, with the tag APIs' own missing-parameter error.
    RequiredTagStyle,
    /// Optional (DescribeRegions); validated when present.
    Optional,
    /// The region comes from the resource named by another parameter.
    FromResource,
}

/// RAM access levels (spec ram-authorization §1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessLevel {
    Get,
    List,
    Create,
    Update,
    Delete,
}

/// See [`Action::read_first`].
pub type ReadFirst = fn(&Ctx<'_>) -> Result<Option<Answer>, ApiError>;

pub struct Action {
    pub name: &'static str,
    pub ram_action: &'static str,
    pub access: AccessLevel,
    /// The resource ARN's relative part, `{Param}` standing for a request parameter;
    /// `*` for "All Resources". Region and account complete it as `acs:ecs:{region}:{account}:…`.
    pub resource: &'static str,
    pub region: RegionRule,
    pub handler: fn(&Ctx<'_>) -> Result<Answer, ApiError>,
    /// A decision taken on a read snapshot before the handler: `Some` answers the call (a
    /// refusal, or nothing left to change) without the handler; `None` goes on to the handler,
    /// which decides again on the state it writes. On the embedded store it runs on the
    /// runtime worker, so a refused write never hops to the blocking pool (issue 7: errors as
    /// cheap as successes).
    pub read_first: Option<ReadFirst>,
    /// The operation's own parameters (not the signature's common ones), in the spec's order.
    pub params: &'static [Param],
}

macro_rules! action {
    ($name:literal, $access:ident, $resource:literal, $region:ident, $handler:path, $params:path) => {
        action!(@entry $name, $access, $resource, $region, $handler, $params)
    };
    ($name:literal, $access:ident, $resource:literal, $region:ident, $handler:path, $params:path,
     read_first = $read_first:path) => {
        Action {
            read_first: Some(|ctx| Ok($read_first(ctx)?.map(handlers::answer))),
            ..action!(@entry $name, $access, $resource, $region, $handler, $params)
        }
    };
    (@entry $name:literal, $access:ident, $resource:literal, $region:ident, $handler:path,
     $params:path) => {
        Action {
            name: $name,
            ram_action: concat!("ecs:", $name),
            access: AccessLevel::$access,
            resource: $resource,
            region: RegionRule::$region,
            // Each handler answers its own body type; the table boxes it for the renderer.
            handler: |ctx| $handler(ctx).map(handlers::answer),
            read_first: None,
            params: $params,
        }
    };
}

pub const ACTIONS: &[Action] = &[
    action!(
        "DescribeRegions",
        Get,
        "*",
        Optional,
        handlers::regions::describe_regions,
        params::DESCRIBE_REGIONS
    ),
    action!(
        "DescribeZones",
        Get,
        "*",
        Required,
        handlers::regions::describe_zones,
        params::DESCRIBE_ZONES
    ),
    action!(
        "DescribeImages",
        Get,
        "image/*",
        Required,
        handlers::images::describe_images,
        params::DESCRIBE_IMAGES
    ),
    action!(
        "DescribeImageFromFamily",
        Get,
        "*",
        Required,
        handlers::images::describe_image_from_family,
        params::DESCRIBE_IMAGE_FROM_FAMILY
    ),
    action!(
        "CreateImage",
        Create,
        "image/*",
        Required,
        handlers::images::create_image,
        params::CREATE_IMAGE
    ),
    action!(
        "DeleteImage",
        Delete,
        "image/{ImageId}",
        Required,
        handlers::images::delete_image,
        params::DELETE_IMAGE,
        read_first = handlers::images::delete_image_refusal
    ),
    action!(
        "ModifyImageAttribute",
        Update,
        "image/{ImageId}",
        Required,
        handlers::images::modify_image_attribute,
        params::MODIFY_IMAGE_ATTRIBUTE
    ),
    action!(
        "ModifyImageSharePermission",
        Update,
        "image/{ImageId}",
        RequiredLongForm,
        handlers::sharing::modify_image_share_permission,
        params::MODIFY_IMAGE_SHARE_PERMISSION
    ),
    action!(
        "DescribeImageSharePermission",
        Get,
        "image/{ImageId}",
        RequiredLongForm,
        handlers::sharing::describe_image_share_permission,
        params::DESCRIBE_IMAGE_SHARE_PERMISSION
    ),
    action!(
        "CopyImage",
        Update,
        "image/*",
        Required,
        handlers::tasks::copy_image,
        params::COPY_IMAGE
    ),
    action!(
        "CancelCopyImage",
        Update,
        "image/{ImageId}",
        Required,
        handlers::tasks::cancel_copy_image,
        params::CANCEL_COPY_IMAGE
    ),
    action!(
        "ImportImage",
        Update,
        "image/*",
        Required,
        handlers::tasks::import_image,
        params::IMPORT_IMAGE
    ),
    action!(
        "ExportImage",
        Update,
        "image/{ImageId}",
        Required,
        handlers::tasks::export_image,
        params::EXPORT_IMAGE
    ),
    action!(
        "DescribeTasks",
        Get,
        "*",
        RequiredLongForm,
        handlers::tasks::describe_tasks,
        params::DESCRIBE_TASKS
    ),
    action!(
        "DescribeTaskAttribute",
        Get,
        "*",
        RequiredLongForm,
        handlers::tasks::describe_task_attribute,
        params::DESCRIBE_TASK_ATTRIBUTE
    ),
    action!(
        "CancelTask",
        Update,
        "*",
        RequiredLongForm,
        handlers::tasks::cancel_task,
        params::CANCEL_TASK
    ),
    action!(
        "RunInstances",
        Create,
        "*",
        Required,
        handlers::instances::run_instances,
        params::RUN_INSTANCES
    ),
    action!(
        "CreateInstance",
        Create,
        "*",
        Required,
        handlers::instances::create_instance,
        params::CREATE_INSTANCE
    ),
    action!(
        "DescribeInstances",
        List,
        "instance/*",
        Required,
        handlers::instances::describe_instances,
        params::DESCRIBE_INSTANCES
    ),
    action!(
        "StartInstance",
        Update,
        "instance/{InstanceId}",
        FromResource,
        handlers::instances::start_instance,
        params::START_INSTANCE
    ),
    action!(
        "StopInstance",
        Update,
        "instance/{InstanceId}",
        FromResource,
        handlers::instances::stop_instance,
        params::STOP_INSTANCE
    ),
    action!(
        "DeleteInstance",
        Delete,
        "instance/{InstanceId}",
        FromResource,
        handlers::instances::delete_instance,
        params::DELETE_INSTANCE
    ),
    action!(
        "DeleteInstances",
        Delete,
        "instance/{InstanceId}",
        Required,
        handlers::instances::delete_instances,
        params::DELETE_INSTANCES
    ),
    action!(
        "DescribeDisks",
        List,
        "disk/*",
        Required,
        handlers::instances::describe_disks,
        params::DESCRIBE_DISKS
    ),
    action!(
        "CreateSnapshot",
        Create,
        "snapshot/*",
        FromResource,
        handlers::snapshots::create_snapshot,
        params::CREATE_SNAPSHOT
    ),
    action!(
        "DescribeSnapshots",
        Get,
        "snapshot/*",
        Required,
        handlers::snapshots::describe_snapshots,
        params::DESCRIBE_SNAPSHOTS
    ),
    action!(
        "DeleteSnapshot",
        Delete,
        "snapshot/{SnapshotId}",
        FromResource,
        handlers::snapshots::delete_snapshot,
        params::DELETE_SNAPSHOT
    ),
    action!(
        "TagResources",
        Create,
        "{ResourceType}/{ResourceId}",
        RequiredTagStyle,
        handlers::tags::tag_resources,
        params::TAG_RESOURCES
    ),
    action!(
        "UntagResources",
        Delete,
        "{ResourceType}/{ResourceId}",
        RequiredTagStyle,
        handlers::tags::untag_resources,
        params::UNTAG_RESOURCES
    ),
    action!(
        "ListTagResources",
        Get,
        "*",
        RequiredTagStyle,
        handlers::tags::list_tag_resources,
        params::LIST_TAG_RESOURCES
    ),
];

/// Looks an operation up by its exact (case-sensitive) name.
pub fn find(name: &str) -> Option<&'static Action> {
    ACTIONS.iter().find(|a| a.name == name)
}

/// Reads known to be short, with the parameter that makes them so (`None`: always short):
/// lookups by id and the static region lists. Listings with filters can scan and stay off the
/// runtime's workers.
const SHORT_READS: &[(&str, Option<&str>)] = &[
    ("DescribeRegions", None),
    ("DescribeZones", None),
    ("DescribeImages", Some("ImageId")),
    ("DescribeImageSharePermission", None),
    ("DescribeTaskAttribute", None),
];

/// Whether this request may run on the async runtime's worker instead of the blocking pool:
/// a short read ([`SHORT_READS`]) on the embedded store, whose reads never wait for a disk
/// sync or another node. Writes wait for the group commit's fsync and stay on the pool, as
/// does everything on a shared (network) store.
pub fn runs_inline(action: &Action, params: &Params, shared_store: bool) -> bool {
    !shared_store
        && matches!(action.access, AccessLevel::Get | AccessLevel::List)
        && SHORT_READS.iter().any(|(name, by)| {
            *name == action.name && by.is_none_or(|p| params.get_nonempty(p).is_some())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_ram_actions_follow_them() {
        for (i, a) in ACTIONS.iter().enumerate() {
            assert!(
                ACTIONS[i + 1..].iter().all(|b| b.name != a.name),
                "{} twice",
                a.name
            );
            assert_eq!(a.ram_action, format!("ecs:{}", a.name));
        }
        assert_eq!(
            find("DeleteImage").map(|a| a.resource),
            Some("image/{ImageId}")
        );
        assert!(find("deleteimage").is_none());
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn only_short_reads_on_the_embedded_store_run_inline() {
        for (name, _) in SHORT_READS {
            let action = find(name).unwrap_or_else(|| panic!("{name} is no action"));
            assert!(matches!(
                action.access,
                AccessLevel::Get | AccessLevel::List
            ));
        }
        let describe = find("DescribeImages").expect("DescribeImages");
        let by_id = params(&[("ImageId", "m-1")]);
        assert!(runs_inline(describe, &by_id, false));
        assert!(!runs_inline(describe, &by_id, true));
        assert!(!runs_inline(describe, &params(&[("ImageId", "")]), false));
        assert!(!runs_inline(
            describe,
            &params(&[("ImageName", "x")]),
            false
        ));
        assert!(runs_inline(
            find("DescribeRegions").expect("DescribeRegions"),
            &Params::default(),
            false
        ));
        for action in ACTIONS
            .iter()
            .filter(|a| !matches!(a.access, AccessLevel::Get | AccessLevel::List))
        {
            assert!(!runs_inline(action, &by_id, false), "{}", action.name);
        }
        let listing = find("DescribeInstances").expect("DescribeInstances");
        assert!(!runs_inline(listing, &by_id, false));
    }
}

//! ImportImage, ExportImage, CopyImage, CancelCopyImage, DescribeTasks, DescribeTaskAttribute
//! and CancelTask (spec §3.7–§3.13). The handlers validate, write the image and the task row in
//! one transaction, and wake the task workers; bytes move in `crate::taskwork`.

use super::{Ctx, Reply, dry_run_gate, idempotent};
use crate::args::{Paging, comma_list, tags_to_attach};
use crate::present::object;
use ecsim_blob::{DiskFormat, OssError, OssNotFound};
use ecsim_core::Millis;
use ecsim_core::clock::{format_minutes, parse_time};
use ecsim_core::ids::new_id;
use ecsim_core::model::{
    Architecture, BootMode, DiskMapping, DiskType, ExportedDisk, Image, ImageStatus, OsType,
    ResourceType, Task, TaskAction, TaskStatus, TaskWork,
};
use ecsim_core::validate;
use ecsim_store::{TaskQuery, Tx};
use ecsim_wire::{ApiError, Code, Params};
use serde_json::json;

/// ImportImage/ExportImage's form of a missing parameter.
fn missing_input(name: &str) -> ApiError {
    ApiError::new(Code::MissingParameter).with_message(format!(
        "An input parameter \"{name}\" that is mandatory for processing the request is not supplied."
    ))
}

fn oss_error(err: &OssError) -> ApiError {
    match err.not_found() {
        Some(OssNotFound::Object) => ApiError::new(Code::InvalidOssObjectNotFound),
        _ => ApiError::new(Code::InvalidOssBucketNotFound),
    }
}

fn new_task(
    ctx: &Ctx<'_>,
    region_id: &str,
    action: TaskAction,
    resource_id: &str,
    work: TaskWork,
) -> Task {
    Task {
        id: new_id("t", region_id),
        owner: ctx.account(),
        region_id: region_id.to_string(),
        action,
        status: TaskStatus::Waiting,
        resource_id: resource_id.to_string(),
        work,
        created_at: ctx.now,
        finished_at: None,
        bytes_done: 0,
        bytes_total: 0,
        cancel_requested: false,
        lease_owner: None,
        lease_until: None,
        error_code: None,
        error_message: None,
    }
}

fn own_live_image(
    ctx: &Ctx<'_>,
    tx: &mut dyn Tx,
    region_id: &str,
    id: &str,
) -> Result<Image, ApiError> {
    tx.image(region_id, id)?
        .filter(|i| i.owner == Some(ctx.account()) && !i.is_deleted())
        .ok_or_else(|| ApiError::new(Code::InvalidImageIdNotFound))
}

fn parse_enum<T>(
    p: &Params,
    name: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    p.get_nonempty(name)
        .map(|v| parse(v).ok_or_else(|| ApiError::invalid_parameter(name, v)))
        .transpose()
}

/// One `DiskDeviceMapping.N` of ImportImage.
struct ImportMapping {
    index: usize,
    bucket: String,
    object: String,
    format: Option<DiskFormat>,
    size_gib: i64,
}

const MAX_IMPORT_DISKS: usize = 17;

fn import_mappings(p: &Params) -> Result<Vec<ImportMapping>, ApiError> {
    let mut out = Vec::new();
    for index in 1..=MAX_IMPORT_DISKS {
        let field = |name: &str| p.get_nonempty(&format!("DiskDeviceMapping.{index}.{name}"));
        let (bucket, object) = (field("OSSBucket"), field("OSSObject"));
        if bucket.is_none() && object.is_none() && field("Format").is_none() {
            continue;
        }
        let bucket =
            bucket.ok_or_else(|| missing_input(&format!("DiskDeviceMapping.{index}.OSSBucket")))?;
        let object =
            object.ok_or_else(|| missing_input(&format!("DiskDeviceMapping.{index}.OSSObject")))?;
        let format = field("Format")
            .map(|f| {
                DiskFormat::parse_import(f)
                    .ok_or_else(|| ApiError::new(Code::InvalidImageFormatMalformed))
            })
            .transpose()?;
        let size = field("DiskImageSize")
            .or_else(|| field("DiskImSize"))
            .map(|s| s.parse::<i64>().ok().filter(|n| (1..=2048).contains(n)))
            .map(|n| {
                n.ok_or_else(|| {
                    ApiError::invalid_parameter(
                        "DiskDeviceMapping.N.DiskImageSize",
                        "must be 1 to 2048",
                    )
                })
            })
            .transpose()?;
        out.push(ImportMapping {
            index,
            bucket: bucket.to_string(),
            object: object.to_string(),
            format,
            size_gib: size.unwrap_or(0),
        });
    }
    Ok(out)
}

/// `RoleName` of ImportImage/ExportImage: the RAM role ECS assumes to reach the bucket. A named
/// role must exist in the caller's account (`403 NoSetRoletoECSServiceAcount` otherwise);
/// without one, the default role (`AliyunECSImageImportDefaultRole` /
/// `…ExportDefaultRole`) is taken as authorized (README, "Choices").
fn check_role(ctx: &Ctx<'_>, tx: &mut dyn Tx) -> Result<(), ApiError> {
    match ctx.params.get_nonempty("RoleName") {
        Some(role) if tx.ram_role(ctx.account(), role)?.is_none() => {
            Err(ApiError::new(Code::NoSetRoleToEcsServiceAccount))
        }
        _ => Ok(()),
    }
}

pub fn import_image(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let p = ctx.params;
    // N=1 is the system disk; 2–17 are data disks. The task imports every disk's bytes (each
    // into its own blob, `blobs::disk_blob_key`); the objects are checked for existence here.
    let requested = import_mappings(p)?;
    let Some(system) = requested.first().filter(|m| m.index == 1) else {
        return Err(missing_input("DiskDeviceMapping.1.OSSBucket"));
    };
    let (bucket, object_key, declared) =
        (system.bucket.clone(), system.object.clone(), system.format);
    let name = p.get_nonempty("ImageName");
    if let Some(n) = name {
        validate::image_name(n)
            .map_err(|e| e.with_message("The specified Image name is wrongly formed."))?;
    }
    let description = p.get_nonempty("Description").unwrap_or_default();
    if !description.is_empty() {
        validate::description(description)?;
    }
    let architecture =
        parse_enum(p, "Architecture", Architecture::parse)?.unwrap_or(Architecture::X86_64);
    let os_type = parse_enum(p, "OSType", |v| OsType::parse(&v.to_ascii_lowercase()))?
        .unwrap_or(OsType::Linux);
    let boot_mode = parse_enum(p, "BootMode", BootMode::parse)?.unwrap_or(
        if architecture == Architecture::Arm64 {
            BootMode::Uefi
        } else {
            BootMode::Bios
        },
    );
    let platform = p
        .get_nonempty("Platform")
        .unwrap_or("Others Linux")
        .to_string();
    let tags = tags_to_attach(p)?;
    let oss = ctx
        .app
        .oss
        .as_ref()
        .ok_or_else(|| ApiError::new(Code::InvalidOssBucketNotFound))?;
    for mapping in &requested {
        oss.object_path(&mapping.bucket, &mapping.object)
            .map_err(|e| oss_error(&e))?;
    }
    dry_run_gate(p)?;
    let reply = ctx.app.store.write(|tx| {
        idempotent(ctx, tx, Code::IdempotenceParamNotMatch, |tx| {
            check_role(ctx, tx)?;
            if let Some(n) = name
                && tx.image_name_taken(ctx.account(), ctx.region_id(), n, None)?
            {
                return Err(ApiError::new(Code::InvalidImageNameDuplicated)
                    .with_message("The destination image is exist."));
            }
            let id = new_id("m", ctx.region_id());
            let image = Image {
                id: id.clone(),
                region_id: ctx.region_id().to_string(),
                owner: Some(ctx.account()),
                name: name.map_or_else(|| id.clone(), str::to_string),
                description: description.to_string(),
                family: String::new(),
                version: String::new(),
                status: ImageStatus::Waiting,
                os_type,
                os_name: platform.clone(),
                os_name_en: platform.clone(),
                platform: platform.clone(),
                architecture,
                boot_mode,
                size_gib: 0,
                license_type: p
                    .get_nonempty("LicenseType")
                    .unwrap_or_default()
                    .to_string(),
                imds_support: p
                    .get_nonempty("Features.ImdsSupport")
                    .unwrap_or("v1")
                    .to_string(),
                nvme_support: p
                    .get_nonempty("Features.NvmeSupport")
                    .unwrap_or("unsupported")
                    .to_string(),
                is_copied: false,
                is_public: false,
                encrypted: false,
                created_at: ctx.now,
                ready_at: None,
                deleted_at: None,
                source_instance_id: None,
                blob_sha256: None,
                blob_source: None,
                disk_mappings: requested
                    .iter()
                    .map(|m| DiskMapping {
                        device: if m.index == 1 {
                            "/dev/xvda".to_string()
                        } else {
                            format!(
                                "/dev/xvd{}",
                                char::from(b'a' + u8::try_from(m.index - 1).unwrap_or(25))
                            )
                        },
                        kind: if m.index == 1 {
                            DiskType::System
                        } else {
                            DiskType::Data
                        },
                        size_gib: m.size_gib,
                        snapshot_id: None,
                        format: m
                            .format
                            .map(|f| f.ecs_name().to_string())
                            .unwrap_or_default(),
                        import_oss_bucket: m.bucket.clone(),
                        import_oss_object: m.object.clone(),
                        blob_sha256: None,
                    })
                    .collect(),
            };
            tx.put_image(&image)?;
            for tag in &tags {
                tx.set_tag(
                    ctx.account(),
                    ctx.region_id(),
                    ResourceType::Image,
                    &id,
                    tag,
                )?;
            }
            let work = TaskWork::Import {
                bucket: bucket.clone(),
                object: object_key.clone(),
                declared_format: declared.map(|f| f.ecs_name().to_string()),
            };
            let task = new_task(ctx, ctx.region_id(), TaskAction::ImportImage, &id, work);
            tx.put_task(&task)?;
            Ok(object(
                json!({ "ImageId": id, "TaskId": task.id, "RegionId": ctx.region_id() }),
            ))
        })
    })?;
    ctx.app.tasks.notify_one();
    Ok(reply)
}

/// The object ExportImage writes for one disk (`system`, or `data_xvdb` after the data disk's
/// mount point), named as ECS names them: `{OSSPrefix}_{ImageId}_system.raw.tar.gz` for RAW
/// (a gzip-compressed tar archive of the disk, as ECS hands it out), `….{format}` for the
/// other formats; without a prefix, `{ImageId}_system…`.
pub(crate) fn export_object(
    prefix: &str,
    image_id: &str,
    disk: &str,
    format: DiskFormat,
) -> String {
    let stem = if prefix.is_empty() {
        format!("{image_id}_{disk}")
    } else {
        format!("{prefix}_{image_id}_{disk}")
    };
    match format {
        DiskFormat::Raw => format!("{stem}.raw{RAW_ARCHIVE_SUFFIX}"),
        other => format!("{stem}.{}", other.extension()),
    }
}

/// What a RAW export's object name ends with; the archive's one member is the name without it.
pub(crate) const RAW_ARCHIVE_SUFFIX: &str = ".tar.gz";

const MAX_EXPORTED_DATA_DISKS: usize = 4;
const MAX_EXPORTED_DATA_DISK_GIB: i64 = 500;

/// `data_xvdb` for a data disk mounted at `/dev/xvdb`; `data_disk2` for one without a device.
fn data_disk_label(device: &str, position: usize) -> String {
    match device.rsplit('/').next().filter(|d| !d.is_empty()) {
        Some(name) => format!("data_{name}"),
        None => format!("data_disk{position}"),
    }
}

fn valid_prefix(prefix: &str) -> bool {
    (1..=30).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub fn export_image(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let p = ctx.params;
    let image_id = p
        .get_nonempty("ImageId")
        .ok_or_else(|| missing_input("ImageId"))?;
    let bucket = p
        .get_nonempty("OSSBucket")
        .ok_or_else(|| missing_input("OSSBucket"))?;
    let prefix = p.get_nonempty("OSSPrefix").unwrap_or_default();
    if !prefix.is_empty() && !valid_prefix(prefix) {
        return Err(ApiError::new(Code::InvalidOssPrefixMalformed));
    }
    let format = match p.get_nonempty("ImageFormat") {
        None => DiskFormat::Raw,
        Some(f) => DiskFormat::parse_export(f)
            .ok_or_else(|| ApiError::new(Code::InvalidImageFormatMalformed))?,
    };
    let oss = ctx
        .app
        .oss
        .as_ref()
        .ok_or_else(|| ApiError::new(Code::InvalidOssBucketNotFound))?;
    oss.bucket_dir(bucket).map_err(|e| oss_error(&e))?;
    dry_run_gate(p)?;
    let reply = ctx.app.store.write(|tx| {
        check_role(ctx, tx)?;
        let image = own_live_image(ctx, tx, ctx.region_id(), image_id)?;
        if image.status != ImageStatus::Available {
            return Err(ApiError::new(Code::IncorrectImageStatus));
        }
        if image.is_public {
            return Err(ApiError::new(Code::ImageNotSupported).with_message("Community images do not support export."));
        }
        if image.encrypted {
            return Err(ApiError::new(Code::ImageNotSupportedEncrypted));
        }
        // ECS exports at most 4 data disks of at most 500 GiB each (spec §3.10); it names no
        // code for either, so they take the export's "not supported" refusal.
        let data: Vec<&DiskMapping> = image
            .disk_mappings
            .iter()
            .filter(|m| m.kind == DiskType::Data)
            .collect();
        if data.len() > MAX_EXPORTED_DATA_DISKS {
            return Err(ApiError::new(Code::ImageNotSupported).with_message(
                "The specified image contains more than 4 data disks, do not support export image.",
            ));
        }
        if data.iter().any(|m| m.size_gib > MAX_EXPORTED_DATA_DISK_GIB) {
            return Err(ApiError::new(Code::ImageNotSupported).with_message(
                "The specified image contains a data disk larger than 500 GiB, do not support export image.",
            ));
        }
        if tx.open_task(&image.id, TaskAction::ExportImage)?.is_some() {
            return Err(ApiError::new(Code::ImageIsExporting).with_message(
                "The specified Image is being exported. You can use the DescribeTasks API to check the status of existing tasks.",
            ));
        }
        let object_key = export_object(prefix, &image.id, "system", format);
        // Data disks with bytes of their own (imported ones); one made from no bytes has
        // nothing to export.
        let data_disks = image
            .disk_mappings
            .iter()
            .enumerate()
            .filter(|(position, m)| *position > 0 && m.blob_sha256.is_some())
            .map(|(position, m)| ExportedDisk {
                position,
                object: export_object(prefix, &image.id, &data_disk_label(&m.device, position), format),
            })
            .collect();
        let work = TaskWork::Export {
            bucket: bucket.to_string(),
            object: object_key,
            format: format.ecs_name().to_string(),
            data_disks,
        };
        let task = new_task(ctx, ctx.region_id(), TaskAction::ExportImage, &image.id, work);
        tx.put_task(&task)?;
        Ok(object(json!({ "TaskId": task.id, "RegionId": ctx.region_id() })))
    })?;
    ctx.app.tasks.notify_one();
    Ok(reply)
}

pub fn copy_image(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let p = ctx.params;
    let source_id = p
        .get_nonempty("ImageId")
        .ok_or_else(|| ApiError::missing("ImageId"))?;
    let destination = match p.get_nonempty("DestinationRegionId") {
        None => ctx.region_id().to_string(),
        Some(d) => ctx
            .app
            .region(d)
            .map(|r| r.id.clone())
            .ok_or_else(|| ApiError::new(Code::DestinationRegionNotFound))?,
    };
    let name = p.get_nonempty("DestinationImageName");
    if let Some(n) = name {
        validate::image_name(n).map_err(|e| {
            e.with_message("The specified destination image name is wrongly formed.")
        })?;
    }
    let description = p.get_nonempty("DestinationDescription");
    if let Some(d) = description {
        validate::description(d).map_err(|e| {
            e.with_message("The specified destination description is wrongly formed.")
        })?;
    }
    let encrypted = p.bool("Encrypted")?.unwrap_or(false);
    let tags = tags_to_attach(p)?;
    dry_run_gate(p)?;
    let reply = ctx.app.store.write(|tx| {
        idempotent(ctx, tx, Code::IdempotenceParamNotMatch, |tx| {
            let source = tx
                .image(ctx.region_id(), source_id)?
                .filter(|i| !i.is_deleted() && !i.is_system())
                .ok_or_else(|| ApiError::new(Code::InvalidImageIdNotFound))?;
            let own = source.owner == Some(ctx.account());
            if !own && !source.is_public && !tx.is_shared_with(&source.id, ctx.account())? {
                return Err(ApiError::new(Code::InvalidImageIdNotFound));
            }
            if source.is_public {
                return Err(ApiError::new(Code::OperationDeniedCommunityImage));
            }
            if !own && destination != ctx.region_id() {
                return Err(ApiError::new(Code::OperationDeniedSameRegionOnly));
            }
            if source.status != ImageStatus::Available {
                return Err(ApiError::new(Code::IncorrectImageStatus).with_message("The image not available."));
            }
            if tx.open_copy_of(&source.id)? {
                return Err(ApiError::new(Code::OperationDeniedImageCopyConflict));
            }
            if let Some(n) = name
                && tx.image_name_taken(ctx.account(), &destination, n, None)?
            {
                return Err(ApiError::new(Code::InvalidImageNameDuplicated).with_message(
                    "The specified image name is already in use in the target region. Please try a different one.",
                ));
            }
            let id = new_id("m", &destination);
            let copy = Image {
                id: id.clone(),
                region_id: destination.clone(),
                owner: Some(ctx.account()),
                name: name.map_or_else(|| id.clone(), str::to_string),
                description: description.map_or_else(|| source.description.clone(), str::to_string),
                status: ImageStatus::Creating,
                is_copied: true,
                is_public: false,
                encrypted: encrypted || source.encrypted,
                created_at: ctx.now,
                ready_at: None,
                deleted_at: None,
                source_instance_id: None,
                blob_source: None,
                disk_mappings: source
                    .disk_mappings
                    .iter()
                    .map(|m| DiskMapping { snapshot_id: None, ..m.clone() })
                    .collect(),
                ..source.clone()
            };
            tx.put_image(&copy)?;
            for tag in &tags {
                tx.set_tag(ctx.account(), &destination, ResourceType::Image, &id, tag)?;
            }
            let work = TaskWork::Copy { source_region: source.region_id.clone(), source_image_id: source.id.clone() };
            tx.put_task(&new_task(ctx, &destination, TaskAction::CopyImage, &id, work))?;
            Ok(object(json!({ "ImageId": id })))
        })
    })?;
    ctx.app.tasks.notify_one();
    Ok(reply)
}

/// Ends an unfinished task as cancelled, in the caller's transaction: the task fails, and the
/// image an import or copy was creating is removed. The worker notices and stops moving bytes.
pub fn cancel_in_tx(tx: &mut dyn Tx, task: &mut Task, now: Millis) -> Result<(), ApiError> {
    task.cancel_requested = true;
    task.status = TaskStatus::Failed;
    task.finished_at = Some(now);
    task.error_code = Some("Cancelled".to_string());
    task.error_message = Some("The task was cancelled.".to_string());
    tx.put_task(task)?;
    if matches!(task.action, TaskAction::ImportImage | TaskAction::CopyImage)
        && let Some(mut image) = tx.image(&task.region_id, &task.resource_id)?
        && !image.is_deleted()
    {
        image.deleted_at = Some(now);
        tx.put_image(&image)?;
        tx.remove_all_tags(ResourceType::Image, &image.id)?;
    }
    Ok(())
}

pub fn cancel_copy_image(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let image_id = ctx
        .params
        .get_nonempty("ImageId")
        .ok_or_else(|| ApiError::missing("ImageId"))?;
    ctx.app.store.write(|tx| {
        let image = own_live_image(ctx, tx, ctx.region_id(), image_id)?;
        if !image.is_copied {
            return Err(ApiError::new(Code::ImageCreatedNotFromCopy));
        }
        let Some(mut task) = tx.open_task(&image.id, TaskAction::CopyImage)? else {
            let message = if image.status == ImageStatus::CreateFailed {
                "The Image copy has been failed."
            } else {
                "The image copy has completed."
            };
            return Err(ApiError::new(Code::IncorrectImageStatus).with_message(message));
        };
        cancel_in_tx(tx, &mut task, ctx.now)?;
        Ok(Reply::new())
    })
}

fn own_task(ctx: &Ctx<'_>, tx: &mut dyn Tx, id: &str) -> Result<Task, ApiError> {
    tx.task(id)?
        .filter(|t| t.owner == ctx.account() && t.region_id == ctx.region_id())
        .ok_or_else(|| ApiError::new(Code::InvalidTaskIdNotFound))
}

pub fn cancel_task(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let task_id = ctx
        .params
        .get_nonempty("TaskId")
        .ok_or_else(|| ApiError::missing_parameter("TaskId"))?;
    ctx.app.store.write(|tx| {
        let mut task = own_task(ctx, tx, task_id)?;
        if !matches!(
            task.action,
            TaskAction::ImportImage | TaskAction::ExportImage
        ) {
            return Err(ApiError::new(Code::InvalidTaskIdTaskActionNotSupport));
        }
        if task.status.is_done() {
            return Err(ApiError::new(Code::InvalidTaskIdIncorrectTaskStatus));
        }
        cancel_in_tx(tx, &mut task, ctx.now)?;
        Ok(Reply::new())
    })
}

/// Tasks show minute-precision times (`2015-11-24T12:50Z`); unfinished ones no FinishedTime.
fn task_time(at: Option<Millis>) -> String {
    at.map(format_minutes).unwrap_or_default()
}

fn supports_cancel(task: &Task) -> bool {
    matches!(
        task.action,
        TaskAction::ImportImage | TaskAction::ExportImage
    ) && !task.status.is_done()
}

pub fn describe_tasks(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let p = ctx.params;
    let paging = Paging::from_params(p)?;
    let ids = p.get_nonempty("TaskIds").map(|v| {
        comma_list(v)
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
    });
    if ids.as_ref().is_some_and(|i| i.len() > 100) {
        return Err(ApiError::invalid_parameter(
            "TaskIds",
            "holds at most 100 ids",
        ));
    }
    // An action ecsim never runs matches nothing; unknown statuses are ignored (spec §3.11).
    let action = p.get_nonempty("TaskAction").map(TaskAction::parse);
    let status = p.get_nonempty("TaskStatus").and_then(TaskStatus::parse);
    let time = |name: &str| -> Result<Option<Millis>, ApiError> {
        p.get_nonempty(name)
            .map(|v| parse_time(v).ok_or_else(|| ApiError::invalid_parameter(name, v)))
            .transpose()
    };
    let query = TaskQuery {
        owner: ctx.account(),
        region_id: ctx.region_id().to_string(),
        ids,
        action: action.flatten(),
        status,
        resource_ids: p
            .list("ResourceIds")?
            .into_iter()
            .map(str::to_string)
            .collect(),
        created_from: time("StartTime")?,
        created_to: time("EndTime")?,
        offset: paging.offset(),
        limit: paging.size,
    };
    let page = if matches!(action, Some(None)) {
        Default::default()
    } else {
        ctx.app.store.read(|tx| Ok(tx.find_tasks(&query)?))?
    };
    let tasks: Vec<_> = page
        .items
        .iter()
        .map(|t| {
            json!({
                "TaskId": t.id,
                "TaskAction": t.action.as_str(),
                "TaskStatus": t.status.as_str(),
                "SupportCancel": supports_cancel(t).to_string(),
                "CreationTime": task_time(Some(t.created_at)),
                "FinishedTime": task_time(t.finished_at),
                "ResourceId": t.resource_id,
            })
        })
        .collect();
    Ok(object(json!({
        "RegionId": ctx.region_id(),
        "TotalCount": page.total,
        "PageNumber": paging.number,
        "PageSize": paging.size,
        "TaskSet": { "Task": tasks },
    })))
}

pub fn describe_task_attribute(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let task_id = ctx
        .params
        .get_nonempty("TaskId")
        .ok_or_else(|| ApiError::missing_parameter("TaskId"))?;
    let task = ctx.app.store.read(|tx| own_task(ctx, tx, task_id))?;
    let items: Vec<(&str, String)> = match &task.work {
        TaskWork::Import {
            bucket,
            object,
            declared_format,
        } => vec![
            ("OSSBucket", bucket.clone()),
            ("OSSObject", object.clone()),
            ("ImageFormat", declared_format.clone().unwrap_or_default()),
        ],
        TaskWork::Export {
            bucket,
            object,
            format,
            data_disks,
        } => std::iter::once(("OSSBucket", bucket.clone()))
            .chain(std::iter::once(("OSSObject", object.clone())))
            .chain(data_disks.iter().map(|d| ("OSSObject", d.object.clone())))
            .chain(std::iter::once(("ImageFormat", format.clone())))
            .collect(),
        TaskWork::Copy {
            source_region,
            source_image_id,
        } => vec![
            ("SourceRegionId", source_region.clone()),
            ("SourceImageId", source_image_id.clone()),
        ],
    };
    let operation_status = match task.status {
        TaskStatus::Finished => "Success",
        TaskStatus::Failed => "Failed",
        TaskStatus::Waiting | TaskStatus::Processing => "Processing",
    };
    let related: Vec<_> = items
        .iter()
        .map(|(n, v)| json!({ "Name": n, "Value": v }))
        .collect();
    Ok(object(json!({
        "RegionId": ctx.region_id(),
        "TaskId": task.id,
        "TaskAction": task.action.as_str(),
        "TaskStatus": task.status.as_str(),
        "TaskProcess": format!("{}%", task.percent()),
        "SupportCancel": supports_cancel(&task).to_string(),
        "CreationTime": task_time(Some(task.created_at)),
        "FinishedTime": task_time(task.finished_at),
        "TotalCount": 1,
        "SuccessCount": i32::from(task.status == TaskStatus::Finished),
        "FailedCount": i32::from(task.status == TaskStatus::Failed),
        "OperationProgressSet": { "OperationProgress": [{
            "OperationStatus": operation_status,
            "ErrorCode": task.error_code.clone().unwrap_or_default(),
            "ErrorMsg": task.error_message.clone().unwrap_or_default(),
            "RelatedItemSet": { "RelatedItem": related },
        }] },
    })))
}

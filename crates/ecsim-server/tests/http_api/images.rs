//! DeleteImage, CreateImage, DescribeImages, ModifyImageAttribute (spec ecs-image-api §3.1–§3.4).

use crate::support::*;
use ecsim_core::catalog::SYSTEM_IMAGES;
use serde_json::Value;
use std::collections::BTreeSet;

fn image_ids(body: &Value) -> Vec<String> {
    body["Images"]["Image"]
        .as_array()
        .expect("Image is an array")
        .iter()
        .map(|i| str_of(&i["ImageId"]))
        .collect()
}

// ---- DeleteImage ------------------------------------------------------------------------

#[tokio::test]
async fn delete_image_requires_image_id() {
    let app = TestApp::start();
    for call in [
        app.call("DeleteImage").region(),
        app.call("DeleteImage").region().param("ImageId", ""),
    ] {
        call.send().await.err_msg(
            400,
            "MissingImageId",
            "ImageId is mandatory for this action.",
        );
    }
}

#[tokio::test]
async fn delete_image_of_unknown_system_or_foreign_images_is_not_found() {
    let app = TestApp::start();
    let msg = "The specified ImageId does not exist.";
    app.call("DeleteImage")
        .region()
        .param("ImageId", "m-bp67acfmxazb4p0000")
        .send()
        .await
        .err_msg(404, "InvalidImageId.NotFound", msg);
    for force in ["false", "true"] {
        app.call("DeleteImage")
            .region()
            .param("ImageId", X86_IMAGE)
            .param("Force", force)
            .send()
            .await
            .err_msg(404, "InvalidImageId.NotFound", msg);
    }

    // Another account's image: invisible to the root account, deletable by its owner.
    let other = app.new_account();
    let instance = app.run_instance_as(&other, X86_IMAGE).await;
    let image = app.create_image_from_as(&other, &instance, None).await;
    app.finish_creations().await;
    for force in ["false", "true"] {
        app.call("DeleteImage")
            .region()
            .param("ImageId", &image)
            .param("Force", force)
            .send()
            .await
            .err_msg(404, "InvalidImageId.NotFound", msg);
    }
    // The owner, in the wrong region, does not find it either.
    app.call("DeleteImage")
        .as_(&other)
        .param("RegionId", "cn-beijing")
        .param("ImageId", &image)
        .send()
        .await
        .err(404, "InvalidImageId.NotFound");
    app.call("DeleteImage")
        .as_(&other)
        .region()
        .param("ImageId", &image)
        .send()
        .await
        .ok();
    // A tombstone is ignored only for its owner.
    app.call("DeleteImage")
        .region()
        .param("ImageId", &image)
        .send()
        .await
        .err(404, "InvalidImageId.NotFound");
}

#[tokio::test]
async fn delete_image_while_creating_is_refused_even_with_force() {
    let app = TestApp::start();
    let instance = app.run_instance(X86_IMAGE).await;
    let image = app.create_image_from(&instance, None).await;
    assert_eq!(
        app.describe_image(&image)
            .await
            .map(|i| i["Status"].clone()),
        Some("Creating".into())
    );
    for force in ["false", "True"] {
        app.call("DeleteImage")
            .region()
            .param("ImageId", &image)
            .param("Force", force)
            .send()
            .await
            .err_msg(
                403,
                "ImageIsCreating",
                "The specified image is being created.",
            );
    }
    app.finish_creations().await;
    app.call("DeleteImage")
        .region()
        .param("ImageId", &image)
        .send()
        .await
        .ok();
}

#[tokio::test]
async fn delete_image_in_use_force_tombstone_snapshot_and_tags() {
    let app = TestApp::start();
    let (image, _) = app.available_image(Some("in-use")).await;
    let shown = app.describe_image(&image).await.expect("image is listed");
    assert_eq!(shown["Status"], "Available");
    let mappings = shown["DiskDeviceMappings"]["DiskDeviceMapping"]
        .as_array()
        .expect("mappings array");
    assert_eq!(mappings.len(), 1, "{shown}");
    let snapshot = str_of(&mappings[0]["SnapshotId"]);
    assert!(snapshot.starts_with("s-"), "{snapshot}");

    app.call("TagResources")
        .region()
        .param("ResourceType", "image")
        .param("ResourceId.1", &image)
        .param("Tag.1.Key", "env")
        .param("Tag.1.Value", "prod")
        .send()
        .await
        .ok();

    let user = app.run_instance(&image).await;
    let shown = app.describe_image(&image).await.expect("image is listed");
    assert_eq!(shown["Usage"], "instance");

    // Used by an instance: refused without Force (absent, or false in any case).
    for force in [None, Some("false"), Some("False")] {
        let mut call = app.call("DeleteImage").region().param("ImageId", &image);
        if let Some(f) = force {
            call = call.param("Force", f);
        }
        call.send().await.err_msg(
            403,
            "ImageUsingByInstance",
            "The specified image has been used to create instances. You can use the DescribeInstances API to query these instances, or you can use the force parameter to proceed.",
        );
    }
    // DryRun validates and stops.
    app.call("DeleteImage")
        .region()
        .param("ImageId", &image)
        .param("Force", "true")
        .param("DryRun", "true")
        .send()
        .await
        .err(400, "DryRunOperation");
    // The image's snapshot cannot go while the image exists.
    app.call("DeleteSnapshot")
        .param("SnapshotId", &snapshot)
        .send()
        .await
        .err_msg(
            403,
            "SnapshotCreatedImage",
            "The snapshot has been used to create user defined image(s).",
        );
    app.call("DeleteSnapshot")
        .param("SnapshotId", &snapshot)
        .param("Force", "true")
        .send()
        .await
        .err(403, "SnapshotCreatedImage");
    assert!(app.describe_image(&image).await.is_some());

    // Python SDK style boolean.
    app.call("DeleteImage")
        .region()
        .param("ImageId", &image)
        .param("Force", "True")
        .send()
        .await
        .ok();

    // Repeats are ignored (tombstone), with or without Force, V3 or V1.
    app.call("DeleteImage")
        .region()
        .param("ImageId", &image)
        .send()
        .await
        .ok();
    app.call("DeleteImage")
        .v1()
        .region()
        .param("ImageId", &image)
        .param("Force", "true")
        .send()
        .await
        .ok();

    // Gone from every listing.
    assert!(app.describe_image(&image).await.is_none());
    for alias in [None, Some("self")] {
        let mut call = app.call("DescribeImages").region().param("Status", "ALL");
        if let Some(a) = alias {
            call = call.param("ImageOwnerAlias", a);
        }
        let body = call.send().await.ok();
        assert!(!image_ids(&body).contains(&image), "{body}");
    }
    // ModifyImageAttribute and RunInstances see it as gone.
    app.call("ModifyImageAttribute")
        .region()
        .param("ImageId", &image)
        .param("Description", "still here?")
        .send()
        .await
        .err(404, "InvalidImageId.NotFound");
    app.call("RunInstances")
        .region()
        .param("ImageId", &image)
        .param("InstanceType", X86_TYPE)
        .send()
        .await
        .err(403, "OperationDenied.ImageNotValid");

    // Its instance keeps running and keeps reporting the ImageId.
    assert_eq!(app.instances_of_image(&image).await, vec![user]);

    // Tags are gone, and the tombstone cannot be tagged.
    let body = app
        .call("ListTagResources")
        .region()
        .param("ResourceType", "image")
        .param("ResourceId.1", &image)
        .send()
        .await
        .ok();
    assert_eq!(body["TagResources"]["TagResource"], serde_json::json!([]));
    app.call("TagResources")
        .region()
        .param("ResourceType", "image")
        .param("ResourceId.1", &image)
        .param("Tag.1.Key", "env")
        .param("Tag.1.Value", "prod")
        .send()
        .await
        .err(404, "InvalidResourceId.NotFound");

    // The snapshot is kept and can now be deleted.
    let body = app
        .call("DescribeSnapshots")
        .region()
        .param("SnapshotIds", &format!("[\"{snapshot}\"]"))
        .send()
        .await
        .ok();
    assert_eq!(body["TotalCount"], 1, "{body}");
    app.call("DeleteSnapshot")
        .param("SnapshotId", &snapshot)
        .send()
        .await
        .ok();

    // The name is free again.
    let instance = app.run_instance(X86_IMAGE).await;
    app.create_image_from(&instance, Some("in-use")).await;
}

#[tokio::test]
async fn delete_image_after_its_instances_are_released_needs_no_force() {
    let app = TestApp::start();
    let (image, _) = app.available_image(None).await;
    let user = app.run_instance(&image).await;
    app.call("DeleteImage")
        .region()
        .param("ImageId", &image)
        .send()
        .await
        .err(403, "ImageUsingByInstance");
    app.call("DeleteInstance")
        .param("InstanceId", &user)
        .param("Force", "true")
        .send()
        .await
        .ok();
    let shown = app.describe_image(&image).await.expect("listed");
    assert_eq!(shown["Usage"], "none");
    app.call("DeleteImage")
        .region()
        .param("ImageId", &image)
        .send()
        .await
        .ok();
}

// ---- CreateImage ------------------------------------------------------------------------

#[tokio::test]
async fn create_image_without_a_source_is_missing_parameter() {
    let app = TestApp::start();
    app.call("CreateImage")
        .region()
        .param("ImageName", "no-source")
        .send()
        .await
        .err_msg(
            400,
            "MissingParameter",
            "The input parameter SnapshotId or InstanceId or DiskDeviceMapping that is mandatory for processing this request is not supplied.",
        );
}

#[tokio::test]
async fn create_image_name_rules() {
    let app = TestApp::start();
    let instance = app.run_instance(X86_IMAGE).await;
    let long = format!("a{}", "b".repeat(128));
    for bad in [
        "a",
        "1starts-with-digit",
        "aliyun-image",
        "acs:image",
        "http://image",
        "has space",
        "semi;colon",
        long.as_str(),
    ] {
        app.call("CreateImage")
            .region()
            .param("InstanceId", &instance)
            .param("ImageName", bad)
            .send()
            .await
            .err_msg(
                400,
                "InvalidImageName.Malformed",
                "The specified Image name is wrongly formed.",
            );
    }
    // Good names, Chinese included.
    app.create_image_from(&instance, Some("web-1.0:prod_x"))
        .await;
    app.create_image_from(&instance, Some("镜像名称")).await;

    // Duplicates within the account and region are refused, even while the first is Creating.
    app.call("CreateImage")
        .region()
        .param("InstanceId", &instance)
        .param("ImageName", "web-1.0:prod_x")
        .send()
        .await
        .err_msg(
            400,
            "InvalidImageName.Duplicated",
            "The specified image name is already in use.",
        );
    // Another account may use the same name.
    let other = app.new_account();
    let theirs = app.run_instance_as(&other, X86_IMAGE).await;
    app.create_image_from_as(&other, &theirs, Some("web-1.0:prod_x"))
        .await;
}

#[tokio::test]
async fn create_image_field_errors() {
    let app = TestApp::start();
    let instance = app.run_instance(X86_IMAGE).await;
    let long_token = "t".repeat(65);
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("Description", "x")], "InvalidDescription.Malformed"),
        (
            &[("Description", "https://example.com/image")],
            "InvalidDescription.Malformed",
        ),
        (
            &[("ImageFamily", "1family")],
            "InvalidImageFamily.Malformed",
        ),
        (
            &[("ImageFamily", "aliyun-family")],
            "InvalidImageFamily.Malformed",
        ),
        (&[("BootMode", "Legacy")], "InvalidBootMode.NotSupport"),
        (&[("Architecture", "sparc")], "InvalidParameter"),
        (&[("Features.ImdsSupport", "v3")], "InvalidParameter"),
        (&[("ClientToken", long_token.as_str())], "InvalidParameter"),
        (&[("Tag.1.Key", "acs:reserved")], "InvalidTagKey.Malformed"),
        (&[("Tag.1.Key", "")], "InvalidTagKey.Malformed"),
        (
            &[("Tag.1.Key", "k"), ("Tag.1.Value", "acs:reserved")],
            "InvalidTagValue.Malformed",
        ),
        (
            &[("Tag.1.Key", "k"), ("Tag.2.Key", "k")],
            "Duplicate.TagKey",
        ),
        (&[("DryRun", "maybe")], "InvalidParameter"),
    ];
    for (params, code) in cases {
        app.call("CreateImage")
            .region()
            .param("InstanceId", &instance)
            .params(params)
            .send()
            .await
            .err(400, code);
    }
    let mut many_tags = Vec::new();
    for n in 1..=21 {
        many_tags.push((format!("Tag.{n}.Key"), format!("k{n}")));
    }
    app.call("CreateImage")
        .region()
        .param("InstanceId", &instance)
        .params(&many_tags)
        .send()
        .await
        .err(400, "InvalidTagCount");
    for (k, v) in [
        ("DiskDeviceMapping.1.Size", "big"),
        ("DiskDeviceMapping.1.Size", "0"),
        ("DiskDeviceMapping.1.DiskType", "floppy"),
        ("DiskDeviceMapping.0.SnapshotId", "s-x"),
    ] {
        app.call("CreateImage")
            .region()
            .param(k, v)
            .send()
            .await
            .err(400, "InvalidParameter");
    }
    // None of these created anything.
    let body = app
        .call("DescribeImages")
        .region()
        .param("ImageOwnerAlias", "self")
        .param("Status", "ALL")
        .send()
        .await
        .ok();
    assert_eq!(body["TotalCount"], 0, "{body}");
    // The valid forms, tags included, do.
    let image = str_of(
        &app.call("CreateImage")
            .region()
            .param("InstanceId", &instance)
            .param("ImageName", "full")
            .param("Description", "an image with everything")
            .param("ImageFamily", "web")
            .param("ImageVersion", "1.0")
            .param("BootMode", "BIOS")
            .param("Tag.1.Key", "env")
            .param("Tag.1.Value", "")
            .param("Tag.2.key", "legacy")
            .param("Tag.2.value", "spelling")
            .send()
            .await
            .ok()["ImageId"],
    );
    let shown = app.describe_image(&image).await.expect("listed");
    assert_eq!(shown["Status"], "Creating");
    assert_eq!(shown["ImageOwnerAlias"], "self");
    assert_eq!(shown["ImageOwnerId"], app.root.account_id);
    assert_eq!(shown["IsSelfShared"], "False");
    assert_eq!(shown["ImageFamily"], "web");
    assert_eq!(shown["BootMode"], "BIOS");
    let mut tags: Vec<(String, String)> = shown["Tags"]["Tag"]
        .as_array()
        .expect("array")
        .iter()
        .map(|t| (str_of(&t["TagKey"]), str_of(&t["TagValue"])))
        .collect();
    tags.sort();
    assert_eq!(
        tags,
        vec![
            ("env".to_string(), String::new()),
            ("legacy".to_string(), "spelling".to_string())
        ]
    );
}

#[tokio::test]
async fn create_image_from_unknown_sources_is_not_found() {
    let app = TestApp::start();
    app.call("CreateImage")
        .region()
        .param("InstanceId", "i-bp1nosuchinstance00")
        .send()
        .await
        .err_msg(
            404,
            "InvalidInstanceId.NotFound",
            "The specified InstanceId does not exist.",
        );
    for call in [
        app.call("CreateImage")
            .region()
            .param("SnapshotId", "s-bp1nosuchsnapshot00"),
        app.call("CreateImage")
            .region()
            .param("DiskDeviceMapping.1.SnapshotId", "s-bp1nosuchsnapshot00"),
    ] {
        call.send().await.err_msg(
            404,
            "InvalidSnapshotId.NotFound",
            "The specified SnapshotId does not exist.",
        );
    }
    // Another account's instance and snapshot are unknown too.
    let other = app.new_account();
    let theirs = app.run_instance_as(&other, X86_IMAGE).await;
    app.call("CreateImage")
        .region()
        .param("InstanceId", &theirs)
        .send()
        .await
        .err(404, "InvalidInstanceId.NotFound");
    let disk = {
        let body = app
            .call("DescribeDisks")
            .as_(&other)
            .region()
            .param("InstanceId", &theirs)
            .send()
            .await
            .ok();
        str_of(&body["Disks"]["Disk"][0]["DiskId"])
    };
    let snapshot = str_of(
        &app.call("CreateSnapshot")
            .as_(&other)
            .param("DiskId", &disk)
            .send()
            .await
            .ok()["SnapshotId"],
    );
    app.finish_creations().await;
    app.call("CreateImage")
        .region()
        .param("SnapshotId", &snapshot)
        .send()
        .await
        .err(404, "InvalidSnapshotId.NotFound");
}

#[tokio::test]
async fn create_image_from_snapshots_and_disk_mappings() {
    let app = TestApp::start();
    let first = app.run_instance(X86_IMAGE).await;
    let second = app.run_instance(X86_IMAGE).await;
    let s1 = app.create_snapshot(&app.system_disk(&first).await).await;

    // Not finished yet.
    for call in [
        app.call("CreateImage").region().param("SnapshotId", &s1),
        app.call("CreateImage")
            .region()
            .param("DiskDeviceMapping.1.SnapshotId", &s1),
    ] {
        call.send().await.err_msg(
            403,
            "SnapshotNotReady",
            "The specified snapshot is not ready.",
        );
    }

    let s2 = app.create_snapshot(&app.system_disk(&second).await).await;
    app.finish_creations().await;

    // Two system disks.
    app.call("CreateImage")
        .region()
        .param("DiskDeviceMapping.1.SnapshotId", &s1)
        .param("DiskDeviceMapping.2.SnapshotId", &s2)
        .send()
        .await
        .err_msg(
            400,
            "OperationDenied",
            "The specified parameter DiskDeviceMapping.n.SnapshotId contains two or more system disk snapshots.",
        );
    // No system disk.
    let no_system = "The specified parameter DiskDeviceMapping.n.SnapshotId does not contain system disk snapshot.";
    app.call("CreateImage")
        .region()
        .param("DiskDeviceMapping.1.SnapshotId", &s1)
        .param("DiskDeviceMapping.1.DiskType", "data")
        .send()
        .await
        .err_msg(400, "OperationDenied", no_system);
    app.call("CreateImage")
        .region()
        .param("DiskDeviceMapping.1.Size", "40")
        .param("DiskDeviceMapping.1.DiskType", "data")
        .send()
        .await
        .err_msg(400, "OperationDenied", no_system);

    // A system snapshot plus a data disk builds an image.
    let body = app
        .call("CreateImage")
        .region()
        .param("DiskDeviceMapping.1.SnapshotId", &s1)
        .param("DiskDeviceMapping.2.SnapshotId", &s2)
        .param("DiskDeviceMapping.2.DiskType", "data")
        .send()
        .await
        .ok();
    let image = str_of(&body["ImageId"]);
    assert!(image.starts_with("m-"), "{image}");
    let by_snapshot = str_of(
        &app.call("CreateImage")
            .region()
            .param("SnapshotId", &s2)
            .send()
            .await
            .ok()["ImageId"],
    );
    app.finish_creations().await;
    let shown = app.describe_image(&image).await.expect("listed");
    let mappings = shown["DiskDeviceMappings"]["DiskDeviceMapping"]
        .as_array()
        .expect("array");
    let kinds: Vec<&str> = mappings.iter().filter_map(|m| m["Type"].as_str()).collect();
    assert_eq!(kinds, vec!["system", "data"], "{shown}");
    let shown = app.describe_image(&by_snapshot).await.expect("listed");
    assert_eq!(shown["Status"], "Available");
    assert_eq!(
        shown["DiskDeviceMappings"]["DiskDeviceMapping"][0]["SnapshotId"],
        s2.as_str()
    );
}

#[tokio::test]
async fn create_image_sources_follow_the_documented_priority() {
    let app = TestApp::start();
    let instance = app.run_instance(X86_IMAGE).await;
    // InstanceId > DiskDeviceMapping > SnapshotId: the bogus lower-priority sources are unused.
    let image = str_of(
        &app.call("CreateImage")
            .region()
            .param("InstanceId", &instance)
            .param("DiskDeviceMapping.1.SnapshotId", "s-bp1nosuchsnapshot00")
            .param("SnapshotId", "s-bp1nosuchsnapshot01")
            .send()
            .await
            .ok()["ImageId"],
    );
    let shown = app.describe_image(&image).await.expect("listed");
    let mapped = str_of(&shown["DiskDeviceMappings"]["DiskDeviceMapping"][0]["SnapshotId"]);
    assert!(
        mapped.starts_with("s-") && !mapped.contains("nosuch"),
        "{shown}"
    );
    // DiskDeviceMapping > SnapshotId.
    app.call("CreateImage")
        .region()
        .param("DiskDeviceMapping.1.SnapshotId", "s-bp1nosuchsnapshot00")
        .param("SnapshotId", &mapped)
        .send()
        .await
        .err(404, "InvalidSnapshotId.NotFound");
}

#[tokio::test]
async fn create_image_client_token_is_idempotent() {
    let app = TestApp::start();
    let instance = app.run_instance(X86_IMAGE).await;
    let create = |name: &str| {
        app.call("CreateImage")
            .region()
            .param("InstanceId", &instance)
            .param("ImageName", name)
            .param("ClientToken", "token-create-1")
    };
    let first = str_of(&create("tokened").send().await.ok()["ImageId"]);
    // A retry (new nonce, also as V1) returns the same image and creates nothing.
    let again = str_of(&create("tokened").send().await.ok()["ImageId"]);
    let again_v1 = str_of(&create("tokened").v1().send().await.ok()["ImageId"]);
    assert_eq!(first, again);
    assert_eq!(first, again_v1);
    let body = app
        .call("DescribeImages")
        .region()
        .param("ImageOwnerAlias", "self")
        .param("Status", "ALL")
        .send()
        .await
        .ok();
    assert_eq!(image_ids(&body), vec![first.clone()]);
    // Same token, other parameters.
    create("other-name").send().await.err_msg(
        400,
        "IdempotenceParamNotMatch",
        "Request uses a client token in a previous request but is not identical to that request.",
    );
    // The token belongs to the account: another account may use it.
    let other = app.new_account();
    let theirs = app.run_instance_as(&other, X86_IMAGE).await;
    app.call("CreateImage")
        .as_(&other)
        .region()
        .param("InstanceId", &theirs)
        .param("ClientToken", "token-create-1")
        .send()
        .await
        .ok();
}

#[tokio::test]
async fn create_image_dry_run_creates_nothing() {
    let app = TestApp::start();
    let instance = app.run_instance(X86_IMAGE).await;
    app.call("CreateImage")
        .region()
        .param("InstanceId", &instance)
        .param("ImageName", "dry")
        .param("DryRun", "true")
        .send()
        .await
        .err(400, "DryRunOperation");
    let body = app
        .call("DescribeImages")
        .region()
        .param("ImageOwnerAlias", "self")
        .param("Status", "ALL")
        .send()
        .await
        .ok();
    assert_eq!(body["TotalCount"], 0, "{body}");
    // The name was not taken.
    app.create_image_from(&instance, Some("dry")).await;
}

// ---- DescribeImages ---------------------------------------------------------------------

/// Parameters, expected status and code.
type ErrorCase = (&'static [(&'static str, &'static str)], u16, &'static str);

#[tokio::test]
async fn describe_images_parameter_errors() {
    let app = TestApp::start();
    let cases: &[ErrorCase] = &[
        (
            &[("ImageOwnerAlias", "everyone")],
            400,
            "InvalidImageOwnerAlias.ValueNotSupported",
        ),
        (
            &[("IsPublic", "true")],
            400,
            "InvalidImageOwnerAlias.PublicImageUnsupported",
        ),
        (
            &[("IsPublic", "True"), ("ImageOwnerAlias", "self")],
            400,
            "InvalidImageOwnerAlias.PublicImageUnsupported",
        ),
        (
            &[("ImageOwnerId", "1234567890123456")],
            400,
            "InvalidOperation.ImageOwnerIdUnsupported",
        ),
        (
            &[
                ("ImageOwnerId", "1234567890123456"),
                ("ImageOwnerAlias", "self"),
            ],
            400,
            "InvalidOperation.ImageOwnerIdUnsupported",
        ),
        (&[("Status", "ALL,Available")], 400, "InvalidParameter"),
        (&[("Status", "Available,ALL")], 400, "InvalidParameter"),
        (&[("Status", "Sleeping")], 400, "InvalidParameter"),
        (&[("Usage", "sometimes")], 404, "InvalidUsage"),
        (&[("OSType", "solaris")], 404, "InvalidOSType"),
        (&[("Architecture", "sparc")], 404, "InvalidArchitecture"),
        (
            &[("Filter.1.Key", "Colour"), ("Filter.1.Value", "blue")],
            404,
            "InvalidFilterKey.NotFound",
        ),
        (
            &[
                ("Filter.1.Key", "CreationStartTime"),
                ("Filter.1.Value", "last tuesday"),
            ],
            404,
            "InvalidFilterValue",
        ),
        (
            &[("InstanceType", "ecs.warp9.huge")],
            400,
            "InvalidInstanceType.ValueNotSupported",
        ),
        (&[("Tag.1.Value", "orphan")], 400, "InvalidTag.Mismatch"),
        (&[("PageSize", "101")], 400, "InvalidParameter"),
        (&[("PageSize", "0")], 400, "InvalidParameter"),
        (&[("PageSize", "ten")], 400, "InvalidParameter"),
        (&[("PageNumber", "0")], 400, "InvalidParameter"),
    ];
    for (params, status, code) in cases {
        app.call("DescribeImages")
            .region()
            .params(params)
            .send()
            .await
            .err(*status, code);
    }
    let mut many_tags = Vec::new();
    for n in 1..=21 {
        many_tags.push((format!("Tag.{n}.Key"), format!("k{n}")));
    }
    app.call("DescribeImages")
        .region()
        .params(&many_tags)
        .send()
        .await
        .err(400, "InvalidTagCount");

    // The same parameters in their valid forms are accepted.
    for params in [
        &[("ImageOwnerAlias", "others"), ("IsPublic", "true")][..],
        &[
            ("ImageOwnerAlias", "others"),
            ("ImageOwnerId", "1234567890123456"),
        ],
        &[("ImageOwnerAlias", "marketplace")],
        &[("Status", "ALL")],
        &[("Status", "Creating,Available,Deprecated")],
        &[("Usage", "none")],
        &[("OSType", "Linux")],
        &[("Architecture", "arm64")],
        &[
            ("Filter.1.Key", "CreationStartTime"),
            ("Filter.1.Value", "2024-01-01T00:00Z"),
            ("Filter.2.Key", "NetworkType"),
            ("Filter.2.Value", "vpc"),
        ],
        &[("PageSize", "100")],
    ] {
        app.call("DescribeImages")
            .region()
            .params(params)
            .send()
            .await
            .ok();
    }
}

#[tokio::test]
async fn describe_images_paging() {
    let app = TestApp::start();
    let total = SYSTEM_IMAGES.len();
    assert!(total > 3, "the catalog has enough system images to page");
    let page = |number: usize, size: Option<usize>| {
        let mut call = app
            .call("DescribeImages")
            .region()
            .param("ImageOwnerAlias", "system")
            .param("PageNumber", &number.to_string());
        if let Some(s) = size {
            call = call.param("PageSize", &s.to_string());
        }
        call
    };
    let mut seen = BTreeSet::new();
    let mut number = 1;
    loop {
        let body = page(number, Some(3)).send().await.ok();
        assert_eq!(body["TotalCount"], total, "{body}");
        assert_eq!(body["PageSize"], 3, "{body}");
        assert_eq!(body["PageNumber"], number, "{body}");
        assert_eq!(body["RegionId"], REGION, "{body}");
        let ids = image_ids(&body);
        let expected = (total - (number - 1) * 3).min(3);
        assert_eq!(ids.len(), expected, "page {number}: {body}");
        seen.extend(ids);
        if number * 3 >= total {
            break;
        }
        number += 1;
    }
    assert_eq!(seen.len(), total, "pages overlap or miss images");
    let expected: BTreeSet<String> = SYSTEM_IMAGES.iter().map(|s| s.id.to_string()).collect();
    assert_eq!(seen, expected);
    // Past the end: an empty (but still wrapped) list.
    let body = page(number + 1, Some(3)).send().await.ok();
    assert_eq!(body["TotalCount"], total);
    assert_eq!(body["Images"]["Image"], serde_json::json!([]));
    // Default page size is 10.
    let body = page(1, None).send().await.ok();
    assert_eq!(body["PageSize"], 10);
    assert_eq!(image_ids(&body).len(), total.min(10));
}

#[tokio::test]
async fn describe_images_filters() {
    let app = TestApp::start();
    // Unknown ids are an empty answer, not an error.
    let body = app
        .call("DescribeImages")
        .region()
        .param("ImageId", "m-bp1doesnotexist000")
        .send()
        .await
        .ok();
    assert_eq!(body["TotalCount"], 0);
    assert_eq!(body["Images"]["Image"], serde_json::json!([]));

    let system = |params: &[(&str, &str)]| {
        app.call("DescribeImages")
            .region()
            .param("ImageOwnerAlias", "system")
            .param("PageSize", "100")
            .params(params)
    };
    let arm: BTreeSet<String> = SYSTEM_IMAGES
        .iter()
        .filter(|s| s.architecture.as_str() == "arm64")
        .map(|s| s.id.to_string())
        .collect();
    assert!(!arm.is_empty());
    let by_arch: BTreeSet<String> =
        image_ids(&system(&[("Architecture", "arm64")]).send().await.ok())
            .into_iter()
            .collect();
    assert_eq!(by_arch, arm);
    let by_type: BTreeSet<String> =
        image_ids(&system(&[("InstanceType", ARM_TYPE)]).send().await.ok())
            .into_iter()
            .collect();
    assert_eq!(by_type, arm);
    let windows: BTreeSet<String> = SYSTEM_IMAGES
        .iter()
        .filter(|s| s.os_type.as_str() == "windows")
        .map(|s| s.id.to_string())
        .collect();
    let by_os: BTreeSet<String> = image_ids(&system(&[("OSType", "windows")]).send().await.ok())
        .into_iter()
        .collect();
    assert_eq!(by_os, windows);

    // Own images: the default Status hides Creating ones; Usage follows instances.
    let instance = app.run_instance(X86_IMAGE).await;
    let used = app.create_image_from(&instance, Some("used")).await;
    let unused = app.create_image_from(&instance, Some("unused")).await;
    let own = |params: &[(&str, &str)]| {
        app.call("DescribeImages")
            .region()
            .param("ImageOwnerAlias", "self")
            .params(params)
    };
    assert!(image_ids(&own(&[]).send().await.ok()).is_empty());
    let creating: BTreeSet<String> = image_ids(&own(&[("Status", "Creating")]).send().await.ok())
        .into_iter()
        .collect();
    assert_eq!(creating, BTreeSet::from([used.clone(), unused.clone()]));
    app.finish_creations().await;
    app.run_instance(&used).await;
    assert_eq!(
        image_ids(&own(&[("Usage", "instance")]).send().await.ok()),
        vec![used.clone()]
    );
    assert_eq!(
        image_ids(&own(&[("Usage", "none")]).send().await.ok()),
        vec![unused.clone()]
    );
    // Name filter is a substring match.
    assert_eq!(
        image_ids(&own(&[("ImageName", "unus")]).send().await.ok()),
        vec![unused.clone()]
    );
    // Creation window.
    assert!(
        image_ids(
            &own(&[
                ("Filter.1.Key", "CreationEndTime"),
                ("Filter.1.Value", "2000-01-01T00:00Z"),
            ])
            .send()
            .await
            .ok()
        )
        .is_empty()
    );
}

#[tokio::test]
async fn describe_images_owner_sets_and_order() {
    let app = TestApp::start();
    let source = app.run_instance(X86_IMAGE).await;
    let mut own = Vec::new();
    for name in ["first", "second", "third"] {
        own.push(app.create_image_from(&source, Some(name)).await);
        app.clock.advance(2_000);
    }
    let other = app.new_account();
    let theirs_source = app.run_instance_as(&other, X86_IMAGE).await;
    let theirs = app.create_image_from_as(&other, &theirs_source, None).await;
    app.finish_creations().await;
    let list = |alias: Option<&str>| {
        let mut call = app.call("DescribeImages").region().param("PageSize", "100");
        if let Some(a) = alias {
            call = call.param("ImageOwnerAlias", a);
        }
        call
    };
    // Newest first.
    let newest_first: Vec<String> = own.iter().rev().cloned().collect();
    assert_eq!(
        image_ids(&list(Some("self")).send().await.ok()),
        newest_first
    );
    let body = list(None).send().await.ok();
    let ids = image_ids(&body);
    assert_eq!(ids.len(), own.len() + SYSTEM_IMAGES.len(), "{body}");
    assert!(own.iter().all(|id| ids.contains(id)));
    assert!(!ids.contains(&theirs));
    for image in body["Images"]["Image"].as_array().expect("array") {
        let alias = image["ImageOwnerAlias"].as_str();
        if own.contains(&str_of(&image["ImageId"])) {
            assert_eq!(alias, Some("self"));
            assert_eq!(image["ImageOwnerId"], app.root.account_id);
            assert_eq!(image["IsPublic"], false);
        } else {
            assert_eq!(alias, Some("system"));
            assert_eq!(image["IsSelfShared"], "");
            assert_eq!(image["IsPublic"], true);
        }
    }
    let times: Vec<String> = body["Images"]["Image"]
        .as_array()
        .expect("array")
        .iter()
        .map(|i| str_of(&i["CreationTime"]))
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "CreationTime must descend");
    let system = image_ids(&list(Some("system")).send().await.ok());
    assert_eq!(system.len(), SYSTEM_IMAGES.len());
    assert!(own.iter().all(|id| !system.contains(id)));
    // Nothing is shared with the root account, and there is no marketplace.
    assert!(image_ids(&list(Some("others")).send().await.ok()).is_empty());
    assert!(image_ids(&list(Some("marketplace")).send().await.ok()).is_empty());
    // Images live in their region.
    let body = app
        .call("DescribeImages")
        .param("RegionId", "cn-beijing")
        .param("ImageOwnerAlias", "self")
        .send()
        .await
        .ok();
    assert_eq!(body["TotalCount"], 0, "{body}");
}

// ---- ModifyImageAttribute ---------------------------------------------------------------

#[tokio::test]
async fn modify_image_attribute_while_creating_is_refused() {
    let app = TestApp::start();
    let instance = app.run_instance(X86_IMAGE).await;
    let image = app.create_image_from(&instance, None).await;
    for (k, v) in [
        ("ImageName", "renamed"),
        ("Status", "Deprecated"),
        ("Description", "a description"),
    ] {
        app.call("ModifyImageAttribute")
            .region()
            .param("ImageId", &image)
            .param(k, v)
            .send()
            .await
            .err_msg(
                403,
                "InvalidStatus.ImageIsCreating",
                "The operation cannot be performed because the image is creating. Please wait until the creation is complete and try again.",
            );
    }
}

#[tokio::test]
async fn modify_image_attribute_status_transitions() {
    let app = TestApp::start();
    let (image, _) = app.available_image(None).await;
    let modify = |status: &str| {
        app.call("ModifyImageAttribute")
            .region()
            .param("ImageId", &image)
            .param("Status", status)
    };
    modify("Available").send().await.err_msg(
        403,
        "ImageStatus.NotDeprecated",
        "The specified image status is not deprecated.",
    );
    modify("Deprecated").send().await.ok();
    assert_eq!(
        app.describe_image(&image)
            .await
            .map(|i| i["Status"].clone()),
        Some("Deprecated".into())
    );
    // The default listing shows Available images only.
    let body = app
        .call("DescribeImages")
        .region()
        .param("ImageOwnerAlias", "self")
        .send()
        .await
        .ok();
    assert!(image_ids(&body).is_empty(), "{body}");
    // Deprecated images still launch.
    app.run_instance(&image).await;
    modify("Deprecated").send().await.err_msg(
        403,
        "ImageStatus.NotAvailable",
        "The specified image status is not available.",
    );
    modify("Available").send().await.ok();
    assert_eq!(
        app.describe_image(&image)
            .await
            .map(|i| i["Status"].clone()),
        Some("Available".into())
    );
    modify("Creating").send().await.err(400, "InvalidParameter");
}

#[tokio::test]
async fn modify_image_attribute_boot_mode() {
    let app = TestApp::start();
    let (image, _) = app.available_image(None).await;
    let modify = |mode: &str| {
        app.call("ModifyImageAttribute")
            .region()
            .param("ImageId", &image)
            .param("BootMode", mode)
    };
    modify("Legacy").send().await.err_msg(
        400,
        "InvalidBootMode.NotSupport",
        "The specified parameter BootMode is not supported.",
    );
    modify("BIOS").send().await.ok();
    assert_eq!(
        app.describe_image(&image)
            .await
            .map(|i| i["BootMode"].clone()),
        Some("BIOS".into())
    );
    app.run_instance(&image).await;
    modify("UEFI").send().await.err_msg(
        403,
        "OperationDeined.ImageUsingByInstance",
        "The boot mode of the image cannot be modified because it has associated instances.",
    );
    // Setting the mode it already has is no change.
    modify("BIOS").send().await.ok();
}

#[tokio::test]
async fn modify_image_attribute_names_and_features() {
    let app = TestApp::start();
    let (image, instance) = app.available_image(Some("original")).await;
    let modify = |k: &str, v: &str| {
        app.call("ModifyImageAttribute")
            .region()
            .param("ImageId", &image)
            .param(k, v)
    };
    modify("ImageName", "renamed-1").send().await.ok();
    modify("Description", "the description").send().await.ok();
    modify("ImageFamily", "web-family").send().await.ok();
    let shown = app.describe_image(&image).await.expect("listed");
    assert_eq!(shown["ImageName"], "renamed-1");
    assert_eq!(shown["Description"], "the description");
    assert_eq!(shown["ImageFamily"], "web-family");
    let body = app
        .call("DescribeImages")
        .region()
        .param("ImageName", "renamed")
        .send()
        .await
        .ok();
    assert_eq!(image_ids(&body), vec![image.clone()]);
    // Renaming to its own name is fine; to another own image's name is not.
    modify("ImageName", "renamed-1").send().await.ok();
    app.create_image_from(&instance, Some("taken")).await;
    modify("ImageName", "taken").send().await.err_msg(
        400,
        "InvalidImageName.Duplicated",
        "The specified Image name has already bean used.",
    );
    modify("ImageName", "9lives").send().await.err_msg(
        400,
        "InvalidImageName.Malformed",
        "Image names must be between 2 and 128 characters long, using either English or Chinese characters. The name must start with a letter or a Chinese character, and can include numbers, colons, underscores and hyphens.",
    );
    modify("Description", "https://evil")
        .send()
        .await
        .err(400, "InvalidDescription.Malformed");
    modify("ImageFamily", "acs:family")
        .send()
        .await
        .err(400, "InvalidImageFamily.Malformed");
    // IMDS: the source image is v2, and v2 → v1 is forbidden.
    assert_eq!(shown["Features"]["ImdsSupport"], "v2");
    modify("Features.ImdsSupport", "v1")
        .send()
        .await
        .err(400, "InvalidParameter");
    modify("Features.NvmeSupport", "unsupported")
        .send()
        .await
        .ok();
    // Unknown, system and missing ids.
    for id in ["m-bp1doesnotexist000", X86_IMAGE] {
        app.call("ModifyImageAttribute")
            .region()
            .param("ImageId", id)
            .param("Description", "nope nope")
            .send()
            .await
            .err(404, "InvalidImageId.NotFound");
    }
    app.call("ModifyImageAttribute")
        .region()
        .send()
        .await
        .err(400, "MissingImageId");
}

// ---- spec behaviour the server gets wrong -----------------------------------------------

#[tokio::test]
async fn create_image_from_snapshots_defaults_imds_to_v1() {
    let app = TestApp::start();
    let instance = app.run_instance(X86_IMAGE).await;
    let snapshot = app.create_snapshot(&app.system_disk(&instance).await).await;
    app.finish_creations().await;
    let by_snapshot = str_of(
        &app.call("CreateImage")
            .region()
            .param("SnapshotId", &snapshot)
            .send()
            .await
            .ok()["ImageId"],
    );
    let by_mapping = str_of(
        &app.call("CreateImage")
            .region()
            .param("DiskDeviceMapping.1.SnapshotId", &snapshot)
            .send()
            .await
            .ok()["ImageId"],
    );
    let by_instance = app.create_image_from(&instance, None).await;
    for (image, imds) in [(by_snapshot, "v1"), (by_mapping, "v1"), (by_instance, "v2")] {
        let shown = app.describe_image(&image).await.expect("listed");
        assert_eq!(shown["Features"]["ImdsSupport"], imds, "{shown}");
    }
}

#[tokio::test]
async fn system_image_usage_counts_only_instances_in_the_region() {
    let app = TestApp::start();
    app.run_instance(X86_IMAGE).await;
    let usage = |region: &'static str| {
        let app = &app;
        async move {
            let body = app
                .call("DescribeImages")
                .param("RegionId", region)
                .param("ImageId", X86_IMAGE)
                .send()
                .await
                .ok();
            str_of(&body["Images"]["Image"][0]["Usage"])
        }
    };
    assert_eq!(usage("cn-hangzhou").await, "instance");
    assert_eq!(usage("cn-beijing").await, "none");
    let body = app
        .call("DescribeImages")
        .param("RegionId", "cn-beijing")
        .param("ImageOwnerAlias", "system")
        .param("Usage", "none")
        .param("PageSize", "100")
        .send()
        .await
        .ok();
    assert!(image_ids(&body).contains(&X86_IMAGE.to_string()), "{body}");
}

/// The blob files of `region` (names only), as the directory store keeps them.
fn region_blob_files(app: &TestApp, region: &str) -> BTreeSet<String> {
    let dir = app.state.settings.data_dir.join("blobs").join(region);
    match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .map(|e| {
                e.expect("a directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeSet::new(),
        Err(e) => panic!("reading {}: {e}", dir.display()),
    }
}

/// The stored image and its snapshots, straight from the store.
fn stored(app: &TestApp, id: &str) -> (ecsim_core::model::Image, Vec<ecsim_core::model::Snapshot>) {
    app.state
        .store
        .read(|tx| {
            let image = tx.image(REGION, id)?.expect("the image is stored");
            let mut snapshots = Vec::new();
            for m in &image.disk_mappings {
                let sid = m.snapshot_id.as_deref().expect("a snapshot per disk");
                snapshots.push(tx.snapshot(sid)?.expect("the snapshot is stored"));
            }
            Ok((image, snapshots))
        })
        .expect("the store reads")
}

/// With no creation time, CreateImage from an instance does its completion itself: the image
/// is born Available and its snapshots accomplished, with their bytes in place and their
/// checksums recorded, and nothing is left for the completion worker (stopped here, so nothing
/// else could have completed them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_create_image_from_an_instance_is_born_available_with_its_bytes() {
    let mut app = TestApp::with_settings(|s| s.creation_time_ms = 0);
    app.stop_completion_worker().await;
    let instance = app.run_instance(X86_IMAGE).await;
    let id = str_of(
        &app.call("CreateImage")
            .region()
            .param("InstanceId", &instance)
            .send()
            .await
            .ok()["ImageId"],
    );
    let shown = app.describe_image(&id).await.expect("listed");
    assert_eq!(shown["Status"], "Available", "{shown}");
    let (image, snapshots) = stored(&app, &id);
    assert!(
        image.ready_at.is_none() && image.blob_source.is_none(),
        "{image:?}"
    );
    let source = ecsim_blob::BlobId::new(REGION, X86_IMAGE).expect("blob id");
    let source_sum = app
        .state
        .blobs
        .checksum(&source, ecsim_blob::Algorithm::DEFAULT)
        .expect("the stand-in hashes");
    let own = ecsim_blob::BlobId::new(REGION, &id).expect("blob id");
    assert_eq!(
        app.state
            .blobs
            .checksum(&own, ecsim_blob::Algorithm::DEFAULT)
            .expect("the image has bytes"),
        source_sum
    );
    assert_eq!(image.blob_sha256.as_deref(), Some(source_sum.as_str()));
    assert!(!snapshots.is_empty());
    for s in &snapshots {
        assert_eq!(
            s.status,
            ecsim_core::model::SnapshotStatus::Accomplished,
            "{s:?}"
        );
        assert!(s.ready_at.is_none() && s.blob_source.is_none(), "{s:?}");
        if s.source_image_id.is_some() {
            let blob = ecsim_blob::BlobId::new(REGION, &s.id).expect("blob id");
            let sum = app
                .state
                .blobs
                .checksum(&blob, ecsim_blob::Algorithm::DEFAULT)
                .expect("the snapshot has bytes");
            assert_eq!(s.blob_sha256.as_deref(), Some(sum.as_str()), "{s:?}");
        }
    }
    let due = app
        .state
        .store
        .read(|tx| Ok(tx.next_due()?))
        .expect("reads");
    assert_eq!(due, None, "nothing is left for the completion worker");
    // It can be deleted at once, and its bytes go with it.
    app.call("DeleteImage")
        .region()
        .param("ImageId", &id)
        .send()
        .await
        .ok();
    assert!(!region_blob_files(&app, REGION).contains(&id));
}

/// An instant CreateImage whose bytes cannot be cloned takes the timed path instead (the image
/// stays Creating for the completion worker, which fails it), and leaves no bytes behind; one
/// refused or replayed after its clones leaves none either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_create_image_without_its_bytes_waits_for_the_worker_and_leaves_nothing() {
    let mut app = TestApp::with_settings(|s| s.creation_time_ms = 0);
    app.stop_completion_worker().await;
    // An own image whose bytes are gone, and an instance of it.
    let first = app.run_instance(X86_IMAGE).await;
    let base = str_of(
        &app.call("CreateImage")
            .region()
            .param("InstanceId", &first)
            .send()
            .await
            .ok()["ImageId"],
    );
    let instance = app.run_instance(&base).await;
    app.state
        .blobs
        .delete(&ecsim_blob::BlobId::new(REGION, &base).expect("blob id"))
        .expect("deleted");
    let before = region_blob_files(&app, REGION);
    let id = str_of(
        &app.call("CreateImage")
            .region()
            .param("InstanceId", &instance)
            .send()
            .await
            .ok()["ImageId"],
    );
    let shown = app.describe_image(&id).await.expect("listed");
    assert_eq!(shown["Status"], "Creating", "{shown}");
    assert_eq!(
        region_blob_files(&app, REGION),
        before,
        "no bytes left behind"
    );

    // A replay of an instant CreateImage (same ClientToken) clones before it learns it is
    // one; the clones go again.
    let create = || {
        app.call("CreateImage")
            .region()
            .param("InstanceId", &first)
            .param("ClientToken", "instant-replay")
    };
    let made = str_of(&create().send().await.ok()["ImageId"]);
    let before = region_blob_files(&app, REGION);
    assert_eq!(str_of(&create().send().await.ok()["ImageId"]), made);
    assert_eq!(
        region_blob_files(&app, REGION),
        before,
        "no bytes left behind"
    );
}

/// Regression: with no creation delay, an image whose CreateImage committed between the
/// completion worker's read of due snapshots and its read of due images was failed
/// (`CreateFailed`) because its snapshot's bytes were not there yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_creations_never_fail_for_want_of_their_snapshot() {
    let app = TestApp::with_settings(|s| s.creation_time_ms = 0);
    let mut instances = Vec::new();
    for _ in 0..8 {
        instances.push(app.run_instance(X86_IMAGE).await);
    }
    let mut images = Vec::new();
    for _round in 0..3 {
        let mut creates = tokio::task::JoinSet::new();
        for instance in &instances {
            let call = app
                .call("CreateImage")
                .region()
                .param("InstanceId", instance);
            creates.spawn(async move { str_of(&call.send().await.ok()["ImageId"]) });
        }
        while let Some(id) = creates.join_next().await {
            images.push(id.expect("create task"));
        }
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    for id in &images {
        loop {
            let status = str_of(&app.describe_image(id).await.expect("visible")["Status"]);
            if status != "Creating" {
                assert_eq!(status, "Available", "{id}");
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{id} still Creating");
            app.state.completions.notify_one();
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

// ---- DescribeImageFromFamily ------------------------------------------------------------------

#[tokio::test]
async fn describe_image_from_family_shows_the_newest_available_own_image() {
    let app = TestApp::start();
    let from_family = |who: &Creds, family: &str| {
        app.call("DescribeImageFromFamily")
            .as_(who)
            .region()
            .param("ImageFamily", family)
    };
    let root = app.root.clone();
    // None yet: an empty Image, not an error.
    let body = from_family(&root, "web").send().await.ok();
    assert_eq!(body["Image"], serde_json::json!({}), "{body}");
    app.call("DescribeImageFromFamily")
        .region()
        .send()
        .await
        .err(400, "MissingImageFamily");

    let (older, newer) = app.family_images("web").await;
    // Both Creating: still none Available.
    let body = from_family(&root, "web").send().await.ok();
    assert_eq!(body["Image"], serde_json::json!({}), "{body}");
    app.finish_creations().await;
    let body = from_family(&root, "web").send().await.ok();
    assert_eq!(str_of(&body["Image"]["ImageId"]), newer, "{body}");
    // The image as DescribeImages shows it.
    let listed = app.describe_image(&newer).await.expect("listed");
    assert_eq!(body["Image"], listed);
    assert_eq!(body["Image"]["ImageFamily"], "web");
    assert_eq!(body["Image"]["Status"], "Available");

    // Deleting the newest falls back to the previous one.
    app.call("DeleteImage")
        .region()
        .param("ImageId", &newer)
        .send()
        .await
        .ok();
    let body = from_family(&root, "web").send().await.ok();
    assert_eq!(str_of(&body["Image"]["ImageId"]), older, "{body}");

    // Only the caller's own images: another account sees none, even when it is shared with it.
    let other = app.new_account();
    app.call("ModifyImageSharePermission")
        .region()
        .param("ImageId", &older)
        .param("AddAccount.1", &other.account_id.to_string())
        .send()
        .await
        .ok();
    let body = from_family(&other, "web").send().await.ok();
    assert_eq!(body["Image"], serde_json::json!({}), "{body}");
    // Nor does another region.
    let body = app
        .call("DescribeImageFromFamily")
        .param("RegionId", "cn-shanghai")
        .param("ImageFamily", "web")
        .send()
        .await
        .ok();
    assert_eq!(body["Image"], serde_json::json!({}), "{body}");
}

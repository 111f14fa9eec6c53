//! CreateSnapshot, DeleteSnapshot, DescribeSnapshots, TagResources, UntagResources,
//! ListTagResources, and DescribeImages' tag filter (spec §4.4, §4.5).

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;

// ---- snapshots --------------------------------------------------------------------------

#[tokio::test]
async fn create_snapshot_rules() {
    let app = TestApp::start();
    app.call("CreateSnapshot")
        .param("DiskId", "d-bp1doesnotexist000")
        .send()
        .await
        .err_msg(
            404,
            "InvalidDiskId.NotFound",
            "The specified DiskId does not exist.",
        );
    app.call("CreateSnapshot")
        .send()
        .await
        .err(400, "MissingDiskId");
    let instance = app.run_instance(X86_IMAGE).await;
    let disk = app.system_disk(&instance).await;
    for name in ["auto-named", "1snap", "s", "http://snap"] {
        app.call("CreateSnapshot")
            .param("DiskId", &disk)
            .param("SnapshotName", name)
            .send()
            .await
            .err_msg(
                400,
                "InvalidSnapshotName.Malformed",
                "The specified snapshot name is wrongly formed.",
            );
    }
    app.call("CreateSnapshot")
        .param("DiskId", &disk)
        .param("Description", "x")
        .send()
        .await
        .err(400, "InvalidDescription.Malformed");
    app.call("CreateSnapshot")
        .param("DiskId", &disk)
        .param("DryRun", "true")
        .send()
        .await
        .err(400, "DryRunOperation");
    let first = app.create_snapshot(&disk).await;
    app.call("CreateSnapshot")
        .param("DiskId", &disk)
        .send()
        .await
        .err_msg(
            403,
            "IncorrectDiskStatus.CreatingSnapshot",
            "A previous snapshot creation is in process.",
        );
    let body = app
        .call("DescribeSnapshots")
        .region()
        .param("Status", "progressing")
        .send()
        .await
        .ok();
    assert_eq!(
        body["Snapshots"]["Snapshot"][0]["SnapshotId"],
        first.as_str()
    );
    app.finish_creations().await;
    let second = app.create_snapshot(&disk).await;
    assert_ne!(first, second);
    // Another account's disk is unknown.
    let other = app.new_account();
    app.call("CreateSnapshot")
        .as_(&other)
        .param("DiskId", &disk)
        .send()
        .await
        .err(404, "InvalidDiskId.NotFound");
}

#[tokio::test]
async fn delete_and_describe_snapshot_errors() {
    let app = TestApp::start();
    app.call("DeleteSnapshot")
        .param("SnapshotId", "s-bp1doesnotexist000")
        .send()
        .await
        .err_msg(
            404,
            "InvalidSnapshotId.NotFound",
            "The specified snapshot is not found",
        );
    app.call("DeleteSnapshot").send().await.err_msg(
        400,
        "MissingParameter",
        "The input parameter SnapshotId that is mandatory for processing this request is not supplied.",
    );
    for (k, v, code) in [
        ("Status", "sleeping", "InvalidStatus.NotFound"),
        ("Usage", "sometimes", "InvalidUsage"),
    ] {
        app.call("DescribeSnapshots")
            .region()
            .param(k, v)
            .send()
            .await
            .err(404, code);
    }
    // Deleting a progressing snapshot cancels it.
    let instance = app.run_instance(X86_IMAGE).await;
    let snapshot = app.create_snapshot(&app.system_disk(&instance).await).await;
    let other = app.new_account();
    app.call("DeleteSnapshot")
        .as_(&other)
        .param("SnapshotId", &snapshot)
        .send()
        .await
        .err(404, "InvalidSnapshotId.NotFound");
    app.call("DeleteSnapshot")
        .param("SnapshotId", &snapshot)
        .send()
        .await
        .ok();
    app.call("DeleteSnapshot")
        .param("SnapshotId", &snapshot)
        .send()
        .await
        .err(404, "InvalidSnapshotId.NotFound");
}

// ---- tags -------------------------------------------------------------------------------

fn tag_call(app: &TestApp, resource_type: &str, ids: &[&str], tags: &[(&str, &str)]) -> Call {
    let mut call = app
        .call("TagResources")
        .region()
        .param("ResourceType", resource_type);
    for (n, id) in ids.iter().enumerate() {
        call = call.param(&format!("ResourceId.{}", n + 1), id);
    }
    for (n, (k, v)) in tags.iter().enumerate() {
        call = call
            .param(&format!("Tag.{}.Key", n + 1), k)
            .param(&format!("Tag.{}.Value", n + 1), v);
    }
    call
}

fn numbered_tags(prefix: &str, count: usize) -> Vec<(String, String)> {
    (1..=count)
        .map(|n| (format!("{prefix}{n}"), format!("v{n}")))
        .collect()
}

fn as_refs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[tokio::test]
async fn tag_resources_errors() {
    let app = TestApp::start();
    let (image, _) = app.available_image(None).await;

    let many_ids: Vec<String> = (0..51).map(|n| format!("m-fake{n}")).collect();
    let many_refs: Vec<&str> = many_ids.iter().map(String::as_str).collect();
    tag_call(&app, "image", &many_refs, &[("k", "v")])
        .send()
        .await
        .err_msg(
            400,
            "NumberExceed.ResourceIds",
            "The ResourceIds parameter's number is exceed , Valid : 50",
        );
    let tags = numbered_tags("k", 21);
    tag_call(&app, "image", &[&image], &as_refs(&tags))
        .send()
        .await
        .err_msg(
            400,
            "NumberExceed.Tags",
            "The Tags parameter's number is exceed , Valid : 20",
        );
    tag_call(&app, "image", &["m-bp1doesnotexist000"], &[("k", "v")])
        .send()
        .await
        .err_msg(
            404,
            "InvalidResourceId.NotFound",
            "The specified ResourceIds are not found in our records.",
        );
    // One unknown id fails the whole request; nothing is tagged.
    tag_call(
        &app,
        "image",
        &[&image, "m-bp1doesnotexist000"],
        &[("k", "v")],
    )
    .send()
    .await
    .err(404, "InvalidResourceId.NotFound");
    assert_eq!(
        app.describe_image(&image)
            .await
            .map(|i| i["Tags"]["Tag"].clone()),
        Some(serde_json::json!([]))
    );
    tag_call(&app, "spaceship", &[&image], &[("k", "v")])
        .send()
        .await
        .err_msg(
            404,
            "InvalidResourceType.NotFound",
            "The ResourceType provided does not exist in our records.",
        );
    // System images are not the caller's resources.
    tag_call(&app, "image", &[X86_IMAGE], &[("k", "v")])
        .send()
        .await
        .err(404, "InvalidResourceId.NotFound");
    // Another account's image.
    let other = app.new_account();
    tag_call(&app, "image", &[&image], &[("k", "v")])
        .as_(&other)
        .send()
        .await
        .err(404, "InvalidResourceId.NotFound");

    // Missing parameters use the tag APIs' own form.
    app.call("TagResources")
        .param("ResourceType", "image")
        .param("ResourceId.1", &image)
        .param("Tag.1.Key", "k")
        .send()
        .await
        .err_msg(
            404,
            "MissingParameter.RegionId",
            "The parameter - RegionId should not be null",
        );
    app.call("TagResources")
        .region()
        .param("ResourceId.1", &image)
        .param("Tag.1.Key", "k")
        .send()
        .await
        .err(404, "MissingParameter.ResourceType");
    tag_call(&app, "image", &[&image], &[])
        .send()
        .await
        .err(404, "MissingParameter.Tags");
    app.call("TagResources")
        .region()
        .param("ResourceType", "image")
        .param("Tag.1.Key", "k")
        .send()
        .await
        .err(404, "MissingParameter.ResourceIds");

    // Key rules.
    tag_call(&app, "image", &[&image], &[("dup", "1"), ("dup", "2")])
        .send()
        .await
        .err_msg(
            400,
            "Duplicate.TagKey",
            "The Tag.N.Key contain duplicate key.",
        );
    for reserved in ["acs:owner", "aliyun-team", "http://x"] {
        tag_call(&app, "image", &[&image], &[(reserved, "v")])
            .send()
            .await
            .err_msg(
                400,
                "InvalidTagKey.Malformed",
                "The specified Tag.n.Key is not valid.",
            );
    }
    tag_call(&app, "image", &[&image], &[("k", "acs:value")])
        .send()
        .await
        .err(400, "InvalidTagValue.Malformed");
    tag_call(&app, "image", &[&image], &[("", "v")])
        .send()
        .await
        .err(400, "InvalidTagKey.Malformed");
}

#[tokio::test]
async fn tag_quota_per_resource() {
    let app = TestApp::start();
    let (image, _) = app.available_image(None).await;
    let first = numbered_tags("a", 15);
    tag_call(&app, "image", &[&image], &as_refs(&first))
        .send()
        .await
        .ok();
    let six = numbered_tags("b", 6);
    tag_call(&app, "image", &[&image], &as_refs(&six))
        .send()
        .await
        .err_msg(
            400,
            "OperationDenied.QuotaExceed",
            "The quota of tags on resource is beyond permitted range.",
        );
    let five = numbered_tags("b", 5);
    tag_call(&app, "image", &[&image], &as_refs(&five))
        .send()
        .await
        .ok();
    // At 20: overwriting existing keys is fine, one more key is not.
    tag_call(
        &app,
        "image",
        &[&image],
        &[("a1", "changed"), ("b5", "changed")],
    )
    .send()
    .await
    .ok();
    tag_call(&app, "image", &[&image], &[("c1", "v")])
        .send()
        .await
        .err(400, "OperationDenied.QuotaExceed");
    let shown = app.describe_image(&image).await.expect("listed");
    let tags = shown["Tags"]["Tag"].as_array().expect("array");
    assert_eq!(tags.len(), 20, "{shown}");
    assert!(
        tags.iter()
            .any(|t| t["TagKey"] == "a1" && t["TagValue"] == "changed"),
        "{shown}"
    );
    // Untagging frees room.
    app.call("UntagResources")
        .region()
        .param("ResourceType", "image")
        .param("ResourceId.1", &image)
        .param("TagKey.1", "a1")
        .send()
        .await
        .ok();
    tag_call(&app, "image", &[&image], &[("c1", "v")])
        .send()
        .await
        .ok();

    // The quota holds for other resource types too.
    let instance = app.run_instance(X86_IMAGE).await;
    let disk = app.system_disk(&instance).await;
    let full = numbered_tags("f", 20);
    tag_call(&app, "disk", &[&disk], &as_refs(&full))
        .send()
        .await
        .ok();
    tag_call(&app, "disk", &[&disk], &[("extra", "")])
        .send()
        .await
        .err(400, "OperationDenied.QuotaExceed");

    // A request is all or nothing: a second resource over quota leaves the first untouched.
    let (a, b) = (app.available_image(None).await.0, image.clone());
    tag_call(&app, "image", &[&a, &b], &[("new-key", "v")])
        .send()
        .await
        .err(400, "OperationDenied.QuotaExceed");
    let shown = app.describe_image(&a).await.expect("listed");
    assert_eq!(shown["Tags"]["Tag"], serde_json::json!([]), "{shown}");
}

#[tokio::test]
async fn untag_and_list_paging() {
    let app = TestApp::start();
    let instance = app.run_instance(X86_IMAGE).await;
    let mut images = Vec::new();
    for _ in 0..3 {
        images.push(app.create_image_from(&instance, None).await);
    }
    app.finish_creations().await;
    let tags = numbered_tags("k", 20);
    let ids: Vec<&str> = images.iter().map(String::as_str).collect();
    tag_call(&app, "image", &ids, &as_refs(&tags))
        .send()
        .await
        .ok();
    // 60 rows: a page of 50, then the rest.
    let page1 = app
        .call("ListTagResources")
        .region()
        .param("ResourceType", "image")
        .send()
        .await
        .ok();
    assert_eq!(tag_rows(&page1).len(), 50);
    let token = str_of(&page1["NextToken"]);
    assert!(!token.is_empty(), "{page1}");
    let page2 = app
        .call("ListTagResources")
        .region()
        .param("ResourceType", "image")
        .param("NextToken", &token)
        .send()
        .await
        .ok();
    assert_eq!(tag_rows(&page2).len(), 10);
    assert_eq!(page2["NextToken"], "");
    let all: BTreeSet<(String, String, String, String)> = tag_rows(&page1)
        .into_iter()
        .chain(tag_rows(&page2))
        .collect();
    assert_eq!(all.len(), 60);

    let untag = |id: &str| {
        app.call("UntagResources")
            .region()
            .param("ResourceType", "image")
            .param("ResourceId.1", id)
    };
    untag(&images[0])
        .param("TagKey.1", "k1")
        .param("TagKey.2", "k2")
        .send()
        .await
        .ok();
    // Without keys and without All, nothing is removed.
    untag(&images[1]).send().await.ok();
    untag(&images[2]).param("All", "true").send().await.ok();
    let count = |id: String| {
        let app = &app;
        async move {
            let shown = app.describe_image(&id).await.expect("listed");
            shown["Tags"]["Tag"].as_array().map_or(0, Vec::len)
        }
    };
    assert_eq!(count(images[0].clone()).await, 18);
    assert_eq!(count(images[1].clone()).await, 20);
    assert_eq!(count(images[2].clone()).await, 0);
    untag("m-bp1doesnotexist000")
        .param("All", "true")
        .send()
        .await
        .err(404, "InvalidResourceId.NotFound");
}

fn tag_rows(body: &Value) -> Vec<(String, String, String, String)> {
    body["TagResources"]["TagResource"]
        .as_array()
        .expect("TagResource is an array")
        .iter()
        .map(|r| {
            (
                str_of(&r["ResourceType"]),
                str_of(&r["ResourceId"]),
                str_of(&r["TagKey"]),
                str_of(&r["TagValue"]),
            )
        })
        .collect()
}

#[tokio::test]
async fn list_tag_resources_and_describe_images_tag_filters() {
    let app = TestApp::start();
    let instance = app.run_instance(X86_IMAGE).await;
    let prod = app.create_image_from(&instance, Some("prod")).await;
    let dev = app.create_image_from(&instance, Some("dev")).await;
    let plain = app.create_image_from(&instance, Some("plain")).await;
    app.finish_creations().await;
    tag_call(&app, "image", &[&prod], &[("env", "prod"), ("team", "web")])
        .send()
        .await
        .ok();
    tag_call(&app, "image", &[&dev], &[("env", "dev")])
        .send()
        .await
        .ok();
    tag_call(&app, "instance", &[&instance], &[("env", "prod")])
        .send()
        .await
        .ok();

    let list = |params: &[(&str, &str)]| app.call("ListTagResources").region().params(params);
    let rows = tag_rows(&list(&[("ResourceType", "image")]).send().await.ok());
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows.iter().all(|r| r.0 == "image"));
    let rows = tag_rows(
        &list(&[("ResourceType", "image"), ("ResourceId.1", &prod)])
            .send()
            .await
            .ok(),
    );
    let keys: BTreeSet<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(keys, BTreeSet::from(["env", "team"]));
    assert!(rows.iter().all(|r| r.1 == prod));
    // Exact tag filter.
    let rows = tag_rows(
        &list(&[
            ("ResourceType", "image"),
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", "prod"),
        ])
        .send()
        .await
        .ok(),
    );
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(ids, BTreeSet::from([prod.as_str()]));
    assert!(rows.contains(&("image".into(), prod.clone(), "env".into(), "prod".into())));
    // A key without a value matches any value.
    let rows = tag_rows(
        &list(&[("ResourceType", "image"), ("Tag.1.Key", "env")])
            .send()
            .await
            .ok(),
    );
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(ids, BTreeSet::from([prod.as_str(), dev.as_str()]));
    // Other types are listed separately.
    let rows = tag_rows(&list(&[("ResourceType", "instance")]).send().await.ok());
    assert_eq!(
        rows,
        vec![(
            "instance".to_string(),
            instance.clone(),
            "env".to_string(),
            "prod".to_string()
        )]
    );
    // Errors of ListTagResources.
    app.call("ListTagResources")
        .param("ResourceType", "image")
        .send()
        .await
        .err(404, "MissingParameter.RegionId");
    list(&[("ResourceType", "spaceship")])
        .send()
        .await
        .err(404, "InvalidResourceType.NotFound");
    // Another account sees none of these tags.
    let other = app.new_account();
    let body = list(&[("ResourceType", "image")])
        .as_(&other)
        .send()
        .await
        .ok();
    assert!(tag_rows(&body).is_empty(), "{body}");

    // DescribeImages' Tag filter.
    let describe = |params: &[(&str, &str)]| {
        let app = &app;
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        async move {
            let body = app
                .call("DescribeImages")
                .region()
                .param("ImageOwnerAlias", "self")
                .params(&params)
                .send()
                .await
                .ok();
            body["Images"]["Image"]
                .as_array()
                .expect("array")
                .iter()
                .map(|i| str_of(&i["ImageId"]))
                .collect::<BTreeSet<String>>()
        }
    };
    assert_eq!(
        describe(&[("Tag.1.Key", "env"), ("Tag.1.Value", "prod")]).await,
        BTreeSet::from([prod.clone()])
    );
    assert_eq!(
        describe(&[("Tag.1.Key", "env")]).await,
        BTreeSet::from([prod.clone(), dev.clone()])
    );
    assert_eq!(
        describe(&[
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", "prod"),
            ("Tag.2.Key", "team"),
            ("Tag.2.Value", "web"),
        ])
        .await,
        BTreeSet::from([prod.clone()])
    );
    assert!(
        describe(&[("Tag.1.Key", "env"), ("Tag.1.Value", "staging")])
            .await
            .is_empty()
    );
    // Legacy lower-case spelling.
    assert_eq!(
        describe(&[("Tag.1.key", "env"), ("Tag.1.value", "dev")]).await,
        BTreeSet::from([dev.clone()])
    );
    assert_eq!(
        describe(&[]).await,
        BTreeSet::from([prod.clone(), dev.clone(), plain.clone()])
    );
    // Tags show on the image.
    let shown = app.describe_image(&prod).await.expect("listed");
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
            ("env".to_string(), "prod".to_string()),
            ("team".to_string(), "web".to_string())
        ]
    );
}

#[tokio::test]
async fn list_tag_resources_tag_filter() {
    let app = TestApp::start();
    let a = app.run_instance(X86_IMAGE).await;
    let b = app.run_instance(X86_IMAGE).await;
    let c = app.run_instance(X86_IMAGE).await;
    tag_call(&app, "instance", &[&a], &[("env", "prod")])
        .send()
        .await
        .ok();
    tag_call(&app, "instance", &[&b], &[("env", "dev")])
        .send()
        .await
        .ok();
    tag_call(&app, "instance", &[&c], &[("team", "web")])
        .send()
        .await
        .ok();
    let ids = |params: &[(&str, &str)]| {
        let app = &app;
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        async move {
            let body = app
                .call("ListTagResources")
                .region()
                .param("ResourceType", "instance")
                .params(&params)
                .send()
                .await
                .ok();
            tag_rows(&body)
                .into_iter()
                .map(|r| r.1)
                .collect::<BTreeSet<String>>()
        }
    };
    assert_eq!(
        ids(&[("TagFilter.1.TagKey", "env")]).await,
        BTreeSet::from([a.clone(), b.clone()])
    );
    assert_eq!(
        ids(&[
            ("TagFilter.1.TagKey", "env"),
            ("TagFilter.1.TagValues.1", "prod"),
        ])
        .await,
        BTreeSet::from([a.clone()])
    );
}

//! RunInstances, DeleteInstance, Stop/StartInstance, DescribeInstances (spec §4.1–§4.3).

use crate::support::*;
use serde_json::Value;

fn instance_ids(body: &Value) -> Vec<String> {
    body["InstanceIdSets"]["InstanceIdSet"]
        .as_array()
        .expect("InstanceIdSet is an array")
        .iter()
        .map(str_of)
        .collect()
}

/// RunInstances of one x86 instance; an empty `image` sends no ImageId.
fn run(app: &TestApp, image: &str) -> Call {
    let call = app
        .call("RunInstances")
        .region()
        .param("InstanceType", X86_TYPE);
    if image.is_empty() {
        call
    } else {
        call.param("ImageId", image)
    }
}

// ---- RunInstances -----------------------------------------------------------------------

#[tokio::test]
async fn run_instances_parameter_errors() {
    let app = TestApp::start();
    app.call("RunInstances")
        .region()
        .param("InstanceType", X86_TYPE)
        .send()
        .await
        .err_msg(
            400,
            "MissingParameter",
            "The input parameter ImageId that is mandatory for processing this request is not supplied.",
        );
    app.call("RunInstances")
        .region()
        .param("ImageId", X86_IMAGE)
        .send()
        .await
        .err(400, "MissingParameter");
    let body = app
        .call("RunInstances")
        .region()
        .param("ImageId", X86_IMAGE)
        .param("InstanceType", "ecs.warp9.huge")
        .send()
        .await
        .err(400, "InvalidInstanceType.ValueNotSupported");
    assert!(
        str_of(&body["Message"]).contains("ecs.warp9.huge"),
        "{body}"
    );
    for zone in ["cn-hangzhou-z", "cn-beijing-g"] {
        run(&app, X86_IMAGE)
            .param("ZoneId", zone)
            .send()
            .await
            .err_msg(
                404,
                "InvalidZoneId.NotFound",
                "The specified zoneId does not exist.",
            );
    }
    run(&app, X86_IMAGE)
        .param("SystemDisk.Size", "10")
        .send()
        .await
        .err_msg(
            404,
            "InvalidSystemDiskSize.LessThanImageSize",
            "The specified parameter SystemDisk.Size is less than the image size.",
        );
    for amount in ["0", "101", "many"] {
        run(&app, X86_IMAGE)
            .param("Amount", amount)
            .send()
            .await
            .err(400, "InvalidParameter");
    }
    run(&app, X86_IMAGE)
        .param("DryRun", "true")
        .send()
        .await
        .err(400, "DryRunOperation");
    // Nothing was launched by any of these.
    let body = app.call("DescribeInstances").region().send().await.ok();
    assert_eq!(body["TotalCount"], 0, "{body}");
    // The valid forms work.
    let body = run(&app, X86_IMAGE)
        .param("ZoneId", "cn-hangzhou-h")
        .param("Amount", "3")
        .param("SystemDisk.Size", "40")
        .send()
        .await
        .ok();
    assert_eq!(instance_ids(&body).len(), 3, "{body}");
}

#[tokio::test]
async fn run_instances_image_errors() {
    let app = TestApp::start();
    // Architecture mismatch, both ways round.
    app.call("RunInstances")
        .region()
        .param("ImageId", ARM_IMAGE)
        .param("InstanceType", X86_TYPE)
        .send()
        .await
        .err_msg(
            403,
            "ImageNotSupportInstanceType",
            "The specified image does not support the specified InstanceType.",
        );
    app.call("RunInstances")
        .region()
        .param("ImageId", X86_IMAGE)
        .param("InstanceType", ARM_TYPE)
        .send()
        .await
        .err(403, "ImageNotSupportInstanceType");
    app.call("RunInstances")
        .region()
        .param("ImageId", ARM_IMAGE)
        .param("InstanceType", ARM_TYPE)
        .send()
        .await
        .ok();

    // Unknown image.
    run(&app, "m-bp1doesnotexist000").send().await.err_msg(
        404,
        "InvalidImageId.NotFound",
        "The specified ImageId does not exist.",
    );

    // A Creating image.
    let instance = app.run_instance(X86_IMAGE).await;
    let image = app.create_image_from(&instance, None).await;
    let not_valid = "The specified Image is disabled or is deleted.";
    run(&app, &image)
        .send()
        .await
        .err_msg(403, "OperationDenied.ImageNotValid", not_valid);
    app.finish_creations().await;
    run(&app, &image).send().await.ok();

    // Own deleted image.
    app.call("DeleteImage")
        .region()
        .param("ImageId", &image)
        .param("Force", "true")
        .send()
        .await
        .ok();
    run(&app, &image)
        .send()
        .await
        .err_msg(403, "OperationDenied.ImageNotValid", not_valid);

    // Another account's private image, live or deleted, is unknown.
    let other = app.new_account();
    let theirs_instance = app.run_instance_as(&other, X86_IMAGE).await;
    let theirs = app
        .create_image_from_as(&other, &theirs_instance, None)
        .await;
    app.finish_creations().await;
    run(&app, &theirs)
        .send()
        .await
        .err(404, "InvalidImageId.NotFound");
    app.call("DeleteImage")
        .as_(&other)
        .region()
        .param("ImageId", &theirs)
        .send()
        .await
        .ok();
    run(&app, &theirs)
        .send()
        .await
        .err(404, "InvalidImageId.NotFound");

    // An image lives in its region only.
    app.call("RunInstances")
        .param("RegionId", "cn-beijing")
        .param("ImageId", &theirs)
        .param("InstanceType", X86_TYPE)
        .send()
        .await
        .err(404, "InvalidImageId.NotFound");
}

#[tokio::test]
async fn run_instances_client_token() {
    let app = TestApp::start();
    let with_token = |kind: &str| {
        run(&app, X86_IMAGE)
            .param("InstanceName", kind)
            .param("ClientToken", "run-token-1")
    };
    let first = instance_ids(&with_token("web").send().await.ok());
    let again = instance_ids(&with_token("web").send().await.ok());
    assert_eq!(first.len(), 1);
    assert_eq!(first, again);
    let body = app.call("DescribeInstances").region().send().await.ok();
    assert_eq!(body["TotalCount"], 1, "{body}");
    with_token("db").send().await.err_msg(
        400,
        "IdempotentParameterMismatch",
        "The request is retried with updated parameters.",
    );
}

// ---- instance lifecycle -----------------------------------------------------------------

#[tokio::test]
async fn delete_instance_rules() {
    let app = TestApp::start();
    let running = app.run_instance(X86_IMAGE).await;
    // DeleteInstance takes no RegionId.
    app.call("DeleteInstance")
        .param("InstanceId", &running)
        .send()
        .await
        .err_msg(
            403,
            "IncorrectInstanceStatus",
            "The current status of the resource does not support this operation.",
        );
    app.call("DeleteInstance")
        .param("InstanceId", &running)
        .param("Force", "false")
        .send()
        .await
        .err(403, "IncorrectInstanceStatus");
    app.call("DeleteInstance")
        .param("InstanceId", "i-bp1doesnotexist000")
        .send()
        .await
        .err_msg(
            404,
            "InvalidInstanceId.NotFound",
            "The specified InstanceId does not exist.",
        );
    app.call("DeleteInstance")
        .send()
        .await
        .err(400, "MissingInstanceId");

    // Stop, then delete without Force.
    app.call("StopInstance")
        .param("InstanceId", &running)
        .send()
        .await
        .ok();
    app.call("StopInstance")
        .param("InstanceId", &running)
        .send()
        .await
        .err(403, "IncorrectInstanceStatus");
    let body = app
        .call("DescribeInstances")
        .region()
        .param("Status", "Stopped")
        .send()
        .await
        .ok();
    assert_eq!(
        body["Instances"]["Instance"][0]["InstanceId"],
        running.as_str()
    );
    assert_eq!(body["Instances"]["Instance"][0]["Status"], "Stopped");
    app.call("DeleteInstance")
        .param("InstanceId", &running)
        .send()
        .await
        .ok();
    app.call("DeleteInstance")
        .param("InstanceId", &running)
        .send()
        .await
        .err(404, "InvalidInstanceId.NotFound");

    // Force deletes a running instance.
    let forced = app.run_instance(X86_IMAGE).await;
    app.call("DeleteInstance")
        .param("InstanceId", &forced)
        .param("Force", "TRUE")
        .send()
        .await
        .ok();
    let body = app.call("DescribeInstances").region().send().await.ok();
    assert_eq!(body["TotalCount"], 0, "{body}");

    // Another account's instance is unknown.
    let other = app.new_account();
    let theirs = app.run_instance_as(&other, X86_IMAGE).await;
    for action in ["DeleteInstance", "StopInstance", "StartInstance"] {
        app.call(action)
            .param("InstanceId", &theirs)
            .param("Force", "true")
            .send()
            .await
            .err(404, "InvalidInstanceId.NotFound");
    }
}

#[tokio::test]
async fn delete_instances_start_stop_and_create_instance() {
    let app = TestApp::start();
    let a = app.run_instance(X86_IMAGE).await;
    let b = app.run_instance(X86_IMAGE).await;
    let delete = |ids: &[&str]| {
        let mut call = app.call("DeleteInstances").region();
        for (n, id) in ids.iter().enumerate() {
            call = call.param(&format!("InstanceId.{}", n + 1), id);
        }
        call
    };
    delete(&[]).send().await.err(400, "MissingInstanceId");
    // All or nothing: one running instance without Force stops the whole request.
    app.call("StopInstance")
        .param("InstanceId", &a)
        .send()
        .await
        .ok();
    delete(&[&a, &b])
        .send()
        .await
        .err(403, "IncorrectInstanceStatus");
    delete(&[&a, "i-bp1doesnotexist000"])
        .send()
        .await
        .err(404, "InvalidInstanceId.NotFound");
    let body = app.call("DescribeInstances").region().send().await.ok();
    assert_eq!(body["TotalCount"], 2, "{body}");
    // Start / stop round trip.
    app.call("StartInstance")
        .param("InstanceId", &a)
        .send()
        .await
        .ok();
    app.call("StartInstance")
        .param("InstanceId", &a)
        .send()
        .await
        .err(403, "IncorrectInstanceStatus");
    delete(&[&a, &b]).param("Force", "true").send().await.ok();
    let body = app.call("DescribeInstances").region().send().await.ok();
    assert_eq!(body["TotalCount"], 0, "{body}");

    // CreateInstance launches one stopped instance.
    let body = app
        .call("CreateInstance")
        .region()
        .param("ImageId", X86_IMAGE)
        .param("InstanceType", X86_TYPE)
        .send()
        .await
        .ok();
    let created = str_of(&body["InstanceId"]);
    let body = app
        .call("DescribeInstances")
        .region()
        .param("InstanceIds", &format!("[\"{created}\"]"))
        .send()
        .await
        .ok();
    assert_eq!(body["Instances"]["Instance"][0]["Status"], "Stopped");
    app.call("DeleteInstance")
        .param("InstanceId", &created)
        .send()
        .await
        .ok();
}

#[tokio::test]
async fn run_instances_name_and_tag_errors() {
    let app = TestApp::start();
    let long = "n".repeat(129);
    for (k, v, code) in [
        ("InstanceName", "x", "InvalidParameter"),
        ("InstanceName", long.as_str(), "InvalidParameter"),
        ("Tag.1.Key", "aliyun-x", "InvalidTagKey.Malformed"),
        ("SystemDisk.Size", "big", "InvalidParameter"),
    ] {
        run(&app, X86_IMAGE).param(k, v).send().await.err(400, code);
    }
    for bad in ["i-a", "[1,2]", "[\"i-a\""] {
        app.call("DescribeInstances")
            .region()
            .param("InstanceIds", bad)
            .send()
            .await
            .err(400, "InvalidParameter");
    }
    for (k, v) in [("PageSize", "101"), ("PageNumber", "0")] {
        app.call("DescribeInstances")
            .region()
            .param(k, v)
            .send()
            .await
            .err(400, "InvalidParameter");
    }
}

#[tokio::test]
async fn describe_instances_filters_and_errors() {
    let app = TestApp::start();
    app.call("DescribeInstances")
        .region()
        .param("Status", "Sleeping")
        .send()
        .await
        .err_msg(
            404,
            "InvalidStatus.NotFound",
            "The specified Status is not found",
        );
    let a = app.run_instance(X86_IMAGE).await;
    let b = app.run_instance(X86_IMAGE).await;
    let arm = {
        let body = app
            .call("RunInstances")
            .region()
            .param("ImageId", ARM_IMAGE)
            .param("InstanceType", ARM_TYPE)
            .send()
            .await
            .ok();
        instance_ids(&body).remove(0)
    };
    let mut by_image = app.instances_of_image(X86_IMAGE).await;
    by_image.sort();
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(by_image, expected);
    assert_eq!(app.instances_of_image(ARM_IMAGE).await, vec![arm.clone()]);
    let body = app
        .call("DescribeInstances")
        .region()
        .param("InstanceIds", &format!("[\"{a}\",\"{arm}\"]"))
        .send()
        .await
        .ok();
    assert_eq!(body["TotalCount"], 2, "{body}");
    let body = app
        .call("DescribeInstances")
        .region()
        .param("InstanceIds", "[]")
        .send()
        .await
        .ok();
    assert_eq!(body["TotalCount"], 0, "{body}");
    // Instances live in their region.
    let body = app
        .call("DescribeInstances")
        .param("RegionId", "cn-beijing")
        .send()
        .await
        .ok();
    assert_eq!(body["TotalCount"], 0, "{body}");
    // Another account sees none of them.
    let other = app.new_account();
    let body = app
        .call("DescribeInstances")
        .as_(&other)
        .region()
        .send()
        .await
        .ok();
    assert_eq!(body["TotalCount"], 0, "{body}");
}

// ---- spec features the server lacks -----------------------------------------------------

#[tokio::test]
async fn run_instances_from_an_image_family_launches_its_newest_available_image() {
    let app = TestApp::start();
    // A system family.
    let body = app
        .call("RunInstances")
        .region()
        .param("ImageFamily", "acs:alibaba_cloud_linux_3_2104_lts_x64")
        .param("InstanceType", X86_TYPE)
        .send()
        .await
        .ok();
    let id = instance_ids(&body).remove(0);
    assert_eq!(app.instances_of_image(X86_IMAGE).await, vec![id]);

    // An own family: the newest Available member wins.
    let (older, newer) = app.family_images("web").await;
    app.finish_creations().await;
    let body = run(&app, "").param("ImageFamily", "web").send().await.ok();
    let id = instance_ids(&body).remove(0);
    assert_eq!(app.instances_of_image(&newer).await, vec![id]);
    assert!(app.instances_of_image(&older).await.is_empty());
}

#[tokio::test]
async fn describe_instances_pages_with_max_results_and_next_token() {
    let app = TestApp::start();
    let mut launched = vec![
        app.run_instance(X86_IMAGE).await,
        app.run_instance(X86_IMAGE).await,
    ];
    launched.sort();
    let first = app
        .call("DescribeInstances")
        .region()
        .param("MaxResults", "1")
        .send()
        .await
        .ok();
    let page1 = first["Instances"]["Instance"].as_array().expect("array");
    assert_eq!(page1.len(), 1, "{first}");
    let token = str_of(&first["NextToken"]);
    assert!(!token.is_empty(), "{first}");
    let second = app
        .call("DescribeInstances")
        .region()
        .param("MaxResults", "1")
        .param("NextToken", &token)
        .send()
        .await
        .ok();
    let page2 = second["Instances"]["Instance"].as_array().expect("array");
    assert_eq!(page2.len(), 1, "{second}");
    let mut seen = vec![
        str_of(&page1[0]["InstanceId"]),
        str_of(&page2[0]["InstanceId"]),
    ];
    seen.sort();
    assert_eq!(seen, launched);
    assert_eq!(second["NextToken"], "");
    app.call("DescribeInstances")
        .region()
        .param("MaxResults", "101")
        .send()
        .await
        .err(400, "InvalidParameter");
}

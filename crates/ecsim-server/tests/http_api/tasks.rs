//! ImportImage, ExportImage, CopyImage, CancelCopyImage, DescribeTasks, DescribeTaskAttribute
//! and CancelTask (spec ecs-image-api §3.7–§3.13), and the DeleteImage blockers they add (§3.1:
//! `OperationDenied.ImageCopying`, `ImageIsImporting`, `ImageIsExporting`, in the spec's order).
//!
//! `TestApp` runs no task workers: a test that wants bytes to move spawns them itself
//! ([`start_workers`]); without them every task stays `Waiting`, which makes the in-flight states
//! deterministic. Each test gets its own OSS root under `CARGO_TARGET_TMPDIR`.

use crate::support::*;
use ecsim_core::clock::format_time;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const SHANGHAI: &str = "cn-shanghai";
const BUCKET: &str = "bkt";
const MIB: usize = 1024 * 1024;

/// A private OSS root with one bucket ([`BUCKET`]); removed when dropped.
struct Oss {
    root: PathBuf,
}

impl Oss {
    fn new() -> Self {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("ecsim-oss-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(root.join(BUCKET)).expect("bucket dir is created");
        Self { root }
    }

    fn bucket(&self) -> PathBuf {
        self.root.join(BUCKET)
    }

    /// Writes an object of `len` bytes (a raw disk: every byte string is one) with some
    /// non-zero content, so holes and data both occur.
    fn put_raw(&self, key: &str, len: usize) -> PathBuf {
        let mut bytes = vec![0u8; len];
        for (i, b) in bytes.iter_mut().enumerate().take(len / 2) {
            *b = (i % 251) as u8 ^ 0x5a;
        }
        self.put(key, &bytes)
    }

    /// The disk inside the RAW export `{name}.tar.gz`: the archive's one member, `name`.
    fn raw_export(&self, name: &str) -> Vec<u8> {
        let path = self.bucket().join(format!("{name}.tar.gz"));
        let file = std::fs::File::open(&path)
            .unwrap_or_else(|e| panic!("no export at {}: {e}", path.display()));
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let mut members = archive.entries().expect("a tar archive");
        let mut member = members.next().expect("one member").expect("readable");
        assert_eq!(
            member.path().expect("a path").to_string_lossy(),
            name,
            "the member is named after the disk"
        );
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut member, &mut bytes).expect("member reads");
        drop(member);
        assert!(members.next().is_none(), "one member only");
        bytes
    }

    fn put(&self, key: &str, bytes: &[u8]) -> PathBuf {
        let path = self.bucket().join(key);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("object dir is created");
        }
        std::fs::write(&path, bytes).expect("object is written");
        path
    }
}

impl Drop for Oss {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// An app whose `--oss-root` is `oss`.
fn app_with(oss: &Oss) -> TestApp {
    let root = oss.root.clone();
    TestApp::with_settings(move |s| s.oss_root = Some(root))
}

/// Spawns the task workers on the test's runtime (TestApp does not).
struct Workers(tokio::task::JoinHandle<()>);

impl Drop for Workers {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn start_workers(app: &TestApp) -> Workers {
    Workers(tokio::spawn(ecsim_server::run_task_workers(Arc::clone(
        &app.state,
    ))))
}

async fn import(app: &TestApp, key: &str, format: Option<&str>) -> (String, String) {
    let mut call = app
        .call("ImportImage")
        .region()
        .param("DiskDeviceMapping.1.OSSBucket", BUCKET)
        .param("DiskDeviceMapping.1.OSSObject", key);
    if let Some(f) = format {
        call = call.param("DiskDeviceMapping.1.Format", f);
    }
    let body = call.send().await.ok();
    assert_eq!(body["RegionId"], REGION, "{body}");
    let (image, task) = (str_of(&body["ImageId"]), str_of(&body["TaskId"]));
    assert!(image.starts_with("m-"), "{body}");
    assert!(task.starts_with("t-"), "{body}");
    (image, task)
}

async fn export(app: &TestApp, image: &str, format: Option<&str>) -> String {
    let mut call = app
        .call("ExportImage")
        .region()
        .param("ImageId", image)
        .param("OSSBucket", BUCKET);
    if let Some(f) = format {
        call = call.param("ImageFormat", f);
    }
    let body = call.send().await.ok();
    assert_eq!(body["RegionId"], REGION, "{body}");
    str_of(&body["TaskId"])
}

async fn copy(app: &TestApp, image: &str, destination: Option<&str>) -> String {
    let mut call = app.call("CopyImage").region().param("ImageId", image);
    if let Some(d) = destination {
        call = call.param("DestinationRegionId", d);
    }
    str_of(&call.send().await.ok()["ImageId"])
}

async fn delete_image(app: &TestApp, region: &str, image: &str) -> Resp {
    app.call("DeleteImage")
        .param("RegionId", region)
        .param("ImageId", image)
        .send()
        .await
}

async fn cancel_task(app: &TestApp, region: &str, task: &str) -> Resp {
    app.call("CancelTask")
        .param("RegionId", region)
        .param("TaskId", task)
        .send()
        .await
}

async fn cancel_copy(app: &TestApp, region: &str, image: &str) -> Resp {
    app.call("CancelCopyImage")
        .param("RegionId", region)
        .param("ImageId", image)
        .send()
        .await
}

async fn task_attribute(app: &TestApp, region: &str, task: &str) -> Value {
    app.call("DescribeTaskAttribute")
        .param("RegionId", region)
        .param("TaskId", task)
        .send()
        .await
        .ok()
}

/// DescribeTasks in `region` with extra params; answers (TotalCount, tasks).
async fn tasks(app: &TestApp, region: &str, params: &[(&str, &str)]) -> (u64, Vec<Value>) {
    let body = app
        .call("DescribeTasks")
        .param("RegionId", region)
        .params(params)
        .send()
        .await
        .ok();
    let list = body["TaskSet"]["Task"]
        .as_array()
        .unwrap_or_else(|| panic!("TaskSet.Task is an array: {body}"))
        .clone();
    (
        body["TotalCount"]
            .as_u64()
            .unwrap_or_else(|| panic!("{body}")),
        list,
    )
}

fn task_ids(list: &[Value]) -> Vec<String> {
    list.iter().map(|t| str_of(&t["TaskId"])).collect()
}

/// The id of the task working on `resource` in `region` (e.g. a copy's task).
async fn task_of(app: &TestApp, region: &str, resource: &str) -> String {
    let (_, list) = tasks(app, region, &[("ResourceIds.1", resource)]).await;
    assert_eq!(list.len(), 1, "{list:?}");
    str_of(&list[0]["TaskId"])
}

async fn describe_in(app: &TestApp, region: &str, image: &str) -> Option<Value> {
    let body = app
        .call("DescribeImages")
        .param("RegionId", region)
        .param("ImageId", image)
        .param("Status", "ALL")
        .send()
        .await
        .ok();
    let list = body["Images"]["Image"]
        .as_array()
        .expect("Image is an array");
    assert!(list.len() <= 1, "{body}");
    list.first().cloned()
}

async fn status_in(app: &TestApp, region: &str, image: &str) -> Option<String> {
    describe_in(app, region, image)
        .await
        .map(|i| str_of(&i["Status"]))
}

/// Polls DescribeTaskAttribute until the task is `Finished` or `Failed` (10 s deadline).
async fn wait_task_done(app: &TestApp, region: &str, task: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let attr = task_attribute(app, region, task).await;
        if matches!(attr["TaskStatus"].as_str(), Some("Finished" | "Failed")) {
            return attr;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "task {task} did not end within 10 s: {attr}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn progress(attr: &Value) -> &Value {
    &attr["OperationProgressSet"]["OperationProgress"][0]
}

fn related(attr: &Value) -> Vec<(String, String)> {
    progress(attr)["RelatedItemSet"]["RelatedItem"]
        .as_array()
        .expect("RelatedItem is an array")
        .iter()
        .map(|i| (str_of(&i["Name"]), str_of(&i["Value"])))
        .collect()
}

/// A task time: minute precision, `yyyy-MM-ddTHH:mmZ` (spec §1.4).
#[track_caller]
fn assert_task_time(value: &Value) {
    let s = str_of(value);
    let b = s.as_bytes();
    let ok = b.len() == 17
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b'Z'
        && s[..16]
            .chars()
            .enumerate()
            .all(|(i, c)| [4, 7, 10, 13].contains(&i) || c.is_ascii_digit());
    assert!(ok, "not a minute-precision task time: {s:?}");
}

/// Images of the root account carrying a tag with this key (ListTagResources).
async fn tagged_images(app: &TestApp, region: &str, key: &str) -> Vec<String> {
    let body = app
        .call("ListTagResources")
        .param("RegionId", region)
        .param("ResourceType", "image")
        .param("Tag.1.Key", key)
        .send()
        .await
        .ok();
    body["TagResources"]["TagResource"]
        .as_array()
        .unwrap_or_else(|| panic!("TagResource is an array: {body}"))
        .iter()
        .map(|t| str_of(&t["ResourceId"]))
        .collect()
}

async fn publish(app: &TestApp, image: &str) {
    app.call("ModifyImageSharePermission")
        .region()
        .param("ImageId", image)
        .param("IsPublic", "true")
        .send()
        .await
        .ok();
}

async fn share_with(app: &TestApp, region: &str, image: &str, who: &Creds) -> Resp {
    app.call("ModifyImageSharePermission")
        .param("RegionId", region)
        .param("ImageId", image)
        .param("AddAccount.1", &who.account_id.to_string())
        .send()
        .await
}

// ---- missing parameters and regions ----------------------------------------------------

#[tokio::test]
async fn import_image_requires_the_system_disk_bucket_and_object() {
    let oss = Oss::new();
    let app = app_with(&oss);
    oss.put_raw("disk.raw", 4096);
    let msg = |p: &str| {
        format!(
            "An input parameter \"{p}\" that is mandatory for processing the request is not supplied."
        )
    };
    app.call("ImportImage")
        .region()
        .param("ImageName", "no-mapping")
        .send()
        .await
        .err_msg(
            400,
            "MissingParameter",
            &msg("DiskDeviceMapping.1.OSSBucket"),
        );
    app.call("ImportImage")
        .region()
        .param("DiskDeviceMapping.1.OSSObject", "disk.raw")
        .send()
        .await
        .err_msg(
            400,
            "MissingParameter",
            &msg("DiskDeviceMapping.1.OSSBucket"),
        );
    app.call("ImportImage")
        .region()
        .param("DiskDeviceMapping.1.OSSBucket", BUCKET)
        .param("DiskDeviceMapping.1.OSSObject", "")
        .send()
        .await
        .err_msg(
            400,
            "MissingParameter",
            &msg("DiskDeviceMapping.1.OSSObject"),
        );
    // RegionId is metadata: the gateway's short form (spec §6 item 12).
    app.call("ImportImage")
        .param("DiskDeviceMapping.1.OSSBucket", BUCKET)
        .param("DiskDeviceMapping.1.OSSObject", "disk.raw")
        .send()
        .await
        .err_msg(
            400,
            "MissingRegionId",
            "RegionId is mandatory for this action.",
        );
    let (total, _) = tasks(&app, REGION, &[]).await;
    assert_eq!(total, 0, "a refused import leaves no task");
}

#[tokio::test]
async fn export_copy_and_cancel_copy_require_their_parameters() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let (image, _) = app.available_image(None).await;
    let msg = |p: &str| {
        format!(
            "An input parameter \"{p}\" that is mandatory for processing the request is not supplied."
        )
    };
    app.call("ExportImage")
        .region()
        .param("OSSBucket", BUCKET)
        .send()
        .await
        .err_msg(400, "MissingParameter", &msg("ImageId"));
    app.call("ExportImage")
        .region()
        .param("ImageId", &image)
        .send()
        .await
        .err_msg(400, "MissingParameter", &msg("OSSBucket"));
    app.call("ExportImage")
        .param("ImageId", &image)
        .param("OSSBucket", BUCKET)
        .send()
        .await
        .err(400, "MissingRegionId");
    app.call("CopyImage")
        .region()
        .param("DestinationRegionId", SHANGHAI)
        .send()
        .await
        .err_msg(
            400,
            "MissingImageId",
            "ImageId is mandatory for this action.",
        );
    app.call("CopyImage")
        .param("ImageId", &image)
        .send()
        .await
        .err(400, "MissingRegionId");
    app.call("CancelCopyImage")
        .param("RegionId", SHANGHAI)
        .send()
        .await
        .err_msg(
            400,
            "MissingImageId",
            "ImageId is mandatory for this action.",
        );
}

#[tokio::test]
async fn task_operations_require_region_and_task_id() {
    let app = TestApp::start();
    let long = |p: &str| {
        format!(
            "The input parameter \"{p}\" that is mandatory for processing this request is not supplied."
        )
    };
    app.call("DescribeTasks")
        .send()
        .await
        .err_msg(400, "MissingParameter", &long("RegionId"));
    for action in ["DescribeTaskAttribute", "CancelTask"] {
        app.call(action)
            .param("TaskId", "t-bp1aaaaaaaaaaaaaaaaa")
            .send()
            .await
            .err_msg(400, "MissingParameter", &long("RegionId"));
        app.call(action)
            .region()
            .send()
            .await
            .err_msg(400, "MissingParameter", &long("TaskId"));
        app.call(action)
            .region()
            .param("TaskId", "")
            .send()
            .await
            .err_msg(400, "MissingParameter", &long("TaskId"));
    }
}

#[tokio::test]
async fn unknown_regions_are_not_found_for_every_task_operation() {
    let oss = Oss::new();
    let app = app_with(&oss);
    oss.put_raw("disk.raw", 4096);
    for (action, params) in [
        (
            "ImportImage",
            vec![
                ("DiskDeviceMapping.1.OSSBucket", BUCKET),
                ("DiskDeviceMapping.1.OSSObject", "disk.raw"),
            ],
        ),
        (
            "ExportImage",
            vec![("ImageId", "m-bp1aaaaaaaaaaaaaaaaa"), ("OSSBucket", BUCKET)],
        ),
        ("CopyImage", vec![("ImageId", "m-bp1aaaaaaaaaaaaaaaaa")]),
        (
            "CancelCopyImage",
            vec![("ImageId", "m-bp1aaaaaaaaaaaaaaaaa")],
        ),
        ("DescribeTasks", vec![]),
        (
            "DescribeTaskAttribute",
            vec![("TaskId", "t-bp1aaaaaaaaaaaaaaaaa")],
        ),
        ("CancelTask", vec![("TaskId", "t-bp1aaaaaaaaaaaaaaaaa")]),
    ] {
        let body = app
            .call(action)
            .param("RegionId", "cn-atlantis")
            .params(&params)
            .send()
            .await
            .json();
        assert_eq!(body["Code"], "InvalidRegionId.NotFound", "{action}: {body}");
    }
}

// ---- OSS buckets and objects ---------------------------------------------------------------

#[tokio::test]
async fn import_image_bucket_and_object_must_exist_inside_the_oss_root() {
    let oss = Oss::new();
    let app = app_with(&oss);
    oss.put_raw("disk.raw", 4096);
    oss.put_raw("dir/nested.raw", 4096);
    // A file next to the OSS root and one in the root itself: never reachable as objects.
    let outside = oss.root.with_extension("outside.raw");
    std::fs::write(&outside, b"secret").expect("outside file");
    std::fs::write(oss.root.join("top.raw"), b"secret").expect("root file");
    std::os::unix::fs::symlink(&outside, oss.bucket().join("escape.raw")).expect("symlink");
    std::os::unix::fs::symlink(&outside, oss.root.join("escapebkt")).expect("symlink");

    let attempt = |bucket: &'static str, object: String| {
        app.call("ImportImage")
            .region()
            .param("DiskDeviceMapping.1.OSSBucket", bucket)
            .param("DiskDeviceMapping.1.OSSObject", &object)
    };
    for bucket in ["nosuchbucket", "..", ".", "bkt/dir", "escapebkt"] {
        attempt(bucket, "disk.raw".into()).send().await.err_msg(
            400,
            "InvalidOSSBucket.NotFound",
            "The specified OSS bucket does not exist in this region.",
        );
    }
    let outside_name = outside
        .file_name()
        .and_then(|n| n.to_str())
        .expect("utf-8 name")
        .to_string();
    for object in [
        "nosuch.raw".to_string(),
        "dir".to_string(),
        "dir/".to_string(),
        "./disk.raw".to_string(),
        "dir//nested.raw".to_string(),
        "../top.raw".to_string(),
        format!("../../{outside_name}"),
        "/etc/passwd".to_string(),
        "escape.raw".to_string(),
    ] {
        attempt(BUCKET, object.clone()).send().await.err_msg(
            400,
            "InvalidOSSObject.NotFound",
            "The specified OSS object does not exist in this region.",
        );
    }
    let (total, _) = tasks(&app, REGION, &[]).await;
    assert_eq!(total, 0);
    // A nested key is a normal object.
    import(&app, "dir/nested.raw", None).await;
    let _ = std::fs::remove_file(&outside);
}

#[tokio::test]
async fn without_an_oss_root_import_and_export_find_no_bucket() {
    let app = TestApp::start();
    let (image, _) = app.available_image(None).await;
    app.call("ImportImage")
        .region()
        .param("DiskDeviceMapping.1.OSSBucket", BUCKET)
        .param("DiskDeviceMapping.1.OSSObject", "disk.raw")
        .send()
        .await
        .err(400, "InvalidOSSBucket.NotFound");
    app.call("ExportImage")
        .region()
        .param("ImageId", &image)
        .param("OSSBucket", BUCKET)
        .send()
        .await
        .err(400, "InvalidOSSBucket.NotFound");
}

#[tokio::test]
async fn export_image_bucket_format_and_prefix_are_validated() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let (image, _) = app.available_image(None).await;
    let attempt = || app.call("ExportImage").region().param("ImageId", &image);
    attempt()
        .param("OSSBucket", "nosuchbucket")
        .send()
        .await
        .err_msg(
            400,
            "InvalidOSSBucket.NotFound",
            "The specified OSS bucket does not exist in this region.",
        );
    for format in ["iso", "vhdx", "RAWX", "ova"] {
        attempt()
            .param("OSSBucket", BUCKET)
            .param("ImageFormat", format)
            .send()
            .await
            .err_msg(
                400,
                "InvalidImageFormat.Malformed",
                "The specified Image Format is wrongly formed.",
            );
    }
    for prefix in ["bad-prefix", "a/b", "with space", &"p".repeat(31), "ünï"] {
        attempt()
            .param("OSSBucket", BUCKET)
            .param("OSSPrefix", prefix)
            .send()
            .await
            .err(400, "InvalidOSSPrefix.Malformed");
    }
    let (total, _) = tasks(&app, REGION, &[]).await;
    assert_eq!(total, 0, "refused exports leave no task");
    // The longest valid prefix, and a format in upper case, are accepted.
    let task = app
        .call("ExportImage")
        .region()
        .param("ImageId", &image)
        .param("OSSBucket", BUCKET)
        .param("OSSPrefix", &"P1".repeat(15))
        .param("ImageFormat", "QCOW2")
        .send()
        .await
        .ok()["TaskId"]
        .clone();
    let attr = task_attribute(&app, REGION, &str_of(&task)).await;
    assert_eq!(
        related(&attr),
        vec![
            ("OSSBucket".to_string(), BUCKET.to_string()),
            (
                "OSSObject".to_string(),
                format!("{}_{image}_system.qcow2", "P1".repeat(15))
            ),
            ("ImageFormat".to_string(), "QCOW2".to_string()),
        ]
    );
}

#[tokio::test]
async fn import_image_format_must_be_one_ecs_imports() {
    let oss = Oss::new();
    let app = app_with(&oss);
    oss.put_raw("disk.raw", 4096);
    for format in ["ISO", "VDI", "qcow3", "raw "] {
        app.call("ImportImage")
            .region()
            .param("DiskDeviceMapping.1.OSSBucket", BUCKET)
            .param("DiskDeviceMapping.1.OSSObject", "disk.raw")
            .param("DiskDeviceMapping.1.Format", format)
            .send()
            .await
            .err_msg(
                400,
                "InvalidImageFormat.Malformed",
                "The specified Image Format is wrongly formed.",
            );
    }
    // Any case of a known format is accepted and shown as ECS names it.
    let (image, _) = import(&app, "disk.raw", Some("raw")).await;
    let shown = app.describe_image(&image).await.expect("import is listed");
    assert_eq!(
        shown["DiskDeviceMappings"]["DiskDeviceMapping"][0]["Format"],
        "RAW"
    );
}

#[tokio::test]
async fn import_image_name_rules_and_duplicates() {
    let oss = Oss::new();
    let app = app_with(&oss);
    oss.put_raw("disk.raw", 4096);
    let named = |name: &str| {
        app.call("ImportImage")
            .region()
            .param("DiskDeviceMapping.1.OSSBucket", BUCKET)
            .param("DiskDeviceMapping.1.OSSObject", "disk.raw")
            .param("ImageName", name)
    };
    for bad in [
        "1starts-with-digit",
        "x",
        "http://x",
        "aliyun-name",
        "acs:name",
    ] {
        named(bad).send().await.err_msg(
            400,
            "InvalidImageName.Malformed",
            "The specified Image name is wrongly formed.",
        );
    }
    let first = named("imported-one").send().await.ok();
    named("imported-one").send().await.err_msg(
        400,
        "InvalidImageName.Duplicated",
        "The destination image is exist.",
    );
    // A cancelled import frees its name.
    cancel_task(&app, REGION, &str_of(&first["TaskId"]))
        .await
        .ok();
    named("imported-one").send().await.ok();
}

#[tokio::test]
async fn import_image_client_token_returns_the_first_result() {
    let oss = Oss::new();
    let app = app_with(&oss);
    oss.put_raw("disk.raw", 4096);
    oss.put_raw("other.raw", 4096);
    let with_token = |key: &str| {
        app.call("ImportImage")
            .region()
            .param("DiskDeviceMapping.1.OSSBucket", BUCKET)
            .param("DiskDeviceMapping.1.OSSObject", key)
            .param("ClientToken", "import-token-1")
    };
    let first = with_token("disk.raw").send().await.ok();
    let again = with_token("disk.raw").send().await.ok();
    assert_eq!(first["ImageId"], again["ImageId"]);
    assert_eq!(first["TaskId"], again["TaskId"]);
    with_token("other.raw")
        .send()
        .await
        .err(400, "IdempotenceParamNotMatch");
    let (total, _) = tasks(&app, REGION, &[]).await;
    assert_eq!(total, 1, "one import, however often it was retried");
}

// ---- the import lifecycle ------------------------------------------------------------------

#[tokio::test]
async fn a_queued_import_is_waiting_and_shows_its_source() {
    let oss = Oss::new();
    let app = app_with(&oss);
    oss.put_raw("disk.raw", 8192);
    let (image, task) = import(&app, "disk.raw", Some("RAW")).await;
    let shown = app.describe_image(&image).await.expect("listed");
    assert_eq!(shown["Status"], "Waiting", "{shown}");
    assert_eq!(shown["ImageOwnerAlias"], "self");
    assert_eq!(shown["IsCopied"], false);
    let mapping = &shown["DiskDeviceMappings"]["DiskDeviceMapping"][0];
    assert_eq!(mapping["ImportOSSBucket"], BUCKET, "{shown}");
    assert_eq!(mapping["ImportOSSObject"], "disk.raw", "{shown}");
    assert_eq!(mapping["Type"], "system", "{shown}");

    let attr = task_attribute(&app, REGION, &task).await;
    assert_eq!(attr["TaskId"], task.as_str());
    assert_eq!(attr["RegionId"], REGION);
    assert_eq!(attr["TaskAction"], "ImportImage");
    assert!(
        matches!(attr["TaskStatus"].as_str(), Some("Waiting" | "Processing")),
        "{attr}"
    );
    assert_eq!(attr["TaskProcess"], "0%");
    assert_eq!(attr["SupportCancel"], "true");
    assert_task_time(&attr["CreationTime"]);
    assert_eq!(attr["FinishedTime"], "");
    assert_eq!(attr["TotalCount"], 1);
    assert_eq!(attr["SuccessCount"], 0);
    assert_eq!(attr["FailedCount"], 0);
    assert_eq!(progress(&attr)["OperationStatus"], "Processing");
    assert_eq!(
        related(&attr),
        vec![
            ("OSSBucket".to_string(), BUCKET.to_string()),
            ("OSSObject".to_string(), "disk.raw".to_string()),
            ("ImageFormat".to_string(), "RAW".to_string()),
        ]
    );
    let (_, list) = tasks(&app, REGION, &[("TaskIds", &task)]).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["ResourceId"], image.as_str());
    assert_eq!(list[0]["SupportCancel"], "true");
    assert_eq!(list[0]["FinishedTime"], "");
}

#[tokio::test]
async fn an_import_runs_to_available_with_its_detected_format() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let _workers = start_workers(&app);
    oss.put_raw("disk.raw", 3 * MIB);
    let (image, task) = import(&app, "disk.raw", None).await;
    let attr = wait_task_done(&app, REGION, &task).await;
    assert_eq!(attr["TaskStatus"], "Finished", "{attr}");
    assert_eq!(attr["TaskProcess"], "100%");
    assert_eq!(attr["SupportCancel"], "false");
    assert_task_time(&attr["FinishedTime"]);
    assert_eq!(attr["SuccessCount"], 1);
    assert_eq!(attr["FailedCount"], 0);
    assert_eq!(progress(&attr)["OperationStatus"], "Success");
    assert_eq!(progress(&attr)["ErrorCode"], "");
    let shown = app.describe_image(&image).await.expect("listed");
    assert_eq!(shown["Status"], "Available", "{shown}");
    assert_eq!(shown["Size"], 1, "3 MiB round up to 1 GiB: {shown}");
    let mapping = &shown["DiskDeviceMappings"]["DiskDeviceMapping"][0];
    assert_eq!(mapping["Format"], "RAW", "auto-detected: {shown}");
    // An imported image is a normal image: it can be exported and copied.
    let export_task = export(&app, &image, Some("qcow2")).await;
    assert_eq!(
        wait_task_done(&app, REGION, &export_task).await["TaskStatus"],
        "Finished"
    );
    let exported = oss.bucket().join(format!("{image}_system.qcow2"));
    let head = std::fs::read(&exported).expect("the export is in the bucket");
    assert_eq!(&head[..4], b"QFI\xfb", "a qcow2 file");
    let copy_id = copy(&app, &image, Some(SHANGHAI)).await;
    let copy_task = task_of(&app, SHANGHAI, &copy_id).await;
    assert_eq!(
        wait_task_done(&app, SHANGHAI, &copy_task).await["TaskStatus"],
        "Finished"
    );
    assert_eq!(
        status_in(&app, SHANGHAI, &copy_id).await.as_deref(),
        Some("Available")
    );
}

#[tokio::test]
async fn imports_that_are_not_what_they_claim_fail_and_leave_a_deletable_image() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let _workers = start_workers(&app);
    oss.put_raw("disk.raw", MIB);
    oss.put("empty.raw", b"");
    for (key, declared) in [
        ("disk.raw", Some("QCOW2")),
        ("disk.raw", Some("VMDK")),
        ("empty.raw", None),
    ] {
        let (image, task) = import(&app, key, declared).await;
        let attr = wait_task_done(&app, REGION, &task).await;
        assert_eq!(
            attr["TaskStatus"], "Failed",
            "{key} as {declared:?}: {attr}"
        );
        assert_eq!(attr["FailedCount"], 1);
        assert_eq!(attr["SupportCancel"], "false");
        assert_task_time(&attr["FinishedTime"]);
        assert_eq!(progress(&attr)["OperationStatus"], "Failed");
        assert_eq!(
            progress(&attr)["ErrorCode"],
            "InvalidImageFormat.Malformed",
            "{attr}"
        );
        assert!(!str_of(&progress(&attr)["ErrorMsg"]).is_empty(), "{attr}");
        assert_eq!(
            status_in(&app, REGION, &image).await.as_deref(),
            Some("CreateFailed")
        );
        delete_image(&app, REGION, &image).await.ok();
        assert_eq!(app.describe_image(&image).await, None);
    }
}

#[tokio::test]
async fn cancel_task_on_an_import_fails_the_task_and_removes_the_image() {
    let oss = Oss::new();
    let app = app_with(&oss);
    oss.put_raw("disk.raw", 8192);
    let body = app
        .call("ImportImage")
        .region()
        .param("DiskDeviceMapping.1.OSSBucket", BUCKET)
        .param("DiskDeviceMapping.1.OSSObject", "disk.raw")
        .param("Tag.1.Key", "team")
        .param("Tag.1.Value", "images")
        .send()
        .await
        .ok();
    let (image, task) = (str_of(&body["ImageId"]), str_of(&body["TaskId"]));
    assert_eq!(
        tagged_images(&app, REGION, "team").await,
        vec![image.clone()]
    );
    delete_image(&app, REGION, &image)
        .await
        .err(403, "ImageIsImporting");
    cancel_task(&app, REGION, &task).await.ok();
    let attr = task_attribute(&app, REGION, &task).await;
    assert_eq!(attr["TaskStatus"], "Failed", "{attr}");
    assert_eq!(progress(&attr)["ErrorCode"], "Cancelled");
    assert_eq!(attr["SupportCancel"], "false");
    assert_task_time(&attr["FinishedTime"]);
    assert_eq!(
        app.describe_image(&image).await,
        None,
        "the import's image is gone"
    );
    assert_eq!(
        tagged_images(&app, REGION, "team").await,
        Vec::<String>::new()
    );
    cancel_task(&app, REGION, &task).await.err_msg(
        403,
        "InvalidTaskId.IncorrectTaskStatus",
        "The specified task status is not invalid.",
    );
    // The image id is gone for good; the cancelled task stays listed as Failed.
    let (_, list) = tasks(&app, REGION, &[("TaskStatus", "Failed")]).await;
    assert_eq!(task_ids(&list), vec![task]);
}

// ---- ExportImage ----------------------------------------------------------------------------

#[tokio::test]
async fn export_image_needs_an_own_available_exportable_image() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let other = app.new_account();
    let (image, instance) = app.available_image(None).await;
    let attempt = |who: &Creds, id: &str| {
        app.call("ExportImage")
            .as_(who)
            .region()
            .param("ImageId", id)
            .param("OSSBucket", BUCKET)
    };
    for id in ["m-bp1aaaaaaaaaaaaaaaaa", X86_IMAGE] {
        attempt(&app.root, id).send().await.err_msg(
            404,
            "InvalidImageId.NotFound",
            "The specified ImageId does not exist.",
        );
    }
    attempt(&other, &image)
        .send()
        .await
        .err(404, "InvalidImageId.NotFound");
    // Shared with the other account: still not theirs to export.
    share_with(&app, REGION, &image, &other).await.ok();
    attempt(&other, &image)
        .send()
        .await
        .err(404, "InvalidImageId.NotFound");
    // Creating (CreateImage not finished yet).
    let creating = app.create_image_from(&instance, None).await;
    attempt(&app.root, &creating).send().await.err_msg(
        400,
        "IncorrectImageStatus",
        "The specified Image is not available.",
    );
    // A community image.
    let (community, _) = app.available_image(None).await;
    publish(&app, &community).await;
    attempt(&app.root, &community)
        .send()
        .await
        .err(403, "ImageNotSupported");
    // A deleted image.
    let (gone, _) = app.available_image(None).await;
    delete_image(&app, REGION, &gone).await.ok();
    attempt(&app.root, &gone)
        .send()
        .await
        .err(404, "InvalidImageId.NotFound");
    // DryRun validates, then creates nothing.
    attempt(&app.root, &image)
        .param("DryRun", "true")
        .send()
        .await
        .err(400, "DryRunOperation");
    let (total, _) = tasks(&app, REGION, &[]).await;
    assert_eq!(total, 0);
}

#[tokio::test]
async fn a_second_export_of_the_same_image_is_refused_while_one_is_open() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let (image, _) = app.available_image(None).await;
    let first = export(&app, &image, None).await;
    for format in [None, Some("vmdk")] {
        let mut call = app
            .call("ExportImage")
            .region()
            .param("ImageId", &image)
            .param("OSSBucket", BUCKET);
        if let Some(f) = format {
            call = call.param("ImageFormat", f);
        }
        call.send().await.err_msg(
            403,
            "ImageIsExporting",
            "The specified Image is being exported. You can use the DescribeTasks API to check the status of existing tasks.",
        );
    }
    // The image stays Available while it is exported.
    assert_eq!(
        status_in(&app, REGION, &image).await.as_deref(),
        Some("Available")
    );
    let attr = task_attribute(&app, REGION, &first).await;
    assert_eq!(attr["TaskAction"], "ExportImage");
    assert_eq!(
        related(&attr),
        vec![
            ("OSSBucket".to_string(), BUCKET.to_string()),
            (
                "OSSObject".to_string(),
                format!("{image}_system.raw.tar.gz")
            ),
            ("ImageFormat".to_string(), "RAW".to_string()),
        ],
        "raw is the default format"
    );
    // Cancelling ends the lock; the image is untouched and can be exported again.
    cancel_task(&app, REGION, &first).await.ok();
    let attr = task_attribute(&app, REGION, &first).await;
    assert_eq!(attr["TaskStatus"], "Failed");
    assert_eq!(progress(&attr)["ErrorCode"], "Cancelled");
    assert_eq!(
        status_in(&app, REGION, &image).await.as_deref(),
        Some("Available")
    );
    export(&app, &image, Some("vhd")).await;
}

#[tokio::test]
async fn exports_write_every_format_under_the_prefix() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let _workers = start_workers(&app);
    let (image, _) = app.available_image(None).await;
    let magic: [(&str, &[u8]); 4] = [
        ("qcow2", b"QFI\xfb"),
        ("vmdk", b"KDMV"),
        ("vhd", b"conectix"),
        ("vdi", b"<<< "),
    ];
    for (format, head) in magic {
        let task = app
            .call("ExportImage")
            .region()
            .param("ImageId", &image)
            .param("OSSBucket", BUCKET)
            .param("OSSPrefix", "exp")
            .param("ImageFormat", format)
            .send()
            .await
            .ok()["TaskId"]
            .clone();
        let attr = wait_task_done(&app, REGION, &str_of(&task)).await;
        assert_eq!(attr["TaskStatus"], "Finished", "{format}: {attr}");
        let path = oss.bucket().join(format!("exp_{image}_system.{format}"));
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{format}: no export at {}: {e}", path.display()));
        assert_eq!(&bytes[..head.len()], head, "{format} file header");
    }
    let task = export(&app, &image, Some("raw")).await;
    assert_eq!(
        wait_task_done(&app, REGION, &task).await["TaskStatus"],
        "Finished"
    );
    let raw = oss.raw_export(&format!("{image}_system.raw"));
    assert_eq!(raw.len(), 8 * MIB, "a raw export is the whole virtual disk");
    assert!(
        raw.starts_with(b"ecsim system image"),
        "the bytes come from the image"
    );
    // Only finished objects are in the bucket: no temporary files are left behind.
    let mut names: Vec<String> = std::fs::read_dir(oss.bucket())
        .expect("bucket lists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = ["qcow2", "vdi", "vhd", "vmdk"]
        .iter()
        .map(|f| format!("exp_{image}_system.{f}"))
        .chain([format!("{image}_system.raw.tar.gz")])
        .collect();
    expected.sort();
    assert_eq!(names, expected);
}

// ---- CopyImage ------------------------------------------------------------------------------

#[tokio::test]
async fn copy_image_validates_destination_name_and_description() {
    let app = TestApp::start();
    let (image, _) = app.available_image(Some("copy-source")).await;
    let attempt = || app.call("CopyImage").region().param("ImageId", &image);
    attempt()
        .param("DestinationRegionId", "cn-atlantis")
        .send()
        .await
        .err_msg(
            400,
            "DestinationRegion.NotFound",
            "The destination region not found.",
        );
    for bad in ["9lives", "x", "http://example.com", "aliyun-copy"] {
        attempt()
            .param("DestinationImageName", bad)
            .send()
            .await
            .err_msg(
                400,
                "InvalidImageName.Malformed",
                "The specified destination image name is wrongly formed.",
            );
    }
    for bad in ["x", "http://example.com", &"d".repeat(257)] {
        attempt()
            .param("DestinationDescription", bad)
            .send()
            .await
            .err_msg(
                400,
                "InvalidDescription.Malformed",
                "The specified destination description is wrongly formed.",
            );
    }
    for id in ["m-bp1aaaaaaaaaaaaaaaaa", X86_IMAGE] {
        app.call("CopyImage")
            .region()
            .param("ImageId", id)
            .send()
            .await
            .err(404, "InvalidImageId.NotFound");
    }
    attempt()
        .param("DryRun", "true")
        .send()
        .await
        .err(400, "DryRunOperation");
    let (total, _) = tasks(&app, REGION, &[]).await;
    assert_eq!(total, 0);
}

#[tokio::test]
async fn copy_image_source_must_be_available_and_not_community() {
    let app = TestApp::start();
    let other = app.new_account();
    let (source, instance) = app.available_image(None).await;
    let creating = app.create_image_from(&instance, None).await;
    app.call("CopyImage")
        .region()
        .param("ImageId", &creating)
        .send()
        .await
        .err_msg(400, "IncorrectImageStatus", "The image not available.");
    // A copy in progress is not a source either.
    let in_progress = copy(&app, &source, None).await;
    app.call("CopyImage")
        .region()
        .param("ImageId", &in_progress)
        .send()
        .await
        .err(400, "IncorrectImageStatus");
    let (community, _) = app.available_image(None).await;
    publish(&app, &community).await;
    for who in [&app.root, &other] {
        app.call("CopyImage")
            .as_(who)
            .region()
            .param("ImageId", &community)
            .param("DestinationRegionId", SHANGHAI)
            .send()
            .await
            .err_msg(
                400,
                "OperationDenied.CommunityImage",
                "Community image does not support copy.",
            );
    }
    // Another account's unshared image does not exist for the caller.
    app.call("CopyImage")
        .as_(&other)
        .region()
        .param("ImageId", &source)
        .send()
        .await
        .err(404, "InvalidImageId.NotFound");
}

#[tokio::test]
async fn a_copy_in_progress_is_creating_and_blocks_a_concurrent_copy_of_its_source() {
    let app = TestApp::start();
    let (source, _) = app.available_image(Some("copied-src")).await;
    let body = app
        .call("CopyImage")
        .region()
        .param("ImageId", &source)
        .param("DestinationRegionId", SHANGHAI)
        .param("DestinationImageName", "the-copy")
        .param("DestinationDescription", "copied to shanghai")
        .send()
        .await
        .ok();
    let copy_id = str_of(&body["ImageId"]);
    assert!(copy_id.starts_with("m-uf6"), "a cn-shanghai id: {copy_id}");
    assert_eq!(
        describe_in(&app, REGION, &copy_id).await,
        None,
        "not in the source region"
    );
    let shown = describe_in(&app, SHANGHAI, &copy_id)
        .await
        .expect("the copy is in the destination region");
    assert_eq!(shown["Status"], "Creating", "{shown}");
    assert_eq!(shown["IsCopied"], true);
    assert_eq!(shown["ImageName"], "the-copy");
    assert_eq!(shown["Description"], "copied to shanghai");
    assert_eq!(shown["ImageOwnerAlias"], "self");
    for destination in [Some(SHANGHAI), Some(REGION), None] {
        let mut call = app.call("CopyImage").region().param("ImageId", &source);
        if let Some(d) = destination {
            call = call.param("DestinationRegionId", d);
        }
        call.send().await.err_msg(
            400,
            "OperationDenied.ImageCopyConflict",
            "The same image cannot be copied concurrently. Please wait until the last copy is completed before performing the next operation.",
        );
    }
    let task = task_of(&app, SHANGHAI, &copy_id).await;
    let attr = task_attribute(&app, SHANGHAI, &task).await;
    assert_eq!(attr["TaskAction"], "CopyImage");
    assert_eq!(
        attr["SupportCancel"], "false",
        "copies are cancelled with CancelCopyImage"
    );
    // The source is unaffected and, after CancelCopyImage, copyable again.
    assert_eq!(
        status_in(&app, REGION, &source).await.as_deref(),
        Some("Available")
    );
    cancel_copy(&app, SHANGHAI, &copy_id).await.ok();
    copy(&app, &source, Some(SHANGHAI)).await;
}

#[tokio::test]
async fn copy_image_name_must_be_free_in_the_target_region() {
    let app = TestApp::start();
    let (source, _) = app.available_image(Some("name-in-hangzhou")).await;
    let (_, _) = app.available_image(Some("taken-here")).await;
    let attempt = |destination: &str, name: &str| {
        app.call("CopyImage")
            .region()
            .param("ImageId", &source)
            .param("DestinationRegionId", destination)
            .param("DestinationImageName", name)
    };
    attempt(REGION, "taken-here").send().await.err_msg(
        400,
        "InvalidImageName.Duplicated",
        "The specified image name is already in use in the target region. Please try a different one.",
    );
    // The name is only taken in cn-hangzhou.
    let copy_id = str_of(&attempt(SHANGHAI, "taken-here").send().await.ok()["ImageId"]);
    cancel_copy(&app, SHANGHAI, &copy_id).await.ok();
    // A copy in progress holds its name in the target region too.
    let first = str_of(&attempt(SHANGHAI, "held-name").send().await.ok()["ImageId"]);
    let (second_source, _) = app.available_image(None).await;
    app.call("CopyImage")
        .region()
        .param("ImageId", &second_source)
        .param("DestinationRegionId", SHANGHAI)
        .param("DestinationImageName", "held-name")
        .send()
        .await
        .err(400, "InvalidImageName.Duplicated");
    cancel_copy(&app, SHANGHAI, &first).await.ok();
}

#[tokio::test]
async fn a_shared_image_is_copied_only_within_its_region_and_the_copy_is_the_callers() {
    let app = TestApp::start();
    let other = app.new_account();
    let (image, _) = app.available_image(None).await;
    share_with(&app, REGION, &image, &other).await.ok();
    app.call("CopyImage")
        .as_(&other)
        .region()
        .param("ImageId", &image)
        .param("DestinationRegionId", SHANGHAI)
        .send()
        .await
        .err_msg(
            403,
            "OperationDenied.SameRegionOnly",
            "The image shared from others can not be copied to another region directly.",
        );
    let body = app
        .call("CopyImage")
        .as_(&other)
        .region()
        .param("ImageId", &image)
        .param("DestinationRegionId", REGION)
        .send()
        .await
        .ok();
    let copy_id = str_of(&body["ImageId"]);
    let seen = app
        .call("DescribeImages")
        .as_(&other)
        .region()
        .param("ImageId", &copy_id)
        .param("Status", "ALL")
        .send()
        .await
        .ok();
    let shown = &seen["Images"]["Image"][0];
    assert_eq!(shown["ImageOwnerAlias"], "self", "{seen}");
    assert_eq!(shown["ImageOwnerId"].as_i64(), Some(other.account_id));
    assert_eq!(shown["IsCopied"], true);
    // The owner of the source neither sees nor controls the sharee's copy.
    assert_eq!(app.describe_image(&copy_id).await, None);
    cancel_copy(&app, REGION, &copy_id)
        .await
        .err(404, "InvalidImageId.NotFound");
}

#[tokio::test]
async fn copy_image_client_token_returns_the_first_copy() {
    let app = TestApp::start();
    let (source, _) = app.available_image(None).await;
    let attempt = |destination: &str| {
        app.call("CopyImage")
            .region()
            .param("ImageId", &source)
            .param("DestinationRegionId", destination)
            .param("ClientToken", "copy-token-1")
    };
    let first = attempt(SHANGHAI).send().await.ok();
    let again = attempt(SHANGHAI).send().await.ok();
    assert_eq!(first["ImageId"], again["ImageId"]);
    attempt(REGION)
        .send()
        .await
        .err(400, "IdempotenceParamNotMatch");
    let (total, _) = tasks(&app, SHANGHAI, &[]).await;
    assert_eq!(total, 1);
}

#[tokio::test]
async fn an_encrypted_copy_cannot_be_shared_or_exported() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let _workers = start_workers(&app);
    let other = app.new_account();
    let (source, _) = app.available_image(None).await;
    let body = app
        .call("CopyImage")
        .region()
        .param("ImageId", &source)
        .param("Encrypted", "True")
        .send()
        .await
        .ok();
    let encrypted = str_of(&body["ImageId"]);
    let task = task_of(&app, REGION, &encrypted).await;
    assert_eq!(
        wait_task_done(&app, REGION, &task).await["TaskStatus"],
        "Finished"
    );
    assert_eq!(
        status_in(&app, REGION, &encrypted).await.as_deref(),
        Some("Available")
    );
    share_with(&app, REGION, &encrypted, &other).await.err_msg(
        403,
        "OperationDeined.EncryptedSnapshot",
        "The image contains encrypted snapshots, which do not support share.",
    );
    app.call("ModifyImageSharePermission")
        .region()
        .param("ImageId", &encrypted)
        .param("IsPublic", "true")
        .send()
        .await
        .err(403, "OperationDeined.EncryptedSnapshot");
    let refused = app
        .call("ExportImage")
        .region()
        .param("ImageId", &encrypted)
        .param("OSSBucket", BUCKET)
        .send()
        .await
        .json();
    assert_eq!(refused["Code"], "ImageNotSupported", "{refused}");
    assert_eq!(
        refused["Message"],
        "The specified Image contains encrypted snapshots, do not support export."
    );
    // A copy of an encrypted image stays encrypted.
    let again = copy(&app, &encrypted, None).await;
    let task = task_of(&app, REGION, &again).await;
    assert_eq!(
        wait_task_done(&app, REGION, &task).await["TaskStatus"],
        "Finished"
    );
    share_with(&app, REGION, &again, &other)
        .await
        .err(403, "OperationDeined.EncryptedSnapshot");
    // The unencrypted source is still shareable.
    share_with(&app, REGION, &source, &other).await.ok();
}

#[tokio::test]
async fn exporting_an_encrypted_image_is_a_400() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let _workers = start_workers(&app);
    let (source, _) = app.available_image(None).await;
    let encrypted = str_of(
        &app.call("CopyImage")
            .region()
            .param("ImageId", &source)
            .param("Encrypted", "true")
            .send()
            .await
            .ok()["ImageId"],
    );
    let task = task_of(&app, REGION, &encrypted).await;
    assert_eq!(
        wait_task_done(&app, REGION, &task).await["TaskStatus"],
        "Finished"
    );
    app.call("ExportImage")
        .region()
        .param("ImageId", &encrypted)
        .param("OSSBucket", BUCKET)
        .send()
        .await
        .err_msg(
            400,
            "ImageNotSupported",
            "The specified Image contains encrypted snapshots, do not support export.",
        );
}

// ---- CancelCopyImage ------------------------------------------------------------------------

#[tokio::test]
async fn cancel_copy_image_removes_the_copy_and_keeps_the_source() {
    let app = TestApp::start();
    let (source, _) = app.available_image(None).await;
    let copy_id = copy(&app, &source, Some(SHANGHAI)).await;
    let task = task_of(&app, SHANGHAI, &copy_id).await;
    delete_image(&app, SHANGHAI, &copy_id).await.err_msg(
        403,
        "OperationDenied.ImageCopying",
        "The image is being copied. Please use the CancelCopyImage API.",
    );
    // RegionId is the copy's region: in the source region the copy does not exist.
    cancel_copy(&app, REGION, &copy_id)
        .await
        .err(404, "InvalidImageId.NotFound");
    // CancelTask does not cancel copies.
    cancel_task(&app, SHANGHAI, &task).await.err_msg(
        403,
        "InvalidTaskId.TaskActionNotSupport",
        "The specified task action not support.",
    );
    cancel_copy(&app, SHANGHAI, &copy_id).await.ok();
    assert_eq!(describe_in(&app, SHANGHAI, &copy_id).await, None);
    let attr = task_attribute(&app, SHANGHAI, &task).await;
    assert_eq!(attr["TaskStatus"], "Failed", "{attr}");
    assert_eq!(progress(&attr)["ErrorCode"], "Cancelled");
    assert_eq!(
        status_in(&app, REGION, &source).await.as_deref(),
        Some("Available")
    );
    cancel_copy(&app, SHANGHAI, &copy_id)
        .await
        .err(404, "InvalidImageId.NotFound");
    delete_image(&app, SHANGHAI, &copy_id).await.ok();
}

#[tokio::test]
async fn cancel_copy_image_needs_a_copy_that_is_still_running() {
    let app = TestApp::start();
    let other = app.new_account();
    let _workers = start_workers(&app);
    let (source, _) = app.available_image(None).await;
    cancel_copy(&app, REGION, &source).await.err_msg(
        400,
        "ImageCreatedNotFromCopy",
        "The specified image is not the target image of a copy action.",
    );
    for id in ["m-bp1aaaaaaaaaaaaaaaaa", X86_IMAGE] {
        cancel_copy(&app, REGION, id)
            .await
            .err(404, "InvalidImageId.NotFound");
    }
    let copy_id = copy(&app, &source, Some(SHANGHAI)).await;
    let task = task_of(&app, SHANGHAI, &copy_id).await;
    let attr = wait_task_done(&app, SHANGHAI, &task).await;
    assert_eq!(attr["TaskStatus"], "Finished", "{attr}");
    assert_eq!(
        status_in(&app, SHANGHAI, &copy_id).await.as_deref(),
        Some("Available")
    );
    cancel_copy(&app, SHANGHAI, &copy_id).await.err_msg(
        400,
        "IncorrectImageStatus",
        "The image copy has completed.",
    );
    cancel_task(&app, SHANGHAI, &task)
        .await
        .err(403, "InvalidTaskId.TaskActionNotSupport");
    // Someone else's copy does not exist for the caller.
    app.call("CancelCopyImage")
        .as_(&other)
        .param("RegionId", SHANGHAI)
        .param("ImageId", &copy_id)
        .send()
        .await
        .err(404, "InvalidImageId.NotFound");
    // The finished copy is independent: deleting the source leaves it, and vice versa.
    delete_image(&app, REGION, &source).await.ok();
    assert_eq!(
        status_in(&app, SHANGHAI, &copy_id).await.as_deref(),
        Some("Available")
    );
    delete_image(&app, SHANGHAI, &copy_id).await.ok();
}

// ---- CancelTask and task lookups -----------------------------------------------------------

#[tokio::test]
async fn task_ids_of_others_other_regions_or_nobody_are_not_found() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let other = app.new_account();
    oss.put_raw("disk.raw", 4096);
    let (_, task) = import(&app, "disk.raw", None).await;
    let not_found = "The specified \"TaskId\" is not found.";
    for (who, region, id) in [
        (&app.root, REGION, "t-bp1aaaaaaaaaaaaaaaaa"),
        (&app.root, SHANGHAI, task.as_str()),
        (&other, REGION, task.as_str()),
    ] {
        for action in ["DescribeTaskAttribute", "CancelTask"] {
            app.call(action)
                .as_(who)
                .param("RegionId", region)
                .param("TaskId", id)
                .send()
                .await
                .err_msg(400, "InvalidTaskId.NotFound", not_found);
        }
    }
    let (total, _) = tasks(&app, REGION, &[]).await;
    assert_eq!(total, 1);
    let body = app
        .call("DescribeTasks")
        .as_(&other)
        .region()
        .send()
        .await
        .ok();
    assert_eq!(body["TotalCount"], 0, "another account sees none: {body}");
    // The task is still open: neither lookup touched it.
    let attr = task_attribute(&app, REGION, &task).await;
    assert_eq!(attr["SupportCancel"], "true");
}

#[tokio::test]
async fn cancel_task_on_finished_tasks_is_an_incorrect_status() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let _workers = start_workers(&app);
    oss.put_raw("disk.raw", 64 * 1024);
    let (image, import_task) = import(&app, "disk.raw", None).await;
    assert_eq!(
        wait_task_done(&app, REGION, &import_task).await["TaskStatus"],
        "Finished"
    );
    let export_task = export(&app, &image, None).await;
    assert_eq!(
        wait_task_done(&app, REGION, &export_task).await["TaskStatus"],
        "Finished"
    );
    for task in [&import_task, &export_task] {
        cancel_task(&app, REGION, task).await.err_msg(
            403,
            "InvalidTaskId.IncorrectTaskStatus",
            "The specified task status is not invalid.",
        );
    }
    // Finished tasks changed nothing by being "cancelled".
    assert_eq!(
        status_in(&app, REGION, &image).await.as_deref(),
        Some("Available")
    );
    assert!(
        oss.bucket()
            .join(format!("{image}_system.raw.tar.gz"))
            .is_file()
    );
}

#[tokio::test]
async fn describe_tasks_filters_and_pages() {
    let oss = Oss::new();
    let app = app_with(&oss);
    oss.put_raw("disk.raw", 4096);
    let t0 = app.now();
    let (image_a, import_a) = import(&app, "disk.raw", None).await;
    app.clock.advance(3_600_000);
    let (_image_b, import_b) = import(&app, "disk.raw", None).await;
    app.clock.advance(3_600_000);
    let (exported, _) = app.available_image(None).await;
    let export_c = export(&app, &exported, None).await;
    app.clock.advance(3_600_000);
    let (_image_d, import_d) = import(&app, "disk.raw", None).await;
    cancel_task(&app, REGION, &import_d).await.ok();
    // A copy task lives in its destination region.
    let copy_id = copy(&app, &exported, Some(SHANGHAI)).await;

    let (total, list) = tasks(&app, REGION, &[]).await;
    assert_eq!(total, 4);
    assert_eq!(
        task_ids(&list),
        vec![
            import_d.clone(),
            export_c.clone(),
            import_b.clone(),
            import_a.clone()
        ],
        "newest first"
    );
    for t in &list {
        for field in [
            "TaskId",
            "TaskAction",
            "TaskStatus",
            "SupportCancel",
            "CreationTime",
            "FinishedTime",
            "ResourceId",
        ] {
            assert!(t[field].is_string(), "{field} is a string: {t}");
        }
        assert_task_time(&t["CreationTime"]);
    }
    let (_, only) = tasks(
        &app,
        REGION,
        &[("TaskIds", &format!("{import_a},{export_c}"))],
    )
    .await;
    assert_eq!(task_ids(&only), vec![export_c.clone(), import_a.clone()]);
    let (_, imports) = tasks(&app, REGION, &[("TaskAction", "ImportImage")]).await;
    assert_eq!(
        task_ids(&imports),
        vec![import_d.clone(), import_b.clone(), import_a.clone()]
    );
    let (_, exports) = tasks(&app, REGION, &[("TaskAction", "ExportImage")]).await;
    assert_eq!(task_ids(&exports), vec![export_c.clone()]);
    let (n, _) = tasks(&app, REGION, &[("TaskAction", "RedeployInstance")]).await;
    assert_eq!(n, 0, "an action ecsim never runs matches nothing");
    let (_, failed) = tasks(&app, REGION, &[("TaskStatus", "Failed")]).await;
    assert_eq!(task_ids(&failed), vec![import_d.clone()]);
    assert_eq!(failed[0]["SupportCancel"], "false");
    assert_task_time(&failed[0]["FinishedTime"]);
    let (n, _) = tasks(&app, REGION, &[("TaskStatus", "Finished")]).await;
    assert_eq!(n, 0);
    let (n, _) = tasks(&app, REGION, &[("TaskStatus", "Exploded")]).await;
    assert_eq!(n, 4, "unknown statuses are ignored");
    let (_, by_resource) = tasks(
        &app,
        REGION,
        &[("ResourceIds.1", &image_a), ("ResourceIds.2", &exported)],
    )
    .await;
    assert_eq!(
        task_ids(&by_resource),
        vec![export_c.clone(), import_a.clone()]
    );
    // StartTime/EndTime: a creation-time window.
    let (_, window) = tasks(
        &app,
        REGION,
        &[
            ("StartTime", &format_time(t0 + 1_800_000)),
            ("EndTime", &format_time(t0 + 3 * 3_600_000 - 60_000)),
        ],
    )
    .await;
    assert_eq!(task_ids(&window), vec![export_c.clone(), import_b.clone()]);
    // Paging.
    let body = app
        .call("DescribeTasks")
        .region()
        .param("PageSize", "3")
        .param("PageNumber", "2")
        .send()
        .await
        .ok();
    assert_eq!(body["TotalCount"], 4);
    assert_eq!(body["PageNumber"], 2);
    assert_eq!(body["PageSize"], 3);
    let page: Vec<Value> = body["TaskSet"]["Task"].as_array().expect("array").clone();
    assert_eq!(task_ids(&page), vec![import_a.clone()]);
    let (_, defaults) = tasks(&app, REGION, &[]).await;
    assert_eq!(defaults.len(), 4);
    let too_many = (0..101)
        .map(|i| format!("t-{i}"))
        .collect::<Vec<_>>()
        .join(",");
    app.call("DescribeTasks")
        .region()
        .param("TaskIds", &too_many)
        .send()
        .await
        .err(400, "InvalidParameter");
    // The copy's task is in cn-shanghai.
    let (_, shanghai) = tasks(&app, SHANGHAI, &[]).await;
    assert_eq!(shanghai.len(), 1);
    assert_eq!(shanghai[0]["ResourceId"], copy_id.as_str());
    assert_eq!(shanghai[0]["TaskAction"], "CopyImage");
}

// ---- DeleteImage blockers and their order (spec §3.1) ---------------------------------------

#[tokio::test]
async fn delete_image_blockers_of_running_tasks() {
    let oss = Oss::new();
    let app = app_with(&oss);
    oss.put_raw("disk.raw", 4096);
    // Importing: the image is Waiting, yet the code is ImageIsImporting, not ImageIsCreating.
    let (importing, import_task) = import(&app, "disk.raw", None).await;
    for force in ["false", "true"] {
        app.call("DeleteImage")
            .region()
            .param("ImageId", &importing)
            .param("Force", force)
            .send()
            .await
            .err_msg(403, "ImageIsImporting", "The specified Image is importing.");
    }
    // Copying: the copy is Creating, yet the code is OperationDenied.ImageCopying.
    let (source, _) = app.available_image(None).await;
    let copy_id = copy(&app, &source, None).await;
    delete_image(&app, REGION, &copy_id)
        .await
        .err(403, "OperationDenied.ImageCopying");
    // The source of a running copy is not the copy.
    // Exporting.
    let (exporting, _) = app.available_image(None).await;
    let export_task = export(&app, &exporting, None).await;
    for force in ["false", "true"] {
        app.call("DeleteImage")
            .region()
            .param("ImageId", &exporting)
            .param("Force", force)
            .send()
            .await
            .err_msg(
                403,
                "ImageIsExporting",
                "The specified image is currently being exported. You can use the DescribeTasks API to check the status of related tasks and cancel them if needed.",
            );
    }
    // Once the tasks end, nothing blocks any more.
    cancel_task(&app, REGION, &import_task).await.ok();
    cancel_task(&app, REGION, &export_task).await.ok();
    cancel_copy(&app, REGION, &copy_id).await.ok();
    delete_image(&app, REGION, &exporting).await.ok();
    // Cancelled import and copy: their images are already gone (tombstones: deleting again
    // is ignored, as for any image the account deleted).
    delete_image(&app, REGION, &importing).await.ok();
    delete_image(&app, REGION, &copy_id).await.ok();
}

#[tokio::test]
async fn delete_image_checks_public_then_exporting_then_shared_then_instances() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let other = app.new_account();
    let (image, _) = app.available_image(None).await;
    // Used by an instance and shared, then exported, then published.
    app.run_instance(&image).await;
    share_with(&app, REGION, &image, &other).await.ok();
    let task = export(&app, &image, None).await;
    app.call("ModifyImageSharePermission")
        .region()
        .param("ImageId", &image)
        .param("RemoveAccount.1", &other.account_id.to_string())
        .send()
        .await
        .ok();
    publish(&app, &image).await;
    let delete = |force: &'static str| {
        app.call("DeleteImage")
            .region()
            .param("ImageId", &image)
            .param("Force", force)
    };
    // public > exporting
    delete("true").send().await.err(403, "ImageIsPublic");
    app.call("ModifyImageSharePermission")
        .region()
        .param("ImageId", &image)
        .param("IsPublic", "false")
        .send()
        .await
        .ok();
    share_with(&app, REGION, &image, &other).await.ok();
    // exporting > shared > used by instances (even with Force)
    delete("true").send().await.err(403, "ImageIsExporting");
    delete("false").send().await.err(403, "ImageIsExporting");
    cancel_task(&app, REGION, &task).await.ok();
    delete("true").send().await.err(403, "ImageUseShared");
    app.call("ModifyImageSharePermission")
        .region()
        .param("ImageId", &image)
        .param("RemoveAccount.1", &other.account_id.to_string())
        .send()
        .await
        .ok();
    delete("false")
        .send()
        .await
        .err(403, "ImageUsingByInstance");
    delete("true").send().await.ok();
}

#[tokio::test]
async fn a_copy_carries_its_tags_and_a_cancelled_copy_loses_them() {
    let app = TestApp::start();
    let (source, _) = app.available_image(None).await;
    let body = app
        .call("CopyImage")
        .region()
        .param("ImageId", &source)
        .param("DestinationRegionId", SHANGHAI)
        .param("Tag.1.Key", "stage")
        .param("Tag.1.Value", "copy")
        .send()
        .await
        .ok();
    let copy_id = str_of(&body["ImageId"]);
    assert_eq!(
        tagged_images(&app, SHANGHAI, "stage").await,
        vec![copy_id.clone()]
    );
    assert_eq!(
        tagged_images(&app, REGION, "stage").await,
        Vec::<String>::new()
    );
    let task = task_of(&app, SHANGHAI, &copy_id).await;
    let attr = task_attribute(&app, SHANGHAI, &task).await;
    assert_eq!(
        related(&attr),
        vec![
            ("SourceRegionId".to_string(), REGION.to_string()),
            ("SourceImageId".to_string(), source.clone()),
        ]
    );
    cancel_copy(&app, SHANGHAI, &copy_id).await.ok();
    assert_eq!(
        tagged_images(&app, SHANGHAI, "stage").await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn deleting_the_source_of_a_queued_copy_does_not_break_the_copy() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let (source, _) = app.available_image(None).await;
    let copy_id = copy(&app, &source, Some(SHANGHAI)).await;
    // Copies and sources are independent (spec §3.1): the source can go while the copy waits.
    delete_image(&app, REGION, &source).await.ok();
    let _workers = start_workers(&app);
    let task = task_of(&app, SHANGHAI, &copy_id).await;
    let attr = wait_task_done(&app, SHANGHAI, &task).await;
    assert_eq!(attr["TaskStatus"], "Finished", "{attr}");
    assert_eq!(
        status_in(&app, SHANGHAI, &copy_id).await.as_deref(),
        Some("Available")
    );
    // And the copy has the bytes: its raw export is the source's 8 MiB disk.
    let export_task = app
        .call("ExportImage")
        .param("RegionId", SHANGHAI)
        .param("ImageId", &copy_id)
        .param("OSSBucket", BUCKET)
        .send()
        .await
        .ok()["TaskId"]
        .clone();
    assert_eq!(
        wait_task_done(&app, SHANGHAI, &str_of(&export_task)).await["TaskStatus"],
        "Finished"
    );
    let raw = oss.raw_export(&format!("{copy_id}_system.raw"));
    assert_eq!(raw.len(), 8 * MIB);
    assert!(raw.starts_with(b"ecsim system image"));
}

#[tokio::test]
async fn images_of_open_imports_and_copies_do_not_claim_100_percent() {
    let oss = Oss::new();
    let app = app_with(&oss);
    oss.put_raw("disk.raw", 4096);
    let (imported, _) = import(&app, "disk.raw", None).await;
    let (source, _) = app.available_image(None).await;
    let copied = copy(&app, &source, None).await;
    for image in [imported, copied] {
        let shown = app.describe_image(&image).await.expect("listed");
        assert!(
            matches!(shown["Status"].as_str(), Some("Waiting" | "Creating")),
            "{shown}"
        );
        assert_ne!(shown["Progress"], "100%", "{shown}");
        assert_ne!(
            shown["DiskDeviceMappings"]["DiskDeviceMapping"][0]["Progress"], "100%",
            "{shown}"
        );
    }
}

#[tokio::test]
async fn import_image_checks_the_data_disk_objects_too() {
    let oss = Oss::new();
    let app = app_with(&oss);
    oss.put_raw("system.raw", 4096);
    app.call("ImportImage")
        .region()
        .param("DiskDeviceMapping.1.OSSBucket", BUCKET)
        .param("DiskDeviceMapping.1.OSSObject", "system.raw")
        .param("DiskDeviceMapping.2.OSSBucket", BUCKET)
        .param("DiskDeviceMapping.2.OSSObject", "no-such-data.raw")
        .send()
        .await
        .err(400, "InvalidOSSObject.NotFound");
}

/// ImportImage of the bucket's `system.raw` with `data.raw` as its data disk; the response.
async fn import_system_and_data(app: &TestApp) -> Value {
    app.call("ImportImage")
        .region()
        .param("DiskDeviceMapping.1.OSSBucket", BUCKET)
        .param("DiskDeviceMapping.1.OSSObject", "system.raw")
        .param("DiskDeviceMapping.2.OSSBucket", BUCKET)
        .param("DiskDeviceMapping.2.OSSObject", "data.raw")
        .send()
        .await
        .ok()
}

#[tokio::test]
async fn import_image_with_a_data_disk_makes_a_two_disk_image() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let _workers = start_workers(&app);
    oss.put_raw("system.raw", 4096);
    oss.put_raw("data.raw", 8192);
    let body = import_system_and_data(&app).await;
    let task = str_of(&body["TaskId"]);
    assert_eq!(
        wait_task_done(&app, REGION, &task).await["TaskStatus"],
        "Finished"
    );
    let shown = app
        .describe_image(&str_of(&body["ImageId"]))
        .await
        .expect("listed");
    let mappings = shown["DiskDeviceMappings"]["DiskDeviceMapping"]
        .as_array()
        .expect("array");
    let kinds: Vec<(String, String)> = mappings
        .iter()
        .map(|m| (str_of(&m["Type"]), str_of(&m["ImportOSSObject"])))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("system".to_string(), "system.raw".to_string()),
            ("data".to_string(), "data.raw".to_string()),
        ],
        "{shown}"
    );
}

/// ECS writes one object per disk: `{prefix}_{image}_system.raw.tar.gz` and, for a data disk
/// mounted at /dev/xvdb, `{prefix}_{image}_data_xvdb.raw.tar.gz`; each holds its disk's bytes.
#[tokio::test]
async fn exports_write_each_data_disk_as_its_own_object() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let _workers = start_workers(&app);
    let system = std::fs::read(oss.put_raw("system.raw", 4096)).expect("system");
    let data: Vec<u8> = (0..12_288u32).map(|i| (i % 199) as u8).collect();
    oss.put("data.raw", &data);
    let body = import_system_and_data(&app).await;
    let image = str_of(&body["ImageId"]);
    assert_eq!(
        wait_task_done(&app, REGION, &str_of(&body["TaskId"])).await["TaskStatus"],
        "Finished"
    );
    let task = app
        .call("ExportImage")
        .region()
        .param("ImageId", &image)
        .param("OSSBucket", BUCKET)
        .param("OSSPrefix", "bak")
        .send()
        .await
        .ok()["TaskId"]
        .clone();
    let attr = wait_task_done(&app, REGION, &str_of(&task)).await;
    assert_eq!(attr["TaskStatus"], "Finished", "{attr}");
    assert_eq!(
        related(&attr),
        vec![
            ("OSSBucket".to_string(), BUCKET.to_string()),
            (
                "OSSObject".to_string(),
                format!("bak_{image}_system.raw.tar.gz")
            ),
            (
                "OSSObject".to_string(),
                format!("bak_{image}_data_xvdb.raw.tar.gz")
            ),
            ("ImageFormat".to_string(), "RAW".to_string()),
        ]
    );
    assert_eq!(oss.raw_export(&format!("bak_{image}_system.raw")), system);
    assert_eq!(oss.raw_export(&format!("bak_{image}_data_xvdb.raw")), data);
    // Other formats are plain disk files, one per disk too.
    let task = app
        .call("ExportImage")
        .region()
        .param("ImageId", &image)
        .param("OSSBucket", BUCKET)
        .param("ImageFormat", "qcow2")
        .send()
        .await
        .ok()["TaskId"]
        .clone();
    let attr = wait_task_done(&app, REGION, &str_of(&task)).await;
    assert_eq!(attr["TaskStatus"], "Finished", "{attr}");
    for disk in ["system", "data_xvdb"] {
        let bytes = std::fs::read(oss.bucket().join(format!("{image}_{disk}.qcow2")))
            .unwrap_or_else(|e| panic!("{disk}: {e}"));
        assert_eq!(&bytes[..4], b"QFI\xfb", "{disk} is qcow2");
    }
}

#[tokio::test]
async fn import_image_without_mapping_one_is_missing_the_system_disk() {
    let oss = Oss::new();
    let app = app_with(&oss);
    oss.put_raw("disk.raw", 4096);
    app.call("ImportImage")
        .region()
        .param("DiskDeviceMapping.2.OSSBucket", BUCKET)
        .param("DiskDeviceMapping.2.OSSObject", "disk.raw")
        .send()
        .await
        .err_msg(
            400,
            "MissingParameter",
            "An input parameter \"DiskDeviceMapping.1.OSSBucket\" that is mandatory for processing the request is not supplied.",
        );
}

/// Whether the image's bytes are still stored.
fn has_bytes(app: &TestApp, region: &str, image: &str) -> bool {
    let id = ecsim_blob::BlobId::new(region, image).expect("a valid blob id");
    match app.state.blobs.size(&id) {
        Ok(_) => true,
        Err(ecsim_blob::BlobError::NotFound(_)) => false,
        Err(e) => panic!("blob store failed: {e}"),
    }
}

/// Waits until the image's bytes are gone. They are released right after the commit that drops
/// the last reference, so a caller that saw that commit may still be a moment early.
async fn wait_bytes_gone(app: &TestApp, region: &str, image: &str, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while has_bytes(app, region, image) {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn force_deleted_image_bytes_live_until_the_last_instance_is_deleted() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let _workers = start_workers(&app);
    oss.put_raw("disk.raw", 2 * MIB);
    let (image, task) = import(&app, "disk.raw", None).await;
    assert_eq!(
        wait_task_done(&app, REGION, &task).await["TaskStatus"],
        "Finished"
    );
    let first = app.run_instance(&image).await;
    let second = app.run_instance(&image).await;
    let third = app.run_instance(&image).await;
    app.call("DeleteImage")
        .region()
        .param("ImageId", &image)
        .param("Force", "true")
        .send()
        .await
        .ok();
    assert!(app.describe_image(&image).await.is_none());
    assert!(
        has_bytes(&app, REGION, &image),
        "instances still run from it"
    );
    app.call("DeleteInstance")
        .param("InstanceId", &first)
        .param("Force", "true")
        .send()
        .await
        .ok();
    assert!(
        has_bytes(&app, REGION, &image),
        "two instances still run from it"
    );
    app.call("DeleteInstances")
        .region()
        .param("InstanceId.1", &second)
        .param("InstanceId.2", &third)
        .param("Force", "true")
        .send()
        .await
        .ok();
    assert!(
        !has_bytes(&app, REGION, &image),
        "the last instance took the bytes along"
    );
}

#[tokio::test]
async fn a_live_image_keeps_its_bytes_when_its_instances_go() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let _workers = start_workers(&app);
    oss.put_raw("disk.raw", MIB);
    let (image, task) = import(&app, "disk.raw", None).await;
    assert_eq!(
        wait_task_done(&app, REGION, &task).await["TaskStatus"],
        "Finished"
    );
    let instance = app.run_instance(&image).await;
    app.call("DeleteInstance")
        .param("InstanceId", &instance)
        .param("Force", "true")
        .send()
        .await
        .ok();
    assert!(has_bytes(&app, REGION, &image), "the image is not deleted");
    delete_image(&app, REGION, &image).await.ok();
    assert!(
        !has_bytes(&app, REGION, &image),
        "no instance, no copy: freed at once"
    );
}

#[tokio::test]
async fn a_deleted_copy_source_keeps_its_bytes_until_the_copy_ends() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let workers = start_workers(&app);
    oss.put_raw("disk.raw", 2 * MIB);
    let (image, task) = import(&app, "disk.raw", None).await;
    assert_eq!(
        wait_task_done(&app, REGION, &task).await["TaskStatus"],
        "Finished"
    );
    drop(workers);
    // No workers: the copy stays queued while its source is deleted.
    let copy_id = copy(&app, &image, Some(SHANGHAI)).await;
    delete_image(&app, REGION, &image).await.ok();
    assert!(
        has_bytes(&app, REGION, &image),
        "the queued copy still reads them"
    );
    let _workers = start_workers(&app);
    let copy_task = task_of(&app, SHANGHAI, &copy_id).await;
    assert_eq!(
        wait_task_done(&app, SHANGHAI, &copy_task).await["TaskStatus"],
        "Finished"
    );
    assert!(has_bytes(&app, SHANGHAI, &copy_id));
    wait_bytes_gone(&app, REGION, &image, "freed when the copy ended").await;
}

#[tokio::test]
async fn a_role_name_must_be_an_existing_ram_role_of_the_account() {
    use crate::ram::{Who, ram};
    let oss = Oss::new();
    let app = app_with(&oss);
    oss.put_raw("disk.raw", MIB);
    let import_as = |role: &'static str| {
        app.call("ImportImage")
            .region()
            .param("DiskDeviceMapping.1.OSSBucket", BUCKET)
            .param("DiskDeviceMapping.1.OSSObject", "disk.raw")
            .param("RoleName", role)
    };
    let body = import_as("NoSuchRole")
        .send()
        .await
        .err(403, "NoSetRoletoECSServiceAcount");
    assert_eq!(
        body["Message"],
        "ECS service account Have no right to access your OSS.please attach a role of access your oss to ECS service account."
    );
    let trust = serde_json::json!({"Version": "1", "Statement": [{"Effect": "Allow",
        "Action": "sts:AssumeRole", "Principal": {"Service": ["ecs.aliyuncs.com"]}}]})
    .to_string();
    ram(&app, &Who::root(&app), "CreateRole")
        .param("RoleName", "ImageImporter")
        .param("AssumeRolePolicyDocument", &trust)
        .ok()
        .await;
    let body = import_as("ImageImporter").send().await.ok();
    let image = str_of(&body["ImageId"]);
    assert!(image.starts_with("m-"), "{body}");
    // Without RoleName the default role is taken as authorized.
    import(&app, "disk.raw", None).await;
    // ExportImage checks its RoleName the same way (before looking at the image).
    app.call("ExportImage")
        .region()
        .param("ImageId", &image)
        .param("OSSBucket", BUCKET)
        .param("RoleName", "NoSuchRole")
        .send()
        .await
        .err(403, "NoSetRoletoECSServiceAcount");
}

#[tokio::test]
async fn a_progressing_snapshot_keeps_a_force_deleted_images_bytes_until_it_is_done() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let _workers = start_workers(&app);
    oss.put_raw("disk.raw", 2 * MIB);
    let (image, task) = import(&app, "disk.raw", None).await;
    assert_eq!(
        wait_task_done(&app, REGION, &task).await["TaskStatus"],
        "Finished"
    );
    let instance = app.run_instance(&image).await;
    let disk = app.system_disk(&instance).await;
    let snapshot = app.create_snapshot(&disk).await;
    app.call("DeleteImage")
        .region()
        .param("ImageId", &image)
        .param("Force", "true")
        .send()
        .await
        .ok();
    app.call("DeleteInstance")
        .param("InstanceId", &instance)
        .param("Force", "true")
        .send()
        .await
        .ok();
    assert!(
        has_bytes(&app, REGION, &image),
        "the progressing snapshot still has to clone them"
    );
    app.finish_creations().await;
    assert!(
        has_bytes(&app, REGION, &snapshot),
        "the snapshot got its bytes"
    );
    wait_bytes_gone(&app, REGION, &image, "then the image's went").await;
}

#[tokio::test]
async fn delete_image_leaves_the_bytes_to_a_progressing_snapshot() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let _workers = start_workers(&app);
    oss.put_raw("disk.raw", MIB);
    let (image, task) = import(&app, "disk.raw", None).await;
    assert_eq!(
        wait_task_done(&app, REGION, &task).await["TaskStatus"],
        "Finished"
    );
    let instance = app.run_instance(&image).await;
    let disk = app.system_disk(&instance).await;
    let snapshot = app.create_snapshot(&disk).await;
    app.call("DeleteInstance")
        .param("InstanceId", &instance)
        .param("Force", "true")
        .send()
        .await
        .ok();
    assert!(has_bytes(&app, REGION, &image), "the image is not deleted");
    delete_image(&app, REGION, &image).await.ok();
    assert!(
        has_bytes(&app, REGION, &image),
        "the snapshot still clones them"
    );
    app.finish_creations().await;
    wait_bytes_gone(
        &app,
        REGION,
        &image,
        "the image's bytes outlived its last reader",
    )
    .await;
    assert!(has_bytes(&app, REGION, &snapshot));
}

/// Runs `qemu-img` with `args` in the bucket directory; panics when it fails.
fn qemu_img(oss: &Oss, args: &[&str]) {
    let out = std::process::Command::new("qemu-img")
        .args(args)
        .current_dir(oss.bucket())
        .output()
        .expect("qemu-img runs");
    assert!(
        out.status.success(),
        "qemu-img {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The bytes stored under blob `region/key`, or `None` when there is no such blob.
fn blob_bytes(app: &TestApp, region: &str, key: &str) -> Option<Vec<u8>> {
    let id = ecsim_blob::BlobId::new(region, key).expect("a valid blob id");
    match app.state.blobs.open(&id) {
        Ok(mut r) => {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut r, &mut bytes).expect("the blob reads");
            Some(bytes)
        }
        Err(ecsim_blob::BlobError::NotFound(_)) => None,
        Err(e) => panic!("blob store failed: {e}"),
    }
}

/// ImportImage of `system.raw` plus data disks `(object, declared format)` as mappings 2…;
/// returns the image and task ids.
async fn import_with_data(app: &TestApp, data: &[(&str, Option<&str>)]) -> (String, String) {
    let mut call = app
        .call("ImportImage")
        .region()
        .param("DiskDeviceMapping.1.OSSBucket", BUCKET)
        .param("DiskDeviceMapping.1.OSSObject", "system.raw");
    for (n, (object, format)) in data.iter().enumerate() {
        let prefix = format!("DiskDeviceMapping.{}", n + 2);
        call = call
            .param(&format!("{prefix}.OSSBucket"), BUCKET)
            .param(&format!("{prefix}.OSSObject"), object);
        if let Some(f) = format {
            call = call.param(&format!("{prefix}.Format"), f);
        }
    }
    let body = call.send().await.ok();
    (str_of(&body["ImageId"]), str_of(&body["TaskId"]))
}

#[tokio::test]
async fn an_import_writes_every_data_disks_bytes_into_its_own_blob() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let _workers = start_workers(&app);
    let system = oss.put_raw("system.raw", 3 * MIB);
    oss.put_raw("data-src.raw", 2 * MIB);
    qemu_img(
        &oss,
        &[
            "convert",
            "-f",
            "raw",
            "-O",
            "qcow2",
            "data-src.raw",
            "data.qcow2",
        ],
    );
    let data_raw = oss.put_raw("more.raw", MIB + 4096);
    let (image, task) =
        import_with_data(&app, &[("data.qcow2", Some("QCOW2")), ("more.raw", None)]).await;
    let attr = wait_task_done(&app, REGION, &task).await;
    assert_eq!(attr["TaskStatus"], "Finished", "{attr}");
    // Progress counted every disk's bytes.
    let stored = app
        .state
        .store
        .read(|tx| Ok(tx.task(&task)?))
        .expect("the store reads")
        .expect("the task is stored");
    let qcow2 = std::fs::read(oss.bucket().join("data.qcow2")).expect("the object reads");
    let sources = [
        (image.clone(), std::fs::read(&system).expect("reads")),
        (format!("{image}.disk1"), qcow2),
        (
            format!("{image}.disk2"),
            std::fs::read(&data_raw).expect("reads"),
        ),
    ];
    let total: usize = sources.iter().map(|(_, b)| b.len()).sum();
    assert_eq!(stored.bytes_total, total as u64);
    assert_eq!(stored.bytes_done, stored.bytes_total);
    // Each disk's blob holds exactly its object's bytes, and their checksum is recorded.
    let recorded = app
        .state
        .store
        .read(|tx| Ok(tx.image(REGION, &image)?))
        .expect("the store reads")
        .expect("the image is stored");
    for (position, (key, bytes)) in sources.iter().enumerate() {
        let blob = blob_bytes(&app, REGION, key).unwrap_or_else(|| panic!("blob {key}"));
        assert!(blob == *bytes, "blob {key} holds its object's bytes");
        let id = ecsim_blob::BlobId::new(REGION, key).expect("a valid blob id");
        let sum = app
            .state
            .blobs
            .checksum(&id, ecsim_blob::Algorithm::DEFAULT)
            .expect("the blob hashes");
        let recorded_sum = if position == 0 {
            recorded.blob_sha256.clone()
        } else {
            recorded.disk_mappings[position].blob_sha256.clone()
        };
        assert_eq!(recorded_sum.as_deref(), Some(sum.as_str()), "{key}");
    }
    let shown = app.describe_image(&image).await.expect("listed");
    let mappings = shown["DiskDeviceMappings"]["DiskDeviceMapping"]
        .as_array()
        .expect("array");
    let seen: Vec<(String, String, String, String, String)> = mappings
        .iter()
        .map(|m| {
            (
                str_of(&m["Type"]),
                str_of(&m["Format"]),
                str_of(&m["ImportOSSObject"]),
                str_of(&m["Size"]),
                str_of(&m["Progress"]),
            )
        })
        .collect();
    let row = |kind: &str, format: &str, object: &str| {
        (
            kind.to_string(),
            format.to_string(),
            object.to_string(),
            "1".to_string(),
            "100%".to_string(),
        )
    };
    assert_eq!(
        seen,
        vec![
            row("system", "RAW", "system.raw"),
            row("data", "QCOW2", "data.qcow2"),
            row("data", "RAW", "more.raw"),
        ],
        "{shown}"
    );
    // A copy clones every disk's bytes; deleting either image frees all of its blobs only.
    let copy_id = copy(&app, &image, Some(SHANGHAI)).await;
    let copy_task = task_of(&app, SHANGHAI, &copy_id).await;
    assert_eq!(
        wait_task_done(&app, SHANGHAI, &copy_task).await["TaskStatus"],
        "Finished"
    );
    for (position, (_, bytes)) in sources.iter().enumerate() {
        let key = if position == 0 {
            copy_id.clone()
        } else {
            format!("{copy_id}.disk{position}")
        };
        let blob = blob_bytes(&app, SHANGHAI, &key).unwrap_or_else(|| panic!("blob {key}"));
        assert!(
            blob == *bytes,
            "the copy's blob {key} holds the source's bytes"
        );
    }
    delete_image(&app, REGION, &image).await.ok();
    for (key, _) in &sources {
        wait_bytes_gone(&app, REGION, key, "DeleteImage frees every disk's bytes").await;
    }
    assert!(has_bytes(&app, SHANGHAI, &format!("{copy_id}.disk2")));
    delete_image(&app, SHANGHAI, &copy_id).await.ok();
    for position in 0..3 {
        let key = if position == 0 {
            copy_id.clone()
        } else {
            format!("{copy_id}.disk{position}")
        };
        wait_bytes_gone(&app, SHANGHAI, &key, "the copy's bytes go with it").await;
    }
}

#[tokio::test]
async fn a_hostile_data_disk_fails_the_import_and_leaves_a_deletable_image() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let _workers = start_workers(&app);
    oss.put_raw("system.raw", MIB);
    oss.put_raw("base.raw", MIB);
    qemu_img(
        &oss,
        &[
            "create",
            "-f",
            "qcow2",
            "-b",
            "base.raw",
            "-F",
            "raw",
            "backed.qcow2",
        ],
    );
    oss.put_raw("plain.raw", MIB);
    for (object, declared) in [("backed.qcow2", Some("QCOW2")), ("plain.raw", Some("VHD"))] {
        let (image, task) = import_with_data(&app, &[(object, declared)]).await;
        let attr = wait_task_done(&app, REGION, &task).await;
        assert_eq!(attr["TaskStatus"], "Failed", "{object}: {attr}");
        assert_eq!(
            progress(&attr)["ErrorCode"],
            "InvalidImageFormat.Malformed",
            "{attr}"
        );
        let message = str_of(&progress(&attr)["ErrorMsg"]);
        assert!(message.contains(object), "names the data disk: {attr}");
        assert!(!message.contains(env!("CARGO_TARGET_TMPDIR")), "{attr}");
        assert_eq!(
            status_in(&app, REGION, &image).await.as_deref(),
            Some("CreateFailed")
        );
        delete_image(&app, REGION, &image).await.ok();
        assert_eq!(app.describe_image(&image).await, None);
        for key in [image.clone(), format!("{image}.disk1")] {
            wait_bytes_gone(&app, REGION, &key, "no bytes are left behind").await;
        }
    }
}

#[tokio::test]
async fn cancelling_an_import_while_a_data_disk_moves_frees_every_disks_bytes() {
    let oss = Oss::new();
    let root = oss.root.clone();
    let app = TestApp::with_settings(move |s| {
        s.oss_root = Some(root);
        s.task_bytes_per_second = std::num::NonZeroU64::new(MIB as u64);
    });
    let _workers = start_workers(&app);
    oss.put_raw("system.raw", 4096);
    oss.put_raw("data.raw", 8 * MIB);
    let (image, task) = import_with_data(&app, &[("data.raw", None)]).await;
    // Past the system disk's bytes: the data disk is moving.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stored = app
            .state
            .store
            .read(|tx| Ok(tx.task(&task)?))
            .expect("the store reads")
            .expect("the task is stored");
        if stored.bytes_done > 4096 {
            assert_eq!(stored.bytes_total, 4096 + 8 * MIB as u64, "all disks count");
            assert!(stored.bytes_done < stored.bytes_total, "still moving");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the data disk never moved"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        has_bytes(&app, REGION, &image),
        "the system disk is written"
    );
    cancel_task(&app, REGION, &task).await.ok();
    assert_eq!(app.describe_image(&image).await, None);
    for key in [image.clone(), format!("{image}.disk1")] {
        wait_bytes_gone(&app, REGION, &key, "a cancelled import leaves no bytes").await;
    }
    let attr = task_attribute(&app, REGION, &task).await;
    assert_eq!(progress(&attr)["ErrorCode"], "Cancelled", "{attr}");
}

/// The checksum new recordings use (BLAKE3) of blob `region/key`, read from its bytes (not the
/// recorded one).
fn blob_sum(app: &TestApp, region: &str, key: &str) -> String {
    blob_sum_by(app, region, key, ecsim_blob::Algorithm::DEFAULT)
}

fn blob_sum_by(app: &TestApp, region: &str, key: &str, algorithm: ecsim_blob::Algorithm) -> String {
    let id = ecsim_blob::BlobId::new(region, key).expect("a valid blob id");
    app.state
        .blobs
        .checksum(&id, algorithm)
        .expect("the blob hashes")
}

fn stored_image(app: &TestApp, region: &str, image: &str) -> ecsim_core::model::Image {
    app.state
        .store
        .read(|tx| Ok(tx.image(region, image)?))
        .expect("the store reads")
        .expect("the image is stored")
}

fn stored_snapshot(app: &TestApp, id: &str) -> ecsim_core::model::Snapshot {
    app.state
        .store
        .read(|tx| Ok(tx.snapshot(id)?))
        .expect("the store reads")
        .expect("the snapshot is stored")
}

/// CreateImage from an instance records, where the bytes are written, the checksum of what was
/// written: the system image's stand-in on its row, the snapshot's and the image's clones on
/// theirs. Each must be the checksum of the bytes actually stored, since later clones and copies
/// take it instead of reading them again.
#[tokio::test]
async fn creations_record_the_checksum_of_the_bytes_they_clone() {
    let app = TestApp::start();
    let (image, _) = app.available_image(None).await;
    let system = stored_image(&app, REGION, X86_IMAGE);
    assert_eq!(
        system.blob_sha256.as_deref(),
        Some(blob_sum(&app, REGION, X86_IMAGE).as_str()),
        "the stand-in's checksum is recorded on the system image"
    );
    let made = stored_image(&app, REGION, &image);
    let snapshot_id = made.disk_mappings[0]
        .snapshot_id
        .clone()
        .expect("the system disk has a snapshot");
    let snapshot = stored_snapshot(&app, &snapshot_id);
    assert_eq!(
        snapshot.blob_sha256.as_deref(),
        Some(blob_sum(&app, REGION, &snapshot_id).as_str())
    );
    assert_eq!(
        made.blob_sha256.as_deref(),
        Some(blob_sum(&app, REGION, &image).as_str())
    );
    assert_eq!(made.blob_sha256, system.blob_sha256, "the same bytes");
    // A second burst of creations from one instance, completed in one round.
    let instance = app.run_instance(X86_IMAGE).await;
    let mut images = Vec::new();
    for _ in 0..3 {
        images.push(app.create_image_from(&instance, None).await);
    }
    app.finish_creations().await;
    for image in &images {
        let made = stored_image(&app, REGION, image);
        assert_eq!(made.status, ecsim_core::model::ImageStatus::Available);
        assert_eq!(
            made.blob_sha256.as_deref(),
            Some(blob_sum(&app, REGION, image).as_str())
        );
    }
}

/// A data dir from before checksums were recorded: the stand-in exists but its row has no
/// checksum, nor do the snapshots made then. The next use hashes the stand-in once and records
/// it; an image made from an unrecorded snapshot gets the checksum of its bytes as read.
#[tokio::test]
async fn bytes_written_before_checksums_were_recorded_are_hashed_once() {
    let app = TestApp::start();
    let (image, instance) = app.available_image(None).await;
    let snapshot_id = stored_image(&app, REGION, &image).disk_mappings[0]
        .snapshot_id
        .clone()
        .expect("the system disk has a snapshot");
    let bytes_sum = blob_sum(&app, REGION, X86_IMAGE);
    app.state
        .store
        .write(|tx| {
            let mut system = tx.image(REGION, X86_IMAGE)?.expect("the system image");
            system.blob_sha256 = None;
            tx.put_image(&system)?;
            let mut snapshot = tx.snapshot(&snapshot_id)?.expect("the snapshot");
            snapshot.blob_sha256 = None;
            Ok(tx.put_snapshot(&snapshot)?)
        })
        .expect("the store writes");
    let again = app.create_image_from(&instance, None).await;
    app.finish_creations().await;
    assert_eq!(
        stored_image(&app, REGION, X86_IMAGE).blob_sha256.as_deref(),
        Some(bytes_sum.as_str())
    );
    assert_eq!(
        stored_image(&app, REGION, &again).blob_sha256.as_deref(),
        Some(bytes_sum.as_str())
    );
    // An image from the old, unrecorded snapshot.
    let from_snapshot = app
        .call("CreateImage")
        .region()
        .param("SnapshotId", &snapshot_id)
        .send()
        .await
        .ok();
    let from_snapshot = str_of(&from_snapshot["ImageId"]);
    app.finish_creations().await;
    assert_eq!(
        stored_image(&app, REGION, &from_snapshot)
            .blob_sha256
            .as_deref(),
        Some(bytes_sum.as_str())
    );
}

/// A recorded checksum is trusted by clones that share storage (that is what spares reading the
/// bytes), so a wrong one travels with them; the first copy that streams the bytes compares
/// them with it, hashing with the algorithm the recording names, and fails, as before checksums
/// were carried across creations. A right recording of the older kind (bare SHA-256, as data
/// dirs from before BLAKE3 hold) still verifies, and the copy records it as it was.
#[tokio::test]
async fn a_wrong_recorded_checksum_is_caught_by_the_next_streamed_copy() {
    let app = TestApp::with_settings(|s| {
        s.task_bytes_per_second = std::num::NonZeroU64::new(64 * MIB as u64);
    });
    let _workers = start_workers(&app);
    let (image, _) = app.available_image(None).await;
    let snapshot_id = stored_image(&app, REGION, &image).disk_mappings[0]
        .snapshot_id
        .clone()
        .expect("the system disk has a snapshot");
    let old_sha256 = blob_sum_by(&app, REGION, &snapshot_id, ecsim_blob::Algorithm::Sha256);
    let cases = [
        ("0".repeat(64), "Failed"),
        (format!("blake3:{}", "0".repeat(64)), "Failed"),
        (old_sha256, "Finished"),
    ];
    for (recorded, outcome) in cases {
        app.state
            .store
            .write(|tx| {
                let mut snapshot = tx.snapshot(&snapshot_id)?.expect("the snapshot");
                snapshot.blob_sha256 = Some(recorded.clone());
                Ok(tx.put_snapshot(&snapshot)?)
            })
            .expect("the store writes");
        let body = app
            .call("CreateImage")
            .region()
            .param("SnapshotId", &snapshot_id)
            .send()
            .await
            .ok();
        let made = str_of(&body["ImageId"]);
        app.finish_creations().await;
        assert_eq!(
            stored_image(&app, REGION, &made).blob_sha256.as_deref(),
            Some(recorded.as_str()),
            "a linked clone carries the recorded checksum"
        );
        // Throttled, so the copy streams the bytes and checks them.
        let copied = copy(&app, &made, Some(SHANGHAI)).await;
        let task = task_of(&app, SHANGHAI, &copied).await;
        let attr = wait_task_done(&app, SHANGHAI, &task).await;
        assert_eq!(attr["TaskStatus"], outcome, "{recorded}: {attr}");
        if outcome == "Failed" {
            assert_eq!(progress(&attr)["ErrorCode"], "CopyImageFailed", "{attr}");
        } else {
            assert_eq!(
                stored_image(&app, SHANGHAI, &copied).blob_sha256.as_deref(),
                Some(recorded.as_str()),
                "verified like with like, and recorded as it was"
            );
        }
    }
    // The untouched image copies fine the same way, and keeps its BLAKE3 recording.
    let good = copy(&app, &image, Some(SHANGHAI)).await;
    let task = task_of(&app, SHANGHAI, &good).await;
    let attr = wait_task_done(&app, SHANGHAI, &task).await;
    assert_eq!(attr["TaskStatus"], "Finished", "{attr}");
    let recorded = stored_image(&app, SHANGHAI, &good).blob_sha256;
    assert!(
        recorded
            .as_deref()
            .is_some_and(|r| r.starts_with("blake3:")),
        "{recorded:?}"
    );
}

/// ECS exports at most 4 data disks, none over 500 GiB.
#[tokio::test]
async fn exports_refuse_more_than_four_data_disks_or_one_over_500_gib() {
    let oss = Oss::new();
    let app = app_with(&oss);
    let instance = app.run_instance(X86_IMAGE).await;
    let snapshot = app.create_snapshot(&app.system_disk(&instance).await).await;
    app.finish_creations().await;
    let image_with = |sizes: &[&str]| {
        let mut call = app
            .call("CreateImage")
            .region()
            .param("DiskDeviceMapping.1.SnapshotId", &snapshot);
        for (n, size) in sizes.iter().enumerate() {
            call = call
                .param(&format!("DiskDeviceMapping.{}.DiskType", n + 2), "data")
                .param(&format!("DiskDeviceMapping.{}.Size", n + 2), size);
        }
        call
    };
    let four = str_of(&image_with(&["40"; 4]).send().await.ok()["ImageId"]);
    let five = str_of(&image_with(&["40"; 5]).send().await.ok()["ImageId"]);
    let big = str_of(&image_with(&["40", "501"]).send().await.ok()["ImageId"]);
    let at_limit = str_of(&image_with(&["500"]).send().await.ok()["ImageId"]);
    app.finish_creations().await;
    export(&app, &four, None).await;
    export(&app, &at_limit, Some("qcow2")).await;
    let export_of = |image: &str| {
        app.call("ExportImage")
            .region()
            .param("ImageId", image)
            .param("OSSBucket", BUCKET)
    };
    export_of(&five).send().await.err_msg(
        403,
        "ImageNotSupported",
        "The specified image contains more than 4 data disks, do not support export image.",
    );
    export_of(&big).send().await.err_msg(
        403,
        "ImageNotSupported",
        "The specified image contains a data disk larger than 500 GiB, do not support export image.",
    );
}

//! ModifyImageSharePermission, DescribeImageSharePermission, and what sharing does to
//! visibility, launching and DeleteImage (spec ecs-image-api §3.1, §3.3, §3.5, §3.6).

use crate::support::*;
use proptest::prelude::*;
use serde_json::Value;

fn ids(body: &Value) -> Vec<String> {
    body["Images"]["Image"]
        .as_array()
        .expect("Image is an array")
        .iter()
        .map(|i| str_of(&i["ImageId"]))
        .collect()
}

async fn share(app: &TestApp, image: &str, param: &str, account: &Creds) -> Resp {
    app.call("ModifyImageSharePermission")
        .region()
        .param("ImageId", image)
        .param(param, &account.account_id.to_string())
        .send()
        .await
}

async fn publish(app: &TestApp, image: &str, public: bool) -> Resp {
    app.call("ModifyImageSharePermission")
        .region()
        .param("ImageId", image)
        .param("IsPublic", if public { "True" } else { "false" })
        .send()
        .await
}

/// What `who` sees of the image: (in the default owner set, in the community listing).
async fn visible_to(app: &TestApp, who: &Creds, image: &str) -> (bool, bool) {
    let default = app
        .call("DescribeImages")
        .as_(who)
        .region()
        .param("ImageId", image)
        .send()
        .await
        .ok();
    let community = app
        .call("DescribeImages")
        .as_(who)
        .region()
        .param("ImageId", image)
        .param("ImageOwnerAlias", "others")
        .param("IsPublic", "true")
        .send()
        .await
        .ok();
    (ids(&default) == [image], ids(&community) == [image])
}

#[tokio::test]
async fn a_shared_image_is_seen_and_launched_by_the_recipient_but_not_deleted_or_modified() {
    let app = TestApp::start();
    let other = app.new_account();
    let (image, _) = app.available_image(Some("shared-one")).await;
    assert_eq!(visible_to(&app, &other, &image).await, (false, false));
    share(&app, &image, "AddAccount.1", &other).await.ok();

    let seen = app
        .call("DescribeImages")
        .as_(&other)
        .region()
        .param("ImageId", &image)
        .send()
        .await
        .ok();
    let shown = &seen["Images"]["Image"][0];
    assert_eq!(shown["ImageOwnerAlias"], "others");
    assert_eq!(shown["ImageOwnerId"].as_i64(), Some(app.root.account_id));
    assert_eq!(shown["IsSelfShared"], "");
    let own = app.describe_image(&image).await.expect("owner sees it");
    assert_eq!(own["IsSelfShared"], "True");
    let others_only = app
        .call("DescribeImages")
        .as_(&other)
        .region()
        .param("ImageOwnerAlias", "others")
        .send()
        .await
        .ok();
    assert_eq!(ids(&others_only), [image.as_str()]);

    let instance = app.run_instance_as(&other, &image).await;
    for action in [
        "DeleteImage",
        "ModifyImageAttribute",
        "DescribeImageSharePermission",
    ] {
        app.call(action)
            .as_(&other)
            .region()
            .param("ImageId", &image)
            .param("ImageName", "renamed")
            .send()
            .await
            .err(404, "InvalidImageId.NotFound");
    }
    app.call("ModifyImageSharePermission")
        .as_(&other)
        .region()
        .param("ImageId", &image)
        .param("AddAccount.1", &app.root.account_id.to_string())
        .send()
        .await
        .err(404, "InvalidImageId.NotFound");

    // The owner cannot delete while shared, even with Force.
    for force in ["false", "true"] {
        app.call("DeleteImage")
            .region()
            .param("ImageId", &image)
            .param("Force", force)
            .send()
            .await
            .err(403, "ImageUseShared");
    }
    share(&app, &image, "RemoveAccount.1", &other).await.ok();
    assert_eq!(visible_to(&app, &other, &image).await, (false, false));
    // The recipient's instance still uses it.
    app.call("DeleteImage")
        .region()
        .param("ImageId", &image)
        .send()
        .await
        .err(403, "ImageUsingByInstance");
    app.call("DeleteImage")
        .region()
        .param("ImageId", &image)
        .param("Force", "true")
        .send()
        .await
        .ok();
    let kept = app
        .call("DescribeInstances")
        .as_(&other)
        .region()
        .param("InstanceIds", &format!("[\"{instance}\"]"))
        .send()
        .await
        .ok();
    assert_eq!(kept["Instances"]["Instance"][0]["ImageId"], image.as_str());
}

#[tokio::test]
async fn community_images_are_visible_to_every_account_and_block_deletion() {
    let app = TestApp::start();
    let (a, b) = (app.new_account(), app.new_account());
    let (image, _) = app.available_image(None).await;
    publish(&app, &image, true).await.ok();
    for who in [&a, &b] {
        assert_eq!(visible_to(&app, who, &image).await, (false, true));
    }
    let perms = app
        .call("DescribeImageSharePermission")
        .region()
        .param("ImageId", &image)
        .send()
        .await
        .ok();
    assert_eq!(perms["ShareGroups"]["ShareGroup"][0]["Group"], "all");
    app.run_instance_as(&a, &image).await;
    for force in ["false", "true"] {
        app.call("DeleteImage")
            .region()
            .param("ImageId", &image)
            .param("Force", force)
            .send()
            .await
            .err(403, "ImageIsPublic");
    }
    // Community images cannot also be shared to accounts.
    share(&app, &image, "AddAccount.1", &a)
        .await
        .err(403, "Image.Public");
    publish(&app, &image, false).await.ok();
    assert_eq!(visible_to(&app, &b, &image).await, (false, false));
    let perms = app
        .call("DescribeImageSharePermission")
        .region()
        .param("ImageId", &image)
        .send()
        .await
        .ok();
    assert_eq!(perms["ShareGroups"]["ShareGroup"], serde_json::json!([]));
    app.call("DeleteImage")
        .region()
        .param("ImageId", &image)
        .param("Force", "true")
        .send()
        .await
        .ok();
}

#[tokio::test]
async fn unpublishing_keeps_account_shares() {
    let app = TestApp::start();
    let other = app.new_account();
    let (image, _) = app.available_image(None).await;
    share(&app, &image, "AddAccount.1", &other).await.ok();
    publish(&app, &image, true).await.ok();
    publish(&app, &image, false).await.ok();
    assert_eq!(visible_to(&app, &other, &image).await, (true, false));
}

#[tokio::test]
async fn describe_image_share_permission_lists_accounts_with_paging() {
    let app = TestApp::start();
    let accounts: Vec<Creds> = (0..3).map(|_| app.new_account()).collect();
    let (image, _) = app.available_image(None).await;
    let mut call = app
        .call("ModifyImageSharePermission")
        .region()
        .param("ImageId", &image);
    for (n, a) in accounts.iter().enumerate() {
        call = call.param(&format!("AddAccount.{}", n + 1), &a.account_id.to_string());
    }
    call.send().await.ok();
    let page = app
        .call("DescribeImageSharePermission")
        .region()
        .param("ImageId", &image)
        .param("PageSize", "2")
        .param("PageNumber", "2")
        .send()
        .await
        .ok();
    assert_eq!(page["TotalCount"].as_u64(), Some(3));
    assert_eq!(page["PageNumber"].as_u64(), Some(2));
    let listed = page["Accounts"]["Account"]
        .as_array()
        .expect("Account is an array");
    assert_eq!(listed.len(), 1);
    assert!(listed[0]["AliyunId"].is_string());
    let shared_time = str_of(&listed[0]["SharedTime"]);
    assert!(
        shared_time.ends_with('Z') && shared_time.len() == 20,
        "{shared_time}"
    );
    assert_eq!(page["ImageId"], image.as_str());
    assert_eq!(page["RegionId"], "cn-hangzhou");
}

#[tokio::test]
async fn every_share_permission_error_code() {
    let app = TestApp::with_settings(|s| s.shared_images_quota = 1);
    let other = app.new_account();
    let (image, _) = app.available_image(Some("errors-a")).await;
    let (second, _) = app.available_image(Some("errors-b")).await;

    // 400 MissingParameter for RegionId and ImageId.
    app.call("ModifyImageSharePermission").param("ImageId", &image).send().await.err_msg(
        400,
        "MissingParameter",
        "The input parameter \"RegionId\" that is mandatory for processing this request is not supplied.",
    );
    app.call("ModifyImageSharePermission")
        .region()
        .send()
        .await
        .err(400, "MissingParameter");
    app.call("DescribeImageSharePermission")
        .param("ImageId", &image)
        .send()
        .await
        .err(400, "MissingParameter");
    app.call("DescribeImageSharePermission")
        .region()
        .send()
        .await
        .err(400, "MissingParameter");
    // 404 InvalidImageId.NotFound: unknown, and another account's.
    for call in [
        app.call("ModifyImageSharePermission")
            .region()
            .param("ImageId", "m-bp1doesnotexist0000"),
        app.call("DescribeImageSharePermission")
            .region()
            .param("ImageId", "m-bp1doesnotexist0000"),
    ] {
        call.param("IsPublic", "true")
            .send()
            .await
            .err(404, "InvalidImageId.NotFound");
    }
    // 403 Image.Public: a system image.
    app.call("ModifyImageSharePermission")
        .region()
        .param("ImageId", X86_IMAGE)
        .param("AddAccount.1", &other.account_id.to_string())
        .send()
        .await
        .err(403, "Image.Public");
    // 403 Image.NotPublic: unpublishing an image that is not published.
    publish(&app, &image, false)
        .await
        .err(403, "Image.NotPublic");
    // 404 InvalidAccount.NotFound and InvalidAccount.Forbbiden.
    app.call("ModifyImageSharePermission")
        .region()
        .param("ImageId", &image)
        .param("AddAccount.1", "1999999999999999")
        .send()
        .await
        .err(404, "InvalidAccount.NotFound");
    app.call("ModifyImageSharePermission")
        .region()
        .param("ImageId", &image)
        .param("AddAccount.1", "not-a-number")
        .send()
        .await
        .err(404, "InvalidAccount.NotFound");
    share(&app, &image, "AddAccount.1", &app.root)
        .await
        .err(404, "InvalidAccount.Forbbiden");
    // 403 InvalidParameter.IsPublic.
    app.call("ModifyImageSharePermission")
        .region()
        .param("ImageId", &image)
        .param("IsPublic", "true")
        .param("LaunchPermission", "all")
        .send()
        .await
        .err(403, "InvalidParameter.IsPublic");
    // 403 QuotaExceed.ShareImage: the quota of shared images is 1 here.
    share(&app, &image, "AddAccount.1", &other).await.ok();
    share(&app, &second, "AddAccount.1", &other)
        .await
        .err(403, "QuotaExceed.ShareImage");
    // 403 OperationDenied.InvalidImageStatus: deprecated, or still creating.
    share(&app, &image, "RemoveAccount.1", &other).await.ok();
    app.call("ModifyImageAttribute")
        .region()
        .param("ImageId", &image)
        .param("Status", "Deprecated")
        .send()
        .await
        .ok();
    share(&app, &image, "AddAccount.1", &other).await.err_msg(
        403,
        "OperationDenied.InvalidImageStatus",
        "The specified image cannot be shared when it is deprecated.",
    );
    publish(&app, &image, true)
        .await
        .err(403, "OperationDenied.InvalidImageStatus");
    let instance = app.run_instance(X86_IMAGE).await;
    let creating = app.create_image_from(&instance, None).await;
    share(&app, &creating, "AddAccount.1", &other)
        .await
        .err(403, "OperationDenied.InvalidImageStatus");
}

#[tokio::test]
async fn fifty_accounts_per_image_and_ten_per_call() {
    let app = TestApp::start();
    let accounts: Vec<Creds> = (0..52).map(|_| app.new_account()).collect();
    let (image, _) = app.available_image(None).await;
    // Twelve in one call: only the first ten count.
    let mut call = app
        .call("ModifyImageSharePermission")
        .region()
        .param("ImageId", &image);
    for (n, a) in accounts[..12].iter().enumerate() {
        call = call.param(&format!("AddAccount.{}", n + 1), &a.account_id.to_string());
    }
    call.send().await.ok();
    let perms = app
        .call("DescribeImageSharePermission")
        .region()
        .param("ImageId", &image)
        .send()
        .await
        .ok();
    assert_eq!(perms["TotalCount"].as_u64(), Some(10));
    for chunk in accounts[12..50].chunks(10) {
        let mut call = app
            .call("ModifyImageSharePermission")
            .region()
            .param("ImageId", &image);
        for (n, a) in chunk.iter().enumerate() {
            call = call.param(&format!("AddAccount.{}", n + 1), &a.account_id.to_string());
        }
        call.send().await.ok();
    }
    let perms = app
        .call("DescribeImageSharePermission")
        .region()
        .param("ImageId", &image)
        .send()
        .await
        .ok();
    assert_eq!(perms["TotalCount"].as_u64(), Some(48));
    share(&app, &image, "AddAccount.1", &accounts[50])
        .await
        .ok();
    share(&app, &image, "AddAccount.1", &accounts[10])
        .await
        .ok();
    share(&app, &image, "AddAccount.1", &accounts[51])
        .await
        .err(403, "QuotaExceed.ShareImageUser");
}

/// One step of the random sequences below.
#[derive(Debug, Clone, Copy)]
enum Op {
    Share,
    Unshare,
    Publish,
    Unpublish,
    Delete { force: bool },
    DeleteByRecipient,
    LaunchByRecipient,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Share),
        Just(Op::Unshare),
        Just(Op::Publish),
        Just(Op::Unpublish),
        any::<bool>().prop_map(|force| Op::Delete { force }),
        Just(Op::DeleteByRecipient),
        Just(Op::LaunchByRecipient),
    ]
}

/// The model: what the state should be after each accepted operation.
#[derive(Debug, Default)]
struct Model {
    shared: bool,
    public: bool,
    deleted: bool,
    recipient_instances: u32,
}

impl Model {
    /// The answer the server must give, and the state after it.
    fn apply(&mut self, op: Op) -> Result<(), (u16, &'static str)> {
        let gone = Err((404, "InvalidImageId.NotFound"));
        match op {
            Op::Share if self.deleted => gone,
            Op::Share if self.public => Err((403, "Image.Public")),
            Op::Share => {
                self.shared = true;
                Ok(())
            }
            Op::Unshare if self.deleted => gone,
            Op::Unshare => {
                self.shared = false;
                Ok(())
            }
            Op::Publish if self.deleted => gone,
            Op::Publish => {
                self.public = true;
                Ok(())
            }
            Op::Unpublish if self.deleted => gone,
            Op::Unpublish if !self.public => Err((403, "Image.NotPublic")),
            Op::Unpublish => {
                self.public = false;
                Ok(())
            }
            Op::Delete { .. } if self.deleted => Ok(()),
            Op::Delete { .. } if self.public => Err((403, "ImageIsPublic")),
            Op::Delete { .. } if self.shared => Err((403, "ImageUseShared")),
            Op::Delete { force: false } if self.recipient_instances > 0 => {
                Err((403, "ImageUsingByInstance"))
            }
            Op::Delete { .. } => {
                self.deleted = true;
                Ok(())
            }
            Op::DeleteByRecipient => gone,
            Op::LaunchByRecipient if self.deleted || !(self.shared || self.public) => gone,
            Op::LaunchByRecipient => {
                self.recipient_instances += 1;
                Ok(())
            }
        }
    }
}

async fn run_sequence(ops: Vec<Op>) {
    let app = TestApp::start();
    let other = app.new_account();
    let (image, _) = app.available_image(None).await;
    let mut model = Model::default();
    for op in ops {
        let expected = model.apply(op);
        let resp = match op {
            Op::Share => share(&app, &image, "AddAccount.1", &other).await,
            Op::Unshare => share(&app, &image, "RemoveAccount.1", &other).await,
            Op::Publish => publish(&app, &image, true).await,
            Op::Unpublish => publish(&app, &image, false).await,
            Op::Delete { force } => {
                app.call("DeleteImage")
                    .region()
                    .param("ImageId", &image)
                    .param("Force", &force.to_string())
                    .send()
                    .await
            }
            Op::DeleteByRecipient => {
                app.call("DeleteImage")
                    .as_(&other)
                    .region()
                    .param("ImageId", &image)
                    .param("Force", "true")
                    .send()
                    .await
            }
            Op::LaunchByRecipient => {
                app.call("RunInstances")
                    .as_(&other)
                    .region()
                    .param("ImageId", &image)
                    .param("InstanceType", X86_TYPE)
                    .send()
                    .await
            }
        };
        match expected {
            Ok(()) => {
                resp.ok();
            }
            Err((status, code)) => {
                resp.err(status, code);
            }
        }
        // Visibility always equals: owner, or on the share list, or public — and not deleted.
        let recipient = visible_to(&app, &other, &image).await;
        assert_eq!(
            recipient,
            (
                !model.deleted && model.shared,
                !model.deleted && model.public
            ),
            "after {op:?}: {model:?}"
        );
        assert_eq!(
            app.describe_image(&image).await.is_some(),
            !model.deleted,
            "after {op:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn visibility_follows_share_list_publication_and_deletion(ops in prop::collection::vec(op(), 1..14)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(run_sequence(ops));
    }
}

#[tokio::test]
async fn concurrent_share_and_delete_never_leave_a_share_on_a_deleted_image() {
    let app = TestApp::start();
    let other = app.new_account();
    for _ in 0..20 {
        let (image, _) = app.available_image(None).await;
        let delete = app.call("DeleteImage").region().param("ImageId", &image);
        let add = app
            .call("ModifyImageSharePermission")
            .region()
            .param("ImageId", &image)
            .param("AddAccount.1", &other.account_id.to_string());
        let (deleted, shared) = tokio::join!(delete.send(), add.send());
        let (deleted, shared) = (deleted.status == 200, shared.status == 200);
        assert!(
            deleted ^ shared,
            "exactly one of delete ({deleted}) and share ({shared}) wins"
        );
        let shares = app
            .state
            .store
            .read(|tx| Ok(tx.image_shares(&image, 0, 100)?))
            .expect("store reads");
        assert_eq!(
            shares.total > 0,
            shared,
            "share rows exist only for the live, shared image"
        );
        assert_eq!(visible_to(&app, &other, &image).await.0, shared);
    }
}

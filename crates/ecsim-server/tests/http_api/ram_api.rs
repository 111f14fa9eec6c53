//! The RAM management API: users, AccessKeys, groups, policies and versions, attachments,
//! roles — their responses and every error code they emit (spec ram-authorization §2, §6).

use super::*;

fn root(app: &TestApp) -> Who {
    Who::root(app)
}

#[tokio::test]
async fn users_round_trip_and_refuse_duplicates_case_insensitively() {
    let app = TestApp::start();
    let r = root(&app);
    let created = ram(&app, &r, "CreateUser")
        .param("UserName", "alice")
        .param("DisplayName", "Alice")
        .param("Email", "alice@example.com")
        .param("MobilePhone", "86-18600000000")
        .param("Comments", "ops")
        .ok()
        .await;
    let user = &created["User"];
    assert_eq!(user["UserName"], "alice");
    assert_eq!(user["DisplayName"], "Alice");
    let id = str_of(&user["UserId"]);
    assert_eq!(id.len(), 16);
    assert!(id.bytes().all(|b| b.is_ascii_digit()));
    assert!(str_of(&user["CreateDate"]).ends_with('Z'));

    let body = service_err(
        ram(&app, &r, "CreateUser")
            .param("UserName", "ALICE")
            .send()
            .await,
        409,
        "EntityAlreadyExists.User",
    );
    assert_eq!(body["HostId"], "ram.aliyuncs.com");
    assert_eq!(body["Message"], "The user does already EXIST.");

    let got = ram(&app, &r, "GetUser")
        .param("UserName", "Alice")
        .ok()
        .await;
    assert_eq!(got["User"]["UserId"], id.as_str());
    assert_eq!(got["User"]["Email"], "alice@example.com");

    let updated = ram(&app, &r, "UpdateUser")
        .param("UserName", "alice")
        .param("NewUserName", "alice2")
        .param("NewDisplayName", "A2")
        .ok()
        .await;
    assert_eq!(updated["User"]["UserName"], "alice2");
    assert_eq!(updated["User"]["UserId"], id.as_str());
    service_err(
        ram(&app, &r, "GetUser")
            .param("UserName", "alice")
            .send()
            .await,
        404,
        "EntityNotExist.User",
    );

    for n in ["bob", "carol"] {
        ram(&app, &r, "CreateUser").param("UserName", n).ok().await;
    }
    let page1 = ram(&app, &r, "ListUsers").param("MaxItems", "2").ok().await;
    assert_eq!(page1["IsTruncated"], true);
    let names: Vec<String> = page1["Users"]["User"]
        .as_array()
        .expect("list")
        .iter()
        .map(|u| str_of(&u["UserName"]))
        .collect();
    assert_eq!(names, ["alice2", "bob"]);
    let page2 = ram(&app, &r, "ListUsers")
        .param("MaxItems", "2")
        .param("Marker", page1["Marker"].as_str().expect("marker"))
        .ok()
        .await;
    assert_eq!(page2["IsTruncated"], false);
    assert_eq!(page2["Users"]["User"][0]["UserName"], "carol");

    ram(&app, &r, "DeleteUser")
        .param("UserName", "carol")
        .ok()
        .await;
    service_err(
        ram(&app, &r, "DeleteUser")
            .param("UserName", "carol")
            .send()
            .await,
        404,
        "EntityNotExist.User",
    );
}

#[tokio::test]
async fn user_parameters_are_validated_with_rams_codes() {
    let app = TestApp::start();
    let r = root(&app);
    service_err(
        ram(&app, &r, "CreateUser")
            .param("UserName", &"x".repeat(65))
            .send()
            .await,
        400,
        "InvalidParameter.UserName.Length",
    );
    service_err(
        ram(&app, &r, "CreateUser")
            .param("UserName", "has space")
            .send()
            .await,
        400,
        "InvalidParameter.UserName.InvalidChars",
    );
    service_err(
        ram(&app, &r, "CreateUser")
            .param("UserName", "ok")
            .param("Email", "not-an-email")
            .send()
            .await,
        400,
        "InvalidParameter.Email.Format",
    );
    service_err(
        ram(&app, &r, "CreateUser")
            .param("UserName", "ok")
            .param("MobilePhone", "12345")
            .send()
            .await,
        400,
        "InvalidParameter.MobilePhone.Format",
    );
    service_err(
        ram(&app, &r, "CreateUser").send().await,
        400,
        "MissingUserName",
    );
    service_err(
        ram(&app, &r, "ListUsers")
            .param("MaxItems", "0")
            .send()
            .await,
        400,
        "InvalidParameter.MaxItems",
    );
    service_err(
        ram(&app, &r, "NoSuchThing").send().await,
        404,
        "InvalidAction.NotFound",
    );
}

#[tokio::test]
async fn access_keys_two_per_user_secret_only_once() {
    let app = TestApp::start();
    let r = root(&app);
    ram(&app, &r, "CreateUser")
        .param("UserName", "alice")
        .ok()
        .await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let k = ram(&app, &r, "CreateAccessKey")
            .param("UserName", "alice")
            .ok()
            .await;
        let key = &k["AccessKey"];
        assert_eq!(key["Status"], "Active");
        assert!(str_of(&key["AccessKeyId"]).starts_with("LTAI"));
        assert_eq!(str_of(&key["AccessKeySecret"]).len(), 30);
        ids.push(str_of(&key["AccessKeyId"]));
    }
    service_err(
        ram(&app, &r, "CreateAccessKey")
            .param("UserName", "alice")
            .send()
            .await,
        409,
        "LimitExceeded.User.AccessKey",
    );
    let listed = ram(&app, &r, "ListAccessKeys")
        .param("UserName", "alice")
        .ok()
        .await;
    let keys = listed["AccessKeys"]["AccessKey"].as_array().expect("list");
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| k.get("AccessKeySecret").is_none()));

    ram(&app, &r, "UpdateAccessKey")
        .param("UserName", "alice")
        .param("UserAccessKeyId", &ids[0])
        .param("Status", "Inactive")
        .ok()
        .await;
    service_err(
        ram(&app, &r, "UpdateAccessKey")
            .param("UserName", "alice")
            .param("UserAccessKeyId", &ids[0])
            .param("Status", "Paused")
            .send()
            .await,
        400,
        "InvalidParameter.Status",
    );
    service_err(
        ram(&app, &r, "DeleteAccessKey")
            .param("UserName", "alice")
            .param("UserAccessKeyId", "LTAI-none")
            .send()
            .await,
        404,
        "EntityNotExist.User.AccessKey",
    );
    service_err(
        ram(&app, &r, "DeleteUser")
            .param("UserName", "alice")
            .send()
            .await,
        409,
        "DeleteConflict.User.AccessKey",
    );
    for id in &ids {
        ram(&app, &r, "DeleteAccessKey")
            .param("UserName", "alice")
            .param("UserAccessKeyId", id)
            .ok()
            .await;
    }
    ram(&app, &r, "DeleteUser")
        .param("UserName", "alice")
        .ok()
        .await;
}

#[tokio::test]
async fn a_user_manages_its_own_keys_without_naming_itself() {
    let app = TestApp::start();
    let alice = user_with(
        &app,
        "alice",
        &doc(json!([allow("ram:*AccessKey*", "acs:ram:*:*:user/alice")])),
    )
    .await;
    let listed = ram(&app, &alice, "ListAccessKeys").ok().await;
    assert_eq!(
        listed["AccessKeys"]["AccessKey"][0]["AccessKeyId"],
        alice.key_id.as_str()
    );
    ram(&app, &alice, "CreateAccessKey").ok().await;
    // Another user's keys are not covered by the policy.
    ram(&app, &root(&app), "CreateUser")
        .param("UserName", "bob")
        .ok()
        .await;
    let body = service_err(
        ram(&app, &alice, "ListAccessKeys")
            .param("UserName", "bob")
            .send()
            .await,
        403,
        "NoPermission",
    );
    detail(
        &body,
        "ram:ListAccessKeys",
        "ImplicitDeny",
        "AccountLevelIdentityBasedPolicy",
    );
    assert_eq!(body["Message"], "You are not authorized to do this action.");
}

#[tokio::test]
async fn groups_members_and_their_errors() {
    let app = TestApp::start();
    let r = root(&app);
    ram(&app, &r, "CreateUser")
        .param("UserName", "alice")
        .ok()
        .await;
    let g = ram(&app, &r, "CreateGroup")
        .param("GroupName", "ops")
        .param("Comments", "operators")
        .ok()
        .await;
    assert_eq!(g["Group"]["GroupName"], "ops");
    service_err(
        ram(&app, &r, "CreateGroup")
            .param("GroupName", "OPS")
            .send()
            .await,
        409,
        "EntityAlreadyExists.Group",
    );
    service_err(
        ram(&app, &r, "CreateGroup")
            .param("GroupName", "bad_name")
            .send()
            .await,
        400,
        "InvalidParameter.GroupName.InvalidChars",
    );
    service_err(
        ram(&app, &r, "AddUserToGroup")
            .param("GroupName", "nope")
            .param("UserName", "alice")
            .send()
            .await,
        404,
        "EntityNotExist.Group",
    );
    ram(&app, &r, "AddUserToGroup")
        .param("GroupName", "ops")
        .param("UserName", "alice")
        .ok()
        .await;
    service_err(
        ram(&app, &r, "AddUserToGroup")
            .param("GroupName", "ops")
            .param("UserName", "alice")
            .send()
            .await,
        409,
        "EntityAlreadyExists.User.Group",
    );
    let groups = ram(&app, &r, "ListGroupsForUser")
        .param("UserName", "alice")
        .ok()
        .await;
    assert_eq!(groups["Groups"]["Group"][0]["GroupName"], "ops");
    let members = ram(&app, &r, "ListUsersForGroup")
        .param("GroupName", "ops")
        .ok()
        .await;
    assert_eq!(members["Users"]["User"][0]["UserName"], "alice");
    service_err(
        ram(&app, &r, "DeleteGroup")
            .param("GroupName", "ops")
            .send()
            .await,
        409,
        "DeleteConflict.Group.User",
    );
    service_err(
        ram(&app, &r, "DeleteUser")
            .param("UserName", "alice")
            .send()
            .await,
        409,
        "DeleteConflict.User.Group",
    );
    // Ten groups per user.
    for i in 0..9 {
        let name = format!("g{i}");
        ram(&app, &r, "CreateGroup")
            .param("GroupName", &name)
            .ok()
            .await;
        ram(&app, &r, "AddUserToGroup")
            .param("GroupName", &name)
            .param("UserName", "alice")
            .ok()
            .await;
    }
    ram(&app, &r, "CreateGroup")
        .param("GroupName", "eleventh")
        .ok()
        .await;
    service_err(
        ram(&app, &r, "AddUserToGroup")
            .param("GroupName", "eleventh")
            .param("UserName", "alice")
            .send()
            .await,
        409,
        "LimitExceeded.User.Group",
    );
    ram(&app, &r, "RemoveUserFromGroup")
        .param("GroupName", "ops")
        .param("UserName", "alice")
        .ok()
        .await;
    service_err(
        ram(&app, &r, "RemoveUserFromGroup")
            .param("GroupName", "ops")
            .param("UserName", "alice")
            .send()
            .await,
        404,
        "EntityNotExist.User.Group",
    );
    ram(&app, &r, "AttachPolicyToGroup")
        .param("PolicyType", "System")
        .param("PolicyName", "ReadOnlyAccess")
        .param("GroupName", "ops")
        .ok()
        .await;
    service_err(
        ram(&app, &r, "AttachPolicyToGroup")
            .param("PolicyType", "System")
            .param("PolicyName", "ReadOnlyAccess")
            .param("GroupName", "ops")
            .send()
            .await,
        409,
        "EntityAlreadyExists.Group.Policy",
    );
    service_err(
        ram(&app, &r, "DeleteGroup")
            .param("GroupName", "ops")
            .send()
            .await,
        409,
        "DeleteConflict.Group.Policy",
    );
    ram(&app, &r, "DetachPolicyFromGroup")
        .param("PolicyType", "System")
        .param("PolicyName", "ReadOnlyAccess")
        .param("GroupName", "ops")
        .ok()
        .await;
    service_err(
        ram(&app, &r, "DetachPolicyFromGroup")
            .param("PolicyType", "System")
            .param("PolicyName", "ReadOnlyAccess")
            .param("GroupName", "ops")
            .send()
            .await,
        404,
        "EntityNotExist.Group.Policy",
    );
    let renamed = ram(&app, &r, "UpdateGroup")
        .param("GroupName", "ops")
        .param("NewGroupName", "operators")
        .ok()
        .await;
    assert_eq!(renamed["Group"]["GroupName"], "operators");
    ram(&app, &r, "DeleteGroup")
        .param("GroupName", "operators")
        .ok()
        .await;
    service_err(
        ram(&app, &r, "GetGroup")
            .param("GroupName", "operators")
            .send()
            .await,
        404,
        "EntityNotExist.Group",
    );
}

#[tokio::test]
async fn custom_policies_validate_and_keep_up_to_five_versions() {
    let app = TestApp::start();
    let r = root(&app);
    let text = doc(json!([allow("ecs:Describe*", "*")]));
    let created = ram(&app, &r, "CreatePolicy")
        .param("PolicyName", "describe-only")
        .param("PolicyDocument", &text)
        .param("Description", "reads")
        .ok()
        .await;
    assert_eq!(created["Policy"]["PolicyType"], "Custom");
    assert_eq!(created["Policy"]["DefaultVersion"], "v1");
    service_err(
        ram(&app, &r, "CreatePolicy")
            .param("PolicyName", "DESCRIBE-only")
            .param("PolicyDocument", &text)
            .send()
            .await,
        409,
        "EntityAlreadyExists.Policy",
    );
    let malformed = service_err(
        ram(&app, &r, "CreatePolicy")
            .param("PolicyName", "bad")
            .param(
                "PolicyDocument",
                r#"{"Version":"1","Statement":[{"Effect":"allow","Action":"*","Resource":"*"}]}"#,
            )
            .send()
            .await,
        400,
        "MalformedPolicyDocument",
    );
    assert!(
        str_of(&malformed["Message"]).contains("ffect"),
        "{malformed}"
    );
    let long = doc(json!([allow(&format!("ecs:{}", "A".repeat(6200)), "*")]));
    service_err(
        ram(&app, &r, "CreatePolicy")
            .param("PolicyName", "long")
            .param("PolicyDocument", &long)
            .send()
            .await,
        400,
        "InvalidParameter.PolicyDocument.Length",
    );
    service_err(
        ram(&app, &r, "CreatePolicy")
            .param("PolicyName", "under_score")
            .param("PolicyDocument", &text)
            .send()
            .await,
        400,
        "InvalidParameter.PolicyName.InvalidChars",
    );

    let got = ram(&app, &r, "GetPolicy")
        .param("PolicyName", "describe-only")
        .param("PolicyType", "Custom")
        .ok()
        .await;
    assert_eq!(got["Policy"]["AttachmentCount"], 0);
    assert_eq!(got["DefaultPolicyVersion"]["PolicyDocument"], text.as_str());
    assert_eq!(got["DefaultPolicyVersion"]["IsDefaultVersion"], true);
    service_err(
        ram(&app, &r, "GetPolicy")
            .param("PolicyName", "describe-only")
            .param("PolicyType", "Other")
            .send()
            .await,
        400,
        "InvalidParameter.PolicyType",
    );
    let system = ram(&app, &r, "GetPolicy")
        .param("PolicyName", "AliyunECSReadOnlyAccess")
        .param("PolicyType", "System")
        .ok()
        .await;
    assert_eq!(system["Policy"]["PolicyType"], "System");
    assert!(str_of(&system["Policy"]["PolicyDocument"]).contains("ecs:Describe*"));

    for i in 2..=5 {
        let v = ram(&app, &r, "CreatePolicyVersion")
            .param("PolicyName", "describe-only")
            .param("PolicyDocument", &text)
            .param("SetAsDefault", if i == 3 { "true" } else { "false" })
            .ok()
            .await;
        assert_eq!(v["PolicyVersion"]["VersionId"], format!("v{i}"));
    }
    service_err(
        ram(&app, &r, "CreatePolicyVersion")
            .param("PolicyName", "describe-only")
            .param("PolicyDocument", &text)
            .send()
            .await,
        409,
        "LimitExceeded.Policy.Version",
    );
    let rotated = ram(&app, &r, "CreatePolicyVersion")
        .param("PolicyName", "describe-only")
        .param("PolicyDocument", &text)
        .param(
            "RotateStrategy",
            "DeleteOldestNonDefaultVersionWhenLimitExceeded",
        )
        .ok()
        .await;
    assert_eq!(rotated["PolicyVersion"]["VersionId"], "v6");
    let versions = ram(&app, &r, "ListPolicyVersions")
        .param("PolicyName", "describe-only")
        .param("PolicyType", "Custom")
        .ok()
        .await;
    let ids: Vec<String> = versions["PolicyVersions"]["PolicyVersion"]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| str_of(&v["VersionId"]))
        .collect();
    assert_eq!(ids, ["v2", "v3", "v4", "v5", "v6"], "v1 rotated out");
    service_err(
        ram(&app, &r, "DeletePolicyVersion")
            .param("PolicyName", "describe-only")
            .param("VersionId", "v3")
            .send()
            .await,
        409,
        "DeleteConflict.Policy.Version.Default",
    );
    service_err(
        ram(&app, &r, "GetPolicyVersion")
            .param("PolicyName", "describe-only")
            .param("PolicyType", "Custom")
            .param("VersionId", "v1")
            .send()
            .await,
        404,
        "EntityNotExist.Policy.Version",
    );
    service_err(
        ram(&app, &r, "GetPolicyVersion")
            .param("PolicyName", "describe-only")
            .param("PolicyType", "Custom")
            .param("VersionId", "one")
            .send()
            .await,
        400,
        "InvalidParameter.VersionId.Format",
    );
    ram(&app, &r, "SetDefaultPolicyVersion")
        .param("PolicyName", "describe-only")
        .param("VersionId", "v6")
        .ok()
        .await;
    let v3 = ram(&app, &r, "GetPolicyVersion")
        .param("PolicyName", "describe-only")
        .param("PolicyType", "Custom")
        .param("VersionId", "v3")
        .ok()
        .await;
    assert_eq!(v3["PolicyVersion"]["IsDefaultVersion"], false);
    service_err(
        ram(&app, &r, "DeletePolicy")
            .param("PolicyName", "describe-only")
            .send()
            .await,
        409,
        "DeleteConflict.Policy.Version",
    );
    for v in ["v2", "v3", "v4", "v5"] {
        ram(&app, &r, "DeletePolicyVersion")
            .param("PolicyName", "describe-only")
            .param("VersionId", v)
            .ok()
            .await;
    }
    ram(&app, &r, "CreateUser")
        .param("UserName", "alice")
        .ok()
        .await;
    attach_to_user(&app, "Custom", "describe-only", "alice").await;
    service_err(
        ram(&app, &r, "DeletePolicy")
            .param("PolicyName", "describe-only")
            .send()
            .await,
        409,
        "DeleteConflict.Policy.User",
    );
    let entities = ram(&app, &r, "ListEntitiesForPolicy")
        .param("PolicyName", "describe-only")
        .param("PolicyType", "Custom")
        .ok()
        .await;
    assert_eq!(entities["Users"]["User"][0]["UserName"], "alice");
    assert_eq!(entities["Groups"]["Group"], json!([]));
    let listed = ram(&app, &r, "ListPolicies")
        .param("PolicyType", "Custom")
        .ok()
        .await;
    assert_eq!(listed["Policies"]["Policy"][0]["AttachmentCount"], 1);
    let all = ram(&app, &r, "ListPolicies").ok().await;
    assert!(
        all["Policies"]["Policy"]
            .as_array()
            .expect("list")
            .iter()
            .any(|p| p["PolicyName"] == "AdministratorAccess" && p["PolicyType"] == "System")
    );
    ram(&app, &r, "DeletePolicy")
        .param("PolicyName", "describe-only")
        .param("CascadingDelete", "true")
        .ok()
        .await;
    service_err(
        ram(&app, &r, "GetPolicy")
            .param("PolicyName", "describe-only")
            .param("PolicyType", "Custom")
            .send()
            .await,
        404,
        "EntityNotExist.Policy",
    );
    let left = ram(&app, &r, "ListPoliciesForUser")
        .param("UserName", "alice")
        .ok()
        .await;
    assert_eq!(left["Policies"]["Policy"], json!([]));
}

#[tokio::test]
async fn attachments_have_limits_and_their_own_errors() {
    let app = TestApp::start();
    let r = root(&app);
    ram(&app, &r, "CreateUser")
        .param("UserName", "alice")
        .ok()
        .await;
    service_err(
        ram(&app, &r, "AttachPolicyToUser")
            .param("PolicyType", "System")
            .param("PolicyName", "NoSuchPolicy")
            .param("UserName", "alice")
            .send()
            .await,
        404,
        "EntityNotExist.Policy",
    );
    service_err(
        ram(&app, &r, "AttachPolicyToUser")
            .param("PolicyType", "System")
            .param("PolicyName", "ReadOnlyAccess")
            .param("UserName", "nobody")
            .send()
            .await,
        404,
        "EntityNotExist.User",
    );
    attach_to_user(&app, "System", "ReadOnlyAccess", "alice").await;
    service_err(
        ram(&app, &r, "AttachPolicyToUser")
            .param("PolicyType", "System")
            .param("PolicyName", "readonlyaccess")
            .param("UserName", "alice")
            .send()
            .await,
        409,
        "EntityAlreadyExists.User.Policy",
    );
    let text = doc(json!([allow("ecs:Describe*", "*")]));
    for i in 0..10 {
        let name = format!("p{i}");
        policy(&app, &name, &text).await;
        attach_to_user(&app, "Custom", &name, "alice").await;
    }
    policy(&app, "p10", &text).await;
    service_err(
        ram(&app, &r, "AttachPolicyToUser")
            .param("PolicyType", "Custom")
            .param("PolicyName", "p10")
            .param("UserName", "alice")
            .send()
            .await,
        409,
        "LimitExceeded.User.Policy",
    );
    let listed = ram(&app, &r, "ListPoliciesForUser")
        .param("UserName", "alice")
        .ok()
        .await;
    assert_eq!(
        listed["Policies"]["Policy"].as_array().map(Vec::len),
        Some(11)
    );
    assert_eq!(
        listed["Policies"]["Policy"][0]["PolicyName"],
        "ReadOnlyAccess"
    );
    assert!(str_of(&listed["Policies"]["Policy"][0]["AttachDate"]).ends_with('Z'));
    service_err(
        ram(&app, &r, "DeleteUser")
            .param("UserName", "alice")
            .send()
            .await,
        409,
        "DeleteConflict.User.Policy",
    );
    service_err(
        ram(&app, &r, "DetachPolicyFromUser")
            .param("PolicyType", "Custom")
            .param("PolicyName", "p10")
            .param("UserName", "alice")
            .send()
            .await,
        404,
        "EntityNotExist.User.Policy",
    );
}

fn trust(principal: &str) -> String {
    json!({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"RAM": [principal]}}]})
    .to_string()
}

#[tokio::test]
async fn roles_round_trip_and_their_errors() {
    let app = TestApp::start();
    let r = root(&app);
    let account = app.root.account_id;
    let document = trust(&format!("acs:ram::{account}:root"));
    let created = ram(&app, &r, "CreateRole")
        .param("RoleName", "ImgAdmin")
        .param("AssumeRolePolicyDocument", &document)
        .param("Description", "images")
        .param("MaxSessionDuration", "7200")
        .ok()
        .await;
    let role = &created["Role"];
    assert_eq!(
        role["Arn"],
        format!("acs:ram::{account}:role/ImgAdmin").as_str()
    );
    assert_eq!(role["MaxSessionDuration"], 7200);
    assert_eq!(role["AssumeRolePolicyDocument"], document.as_str());
    service_err(
        ram(&app, &r, "CreateRole")
            .param("RoleName", "imgadmin")
            .param("AssumeRolePolicyDocument", &document)
            .send()
            .await,
        409,
        "EntityAlreadyExists.Role",
    );
    service_err(
        ram(&app, &r, "CreateRole")
            .param("RoleName", "other")
            .param(
                "AssumeRolePolicyDocument",
                &doc(json!([allow("sts:AssumeRole", "*")])),
            )
            .send()
            .await,
        400,
        "MalformedPolicyDocument",
    );
    service_err(
        ram(&app, &r, "CreateRole")
            .param("RoleName", "other")
            .param("AssumeRolePolicyDocument", &document)
            .param("MaxSessionDuration", "60")
            .send()
            .await,
        400,
        "InvalidParameter.MaxSessionDuration",
    );
    let updated = ram(&app, &r, "UpdateRole")
        .param("RoleName", "ImgAdmin")
        .param("NewDescription", "all images")
        .ok()
        .await;
    assert_eq!(updated["Role"]["Description"], "all images");
    let listed = ram(&app, &r, "ListRoles").ok().await;
    assert_eq!(listed["Roles"]["Role"][0]["RoleName"], "ImgAdmin");
    ram(&app, &r, "AttachPolicyToRole")
        .param("PolicyType", "System")
        .param("PolicyName", "AliyunECSReadOnlyAccess")
        .param("RoleName", "ImgAdmin")
        .ok()
        .await;
    service_err(
        ram(&app, &r, "AttachPolicyToRole")
            .param("PolicyType", "System")
            .param("PolicyName", "AliyunECSReadOnlyAccess")
            .param("RoleName", "ImgAdmin")
            .send()
            .await,
        409,
        "EntityAlreadyExists.Role.Policy",
    );
    let policies = ram(&app, &r, "ListPoliciesForRole")
        .param("RoleName", "ImgAdmin")
        .ok()
        .await;
    assert_eq!(
        policies["Policies"]["Policy"][0]["PolicyName"],
        "AliyunECSReadOnlyAccess"
    );
    service_err(
        ram(&app, &r, "DeleteRole")
            .param("RoleName", "ImgAdmin")
            .send()
            .await,
        409,
        "DeleteConflict.Role.Policy",
    );
    ram(&app, &r, "DetachPolicyFromRole")
        .param("PolicyType", "System")
        .param("PolicyName", "AliyunECSReadOnlyAccess")
        .param("RoleName", "ImgAdmin")
        .ok()
        .await;
    service_err(
        ram(&app, &r, "DetachPolicyFromRole")
            .param("PolicyType", "System")
            .param("PolicyName", "AliyunECSReadOnlyAccess")
            .param("RoleName", "ImgAdmin")
            .send()
            .await,
        404,
        "EntityNotExist.Role.Policy",
    );
    ram(&app, &r, "DeleteRole")
        .param("RoleName", "ImgAdmin")
        .ok()
        .await;
    service_err(
        ram(&app, &r, "GetRole")
            .param("RoleName", "ImgAdmin")
            .send()
            .await,
        404,
        "EntityNotExist.Role",
    );
}

#[tokio::test]
async fn ram_calls_sign_v1_and_answer_xml_on_request() {
    let app = TestApp::start();
    let r = root(&app);
    let body = ram(&app, &r, "CreateUser")
        .param("UserName", "v1user")
        .v1()
        .ok()
        .await;
    assert_eq!(body["User"]["UserName"], "v1user");
    let xml = ram(&app, &r, "GetUser")
        .param("UserName", "v1user")
        .param("Format", "XML")
        .send()
        .await;
    assert_eq!(xml.status, 200);
    assert_eq!(xml.xml_field("UserName").as_deref(), Some("v1user"));
    assert!(xml.text().contains("<GetUserResponse>"));
}

#[tokio::test]
async fn an_unknown_version_is_still_refused() {
    let app = TestApp::start();
    let mut call = ram(&app, &root(&app), "ListUsers");
    call.version = "2019-01-01";
    call.send().await.err(400, "InvalidVersion");
}

/// Fills the account up to its quota directly in the store (one transaction), so the next
/// create through the API meets the limit.
fn fill(app: &TestApp, n: usize, mut insert: impl FnMut(&mut dyn ecsim_store::Tx, usize)) {
    app.state
        .store
        .write(|tx| {
            for i in 0..n {
                insert(tx, i);
            }
            Ok(())
        })
        .expect("filled");
}

#[tokio::test]
async fn account_quotas_answer_limit_exceeded() {
    let app = TestApp::start();
    let r = root(&app);
    let account = app.root.account_id;
    fill(&app, 5000, |tx, i| {
        tx.insert_ram_user(&ecsim_store::RamUser {
            id: format!("9{i:015}"),
            account_id: account,
            name: format!("u{i}"),
            display_name: String::new(),
            mobile_phone: String::new(),
            email: String::new(),
            comments: String::new(),
            created_at: 0,
            updated_at: 0,
        })
        .expect("user");
    });
    service_err(
        ram(&app, &r, "CreateUser")
            .param("UserName", "one-too-many")
            .send()
            .await,
        409,
        "LimitExceeded.User",
    );
    fill(&app, 300, |tx, i| {
        tx.insert_ram_group(&ecsim_store::RamGroup {
            id: format!("g-{i}"),
            account_id: account,
            name: format!("g{i}"),
            comments: String::new(),
            created_at: 0,
            updated_at: 0,
        })
        .expect("group");
    });
    service_err(
        ram(&app, &r, "CreateGroup")
            .param("GroupName", "one-too-many")
            .send()
            .await,
        409,
        "LimitExceeded.Group",
    );
    fill(&app, 1000, |tx, i| {
        tx.insert_ram_role(&ecsim_store::RamRole {
            id: format!("8{i:017}"),
            account_id: account,
            name: format!("r{i}"),
            description: String::new(),
            trust_policy: String::new(),
            max_session_duration: 3600,
            created_at: 0,
            updated_at: 0,
        })
        .expect("role");
    });
    let trust =
        json!({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"RAM": [format!("acs:ram::{account}:root")]}}]})
        .to_string();
    service_err(
        ram(&app, &r, "CreateRole")
            .param("RoleName", "one-too-many")
            .param("AssumeRolePolicyDocument", &trust)
            .send()
            .await,
        409,
        "LimitExceeded.Role",
    );
    let text = doc(json!([allow("ecs:Describe*", "*")]));
    fill(&app, 1500, |tx, i| {
        tx.insert_custom_policy(
            &ecsim_store::CustomPolicy {
                account_id: account,
                name: format!("p{i}"),
                description: String::new(),
                default_version: "v1".into(),
                next_version: 2,
                created_at: 0,
                updated_at: 0,
            },
            &ecsim_store::PolicyVersion {
                version_id: "v1".into(),
                document: text.clone(),
                created_at: 0,
            },
        )
        .expect("policy");
    });
    service_err(
        ram(&app, &r, "CreatePolicy")
            .param("PolicyName", "one-too-many")
            .param("PolicyDocument", &text)
            .send()
            .await,
        409,
        "LimitExceeded.Policy",
    );
    // Ten custom policies per group and per role.
    for (op, param, name, code) in [
        (
            "AttachPolicyToGroup",
            "GroupName",
            "g0",
            "LimitExceeded.Group.Policy",
        ),
        (
            "AttachPolicyToRole",
            "RoleName",
            "r0",
            "LimitExceeded.Role.Policy",
        ),
    ] {
        for i in 0..10 {
            ram(&app, &r, op)
                .param("PolicyType", "Custom")
                .param("PolicyName", &format!("p{i}"))
                .param(param, name)
                .ok()
                .await;
        }
        service_err(
            ram(&app, &r, op)
                .param("PolicyType", "Custom")
                .param("PolicyName", "p10")
                .param(param, name)
                .send()
                .await,
            409,
            code,
        );
    }
    // A policy still attached to a group or a role cannot be deleted.
    service_err(
        ram(&app, &r, "DeletePolicy")
            .param("PolicyName", "p0")
            .send()
            .await,
        409,
        "DeleteConflict.Policy.Group",
    );
    ram(&app, &r, "DetachPolicyFromGroup")
        .param("PolicyType", "Custom")
        .param("PolicyName", "p0")
        .param("GroupName", "g0")
        .ok()
        .await;
    service_err(
        ram(&app, &r, "DeletePolicy")
            .param("PolicyName", "p0")
            .send()
            .await,
        409,
        "DeleteConflict.Policy.Role",
    );
}

/// An operation, its parameters and the 400 code expected.
type ParamCase<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

#[tokio::test]
async fn more_parameter_checks() {
    let app = TestApp::start();
    let r = root(&app);
    let cases: [ParamCase; 8] = [
        ("ListUsers", &[("Marker", "abc")], "InvalidParameter.Marker"),
        (
            "CreateUser",
            &[("UserName", "a"), ("DisplayName", &"d".repeat(129))],
            "InvalidParameter.DisplayName.Length",
        ),
        (
            "CreateUser",
            &[("UserName", "a"), ("Comments", &"c".repeat(129))],
            "InvalidParameter.Comments.Length",
        ),
        (
            "CreateGroup",
            &[("GroupName", &"g".repeat(65))],
            "InvalidParameter.GroupName.Length",
        ),
        (
            "GetRole",
            &[("RoleName", "bad/name")],
            "InvalidParameter.RoleName.InvalidChars",
        ),
        (
            "CreatePolicy",
            &[
                ("PolicyName", "p"),
                ("PolicyDocument", "{}"),
                ("Description", &"x".repeat(1025)),
            ],
            "InvalidParameter.Description.Length",
        ),
        (
            "UpdateUser",
            &[("UserName", "a"), ("NewUserName", "no spaces")],
            "InvalidParameter.NewUserName.InvalidChars",
        ),
        (
            "DecodeDiagnosticMessage",
            &[("EncodedDiagnosticMessage", "%%%")],
            "InvalidParameter.EncodedDiagnosticMessage",
        ),
    ];
    for (op, params, code) in cases {
        let mut call = ram(&app, &r, op);
        for (k, v) in params {
            call = call.param(k, v);
        }
        service_err(call.send().await, 400, code);
    }
    ram(&app, &r, "CreatePolicy")
        .param("PolicyName", "p")
        .param("PolicyDocument", &doc(json!([allow("ecs:*", "*")])))
        .ok()
        .await;
    service_err(
        ram(&app, &r, "CreatePolicyVersion")
            .param("PolicyName", "p")
            .param("PolicyDocument", &doc(json!([allow("ecs:*", "*")])))
            .param("RotateStrategy", "Sometimes")
            .send()
            .await,
        400,
        "InvalidParameter.RotateStrategy",
    );
    service_err(
        ram(&app, &r, "CreateRole")
            .param("RoleName", "role")
            .param(
                "AssumeRolePolicyDocument",
                &format!(
                    "{{\"Version\":\"1\",\"Statement\":[],\"x\":\"{}\"}}",
                    "y".repeat(6200)
                ),
            )
            .send()
            .await,
        400,
        "InvalidParameter.AssumeRolePolicyDocument.Length",
    );
    service_err(
        ram(&app, &r, "CreatePolicy")
            .param("PolicyName", "AdministratorAccess")
            .param("PolicyDocument", &doc(json!([allow("ecs:*", "*")])))
            .send()
            .await,
        409,
        "EntityAlreadyExists.Policy",
    );
}

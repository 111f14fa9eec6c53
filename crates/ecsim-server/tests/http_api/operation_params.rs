//! The parameter lists of the action table (what the console's API explorer shows) are
//! truthful: every parameter marked required is refused when missing, and a request carrying
//! just the required ones is never refused for a missing parameter. ECS's action table and
//! RAM's and STS's operation tables alike.

use crate::ram::{Who, attach_to_user, ram, sts, user};
use crate::support::*;
use ecsim_server::{ACTIONS, Param, RAM_OPS, RamOp, STS_OPS, Service};
use std::collections::HashMap;

/// A plausible value for every required parameter of every operation, naming real resources
/// so that the only thing wrong with a request is the parameter left out.
async fn sample_values(app: &TestApp) -> HashMap<&'static str, String> {
    let (image, instance) = app.available_image(Some("params-source")).await;
    let disk = app.system_disk(&instance).await;
    let snapshot = app.create_snapshot(&disk).await;
    app.finish_creations().await;
    HashMap::from([
        ("RegionId", REGION.to_string()),
        ("ImageId", image.clone()),
        ("InstanceId", instance.clone()),
        ("InstanceId.N", instance),
        ("InstanceType", X86_TYPE.to_string()),
        ("DiskId", disk),
        ("SnapshotId", snapshot),
        ("TaskId", "t-notatask".to_string()),
        ("OSSBucket", "bucket".to_string()),
        ("DiskDeviceMapping.N.OSSBucket", "bucket".to_string()),
        ("DiskDeviceMapping.N.OSSObject", "disk.raw".to_string()),
        ("ImageFamily", "params-family".to_string()),
        ("ResourceType", "image".to_string()),
        ("ResourceId.N", image),
        ("Tag.N.Key", "team".to_string()),
        // RAM and STS: well-formed names (they are checked before any lookup).
        ("UserName", "params-user".to_string()),
        ("GroupName", "params-group".to_string()),
        ("RoleName", "params-role".to_string()),
        ("PolicyName", "params-policy".to_string()),
        ("PolicyType", "Custom".to_string()),
        ("PolicyDocument", ALLOW_ALL.to_string()),
        ("AssumeRolePolicyDocument", TRUST_ROOT.to_string()),
        ("VersionId", "v1".to_string()),
        ("UserAccessKeyId", "LTAInotakey".to_string()),
        ("Status", "Inactive".to_string()),
        (
            "EncodedDiagnosticMessage",
            "bm90IGEgbWVzc2FnZQ==".to_string(),
        ),
        (
            "RoleArn",
            "acs:ram::1234567890123456:role/params-role".to_string(),
        ),
        ("RoleSessionName", "params-session".to_string()),
    ])
}

const ALLOW_ALL: &str =
    r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}]}"#;
const TRUST_ROOT: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1234567890123456:root"]}}]}"#;

/// RAM and STS calls go as a RAM user holding AdministratorAccess: it passes authorization, and
/// the AccessKey operations may leave `UserName` out to mean the caller (the root account may
/// not, which their descriptions say).
async fn ram_admin(app: &TestApp) -> Who {
    let admin = user(app, "params-admin").await;
    attach_to_user(app, "System", "AdministratorAccess", "params-admin").await;
    admin
}

fn ram_ops() -> impl Iterator<Item = &'static RamOp> {
    RAM_OPS.iter().chain(STS_OPS)
}

async fn send_ram(app: &TestApp, who: &Who, op: &RamOp, pairs: &[(String, String)]) -> Resp {
    let mut call = match op.service {
        Service::Ram => ram(app, who, op.name),
        Service::Sts => sts(app, who, op.name),
    };
    for (name, value) in pairs {
        call = call.param(name, value);
    }
    call.send().await
}

/// Asserts that `resp` refuses the call for a missing parameter.
#[track_caller]
fn assert_missing(name: &str, param: &str, resp: &Resp) {
    let body = resp.json();
    let code = body["Code"].as_str().unwrap_or_default();
    assert!(
        matches!(resp.status, 400 | 404) && code.starts_with("Missing"),
        "{name} without {param}: HTTP {} {body}",
        resp.status
    );
}

#[track_caller]
fn assert_not_missing(name: &str, resp: &Resp) {
    let body = resp.json();
    let code = body["Code"].as_str().unwrap_or_default();
    assert!(
        !code.starts_with("Missing"),
        "{name} with its required parameters: HTTP {} {body}",
        resp.status
    );
}

/// `Tag.N.Key` → `Tag.1.Key`: the wire name of the first item.
fn wire_name(name: &str) -> String {
    match name.strip_suffix(".N") {
        Some(base) => format!("{base}.1"),
        None => name.replace(".N.", ".1."),
    }
}

fn required_pairs(
    params: &[Param],
    values: &HashMap<&'static str, String>,
    except: Option<&str>,
) -> Vec<(String, String)> {
    params
        .iter()
        .filter(|p| p.required && Some(p.name) != except)
        .map(|p| {
            let value = values
                .get(p.name)
                .unwrap_or_else(|| panic!("no sample value for required {}", p.name));
            (wire_name(p.name), value.clone())
        })
        .collect()
}

#[tokio::test]
async fn every_required_parameter_is_refused_when_missing() {
    let app = TestApp::start();
    let values = sample_values(&app).await;
    let admin = ram_admin(&app).await;
    let mut checked = 0;
    for action in ACTIONS {
        for param in action.params.iter().filter(|p| p.required) {
            let pairs = required_pairs(action.params, &values, Some(param.name));
            let resp = app.call(action.name).params(&pairs).send().await;
            assert_missing(action.name, param.name, &resp);
            checked += 1;
        }
    }
    assert!(checked >= ACTIONS.len(), "only {checked} ECS checks");
    let mut ram_checked = 0;
    for op in ram_ops() {
        for param in op.params.iter().filter(|p| p.required) {
            let pairs = required_pairs(op.params, &values, Some(param.name));
            let resp = send_ram(&app, &admin, op, &pairs).await;
            assert_missing(op.name, param.name, &resp);
            ram_checked += 1;
        }
    }
    // Every RAM/STS operation but the paged lists, the AccessKey listing and GetCallerIdentity
    // requires something.
    assert!(
        ram_checked >= RAM_OPS.len(),
        "only {ram_checked} RAM/STS checks"
    );
}

#[tokio::test]
async fn the_required_parameters_alone_are_never_missing_something() {
    let app = TestApp::start();
    let values = sample_values(&app).await;
    // CreateImage needs one of InstanceId, SnapshotId or DiskDeviceMapping: none of them is
    // required alone, so the table marks none and its descriptions say "one of".
    for action in ACTIONS.iter().filter(|a| a.name != "CreateImage") {
        let pairs = required_pairs(action.params, &values, None);
        let resp = app.call(action.name).params(&pairs).send().await;
        assert_not_missing(action.name, &resp);
    }
    let admin = ram_admin(&app).await;
    for op in ram_ops() {
        let pairs = required_pairs(op.params, &values, None);
        let resp = send_ram(&app, &admin, op, &pairs).await;
        assert_not_missing(op.name, &resp);
    }
    // The root account has no "self" user: it must name one, as the description says.
    let root = Who::root(&app);
    let resp = ram(&app, &root, "ListAccessKeys").send().await;
    assert_missing("ListAccessKeys as root", "UserName", &resp);
}

fn check_documented(name: &str, params: &[Param]) {
    for (i, p) in params.iter().enumerate() {
        assert!(!p.description.is_empty(), "{name}.{}", p.name);
        assert_eq!(
            p.is_repeated(),
            p.name.ends_with(".N") || p.name.contains(".N."),
            "{name}.{}: .N names and max_items go together",
            p.name
        );
        assert!(
            params[i + 1..].iter().all(|q| q.name != p.name),
            "{name}.{} twice",
            p.name
        );
    }
}

#[test]
fn every_operation_documents_its_parameters_once() {
    for action in ACTIONS {
        assert!(
            !action.params.is_empty(),
            "{} lists no parameters",
            action.name
        );
        check_documented(action.name, action.params);
    }
    for op in ram_ops() {
        // GetCallerIdentity alone reads nothing but the signature.
        assert_eq!(
            op.params.is_empty(),
            op.name == "GetCallerIdentity",
            "{} lists no parameters",
            op.name
        );
        check_documented(op.name, op.params);
    }
}

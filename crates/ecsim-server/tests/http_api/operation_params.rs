//! The parameter lists of the action table (what the console's API explorer shows) are
//! truthful: every parameter marked required is refused when missing, and a request carrying
//! just the required ones is never refused for a missing parameter.

use crate::support::*;
use ecsim_server::ACTIONS;
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
        ("ResourceType", "image".to_string()),
        ("ResourceId.N", image),
        ("Tag.N.Key", "team".to_string()),
    ])
}

/// `Tag.N.Key` → `Tag.1.Key`: the wire name of the first item.
fn wire_name(name: &str) -> String {
    match name.strip_suffix(".N") {
        Some(base) => format!("{base}.1"),
        None => name.replace(".N.", ".1."),
    }
}

fn required_pairs(
    params: &[ecsim_server::Param],
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
    let mut checked = 0;
    for action in ACTIONS {
        for param in action.params.iter().filter(|p| p.required) {
            let pairs = required_pairs(action.params, &values, Some(param.name));
            let resp = app.call(action.name).params(&pairs).send().await;
            let status = resp.status;
            let body = resp.json();
            let code = body["Code"].as_str().unwrap_or_default();
            assert!(
                matches!(status, 400 | 404) && code.starts_with("Missing"),
                "{} without {}: HTTP {status} {body}",
                action.name,
                param.name
            );
            checked += 1;
        }
    }
    assert!(checked >= ACTIONS.len(), "only {checked} checks");
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
        let status = resp.status;
        let body = resp.json();
        let code = body["Code"].as_str().unwrap_or_default();
        assert!(
            !code.starts_with("Missing"),
            "{} with its required parameters: HTTP {status} {body}",
            action.name
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
        for (i, p) in action.params.iter().enumerate() {
            assert!(!p.description.is_empty(), "{}.{}", action.name, p.name);
            assert_eq!(
                p.is_repeated(),
                p.name.ends_with(".N") || p.name.contains(".N."),
                "{}.{}: .N names and max_items go together",
                action.name,
                p.name
            );
            assert!(
                action.params[i + 1..].iter().all(|q| q.name != p.name),
                "{}.{} twice",
                action.name,
                p.name
            );
        }
    }
}

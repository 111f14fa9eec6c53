//! `/console/`: the embedded assets, their headers, and the operation catalogue.

use crate::support::*;
use axum::http::Method;
use ecsim_server::{ACTIONS, RAM_OPS, RAM_VERSION, STS_OPS, STS_VERSION};

#[tokio::test]
async fn console_redirects_serves_assets_with_strict_headers_and_404s_the_rest() {
    let app = TestApp::start();
    let redirect = app.raw(Method::GET, "/console", b"").await;
    assert_eq!(redirect.status, 301);
    assert_eq!(redirect.header("location"), Some("/console/"));

    for (path, content_type) in [
        ("/console/", "text/html; charset=utf-8"),
        ("/console/js/main.js", "text/javascript; charset=utf-8"),
        ("/console/console.css", "text/css; charset=utf-8"),
    ] {
        let resp = app.raw(Method::GET, path, b"").await;
        assert_eq!(resp.status, 200, "{path}");
        assert_eq!(resp.content_type(), Some(content_type), "{path}");
        let csp = resp.header("content-security-policy").unwrap_or_default();
        assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
        assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
    }
    let index = app.raw(Method::GET, "/console/", b"").await.text();
    assert!(index.contains(r#"<script type="module" src="/console/js/main.js">"#));

    for missing in [
        "/console/js/missing.js",
        "/console/../Cargo.toml",
        "/console/js/",
    ] {
        let resp = app.raw(Method::GET, missing, b"").await;
        assert_eq!(resp.status, 404, "{missing}");
    }
}

#[tokio::test]
async fn the_operation_catalogue_is_the_action_table() {
    let app = TestApp::start();
    let resp = app
        .raw(Method::GET, "/console/api/operations.json", b"")
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.content_type(), Some("application/json; charset=utf-8"));
    let catalogue = resp.json();
    let listed: Vec<(&str, &str, &str)> = catalogue["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .map(|op| {
            (
                op["product"].as_str().expect("product"),
                op["version"].as_str().expect("version"),
                op["name"].as_str().expect("name"),
            )
        })
        .collect();
    let expected: Vec<(&str, &str, &str)> = ACTIONS
        .iter()
        .map(|a| ("Ecs", VERSION, a.name))
        .chain(RAM_OPS.iter().map(|op| ("Ram", RAM_VERSION, op.name)))
        .chain(STS_OPS.iter().map(|op| ("Sts", STS_VERSION, op.name)))
        .collect();
    assert_eq!(listed, expected);
    let names: Vec<&str> = listed.iter().map(|(_, _, name)| *name).collect();
    for (i, name) in names.iter().enumerate() {
        assert!(!names[i + 1..].contains(name), "{name} named twice");
    }
    let tag_resources = &catalogue["operations"][names
        .iter()
        .position(|n| *n == "TagResources")
        .expect("TagResources")];
    let tag_key = tag_resources["params"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "Tag.N.Key"))
        .expect("Tag.N.Key");
    assert_eq!(tag_key["required"], true);
    assert_eq!(tag_key["maxItems"], 20);
}

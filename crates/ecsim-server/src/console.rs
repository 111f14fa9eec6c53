//! The web console and API explorer under `/console/`: static assets compiled into the binary
//! and the operation catalogue generated from the action table. The page signs every API call
//! itself (V3, in the browser), so nothing here sees credentials and RAM applies as for SDKs.

use crate::actions::{ACTIONS, ECS_VERSION, RegionRule};
use crate::operation_params::Param;
use crate::ram::{RAM_OPS, STS_OPS};
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

/// `path under /console/` → (content type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_bytes!("../console/index.html"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("../console/console.css"),
    ),
    ("js/main.js", JS, include_bytes!("../console/js/main.js")),
    (
        "js/signer.js",
        JS,
        include_bytes!("../console/js/signer.js"),
    ),
    ("js/api.js", JS, include_bytes!("../console/js/api.js")),
    (
        "js/errors.js",
        JS,
        include_bytes!("../console/js/errors.js"),
    ),
    ("js/dom.js", JS, include_bytes!("../console/js/dom.js")),
    (
        "js/images.js",
        JS,
        include_bytes!("../console/js/images.js"),
    ),
    ("js/tasks.js", JS, include_bytes!("../console/js/tasks.js")),
    (
        "js/explorer.js",
        JS,
        include_bytes!("../console/js/explorer.js"),
    ),
    (
        "js/snippets.js",
        JS,
        include_bytes!("../console/js/snippets.js"),
    ),
];

const JS: &str = "text/javascript; charset=utf-8";

/// Everything is same-origin: scripts, styles and API calls; no inline code, no framing.
const CSP: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/console", get(redirect_to_console))
        .route("/console/", get(|| async { asset("index.html") }))
        .route("/console/api/operations.json", get(operations_json))
        .route(
            "/console/{*path}",
            get(|Path(path): Path<String>| async move { asset(&path) }),
        )
}

async fn redirect_to_console() -> Response {
    let mut response = StatusCode::MOVED_PERMANENTLY.into_response();
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/console/"));
    response
}

fn with_security_headers(mut response: Response, content_type: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Assets change with the binary; revalidating each load is cheap on loopback.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn asset(path: &str) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == path) {
        Some((_, content_type, bytes)) => {
            with_security_headers((StatusCode::OK, *bytes).into_response(), content_type)
        }
        None => with_security_headers(
            (StatusCode::NOT_FOUND, "not found\n").into_response(),
            "text/plain; charset=utf-8",
        ),
    }
}

fn param_json(param: &Param) -> Value {
    json!({
        "name": param.name,
        "type": param.ty.name(),
        "required": param.required,
        "maxItems": param.is_repeated().then_some(param.max_items),
        "description": param.description,
    })
}

fn operation_json(
    product: &str,
    version: &str,
    name: &str,
    ram_action: &str,
    region_from_resource: bool,
    params: &[Param],
) -> Value {
    json!({
        "product": product,
        "version": version,
        "name": name,
        "ramAction": ram_action,
        "regionFromResource": region_from_resource,
        "params": params.iter().map(param_json).collect::<Vec<_>>(),
    })
}

/// The operation catalogue, from the operation tables (ECS's action table, then RAM's and STS's):
/// what the explorer offers and renders, each operation with the product and API version that
/// route a call to it.
pub fn operations() -> Value {
    let ecs = ACTIONS.iter().map(|action| {
        operation_json(
            "Ecs",
            ECS_VERSION,
            action.name,
            action.ram_action,
            action.region == RegionRule::FromResource,
            action.params,
        )
    });
    let ram = RAM_OPS.iter().chain(STS_OPS).map(|op| {
        operation_json(
            op.service.product(),
            op.service.version(),
            op.name,
            op.ram_action,
            false,
            op.params,
        )
    });
    json!({ "operations": ecs.chain(ram).collect::<Vec<_>>() })
}

async fn operations_json() -> Response {
    with_security_headers(
        (StatusCode::OK, operations().to_string()).into_response(),
        "application/json; charset=utf-8",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_non_empty_and_named_once() {
        for (i, (name, _, bytes)) in ASSETS.iter().enumerate() {
            assert!(!bytes.is_empty(), "{name} is empty");
            assert!(
                ASSETS[i + 1..].iter().all(|(other, _, _)| other != name),
                "{name} twice"
            );
        }
    }

    #[test]
    fn the_catalogue_lists_every_action_with_its_parameters() {
        let catalogue = operations();
        let listed = catalogue["operations"].as_array().expect("an array");
        assert_eq!(listed.len(), ACTIONS.len() + RAM_OPS.len() + STS_OPS.len());
        let delete = listed
            .iter()
            .find(|op| op["name"] == "DeleteImage")
            .expect("DeleteImage listed");
        let image_id = delete["params"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "ImageId"))
            .expect("ImageId listed");
        assert_eq!(image_id["required"], true);
        assert_eq!(image_id["type"], "String");
        assert_eq!(
            (&delete["product"], &delete["version"]),
            (&json!("Ecs"), &json!(ECS_VERSION))
        );

        let product_of = |name: &str| {
            let op = listed
                .iter()
                .find(|op| op["name"] == name)
                .unwrap_or_else(|| panic!("{name} listed"));
            (op["product"].clone(), op["version"].clone())
        };
        assert_eq!(
            product_of("CreateUser"),
            (json!("Ram"), json!("2015-05-01"))
        );
        assert_eq!(
            product_of("AssumeRole"),
            (json!("Sts"), json!("2015-04-01"))
        );
        assert_eq!(
            product_of("GetCallerIdentity"),
            (json!("Sts"), json!("2015-04-01"))
        );
    }
}

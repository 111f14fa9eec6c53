//! The gateway: routing, decoding, signatures (V1, V3), timestamps, nonces, formats
//! (spec ecs-image-api §1, wire-protocol §3–§7).

use crate::support::*;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request};
use ecsim_core::clock::{format_time, parse_time};
use std::time::Duration;

const MINUTE: i64 = 60_000;

// ---- routing before authentication ------------------------------------------------------

#[tokio::test]
async fn missing_action_or_version_is_invalid_parameter() {
    let app = TestApp::start();
    let msg = "The specified parameter \"Action or Version\" is not valid.";
    app.raw(
        Method::GET,
        "/?Version=2014-05-26&RegionId=cn-hangzhou",
        b"",
    )
    .await
    .err_msg(400, "InvalidParameter", msg);
    app.raw(Method::GET, "/?Action=DescribeRegions", b"")
        .await
        .err_msg(400, "InvalidParameter", msg);
    app.raw(Method::POST, "/", b"")
        .await
        .err_msg(400, "InvalidParameter", msg);
}

#[tokio::test]
async fn unknown_version_is_invalid_version() {
    let app = TestApp::start();
    app.raw(
        Method::GET,
        "/?Action=DescribeRegions&Version=2016-03-14",
        b"",
    )
    .await
    .err_msg(
        400,
        "InvalidVersion",
        "Specified parameter Version is not valid.",
    );
}

#[tokio::test]
async fn unknown_action_is_not_found() {
    let app = TestApp::start();
    let msg = "Specified api is not found, please check your url and method.";
    // Signed, unsigned, and with the right name in the wrong case (names are case-sensitive).
    app.call("DescribeUnicorns")
        .region()
        .send()
        .await
        .err_msg(404, "InvalidAction.NotFound", msg);
    app.raw(
        Method::GET,
        "/?Action=DescribeUnicorns&Version=2014-05-26",
        b"",
    )
    .await
    .err(404, "InvalidAction.NotFound");
    app.call("deleteimage")
        .region()
        .param("ImageId", "m-x")
        .send()
        .await
        .err(404, "InvalidAction.NotFound");
}

#[tokio::test]
async fn other_methods_on_root_are_unsupported() {
    let app = TestApp::start();
    for method in [Method::PUT, Method::DELETE, Method::PATCH] {
        app.raw(method, "/?Action=DescribeRegions&Version=2014-05-26", b"")
            .await
            .err_msg(
                403,
                "UnsupportedHTTPMethod",
                "This HTTP method is not supported.",
            );
    }
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let app = TestApp::start();
    app.raw(Method::GET, "/nope", b"")
        .await
        .err(404, "InvalidAction.NotFound");
    app.raw(
        Method::POST,
        "/nope?Action=DescribeRegions&Version=2014-05-26",
        b"",
    )
    .await
    .err(404, "InvalidAction.NotFound");
}

// ---- decoding ---------------------------------------------------------------------------

#[tokio::test]
async fn invalid_utf8_or_escapes_are_invalid_parameter() {
    let app = TestApp::start();
    let body = app
        .raw(
            Method::GET,
            "/?Action=DescribeRegions&Version=2014-05-26&Name=%FF",
            b"",
        )
        .await
        .err(400, "InvalidParameter");
    assert!(
        body["Message"]
            .as_str()
            .is_some_and(|m| m.contains("\"Name\"")),
        "{body}"
    );
    // A signed request is refused the same way: decoding comes first.
    let mut built = app.call("DescribeImages").region().build();
    let uri = format!("{}&ImageName=%FF%FE", built.request.uri());
    *built.request.uri_mut() = uri.parse().expect("uri");
    app.send(built.request).await.err(400, "InvalidParameter");
    app.raw(
        Method::GET,
        "/?Action=DescribeRegions&Version=2014-05-26&A=%G1",
        b"",
    )
    .await
    .err(400, "InvalidParameter");
    // Invalid UTF-8 in a form body.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(
            &b"Action=DescribeRegions&Version=2014-05-26&Name=%C3%28"[..],
        ))
        .expect("request builds");
    app.send(request).await.err(400, "InvalidParameter");
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = TestApp::with_settings(|s| s.max_body_bytes = 256);
    let big = vec![b'a'; 1000];
    // Declared by Content-Length.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/?Action=DescribeRegions&Version=2014-05-26")
        .header("content-length", big.len())
        .body(Body::from(big.clone()))
        .expect("request builds");
    app.send(request).await.err(413, "RequestEntityTooLarge");
    // Not declared: found while reading.
    app.raw(
        Method::POST,
        "/?Action=DescribeRegions&Version=2014-05-26",
        &big,
    )
    .await
    .err(413, "RequestEntityTooLarge");
    // A signed pop-core style form body over the limit.
    let padding = "x".repeat(300);
    app.call("DescribeRegions")
        .v1()
        .form_body()
        .param("Padding", &padding)
        .send()
        .await
        .err(413, "RequestEntityTooLarge");
    // Small requests still pass.
    app.call("DescribeRegions").send().await.ok();
    app.call("DescribeRegions")
        .v1()
        .form_body()
        .send()
        .await
        .ok();
}

// ---- authentication ---------------------------------------------------------------------

#[tokio::test]
async fn unsigned_requests_are_incomplete_signature() {
    let app = TestApp::start();
    app.raw(
        Method::GET,
        "/?Action=DescribeRegions&Version=2014-05-26",
        b"",
    )
    .await
    .err(400, "IncompleteSignature");
    // An Authorization header of another scheme does not count as a signature.
    let request = Request::builder()
        .uri("/?Action=DescribeRegions&Version=2014-05-26")
        .header("authorization", "Bearer abc")
        .body(Body::empty())
        .expect("request builds");
    app.send(request).await.err(400, "IncompleteSignature");
    // Bearer tokens are not supported.
    app.raw(
        Method::GET,
        "/?Action=DescribeRegions&Version=2014-05-26&SignatureType=BEARERTOKEN&BearerToken=x",
        b"",
    )
    .await
    .err(400, "IncompleteSignature");
}

#[tokio::test]
async fn garbage_v3_authorization_is_incomplete_signature() {
    let app = TestApp::start();
    for bad in [
        "ACS3-HMAC-SHA256 garbage",
        "ACS3-HMAC-SHA256",
        "ACS3-HMAC-SHA1 Credential=testid,SignedHeaders=host,Signature=00",
        "ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=00",
        // Well-formed, but the required headers are not all signed.
        "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;x-acs-date,Signature=00",
        // RSA cannot be verified without the caller's public key.
        "ACS3-RSA-SHA256 Credential=testid,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=00",
    ] {
        let mut built = app.call("DescribeRegions").build();
        built.request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(bad).expect("header value"),
        );
        app.send(built.request)
            .await
            .err(400, "IncompleteSignature");
    }
}

#[tokio::test]
async fn wrong_secret_is_signature_mismatch_with_the_servers_string_to_sign() {
    let app = TestApp::start();
    let prefix =
        "Specified signature is not matched with our calculation. server string to sign is:";
    for call in [
        app.call("DescribeRegions"),
        app.call("DescribeRegions").sm3(),
        app.call("DescribeImages")
            .region()
            .param("ImageName", "a b*c"),
        app.call("DescribeRegions").v1(),
        app.call("DescribeRegions").v1().method(Method::GET),
        app.call("DescribeRegions").v1().form_body(),
    ] {
        let built = call.secret("not-the-secret").build();
        let body = app
            .send(built.request)
            .await
            .err(400, "SignatureDoesNotMatch");
        assert_eq!(
            body["Message"].as_str(),
            Some(format!("{prefix}{}", built.string_to_sign).as_str()),
            "the message must end with the exact string to sign"
        );
    }
    // The classic Python SDK splits V1 messages on ':' and compares element 1 with its own
    // string to sign (to report a wrong secret as InvalidAccessKeySecret).
    let built = app.call("DescribeRegions").v1().secret("wrong").build();
    let body = app
        .send(built.request)
        .await
        .err(400, "SignatureDoesNotMatch");
    let message = str_of(&body["Message"]);
    assert_eq!(
        message.split(':').nth(1),
        Some(built.string_to_sign.as_str())
    );
}

#[tokio::test]
async fn tampering_after_signing_is_signature_mismatch() {
    let app = TestApp::start();
    // V1 signs the method: signed as GET, sent as POST.
    let mut built = app.call("DescribeRegions").v1().method(Method::GET).build();
    *built.request.method_mut() = Method::POST;
    app.send(built.request)
        .await
        .err(400, "SignatureDoesNotMatch");
    // V3 signs the host header (a rewriting proxy breaks Python-Tea signatures).
    let mut built = app.call("DescribeRegions").build();
    built
        .request
        .headers_mut()
        .insert("host", HeaderValue::from_static("localhost:8080"));
    app.send(built.request)
        .await
        .err(400, "SignatureDoesNotMatch");
    // V3 signs the query.
    let mut built = app
        .call("DescribeImages")
        .region()
        .param("ImageOwnerAlias", "self")
        .build();
    let tampered = built
        .request
        .uri()
        .to_string()
        .replace("ImageOwnerAlias=self", "ImageOwnerAlias=system");
    *built.request.uri_mut() = tampered.parse().expect("uri");
    app.send(built.request)
        .await
        .err(400, "SignatureDoesNotMatch");
}

#[tokio::test]
async fn v3_body_hash_mismatch_is_signature_mismatch() {
    let app = TestApp::start();
    // The signed hash is SHA-256("") but a body is sent.
    let built = app.call("DescribeRegions").send_body(b"unexpected").build();
    let body = app
        .send(built.request)
        .await
        .err(400, "SignatureDoesNotMatch");
    let message = str_of(&body["Message"]);
    assert!(
        message.ends_with(&format!(
            "server string to sign is:{}",
            built.string_to_sign
        )),
        "{message}"
    );
    // A signed form body replaced by another one.
    let built = app
        .call("DescribeImages")
        .form_body()
        .region()
        .send_body(b"RegionId=cn-beijing")
        .build();
    app.send(built.request)
        .await
        .err(400, "SignatureDoesNotMatch");
}

#[tokio::test]
async fn unknown_access_key_is_not_found() {
    let app = TestApp::start();
    let msg = "Specified access key is not found.";
    app.call("DescribeRegions")
        .key_id("LTAI5tNoSuchKey000000000")
        .send()
        .await
        .err_msg(404, "InvalidAccessKeyId.NotFound", msg);
    app.call("DescribeRegions")
        .v1()
        .key_id("LTAI5tNoSuchKey000000000")
        .send()
        .await
        .err_msg(404, "InvalidAccessKeyId.NotFound", msg);
}

/// Nonces as a previous run of the server left them in the database.
fn nonces_of_an_earlier_run(app: &TestApp, nonces: &[&str]) {
    let records: Vec<_> = nonces
        .iter()
        .map(|nonce| ecsim_store::NonceRecord {
            access_key_id: app.root.key_id.clone(),
            nonce: (*nonce).into(),
            seen_at: app.now() - 1000,
        })
        .collect();
    app.state
        .store
        .write(|tx| Ok(tx.insert_nonces(&records)?))
        .expect("nonces written");
}

#[tokio::test]
async fn signed_requests_wait_for_the_nonce_preload_and_replays_of_earlier_runs_are_refused() {
    let app = TestApp::before_nonce_preload(|_| {});
    nonces_of_an_earlier_run(&app, &["before-run-1", "before-run-2"]);
    // `ecsim serve` loads them after it starts answering; until then signed requests wait on
    // SQLite. Nodes sharing PostgreSQL claim each nonce in it instead, and never wait.
    let replay = app.call("DescribeRegions").nonce("before-run-1");
    let replay = replay.send();
    tokio::pin!(replay);
    if !app.state.store.is_shared() {
        assert!(
            tokio::time::timeout(Duration::from_millis(300), &mut replay)
                .await
                .is_err(),
            "answered before the earlier nonces were loaded"
        );
    }
    app.state.preload_nonces().expect("nonces loaded");
    assert!(app.state.nonces.is_loaded());
    replay.await.err(400, "SignatureNonceUsed");
    app.call("DescribeRegions")
        .nonce("before-run-2")
        .send()
        .await
        .err(400, "SignatureNonceUsed");
    app.call("DescribeRegions").nonce("new-1").send().await.ok();
    app.call("DescribeRegions")
        .nonce("new-1")
        .send()
        .await
        .err(400, "SignatureNonceUsed");
}

#[tokio::test]
async fn without_the_nonce_preload_the_database_refuses_replays_of_earlier_runs() {
    let app = TestApp::before_nonce_preload(|_| {});
    nonces_of_an_earlier_run(&app, &["before-run-1"]);
    // A preload that failed: requests stop waiting and the database is asked instead.
    app.state.nonces.preload_failed();
    assert!(!app.state.nonces.is_loaded());
    app.call("DescribeRegions")
        .nonce("before-run-1")
        .send()
        .await
        .err(400, "SignatureNonceUsed");
    app.call("DescribeRegions").nonce("new-1").send().await.ok();
    app.call("DescribeRegions")
        .nonce("new-1")
        .send()
        .await
        .err(400, "SignatureNonceUsed");
}

#[tokio::test]
async fn replayed_nonce_is_refused() {
    let app = TestApp::start();
    let msg = "Specified signature nonce was used already.";
    for call in [
        app.call("DescribeRegions").nonce("nonce-v3"),
        app.call("DescribeRegions").v1().nonce("nonce-v1"),
    ] {
        call.send().await.ok();
        call.send().await.err_msg(400, "SignatureNonceUsed", msg);
    }
    // Nonces are per AccessKey: another key may use the same one.
    let other = app.new_account();
    app.call("DescribeRegions")
        .as_(&other)
        .nonce("nonce-v3")
        .send()
        .await
        .ok();
    // A request refused for its signature does not spend the nonce.
    app.call("DescribeRegions")
        .nonce("fresh")
        .secret("wrong")
        .send()
        .await
        .err(400, "SignatureDoesNotMatch");
    app.call("DescribeRegions").nonce("fresh").send().await.ok();
    // A request that authenticated but failed in the handler did spend it.
    let failing = app
        .call("DeleteImage")
        .region()
        .param("ImageId", "m-nope")
        .nonce("spent");
    failing.send().await.err(404, "InvalidImageId.NotFound");
    failing.send().await.err(400, "SignatureNonceUsed");
}

#[tokio::test]
async fn timestamps_outside_the_window_are_expired() {
    let app = TestApp::start();
    let msg = "Specified time stamp or date value is expired.";
    let old = format_time(app.now() - 20 * MINUTE);
    let future = format_time(app.now() + 20 * MINUTE);
    for date in [&old, &future] {
        app.call("DescribeRegions").date(date).send().await.err_msg(
            400,
            "InvalidTimeStamp.Expired",
            msg,
        );
        app.call("DescribeRegions")
            .v1()
            .date(date)
            .send()
            .await
            .err_msg(400, "InvalidTimeStamp.Expired", msg);
    }
    // 14 minutes of skew is inside the 15-minute window.
    let skewed = format_time(app.now() - 14 * MINUTE);
    app.call("DescribeRegions").date(&skewed).send().await.ok();
    app.call("DescribeRegions")
        .v1()
        .date(&skewed)
        .send()
        .await
        .ok();
}

#[tokio::test]
async fn malformed_timestamps_are_format_errors() {
    let app = TestApp::start();
    let msg = "Specified time stamp or date value is not well formatted.";
    for date in ["yesterday", "2024-13-45T25:61:00Z", "2024-01-01 12:00:00"] {
        app.call("DescribeRegions").date(date).send().await.err_msg(
            400,
            "InvalidTimeStamp.Format",
            msg,
        );
        app.call("DescribeRegions")
            .v1()
            .date(date)
            .send()
            .await
            .err_msg(400, "InvalidTimeStamp.Format", msg);
    }
}

// ---- SDK styles that must authenticate --------------------------------------------------

#[tokio::test]
async fn every_signing_style_authenticates() {
    let app = TestApp::start();
    for call in [
        app.call("DescribeRegions"),
        app.call("DescribeRegions").sm3(),
        app.call("DescribeRegions").form_body(),
        app.call("DescribeRegions").v1(),
        app.call("DescribeRegions").v1().method(Method::GET),
        app.call("DescribeRegions").v1().param("SignatureType", ""),
    ] {
        let body = call.send().await.ok();
        assert!(
            body["Regions"]["Region"]
                .as_array()
                .is_some_and(|r| !r.is_empty()),
            "{body}"
        );
    }
}

#[tokio::test]
async fn pop_core_form_body_post_works_end_to_end() {
    let app = TestApp::start();
    let (image, _) = app.available_image(Some("form-body")).await;
    // Everything, Signature included, in an application/x-www-form-urlencoded body.
    app.call("DeleteImage")
        .v1()
        .form_body()
        .region()
        .param("ImageId", &image)
        .param("Format", "JSON")
        .send()
        .await
        .ok();
    assert!(app.describe_image(&image).await.is_none());
    // V3 with the operation parameters in a signed form body works too.
    let body = app
        .call("DescribeImages")
        .form_body()
        .region()
        .param("ImageOwnerAlias", "system")
        .send()
        .await
        .ok();
    assert!(body["TotalCount"].as_u64().is_some_and(|n| n > 0), "{body}");
}

/// The raw requests the real SDKs sent (wire-protocol §5.5), replayed with the server clock at
/// the time they were recorded: each authenticates and reaches DeleteImage, which answers 404
/// for `m-test`.
#[tokio::test]
async fn captured_sdk_requests_authenticate() {
    let app = TestApp::start();
    let recorded = parse_time("2026-11-28T04:12:30Z").expect("time parses");
    app.clock.advance(recorded - app.now());
    let not_found = "InvalidImageId.NotFound";

    let python_tea_v3 = Request::builder()
        .method(Method::POST)
        .uri("/?Force=True&ImageId=m-test&RegionId=cn-hangzhou")
        .header("Accept-Encoding", "identity")
        .header("host", "127.0.0.1:18080")
        .header("x-acs-version", "2014-05-26")
        .header("x-acs-action", "DeleteImage")
        .header("user-agent", "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2")
        .header("x-acs-date", "2026-11-28T04:12:24Z")
        .header("x-acs-signature-nonce", "6bd9f6ed1e8a9deb98538c3f71f0b34d")
        .header("accept", "application/json")
        .header("x-acs-content-sha256", empty_sha256())
        .header("x-acs-credentials-provider", "static_ak")
        .header("Authorization", "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=8c5d66b67ad7979feb690e43135e5c2f3a2a2975370f06453c183659d098542f")
        .header("Content-Length", "0")
        .body(Body::empty())
        .expect("request builds");
    app.send(python_tea_v3).await.err(404, not_found);

    let node_tea_v3 = Request::builder()
        .method(Method::POST)
        .uri("/?Force=true&ImageId=m-test&RegionId=cn-hangzhou")
        .header("host", "127.0.0.1:18080")
        .header("x-acs-version", "2014-05-26")
        .header("x-acs-action", "DeleteImage")
        .header("user-agent", "AlibabaCloud (linux; x64) Node.js/v20.20.2 Core/1.0.1 TeaDSL/2")
        .header("x-acs-date", "2026-11-28T04:12:27Z")
        .header("x-acs-signature-nonce", "ff763a0a54b7ba4206071f462bf3e8bfaf2698a349dc0969cbbad9c8cf32b155")
        .header("accept", "application/json")
        .header("x-acs-content-sha256", empty_sha256())
        .header("x-acs-credentials-provider", "static_ak")
        .header("Authorization", "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=d1a3dae2200599e9c07560ce0e852b6947b879301c5dc21c718b17d9c7c7de2d")
        .header("Connection", "keep-alive")
        .header("Content-Length", "0")
        .body(Body::empty())
        .expect("request builds");
    app.send(node_tea_v3).await.err(404, not_found);

    for (method, uri) in [
        (
            Method::POST,
            "/?Action=DeleteImage&Format=json&Version=2014-05-26&Timestamp=2026-11-28T04%3A12%3A25Z&SignatureNonce=50fe7cbd354cdfa173006464694b034b&Force=True&ImageId=m-test&RegionId=cn-hangzhou&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testid&Signature=BbanNOZtt2alCxvKTikKPDvM8LQ%3D",
        ),
        (
            Method::POST,
            "/?ImageId=m-test&Force=True&Version=2014-05-26&Action=DeleteImage&Format=JSON&RegionId=cn-hangzhou&Timestamp=2026-11-28T04%3A12%3A25Z&SignatureMethod=HMAC-SHA1&SignatureType=&SignatureVersion=1.0&SignatureNonce=378b4aded33c227a4a2aec15587267c9&AccessKeyId=testid&Signature=IMgSMrM3Z9BgI5ab3onqwvKUNzU%3D",
        ),
        (
            Method::GET,
            "/?AccessKeyId=testid&Action=DeleteImage&Force=true&Format=JSON&ImageId=m-test&RegionId=cn-hangzhou&SignatureMethod=HMAC-SHA1&SignatureNonce=e7bda0153c28651a31825b7dad11db7a&SignatureVersion=1.0&Timestamp=2026-11-28T04%3A12%3A28Z&Version=2014-05-26&Signature=p6ldaLpaJ9AUNxfQSpXhmA4vXKk%3D",
        ),
    ] {
        app.raw(method, uri, b"").await.err(404, not_found);
    }

    let pop_core_post = Request::builder()
        .method(Method::POST)
        .uri("/")
        .header("host", "127.0.0.1:18080")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-acs-action", "DeleteImage")
        .header("x-acs-version", "2014-05-26")
        .body(Body::from(&b"AccessKeyId=testid&Action=DeleteImage&Force=true&Format=JSON&ImageId=m-test&RegionId=cn-hangzhou&SignatureMethod=HMAC-SHA1&SignatureNonce=922182cae84aae0b476651a9cb42bacc&SignatureVersion=1.0&Timestamp=2026-11-28T04%3A12%3A29Z&Version=2014-05-26&Signature=97ImEfrEGPIGifJ7NdP2qVUts7o%3D"[..]))
        .expect("request builds");
    app.send(pop_core_post).await.err(404, not_found);
}

// ---- regions ----------------------------------------------------------------------------

#[tokio::test]
async fn missing_region_is_missing_region_id() {
    let app = TestApp::start();
    let msg = "RegionId is mandatory for this action.";
    for action in [
        "DescribeImages",
        "CreateImage",
        "DeleteImage",
        "ModifyImageAttribute",
        "RunInstances",
        "DescribeInstances",
        "DescribeZones",
    ] {
        app.call(action)
            .param("ImageId", "m-x")
            .send()
            .await
            .err_msg(400, "MissingRegionId", msg);
    }
    // An empty value counts as missing.
    app.call("DescribeImages")
        .param("RegionId", "")
        .send()
        .await
        .err_msg(400, "MissingRegionId", msg);
}

#[tokio::test]
async fn unknown_region_is_not_found() {
    let app = TestApp::start();
    for action in ["DescribeImages", "DeleteImage", "DescribeRegions"] {
        app.call(action)
            .param("RegionId", "cn-atlantis")
            .param("ImageId", "m-x")
            .send()
            .await
            .err_msg(
                404,
                "InvalidRegionId.NotFound",
                "The specified RegionId does not exist.",
            );
    }
}

#[tokio::test]
async fn error_host_id_is_the_regions_endpoint() {
    let app = TestApp::start();
    let body = app
        .call("DeleteImage")
        .region()
        .param("ImageId", "m-nope")
        .send()
        .await
        .err(404, "InvalidImageId.NotFound");
    assert_eq!(body["HostId"], HOST);
}

// ---- formats and value parsing ----------------------------------------------------------

#[tokio::test]
async fn format_xml_answers_xml_for_success_and_errors() {
    let app = TestApp::start();
    for format in ["XML", "xml"] {
        let resp = app
            .call("DescribeRegions")
            .v1()
            .param("Format", format)
            .send()
            .await;
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert_eq!(resp.content_type(), Some(XML_CT));
        let text = resp.text();
        assert!(
            text.starts_with(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DescribeRegionsResponse><RequestId>"
            ),
            "{text}"
        );
        assert!(text.ends_with("</DescribeRegionsResponse>"), "{text}");
        assert!(
            text.contains("<Regions><Region><RegionId>cn-qingdao</RegionId>"),
            "{text}"
        );
        assert_eq!(
            resp.xml_field("RequestId").as_deref(),
            resp.header("x-acs-request-id")
        );
    }

    // Errors in XML: after authentication, and before it.
    let failing = [
        app.call("DescribeImages")
            .v1()
            .param("Format", "XML")
            .param("RegionId", "cn-atlantis"),
        app.call("DeleteImage")
            .v1()
            .param("Format", "XML")
            .region()
            .param("ImageId", "m-nope"),
    ];
    let expected = [
        (404, "InvalidRegionId.NotFound"),
        (404, "InvalidImageId.NotFound"),
    ];
    for (call, (status, code)) in failing.into_iter().zip(expected) {
        let resp = call.send().await;
        assert_xml_error(&resp, status, code);
    }
    let resp = app
        .raw(
            Method::GET,
            "/?Action=DescribeRegions&Version=1999-01-01&Format=XML",
            b"",
        )
        .await;
    assert_xml_error(&resp, 400, "InvalidVersion");

    // V1 without Format, and Format=JSON, answer JSON (no SDK asks for XML by default).
    app.call("DescribeRegions").v1().send().await.ok();
    app.call("DescribeRegions")
        .v1()
        .param("Format", "JSON")
        .send()
        .await
        .ok();
}

#[track_caller]
fn assert_xml_error(resp: &Resp, status: u16, code: &str) {
    let text = resp.text();
    assert_eq!(resp.status, status, "{text}");
    assert_eq!(resp.content_type(), Some(XML_CT), "{text}");
    assert!(
        text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><RequestId>"),
        "{text}"
    );
    assert!(text.ends_with("</Error>"), "{text}");
    assert_eq!(resp.xml_field("Code").as_deref(), Some(code), "{text}");
    let request_id = resp.xml_field("RequestId").expect("RequestId element");
    assert_eq!(resp.header("x-acs-request-id"), Some(request_id.as_str()));
    for field in ["HostId", "Message", "Recommend"] {
        assert!(
            resp.xml_field(field).is_some_and(|v| !v.is_empty()),
            "{field} missing: {text}"
        );
    }
}

#[tokio::test]
async fn booleans_are_case_insensitive_and_strict() {
    let app = TestApp::start();
    for value in ["True", "TRUE", "true"] {
        app.call("DescribeImages")
            .region()
            .param("DryRun", value)
            .send()
            .await
            .err_msg(
                400,
                "DryRunOperation",
                "Request validation has been passed with DryRun flag set.",
            );
    }
    for value in ["False", "FALSE", "false"] {
        app.call("DescribeImages")
            .region()
            .param("DryRun", value)
            .send()
            .await
            .ok();
    }
    for value in ["yes", "1", "on"] {
        let body = app
            .call("DescribeImages")
            .region()
            .param("DryRun", value)
            .send()
            .await
            .err(400, "InvalidParameter");
        assert!(
            str_of(&body["Message"]).contains("DryRun"),
            "the message names the parameter: {body}"
        );
    }
    app.call("DeleteImage")
        .region()
        .param("ImageId", "m-x")
        .param("Force", "yes")
        .send()
        .await
        .err(400, "InvalidParameter");
}

#[tokio::test]
async fn inactive_access_key_is_refused() {
    let app = TestApp::start();
    let account = app.root.account_id;
    let now = app.now();
    app.state
        .store
        .write(|tx| {
            tx.insert_access_key(&ecsim_core::model::AccessKey {
                id: "LTAI5tDisabledKey0000000".into(),
                secret: ecsim_core::model::Secret::new("disabled-secret"),
                account_id: account,
                status: ecsim_core::model::KeyStatus::Inactive,
                created_at: now,
            })?;
            Ok(())
        })
        .expect("key inserted");
    let disabled = Creds {
        account_id: account,
        key_id: "LTAI5tDisabledKey0000000".into(),
        secret: "disabled-secret".into(),
    };
    for call in [
        app.call("DescribeRegions").as_(&disabled),
        app.call("DescribeRegions").v1().as_(&disabled),
    ] {
        call.send().await.err_msg(
            400,
            "InvalidAccessKeyId.Inactive",
            "Specified access key is disabled.",
        );
    }
}

#[tokio::test]
async fn v1_common_parameters_are_checked() {
    let app = TestApp::start();
    for name in ["AccessKeyId", "Timestamp", "SignatureNonce"] {
        app.call("DescribeRegions")
            .v1()
            .v1_common(name, None)
            .send()
            .await
            .err_msg(
                400,
                &format!("Missing{name}"),
                &format!("{name} is mandatory for this action."),
            );
    }
    for (name, value) in [
        ("SignatureMethod", "HMAC-SHA256"),
        ("SignatureVersion", "2.0"),
    ] {
        app.call("DescribeRegions")
            .v1()
            .v1_common(name, Some(value))
            .send()
            .await
            .err(400, "IncompleteSignature");
    }
    // SignatureMethod and SignatureVersion may be left out.
    app.call("DescribeRegions")
        .v1()
        .v1_common("SignatureMethod", None)
        .v1_common("SignatureVersion", None)
        .send()
        .await
        .ok();
}

//! An in-process ecsim for HTTP tests: a fresh SQLite store per test (or, when
//! `ECSIM_TEST_DATABASE_URL` names a PostgreSQL database, a fresh schema in it), a manual clock,
//! the completion worker, and a client that signs requests the way the SDKs do (V3 like the Python
//! Tea SDK, V1 like the Tea/classic/pop-core SDKs) and checks the response envelope.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request};
use ecsim_core::Clock;
use ecsim_core::clock::{ManualClock, format_time};
use ecsim_core::model::AccountId;
use ecsim_server::{AppState, Settings};
use ecsim_wire::Params;
use ecsim_wire::signature::v3::Algorithm;
use ecsim_wire::signature::{percent_encode, v1, v3};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt as _;

pub const REGION: &str = "cn-hangzhou";
pub const HOST: &str = "ecs.cn-hangzhou.aliyuncs.com";
pub const VERSION: &str = "2014-05-26";
pub const KEY_ID: &str = "testid";
pub const SECRET: &str = "testsecret";
/// How long timed creations take on the test clock; nothing completes until the test advances it.
pub const CREATION_MS: i64 = 60_000;
pub const X86_TYPE: &str = "ecs.g7.large";
pub const ARM_TYPE: &str = "ecs.g8y.large";
pub const X86_IMAGE: &str = "aliyun_3_x64_20G_alibase_20240819.vhd";
pub const ARM_IMAGE: &str = "aliyun_3_arm64_20G_alibase_20240819.vhd";
pub const JSON_CT: &str = "application/json;charset=utf-8";
pub const XML_CT: &str = "text/xml;charset=utf-8";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// An account's root AccessKey.
#[derive(Debug, Clone)]
pub struct Creds {
    pub account_id: AccountId,
    pub key_id: String,
    pub secret: String,
}

pub struct TestApp {
    pub router: Router,
    pub state: Arc<AppState>,
    pub clock: Arc<ManualClock>,
    pub root: Creds,
    db: PathBuf,
    /// The PostgreSQL schema this app's store lives in, dropped with the app.
    _schema: Option<ecsim_store::postgres::ScratchSchema>,
    worker: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.worker.abort();
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.db.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
        let _ = std::fs::remove_dir_all(self.db.with_extension("data"));
    }
}

impl TestApp {
    /// A fresh app with the default settings (except the creation time). Must be called inside
    /// a tokio runtime: the completion worker is spawned on it.
    pub fn start() -> Self {
        Self::with_settings(|_| {})
    }

    pub fn with_settings(tweak: impl FnOnce(&mut Settings)) -> Self {
        let app = Self::before_nonce_preload(tweak);
        // What `ecsim serve` does right after it starts answering (nothing to load here).
        app.state.preload_nonces().expect("nonces preloaded");
        app
    }

    /// An app whose start-up nonce preload has not run: signed requests wait for it
    /// ([`AppState::preload_nonces`]).
    pub fn before_nonce_preload(tweak: impl FnOnce(&mut Settings)) -> Self {
        let db = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("ecsim-http-{}.sqlite", uuid::Uuid::new_v4()));
        let schema = std::env::var("ECSIM_TEST_DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .map(|url| ecsim_store::postgres::ScratchSchema::create(&url).expect("schema created"));
        let store = ecsim_store::Store::open(match &schema {
            Some(schema) => schema.url.as_str(),
            None => db.to_str().expect("temp path is UTF-8"),
        })
        .expect("store opens");
        let now = ecsim_core::SystemClock.now();
        let root = ecsim_server::seed::bootstrap(
            &store,
            Some((KEY_ID.to_string(), SECRET.to_string())),
            now,
        )
        .expect("bootstrap")
        .expect("a fresh store creates the root account");
        let clock = Arc::new(ManualClock::new(now));
        let mut settings = Settings {
            creation_time_ms: CREATION_MS,
            data_dir: db.with_extension("data"),
            ..Default::default()
        };
        tweak(&mut settings);
        let state = Arc::new(
            AppState::new(store, Arc::clone(&clock) as Arc<dyn Clock>, settings)
                .expect("state builds"),
        );
        let worker = tokio::spawn(ecsim_server::run_completions(Arc::clone(&state)));
        Self {
            router: ecsim_server::router(Arc::clone(&state)),
            state,
            clock,
            root: Creds {
                account_id: root.account_id,
                key_id: root.access_key_id,
                secret: root.access_key_secret.expose().to_string(),
            },
            db,
            _schema: schema,
            worker,
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Stops the completion worker, so a test sees only what the calls themselves did.
    pub async fn stop_completion_worker(&mut self) {
        self.worker.abort();
        let _ = (&mut self.worker).await;
    }

    /// A further account with its own root key.
    pub fn new_account(&self) -> Creds {
        let c = ecsim_server::seed::create_account(&self.state.store, self.now())
            .expect("account created");
        Creds {
            account_id: c.account_id,
            key_id: c.access_key_id,
            secret: c.access_key_secret.expose().to_string(),
        }
    }

    /// A V3-signed call (Python Tea style) by the root account; operation params in the query.
    pub fn call(&self, action: &str) -> Call {
        Call {
            router: self.router.clone(),
            action: action.to_string(),
            params: Vec::new(),
            key_id: self.root.key_id.clone(),
            secret: self.root.secret.clone(),
            scheme: Scheme::V3(Algorithm::HmacSha256),
            method: Method::POST,
            form_body: false,
            nonce: uuid::Uuid::new_v4().simple().to_string(),
            date: format_time(self.now()),
            sent_body: None,
            extra_headers: Vec::new(),
            common_overrides: Vec::new(),
        }
    }

    /// Sends a request exactly as given.
    pub async fn send(&self, request: Request<Body>) -> Resp {
        send(&self.router, request).await
    }

    /// Sends an unsigned request with the given method, URI and body.
    pub async fn raw(&self, method: Method, uri: &str, body: &[u8]) -> Resp {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", HOST)
            .body(Body::from(body.to_vec()))
            .expect("request builds");
        self.send(request).await
    }

    /// Moves the clock past every pending creation and waits until the completion worker has
    /// ended them (images `Creating` → `Available`, snapshots `progressing` → `accomplished`).
    pub async fn finish_creations(&self) {
        self.clock.advance(CREATION_MS + 1_000);
        self.state.completions.notify_one();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.now();
            let next = self
                .state
                .store
                .read(|tx| Ok(tx.next_due()?))
                .expect("next_due reads");
            if next.is_none_or(|due| due > now) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the completion worker did not end due creations within 10 s"
            );
            self.state.completions.notify_one();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    // ---- flows used by many tests ------------------------------------------------------

    /// RunInstances of one x86 instance from `image_id`; answers its id.
    pub async fn run_instance(&self, image_id: &str) -> String {
        self.run_instance_as(&self.root, image_id).await
    }

    pub async fn run_instance_as(&self, who: &Creds, image_id: &str) -> String {
        let body = self
            .call("RunInstances")
            .as_(who)
            .region()
            .param("ImageId", image_id)
            .param("InstanceType", X86_TYPE)
            .send()
            .await
            .ok();
        let ids = body["InstanceIdSets"]["InstanceIdSet"]
            .as_array()
            .expect("InstanceIdSet is an array");
        assert_eq!(ids.len(), 1, "{body}");
        str_of(&ids[0])
    }

    /// The system disk of an instance, via DescribeDisks.
    pub async fn system_disk(&self, instance_id: &str) -> String {
        let body = self
            .call("DescribeDisks")
            .region()
            .param("InstanceId", instance_id)
            .send()
            .await
            .ok();
        let disks = body["Disks"]["Disk"].as_array().expect("Disk is an array");
        let system: Vec<&Value> = disks.iter().filter(|d| d["Type"] == "system").collect();
        assert_eq!(system.len(), 1, "{body}");
        str_of(&system[0]["DiskId"])
    }

    /// CreateImage from an instance; the image is `Creating` until [`TestApp::finish_creations`].
    pub async fn create_image_from(&self, instance_id: &str, name: Option<&str>) -> String {
        self.create_image_from_as(&self.root, instance_id, name)
            .await
    }

    pub async fn create_image_from_as(
        &self,
        who: &Creds,
        instance_id: &str,
        name: Option<&str>,
    ) -> String {
        let mut call = self
            .call("CreateImage")
            .as_(who)
            .region()
            .param("InstanceId", instance_id);
        if let Some(n) = name {
            call = call.param("ImageName", n);
        }
        str_of(&call.send().await.ok()["ImageId"])
    }

    /// An `Available` custom image of the root account, built from a fresh instance of the
    /// x86 system image; answers (image id, source instance id).
    pub async fn available_image(&self, name: Option<&str>) -> (String, String) {
        let instance = self.run_instance(X86_IMAGE).await;
        let image = self.create_image_from(&instance, name).await;
        self.finish_creations().await;
        (image, instance)
    }

    /// Two images of `family` (`{family}-1`, then `{family}-2` 5 s later on the clock) from a
    /// fresh instance of the x86 system image; answers (older, newer), both `Creating` until
    /// [`TestApp::finish_creations`].
    pub async fn family_images(&self, family: &str) -> (String, String) {
        let source = self.run_instance(X86_IMAGE).await;
        let create = |n: u8| {
            self.call("CreateImage")
                .region()
                .param("InstanceId", &source)
                .param("ImageName", &format!("{family}-{n}"))
                .param("ImageFamily", family)
        };
        let older = str_of(&create(1).send().await.ok()["ImageId"]);
        self.clock.advance(5_000);
        let newer = str_of(&create(2).send().await.ok()["ImageId"]);
        (older, newer)
    }

    /// CreateSnapshot of a disk; `progressing` until [`TestApp::finish_creations`].
    pub async fn create_snapshot(&self, disk_id: &str) -> String {
        let body = self
            .call("CreateSnapshot")
            .param("DiskId", disk_id)
            .send()
            .await
            .ok();
        str_of(&body["SnapshotId"])
    }

    /// The image as DescribeImages (Status=ALL) shows it to the root account, if it does.
    pub async fn describe_image(&self, image_id: &str) -> Option<Value> {
        let body = self
            .call("DescribeImages")
            .region()
            .param("ImageId", image_id)
            .param("Status", "ALL")
            .send()
            .await
            .ok();
        let images = body["Images"]["Image"]
            .as_array()
            .expect("Image is an array")
            .clone();
        assert_eq!(
            body["TotalCount"].as_u64(),
            Some(images.len() as u64),
            "{body}"
        );
        assert!(images.len() <= 1, "{body}");
        images.into_iter().next()
    }

    /// Ids of the root account's instances launched from `image_id` (DescribeInstances filter).
    pub async fn instances_of_image(&self, image_id: &str) -> Vec<String> {
        let body = self
            .call("DescribeInstances")
            .region()
            .param("ImageId", image_id)
            .param("PageSize", "100")
            .send()
            .await
            .ok();
        let list = body["Instances"]["Instance"]
            .as_array()
            .expect("Instance is an array");
        assert_eq!(body["TotalCount"].as_u64(), Some(list.len() as u64));
        list.iter().map(|i| str_of(&i["InstanceId"])).collect()
    }
}

/// A JSON string value as an owned `String`; panics on anything else.
#[track_caller]
pub fn str_of(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
        .to_string()
}

pub async fn send(router: &Router, request: Request<Body>) -> Resp {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body reads")
        .to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

/// Form-urlencoded `name=value&…` with the canonical encoding (what the Tea SDKs send).
pub fn encode_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    V3(Algorithm),
    V1,
}

/// One signed request under construction.
#[derive(Clone)]
pub struct Call {
    router: Router,
    action: String,
    params: Vec<(String, String)>,
    key_id: String,
    secret: String,
    scheme: Scheme,
    method: Method,
    form_body: bool,
    nonce: String,
    date: String,
    /// V3: the body actually sent, when it differs from the signed one.
    sent_body: Option<Vec<u8>>,
    extra_headers: Vec<(String, String)>,
    /// V1: common parameters replaced (`Some`) or left out (`None`).
    common_overrides: Vec<(String, Option<String>)>,
}

/// A built request and the string to sign the client computed for it.
pub struct Built {
    pub request: Request<Body>,
    pub string_to_sign: String,
}

impl Call {
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.params.push((name.to_string(), value.to_string()));
        self
    }

    pub fn params<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        for (k, v) in pairs {
            self.params
                .push((k.as_ref().to_string(), v.as_ref().to_string()));
        }
        self
    }

    /// `RegionId=cn-hangzhou`.
    pub fn region(self) -> Self {
        self.param("RegionId", REGION)
    }

    pub fn as_(mut self, who: &Creds) -> Self {
        self.key_id = who.key_id.clone();
        self.secret = who.secret.clone();
        self
    }

    pub fn key_id(mut self, key_id: &str) -> Self {
        self.key_id = key_id.to_string();
        self
    }

    pub fn secret(mut self, secret: &str) -> Self {
        self.secret = secret.to_string();
        self
    }

    /// V1 (HMAC-SHA1) signing, common params in the query (or the form body).
    pub fn v1(mut self) -> Self {
        self.scheme = Scheme::V1;
        self
    }

    pub fn sm3(mut self) -> Self {
        self.scheme = Scheme::V3(Algorithm::HmacSm3);
        self
    }

    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Every parameter in an `application/x-www-form-urlencoded` body instead of the query
    /// (V1: pop-core's POST, Signature included; V3: the body is hashed and signed).
    pub fn form_body(mut self) -> Self {
        self.form_body = true;
        self
    }

    pub fn nonce(mut self, nonce: &str) -> Self {
        self.nonce = nonce.to_string();
        self
    }

    /// `Timestamp` (V1) / `x-acs-date` (V3), as sent.
    pub fn date(mut self, date: &str) -> Self {
        self.date = date.to_string();
        self
    }

    /// V3: sign the body as built, but send these bytes instead.
    pub fn send_body(mut self, body: &[u8]) -> Self {
        self.sent_body = Some(body.to_vec());
        self
    }

    /// V1: send this common parameter (`AccessKeyId`, `SignatureMethod`, …) with another value,
    /// or (`None`) not at all. It is still signed as sent.
    pub fn v1_common(mut self, name: &str, value: Option<&str>) -> Self {
        self.common_overrides
            .push((name.to_string(), value.map(str::to_string)));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.extra_headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    pub fn build(&self) -> Built {
        match self.scheme {
            Scheme::V3(alg) => self.build_v3(alg),
            Scheme::V1 => self.build_v1(),
        }
    }

    fn build_v3(&self, alg: Algorithm) -> Built {
        let (query, body) = if self.form_body {
            (Vec::new(), encode_pairs(&self.params).into_bytes())
        } else {
            (self.params.clone(), Vec::new())
        };
        let hash = v3::hash_payload(alg, &body);
        let mut headers: Vec<(String, String)> = vec![
            ("accept".into(), "application/json".into()),
            ("host".into(), HOST.into()),
            (
                "user-agent".into(),
                "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2".into(),
            ),
            ("x-acs-action".into(), self.action.clone()),
            ("x-acs-content-sha256".into(), hash.clone()),
            ("x-acs-date".into(), self.date.clone()),
            ("x-acs-signature-nonce".into(), self.nonce.clone()),
            ("x-acs-version".into(), VERSION.into()),
        ];
        if self.form_body {
            headers.push((
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        headers.sort();
        let signed: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
        let canonical = v3::canonical_request(
            self.method.as_str(),
            &Params::from_pairs(query.clone()),
            &headers,
            &signed,
            &hash,
        );
        let string_to_sign = v3::string_to_sign(alg, &canonical);
        let signature = v3::sign(alg, &self.secret, &string_to_sign).expect("HMAC signs");
        let authorization = format!(
            "{} Credential={},SignedHeaders={},Signature={signature}",
            alg.name(),
            self.key_id,
            signed.join(";")
        );
        let uri = if query.is_empty() {
            "/".to_string()
        } else {
            format!("/?{}", encode_pairs(&query))
        };
        let mut builder = Request::builder().method(self.method.clone()).uri(uri);
        for (k, v) in headers.iter().chain(&self.extra_headers) {
            builder = builder.header(k, v);
        }
        builder = builder.header("authorization", authorization);
        let sent = self.sent_body.clone().unwrap_or(body);
        Built {
            request: builder.body(Body::from(sent)).expect("request builds"),
            string_to_sign,
        }
    }

    fn build_v1(&self) -> Built {
        let mut all: Vec<(String, String)> = vec![
            ("Action".into(), self.action.clone()),
            ("Version".into(), VERSION.into()),
            ("AccessKeyId".into(), self.key_id.clone()),
            ("SignatureMethod".into(), "HMAC-SHA1".into()),
            ("SignatureVersion".into(), "1.0".into()),
            ("SignatureNonce".into(), self.nonce.clone()),
            ("Timestamp".into(), self.date.clone()),
        ];
        for (name, value) in &self.common_overrides {
            all.retain(|(k, _)| k != name);
            if let Some(v) = value {
                all.push((name.clone(), v.clone()));
            }
        }
        all.extend(self.params.iter().cloned());
        let string_to_sign =
            v1::string_to_sign(self.method.as_str(), &Params::from_pairs(all.clone()));
        all.push(("Signature".into(), v1::sign(&self.secret, &string_to_sign)));
        let encoded = encode_pairs(&all);
        let mut builder = Request::builder()
            .method(self.method.clone())
            .header("host", HOST)
            // The SDKs send these in V1 too, unsigned.
            .header("x-acs-action", self.action.as_str())
            .header("x-acs-version", VERSION);
        let body = if self.form_body {
            builder = builder
                .uri("/")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("content-length", encoded.len());
            encoded.into_bytes()
        } else {
            builder = builder.uri(format!("/?{encoded}"));
            Vec::new()
        };
        for (k, v) in &self.extra_headers {
            builder = builder.header(k, v);
        }
        Built {
            request: builder.body(Body::from(body)).expect("request builds"),
            string_to_sign,
        }
    }

    pub async fn send(&self) -> Resp {
        send(&self.router, self.build().request).await
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    /// A JSON success: 200, JSON content type, `RequestId` equal to `x-acs-request-id`, no `Code`.
    #[track_caller]
    pub fn ok(self) -> Value {
        assert_eq!(self.status, 200, "expected 200, got: {}", self.text());
        assert_eq!(self.content_type(), Some(JSON_CT), "{}", self.text());
        let body = self.json();
        let request_id = body["RequestId"]
            .as_str()
            .unwrap_or_else(|| panic!("RequestId must be a string: {body}"));
        assert_request_id_shape(request_id);
        assert_eq!(self.header("x-acs-request-id"), Some(request_id));
        assert!(
            body.get("Code").is_none(),
            "success body has a Code: {body}"
        );
        body
    }

    /// A JSON error envelope with this status and code; answers the body.
    #[track_caller]
    pub fn err(self, status: u16, code: &str) -> Value {
        assert_eq!(
            (self.status, self.json()["Code"].as_str()),
            (status, Some(code)),
            "body: {}",
            self.text()
        );
        assert_eq!(self.content_type(), Some(JSON_CT), "{}", self.text());
        let body = self.json();
        for field in ["RequestId", "HostId", "Code", "Message", "Recommend"] {
            assert!(body[field].is_string(), "{field} must be a string: {body}");
        }
        let request_id = str_of(&body["RequestId"]);
        assert_request_id_shape(&request_id);
        assert_eq!(self.header("x-acs-request-id"), Some(request_id.as_str()));
        assert!(!str_of(&body["Message"]).is_empty(), "{body}");
        assert_eq!(
            str_of(&body["Recommend"]),
            format!(
                "https://api.aliyun.com/troubleshoot?q={code}&product=Ecs&requestId={request_id}"
            )
        );
        body
    }

    /// [`Resp::err`] and the exact message.
    #[track_caller]
    pub fn err_msg(self, status: u16, code: &str, message: &str) -> Value {
        let body = self.err(status, code);
        assert_eq!(body["Message"].as_str(), Some(message), "{body}");
        body
    }

    /// The text of the first `<name>` element of an XML body.
    pub fn xml_field(&self, name: &str) -> Option<String> {
        let text = self.text();
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        let start = text.find(&open)? + open.len();
        let end = start + text[start..].find(&close)?;
        Some(text[start..end].to_string())
    }
}

/// An upper-case UUID, as ECS sends.
#[track_caller]
fn assert_request_id_shape(id: &str) {
    let ok = uuid::Uuid::parse_str(id).is_ok() && !id.chars().any(|c| c.is_ascii_lowercase());
    assert!(ok, "RequestId {id:?} is not an upper-case UUID");
}

pub fn empty_sha256() -> &'static str {
    EMPTY_SHA256
}

//! The listener's routes and the RPC pipeline around the handlers.

use crate::actions::{self, Action, ECS_VERSION, RegionRule};
use crate::auth::{self, Caller, SignedRequest};
use crate::console;
use crate::handlers::{Answer, Ctx, answer};
use crate::ram::{self, Service, authz::EcsVerdict};
use crate::state::AppState;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ecsim_core::Millis;
use ecsim_core::model::Region;
use ecsim_wire::render::{self, Format};
use ecsim_wire::{ApiError, Code, Params};
use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(rpc).post(rpc).fallback(unsupported_method))
        .route("/healthz", get(healthz))
        .merge(console::routes())
        .fallback(unknown_path)
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

fn new_request_id() -> String {
    let mut id = String::with_capacity(uuid::fmt::Hyphenated::LENGTH);
    // From the thread's RNG: `Uuid::new_v4` asks the kernel (`getrandom`) on every request.
    id.push_str(
        uuid::Builder::from_random_bytes(rand::random())
            .into_uuid()
            .hyphenated()
            .encode_upper(&mut uuid::Uuid::encode_buffer()),
    );
    id
}

/// The endpoint host a client of this region would have called.
fn host_id(region_id: Option<&str>) -> String {
    match region_id {
        Some(r) if !r.is_empty() => format!("ecs.{r}.aliyuncs.com"),
        _ => "ecs.aliyuncs.com".to_string(),
    }
}

fn error_response(
    format: Format,
    err: &ApiError,
    request_id: &str,
    region_id: Option<&str>,
) -> Response {
    service_error_response(format, err, request_id, region_id, None)
}

/// An error of ECS (`service` = `None`), RAM or STS: the same envelope, with the service's
/// endpoint as `HostId` and its product in the `Recommend` URL.
fn service_error_response(
    format: Format,
    err: &ApiError,
    request_id: &str,
    region_id: Option<&str>,
    service: Option<Service>,
) -> Response {
    let mut body = match service {
        None => render::error(format, err, request_id, &host_id(region_id)),
        Some(s) => render::error(format, err, request_id, s.host()),
    };
    if let Some(s) = service {
        body = replace_product(&body, s.product());
    }
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    tracing::debug!(
        code = err.code_str(),
        status = err.status(),
        request_id,
        "request refused"
    );
    respond(status, format, request_id, body)
}

/// `…&product=Ecs&requestId=…` of the Recommend URL, for another product.
fn replace_product(body: &[u8], product: &str) -> Vec<u8> {
    let needle: &[u8] = b"&product=Ecs&";
    match body.windows(needle.len()).position(|w| w == needle) {
        Some(at) => {
            let mut out = Vec::with_capacity(body.len() + product.len());
            out.extend_from_slice(&body[..at]);
            out.extend_from_slice(format!("&product={product}&").as_bytes());
            out.extend_from_slice(&body[at + needle.len()..]);
            out
        }
        None => body.to_vec(),
    }
}

fn respond(status: StatusCode, format: Format, request_id: &str, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-acs-request-id", v);
    }
    response
}

async fn unsupported_method() -> Response {
    error_response(
        Format::Json,
        &ApiError::new(Code::UnsupportedHttpMethod),
        &new_request_id(),
        None,
    )
}

async fn unknown_path() -> Response {
    error_response(
        Format::Json,
        &ApiError::new(Code::InvalidActionNotFound),
        &new_request_id(),
        None,
    )
}

/// Every header as (lower-case name, value), borrowed from the request: a value that is not
/// visible ASCII is read as lossy UTF-8, the only case that copies.
fn header_pairs(headers: &HeaderMap) -> Vec<(&str, Cow<'_, str>)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = value
                .to_str()
                .map_or_else(|_| String::from_utf8_lossy(value.as_bytes()), Cow::Borrowed);
            (name.as_str(), value)
        })
        .collect()
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// Everything known about a request once its bytes are read.
struct Decoded {
    /// The TCP peer, when the listener records it (`acs:SourceIp`).
    peer: Option<IpAddr>,
    method: Method,
    headers: HeaderMap,
    query: Params,
    /// The query and the form body's parameters together; `None` when there is no form body,
    /// so the query's parameters are all of them (and are not copied).
    with_form: Option<Params>,
    body: Bytes,
}

impl Decoded {
    /// Every parameter of the request, from the query string and a form body.
    fn params(&self) -> &Params {
        self.with_form.as_ref().unwrap_or(&self.query)
    }

    fn signed(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: self.method.as_str(),
            headers: header_pairs(&self.headers),
            query: &self.query,
            params: self.params(),
            body: &self.body,
            source_ip: self.peer,
        }
    }
}

/// Runs blocking store work on tokio's blocking pool; a panic there is an `InternalError`.
async fn on_blocking_pool<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|err| {
        tracing::error!(error = %err, "handler task failed");
        ApiError::new(Code::InternalError)
    })?
}

async fn read_request(app: &AppState, request: Request) -> Result<Decoded, ApiError> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical());
    let (parts, body) = request.into_parts();
    let limit = app.settings.max_body_bytes;
    let too_large = || {
        ApiError::new(Code::RequestTooLarge)
            .with_message(format!("The request body is larger than {limit} bytes."))
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let body = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    let query = Params::from_wire(parts.uri.query().unwrap_or_default(), None)?;
    let with_form = if is_form(&parts.headers) && !body.is_empty() {
        let form = Params::from_wire("", Some(&body))?;
        Some(Params::from_pairs(
            query.entries().iter().chain(form.entries()).cloned(),
        ))
    } else {
        None
    };
    Ok(Decoded {
        peer,
        method: parts.method,
        headers: parts.headers,
        query,
        with_form,
        body,
    })
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn rpc(State(app): State<Arc<AppState>>, request: Request<Body>) -> Response {
    let request_id = new_request_id();
    let decoded = match read_request(&app, request).await {
        Ok(d) => d,
        Err(err) => return error_response(Format::Json, &err, &request_id, None),
    };
    let format = Format::from_param(decoded.params().get("Format"));
    let region_id = decoded.params().get("RegionId").map(str::to_string);
    let service = decoded
        .params()
        .get("Version")
        .or_else(|| header(&decoded.headers, "x-acs-version"))
        .and_then(Service::of_version);
    match dispatch(app, decoded).await {
        Ok((action, reply)) => {
            let body = reply.render(format, action, &request_id);
            respond(StatusCode::OK, format, &request_id, body)
        }
        Err(err) => {
            service_error_response(format, &err, &request_id, region_id.as_deref(), service)
        }
    }
}

/// The longest a request waits for the start-up nonce preload; then it looks its nonce up in
/// the database instead.
const NONCE_PRELOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Routes, authenticates and runs the handler; answers the action name and the reply fields.
async fn dispatch(app: Arc<AppState>, req: Decoded) -> Result<(&'static str, Answer), ApiError> {
    // Right after start-up, until earlier runs' nonces are in memory (`ecsim serve` loads them
    // after it starts answering, in about a second after heavy use).
    if !app.store.is_shared() {
        app.nonces.wait_settled(NONCE_PRELOAD_WAIT).await;
    }
    let action_name = req
        .params()
        .get("Action")
        .or_else(|| header(&req.headers, "x-acs-action"));
    let version = req
        .params()
        .get("Version")
        .or_else(|| header(&req.headers, "x-acs-version"));
    let (Some(action_name), Some(version)) = (action_name, version) else {
        return Err(ApiError::new(Code::InvalidParameter)
            .with_message("The specified parameter \"Action or Version\" is not valid."));
    };
    if version != ECS_VERSION {
        let service =
            Service::of_version(version).ok_or_else(|| ApiError::new(Code::InvalidVersion))?;
        let op = ram::find(service, action_name)
            .ok_or_else(|| ApiError::new(Code::InvalidActionNotFound))?;
        return on_blocking_pool(move || {
            let caller = auth::authenticate(&app, &req.signed())?;
            ram::run(&app, &caller, op, req.params()).map(|reply| (op.name, answer(reply)))
        })
        .await;
    }
    let action =
        actions::find(action_name).ok_or_else(|| ApiError::new(Code::InvalidActionNotFound))?;

    // Short reads run on the runtime worker that decoded the request: handing them to the
    // blocking pool and back cost more than the read itself (BENCHMARKS.md, issue 7).
    let embedded = !app.store.is_shared();
    if actions::runs_inline(action, req.params(), !embedded) {
        return run_ecs(&app, action, &req);
    }
    // A write with a read-first decision (DeleteImage) takes its refusals on this worker too,
    // and hops to the pool only when it has something to write.
    if let (Some(read_first), true) = (action.read_first, embedded) {
        let admitted = match admit(&app, action, &req)? {
            Admission::Answered(reply) => return Ok((action.name, reply)),
            Admission::Admitted(admitted) => admitted,
        };
        if let Some(reply) = read_first(&admitted.ctx(&app, action, &req))? {
            return Ok((action.name, reply));
        }
        let (caller, region_id, now) = admitted.into_owned();
        return on_blocking_pool(move || {
            let admitted = Admitted {
                caller,
                region: region_id.as_deref().and_then(|id| app.region(id)),
                now,
            };
            (action.handler)(&admitted.ctx(&app, action, &req)).map(|reply| (action.name, reply))
        })
        .await;
    }
    on_blocking_pool(move || run_ecs(&app, action, &req)).await
}

/// A request that passed authentication, region resolution and authorization.
struct Admitted<'a> {
    caller: Caller,
    region: Option<&'a Region>,
    now: Millis,
}

enum Admission<'a> {
    /// Authorization answered the call itself (a `DryRun` allowed by RAM).
    Answered(Answer),
    Admitted(Admitted<'a>),
}

impl<'a> Admitted<'a> {
    fn ctx(&'a self, app: &'a AppState, action: &'static Action, req: &'a Decoded) -> Ctx<'a> {
        Ctx {
            app,
            caller: &self.caller,
            params: req.params(),
            action: action.name,
            region: self.region,
            now: self.now,
        }
    }

    /// What the blocking pool needs to admit the same request again without authenticating
    /// twice (its nonce is already recorded).
    fn into_owned(self) -> (Caller, Option<String>, Millis) {
        (self.caller, self.region.map(|r| r.id.clone()), self.now)
    }
}

/// Authenticates, resolves the region and authorizes one ECS action (it may read the store).
fn admit<'a>(
    app: &'a AppState,
    action: &'static Action,
    req: &Decoded,
) -> Result<Admission<'a>, ApiError> {
    let caller = auth::authenticate(app, &req.signed())?;
    let region = match (action.region, req.params().get_nonempty("RegionId")) {
        (RegionRule::Required, None) => return Err(ApiError::missing("RegionId")),
        (RegionRule::RequiredTagStyle, None) => {
            return Err(ApiError::missing_dotted("RegionId"));
        }
        (RegionRule::RequiredLongForm, None) => {
            return Err(ApiError::missing_parameter("RegionId"));
        }
        (RegionRule::FromResource | RegionRule::Optional, None) => None,
        (_, Some(id)) => Some(
            app.region(id)
                .ok_or_else(|| ApiError::new(Code::InvalidRegionIdNotFound))?,
        ),
    };
    // Authorization (spec ram-authorization §3): after authentication and region
    // resolution, before the handler; the root key passes without loading anything.
    if let EcsVerdict::Answer(reply) =
        ram::authz::authorize_ecs(app, &caller, action, req.params(), region)?
    {
        return Ok(Admission::Answered(answer(reply)));
    }
    Ok(Admission::Admitted(Admitted {
        caller,
        region,
        now: app.clock.now(),
    }))
}

/// Admits and runs one ECS action, its read-first decision then its handler (blocking: it
/// reads and may write the store).
fn run_ecs(
    app: &AppState,
    action: &'static Action,
    req: &Decoded,
) -> Result<(&'static str, Answer), ApiError> {
    let admitted = match admit(app, action, req)? {
        Admission::Answered(reply) => return Ok((action.name, reply)),
        Admission::Admitted(admitted) => admitted,
    };
    let ctx = admitted.ctx(app, action, req);
    if let Some(read_first) = action.read_first
        && let Some(reply) = read_first(&ctx)?
    {
        return Ok((action.name, reply));
    }
    (action.handler)(&ctx).map(|reply| (action.name, reply))
}

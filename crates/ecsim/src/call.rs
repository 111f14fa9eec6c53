//! `ecsim call ACTION --Name value ...`: a signed RPC client in the style of the aliyun CLI.
//! Parameters whose names start with an upper-case letter go to the API; the lower-case ones
//! (`--endpoint`, `--signature`, `--data-dir`, `--api-version`) configure the client.

use ecsim_wire::client::{Scheme, Signer, sign_post};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct CallArgs {
    /// Operation name, e.g. DescribeImages.
    action: String,
    /// `--Name value` pairs for the API, and the client options `--endpoint URL`
    /// (default http://127.0.0.1:8080 or $ECSIM_ENDPOINT), `--signature v3|v1` (default v3),
    /// `--data-dir DIR` (credentials when ALIBABA_CLOUD_ACCESS_KEY_* are unset),
    /// `--api-version` (default 2014-05-26).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

struct Options {
    endpoint: String,
    signature: String,
    data_dir: PathBuf,
    api_version: String,
    params: Vec<(String, String)>,
}

fn parse_rest(rest: &[String]) -> Result<Options, String> {
    let mut opts = Options {
        endpoint: std::env::var("ECSIM_ENDPOINT")
            .unwrap_or_else(|_| "http://127.0.0.1:8080".into()),
        signature: "v3".into(),
        data_dir: std::env::var("ECSIM_DATA_DIR")
            .map_or_else(|_| PathBuf::from("./ecsim-data"), PathBuf::from),
        api_version: "2014-05-26".into(),
        params: Vec::new(),
    };
    let mut iter = rest.iter();
    while let Some(arg) = iter.next() {
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(format!("expected --Name value, got {arg}"));
        };
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => {
                let v = iter
                    .next()
                    .ok_or_else(|| format!("--{flag} needs a value"))?;
                (flag.to_string(), v.clone())
            }
        };
        match name.as_str() {
            "endpoint" => opts.endpoint = value,
            "signature" => opts.signature = value,
            "data-dir" => opts.data_dir = PathBuf::from(value),
            "api-version" => opts.api_version = value,
            n if n.starts_with(|c: char| c.is_ascii_uppercase()) => opts.params.push((name, value)),
            other => return Err(format!("unknown option --{other}")),
        }
    }
    Ok(opts)
}

fn credentials(data_dir: &std::path::Path) -> Result<(String, String), String> {
    if let (Ok(id), Ok(secret)) = (
        std::env::var("ALIBABA_CLOUD_ACCESS_KEY_ID"),
        std::env::var("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
    ) {
        return Ok((id, secret));
    }
    let path = data_dir.join("credentials.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "no ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET in the environment and cannot read {}: {e}",
            path.display()
        )
    })?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    match (
        json["AccessKeyId"].as_str(),
        json["AccessKeySecret"].as_str(),
    ) {
        (Some(id), Some(secret)) => Ok((id.to_string(), secret.to_string())),
        _ => Err(format!(
            "{} lacks AccessKeyId/AccessKeySecret",
            path.display()
        )),
    }
}

fn now_iso() -> String {
    use ecsim_core::Clock;
    ecsim_core::clock::format_time(ecsim_core::SystemClock.now())
}

/// The request to send: URL and headers, signed.
fn signed_request(
    action: &str,
    opts: &Options,
    key_id: &str,
    secret: &str,
) -> Result<(String, Vec<(String, String)>), String> {
    let scheme = Scheme::parse(&opts.signature)
        .ok_or_else(|| format!("unknown --signature {}; use v3, v1 or sm3", opts.signature))?;
    let base = opts.endpoint.trim_end_matches('/');
    let host = base.split_once("://").map_or(base, |(_, rest)| rest);
    let timestamp = now_iso();
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let signer = Signer {
        access_key_id: key_id,
        access_key_secret: secret,
        timestamp: &timestamp,
        nonce: &nonce,
    };
    let post = sign_post(
        scheme,
        &signer,
        host,
        action,
        &opts.api_version,
        &opts.params,
    );
    Ok((format!("{base}/?{}", post.query), post.headers))
}

pub fn run(args: CallArgs) -> ExitCode {
    match call(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ecsim call: {e}");
            ExitCode::from(2)
        }
    }
}

fn call(args: &CallArgs) -> Result<ExitCode, String> {
    let opts = parse_rest(&args.rest)?;
    let (key_id, secret) = credentials(&opts.data_dir)?;
    let (url, headers) = signed_request(&args.action, &opts, &key_id, &secret)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.post(&url);
    for (name, value) in &headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let mut response = request.send_empty().map_err(|e| format!("{url}: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    let json: Option<serde_json::Value> = serde_json::from_str(&body).ok();
    let pretty = json
        .as_ref()
        .and_then(|j| serde_json::to_string_pretty(j).ok())
        .unwrap_or_else(|| body.clone());
    println!("{pretty}");
    if (200..300).contains(&status) {
        Ok(ExitCode::SUCCESS)
    } else {
        let code = json
            .as_ref()
            .and_then(|j| j["Code"].as_str())
            .unwrap_or("UnknownError");
        let message = json
            .as_ref()
            .and_then(|j| j["Message"].as_str())
            .unwrap_or_default();
        eprintln!("ERROR: HTTP {status} {code}: {message}");
        Ok(ExitCode::FAILURE)
    }
}

//! The bare-HTTP ceiling: ecsim's own HTTP stack (axum on hyper, `axum::serve` on a default
//! multi-threaded tokio runtime) with no work behind it but an optional HMAC.

use axum::Router;
use axum::http::{Uri, header};
use axum::response::IntoResponse;
use axum::routing::get;
use ecsim_wire::signature::v3;
use std::net::SocketAddr;
use std::sync::Arc;

/// Exactly 100 bytes, shaped like a small ECS answer.
pub const BODY: &str = r#"{"RequestId":"6B7C2A1E-0F3D-4E5A-9B8C-7D6E5F4A3B2C","TotalCount":1,"PageSize":10,"Images":{"Im":[]}}"#;

pub fn main(args: &[String]) -> Result<(), String> {
    let mut listen: Option<SocketAddr> = None;
    let mut hmac: Option<String> = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--listen" => {
                let v = value()?;
                listen = Some(v.parse().map_err(|e| format!("--listen {v}: {e}"))?);
            }
            "--hmac" => hmac = Some(value()?),
            other => return Err(format!("ceiling: unknown argument {other}")),
        }
    }
    let listen = listen.ok_or("ceiling: --listen ADDR is required")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(serve(listen, hmac.map(Arc::new)))
}

async fn serve(listen: SocketAddr, hmac: Option<Arc<String>>) -> Result<(), String> {
    let fixed = move |uri: Uri| {
        let hmac = hmac.clone();
        async move {
            if let Some(secret) = hmac {
                // One keyed hash per request, as a signature check costs at least that.
                let signed = v3::sign(
                    v3::Algorithm::HmacSha256,
                    &secret,
                    uri.query().unwrap_or_default(),
                );
                std::hint::black_box(signed);
            }
            ([(header::CONTENT_TYPE, "application/json")], BODY).into_response()
        }
    };
    let app = Router::new()
        .route("/", get(fixed.clone()).post(fixed))
        .route("/healthz", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_body_is_100_bytes_of_json() {
        assert_eq!(super::BODY.len(), 100);
        let v: serde_json::Value = serde_json::from_str(super::BODY).unwrap();
        assert_eq!(v["TotalCount"], 1);
    }
}

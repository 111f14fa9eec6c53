//! `ecsim serve`.

use crate::StoreArgs;
use ecsim_core::{Clock, SystemClock};
use ecsim_server::{
    AppState, Settings, flush_nonces, router, run_completions, run_nonce_flusher, run_task_workers,
    seed,
};
use ecsim_store::Store;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ECSIM_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    store: StoreArgs,
    /// How long CreateImage and CreateSnapshot stay Creating/progressing, in milliseconds.
    #[arg(long, env = "ECSIM_CREATION_TIME_MS", default_value_t = 2000)]
    creation_time_ms: u32,
    /// The OSS emulation for ImportImage/ExportImage: each subdirectory is a bucket, object keys
    /// are paths below it.
    #[arg(long, env = "ECSIM_OSS_ROOT")]
    oss_root: Option<std::path::PathBuf>,
    /// Keep image and snapshot bytes here instead of DATA_DIR/blobs: with several nodes on one
    /// PostgreSQL database, a directory they all mount (standing in for object storage).
    #[arg(long, env = "ECSIM_BLOB_DIR")]
    blob_dir: Option<std::path::PathBuf>,
    /// Keep image and snapshot bytes in an S3-compatible object store: `s3://BUCKET[/PREFIX]`.
    /// Endpoint, region and keys come from AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN). Needs a build with `--features s3`.
    #[arg(long, env = "ECSIM_BLOB_URL", conflicts_with = "blob_dir")]
    blob_url: Option<String>,
    /// Limit every task's transfer rate (import, export, copy), in bytes per second.
    #[arg(long, env = "ECSIM_TASK_BYTES_PER_SECOND")]
    task_bytes_per_second: Option<std::num::NonZeroU64>,
    /// How long a node's claim on a task lasts without renewal, in milliseconds.
    #[arg(long, env = "ECSIM_TASK_LEASE_MS", default_value_t = 30_000)]
    task_lease_ms: u32,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "ECSIM_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
    /// Root AccessKey id of the bootstrap account (first start only).
    #[arg(long, env = "ECSIM_ROOT_ACCESS_KEY_ID", hide_env_values = true)]
    root_access_key_id: Option<String>,
    /// Root AccessKey secret of the bootstrap account (first start only).
    #[arg(long, env = "ECSIM_ROOT_ACCESS_KEY_SECRET", hide_env_values = true)]
    root_access_key_secret: Option<String>,
}

/// Writes, listings and everything on PostgreSQL run their transactions on tokio's blocking
/// pool (short reads run on the runtime's workers: `actions::runs_inline`). Uncapped (512), 32
/// connections grew it past 200 threads, each with its own SQLite reader and allocator cache,
/// and the switching cost DescribeImages by id about a third of its throughput. Too low a cap limits
/// group commit instead: a write waiting for its fsync holds its thread, so the cap bounds
/// how many commits one fsync can cover (16 halved RunInstances+DeleteInstance). 64 keeps
/// both (BENCHMARKS.md).
const MAX_BLOCKING_THREADS: usize = 64;

pub fn run(args: ServeArgs) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ECSIM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ecsim serve: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ecsim serve: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes the bootstrap credentials where `ecsim call` finds them, readable by the owner only.
fn write_credentials(data_dir: &Path, creds: &seed::AccountCredentials) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join("credentials.json");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)?;
    writeln!(file, "{}", creds.to_json())?;
    file.sync_all()
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let started = Instant::now();
    if args.blob_url.is_some() && !cfg!(feature = "s3") {
        return Err("--blob-url needs an ecsim built with `--features s3`".into());
    }
    let url = args.store.database_url();
    std::fs::create_dir_all(&args.store.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", args.store.data_dir.display()))?;
    let store = Store::open(&url).map_err(|e| format!("cannot open {url}: {e}"))?;
    let root_key =
        match (args.root_access_key_id, args.root_access_key_secret) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => Some((id, secret)),
            (None, None) => None,
            _ => return Err(
                "ECSIM_ROOT_ACCESS_KEY_ID and ECSIM_ROOT_ACCESS_KEY_SECRET must be set together"
                    .into(),
            ),
        };
    let generated = root_key.is_none();
    let clock = Arc::new(SystemClock);
    if let Some(creds) =
        seed::bootstrap(&store, root_key, clock.now()).map_err(|e| e.to_string())?
    {
        write_credentials(&args.store.data_dir, &creds)
            .map_err(|e| format!("cannot write credentials.json: {e}"))?;
        if generated {
            // Printed once, on the first start; it is also in DATA_DIR/credentials.json.
            println!("{}", creds.to_json());
        }
        tracing::info!(account_id = creds.account_id, access_key_id = %creds.access_key_id, "created the bootstrap account");
    }
    let settings = Settings {
        data_dir: args.store.data_dir.clone(),
        blob_dir: args.blob_dir,
        blob_url: args.blob_url,
        oss_root: args.oss_root,
        creation_time_ms: i64::from(args.creation_time_ms),
        max_body_bytes: args.max_body_bytes,
        task_bytes_per_second: args.task_bytes_per_second,
        task_lease_ms: i64::from(args.task_lease_ms),
        ..Settings::default()
    };
    let state = Arc::new(AppState::new(store, clock, settings).map_err(|e| e.to_string())?);
    let loader = Arc::clone(&state);
    tokio::task::spawn_blocking(move || {
        if let Err(err) = loader.preload_nonces() {
            // Authentication keeps asking the database for each unseen nonce: still correct.
            tracing::warn!(error = %err, "loading earlier nonces failed");
            loader.nonces.preload_failed();
        }
    });
    tokio::spawn(run_completions(Arc::clone(&state)));
    tokio::spawn(run_nonce_flusher(Arc::clone(&state)));
    tokio::spawn(run_task_workers(Arc::clone(&state)));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(address = %local, ready_in_ms = started.elapsed().as_millis() as u64, "ecsim is serving");
    let served = axum::serve(
        listener,
        router(Arc::clone(&state)).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| e.to_string());
    flush_nonces(&state).await;
    served
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

//! `ecsim admin explain`: why would this AccessKey be allowed or denied this action on these
//! resources? Prints the principal, the policies considered and, statement by statement, why
//! each one applied or did not.

use crate::StoreArgs;
use ecsim_core::Clock;
use std::net::IpAddr;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The AccessKey ID of the caller (a RAM user's key, an `STS.` key, or a root key).
    #[arg(long)]
    pub access_key_id: String,
    /// The RAM action, e.g. `ecs:DeleteImage` (a bare operation name means an ECS one).
    #[arg(long)]
    pub action: String,
    /// A resource ARN, e.g. `acs:ecs:cn-hangzhou:1234567890123456:image/m-bp1abc`; repeat for
    /// several, each must be allowed. Default: `*`.
    #[arg(long = "resource")]
    pub resources: Vec<String>,
    /// The client address the request would come from (`acs:SourceIp`).
    #[arg(long)]
    pub source_ip: Option<IpAddr>,
}

pub fn run(args: &ExplainArgs) -> ExitCode {
    let result = ecsim_store::Store::open(&args.store.database_url())
        .map_err(|e| e.to_string())
        .and_then(|store| {
            let question = ecsim_server::ExplainQuestion {
                access_key_id: &args.access_key_id,
                action: &args.action,
                resources: &args.resources,
                source_ip: args.source_ip,
                now: ecsim_core::SystemClock.now(),
            };
            ecsim_server::explain_access(&store, &question).map_err(|e| e.to_string())
        });
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ecsim admin explain: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `ecsim`: serve the ECS image API, call it, administer its data.

mod call;
mod explain;
mod serve;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// A request allocates ~60 short-lived blocks across tokio's worker and blocking threads; glibc's
/// malloc/free took ~17% of a DescribeImages by id. mimalloc's per-thread free lists cost a
/// fraction of that. v2, not v3: v3 kept freed pages of the blocking pool's threads (RSS past
/// 1.5 GiB in BENCHMARKS.md's refused-DeleteImage run).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "ecsim",
    version,
    about = "An emulator of Alibaba Cloud ECS's image API (2014-05-26)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API.
    Serve(serve::ServeArgs),
    /// Administer a data directory (works while the server runs).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Call an operation with a signed request, aliyun-CLI style:
    /// `ecsim call DescribeImages --RegionId cn-hangzhou --PageSize 5`.
    Call(call::CallArgs),
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an account with a root AccessKey; prints {"AccountId","AccessKeyId","AccessKeySecret"}.
    CreateAccount(StoreArgs),
    /// Explain a RAM decision: which policies an AccessKey's principal has and why they allow or
    /// deny an action on resources.
    Explain(explain::ExplainArgs),
}

#[derive(clap::Args, Clone)]
pub struct StoreArgs {
    /// Data directory.
    #[arg(long, env = "ECSIM_DATA_DIR", default_value = "./ecsim-data")]
    pub data_dir: PathBuf,
    /// Database URL; default: SQLite file `ecsim.db` in the data directory.
    #[arg(long, env = "ECSIM_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl StoreArgs {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("ecsim.db").display()))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Admin {
            command: AdminCommand::CreateAccount(args),
        } => create_account(&args),
        Command::Admin {
            command: AdminCommand::Explain(args),
        } => explain::run(&args),
        Command::Call(args) => call::run(args),
    }
}

fn create_account(args: &StoreArgs) -> ExitCode {
    use ecsim_core::Clock;
    let result = ecsim_store::Store::open(&args.database_url())
        .map_err(|e| e.to_string())
        .and_then(|store| {
            ecsim_server::seed::create_account(&store, ecsim_core::SystemClock.now())
                .map_err(|e| e.to_string())
        });
    match result {
        Ok(creds) => {
            println!("{}", creds.to_json());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ecsim admin create-account: {e}");
            ExitCode::FAILURE
        }
    }
}

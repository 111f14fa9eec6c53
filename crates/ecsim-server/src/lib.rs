//! The HTTP front door. A request goes: body limit → decode parameters → route by
//! (Version, Action) through the one action table → authenticate (signature, timestamp,
//! nonce) → run the handler in one store transaction → render JSON or XML.

mod actions;
mod args;
mod auth;
mod blobs;
mod console;
mod handlers;
mod http;
mod nonce;
mod operation_params;
mod present;
mod ram;
pub mod seed;
mod state;
mod taskwork;
mod worker;

pub use actions::{ACTIONS, Action, RegionRule};
pub use http::router;
pub use operation_params::{Param, ParamType};
pub use ram::explain::{Question as ExplainQuestion, explain_access};
pub use ram::{Op as RamOp, RAM_OPS, RAM_VERSION, STS_OPS, STS_VERSION, Service};
pub use state::{AppState, Settings};
pub use taskwork::run_task_workers;
pub use worker::{flush_nonces, run_completions, run_nonce_flusher};

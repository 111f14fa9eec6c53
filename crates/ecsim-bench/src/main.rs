//! `ecsim-bench`: the tools behind `bench/run` (see bench/README.md).
//!
//! - `ecsim-bench load …` — a closed-loop HTTP/1.1 load generator: many keep-alive connections
//!   on a small tokio runtime, every request signed on the spot (ACS3-HMAC-SHA256 by default,
//!   HMAC-SHA1 V1 or SM3 on request, a fixed AWS-style header for moto, or none), printing
//!   requests/s and p50/p99/p99.9 latency.
//! - `ecsim-bench ceiling …` — the bare-HTTP ceiling: the same axum/hyper stack as ecsim,
//!   answering every request with one fixed 100-byte JSON document.

mod ceiling;
mod http;
mod load;

use std::process::ExitCode;

const USAGE: &str = "usage:
  ecsim-bench load --endpoint URL[,URL...] [--scheme v3|v1|sm3|aws|none] [--key-id ID --secret S]
                   [--connections 32] [--threads 1] [--duration 10] [--warmup 2] [--requests N]
                   [--version 2014-05-26] --action ACTION [--param Name=Value]...
                   [--then ACTION [--param Name=Value]... --extract FIELD [--lag 0]
                    [--retry-code CODE [--retry-wait-ms 2]]]
                   [--expect-status 200] [--expect-code CODE] [--expect-contains TEXT]
                   [--label NAME] [--json]
      Parameter values may hold {seq} (unique per request) and, in the --then step, {id}
      (FIELD extracted from the first step's answer, JSON \"FIELD\":\"…\" or XML <FIELD>…</FIELD>).
      The second step runs for the id extracted `lag` cycles earlier and is resent while it
      answers the retry code (e.g. ImageIsCreating). With several endpoints (repeated or
      comma-separated) connection i talks to endpoint i mod n, both steps of its cycles included.
  ecsim-bench ceiling --listen ADDR [--hmac SECRET]
      Answer every request on / with a fixed 100-byte JSON; GET /healthz answers ok.
      --hmac computes one ACS3-HMAC-SHA256 over the request's query per request.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("load") => load::main(&args[1..]),
        Some("ceiling") => ceiling::main(&args[1..]),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ecsim-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

//! In-process HTTP tests of ecsim: every request goes through the real router, signed like the
//! SDKs sign it, and every answer is checked against the wire spec (status, code, envelope).

#[path = "../support/mod.rs"]
mod support;

mod concurrency;
mod console;
mod gateway;
mod images;
mod instances;
mod operation_params;
mod ram;
mod regions;
mod sharing;
mod snapshots_tags;
mod tasks;

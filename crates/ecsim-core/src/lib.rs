//! The ECS image domain, free of HTTP and SQL: resources and their ids, the seeded catalog
//! (regions, zones, instance types, system images), name validation, and the rules that decide
//! whether an operation may proceed — as plain functions over values, so they can be unit- and
//! property-tested without a server or a database.

pub mod catalog;
pub mod clock;
pub mod ids;
pub mod model;
pub mod rules;
pub mod validate;

pub use clock::{Clock, Millis, SystemClock};

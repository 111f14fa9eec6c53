//! The ECS 2014-05-26 RPC wire protocol as pure functions: how parameters are decoded
//! (query ∪ form body, `Name.N`, `Name.N.Field`, case-insensitive booleans), how signatures
//! V1 (HMAC-SHA1) and V3 (ACS3-HMAC-SHA256 / ACS3-HMAC-SM3) are computed and checked, the one
//! error catalog (code → HTTP status and message), and the one renderer for JSON and XML bodies.
//!
//! Nothing here does I/O; the server feeds bytes in and writes bytes out.

pub mod client;
pub mod error;
pub mod params;
pub mod render;
pub mod signature;

pub use error::{ApiError, Code};
pub use params::Params;
pub use render::Format;

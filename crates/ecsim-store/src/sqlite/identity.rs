//! The SQLite implementation of [`IdentityTx`]; its tables are in `identity.sql`.

use super::SqliteTx;
use crate::IdentityTx;

pub(super) const SCHEMA: &str = include_str!("identity.sql");

impl IdentityTx for SqliteTx<'_> {}

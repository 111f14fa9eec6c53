//! RAM and STS state: users, groups, roles, policies and their versions, attachments, user
//! AccessKeys and STS sessions. A separate trait so identity storage grows without touching the
//! resource repository; every [`crate::Tx`] is also an [`IdentityTx`].

/// Identity storage inside one transaction.
pub trait IdentityTx {}

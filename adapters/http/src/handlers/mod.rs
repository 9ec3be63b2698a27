//! The handlers, one module per group of endpoints.

pub(crate) mod admins;
pub(crate) mod backup;
pub(crate) mod connections;
pub(crate) mod docs;
pub(crate) mod folders;
pub(crate) mod quotas;
pub(crate) mod system;
pub(crate) mod users;

//! The JSON shapes of the API, with SFTPGo's field names. Requests are read
//! into these types and converted with `try_into_domain()`; no domain type is
//! read straight off the wire.

pub(crate) mod admin;
pub(crate) mod backup;
pub(crate) mod connection;
pub(crate) mod filesystem;
pub(crate) mod folder;
pub(crate) mod quota;
pub(crate) mod status;
pub(crate) mod user;

use serde::{Deserialize, Deserializer};

/// Reads a field that clients may send as `null` (Go clients do for empty
/// slices and maps) as its default value.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

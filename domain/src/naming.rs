//! Names of users, admins and folders.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest name SFTPGo accepts for users, admins and folders.
pub const MAX_NAME_LEN: usize = 255;

/// A validated account name: 1-255 characters from `A-Za-z0-9._~-`, never `.`
/// or `..`, so it is always safe as a single path component.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Validates `raw` as an account name.
    pub fn parse(raw: &str) -> Result<Self> {
        check_name("username", raw).map(|()| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks `raw` against the rules shared by account and folder names;
/// `what` names the field in the error.
fn check_name(what: &str, raw: &str) -> Result<()> {
    if raw.is_empty() {
        return Err(Error::invalid(format!("{what} is mandatory")));
    }
    if raw.len() > MAX_NAME_LEN {
        return Err(Error::invalid(format!(
            "{what} is longer than {MAX_NAME_LEN} characters"
        )));
    }
    if raw == "." || raw == ".." {
        return Err(Error::invalid(format!("{what} cannot be \".\" or \"..\"")));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '-');
    if !raw.chars().all(allowed) {
        return Err(Error::invalid(format!(
            "{what} {raw:?} is not valid: only the characters A-Z a-z 0-9 . _ ~ - \
             are allowed"
        )));
    }
    Ok(())
}

/// A validated virtual folder name, with the same alphabet and length as an
/// account name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct FolderName(String);

impl FolderName {
    /// Validates `raw` as a folder name.
    pub fn parse(raw: &str) -> Result<Self> {
        check_name("folder name", raw).map(|()| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FolderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Username {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Username::parse(&raw).map_err(|e| serde::de::Error::custom(e.message()))
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        for ok in ["a", "user.name", "u_1~x-y", &"x".repeat(255)] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
            assert!(FolderName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_what_could_escape_or_confuse() {
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a\\b",
            "a b",
            "é",
            "a:b",
            &"x".repeat(256),
        ] {
            assert!(Username::parse(bad).is_err(), "{bad}");
            assert!(FolderName::parse(bad).is_err(), "{bad}");
        }
    }
}

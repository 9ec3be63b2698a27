//! What a user may do, directory by directory, with SFTPGo's semantics: the
//! permissions of the closest configured ancestor apply to a whole subtree.

use crate::error::{Error, Result};
use crate::vpath::VirtualPath;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// One user permission, spelt on the wire as SFTPGo spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Permission {
    #[serde(rename = "*")]
    All,
    #[serde(rename = "list")]
    List,
    #[serde(rename = "download")]
    Download,
    #[serde(rename = "upload")]
    Upload,
    /// Replace or truncate an existing file; needs `upload` too.
    #[serde(rename = "overwrite")]
    Overwrite,
    #[serde(rename = "delete")]
    Delete,
    #[serde(rename = "delete_files")]
    DeleteFiles,
    #[serde(rename = "delete_dirs")]
    DeleteDirs,
    #[serde(rename = "rename")]
    Rename,
    #[serde(rename = "rename_files")]
    RenameFiles,
    #[serde(rename = "rename_dirs")]
    RenameDirs,
    #[serde(rename = "create_dirs")]
    CreateDirs,
    #[serde(rename = "create_symlinks")]
    CreateSymlinks,
    #[serde(rename = "chmod")]
    Chmod,
    #[serde(rename = "chown")]
    Chown,
    #[serde(rename = "chtimes")]
    Chtimes,
    #[serde(rename = "copy")]
    Copy,
}

impl Permission {
    pub const ALL: [Permission; 17] = [
        Self::All,
        Self::List,
        Self::Download,
        Self::Upload,
        Self::Overwrite,
        Self::Delete,
        Self::DeleteFiles,
        Self::DeleteDirs,
        Self::Rename,
        Self::RenameFiles,
        Self::RenameDirs,
        Self::CreateDirs,
        Self::CreateSymlinks,
        Self::Chmod,
        Self::Chown,
        Self::Chtimes,
        Self::Copy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "*",
            Self::List => "list",
            Self::Download => "download",
            Self::Upload => "upload",
            Self::Overwrite => "overwrite",
            Self::Delete => "delete",
            Self::DeleteFiles => "delete_files",
            Self::DeleteDirs => "delete_dirs",
            Self::Rename => "rename",
            Self::RenameFiles => "rename_files",
            Self::RenameDirs => "rename_dirs",
            Self::CreateDirs => "create_dirs",
            Self::CreateSymlinks => "create_symlinks",
            Self::Chmod => "chmod",
            Self::Chown => "chown",
            Self::Chtimes => "chtimes",
            Self::Copy => "copy",
        }
    }

    /// The broader permission that also grants this one (`delete` grants
    /// `delete_files`, `rename` grants `rename_dirs`, ...).
    fn umbrella(self) -> Option<Permission> {
        match self {
            Self::DeleteFiles | Self::DeleteDirs => Some(Self::Delete),
            Self::RenameFiles | Self::RenameDirs => Some(Self::Rename),
            _ => None,
        }
    }
}

impl FromStr for Permission {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| Error::invalid(format!("invalid permission: {s:?}")))
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user's permission map: virtual directory (or shell pattern such as `/p*`)
/// to the permissions granted there. `/` is always present.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct UserPermissions(BTreeMap<String, Vec<Permission>>);

impl UserPermissions {
    /// Validates a raw map: keys must be absolute, `/` must be present, every
    /// list must be non-empty. Keys are normalised; duplicate values dropped.
    pub fn new(raw: BTreeMap<String, Vec<Permission>>) -> Result<Self> {
        let mut map = BTreeMap::new();
        for (key, mut perms) in raw {
            if !key.starts_with('/') {
                return Err(Error::invalid(format!(
                    "cannot set permissions for non absolute path: {key:?}"
                )));
            }
            let dir = VirtualPath::parse(&key)?;
            if perms.is_empty() {
                return Err(Error::invalid(format!(
                    "no permissions granted for the directory: {key:?}"
                )));
            }
            perms.sort();
            perms.dedup();
            if perms.contains(&Permission::All) {
                perms = vec![Permission::All];
            }
            if map.insert(dir.as_str().to_owned(), perms).is_some() {
                return Err(Error::invalid(format!(
                    "duplicate permissions for the directory: {key:?}"
                )));
            }
        }
        if !map.contains_key("/") {
            return Err(Error::invalid(
                "permissions for the root directory are required",
            ));
        }
        Ok(Self(map))
    }

    /// Full rights everywhere.
    pub fn full() -> Self {
        Self(BTreeMap::from([("/".to_owned(), vec![Permission::All])]))
    }

    pub fn as_map(&self) -> &BTreeMap<String, Vec<Permission>> {
        &self.0
    }

    /// The permissions that apply inside directory `dir`: those of the closest
    /// configured ancestor. At equal depth an exact key beats a pattern key.
    pub fn for_dir(&self, dir: &VirtualPath) -> &[Permission] {
        let components: Vec<&str> = dir.components().collect();
        let mut best: Option<(usize, bool, &Vec<Permission>)> = None;
        for (key, perms) in &self.0 {
            let key_parts: Vec<&str> = key.split('/').filter(|c| !c.is_empty()).collect();
            if key_parts.len() > components.len() {
                continue;
            }
            let mut exact = true;
            let matches = key_parts.iter().zip(&components).all(|(k, c)| {
                if k == c {
                    true
                } else if is_pattern(k) && glob_match(k.as_bytes(), c.as_bytes()) {
                    exact = false;
                    true
                } else {
                    false
                }
            });
            if !matches {
                continue;
            }
            let better = match best {
                None => true,
                Some((depth, best_exact, _)) => {
                    key_parts.len() > depth || (key_parts.len() == depth && exact && !best_exact)
                }
            };
            if better {
                best = Some((key_parts.len(), exact, perms));
            }
        }
        best.map(|(_, _, perms)| perms.as_slice()).unwrap_or(&[])
    }

    /// True when `perm` is granted inside directory `dir`.
    pub fn allows(&self, dir: &VirtualPath, perm: Permission) -> bool {
        let granted = self.for_dir(dir);
        granted.contains(&Permission::All)
            || granted.contains(&perm)
            || perm.umbrella().is_some_and(|u| granted.contains(&u))
    }
}

fn is_pattern(component: &str) -> bool {
    component.contains(['*', '?', '['])
}

/// Shell-style matching of one path component: `*`, `?` and `[...]` classes
/// (with `!` or `^` negation and ranges).
pub fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    backtrack = Some((p, n));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = match_class(pattern, p, name[n]) {
                        if matched {
                            p = next;
                            n += 1;
                            continue;
                        }
                    } else if name[n] == b'[' {
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
                c if c == name[n] => {
                    p += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
        }
        match backtrack {
            Some((star, consumed)) => {
                p = star + 1;
                n = consumed + 1;
                backtrack = Some((star, consumed + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Matches `c` against the class opening at `pattern[start]`; returns whether
/// it matched and where the pattern continues, or `None` if the class is not
/// closed.
fn match_class(pattern: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < pattern.len() {
        if pattern[i] == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < pattern.len() && pattern[i + 1] == b'-' && pattern[i + 2] != b']' {
            matched |= pattern[i] <= c && c <= pattern[i + 2];
            i += 3;
        } else {
            matched |= pattern[i] == c;
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    fn perms(entries: &[(&str, &[Permission])]) -> UserPermissions {
        UserPermissions::new(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_vec()))
                .collect(),
        )
        .unwrap()
    }

    fn dir(p: &str) -> VirtualPath {
        VirtualPath::parse(p).unwrap()
    }

    #[test]
    fn closest_ancestor_applies() {
        let p = perms(&[
            ("/", &[All]),
            ("/ro", &[List, Download]),
            ("/ro/rw", &[Upload]),
        ]);
        assert!(p.allows(&dir("/x"), Upload));
        assert!(!p.allows(&dir("/ro"), Upload));
        assert!(!p.allows(&dir("/ro/sub/deeper"), Upload));
        assert!(p.allows(&dir("/ro/rw/x"), Upload));
        assert!(!p.allows(&dir("/ro/rw/x"), List));
    }

    #[test]
    fn umbrella_permissions_grant_their_parts() {
        let p = perms(&[("/", &[Delete, Rename])]);
        assert!(p.allows(&dir("/"), DeleteFiles));
        assert!(p.allows(&dir("/"), DeleteDirs));
        assert!(p.allows(&dir("/"), RenameDirs));
        assert!(!p.allows(&dir("/"), Upload));
        let split = perms(&[("/", &[DeleteFiles])]);
        assert!(!split.allows(&dir("/"), DeleteDirs));
        assert!(!split.allows(&dir("/"), Delete));
    }

    #[test]
    fn patterns_match_per_component_and_exact_wins() {
        let p = perms(&[("/", &[List]), ("/p*", &[Upload]), ("/pub", &[Download])]);
        assert!(p.allows(&dir("/private/x"), Upload));
        assert!(p.allows(&dir("/pub/x"), Download));
        assert!(!p.allows(&dir("/pub/x"), Upload));
        assert!(!p.allows(&dir("/other"), Upload));
    }

    #[test]
    fn validation() {
        let bad = |entries: &[(&str, &[Permission])]| {
            UserPermissions::new(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_vec()))
                    .collect(),
            )
            .is_err()
        };
        assert!(bad(&[("/x", &[All])]));
        assert!(bad(&[("/", &[])]));
        assert!(bad(&[("/", &[All]), ("rel", &[List])]));
        assert!(bad(&[("/", &[All]), ("/a/", &[List]), ("/a", &[List])]));
        assert!("nope".parse::<Permission>().is_err());
        assert_eq!("rename_dirs".parse::<Permission>().unwrap(), RenameDirs);
    }

    #[test]
    fn globbing() {
        assert!(glob_match(b"*.txt", b"a.txt"));
        assert!(!glob_match(b"*.txt", b"a.txt.bak"));
        assert!(glob_match(b"a?c", b"abc"));
        assert!(glob_match(b"[a-c]x", b"bx"));
        assert!(!glob_match(b"[!a-c]x", b"bx"));
        assert!(glob_match(b"*", b""));
    }
}

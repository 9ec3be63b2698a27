//! Virtual paths: what a client names, normalised so that nothing it sends can
//! point above the root it was given.

use crate::error::{Error, Result};
use std::fmt;

/// An absolute, normalised virtual path: it starts with `/`, has no empty, `.` or
/// `..` components and no trailing slash (except the root itself). A client's
/// `..` stops at the root, exactly like `cd ..` at `/`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VirtualPath(String);

impl VirtualPath {
    /// The root, `/`.
    pub fn root() -> Self {
        Self("/".to_owned())
    }

    /// Normalises a client path. Relative paths are taken from the root.
    /// Only `/` separates components (SFTP's rule): a backslash is an
    /// ordinary character of a name, as it is to the kernel, so `a\b` is one
    /// file and `..\x` a name that cannot climb. A NUL byte is refused.
    pub fn parse(raw: &str) -> Result<Self> {
        if raw.contains('\0') {
            return Err(Error::invalid("path contains a NUL byte"));
        }
        let mut parts: Vec<&str> = Vec::new();
        for part in raw.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                name => parts.push(name),
            }
        }
        Ok(Self::from_parts(&parts))
    }

    fn from_parts(parts: &[&str]) -> Self {
        let mut out = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum::<usize>() + 1);
        for part in parts {
            out.push('/');
            out.push_str(part);
        }
        if out.is_empty() {
            out.push('/');
        }
        Self(out)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The components after the root, in order.
    pub fn components(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.0.split('/').filter(|c| !c.is_empty())
    }

    /// The last component, `None` for the root.
    pub fn file_name(&self) -> Option<&str> {
        if self.is_root() {
            None
        } else {
            self.0.rsplit('/').next()
        }
    }

    /// The parent directory; the root is its own parent.
    pub fn parent(&self) -> VirtualPath {
        match self.0.rfind('/') {
            Some(0) | None => Self::root(),
            Some(i) => Self(self.0[..i].to_owned()),
        }
    }

    /// Appends one or more components, normalising the result.
    pub fn join(&self, tail: &str) -> Result<VirtualPath> {
        Self::parse(&format!("{}/{}", self.0, tail))
    }

    /// True when `self` is `ancestor` or lies below it.
    pub fn starts_with(&self, ancestor: &VirtualPath) -> bool {
        ancestor.is_root()
            || self.0 == ancestor.0
            || (self.0.starts_with(&ancestor.0) && self.0.as_bytes()[ancestor.0.len()] == b'/')
    }

    /// `self` seen from `ancestor`, as a path rooted there; `None` when `self`
    /// is not below `ancestor`.
    pub fn strip_prefix(&self, ancestor: &VirtualPath) -> Option<VirtualPath> {
        if !self.starts_with(ancestor) {
            return None;
        }
        if ancestor.is_root() {
            return Some(self.clone());
        }
        let rest = &self.0[ancestor.0.len()..];
        Some(if rest.is_empty() {
            Self::root()
        } else {
            Self(rest.to_owned())
        })
    }
}

impl fmt::Display for VirtualPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(raw: &str) -> String {
        VirtualPath::parse(raw).unwrap().0
    }

    #[test]
    fn normalises_like_a_shell_at_the_root() {
        assert_eq!(p(""), "/");
        assert_eq!(p("."), "/");
        assert_eq!(p("a/b/"), "/a/b");
        assert_eq!(p("//a//./b"), "/a/b");
        assert_eq!(p("/a/../b"), "/b");
        assert_eq!(p("/../../etc/passwd"), "/etc/passwd");
        assert_eq!(p("a/b/../../../.."), "/");
    }

    #[test]
    fn a_backslash_is_part_of_a_name() {
        assert_eq!(p("..\\..\\etc"), "/..\\..\\etc");
        assert_eq!(p("/pl\\anted"), "/pl\\anted");
        let v = VirtualPath::parse("/a\\b").unwrap();
        assert_eq!(v.file_name(), Some("a\\b"));
        assert!(v.parent().is_root());
    }

    #[test]
    fn refuses_nul() {
        assert!(VirtualPath::parse("a\0b").is_err());
    }

    #[test]
    fn parent_and_name() {
        let v = VirtualPath::parse("/a/b/c").unwrap();
        assert_eq!(v.parent().as_str(), "/a/b");
        assert_eq!(v.file_name(), Some("c"));
        assert_eq!(VirtualPath::parse("/a").unwrap().parent().as_str(), "/");
        assert_eq!(VirtualPath::root().parent().as_str(), "/");
        assert_eq!(VirtualPath::root().file_name(), None);
    }

    #[test]
    fn prefixes_respect_component_boundaries() {
        let a = VirtualPath::parse("/data").unwrap();
        assert!(VirtualPath::parse("/data/x").unwrap().starts_with(&a));
        assert!(VirtualPath::parse("/data").unwrap().starts_with(&a));
        assert!(!VirtualPath::parse("/database").unwrap().starts_with(&a));
        let inner = VirtualPath::parse("/data/x/y")
            .unwrap()
            .strip_prefix(&a)
            .unwrap();
        assert_eq!(inner.as_str(), "/x/y");
        assert!(a.strip_prefix(&a).unwrap().is_root());
    }
}

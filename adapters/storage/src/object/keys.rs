//! Where a virtual path lives in the bucket: every key starts with the
//! storage's key prefix, which is the jail. A [`VirtualPath`] is already
//! normalised (no `.`, `..` or empty component), so joining its components
//! under the prefix can never name a key outside it.

use ferry_domain::{Error, Result, VirtualPath};
use object_store::path::{Path, PathPart};

/// The key prefix of one storage and the keys of its paths.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    /// Empty for the bucket's root, else the prefix with one trailing `/`.
    prefix: String,
}

impl Keys {
    /// Checks `key_prefix`; leading and trailing slashes are ignored.
    pub(crate) fn new(key_prefix: &str) -> Result<Self> {
        let trimmed = key_prefix.trim_matches('/');
        if trimmed.is_empty() {
            return Ok(Self {
                prefix: String::new(),
            });
        }
        let bad = |part: &str| part.is_empty() || part == "." || part == "..";
        if trimmed.split('/').any(bad) || Path::parse(trimmed).is_err() {
            return Err(Error::invalid(
                "key prefix must be names separated by single slashes, without . or ..",
            ));
        }
        Ok(Self {
            prefix: format!("{trimmed}/"),
        })
    }

    /// The key of a file at `path`; the root has none.
    pub(crate) fn object(&self, path: &VirtualPath) -> Result<Path> {
        let relative = relative(path);
        if relative.is_empty() {
            return Err(Error::invalid("is a directory"));
        }
        parse(&format!("{}{relative}", self.prefix))
    }

    /// The listing prefix of the directory at `path`: its key and a `/`, or
    /// the storage's prefix for the root (empty for a whole bucket).
    pub(crate) fn dir_prefix(&self, path: &VirtualPath) -> Result<String> {
        let relative = relative(path);
        if relative.is_empty() {
            return Ok(self.prefix.clone());
        }
        Ok(format!("{}{relative}/", self.prefix))
    }

    /// The marker object of the directory at `path`: its key and a `/`,
    /// an empty object as other tools write for a folder. The bucket's
    /// root has none.
    pub(crate) fn marker(&self, path: &VirtualPath) -> Result<Path> {
        let prefix = self.dir_prefix(path)?;
        let dir = prefix.trim_end_matches('/');
        if dir.is_empty() {
            return Err(Error::invalid("the bucket's root has no marker"));
        }
        // Parsing drops a trailing `/`; joining an empty part puts it back.
        Ok(parse(dir)?.join(PathPart::default()))
    }

    /// The directory a marker listed as `location` stands for: listings
    /// give a `<dir>/` key without its `/`.
    pub(crate) fn marker_of(location: &Path) -> Path {
        location.clone().join(PathPart::default())
    }

    /// The storage's own prefix, for redacting logs.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// The path without its leading `/`.
fn relative(path: &VirtualPath) -> &str {
    path.as_str().trim_start_matches('/')
}

fn parse(key: &str) -> Result<Path> {
    // Only control characters are refused here: the components are normalised.
    Path::parse(key).map_err(|_| Error::invalid("name not allowed on object storage"))
}

/// The name of a listed key inside `dir_prefix`, when it is a direct child
/// (not the directory's own `<dir>/` marker, listed without its `/`).
pub(crate) fn child_name<'a>(dir_prefix: &str, location: &'a str) -> Option<&'a str> {
    let name = location.strip_prefix(dir_prefix)?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vp(raw: &str) -> VirtualPath {
        VirtualPath::parse(raw).unwrap()
    }

    #[test]
    fn keys_live_under_the_prefix() {
        let keys = Keys::new("/homes/alice/").unwrap();
        assert_eq!(
            keys.object(&vp("/a/b")).unwrap().as_ref(),
            "homes/alice/a/b"
        );
        assert_eq!(
            keys.object(&vp("/../../x")).unwrap().as_ref(),
            "homes/alice/x"
        );
        assert_eq!(keys.dir_prefix(&vp("/")).unwrap(), "homes/alice/");
        assert_eq!(keys.dir_prefix(&vp("/d")).unwrap(), "homes/alice/d/");
        assert_eq!(keys.marker(&vp("/d")).unwrap().as_ref(), "homes/alice/d/");
        assert_eq!(keys.marker(&vp("/")).unwrap().as_ref(), "homes/alice/");
        let listed = Path::parse("homes/alice/d/").unwrap();
        assert_eq!(Keys::marker_of(&listed).as_ref(), "homes/alice/d/");
        let bucket = Keys::new("").unwrap();
        assert_eq!(bucket.object(&vp("/f")).unwrap().as_ref(), "f");
        assert_eq!(bucket.dir_prefix(&vp("/")).unwrap(), "");
        assert_eq!(bucket.marker(&vp("/d")).unwrap().as_ref(), "d/");
        assert!(bucket.marker(&vp("/")).is_err());
    }

    #[test]
    fn odd_names_are_kept_verbatim() {
        let keys = Keys::new("p").unwrap();
        let key = keys.object(&vp("/100% #{x}? \\y")).unwrap();
        assert_eq!(key.as_ref(), "p/100% #{x}? \\y");
    }

    #[test]
    fn bad_prefixes_and_names_are_refused() {
        for prefix in ["a/../b", "a//b", "./a", "a/\n"] {
            assert!(Keys::new(prefix).is_err(), "{prefix:?}");
        }
        let keys = Keys::new("p").unwrap();
        assert!(keys.object(&vp("/")).is_err());
        assert!(keys.object(&vp("/a\u{7}b")).is_err());
    }

    #[test]
    fn children_hide_markers() {
        assert_eq!(child_name("p/d/", "p/d/f"), Some("f"));
        assert_eq!(child_name("p/d/", "p/d/.ferry-dir"), Some(".ferry-dir"));
        assert_eq!(child_name("p/d/", "p/d"), None);
        assert_eq!(child_name("p/d/", "p/e/f"), None);
        assert_eq!(child_name("", "f"), Some("f"));
    }
}

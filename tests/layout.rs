//! The dependency rule of DESIGN.md, checked on the manifests and on the
//! resolved dependency tree: the core (`domain`, `ports`) stays free of I/O,
//! runtimes and adapters; adapters never lean on each other or on the root.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Crates that must never appear anywhere below `ferry-domain` or `ferry-ports`.
const FORBIDDEN_IN_CORE: [&str; 17] = [
    "warp",
    "hyper",
    "russh",
    "russh-sftp",
    "sea-orm",
    "sqlx",
    "object_store",
    "reqwest",
    "tokio",
    "tracing-subscriber",
    "ferry",
    "ferry-http",
    "ferry-sftp",
    "ferry-sql",
    "ferry-storage",
    "ferry-auth",
    "ferry-migrations",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn manifest(dir: &Path) -> toml::Table {
    let path = dir.join("Cargo.toml");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.parse()
        .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// Package names of the normal and build dependencies, target-specific ones
/// included, following `package = "..."` renames.
fn direct_dependencies(manifest: &toml::Table) -> BTreeSet<String> {
    let mut tables: Vec<&toml::Table> = Vec::new();
    for key in ["dependencies", "build-dependencies"] {
        tables.extend(manifest.get(key).and_then(toml::Value::as_table));
    }
    if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
        for target in targets.values().filter_map(toml::Value::as_table) {
            for key in ["dependencies", "build-dependencies"] {
                tables.extend(target.get(key).and_then(toml::Value::as_table));
            }
        }
    }
    let mut names = BTreeSet::new();
    for table in tables {
        for (key, spec) in table {
            let renamed = spec.get("package").and_then(toml::Value::as_str);
            names.insert(renamed.unwrap_or(key).to_owned());
        }
    }
    names
}

fn package_name(manifest: &toml::Table) -> String {
    manifest
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn assert_only(crate_dir: &str, allowed: &[&str]) {
    let deps = direct_dependencies(&manifest(&root().join(crate_dir)));
    let extra: Vec<&String> = deps
        .iter()
        .filter(|d| !allowed.contains(&d.as_str()))
        .collect();
    assert!(
        extra.is_empty(),
        "{crate_dir}/Cargo.toml depends on {extra:?}; only {allowed:?} are allowed"
    );
}

#[test]
fn domain_depends_only_on_small_value_crates() {
    assert_only("domain", &["serde", "serde_json", "thiserror", "ipnet"]);
}

#[test]
fn ports_depend_only_on_domain_and_the_async_vocabulary() {
    assert_only(
        "ports",
        &["ferry-domain", "async-trait", "bytes", "futures-core"],
    );
}

#[test]
fn adapters_depend_on_no_other_adapter_nor_on_the_root() {
    let adapters_dir = root().join("adapters");
    let dirs: Vec<PathBuf> = std::fs::read_dir(&adapters_dir)
        .expect("read adapters/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    assert!(!dirs.is_empty(), "no adapters found");
    let names: Vec<String> = dirs.iter().map(|d| package_name(&manifest(d))).collect();
    for (dir, own) in dirs.iter().zip(&names) {
        let deps = direct_dependencies(&manifest(dir));
        let leaning: Vec<&String> = deps
            .iter()
            .filter(|d| *d == "ferry" || (names.contains(d) && *d != own))
            .collect();
        assert!(leaning.is_empty(), "{own} depends on {leaning:?}");
    }
}

/// The crate names in `cargo tree -p package -e normal --prefix none`.
fn resolved_tree(package: &str) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "-p", package, "-e", "normal", "--prefix", "none"])
        .current_dir(root())
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -p {package} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_core_resolves_to_no_io_runtime_or_adapter_crate() {
    for package in ["ferry-domain", "ferry-ports"] {
        let tree = resolved_tree(package);
        assert!(
            tree.contains(package),
            "cargo tree did not list {package}: {tree:?}"
        );
        let found: Vec<&str> = FORBIDDEN_IN_CORE
            .into_iter()
            .filter(|c| tree.contains(*c))
            .collect();
        assert!(found.is_empty(), "{package} pulls in {found:?}");
    }
}

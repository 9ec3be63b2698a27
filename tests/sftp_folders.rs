//! Virtual folders seen over SFTP with OpenSSH's client: a folder mounted in
//! a user's view holds what is put there on disk at its mapped path, shows in
//! its parent's listing, obeys the permissions of its virtual path, keeps
//! `..` and symlinks inside it, and moves between the home and the folder
//! keep every byte.

mod common;

use common::{
    Cred, KeyPair, Server, SftpOutput, assert_same_file, assert_same_tree, scratch_dir, sftp,
    user_json, write_random_file,
};
use serde_json::{Value, json};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

const CANARY: &[u8] = b"CANARY: outside every folder\n";

/// A server, a folder `shared` mapped to a directory of its own, and user
/// `alice` who mounts it at `/projects/shared`.
struct Setup {
    server: Server,
    key: KeyPair,
    home: PathBuf,
    mapped: TempDir,
    outside: TempDir,
    local: TempDir,
}

impl Setup {
    fn new(permissions: Value) -> Setup {
        let server = Server::start();
        let mapped = scratch_dir();
        let outside = scratch_dir();
        fs::write(outside.path().join("canary.txt"), CANARY).expect("write the canary");
        let folder = json!({"name": "shared", "mapped_path": mapped.path()});
        let resp = server.api("POST", "/api/v2/folders", Some(&folder));
        assert_eq!(resp.status, 201, "create the folder: {resp:?}");
        let key = KeyPair::generate();
        let mut user = user_json("alice", None, &[&key.public_line], permissions);
        user["virtual_folders"] = json!([{"name": "shared", "virtual_path": "/projects/shared"}]);
        server.create_user(&user);
        let home = server.first_login("alice", Cred::Key(&key.private));
        Setup {
            server,
            key,
            home,
            mapped,
            outside,
            local: scratch_dir(),
        }
    }

    fn run(&self, batch: &str) -> SftpOutput {
        let cred = Cred::Key(&self.key.private);
        sftp(&self.server, "alice", cred, self.local.path(), batch)
    }

    fn local(&self, name: &str) -> PathBuf {
        self.local.path().join(name)
    }

    fn mapped(&self, name: &str) -> PathBuf {
        self.mapped.path().join(name)
    }
}

fn full() -> Value {
    json!({"/": ["*"]})
}

/// The names an `ls -1` of `dir` printed.
fn listed(out: &SftpOutput, dir: &str) -> Vec<String> {
    let mut names: Vec<String> = out
        .stdout
        .lines()
        .filter(|l| !l.starts_with("sftp>"))
        .map(|l| {
            l.trim()
                .trim_start_matches(dir)
                .trim_start_matches('/')
                .to_owned()
        })
        .filter(|l| !l.is_empty())
        .collect();
    names.sort();
    names
}

#[test]
fn put_and_get_inside_a_folder_use_its_mapped_path() {
    let s = Setup::new(full());
    write_random_file(&s.local("up.bin"), 3 * 1024 * 1024 + 17, 7);
    s.run("put up.bin /projects/shared/up.bin\nmkdir /projects/shared/sub\n")
        .assert_ok("upload into the folder");
    assert_same_file(&s.local("up.bin"), &s.mapped("up.bin"));
    assert!(s.mapped("sub").is_dir());
    assert!(
        !s.home.join("projects/shared/up.bin").exists(),
        "landed in the home"
    );

    fs::write(s.mapped("sub/on-disk.txt"), b"put there by the operator\n").unwrap();
    s.run("get /projects/shared/sub/on-disk.txt got.txt\n")
        .assert_ok("download from the folder");
    assert_eq!(
        fs::read(s.local("got.txt")).unwrap(),
        b"put there by the operator\n"
    );

    s.run("cd /projects/shared/sub\nrm on-disk.txt\ncd ..\nrmdir sub\n")
        .assert_ok("remove inside the folder");
    assert!(!s.mapped("sub").exists());
}

#[test]
fn the_mount_point_is_listed_and_cannot_be_removed_or_renamed() {
    let s = Setup::new(full());
    fs::write(s.home.join("projects/plain.txt"), b"home file\n").unwrap();
    fs::write(s.mapped("inside.txt"), b"folder file\n").unwrap();
    let out = s.run("ls -1 /projects\n");
    out.assert_ok("list the mount's parent");
    assert_eq!(
        listed(&out, "/projects"),
        ["plain.txt", "shared"],
        "{}",
        out.describe()
    );
    let out = s.run("ls -1 /projects/shared\n");
    out.assert_ok("list the folder");
    assert_eq!(listed(&out, "/projects/shared"), ["inside.txt"]);

    s.run("rmdir /projects/shared\n")
        .assert_denied_at("rmdir /projects/shared");
    s.run("rename /projects/shared /moved\n")
        .assert_denied_at("rename /projects/shared /moved");
    s.run("rename /projects /elsewhere\n")
        .assert_denied_at("rename /projects /elsewhere");
    s.run("rmdir /projects\n")
        .assert_denied_at("rmdir /projects");
    assert!(s.mapped("inside.txt").exists());
}

#[test]
fn permissions_follow_the_virtual_path() {
    let perms = json!({"/": ["*"], "/projects/shared": ["list", "download"],
        "/projects/shared/drop": ["list", "upload"]});
    let s = Setup::new(perms);
    fs::create_dir(s.mapped("drop")).unwrap();
    fs::write(s.mapped("read-me.txt"), b"readable\n").unwrap();
    fs::write(s.local("new.txt"), b"new\n").unwrap();
    s.run("get /projects/shared/read-me.txt\n")
        .assert_ok("download is granted in the folder");
    s.run("put new.txt /projects/shared/new.txt\n")
        .assert_denied_at("put new.txt /projects/shared/new.txt");
    assert!(!s.mapped("new.txt").exists());
    s.run("rm /projects/shared/read-me.txt\n")
        .assert_denied_at("rm /projects/shared/read-me.txt");
    s.run("put new.txt /projects/shared/drop/new.txt\n")
        .assert_ok("upload is granted in the drop box");
    assert!(s.mapped("drop/new.txt").exists());
    s.run("get /projects/shared/drop/new.txt back.txt\n")
        .assert_failed_at("get /projects/shared/drop/new.txt back.txt");
    s.run("put new.txt /home-file.txt\n")
        .assert_ok("the home keeps its rights");
}

#[test]
fn moves_across_the_folder_boundary_keep_every_byte() {
    let s = Setup::new(full());
    write_random_file(&s.home.join("big.bin"), 5 * 1024 * 1024 + 3, 11);
    let expected = s.local("expected.bin");
    fs::copy(s.home.join("big.bin"), &expected).unwrap();
    s.run("rename /big.bin /projects/shared/big.bin\n")
        .assert_ok("move a file into the folder");
    assert!(
        !s.home.join("big.bin").exists(),
        "the source is still there"
    );
    assert_same_file(&expected, &s.mapped("big.bin"));

    let tree = s.home.join("tree");
    fs::create_dir_all(tree.join("a/b")).unwrap();
    fs::create_dir(tree.join("empty")).unwrap();
    write_random_file(&tree.join("a/one.bin"), 300_000, 1);
    write_random_file(&tree.join("a/b/two.bin"), 1_000_001, 2);
    fs::write(tree.join("top.txt"), b"top\n").unwrap();
    symlink("a/one.bin", tree.join("link")).unwrap();
    let copy = s.local("tree-copy");
    copy_dir(&tree, &copy);
    s.run("rename /tree /projects/shared/tree\n")
        .assert_ok("move a tree into the folder");
    assert!(!tree.exists(), "the source tree is still there");
    assert_same_tree(&copy, &s.mapped("tree"));

    s.run("rename /projects/shared/tree /back\n")
        .assert_ok("move the tree back to the home");
    assert_same_tree(&copy, &s.home.join("back"));
    assert!(!s.mapped("tree").exists());
    let leftovers: Vec<_> = fs::read_dir(s.mapped.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        [std::ffi::OsString::from("big.bin")],
        "staging left behind"
    );
}

#[test]
fn a_failed_move_leaves_the_source_and_no_partial_target() {
    let s = Setup::new(full());
    let tree = s.home.join("tree");
    fs::create_dir_all(tree.join("sub")).unwrap();
    write_random_file(&tree.join("sub/data.bin"), 200_000, 5);
    write_random_file(&tree.join("data2.bin"), 300_000, 6);
    // A named pipe cannot be copied between storages, so the move fails
    // part way, whatever order the copy meets the entries in.
    let made = Command::new("mkfifo").arg(tree.join("pipe")).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo failed");
    let before = tree_listing(&tree);

    let out = s.run("rename /tree /projects/shared/tree\n");
    out.assert_failed_at("rename /tree /projects/shared/tree");
    assert!(
        out.stderr.to_lowercase().contains("unsupported"),
        "the move did not fail on the pipe\n{}",
        out.describe()
    );
    assert_eq!(tree_listing(&tree), before, "the source changed");
    let left: Vec<_> = fs::read_dir(s.mapped.path()).unwrap().collect();
    assert!(left.is_empty(), "a partial copy was left: {left:?}");
}

/// Every path below `root` with its size, symlinks not followed.
fn tree_listing(root: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    for (rel, entry) in common::tree(root) {
        let size = match entry {
            common::Entry::File(size) => size,
            _ => 0,
        };
        out.push((rel, size));
    }
    out
}

#[test]
fn dot_dot_and_symlinks_stay_inside_the_folder() {
    let s = Setup::new(full());
    let canary = s.outside.path().join("canary.txt");
    symlink(&canary, s.mapped("absolute-out")).unwrap();
    let up = "../".repeat(12) + canary.strip_prefix("/").unwrap().to_str().unwrap();
    symlink(&up, s.mapped("relative-out")).unwrap();
    for path in [
        "/projects/shared/absolute-out".to_owned(),
        "/projects/shared/relative-out".to_owned(),
        format!("/projects/shared/../../..{}", canary.display()),
    ] {
        let command = format!("get {path} leaked.txt");
        s.run(&format!("{command}\n")).assert_failed_at(&command);
        assert!(!s.local("leaked.txt").exists(), "{path} was read");
    }
    s.run("symlink /etc/passwd /projects/shared/made\n")
        .assert_ok("a symlink may be made");
    s.run("get /projects/shared/made leaked.txt\n")
        .assert_failed_at("get /projects/shared/made leaked.txt");
    fs::write(s.local("x.txt"), b"x\n").unwrap();
    s.run("put x.txt /projects/shared/relative-out\n")
        .assert_failed_at("put x.txt /projects/shared/relative-out");
    assert_eq!(fs::read(&canary).unwrap(), CANARY);
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            symlink(fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if kind.is_dir() {
            copy_dir(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap();
        }
    }
}

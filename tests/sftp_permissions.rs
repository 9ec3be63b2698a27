//! Per-directory permissions with SFTPGo's semantics, as an SFTP user meets
//! them: each permission refuses its operation when missing and allows it when
//! granted, and the closest configured ancestor directory decides.

mod common;

use common::{Cred, KeyPair, Server, mode_of, scratch_dir, sftp, user_json};
use serde_json::{Value, json};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tempfile::TempDir;

/// Every permission that names one kind of operation (not `*` nor the
/// umbrellas `delete` and `rename`).
const EVERY: [&str; 14] = [
    "list",
    "download",
    "upload",
    "overwrite",
    "delete_files",
    "delete_dirs",
    "rename_files",
    "rename_dirs",
    "create_dirs",
    "create_symlinks",
    "chmod",
    "chown",
    "chtimes",
    "copy",
];

const ORIGINAL: &[u8] = b"original content\n";
const NEW: &[u8] = b"new content\n";

/// `{"/": every permission except `missing`}`.
fn all_but(missing: &str) -> Value {
    let perms: Vec<&str> = EVERY.into_iter().filter(|p| *p != missing).collect();
    json!({"/": perms})
}

/// One SFTP user with a prepared home: `/file.txt` (mode 0644) holding
/// [`ORIGINAL`], an empty `/dir`, and a local `local.txt` holding [`NEW`].
struct Account<'a> {
    server: &'a Server,
    name: String,
    key: KeyPair,
    home: PathBuf,
    local: TempDir,
}

impl<'a> Account<'a> {
    fn new(server: &'a Server, name: &str, permissions: Value) -> Account<'a> {
        let key = KeyPair::generate();
        server.create_user(&user_json(name, None, &[&key.public_line], permissions));
        let home = server.first_login(name, Cred::Key(&key.private));
        let file = home.join("file.txt");
        fs::write(&file, ORIGINAL).expect("write file.txt");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).expect("chmod");
        fs::create_dir(home.join("dir")).expect("mkdir dir");
        let local = scratch_dir();
        fs::write(local.path().join("local.txt"), NEW).expect("write local.txt");
        Account {
            server,
            name: name.to_owned(),
            key,
            home,
            local,
        }
    }

    fn run(&self, batch: &str) -> common::SftpOutput {
        let cred = Cred::Key(&self.key.private);
        sftp(self.server, &self.name, cred, self.local.path(), batch)
    }

    /// Asserts the whole batch succeeds.
    fn ok(&self, batch: &str) {
        self.run(batch)
            .assert_ok(&format!("{}: {batch:?}", self.name));
    }

    /// Asserts `command` alone fails with "Permission denied".
    fn denied(&self, command: &str) {
        self.run(&format!("{command}\n")).assert_denied_at(command);
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.home.join(rel)
    }

    fn local(&self, rel: &str) -> PathBuf {
        self.local.path().join(rel)
    }
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

#[test]
fn list_is_needed_to_read_a_directory() {
    let server = Server::start();
    let without = Account::new(&server, "nolist", all_but("list"));
    // A bare `ls` that fails does not fail an OpenSSH batch; `ls .` does.
    without.denied("ls .");
    // Listing a subdirectory starts with a stat, which also needs `list` on
    // its parent; OpenSSH reports that refusal as "not found".
    without.run("ls -1 dir\n").assert_failed_at("ls -1 dir");

    let with = Account::new(&server, "lister", json!({"/": ["list"]}));
    let out = with.run("ls -1\n");
    out.assert_ok("ls with list");
    assert!(out.stdout.contains("file.txt"), "{}", out.describe());
}

#[test]
fn download_is_needed_to_read_a_file() {
    let server = Server::start();
    let without = Account::new(&server, "nodownload", all_but("download"));
    without.denied("get file.txt out.txt");
    let got = fs::read(without.local("out.txt")).unwrap_or_default();
    assert_ne!(got, ORIGINAL, "the file was downloaded anyway");

    let with = Account::new(&server, "reader", json!({"/": ["list", "download"]}));
    with.ok("get file.txt out.txt\n");
    assert_eq!(fs::read(with.local("out.txt")).expect("read"), ORIGINAL);
}

#[test]
fn upload_is_needed_to_create_a_file() {
    let server = Server::start();
    let without = Account::new(&server, "noupload", all_but("upload"));
    without.denied("put local.txt new.txt");
    assert!(
        !exists(&without.path("new.txt")),
        "new.txt was created anyway"
    );

    let with = Account::new(&server, "writer", json!({"/": ["list", "upload"]}));
    with.ok("put local.txt new.txt\n");
    assert_eq!(fs::read(with.path("new.txt")).expect("read"), NEW);
}

#[test]
fn overwrite_is_needed_to_replace_an_existing_file() {
    let server = Server::start();
    let without = Account::new(&server, "nooverwrite", all_but("overwrite"));
    without.ok("put local.txt new.txt\n");
    assert_eq!(fs::read(without.path("new.txt")).expect("read"), NEW);
    without.denied("put local.txt file.txt");
    assert_eq!(fs::read(without.path("file.txt")).expect("read"), ORIGINAL);

    let with = Account::new(
        &server,
        "replacer",
        json!({"/": ["list", "upload", "overwrite"]}),
    );
    with.ok("put local.txt file.txt\n");
    assert_eq!(fs::read(with.path("file.txt")).expect("read"), NEW);
}

#[test]
fn delete_files_and_delete_dirs_are_separate() {
    let server = Server::start();
    let files_kept = Account::new(&server, "keepfiles", all_but("delete_files"));
    files_kept.denied("rm file.txt");
    assert!(
        exists(&files_kept.path("file.txt")),
        "file.txt was removed anyway"
    );
    files_kept.ok("rmdir dir\n");
    assert!(
        !exists(&files_kept.path("dir")),
        "rmdir with delete_dirs did nothing"
    );

    let dirs_kept = Account::new(&server, "keepdirs", all_but("delete_dirs"));
    dirs_kept.denied("rmdir dir");
    assert!(exists(&dirs_kept.path("dir")), "dir was removed anyway");
    dirs_kept.ok("rm file.txt\n");
    assert!(
        !exists(&dirs_kept.path("file.txt")),
        "rm with delete_files did nothing"
    );
}

#[test]
fn rename_files_and_rename_dirs_are_separate() {
    let server = Server::start();
    let files_fixed = Account::new(&server, "fixedfiles", all_but("rename_files"));
    files_fixed.denied("rename file.txt moved.txt");
    assert!(exists(&files_fixed.path("file.txt")) && !exists(&files_fixed.path("moved.txt")));
    files_fixed.ok("rename dir moved-dir\n");
    assert!(
        files_fixed.path("moved-dir").is_dir(),
        "rename_dirs did not rename"
    );

    let dirs_fixed = Account::new(&server, "fixeddirs", all_but("rename_dirs"));
    dirs_fixed.denied("rename dir moved-dir");
    assert!(dirs_fixed.path("dir").is_dir() && !exists(&dirs_fixed.path("moved-dir")));
    dirs_fixed.ok("rename file.txt moved.txt\n");
    assert_eq!(
        fs::read(dirs_fixed.path("moved.txt")).expect("read"),
        ORIGINAL
    );
}

#[test]
fn create_dirs_is_needed_for_mkdir() {
    let server = Server::start();
    let without = Account::new(&server, "nomkdir", all_but("create_dirs"));
    without.denied("mkdir newdir");
    assert!(!exists(&without.path("newdir")));

    let with = Account::new(&server, "builder", json!({"/": ["list", "create_dirs"]}));
    with.ok("mkdir newdir\n");
    assert!(with.path("newdir").is_dir());
}

#[test]
fn create_symlinks_is_needed_for_ln_s() {
    let server = Server::start();
    let without = Account::new(&server, "nosymlink", all_but("create_symlinks"));
    without.denied("ln -s /file.txt link");
    assert!(!exists(&without.path("link")));

    let with = Account::new(&server, "linker", json!({"/": ["list", "create_symlinks"]}));
    with.ok("ln -s /file.txt link\n");
    let meta = fs::symlink_metadata(with.path("link")).expect("lstat link");
    assert!(meta.file_type().is_symlink());
}

#[test]
fn chmod_is_needed_to_change_modes() {
    let server = Server::start();
    let without = Account::new(&server, "nochmod", all_but("chmod"));
    without.denied("chmod 600 file.txt");
    assert_eq!(
        mode_of(&without.path("file.txt")),
        0o644,
        "the mode changed anyway"
    );

    let with = Account::new(&server, "chmodder", json!({"/": ["list", "chmod"]}));
    with.ok("chmod 600 file.txt\n");
    assert_eq!(mode_of(&with.path("file.txt")), 0o600);
}

#[test]
fn chown_is_needed_to_change_owners() {
    // The file's own uid: a change any server process may make, root or not.
    let server = Server::start();
    let without = Account::new(&server, "nochown", all_but("chown"));
    let uid = fs::metadata(without.path("file.txt")).expect("stat").uid();
    without.denied(&format!("chown {uid} file.txt"));

    let with = Account::new(&server, "chowner", json!({"/": ["list", "chown"]}));
    with.ok(&format!("chown {uid} file.txt\n"));
    assert_eq!(
        fs::metadata(with.path("file.txt")).expect("stat").uid(),
        uid
    );
}

/// 2001-01-01T00:00:00Z.
fn long_ago() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(978_307_200)
}

#[test]
fn chtimes_is_needed_to_set_times() {
    // OpenSSH's sftp has no touch: `put -p` uploads, then sets mode and times
    // with one fsetstat whose failure it reports but does not treat as fatal,
    // so the proof is the file's mtime on disk.
    let server = Server::start();
    let without = Account::new(&server, "nochtimes", all_but("chtimes"));
    let local = fs::File::options()
        .write(true)
        .open(without.local("local.txt"))
        .expect("open");
    local.set_modified(long_ago()).expect("set the local mtime");
    let out = without.run("put -p local.txt stamped.txt\n");
    out.assert_ok("put -p without chtimes still uploads");
    assert!(
        out.stderr.contains("Permission denied"),
        "{}",
        out.describe()
    );
    let mtime = fs::metadata(without.path("stamped.txt"))
        .expect("stat")
        .modified()
        .expect("mtime");
    assert_ne!(mtime, long_ago(), "the times were set without chtimes");

    let perms = json!({"/": ["list", "upload", "chmod", "chtimes"]});
    let with = Account::new(&server, "stamper", perms);
    let local = fs::File::options()
        .write(true)
        .open(with.local("local.txt"))
        .expect("open");
    local.set_modified(long_ago()).expect("set the local mtime");
    with.ok("put -p local.txt stamped.txt\n");
    let mtime = fs::metadata(with.path("stamped.txt"))
        .expect("stat")
        .modified()
        .expect("mtime");
    assert_eq!(
        mtime,
        long_ago(),
        "put -p with chtimes did not set the mtime"
    );
}

#[test]
fn the_closest_configured_ancestor_decides() {
    let server = Server::start();
    let perms = json!({
        "/": ["*"],
        "/ro": ["list", "download"],
        "/ro/rw": ["*"],
        "/inbox": ["list", "upload"],
    });
    let user = Account::new(&server, "layered", perms);
    for dir in ["ro/deeper", "ro/rw", "inbox"] {
        fs::create_dir_all(user.path(dir)).expect("mkdir");
    }
    fs::write(user.path("ro/in.txt"), ORIGINAL).expect("write");
    fs::write(user.path("inbox/drop.txt"), ORIGINAL).expect("write");

    user.ok("ls ro\nget ro/in.txt copy.txt\nput local.txt top.txt\n");
    user.denied("put local.txt ro/new.txt");
    user.denied("mkdir ro/newdir");
    user.denied("rm ro/in.txt");
    user.denied("put local.txt ro/deeper/new.txt");
    user.ok("put local.txt ro/rw/new.txt\nmkdir ro/rw/sub\n");
    user.ok("put local.txt inbox/new.txt\n");
    user.denied("get inbox/drop.txt drop.txt");

    assert!(!exists(&user.path("ro/new.txt")) && !exists(&user.path("ro/newdir")));
    assert!(!exists(&user.path("ro/deeper/new.txt")));
    assert_eq!(fs::read(user.path("ro/in.txt")).expect("read"), ORIGINAL);
    assert_eq!(fs::read(user.path("ro/rw/new.txt")).expect("read"), NEW);
    assert_eq!(fs::read(user.path("inbox/new.txt")).expect("read"), NEW);
    assert_eq!(fs::read(user.path("top.txt")).expect("read"), NEW);
}

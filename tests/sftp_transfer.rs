//! Files in and out with OpenSSH's `sftp`: big files, trees, large requests,
//! the everyday commands of a session, and a big directory.

mod common;

use common::{
    Cred, KeyPair, Options, Server, all_perms, assert_same_file, assert_same_tree, mode_of, scp,
    scratch_dir, sftp, sftp_with, user_json, write_random_file,
};
use std::fs;
use std::path::Path;
use std::time::Duration;

const MIB: usize = 1 << 20;

/// Creates `name` with a fresh key and full permissions.
fn key_user(server: &Server, name: &str) -> KeyPair {
    let key = KeyPair::generate();
    server.create_user(&user_json(name, None, &[&key.public_line], all_perms()));
    key
}

#[test]
fn a_50_mib_file_round_trips_with_key_auth() {
    let server = Server::start();
    let key = key_user(&server, "bigfile");
    let local = scratch_dir();
    write_random_file(&local.path().join("src.bin"), 50 * MIB, 0x5eed_0001);

    let batch = "put src.bin big.bin\nget big.bin back.bin\n";
    sftp(
        &server,
        "bigfile",
        Cred::Key(&key.private),
        local.path(),
        batch,
    )
    .assert_ok("put+get");

    let src = local.path().join("src.bin");
    assert_same_file(&src, &server.home_of("bigfile").join("big.bin"));
    assert_same_file(&src, &local.path().join("back.bin"));
}

#[test]
fn large_requests_with_64_in_flight_finish_in_bounded_time() {
    let server = Server::start();
    let key = key_user(&server, "wide");
    let local = scratch_dir();
    let src = local.path().join("src.bin");
    write_random_file(&src, 64 * MIB, 0x5eed_0002);
    let opts = ["-B", "261120", "-R", "64"];
    let bound = Duration::from_secs(60);
    let cred = Cred::Key(&key.private);

    let up = sftp_with(
        &server,
        "wide",
        cred,
        local.path(),
        "put src.bin w.bin\n",
        &opts,
        bound * 2,
    );
    up.assert_ok("upload with 255 KiB requests");
    assert!(up.elapsed < bound, "upload took {:?}", up.elapsed);
    assert_same_file(&src, &server.home_of("wide").join("w.bin"));

    let down = sftp_with(
        &server,
        "wide",
        cred,
        local.path(),
        "get w.bin back.bin\n",
        &opts,
        bound * 2,
    );
    down.assert_ok("download with 255 KiB requests");
    assert!(down.elapsed < bound, "download took {:?}", down.elapsed);
    assert_same_file(&src, &local.path().join("back.bin"));
}

/// Nested directories, files of awkward sizes, an empty file and an empty dir.
fn build_tree(root: &Path) {
    fs::create_dir_all(root.join("a/b/c")).expect("mkdir");
    fs::create_dir_all(root.join("emptydir")).expect("mkdir");
    fs::write(root.join("empty.txt"), b"").expect("write");
    fs::write(root.join("a/b/c/one-byte"), b"x").expect("write");
    fs::write(root.join("a/b/c/deep.txt"), b"deep down\n").expect("write");
    write_random_file(&root.join("page.bin"), 4096, 3);
    write_random_file(&root.join("a/odd.bin"), 100_003, 4);
    write_random_file(&root.join("a/b/mib-plus.bin"), MIB + 3, 5);
    write_random_file(&root.join("a/b/32k.bin"), 32 * 1024, 6);
}

#[test]
fn a_directory_tree_round_trips_with_password_auth() {
    let server = Server::start();
    let password = "Tr33-password";
    server.create_user(&user_json("treeuser", Some(password), &[], all_perms()));
    let local = scratch_dir();
    build_tree(&local.path().join("tree"));

    let batch = "put -r tree\nget -r tree back\n";
    let out = sftp(
        &server,
        "treeuser",
        Cred::Password(password),
        local.path(),
        batch,
    );
    out.assert_ok("put -r / get -r");

    let tree = local.path().join("tree");
    assert_same_tree(&tree, &server.home_of("treeuser").join("tree"));
    assert_same_tree(&tree, &local.path().join("back"));
}

#[test]
fn the_home_appears_on_disk_at_first_login_and_is_the_root() {
    let server = Server::start();
    let key = key_user(&server, "newcomer");
    let local = scratch_dir();
    let out = sftp(
        &server,
        "newcomer",
        Cred::Key(&key.private),
        local.path(),
        "pwd\n",
    );
    out.assert_ok("first login");
    assert!(
        out.stdout.contains("Remote working directory: /\n"),
        "the home is not shown as /\n{}",
        out.describe()
    );
    assert!(
        server.home_of("newcomer").is_dir(),
        "no home at <data_dir>/users/newcomer"
    );
}

#[test]
fn the_default_data_dir_works_from_the_directory_ferry_starts_in() {
    // No FERRY_DATA_DIR: `./ferry-data` of the working directory, as in
    // the README's quick start.
    let server = Server::start_with(Options {
        default_data_dir: true,
        ..Options::default()
    });
    let key = key_user(&server, "starter");
    let expected = fs::canonicalize(&server.data_dir)
        .expect("the data dir Ferry created")
        .join("users/starter");
    let user = server.api("GET", "/api/v2/users/starter", None).json();
    assert_eq!(user["home_dir"], expected.to_str().unwrap(), "{user}");

    let local = scratch_dir();
    fs::write(local.path().join("a.txt"), b"hello\n").unwrap();
    sftp(
        &server,
        "starter",
        Cred::Key(&key.private),
        local.path(),
        "put a.txt\n",
    )
    .assert_ok("put");
    assert_eq!(fs::read(expected.join("a.txt")).unwrap(), b"hello\n");
    // What Ferry keeps is for its own account only.
    assert_eq!(mode_of(&server.data_dir), 0o700, "data dir mode");
    assert_eq!(
        mode_of(&server.data_dir.join("ferry.db")),
        0o600,
        "database mode"
    );
}

#[test]
fn scp_copies_a_tree_both_ways_and_the_legacy_protocol_is_refused() {
    let server = Server::start();
    let key = key_user(&server, "scpuser");
    let local = scratch_dir();
    build_tree(&local.path().join("tree"));

    let key_path = key.private.as_path();
    scp(
        &server,
        "scpuser",
        key_path,
        local.path(),
        &["-r", "tree", "REMOTE:/up"],
    )
    .assert_ok("scp -r up");
    scp(
        &server,
        "scpuser",
        key_path,
        local.path(),
        &["-r", "REMOTE:/up", "back"],
    )
    .assert_ok("scp -r down");
    assert_same_tree(
        &local.path().join("tree"),
        &server.home_of("scpuser").join("up"),
    );
    assert_same_tree(&local.path().join("tree"), &local.path().join("back"));

    // `scp -O` runs `scp -t` as an SSH command, which Ferry refuses.
    let legacy = scp(
        &server,
        "scpuser",
        key_path,
        local.path(),
        &["-O", "tree/page.bin", "REMOTE:/legacy.txt"],
    );
    assert!(!legacy.success, "scp -O succeeded\n{}", legacy.describe());
    assert!(!server.home_of("scpuser").join("legacy.txt").exists());
}

#[test]
fn everyday_commands_in_one_session() {
    let server = Server::start();
    let key = key_user(&server, "worker");
    let cred = Cred::Key(&key.private);
    let local = scratch_dir();
    fs::write(local.path().join("note.txt"), b"hello ferry\n").expect("write");

    let batch = "mkdir d\nmkdir d/sub\nput note.txt d/f\nrename d/f d/g\n\
                 ln -s /d/g d/link\nchmod 600 d/g\nget d/link via-link.txt\nls -1 d\n";
    let out = sftp(&server, "worker", cred, local.path(), batch);
    out.assert_ok("mkdir/put/rename/ln -s/chmod/get/ls");
    let home = server.home_of("worker");
    assert!(home.join("d/sub").is_dir());
    assert!(!home.join("d/f").exists(), "rename left the old name");
    assert_eq!(
        fs::read(home.join("d/g")).expect("read d/g"),
        b"hello ferry\n"
    );
    assert_eq!(mode_of(&home.join("d/g")), 0o600, "chmod 600 not applied");
    let link = fs::symlink_metadata(home.join("d/link")).expect("lstat d/link");
    assert!(
        link.file_type().is_symlink(),
        "ln -s did not make a symlink"
    );
    assert_eq!(
        fs::read(local.path().join("via-link.txt")).expect("read"),
        b"hello ferry\n"
    );
    let listed: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| !l.starts_with("sftp>"))
        .map(|l| l.trim().trim_start_matches("d/"))
        .collect();
    for name in ["g", "link", "sub"] {
        assert!(
            listed.contains(&name),
            "`ls -1 d` lacks {name}\n{}",
            out.describe()
        );
    }
    assert!(
        !listed.contains(&"f"),
        "`ls -1 d` still shows f\n{}",
        out.describe()
    );

    let batch = "rm d/link\nrm d/g\nrmdir d/sub\nrmdir d\nls -1\n";
    sftp(&server, "worker", cred, local.path(), batch).assert_ok("rm/rmdir");
    assert!(!home.join("d").exists(), "d still exists after rmdir");
    assert!(home.is_dir());
}

#[test]
fn a_directory_of_10000_entries_lists_completely() {
    let server = Server::start();
    let key = key_user(&server, "crowd");
    let cred = Cred::Key(&key.private);
    let home = server.first_login("crowd", cred);
    let big = home.join("big");
    fs::create_dir(&big).expect("mkdir big");
    for i in 0..10_000 {
        fs::write(big.join(format!("f{i:05}")), b"").expect("create an entry");
    }

    let local = scratch_dir();
    let out = sftp(&server, "crowd", cred, local.path(), "cd big\nls -1\n");
    out.assert_ok("ls -1 of 10,000 entries");
    let mut names: Vec<&str> = out
        .stdout
        .lines()
        .map(str::trim)
        .filter(|l| l.len() == 6 && l.starts_with('f'))
        .collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 10_000, "distinct entries listed");
    assert_eq!(names.first(), Some(&"f00000"));
    assert_eq!(names.last(), Some(&"f09999"));
}

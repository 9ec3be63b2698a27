//! Homes and folders on object storage, end to end: the real binary, an S3
//! server, and OpenSSH's `sftp` as the client. The S3 server is s3s-fs
//! inside this test process (on 127.0.0.1:0) for homes at a bucket's root,
//! or a bucket of moto for homes under a key prefix: s3s-fs keeps keys as
//! files, and cannot hold the `<dir>/` marker of a home's root.

mod common;

use common::{Cred, KeyPair, Server, all_perms, scratch_dir, sftp, sftp_with, user_json};
use ferry_test_servers::{Moto, MotoBucket, S3_ACCESS_KEY, S3_BUCKET, S3_SECRET, S3Server};
use object_store::ObjectStoreExt;
use object_store::path::{Path as Key, PathPart};
use serde_json::{Value, json};
use std::fs;
use std::time::Duration;

/// Where one test's objects go.
enum Bucket {
    Fs(S3Server),
    Moto(MotoBucket),
}

/// The bucket of one test, and a runtime for s3s-fs and for checks.
struct Cloud {
    bucket: Bucket,
    runtime: tokio::runtime::Runtime,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime for the S3 server")
}

/// A bucket of s3s-fs, which checks signatures: homes at its root only.
fn cloud() -> Cloud {
    let runtime = runtime();
    let bucket = Bucket::Fs(runtime.block_on(S3Server::start()));
    Cloud { bucket, runtime }
}

/// A bucket of moto, which holds `<dir>/` markers.
fn moto_cloud() -> Cloud {
    Cloud {
        bucket: Bucket::Moto(Moto::shared().bucket()),
        runtime: runtime(),
    }
}

impl Cloud {
    /// An `s3config` for homes under `prefix`, signed with `secret`.
    fn s3config(&self, secret: &str, prefix: &str) -> Value {
        let (endpoint, bucket, access_key) = match &self.bucket {
            Bucket::Fs(fs) => (fs.endpoint.as_str(), S3_BUCKET, S3_ACCESS_KEY),
            Bucket::Moto(moto) => (
                moto.endpoint.as_str(),
                moto.bucket.as_str(),
                moto.access_key.as_str(),
            ),
        };
        json!({"bucket": bucket, "region": "us-east-1", "endpoint": endpoint,
            "access_key": access_key, "access_secret": {"status": "Plain", "payload": secret},
            "force_path_style": true, "key_prefix": prefix})
    }

    /// The bucket's own secret.
    fn secret(&self) -> &str {
        match &self.bucket {
            Bucket::Fs(_) => S3_SECRET,
            Bucket::Moto(moto) => &moto.secret,
        }
    }

    /// The object at `key` (a `<dir>/` key on moto too), if there is one.
    fn object(&self, key: &str) -> Option<Vec<u8>> {
        match &self.bucket {
            Bucket::Fs(fs) => fs::read(fs.root.join(S3_BUCKET).join(key)).ok(),
            Bucket::Moto(moto) => {
                let key = match key.strip_suffix('/') {
                    Some(dir) => Key::parse(dir).unwrap().join(PathPart::default()),
                    None => Key::parse(key).unwrap(),
                };
                let client = moto.client();
                self.runtime.block_on(async {
                    match client.get(&key).await {
                        Ok(got) => Some(got.bytes().await.expect("read an object").to_vec()),
                        Err(object_store::Error::NotFound { .. }) => None,
                        Err(error) => panic!("get {key}: {error}"),
                    }
                })
            }
        }
    }

    /// Multipart uploads open on s3s-fs.
    fn open_uploads(&self) -> usize {
        match &self.bucket {
            Bucket::Fs(fs) => fs.open_uploads(),
            Bucket::Moto(_) => panic!("only s3s-fs shows its open uploads here"),
        }
    }
}

fn s3_user(name: &str, key: &KeyPair, config: Value) -> Value {
    let mut user = user_json(name, None, &[&key.public_line], all_perms());
    user["filesystem"] = json!({"provider": 1, "s3config": config});
    user
}

#[test]
fn sftp_moves_a_tree_through_s3_under_the_key_prefix() {
    let cloud = moto_cloud();
    let server = Server::start();
    let key = KeyPair::generate();
    let secret = cloud.secret().to_owned();
    server.create_user(&s3_user(
        "alice",
        &key,
        cloud.s3config(&secret, "homes/alice"),
    ));

    let local = scratch_dir();
    let tree = local.path().join("tree");
    fs::create_dir_all(tree.join("sub")).unwrap();
    fs::write(tree.join("a.txt"), b"alpha\n").unwrap();
    fs::write(tree.join("empty"), b"").unwrap();
    common::write_random_file(&tree.join("sub/big.bin"), 12 * 1024 * 1024 + 17, 7);
    sftp(
        &server,
        "alice",
        Cred::Key(&key.private),
        local.path(),
        "put -r tree\nls -l tree\nrename tree/a.txt tree/b.txt\nmkdir made\nrmdir made\n",
    )
    .assert_ok("upload a tree");

    assert_eq!(cloud.object("homes/alice/tree/b.txt").unwrap(), b"alpha\n");
    assert!(
        cloud.object("homes/alice/tree/a.txt").is_none(),
        "renamed away"
    );
    assert_eq!(cloud.object("homes/alice/tree/empty").unwrap(), b"");
    // Directories are empty `<dir>/` objects, as other S3 tools make them.
    for dir in ["homes/alice/", "homes/alice/tree/", "homes/alice/tree/sub/"] {
        assert_eq!(cloud.object(dir).as_deref(), Some(&b""[..]), "{dir}");
    }
    assert!(cloud.object("homes/alice/made/").is_none(), "rmdir left it");
    assert_eq!(
        cloud.object("homes/alice/tree/sub/big.bin").unwrap().len(),
        12 * 1024 * 1024 + 17
    );

    let back = scratch_dir();
    let out = sftp(
        &server,
        "alice",
        Cred::Key(&key.private),
        back.path(),
        "get -r tree\nls ..\n",
    );
    out.assert_ok("download the tree");
    assert_eq!(
        common::sha256_of(&back.path().join("tree/sub/big.bin")),
        common::sha256_of(&tree.join("sub/big.bin"))
    );
    assert_eq!(
        fs::read(back.path().join("tree/b.txt")).unwrap(),
        b"alpha\n"
    );

    // Only the prefix is visible: `..` of the root is the root.
    assert!(!out.stdout.contains("homes"), "{}", out.describe());

    // A non-empty directory cannot be renamed (rename_mode 0) and the tree stays whole.
    sftp(
        &server,
        "alice",
        Cred::Key(&key.private),
        back.path(),
        "rename tree moved\n",
    )
    .assert_failed_at("rename tree moved");
    assert!(cloud.object("homes/alice/tree/b.txt").is_some());

    let log = server.log();
    assert!(!log.contains(&secret), "the S3 secret is in the log");
}

#[test]
fn an_s3_folder_is_mounted_into_a_local_home() {
    let cloud = moto_cloud();
    let server = Server::start();
    let key = KeyPair::generate();
    let folder = json!({"name": "archive", "mapped_path": "",
        "filesystem": {"provider": 1,
            "s3config": cloud.s3config(cloud.secret(), "archive")}});
    let resp = server.api("POST", "/api/v2/folders", Some(&folder));
    assert_eq!(resp.status, 201, "{resp:?}");
    let mut user = user_json("bob", None, &[&key.public_line], all_perms());
    user["virtual_folders"] = json!([{"name": "archive", "virtual_path": "/archive"}]);
    server.create_user(&user);

    let local = scratch_dir();
    fs::write(local.path().join("report.txt"), b"quarterly\n").unwrap();
    sftp(
        &server,
        "bob",
        Cred::Key(&key.private),
        local.path(),
        "put report.txt /archive/report.txt\nput report.txt /home.txt\nrename /archive/report.txt /moved.txt\n",
    )
    .assert_ok("write into the mounted folder");
    assert!(cloud.object("archive/report.txt").is_none(), "moved out");
    let home = server.home_of("bob");
    assert_eq!(fs::read(home.join("moved.txt")).unwrap(), b"quarterly\n");
    assert_eq!(fs::read(home.join("home.txt")).unwrap(), b"quarterly\n");
}

#[test]
fn a_wrong_s3_secret_fails_the_request_without_showing_it() {
    let cloud = cloud();
    let server = Server::start();
    let key = KeyPair::generate();
    let wrong = "not-the-secret-of-this-bucket-42";
    server.create_user(&s3_user("carol", &key, cloud.s3config(wrong, "")));
    let local = scratch_dir();
    fs::write(local.path().join("f"), b"x").unwrap();
    let out = sftp_with(
        &server,
        "carol",
        Cred::Key(&key.private),
        local.path(),
        "put f\n",
        &[],
        Duration::from_secs(60),
    );
    assert!(
        !out.success,
        "an upload with a wrong secret succeeded: {}",
        out.describe()
    );
    assert!(cloud.object("f").is_none());
    assert!(!server.log().contains(wrong), "the secret is in the log");
}

/// Peak resident memory of the server while 64 MiB and 256 MiB files go up
/// and down through S3 stays within 64 MiB of what it used before.
#[test]
fn transfers_through_s3_use_bounded_memory() {
    const LIMIT: u64 = 64 * 1024 * 1024;
    let cloud = cloud();
    let server = Server::start();
    let key = KeyPair::generate();
    server.create_user(&s3_user("dave", &key, cloud.s3config(S3_SECRET, "")));
    let local = scratch_dir();
    fs::write(local.path().join("warm"), b"warm up").unwrap();
    sftp(
        &server,
        "dave",
        Cred::Key(&key.private),
        local.path(),
        "put warm\nget warm warm.back\n",
    )
    .assert_ok("warm up");
    let idle = server.memory("VmRSS:");
    for (name, size) in [("m64", 64usize << 20), ("m256", 256usize << 20)] {
        let file = local.path().join(name);
        common::write_random_file(&file, size, size as u64);
        let batch = format!("put {name}\nget {name} {name}.back\n");
        sftp_with(
            &server,
            "dave",
            Cred::Key(&key.private),
            local.path(),
            &batch,
            &[],
            Duration::from_secs(600),
        )
        .assert_ok(name);
        assert_eq!(
            common::sha256_of(&local.path().join(format!("{name}.back"))),
            common::sha256_of(&file)
        );
        fs::remove_file(&file).unwrap();
        fs::remove_file(local.path().join(format!("{name}.back"))).unwrap();
        let peak = server.memory("VmHWM:");
        let growth = peak.saturating_sub(idle);
        eprintln!("{name}: idle {idle} B, peak {peak} B, growth {growth} B");
        assert!(
            growth < LIMIT,
            "{name}: peak RSS grew by {} MiB (idle {} MiB)",
            growth >> 20,
            idle >> 20
        );
    }
}

fn server_with(env: &[(&str, &str)]) -> Server {
    Server::start_with(common::Options {
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..common::Options::default()
    })
}

#[test]
fn rename_mode_1_moves_a_whole_directory_on_s3() {
    let cloud = moto_cloud();
    let server = server_with(&[("FERRY_COMMON__RENAME_MODE", "1")]);
    let key = KeyPair::generate();
    server.create_user(&s3_user(
        "erin",
        &key,
        cloud.s3config(cloud.secret(), "homes/erin"),
    ));
    let local = scratch_dir();
    fs::create_dir_all(local.path().join("tree/sub")).unwrap();
    fs::write(local.path().join("tree/a"), b"a").unwrap();
    fs::write(local.path().join("tree/sub/b"), b"b").unwrap();
    sftp(
        &server,
        "erin",
        Cred::Key(&key.private),
        local.path(),
        "put -r tree\nrename tree moved\n",
    )
    .assert_ok("rename a non-empty directory");
    assert_eq!(cloud.object("homes/erin/moved/a").unwrap(), b"a");
    assert_eq!(cloud.object("homes/erin/moved/sub/b").unwrap(), b"b");
    assert!(cloud.object("homes/erin/tree/a").is_none());
    assert!(cloud.object("homes/erin/tree/sub/b").is_none());
    for (dir, there) in [
        ("moved/", true),
        ("moved/sub/", true),
        ("tree/", false),
        ("tree/sub/", false),
    ] {
        let marker = cloud.object(&format!("homes/erin/{dir}"));
        assert_eq!(marker.is_some(), there, "{dir}");
    }
}

/// `put -p` sends the file's mode and times after the upload: unsupported
/// on object storage, unless setstat_mode says to ignore such changes.
#[test]
fn setstat_mode_decides_whether_put_p_works_on_s3() {
    let cloud = moto_cloud();
    let secret = cloud.secret().to_owned();
    let local = scratch_dir();
    fs::write(local.path().join("kept"), b"kept\n").unwrap();
    for (mode, refused) in [("0", true), ("1", false), ("2", false)] {
        let server = server_with(&[("FERRY_COMMON__SETSTAT_MODE", mode)]);
        let key = KeyPair::generate();
        let prefix = format!("homes/mode{mode}");
        server.create_user(&s3_user("fred", &key, cloud.s3config(&secret, &prefix)));
        let out = sftp(
            &server,
            "fred",
            Cred::Key(&key.private),
            local.path(),
            "put -p kept\n",
        );
        // OpenSSH's client reports a refused fsetstat and carries on.
        out.assert_ok("put -p");
        let reported = out.stderr.contains("fsetstat: Operation unsupported");
        assert_eq!(reported, refused, "setstat_mode {mode}: {}", out.describe());
        // The upload itself lands either way.
        assert_eq!(cloud.object(&format!("{prefix}/kept")).unwrap(), b"kept\n");
    }
}

/// An upload cut off by a killed client leaves no object and no open
/// multipart upload behind.
#[test]
fn a_killed_upload_leaves_nothing_in_the_bucket() {
    let cloud = cloud();
    let server = Server::start();
    let key = KeyPair::generate();
    server.create_user(&s3_user("gina", &key, cloud.s3config(S3_SECRET, "")));
    let local = scratch_dir();
    common::write_random_file(&local.path().join("big"), 256 << 20, 3);
    fs::write(local.path().join("batch"), "put big\n").unwrap();
    let mut client = std::process::Command::new("sftp")
        .args(["-F", "/dev/null"])
        .args(common::ssh_options())
        .args(["-P", &server.sftp_port.to_string()])
        .args([
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "PasswordAuthentication=no",
            "-i",
        ])
        .arg(&key.private)
        .args(["-b", "batch", "gina@127.0.0.1"])
        .current_dir(local.path())
        .env_remove("SSH_AUTH_SOCK")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run sftp");
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(std::time::Instant::now() < deadline, "never saw: {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for("a multipart upload in progress", &|| {
        cloud.open_uploads() > 0
    });
    client.kill().expect("kill sftp");
    let status = client.wait().expect("reap sftp");
    assert!(!status.success());
    wait_for("the upload aborted", &|| cloud.open_uploads() == 0);
    wait_for("the transfer logged as interrupted", &|| {
        server.log().contains("interrupted")
    });
    assert!(cloud.object("big").is_none(), "a partial object is visible");
}

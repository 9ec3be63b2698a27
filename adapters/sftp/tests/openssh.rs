//! The SFTP server driven by OpenSSH's `sftp` and `ssh` clients.

mod common;

use common::{TestServer, random_file, same_contents, text};
use std::fs;
use std::time::Duration;

const MIB: usize = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_and_get_keep_every_byte() {
    let server = TestServer::start().await;
    random_file(&server.local("up.bin"), 20 * MIB + 123, 1);
    let batch = "put up.bin\nget up.bin down.bin\nls -l\n";
    let out = server.sftp(batch, &[], Duration::from_secs(120)).await;
    assert!(out.status.success(), "sftp failed: {}", text(&out.stderr));
    assert!(same_contents(
        &server.local("up.bin"),
        &server.remote("up.bin")
    ));
    assert!(same_contents(
        &server.local("up.bin"),
        &server.local("down.bin")
    ));
    let listing = text(&out.stdout);
    assert!(listing.contains("up.bin"), "{listing}");
    let versions = server.record.client_versions.lock().unwrap().clone();
    assert!(versions[0].starts_with("SSH-2.0-OpenSSH"), "{versions:?}");
    server.stop().await;
}

/// 255 KiB requests with 64 in flight: the pattern that deadlocks a server
/// whose reader waits for the client's window. The budget is set just
/// above what OpenSSH keeps in flight: a conforming client is never refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_requests_with_deep_pipelines_do_not_stall() {
    let server = TestServer::start_with(|s| {
        s.max_requests_in_flight = 72;
        s.max_bytes_in_flight = 72 * 261_120;
    })
    .await;
    random_file(&server.local("big.bin"), 64 * MIB, 2);
    let batch = "put big.bin\nget big.bin back.bin\n";
    let args = ["-B", "261120", "-R", "64"];
    let out = server.sftp(batch, &args, Duration::from_secs(240)).await;
    assert!(out.status.success(), "sftp failed: {}", text(&out.stderr));
    assert!(same_contents(
        &server.local("big.bin"),
        &server.remote("big.bin")
    ));
    assert!(same_contents(
        &server.local("big.bin"),
        &server.local("back.bin")
    ));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_of_ten_thousand_entries_lists_completely() {
    let server = TestServer::start().await;
    fs::create_dir(server.remote("many")).unwrap();
    for i in 0..10_000 {
        fs::write(server.remote(&format!("many/f{i:05}")), b"").unwrap();
    }
    let out = server
        .sftp("ls -1 many\n", &[], Duration::from_secs(120))
        .await;
    assert!(out.status.success(), "sftp failed: {}", text(&out.stderr));
    let listing = text(&out.stdout);
    let names: Vec<&str> = listing
        .lines()
        .filter(|line| !line.starts_with("sftp>"))
        .collect();
    assert_eq!(names.len(), 10_000);
    assert!(names.contains(&"many/f09999"), "last entry missing");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_reach_the_client_and_the_session_goes_on() {
    let server = TestServer::start().await;
    fs::create_dir(server.remote("full")).unwrap();
    fs::write(server.remote("full/x"), "x").unwrap();
    fs::write(server.local("after.txt"), "after").unwrap();
    let batch = "-get missing\n-rmdir full\n-mkdir full\n-rm missing\n-mkdir forbidden\n\
                 -chmod 600 missing\nput after.txt\nls\n";
    let out = server.sftp(batch, &[], Duration::from_secs(60)).await;
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "the batch ended early: {stderr}");
    for expected in [
        "File \"/missing\" not found.",
        "remote rmdir \"/full\": Failure",
        "remote mkdir \"/full\": Failure",
        "remote delete /missing: No such file or directory",
        "remote mkdir \"/forbidden\": Permission denied",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert_eq!(fs::read(server.remote("after.txt")).unwrap(), b"after");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinks_take_openssh_argument_order() {
    let server = TestServer::start().await;
    fs::write(server.remote("target.txt"), "pointed at").unwrap();
    let batch = "ln -s target.txt link.txt\nls -l\nget link.txt copy.txt\n";
    let out = server.sftp(batch, &[], Duration::from_secs(60)).await;
    assert!(out.status.success(), "sftp failed: {}", text(&out.stderr));
    let target = fs::read_link(server.remote("link.txt")).expect("link.txt is a symlink");
    assert_eq!(target.to_str(), Some("target.txt"));
    let listing = text(&out.stdout);
    let line = listing
        .lines()
        .find(|l| l.ends_with("link.txt") && !l.starts_with("sftp>"));
    assert!(line.is_some_and(|l| l.starts_with('l')), "{listing}");
    assert_eq!(fs::read(server.local("copy.txt")).unwrap(), b"pointed at");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attributes_and_statvfs_round_trip() {
    let server = TestServer::start().await;
    fs::write(server.local("f.txt"), "0123456789").unwrap();
    let batch = "put -p f.txt\nchmod 640 f.txt\nls -l f.txt\ndf\nmkdir d\nrename f.txt d/g.txt\n\
                 ls d\n";
    let out = server.sftp(batch, &[], Duration::from_secs(60)).await;
    assert!(out.status.success(), "sftp failed: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("-rw-r-----"), "{stdout}");
    assert!(
        stdout.contains("4000000"),
        "df shows the statvfs reply: {stdout}"
    );
    let meta = fs::metadata(server.remote("d/g.txt")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    // put -p carried the local modification time (SFTP v3 has whole seconds).
    let seconds =
        |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let local = fs::metadata(server.local("f.txt")).unwrap();
    assert_eq!(
        seconds(meta.modified().unwrap()),
        seconds(local.modified().unwrap())
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_logins_work_and_wrong_ones_fail_alike() {
    let server = TestServer::start().await;
    let askpass = |password: &str| {
        let path = server.local(&format!("askpass-{}", password.len()));
        fs::write(&path, format!("#!/bin/sh\necho '{password}'\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o700)).unwrap();
        path
    };
    for (password, should_pass) in [(common::PASSWORD, true), ("wrong", false)] {
        let script = askpass(password);
        let mut cmd = tokio::process::Command::new("sftp");
        // BatchMode=no must come before -b, which turns batch mode on.
        cmd.args(["-o", "BatchMode=no", "-b", "-", "-F", "/dev/null"])
            .args([
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
            ])
            .args([
                "-o",
                "PubkeyAuthentication=no",
                "-o",
                "NumberOfPasswordPrompts=1",
            ])
            .args(["-o", "LogLevel=ERROR", "-P", &server.port.to_string()])
            .arg(format!("{}@127.0.0.1", common::USER))
            .env("SSH_ASKPASS", &script)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("DISPLAY", ":0");
        let out = common::run(cmd, Duration::from_secs(30)).await;
        assert_eq!(out.status.success(), should_pass, "{}", text(&out.stderr));
        if !should_pass {
            assert!(
                text(&out.stderr).contains("Permission denied"),
                "{}",
                text(&out.stderr)
            );
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shells_and_commands_are_refused() {
    let server = TestServer::start().await;
    let cmd = server.ssh_command(&[&format!("{}@127.0.0.1", common::USER), "echo", "hi"]);
    let out = common::run(cmd, Duration::from_secs(30)).await;
    assert!(!out.status.success());
    assert!(!text(&out.stdout).contains("hi"));
    assert!(
        text(&out.stderr).contains("exec request failed"),
        "{}",
        text(&out.stderr)
    );
    let cmd = server.ssh_command(&["-s", &format!("{}@127.0.0.1", common::USER), "other"]);
    let out = common::run(cmd, Duration::from_secs(30)).await;
    assert!(!out.status.success());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_ends_once_the_client_leaves() {
    let server = TestServer::start().await;
    let out = server.sftp("pwd\n", &[], Duration::from_secs(30)).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let record = server.record.clone();
    common::eventually("FileSession::end", || {
        record
            .sessions_ended
            .load(std::sync::atomic::Ordering::SeqCst)
            == 1
    })
    .await;
    server.stop().await;
}

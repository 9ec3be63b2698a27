//! The jail: whatever path, backslash or symlink a user tries, nothing outside
//! the home is listed, read, written or revealed, not even its real path.

mod common;

use common::{Cred, KeyPair, Server, SftpOutput, all_perms, mode_of, scratch_dir, sftp, user_json};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const CANARY: &[u8] = b"CANARY: this file lives outside every home\n";
const LOCAL: &[u8] = b"uploaded by the jailed user\n";

/// A server, one user with full permissions and a prepared home, a directory
/// outside the data dir holding `canary.txt`, and a local scratch directory.
struct Jail {
    server: Server,
    key: KeyPair,
    home: PathBuf,
    outside: TempDir,
    local: TempDir,
}

impl Jail {
    fn new() -> Jail {
        let server = Server::start();
        let key = KeyPair::generate();
        server.create_user(&user_json("jailed", None, &[&key.public_line], all_perms()));
        let home = server.first_login("jailed", Cred::Key(&key.private));
        fs::write(home.join("home-marker.txt"), b"inside\n").expect("write marker");
        let outside = scratch_dir();
        fs::write(outside.path().join("canary.txt"), CANARY).expect("write canary");
        let local = scratch_dir();
        fs::write(local.path().join("local.txt"), LOCAL).expect("write local.txt");
        Jail {
            server,
            key,
            home,
            outside,
            local,
        }
    }

    fn run(&self, batch: &str) -> SftpOutput {
        let cred = Cred::Key(&self.key.private);
        let out = sftp(&self.server, "jailed", cred, self.local.path(), batch);
        self.assert_no_real_path(&out);
        out
    }

    /// Asserts `command` alone fails, whatever the reason.
    fn fails(&self, command: &str) -> SftpOutput {
        let out = self.run(&format!("{command}\n"));
        out.assert_failed_at(command);
        out
    }

    /// Asserts nothing the client saw names a real server path.
    fn assert_no_real_path(&self, out: &SftpOutput) {
        let data = self.server.data_dir.to_string_lossy().into_owned();
        let canonical = fs::canonicalize(&self.server.data_dir)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| data.clone());
        for real in [&data, &canonical] {
            assert!(
                !out.stdout.contains(real.as_str()) && !out.stderr.contains(real.as_str()),
                "the client was shown the real path {real}\n{}",
                out.describe()
            );
        }
    }

    fn canary(&self) -> PathBuf {
        self.outside.path().join("canary.txt")
    }

    fn local(&self, name: &str) -> PathBuf {
        self.local.path().join(name)
    }

    /// Asserts the canary is untouched and nothing was added next to it.
    fn assert_outside_untouched(&self) {
        assert_eq!(
            fs::read(self.canary()).expect("read canary"),
            CANARY,
            "canary changed"
        );
        let names: Vec<String> = fs::read_dir(self.outside.path())
            .expect("read outside")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["canary.txt"],
            "something was written outside the home"
        );
    }
}

/// The content of a local file, empty when it does not exist.
fn read_or_empty(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_default()
}

fn host_passwd() -> Vec<u8> {
    fs::read("/etc/passwd").unwrap_or_else(|_| b"root:x:0:0:".to_vec())
}

#[test]
fn cd_dotdot_from_the_root_stays_at_the_root() {
    let jail = Jail::new();
    let out = jail.run("cd ..\npwd\ncd ../../..\npwd\ncd /\ncd ..\npwd\nls -1 ../../..\n");
    out.assert_ok("cd .. at /");
    let pwds: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Remote working directory: "))
        .collect();
    assert_eq!(pwds, ["/", "/", "/"], "{}", out.describe());
    assert!(
        out.stdout.contains("home-marker.txt"),
        "`ls ../../..` is not the home"
    );
    assert!(
        !out.stdout.lines().any(|l| l.trim().ends_with("users")),
        "{}",
        out.describe()
    );
}

#[test]
fn dotdot_and_absolute_paths_do_not_reach_host_files() {
    let jail = Jail::new();
    let out = jail.fails("get /etc/passwd p0");
    let said = out.stderr.to_lowercase();
    assert!(
        said.contains("not found") || said.contains("no such file"),
        "`get /etc/passwd` did not fail as not found\n{}",
        out.describe()
    );
    assert_ne!(
        read_or_empty(&jail.local("p0")),
        host_passwd(),
        "/etc/passwd leaked"
    );
    for (command, file) in [
        ("get ../../../etc/passwd p1", "p1"),
        ("get ../../../../../../../../etc/passwd p2", "p2"),
        ("get /../etc/passwd p3", "p3"),
    ] {
        jail.fails(command);
        assert_ne!(
            read_or_empty(&jail.local(file)),
            host_passwd(),
            "{command} leaked"
        );
    }

    jail.run("-put local.txt ../../../escape.txt\n-mkdir ../../../escape-dir\n");
    let data = &jail.server.data_dir;
    for place in [
        data.as_path(),
        &data.join("users"),
        data.parent().expect("parent"),
    ] {
        assert!(
            !place.join("escape.txt").exists(),
            "wrote into {}",
            place.display()
        );
        assert!(
            !place.join("escape-dir").exists(),
            "mkdir in {}",
            place.display()
        );
    }
}

#[test]
fn backslash_paths_do_not_escape() {
    let jail = Jail::new();
    // sftp unescapes `\\` to `\`, so the server receives `..\..\..\etc\passwd`.
    let command = "get ..\\\\..\\\\..\\\\etc\\\\passwd b1";
    jail.fails(command);
    assert_ne!(
        read_or_empty(&jail.local("b1")),
        host_passwd(),
        "backslash get leaked"
    );

    jail.run("put local.txt ..\\\\..\\\\..\\\\bs-escape.txt\n")
        .assert_ok("put to a name with backslashes");
    // A backslash is part of the name, so the file lands in the home under it.
    let literal = jail.home.join("..\\..\\..\\bs-escape.txt");
    assert_eq!(fs::read(&literal).expect("the literal name"), LOCAL);
    let data = &jail.server.data_dir;
    for place in [
        data.as_path(),
        &data.join("users"),
        data.parent().expect("parent"),
    ] {
        assert!(
            !place.join("bs-escape.txt").exists(),
            "wrote into {}",
            place.display()
        );
    }
}

#[test]
fn a_backslash_never_reaches_a_subdirectory() {
    let jail = Jail::new();
    fs::create_dir(jail.home.join("pl")).expect("mkdir pl");
    fs::write(jail.home.join("pl/anted"), b"keep me\n").expect("write pl/anted");

    jail.fails("rm pl\\\\anted");
    jail.fails("get pl\\\\anted got");
    assert_eq!(
        fs::read(jail.home.join("pl/anted")).expect("still there"),
        b"keep me\n"
    );
    assert!(
        !jail.local("got").exists(),
        "a backslash name fetched pl/anted"
    );
}

#[test]
fn a_planted_absolute_symlink_leads_nowhere() {
    let jail = Jail::new();
    symlink(jail.outside.path(), jail.home.join("escape")).expect("plant dir link");
    symlink(jail.canary(), jail.home.join("canary-link")).expect("plant file link");
    fs::set_permissions(
        jail.canary(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .expect("chmod canary");

    let out = jail.run("-ls -1 escape\n-ls -1 escape/\n-cd escape\n-ls -1\n");
    assert!(
        !out.stdout.contains("canary.txt"),
        "listed through the link\n{}",
        out.describe()
    );

    jail.fails("get escape/canary.txt c1");
    jail.fails("get canary-link c2");
    for name in ["c1", "c2"] {
        assert_ne!(
            read_or_empty(&jail.local(name)),
            CANARY,
            "read through a link"
        );
    }
    jail.fails("put local.txt escape/new.txt");
    jail.fails("mkdir escape/newdir");
    jail.fails("rm escape/canary.txt");
    jail.fails("rename escape/canary.txt stolen.txt");
    jail.fails("chmod 777 escape/canary.txt");
    // Replacing the link itself by a file in the home would be safe, so only
    // the canary's state is checked for these two.
    jail.run("-put local.txt canary-link\n-chmod 777 canary-link\n");
    jail.assert_outside_untouched();
    assert_eq!(mode_of(&jail.canary()), 0o644, "the canary's mode changed");
    assert!(!jail.home.join("stolen.txt").exists());
}

#[test]
fn a_planted_relative_symlink_leads_nowhere() {
    let jail = Jail::new();
    // The home is <data_dir>/users/jailed: `../..` is the data dir, `../../..`
    // holds the server's private host key.
    let data = jail.server.data_dir.clone();
    fs::write(data.join("canary-rel.txt"), CANARY).expect("write canary");
    symlink("../..", jail.home.join("up")).expect("plant up");
    symlink("../../..", jail.home.join("up2")).expect("plant up2");

    let out = jail.run("-ls -1 up\n-ls -1 up2\n-cd up\n-ls -1\n");
    for leaked in ["canary-rel.txt", "users", "host_ed25519"] {
        assert!(
            !out.stdout.contains(leaked),
            "listed {leaked}\n{}",
            out.describe()
        );
    }
    jail.fails("get up/canary-rel.txt r1");
    jail.fails("get up2/host_ed25519 r2");
    assert_ne!(read_or_empty(&jail.local("r1")), CANARY);
    let key = String::from_utf8_lossy(&read_or_empty(&jail.local("r2"))).into_owned();
    assert!(!key.contains("PRIVATE KEY"), "the host key was downloaded");
    jail.fails("rm up/canary-rel.txt");
    // A server may resolve the link inside the jail (like a chroot), so the
    // upload may succeed: it just must not land outside the home.
    jail.run("-put local.txt up/dropped.txt\n-put local.txt up2/dropped.txt\n");
    let root = data.parent().expect("the test directory");
    for place in [data.as_path(), &data.join("users"), root] {
        assert!(
            !place.join("dropped.txt").exists(),
            "wrote into {}",
            place.display()
        );
    }
    assert_eq!(fs::read(data.join("canary-rel.txt")).expect("read"), CANARY);
}

#[test]
fn symlinks_made_over_sftp_stay_inside() {
    let jail = Jail::new();
    fs::write(jail.server.data_dir.join("canary-rel.txt"), CANARY).expect("write canary");
    let outside = jail.canary().to_string_lossy().into_owned();
    let batch = format!(
        "-ln -s /etc/passwd l1\n-ln -s ../../../../../../etc/passwd l2\n\
         -ln -s {outside} l3\n-ln -s ../../.. l4\n-ln -s ../.. l5\n"
    );
    jail.run(&batch);

    let out = jail.run("-get l1 g1\n-get l2 g2\n-get l3 g3\n-get l4/canary-rel.txt g4\n");
    let out_l = jail.run("-ls -1 l4\n-ls -1 l5\n");
    for name in ["g1", "g2"] {
        let got = read_or_empty(&jail.local(name));
        assert_ne!(
            got,
            host_passwd(),
            "{name}: read the host's /etc/passwd\n{}",
            out.describe()
        );
    }
    for name in ["g3", "g4"] {
        assert_ne!(
            read_or_empty(&jail.local(name)),
            CANARY,
            "{name}: read a canary"
        );
    }
    for leaked in ["canary-rel.txt", "users", "host_ed25519"] {
        assert!(
            !out_l.stdout.contains(leaked),
            "listed {leaked}\n{}",
            out_l.describe()
        );
    }
    jail.run("-put local.txt l3\n-put local.txt l4/dropped.txt\n");
    jail.assert_outside_untouched();
    assert!(!jail.server.data_dir.join("dropped.txt").exists());
}

#[test]
fn realpath_and_messages_never_show_the_server_path() {
    let jail = Jail::new();
    fs::create_dir(jail.home.join("sub")).expect("mkdir");
    // `run` already checks every output; this batch makes the client ask for
    // real paths in several ways and provoke error messages.
    let out = jail.run(
        "pwd\ncd sub\npwd\ncd ..\ncd ../..\npwd\nls -la\n-get missing.txt\n\
         -cd missing-dir\n-rmdir missing-dir\n-rm missing.txt\n-ls /nope\n",
    );
    out.assert_ok("a session of lookups");
    let pwds: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Remote working directory: "))
        .collect();
    assert_eq!(pwds, ["/", "/sub", "/"], "{}", out.describe());
}

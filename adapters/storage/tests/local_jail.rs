//! What only local disk has: symlinks already on disk that point outside the
//! home, races against a path that changes under a lookup, special files,
//! modes, owners and the home's own creation.

mod contract;

use bytes::Bytes;
use contract::{Subject, create_options, list, read_file, read_options, vp, write_file};
use ferry_domain::ErrorKind;
use ferry_ports::{FileKind, OpenOptions, SetAttributes, Storage};
use ferry_storage::LocalStorage;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tempfile::TempDir;

const CANARY: &[u8] = b"SECRET OUTSIDE THE HOME";

/// `<tmp>/home/user` is the root; `<tmp>/outside/canary` must stay out of reach.
struct Jail {
    tmp: TempDir,
    root: PathBuf,
    storage: LocalStorage,
}

impl Jail {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("temporary directory");
        let root = tmp.path().join("home/user");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(tmp.path().join("outside")).unwrap();
        std::fs::write(tmp.path().join("outside/canary"), CANARY).unwrap();
        let storage = LocalStorage::new(&root);
        Self { tmp, root, storage }
    }

    fn subject(&self) -> Subject<'_> {
        let secrets = vec![self.tmp.path().display().to_string()];
        Subject {
            storage: &self.storage,
            secrets,
            seeder: None,
            renaming: None,
        }
    }

    fn outside(&self) -> PathBuf {
        self.tmp.path().join("outside")
    }

    /// Makes a symlink on disk, behind the storage's back.
    fn link_on_disk(&self, target: impl AsRef<Path>, name: &str) {
        symlink(target, self.root.join(name)).unwrap();
    }

    /// The outside directory still holds exactly the canary, unchanged.
    fn assert_outside_untouched(&self) {
        let names: Vec<_> = std::fs::read_dir(self.outside())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["canary"]);
        let canary = self.outside().join("canary");
        assert_eq!(std::fs::read(&canary).unwrap(), CANARY);
        let mode = std::fs::metadata(&canary).unwrap().permissions().mode() & 0o7777;
        assert_ne!(mode, 0o777, "the canary's mode changed");
    }
}

/// Every way to use `link`, a path through a symlink that would reach the
/// outside directory, fails as if its target did not exist, and nothing
/// outside changes.
async fn directory_link_is_a_dead_end(jail: &Jail, link: &str) {
    let s = jail.subject();
    let inner = |name: &str| vp(&format!("/{link}/{name}"));
    let missing = ErrorKind::NotFound;

    s.fails(s.read_dir(&vp(link)).await, missing);
    s.fails(s.stat(&vp(link)).await, missing);
    s.fails(s.statvfs(&vp(link)).await, missing);

    s.fails(s.open(&inner("canary"), read_options()).await, missing);
    s.fails(s.stat(&inner("canary")).await, missing);
    s.fails(s.lstat(&inner("canary")).await, missing);
    s.fails(s.open(&inner("canary"), create_options()).await, missing);
    s.fails(s.open(&inner("new"), create_options()).await, missing);
    s.fails(s.create_dir(&inner("newdir"), None).await, missing);
    s.fails(s.symlink("x", &inner("newlink")).await, missing);
    s.fails(s.remove_file(&inner("canary")).await, missing);
    s.fails(s.read_link(&inner("canary")).await, missing);
    let chmod = SetAttributes {
        permissions: Some(0o777),
        ..Default::default()
    };
    s.fails(s.set_attributes(&inner("canary"), &chmod).await, missing);
    let truncate = SetAttributes {
        size: Some(0),
        ..Default::default()
    };
    s.fails(s.set_attributes(&inner("canary"), &truncate).await, missing);

    write_file(s.storage, "/mine", b"mine").await;
    s.fails(
        s.rename(&vp("/mine"), &inner("moved"), false).await,
        missing,
    );
    s.fails(
        s.rename(&inner("canary"), &vp("/stolen"), false).await,
        missing,
    );
    assert_eq!(read_file(s.storage, "/mine").await.unwrap(), b"mine");

    jail.assert_outside_untouched();
}

/// Every way to use `link`, a symlink to the outside canary, fails.
async fn file_link_is_a_dead_end(jail: &Jail, link: &str) {
    let s = jail.subject();
    let path = vp(link);
    s.fails(s.open(&path, read_options()).await, ErrorKind::NotFound);
    s.fails(s.open(&path, create_options()).await, ErrorKind::NotFound);
    let append = OpenOptions {
        write: true,
        append: true,
        ..Default::default()
    };
    s.fails(s.open(&path, append).await, ErrorKind::NotFound);
    s.fails(s.stat(&path).await, ErrorKind::NotFound);
    let chmod = SetAttributes {
        permissions: Some(0o777),
        ..Default::default()
    };
    s.fails(s.set_attributes(&path, &chmod).await, ErrorKind::NotFound);
    let truncate = SetAttributes {
        size: Some(0),
        ..Default::default()
    };
    s.fails(
        s.set_attributes(&path, &truncate).await,
        ErrorKind::NotFound,
    );
    let times = SetAttributes {
        times: Some((1, 1)),
        ..Default::default()
    };
    s.fails(s.set_attributes(&path, &times).await, ErrorKind::NotFound);
    // Removing the link removes the link only.
    s.remove_file(&path).await.unwrap();
    jail.assert_outside_untouched();
}

#[tokio::test]
async fn absolute_symlink_on_disk_to_an_outside_directory() {
    let jail = Jail::new();
    jail.link_on_disk(jail.outside(), "abs_dir");
    directory_link_is_a_dead_end(&jail, "abs_dir").await;
    let s = jail.subject();
    assert_eq!(
        s.lstat(&vp("/abs_dir")).await.unwrap().kind,
        FileKind::Symlink
    );
    let target = jail.outside().display().to_string();
    assert_eq!(s.read_link(&vp("/abs_dir")).await.unwrap(), target);
}

#[tokio::test]
async fn relative_symlink_on_disk_to_an_outside_directory() {
    let jail = Jail::new();
    jail.link_on_disk("../../outside", "rel_dir");
    directory_link_is_a_dead_end(&jail, "rel_dir").await;
    std::fs::create_dir(jail.root.join("sub")).unwrap();
    jail.link_on_disk("../../../outside", "sub/deeper");
    directory_link_is_a_dead_end(&jail, "sub/deeper").await;
}

#[tokio::test]
async fn symlinked_parent_directory_pointing_outside() {
    let jail = Jail::new();
    std::fs::create_dir(jail.root.join("docs")).unwrap();
    // A parent several levels up is a symlink: `parent/docs/...` would be outside.
    jail.link_on_disk(jail.tmp.path(), "parent");
    directory_link_is_a_dead_end(&jail, "parent/outside").await;
    let s = jail.subject();
    s.fails(s.lstat(&vp("/parent/outside")).await, ErrorKind::NotFound);
    s.fails(s.read_dir(&vp("/parent")).await, ErrorKind::NotFound);
}

#[tokio::test]
async fn symlinks_on_disk_to_an_outside_file() {
    let jail = Jail::new();
    jail.link_on_disk(jail.outside().join("canary"), "abs_file");
    jail.link_on_disk("../../outside/canary", "rel_file");
    file_link_is_a_dead_end(&jail, "abs_file").await;
    file_link_is_a_dead_end(&jail, "rel_file").await;
}

#[tokio::test]
async fn symlink_on_disk_to_etc() {
    let jail = Jail::new();
    jail.link_on_disk("/etc", "etc_link");
    let s = jail.subject();
    s.fails(s.read_dir(&vp("/etc_link")).await, ErrorKind::NotFound);
    s.fails(
        s.open(&vp("/etc_link/passwd"), read_options()).await,
        ErrorKind::NotFound,
    );
    s.fails(s.stat(&vp("/etc_link/hostname")).await, ErrorKind::NotFound);
    assert_eq!(s.read_link(&vp("/etc_link")).await.unwrap(), "/etc");
}

#[tokio::test]
async fn symlink_loops_are_refused() {
    let jail = Jail::new();
    jail.link_on_disk("loop_b", "loop_a");
    jail.link_on_disk("loop_a", "loop_b");
    let s = jail.subject();
    s.fails(s.stat(&vp("/loop_a")).await, ErrorKind::PermissionDenied);
    s.fails(
        s.open(&vp("/loop_a/x"), create_options()).await,
        ErrorKind::PermissionDenied,
    );
}

/// `resolve` names where a path really is inside the home: every symlinked
/// directory on the way replaced by its target, the last component as well
/// when asked to follow it, whether or not it exists.
#[tokio::test]
async fn paths_resolve_through_symlinks_inside_the_home() {
    let jail = Jail::new();
    std::fs::create_dir_all(jail.root.join("real/deep")).unwrap();
    std::fs::write(jail.root.join("real/deep/f"), b"x").unwrap();
    jail.link_on_disk("real", "rel");
    // Absolute targets are read from the home, as from a chroot.
    jail.link_on_disk("/real/deep", "abs");
    jail.link_on_disk("rel/deep", "chain");
    jail.link_on_disk("real/deep/f", "to_file");
    jail.link_on_disk("real/missing", "dangling");
    let s = &jail.storage;
    let resolve = |path: &'static str, follow: bool| async move {
        s.resolve(&vp(path), follow).await.map(|p| p.to_string())
    };
    assert_eq!(resolve("/real/deep/f", true).await.unwrap(), "/real/deep/f");
    assert_eq!(
        resolve("/real/deep/new", true).await.unwrap(),
        "/real/deep/new"
    );
    assert_eq!(resolve("/", true).await.unwrap(), "/");
    assert_eq!(resolve("/rel/deep/f", false).await.unwrap(), "/real/deep/f");
    assert_eq!(resolve("/abs/f", true).await.unwrap(), "/real/deep/f");
    assert_eq!(resolve("/chain/new", true).await.unwrap(), "/real/deep/new");
    assert_eq!(resolve("/rel", false).await.unwrap(), "/rel");
    assert_eq!(resolve("/rel", true).await.unwrap(), "/real");
    assert_eq!(resolve("/to_file", true).await.unwrap(), "/real/deep/f");
    assert_eq!(resolve("/dangling", true).await.unwrap(), "/real/missing");
    let missing = resolve("/real/none/f", true).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    let looping = {
        jail.link_on_disk("loop_b", "loop_a");
        jail.link_on_disk("loop_a", "loop_b");
        resolve("/loop_a", true).await.unwrap_err()
    };
    assert_eq!(looping.kind(), ErrorKind::PermissionDenied);
}

/// An attacker swaps `swap` between a real directory and `spare`, a symlink
/// to the outside, as fast as it can, while the storage reads and writes
/// through `swap`. Nothing may ever reach the outside directory.
async fn race_against(jail: &Jail, spare_target: PathBuf) {
    std::fs::create_dir(jail.root.join("swap")).unwrap();
    std::fs::write(jail.root.join("swap/canary"), b"inside").unwrap();
    jail.link_on_disk(spare_target, "spare");

    let stop = Arc::new(AtomicBool::new(false));
    let attacker = {
        let (stop, root) = (stop.clone(), jail.root.clone());
        std::thread::spawn(move || {
            let (a, b) = (root.join("swap"), root.join("spare"));
            let exchange = rustix::fs::RenameFlags::EXCHANGE;
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                rustix::fs::renameat_with(rustix::fs::CWD, &a, rustix::fs::CWD, &b, exchange)
                    .expect("exchange");
                swaps += 1;
            }
            swaps
        })
    };

    let s = jail.subject();
    for round in 0..3000 {
        if let Ok(data) = read_file(s.storage, "/swap/canary").await {
            assert_eq!(data, b"inside", "round {round} read outside the home");
        }
        if let Ok(stat) = s.stat(&vp("/swap/canary")).await {
            assert_eq!(stat.size, 6, "round {round} saw the outside canary");
        }
        if let Ok(names) = list(s.storage, "/swap").await {
            assert!(
                names.iter().all(|n| n == "canary" || n.starts_with("new")),
                "{names:?}"
            );
        }
        let name = format!("/swap/new{}", round % 4);
        if let Ok(handle) = s.open(&vp(&name), create_options()).await {
            handle.write_at(0, Bytes::from_static(b"w")).await.unwrap();
        }
        let chmod = SetAttributes {
            permissions: Some(0o777),
            ..Default::default()
        };
        let _ = s.set_attributes(&vp("/swap/canary"), &chmod).await;
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = attacker.join().unwrap();
    assert!(swaps > 100, "the attacker barely ran ({swaps} swaps)");
    jail.assert_outside_untouched();
}

#[tokio::test]
async fn race_with_an_absolute_symlink_swapped_in() {
    let jail = Jail::new();
    race_against(&jail, jail.outside()).await;
}

#[tokio::test]
async fn race_with_a_relative_symlink_swapped_in() {
    let jail = Jail::new();
    race_against(&jail, PathBuf::from("../../outside")).await;
}

#[tokio::test]
async fn errors_never_show_the_real_root() {
    let jail = Jail::new();
    let s = jail.subject();
    // Every failing call goes through `fails`, which checks message and detail.
    s.fails(s.stat(&vp("/a/b/c")).await, ErrorKind::NotFound);
    s.fails(s.remove_dir(&vp("/")).await, ErrorKind::PermissionDenied);
    let gone = LocalStorage::new(jail.tmp.path().join("not/created"));
    let s = Subject {
        storage: &gone,
        secrets: jail.subject().secrets,
        seeder: None,
        renaming: None,
    };
    s.fails(s.stat(&vp("/")).await, ErrorKind::NotFound);
    s.fails(
        s.open(&vp("/f"), create_options()).await,
        ErrorKind::NotFound,
    );
}

#[tokio::test]
async fn special_files_are_listed_but_not_opened() {
    let jail = Jail::new();
    let fifo = jail.root.join("fifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        mode(0o600),
        0,
    )
    .unwrap();
    let s = jail.subject();
    // With no writer on the other end, a blocking open would hang here.
    let error = s.fails(
        s.open(&vp("/fifo"), read_options()).await,
        ErrorKind::InvalidInput,
    );
    assert_eq!(error.message(), "not a regular file");
    let mut listing = s.read_dir(&vp("/")).await.unwrap();
    let entry = futures::StreamExt::next(&mut listing)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (entry.name.as_str(), entry.metadata.kind),
        ("fifo", FileKind::Other)
    );
    s.fails(
        s.open(&vp("/"), read_options()).await,
        ErrorKind::InvalidInput,
    );
}

#[tokio::test]
async fn ensure_root_creates_a_private_home() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("homes/deep/alice");
    let storage = LocalStorage::new(&root);
    let s = Subject {
        storage: &storage,
        secrets: vec![tmp.path().display().to_string()],
        seeder: None,
        renaming: None,
    };
    s.fails(s.stat(&vp("/")).await, ErrorKind::NotFound);
    storage.ensure_root().await.unwrap();
    let mode = std::fs::metadata(&root).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o700 & !umask());
    assert_eq!(list(&storage, "/").await.unwrap(), Vec::<String>::new());

    std::fs::remove_dir(&root).unwrap();
    std::fs::write(&root, b"a file").unwrap();
    assert!(storage.ensure_root().await.is_err());
}

/// The process umask, read without changing it.
fn umask() -> u32 {
    u32::from_str_radix(status_field("Umask:").trim(), 8).unwrap()
}

/// A field of `/proc/self/status`, after its name.
fn status_field(name: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(name)).unwrap();
    line[name.len()..].to_owned()
}

fn mode(bits: u32) -> rustix::fs::Mode {
    rustix::fs::Mode::from_raw_mode(bits)
}

#[tokio::test]
async fn new_files_and_directories_get_openssh_modes() {
    let jail = Jail::new();
    let s = jail.subject();
    write_file(s.storage, "/default", b"").await;
    s.create_dir(&vp("/dir"), None).await.unwrap();
    assert_eq!(
        s.stat(&vp("/default")).await.unwrap().permissions,
        0o666 & !umask()
    );
    assert_eq!(
        s.stat(&vp("/dir")).await.unwrap().permissions,
        0o777 & !umask()
    );

    let private = OpenOptions {
        permissions: Some(0o600),
        ..create_options()
    };
    s.open(&vp("/private"), private).await.unwrap();
    s.create_dir(&vp("/dir2"), Some(0o750)).await.unwrap();
    assert_eq!(
        s.stat(&vp("/private")).await.unwrap().permissions,
        0o600 & !umask()
    );
    assert_eq!(
        s.stat(&vp("/dir2")).await.unwrap().permissions,
        0o750 & !umask()
    );

    // The mode applies to new files only.
    let reopen = OpenOptions {
        permissions: Some(0o644),
        ..create_options()
    };
    s.open(&vp("/private"), reopen).await.unwrap();
    assert_eq!(
        s.stat(&vp("/private")).await.unwrap().permissions,
        0o600 & !umask()
    );
}

#[tokio::test]
async fn owners_change_when_allowed() {
    let jail = Jail::new();
    let s = jail.subject();
    write_file(s.storage, "/f", b"x").await;
    let meta = s.stat(&vp("/f")).await.unwrap();
    let same = SetAttributes {
        uid: Some(meta.uid),
        gid: Some(meta.gid),
        ..Default::default()
    };
    s.set_attributes(&vp("/f"), &same).await.unwrap();

    let other = SetAttributes {
        uid: Some(54_321),
        gid: Some(54_321),
        ..Default::default()
    };
    let changed = s.set_attributes(&vp("/f"), &other).await;
    if status_field("Uid:").split_whitespace().nth(1) == Some("0") {
        changed.unwrap();
        let meta = s.stat(&vp("/f")).await.unwrap();
        assert_eq!((meta.uid, meta.gid), (54_321, 54_321));
    } else {
        s.fails(changed, ErrorKind::PermissionDenied);
    }
    let sentinel = SetAttributes {
        uid: Some(u32::MAX),
        ..Default::default()
    };
    s.fails(
        s.set_attributes(&vp("/f"), &sentinel).await,
        ErrorKind::InvalidInput,
    );
}

#[tokio::test]
async fn a_huge_read_is_capped() {
    let jail = Jail::new();
    let s = jail.subject();
    let data = vec![7u8; ferry_storage::MAX_READ + 10];
    write_file(s.storage, "/big", &data).await;
    let handle = s.open(&vp("/big"), read_options()).await.unwrap();
    assert_eq!(
        handle.read_at(0, usize::MAX).await.unwrap().len(),
        ferry_storage::MAX_READ
    );
    let tail = handle
        .read_at(ferry_storage::MAX_READ as u64, usize::MAX)
        .await
        .unwrap();
    assert_eq!(tail.len(), 10);
    s.fails(handle.read_at(u64::MAX, 10).await, ErrorKind::InvalidInput);
}

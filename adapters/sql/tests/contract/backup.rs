//! The backup repository: every account read at once, and a restore
//! written all together or not at all.

use crate::sample::{admin, folder, folder_name, mount, name, rich_admin, rich_user, user};
use crate::sql::raw_sql;
use crate::{Sql, expect_kind};
use ferry_domain::ErrorKind;
use ferry_ports::{AdminRepository, BackupRepository, RestoreBatch, SortOrder, UserRepository};

pub async fn read_all_returns_every_account_in_username_order(Sql { repo, .. }: Sql) {
    for raw in ["carol", "alice", "bob"] {
        repo.create_user(&rich_user(raw)).await.unwrap();
    }
    repo.create_admin(&rich_admin("zed")).await.unwrap();
    repo.create_admin(&admin("amy")).await.unwrap();
    let snapshot = repo.read_all().await.unwrap();
    let (users, admins) = (snapshot.users, snapshot.admins);
    let names: Vec<_> = users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
    let stored = repo.get_user(&name("bob")).await.unwrap();
    assert_eq!(users[1], stored);
    let names: Vec<_> = admins.iter().map(|a| a.username.as_str()).collect();
    assert_eq!(names, ["amy", "zed"]);
    assert_eq!(admins[1], repo.get_admin(&name("zed")).await.unwrap());
}

pub async fn new_accounts_are_added_and_existing_ones_replaced(Sql { repo, .. }: Sql) {
    let mut old = user("bob");
    old.used_quota_size = 4096;
    old.used_quota_files = 3;
    old.last_quota_update = 1_700_000_100_000;
    old.last_login = 1_700_000_200_000;
    let old = repo.create_user(&old).await.unwrap();
    let old_admin = repo.create_admin(&admin("root")).await.unwrap();

    let mut incoming = rich_user("bob");
    incoming.created_at = 1;
    incoming.last_login = 2;
    incoming.used_quota_size = 0;
    let mut incoming_admin = rich_admin("root");
    incoming_admin.created_at = 1;
    let batch = RestoreBatch {
        users: vec![incoming.clone(), rich_user("alice")],
        folders: Vec::new(),
        admins: vec![incoming_admin.clone(), admin("second")],
        update_existing: true,
    };
    let applied = repo.write_batch(&batch).await.unwrap();
    let (users, admins) = (applied.users, applied.admins);
    assert_eq!(users.added, ["alice"]);
    assert_eq!(users.updated, ["bob"]);
    assert_eq!(admins.added, ["second"]);
    assert_eq!(admins.updated, ["root"]);

    let bob = repo.get_user(&name("bob")).await.unwrap();
    let expected = ferry_domain::User {
        id: old.id,
        created_at: old.created_at,
        last_login: old.last_login,
        used_quota_size: old.used_quota_size,
        used_quota_files: old.used_quota_files,
        last_quota_update: old.last_quota_update,
        ..incoming
    };
    assert_eq!(
        bob, expected,
        "the store keeps what it owns, the rest is replaced"
    );
    let root = repo.get_admin(&name("root")).await.unwrap();
    let expected = ferry_domain::Admin {
        id: old_admin.id,
        created_at: old_admin.created_at,
        last_login: old_admin.last_login,
        ..incoming_admin
    };
    assert_eq!(root, expected);
    assert_eq!(
        repo.get_user(&name("alice")).await.unwrap().email,
        "alice@example.com"
    );
}

pub async fn add_only_leaves_existing_accounts_alone(Sql { repo, .. }: Sql) {
    let old = repo.create_user(&user("bob")).await.unwrap();
    let old_admin = repo.create_admin(&admin("root")).await.unwrap();
    let batch = RestoreBatch {
        users: vec![rich_user("bob"), user("new")],
        folders: Vec::new(),
        admins: vec![rich_admin("root")],
        update_existing: false,
    };
    let applied = repo.write_batch(&batch).await.unwrap();
    assert_eq!(applied.users.kept, ["bob"]);
    assert_eq!(applied.users.added, ["new"]);
    assert_eq!(applied.admins.kept, ["root"]);
    assert_eq!(repo.get_user(&name("bob")).await.unwrap(), old);
    assert_eq!(repo.get_admin(&name("root")).await.unwrap(), old_admin);
}

/// The admins table is gone, so the batch fails after its users were
/// written inside the transaction: none of them may remain.
pub async fn a_failure_mid_batch_applies_nothing(Sql { repo, url }: Sql) {
    repo.create_user(&user("existing")).await.unwrap();
    raw_sql(&url, "DROP TABLE admins").await;
    let mut changed = rich_user("existing");
    changed.email = "changed@example.com".into();
    let batch = RestoreBatch {
        users: vec![user("first"), changed, user("second")],
        folders: Vec::new(),
        admins: vec![admin("root")],
        update_existing: true,
    };
    let err = repo.write_batch(&batch).await.unwrap_err();
    assert_ne!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let page = crate::users::page(0, 10, SortOrder::Asc);
    let users = repo.list_users(page).await.unwrap();
    let names: Vec<_> = users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["existing"], "a user of the failed batch remains");
    assert_eq!(users[0].email, "", "an update of the failed batch remains");
    expect_kind(repo.get_user(&name("first")).await, ErrorKind::NotFound);
}

/// Folders go in first, so a user of the same batch mounts them; a mount
/// of a folder that is nowhere fails the whole batch.
pub async fn users_mount_folders_of_the_same_batch(Sql { repo, .. }: Sql) {
    let mut alice = user("alice");
    alice.virtual_folders = vec![mount("shared", "/shared", -1, -1)];
    let batch = RestoreBatch {
        folders: vec![folder("shared")],
        users: vec![alice],
        admins: Vec::new(),
        update_existing: true,
    };
    let applied = repo.write_batch(&batch).await.unwrap();
    assert_eq!(applied.folders.added, ["shared"]);
    let snapshot = repo.read_all().await.unwrap();
    assert_eq!(snapshot.folders.len(), 1);
    assert_eq!(snapshot.folders[0].users, [name("alice")]);
    let mounted = &snapshot.users[0].virtual_folders;
    assert_eq!(mounted[0].folder.name, folder_name("shared"));
    assert_eq!(mounted[0].folder.mapped_path, folder("shared").mapped_path);

    let mut bob = user("bob");
    bob.virtual_folders = vec![mount("nowhere", "/x", 0, 0)];
    let batch = RestoreBatch {
        folders: vec![folder("other")],
        users: vec![bob],
        admins: Vec::new(),
        update_existing: true,
    };
    let err = expect_kind(repo.write_batch(&batch).await, ErrorKind::InvalidInput);
    assert!(err.message().contains("user \"bob\""), "{err}");
    assert!(err.message().contains("nowhere"), "{err}");
    expect_kind(repo.get_user(&name("bob")).await, ErrorKind::NotFound);
    let snapshot = repo.read_all().await.unwrap();
    assert_eq!(
        snapshot.folders.len(),
        1,
        "the folder of the failed batch remains"
    );
}

//! The `FolderRepository` contract, and how users' mounts of folders are
//! stored through `UserRepository`, written against the traits alone.

use crate::expect_kind;
use crate::sample::{folder, folder_name, mount, name, user};
use crate::users::page;
use ferry_domain::{ErrorKind, Folder, QuotaUsage, UsageMode, User, VirtualFolder};
use ferry_ports::{FolderRepository, SortOrder, UserRepository};
use std::sync::Arc;

/// Both repositories over one database.
pub struct Repos {
    pub users: Arc<dyn UserRepository>,
    pub folders: Arc<dyn FolderRepository>,
}

/// `mounts` as stored: each with its stored folder and no users.
fn resolved(mounts: &[VirtualFolder], stored: &[Folder]) -> Vec<VirtualFolder> {
    mounts
        .iter()
        .map(|m| {
            let folder = stored
                .iter()
                .find(|f| f.name == m.folder.name)
                .expect("a stored folder")
                .clone();
            VirtualFolder {
                folder: Folder {
                    users: Vec::new(),
                    ..folder
                },
                ..m.clone()
            }
        })
        .collect()
}

pub async fn create_get_and_round_trip(repos: Repos) {
    let created = repos
        .folders
        .create_folder(&folder("shared"))
        .await
        .unwrap();
    assert!(created.id > 0);
    assert_eq!(
        created,
        Folder {
            id: created.id,
            ..folder("shared")
        }
    );
    let other = repos.folders.create_folder(&folder("other")).await.unwrap();
    assert_ne!(other.id, created.id);
    let stored = repos
        .folders
        .get_folder(&folder_name("shared"))
        .await
        .unwrap();
    assert_eq!(stored, created);
    let s3 = stored
        .filesystem
        .s3config
        .as_ref()
        .expect("the S3 settings are kept");
    assert_eq!(s3.key_prefix, "shared/");
    assert_eq!(s3.access_secret.payload, "c2VhbGVk");
}

pub async fn a_taken_name_conflicts(repos: Repos) {
    let first = repos.folders.create_folder(&folder("dup")).await.unwrap();
    let mut again = folder("dup");
    again.mapped_path = "/elsewhere".into();
    let err = expect_kind(
        repos.folders.create_folder(&again).await,
        ErrorKind::Conflict,
    );
    assert!(err.message().contains("dup"), "{}", err.message());
    assert_eq!(
        repos.folders.get_folder(&folder_name("dup")).await.unwrap(),
        first
    );
}

pub async fn a_missing_folder_is_not_found(repos: Repos) {
    let ghost = folder_name("ghost");
    let err = expect_kind(repos.folders.get_folder(&ghost).await, ErrorKind::NotFound);
    assert!(err.message().contains("ghost"));
    expect_kind(
        repos.folders.update_folder(&folder("ghost")).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        repos.folders.delete_folder(&ghost).await,
        ErrorKind::NotFound,
    );
}

pub async fn update_replaces_everything_but_the_id_and_mounts(repos: Repos) {
    let created = repos.folders.create_folder(&folder("f")).await.unwrap();
    repos
        .users
        .create_user(&User {
            virtual_folders: vec![mount("f", "/f", 0, 0)],
            ..user("alice")
        })
        .await
        .unwrap();
    let changed = Folder {
        id: 777,
        mapped_path: "/new/place".into(),
        description: String::new(),
        used_quota_size: 0,
        ..folder("f")
    };
    repos.folders.update_folder(&changed).await.unwrap();
    // Identical values again still find the row.
    repos.folders.update_folder(&changed).await.unwrap();

    let stored = repos.folders.get_folder(&folder_name("f")).await.unwrap();
    assert_eq!(
        stored,
        Folder {
            id: created.id,
            users: vec![name("alice")],
            ..changed
        }
    );
    let alice = repos.users.get_user(&name("alice")).await.unwrap();
    assert_eq!(alice.virtual_folders[0].folder.mapped_path, "/new/place");
}

pub async fn listing_pages_in_name_order(repos: Repos) {
    let names = ["mike", "Zed", "alice", "a.b", "_x", "bob", "~t"];
    for n in names {
        repos.folders.create_folder(&folder(n)).await.unwrap();
    }
    let mut ascending: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    ascending.sort();
    let listed = |offset, limit, order| {
        let folders = repos.folders.clone();
        async move {
            let page = folders
                .list_folders(page(offset, limit, order))
                .await
                .unwrap();
            page.into_iter()
                .map(|f| f.name.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(0, 100, SortOrder::Asc).await, ascending);
    let descending: Vec<String> = ascending.iter().rev().cloned().collect();
    assert_eq!(listed(0, 100, SortOrder::Desc).await, descending);
    assert_eq!(listed(2, 3, SortOrder::Asc).await, ascending[2..5]);
    assert!(listed(7, 3, SortOrder::Asc).await.is_empty());
    assert!(listed(u64::MAX, u64::MAX, SortOrder::Asc).await.is_empty());
}

pub async fn users_read_back_their_mounts_with_folders(repos: Repos) {
    let a = repos.folders.create_folder(&folder("a")).await.unwrap();
    let b = repos.folders.create_folder(&folder("b")).await.unwrap();
    let mounts = vec![mount("b", "/x/b", -1, -1), mount("a", "/a", 1_000, 0)];
    let candidate = User {
        virtual_folders: mounts.clone(),
        ..user("carol")
    };
    let created = repos.users.create_user(&candidate).await.unwrap();
    let expected = resolved(&mounts, &[a.clone(), b.clone()]);
    assert_eq!(created.virtual_folders, expected);

    let stored = repos.users.get_user(&name("carol")).await.unwrap();
    assert_eq!(stored, created);
    let listed = repos
        .users
        .list_users(page(0, 10, SortOrder::Asc))
        .await
        .unwrap();
    assert_eq!(listed, vec![created]);

    repos
        .users
        .create_user(&User {
            virtual_folders: vec![mount("a", "/shared", 0, 0)],
            ..user("bob")
        })
        .await
        .unwrap();
    let a = repos.folders.get_folder(&folder_name("a")).await.unwrap();
    assert_eq!(a.users, vec![name("bob"), name("carol")]);
    let listed = repos
        .folders
        .list_folders(page(0, 10, SortOrder::Asc))
        .await
        .unwrap();
    assert_eq!(listed[1].users, vec![name("carol")]);
}

pub async fn a_mount_of_a_missing_folder_writes_nothing(repos: Repos) {
    repos.folders.create_folder(&folder("real")).await.unwrap();
    let mounts = vec![mount("real", "/real", 0, 0), mount("ghost", "/ghost", 0, 0)];
    let bad = User {
        virtual_folders: mounts.clone(),
        ..user("dave")
    };
    let err = expect_kind(repos.users.create_user(&bad).await, ErrorKind::InvalidInput);
    assert!(err.message().contains("ghost"), "{}", err.message());
    expect_kind(
        repos.users.get_user(&name("dave")).await,
        ErrorKind::NotFound,
    );

    let dave = repos.users.create_user(&user("dave")).await.unwrap();
    let mut changed = bad.clone();
    changed.description = "changed".into();
    expect_kind(
        repos.users.update_user(&changed).await,
        ErrorKind::InvalidInput,
    );
    assert_eq!(repos.users.get_user(&name("dave")).await.unwrap(), dave);
    let real = repos
        .folders
        .get_folder(&folder_name("real"))
        .await
        .unwrap();
    assert!(real.users.is_empty(), "{real:?}");
}

pub async fn update_replaces_the_mounts(repos: Repos) {
    for n in ["a", "b", "c"] {
        repos.folders.create_folder(&folder(n)).await.unwrap();
    }
    let first = User {
        virtual_folders: vec![mount("a", "/a", 0, 0), mount("b", "/b", 0, 0)],
        ..user("erin")
    };
    repos.users.create_user(&first).await.unwrap();
    let second = User {
        virtual_folders: vec![mount("c", "/c", 5, 6), mount("a", "/moved/a", -1, -1)],
        ..user("erin")
    };
    repos.users.update_user(&second).await.unwrap();
    let stored = repos.users.get_user(&name("erin")).await.unwrap();
    let paths: Vec<(&str, &str)> = stored
        .virtual_folders
        .iter()
        .map(|m| (m.folder.name.as_str(), m.virtual_path.as_str()))
        .collect();
    assert_eq!(paths, vec![("c", "/c"), ("a", "/moved/a")]);
    assert_eq!(stored.virtual_folders[0].quota_files, 6);
    let b = repos.folders.get_folder(&folder_name("b")).await.unwrap();
    assert!(b.users.is_empty());

    let none = User {
        virtual_folders: Vec::new(),
        ..user("erin")
    };
    repos.users.update_user(&none).await.unwrap();
    let stored = repos.users.get_user(&name("erin")).await.unwrap();
    assert!(stored.virtual_folders.is_empty());
}

pub async fn deleting_a_folder_unmounts_it(repos: Repos) {
    repos.folders.create_folder(&folder("gone")).await.unwrap();
    repos.folders.create_folder(&folder("kept")).await.unwrap();
    let mounts = vec![mount("gone", "/gone", 0, 0), mount("kept", "/kept", 0, 0)];
    for n in ["frank", "grace"] {
        let u = User {
            virtual_folders: mounts.clone(),
            ..user(n)
        };
        repos.users.create_user(&u).await.unwrap();
    }
    repos
        .folders
        .delete_folder(&folder_name("gone"))
        .await
        .unwrap();
    expect_kind(
        repos.folders.get_folder(&folder_name("gone")).await,
        ErrorKind::NotFound,
    );
    for n in ["frank", "grace"] {
        let stored = repos.users.get_user(&name(n)).await.unwrap();
        let names: Vec<&str> = stored
            .virtual_folders
            .iter()
            .map(|m| m.folder.name.as_str())
            .collect();
        assert_eq!(names, vec!["kept"], "{n}");
    }
    // The name is free again, with no mounts.
    let again = repos.folders.create_folder(&folder("gone")).await.unwrap();
    assert!(again.users.is_empty());
    let stored = repos
        .folders
        .get_folder(&folder_name("gone"))
        .await
        .unwrap();
    assert!(stored.users.is_empty());
}

pub async fn deleting_a_user_frees_its_mounts(repos: Repos) {
    repos.folders.create_folder(&folder("f")).await.unwrap();
    let u = User {
        virtual_folders: vec![mount("f", "/f", 0, 0)],
        ..user("heidi")
    };
    repos.users.create_user(&u).await.unwrap();
    repos.users.delete_user(&name("heidi")).await.unwrap();
    let f = repos.folders.get_folder(&folder_name("f")).await.unwrap();
    assert!(f.users.is_empty());
    repos
        .folders
        .delete_folder(&folder_name("f"))
        .await
        .unwrap();
}

pub async fn folders_named_skips_missing_names(repos: Repos) {
    repos.folders.create_folder(&folder("b")).await.unwrap();
    repos.folders.create_folder(&folder("a")).await.unwrap();
    let names = [folder_name("b"), folder_name("zz"), folder_name("a")];
    let found = repos.folders.folders_named(&names).await.unwrap();
    let found: Vec<&str> = found.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(found, vec!["a", "b"]);
    assert!(repos.folders.folders_named(&[]).await.unwrap().is_empty());
}

/// Folder usage is replaced or added to in the database, never below zero.
pub async fn folder_usage_resets_and_adds(repos: Repos) {
    repos
        .folders
        .create_folder(&folder("counted"))
        .await
        .unwrap();
    let counted = folder_name("counted");
    let usage = |size, files| QuotaUsage { size, files };
    let folders = &repos.folders;
    folders
        .update_folder_usage(&counted, UsageMode::Reset, usage(40, 4), 3)
        .await
        .unwrap();
    folders
        .update_folder_usage(&counted, UsageMode::Add, usage(2, -9), 8)
        .await
        .unwrap();
    let stored = folders.get_folder(&counted).await.unwrap();
    assert_eq!(
        (
            stored.used_quota_size,
            stored.used_quota_files,
            stored.last_quota_update
        ),
        (42, 0, 8)
    );
    let missing = folders
        .update_folder_usage(&folder_name("absent"), UsageMode::Add, usage(1, 1), 1)
        .await;
    expect_kind(missing, ErrorKind::NotFound);
}

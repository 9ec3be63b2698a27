//! The `UserRepository` contract, written against the trait alone.

use crate::expect_kind;
use crate::sample::{name, rich_user, user};
use ferry_domain::{ErrorKind, QuotaUsage, UsageMode, User};
use ferry_ports::{Page, SortOrder, UserRepository};
use std::sync::Arc;

pub type Users = Arc<dyn UserRepository>;

pub async fn create_returns_an_id_and_get_returns_the_user(users: Users) {
    let created = users.create_user(&user("alice")).await.unwrap();
    assert!(created.id > 0);
    assert_eq!(
        created,
        User {
            id: created.id,
            ..user("alice")
        }
    );

    let other = users.create_user(&user("bob")).await.unwrap();
    assert_ne!(other.id, created.id);

    assert_eq!(users.get_user(&name("alice")).await.unwrap(), created);
}

pub async fn every_field_round_trips_exactly(users: Users) {
    let rich = rich_user("rich");
    let created = users.create_user(&rich).await.unwrap();
    assert_eq!(
        created,
        User {
            id: created.id,
            ..rich
        }
    );

    let stored = users.get_user(&name("rich")).await.unwrap();
    assert_eq!(stored, created);
    assert_eq!(stored.permissions.as_map().len(), 5);
    assert!(stored.filters.other.contains_key("hooks"));
    assert_eq!(stored.filters.other["ratio"], 0.5);
    assert!(stored.filesystem.osconfig.is_some());
    assert_eq!(stored.additional_info.len(), 100_000);

    let listed = users.list_users(page(0, 10, SortOrder::Asc)).await.unwrap();
    assert_eq!(listed, vec![created]);
}

pub async fn a_taken_username_conflicts(users: Users) {
    let first = users.create_user(&user("carol")).await.unwrap();
    let err = users.create_user(&rich_user("carol")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.message().contains("carol"), "{}", err.message());
    assert_eq!(users.get_user(&name("carol")).await.unwrap(), first);
}

/// The database, not a check before the insert, decides between racers.
pub async fn concurrent_creations_have_one_winner(users: Users) {
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let users = users.clone();
            let mut candidate = user("racer");
            candidate.uid = i;
            tokio::spawn(async move { users.create_user(&candidate).await })
        })
        .collect();
    let mut won = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(_) => won += 1,
            Err(e) => assert_eq!(e.kind(), ErrorKind::Conflict, "{e}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(
        users
            .list_users(page(0, 100, SortOrder::Asc))
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Names compare byte by byte on every back end, so case matters.
pub async fn names_differing_in_case_are_distinct(users: Users) {
    users.create_user(&user("dave")).await.unwrap();
    users.create_user(&user("Dave")).await.unwrap();
    assert_eq!(
        users.get_user(&name("Dave")).await.unwrap().username,
        name("Dave")
    );
    expect_kind(users.get_user(&name("DAVE")).await, ErrorKind::NotFound);
}

pub async fn a_missing_user_is_not_found(users: Users) {
    let err = expect_kind(users.get_user(&name("ghost")).await, ErrorKind::NotFound);
    assert!(err.message().contains("ghost"));
    expect_kind(users.update_user(&user("ghost")).await, ErrorKind::NotFound);
    expect_kind(users.delete_user(&name("ghost")).await, ErrorKind::NotFound);
}

pub async fn update_replaces_everything_but_the_id(users: Users) {
    let created = users.create_user(&user("erin")).await.unwrap();
    let mut changed = rich_user("erin");
    changed.id = 9_999;
    users.update_user(&changed).await.unwrap();

    let stored = users.get_user(&name("erin")).await.unwrap();
    assert_eq!(
        stored,
        User {
            id: created.id,
            ..rich_user("erin")
        }
    );

    // Storing identical values again still finds the row.
    users.update_user(&stored).await.unwrap();
    let mut back = stored.clone();
    back.password_hash = None;
    users.update_user(&back).await.unwrap();
    assert_eq!(users.get_user(&name("erin")).await.unwrap(), back);
}

pub async fn delete_removes_only_that_user(users: Users) {
    users.create_user(&user("frank")).await.unwrap();
    let kept = users.create_user(&user("grace")).await.unwrap();
    users.delete_user(&name("frank")).await.unwrap();

    expect_kind(users.get_user(&name("frank")).await, ErrorKind::NotFound);
    expect_kind(users.delete_user(&name("frank")).await, ErrorKind::NotFound);
    assert_eq!(users.get_user(&name("grace")).await.unwrap(), kept);

    let again = users.create_user(&user("frank")).await.unwrap();
    assert!(again.id > 0);
}

pub async fn listing_pages_in_username_order(users: Users) {
    let names = ["mike", "Zed", "alice", "a.b", "_x", "bob", "a-c", "~t", "B"];
    for n in names {
        users.create_user(&user(n)).await.unwrap();
    }
    let mut ascending: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    ascending.sort(); // byte order, which every back end must follow
    let descending: Vec<String> = ascending.iter().rev().cloned().collect();

    let users = &*users;
    assert_eq!(
        names_of(users, page(0, 100, SortOrder::Asc)).await,
        ascending
    );
    assert_eq!(
        names_of(users, page(0, 100, SortOrder::Desc)).await,
        descending
    );
    assert_eq!(
        names_of(users, page(2, 3, SortOrder::Asc)).await,
        ascending[2..5]
    );
    assert_eq!(
        names_of(users, page(8, 3, SortOrder::Desc)).await,
        ascending[..1]
    );

    assert!(
        users
            .list_users(page(9, 3, SortOrder::Asc))
            .await
            .unwrap()
            .is_empty()
    );
    let huge = page(u64::MAX, u64::MAX, SortOrder::Asc);
    assert!(users.list_users(huge).await.unwrap().is_empty());
    let unbounded = users
        .list_users(page(1, u64::MAX, SortOrder::Asc))
        .await
        .unwrap();
    assert_eq!(unbounded.len(), names.len() - 1);
}

pub async fn last_login_is_recorded(users: Users) {
    let created = users.create_user(&rich_user("heidi")).await.unwrap();
    users
        .set_user_last_login(&name("heidi"), 1_234_567_890_123)
        .await
        .unwrap();

    let stored = users.get_user(&name("heidi")).await.unwrap();
    assert_eq!(stored.last_login, 1_234_567_890_123);
    assert_eq!(
        stored,
        User {
            last_login: 1_234_567_890_123,
            ..created
        }
    );

    users.set_user_last_login(&name("nobody"), 1).await.unwrap();
}

async fn names_of(users: &dyn UserRepository, page: Page) -> Vec<String> {
    let listed = users.list_users(page).await.unwrap();
    listed.into_iter().map(|u| u.username.to_string()).collect()
}

pub fn page(offset: u64, limit: u64, order: SortOrder) -> Page {
    Page {
        offset,
        limit,
        order,
    }
}

/// Usage is replaced or added to in the database: concurrent additions all
/// count, a figure never goes below zero, and the update time is stamped.
pub async fn usage_resets_and_concurrent_adds_all_count(users: Users) {
    users.create_user(&user("ivan")).await.unwrap();
    let ivan = name("ivan");
    let usage = |size, files| QuotaUsage { size, files };
    users
        .update_user_usage(&ivan, UsageMode::Reset, usage(1000, 10), 5)
        .await
        .unwrap();

    let adders: Vec<_> = (0..16)
        .map(|_| {
            let users = users.clone();
            let ivan = ivan.clone();
            tokio::spawn(async move {
                users
                    .update_user_usage(&ivan, UsageMode::Add, usage(100, 1), 7)
                    .await
            })
        })
        .collect();
    for adder in adders {
        adder.await.unwrap().unwrap();
    }
    let stored = users.get_user(&ivan).await.unwrap();
    assert_eq!(
        (
            stored.used_quota_size,
            stored.used_quota_files,
            stored.last_quota_update
        ),
        (2600, 26, 7)
    );

    users
        .update_user_usage(&ivan, UsageMode::Add, usage(-5000, -1), 9)
        .await
        .unwrap();
    let stored = users.get_user(&ivan).await.unwrap();
    assert_eq!((stored.used_quota_size, stored.used_quota_files), (0, 25));

    let missing = users
        .update_user_usage(&name("nobody"), UsageMode::Reset, usage(1, 1), 1)
        .await;
    expect_kind(missing, ErrorKind::NotFound);
}

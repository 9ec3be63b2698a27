//! The `AdminRepository` contract, written against the trait alone.

use crate::expect_kind;
use crate::sample::{admin, name, rich_admin};
use crate::users::page;
use ferry_domain::{Admin, ErrorKind};
use ferry_ports::{AdminRepository, SortOrder};
use std::sync::Arc;

pub type Admins = Arc<dyn AdminRepository>;

pub async fn create_get_and_round_trip(admins: Admins) {
    let plain = admins.create_admin(&admin("root")).await.unwrap();
    assert!(plain.id > 0);
    assert_eq!(admins.get_admin(&name("root")).await.unwrap(), plain);

    let rich = admins.create_admin(&rich_admin("ops")).await.unwrap();
    assert_ne!(rich.id, plain.id);
    assert_eq!(
        rich,
        Admin {
            id: rich.id,
            ..rich_admin("ops")
        }
    );
    let stored = admins.get_admin(&name("ops")).await.unwrap();
    assert_eq!(stored, rich);
    assert_eq!(stored.filters.allow_list.len(), 2);
    assert!(stored.filters.other.contains_key("totp_config"));
}

pub async fn a_taken_username_conflicts(admins: Admins) {
    let first = admins.create_admin(&admin("root")).await.unwrap();
    let err = expect_kind(
        admins.create_admin(&rich_admin("root")).await,
        ErrorKind::Conflict,
    );
    assert!(err.message().contains("root"));
    assert_eq!(admins.get_admin(&name("root")).await.unwrap(), first);
}

pub async fn a_missing_admin_is_not_found(admins: Admins) {
    expect_kind(admins.get_admin(&name("ghost")).await, ErrorKind::NotFound);
    expect_kind(
        admins.update_admin(&admin("ghost")).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        admins.delete_admin(&name("ghost")).await,
        ErrorKind::NotFound,
    );
}

pub async fn update_and_delete(admins: Admins) {
    let created = admins.create_admin(&admin("root")).await.unwrap();
    admins.update_admin(&rich_admin("root")).await.unwrap();
    let stored = admins.get_admin(&name("root")).await.unwrap();
    assert_eq!(
        stored,
        Admin {
            id: created.id,
            ..rich_admin("root")
        }
    );
    admins.update_admin(&stored).await.unwrap();

    admins.delete_admin(&name("root")).await.unwrap();
    expect_kind(admins.get_admin(&name("root")).await, ErrorKind::NotFound);
    expect_kind(
        admins.delete_admin(&name("root")).await,
        ErrorKind::NotFound,
    );
}

pub async fn listing_and_counting(admins: Admins) {
    assert_eq!(admins.count_admins().await.unwrap(), 0);
    assert!(
        admins
            .list_admins(page(0, 10, SortOrder::Asc))
            .await
            .unwrap()
            .is_empty()
    );
    for n in ["zoe", "Adam", "bea", "_sys"] {
        admins.create_admin(&admin(n)).await.unwrap();
    }
    assert_eq!(admins.count_admins().await.unwrap(), 4);

    let names = |list: Vec<Admin>| list.into_iter().map(|a| a.username.to_string()).collect();
    let asc: Vec<String> = names(
        admins
            .list_admins(page(0, 10, SortOrder::Asc))
            .await
            .unwrap(),
    );
    assert_eq!(asc, ["Adam", "_sys", "bea", "zoe"]);
    let desc: Vec<String> = names(
        admins
            .list_admins(page(1, 2, SortOrder::Desc))
            .await
            .unwrap(),
    );
    assert_eq!(desc, ["bea", "_sys"]);

    admins.delete_admin(&name("bea")).await.unwrap();
    assert_eq!(admins.count_admins().await.unwrap(), 3);
}

pub async fn last_login_is_recorded(admins: Admins) {
    let created = admins.create_admin(&admin("root")).await.unwrap();
    admins
        .set_admin_last_login(&name("root"), 1_700_000_000_999)
        .await
        .unwrap();
    let stored = admins.get_admin(&name("root")).await.unwrap();
    assert_eq!(
        stored,
        Admin {
            last_login: 1_700_000_000_999,
            ..created
        }
    );
    admins
        .set_admin_last_login(&name("nobody"), 1)
        .await
        .unwrap();
}

//! What only the SQL repository promises: migrations, corrupt rows, a closed
//! pool, and users and admins living side by side.

use crate::sample::{admin, name, user};
use crate::{Sql, expect_kind};
use ferry_domain::ErrorKind;
use ferry_ports::{AdminRepository, SortOrder, UserRepository};
use ferry_sql::{SqlRepository, UNAVAILABLE};
use sea_orm::{ConnectionTrait, Database};

pub async fn users_and_admins_are_separate(Sql { repo, .. }: Sql) {
    let users: &dyn UserRepository = &repo;
    let admins: &dyn AdminRepository = &repo;
    users.create_user(&user("same")).await.unwrap();
    admins.create_admin(&admin("same")).await.unwrap();
    users.delete_user(&name("same")).await.unwrap();
    assert_eq!(
        admins.get_admin(&name("same")).await.unwrap().username,
        name("same")
    );
    assert_eq!(admins.count_admins().await.unwrap(), 1);
}

/// A row edited behind Ferry's back fails its validation on the way out.
pub async fn a_corrupt_row_is_an_internal_error(Sql { repo, url }: Sql) {
    let users: &dyn UserRepository = &repo;
    users.create_user(&user("ivan")).await.unwrap();
    raw_sql(
        &url,
        r#"UPDATE users SET permissions = '{"relative":["*"]}'"#,
    )
    .await;

    let err = expect_kind(users.get_user(&name("ivan")).await, ErrorKind::Internal);
    assert_eq!(err.message(), "internal server error");
    assert!(
        err.detail().unwrap_or_default().contains("permissions"),
        "{err}"
    );
    let page = crate::users::page(0, 10, SortOrder::Asc);
    expect_kind(users.list_users(page).await, ErrorKind::Internal);

    raw_sql(
        &url,
        "UPDATE users SET permissions = 'not json', username = 'a b'",
    )
    .await;
    expect_kind(users.list_users(page).await, ErrorKind::Internal);
}

pub async fn a_closed_pool_is_unavailable(Sql { repo, .. }: Sql) {
    repo.ping().await.unwrap();
    repo.close().await.unwrap();
    let users: &dyn UserRepository = &repo;
    let err = expect_kind(users.get_user(&name("x")).await, ErrorKind::Unavailable);
    assert_eq!(err.message(), UNAVAILABLE);
    expect_kind(repo.ping().await, ErrorKind::Unavailable);
}

pub async fn migrating_again_keeps_the_data(Sql { repo, .. }: Sql) {
    let users: &dyn UserRepository = &repo;
    let created = users.create_user(&user("judy")).await.unwrap();
    repo.migrate().await.unwrap();
    repo.migrate().await.unwrap();
    assert_eq!(users.get_user(&name("judy")).await.unwrap(), created);
}

/// Replicas starting together on an empty database take turns migrating.
pub async fn concurrent_first_migrations_all_succeed(Sql { repo, url }: Sql) {
    let mut replicas = vec![repo.clone()];
    for _ in 0..3 {
        replicas.push(SqlRepository::connect(&url).await.unwrap());
    }
    let runs: Vec<_> = replicas
        .iter()
        .cloned()
        .map(|r| tokio::spawn(async move { r.migrate().await }))
        .collect();
    for run in runs {
        run.await.unwrap().unwrap();
    }
    for replica in &replicas[1..] {
        replica.close().await.unwrap();
    }
    let users: &dyn UserRepository = &repo;
    users.create_user(&user("kim")).await.unwrap();
    assert_eq!(
        users.get_user(&name("kim")).await.unwrap().username,
        name("kim")
    );
}

pub async fn raw_sql(url: &str, sql: &str) {
    let conn = Database::connect(url).await.unwrap();
    conn.execute_unprepared(sql).await.unwrap();
    conn.close().await.unwrap();
}

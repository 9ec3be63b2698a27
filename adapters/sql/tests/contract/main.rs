//! The repository contract suite, written once and run on every back end.
//!
//! Each case gets a fresh database (see `fixture`). SQLite always runs; set
//! `FERRY_TEST_POSTGRES_URL` and `FERRY_TEST_MYSQL_URL` to run the same cases
//! on PostgreSQL and MySQL/MariaDB:
//!
//! ```text
//! FERRY_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//! FERRY_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/mysql \
//!     cargo test -p ferry-sql
//! ```

mod admins;
mod backup;
mod connect;
mod fixture;
mod folders;
mod sample;
mod sql;
mod users;

use ferry_domain::{Error, ErrorKind, Result};
use ferry_ports::{AdminRepository, FolderRepository, UserRepository};
use ferry_sql::SqlRepository;
use std::fmt::Debug;
use std::sync::Arc;

/// Asserts that `result` failed with `kind` and returns the error.
pub fn expect_kind<T: Debug>(result: Result<T>, kind: ErrorKind) -> Error {
    match result {
        Ok(value) => panic!("expected a {kind:?} error, got Ok({value:?})"),
        Err(err) => {
            assert_eq!(err.kind(), kind, "{err}");
            err
        }
    }
}

/// What a case takes: a trait object for the generic suites, the repository
/// and its URL for the SQL-specific cases.
pub trait FromFixture {
    fn from_fixture(repo: SqlRepository, url: String) -> Self;
}

impl FromFixture for Arc<dyn UserRepository> {
    fn from_fixture(repo: SqlRepository, _url: String) -> Self {
        Arc::new(repo)
    }
}

impl FromFixture for Arc<dyn AdminRepository> {
    fn from_fixture(repo: SqlRepository, _url: String) -> Self {
        Arc::new(repo)
    }
}

impl FromFixture for folders::Repos {
    fn from_fixture(repo: SqlRepository, _url: String) -> Self {
        let folders: Arc<dyn FolderRepository> = Arc::new(repo.clone());
        folders::Repos {
            users: Arc::new(repo),
            folders,
        }
    }
}

/// A SQL-specific case's input.
pub struct Sql {
    pub repo: SqlRepository,
    pub url: String,
}

impl FromFixture for Sql {
    fn from_fixture(repo: SqlRepository, url: String) -> Self {
        Sql { repo, url }
    }
}

/// One `#[tokio::test]` per case of module `$group`, on a fresh database of
/// `$backend`, migrated first when `$migrated`.
macro_rules! cases {
    ($backend:expr, $group:ident, $migrated:expr, [$($case:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                crate::fixture::run($backend, $migrated, |repo, url| {
                    crate::$group::$case(crate::FromFixture::from_fixture(repo, url))
                })
                .await;
            }
        )*
    };
}

/// The whole suite on one back end, as module `$module`.
macro_rules! contract_suite {
    ($module:ident, $backend:ident) => {
        mod $module {
            use crate::fixture::Backend;

            mod users {
                use super::*;
                cases!(
                    Backend::$backend,
                    users,
                    true,
                    [
                        create_returns_an_id_and_get_returns_the_user,
                        every_field_round_trips_exactly,
                        a_taken_username_conflicts,
                        concurrent_creations_have_one_winner,
                        names_differing_in_case_are_distinct,
                        a_missing_user_is_not_found,
                        update_replaces_everything_but_the_id,
                        delete_removes_only_that_user,
                        listing_pages_in_username_order,
                        last_login_is_recorded,
                        usage_resets_and_concurrent_adds_all_count,
                    ]
                );
            }

            mod admins {
                use super::*;
                cases!(
                    Backend::$backend,
                    admins,
                    true,
                    [
                        create_get_and_round_trip,
                        a_taken_username_conflicts,
                        a_missing_admin_is_not_found,
                        update_and_delete,
                        listing_and_counting,
                        last_login_is_recorded,
                    ]
                );
            }

            mod folders {
                use super::*;
                cases!(
                    Backend::$backend,
                    folders,
                    true,
                    [
                        create_get_and_round_trip,
                        a_taken_name_conflicts,
                        a_missing_folder_is_not_found,
                        update_replaces_everything_but_the_id_and_mounts,
                        listing_pages_in_name_order,
                        users_read_back_their_mounts_with_folders,
                        a_mount_of_a_missing_folder_writes_nothing,
                        update_replaces_the_mounts,
                        deleting_a_folder_unmounts_it,
                        deleting_a_user_frees_its_mounts,
                        folders_named_skips_missing_names,
                        folder_usage_resets_and_adds,
                    ]
                );
            }

            mod backup {
                use super::*;
                cases!(
                    Backend::$backend,
                    backup,
                    true,
                    [
                        read_all_returns_every_account_in_username_order,
                        new_accounts_are_added_and_existing_ones_replaced,
                        add_only_leaves_existing_accounts_alone,
                        a_failure_mid_batch_applies_nothing,
                        users_mount_folders_of_the_same_batch,
                    ]
                );
            }

            mod sql {
                use super::*;
                cases!(
                    Backend::$backend,
                    sql,
                    true,
                    [
                        users_and_admins_are_separate,
                        a_corrupt_row_is_an_internal_error,
                        a_closed_pool_is_unavailable,
                        migrating_again_keeps_the_data,
                    ]
                );
                cases!(
                    Backend::$backend,
                    sql,
                    false,
                    [concurrent_first_migrations_all_succeed,]
                );
            }
        }
    };
}

contract_suite!(sqlite, Sqlite);
contract_suite!(postgres, Postgres);
contract_suite!(mysql, MySql);

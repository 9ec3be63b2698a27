//! REST API administrators: managed by `*` admins, and each admin's own
//! password and profile.

use super::hashing;
use async_trait::async_trait;
use ferry_domain::{Admin, AdminPermission, Error, Result, UserStatus, Username};
use ferry_ports::inbound::{AdminInput, AdminManagement, AdminProfile};
use ferry_ports::{AdminContext, AdminRepository, Clock, Page, PasswordHasher};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

/// `filters` keys only their own APIs may set (TOTP enrolment): an update
/// through the admin API keeps the stored values.
const PRIVATE_FILTER_KEYS: [&str; 2] = ["totp_config", "recovery_codes"];

/// `filters` keys an admin may not change about itself: they are demands a
/// `*` admin puts on it.
const IMPOSED_FILTER_KEYS: [&str; 2] = ["require_password_change", "require_two_factor"];

/// The `filters` key behind the profile's `allow_api_key_auth`.
const API_KEY_AUTH_KEY: &str = "allow_api_key_auth";

/// The admin use cases: [`AdminManagement`] over an [`AdminRepository`].
pub struct Admins<A, H> {
    repo: Arc<A>,
    hasher: Arc<H>,
    clock: Arc<dyn Clock>,
}

impl<A: AdminRepository, H: PasswordHasher> Admins<A, H> {
    pub fn new(repo: Arc<A>, hasher: Arc<H>, clock: Arc<dyn Clock>) -> Self {
        Self {
            repo,
            hasher,
            clock,
        }
    }

    /// Applies the rules every stored admin obeys: normalised permissions
    /// and allow list, a valid email, a hashed password.
    pub(crate) async fn prepare(
        &self,
        mut admin: Admin,
        password: Option<String>,
    ) -> Result<Admin> {
        admin.permissions = normalise_permissions(&admin.permissions);
        dedup_in_order(&mut admin.filters.allow_list);
        ferry_domain::user::validate_email(&admin.email)?;
        if let Some(password) = password.filter(|p| !p.is_empty()) {
            admin.password_hash = hashing::hash(&self.hasher, &password).await?;
        }
        if admin.password_hash.is_empty() {
            return Err(Error::invalid("please set a password"));
        }
        admin.updated_at = self.clock.now_ms();
        admin.validate()?;
        Ok(admin)
    }

    /// The admin behind a token, for the self-service operations.
    async fn own_record(&self, admin: &AdminContext) -> Result<Admin> {
        self.repo.get_admin(&admin.username).await
    }
}

/// Permissions without duplicates, and `*` alone when it is granted: it
/// already holds every other one.
fn normalise_permissions(perms: &[AdminPermission]) -> Vec<AdminPermission> {
    if perms.contains(&AdminPermission::All) {
        return vec![AdminPermission::All];
    }
    let mut out = perms.to_vec();
    dedup_in_order(&mut out);
    out
}

fn dedup_in_order<T: PartialEq>(items: &mut Vec<T>) {
    let mut kept: Vec<T> = Vec::with_capacity(items.len());
    for item in items.drain(..) {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    *items = kept;
}

fn same_permissions(a: &[AdminPermission], b: &[AdminPermission]) -> bool {
    let set = |p: &[AdminPermission]| {
        normalise_permissions(p)
            .into_iter()
            .collect::<BTreeSet<_>>()
    };
    set(a) == set(b)
}

/// Copies `keys` of `from`'s filters into `to`'s, or removes them from `to`
/// when `from` has none.
fn carry_filters(to: &mut Admin, from: &Admin, keys: &[&str]) {
    for key in keys {
        match from.filters.other.get(*key) {
            Some(value) => to.filters.other.insert((*key).to_owned(), value.clone()),
            None => to.filters.other.remove(*key),
        };
    }
}

/// The refusals that protect an admin from locking itself out.
fn check_self_update(existing: &Admin, update: &Admin) -> Result<()> {
    if !same_permissions(&existing.permissions, &update.permissions) {
        return Err(Error::invalid("you cannot change your permissions"));
    }
    if update.status == UserStatus::Disabled {
        return Err(Error::invalid("you cannot disable yourself"));
    }
    Ok(())
}

#[async_trait]
impl<A: AdminRepository, H: PasswordHasher> AdminManagement for Admins<A, H> {
    async fn list_admins(&self, page: Page) -> Result<Vec<Admin>> {
        self.repo.list_admins(page).await
    }

    async fn get_admin(&self, username: &Username) -> Result<Admin> {
        self.repo.get_admin(username).await
    }

    async fn create_admin(&self, admin: &AdminContext, input: AdminInput) -> Result<Admin> {
        let mut new = input.admin;
        new.id = 0;
        new.password_hash = String::new();
        for key in PRIVATE_FILTER_KEYS {
            new.filters.other.remove(key);
        }
        new.created_at = self.clock.now_ms();
        new.last_login = 0;
        let new = self.prepare(new, input.password).await?;
        let created = self.repo.create_admin(&new).await?;
        tracing::info!(admin = %admin.username, created = %created.username, "admin created");
        Ok(created)
    }

    async fn update_admin(
        &self,
        admin: &AdminContext,
        username: &Username,
        input: AdminInput,
    ) -> Result<Admin> {
        let existing = self.repo.get_admin(username).await?;
        let mut update = input.admin;
        if admin.username == existing.username {
            check_self_update(&existing, &update)?;
            carry_filters(&mut update, &existing, &IMPOSED_FILTER_KEYS);
        }
        carry_filters(&mut update, &existing, &PRIVATE_FILTER_KEYS);
        update.id = existing.id;
        update.username = existing.username.clone();
        update.password_hash = existing.password_hash.clone();
        update.created_at = existing.created_at;
        update.last_login = existing.last_login;
        let update = self.prepare(update, input.password).await?;
        self.repo.update_admin(&update).await?;
        tracing::info!(admin = %admin.username, updated = %update.username, "admin updated");
        Ok(update)
    }

    async fn delete_admin(&self, admin: &AdminContext, username: &Username) -> Result<()> {
        if admin.username == *username {
            return Err(Error::invalid("you cannot delete yourself"));
        }
        self.repo.delete_admin(username).await?;
        tracing::info!(admin = %admin.username, deleted = %username, "admin deleted");
        Ok(())
    }

    async fn change_password(&self, admin: &AdminContext, current: &str, new: &str) -> Result<()> {
        if current.is_empty() || new.is_empty() {
            return Err(Error::invalid(
                "please provide the current password and the new one",
            ));
        }
        if current == new {
            return Err(Error::invalid(
                "the new password must be different from the current one",
            ));
        }
        let mut record = self.own_record(admin).await?;
        if !hashing::verify(&self.hasher, current, &record.password_hash).await {
            tracing::info!(admin = %admin.username, "password change refused: wrong current \
                password");
            return Err(Error::invalid("current password does not match"));
        }
        record.filters.other.remove("require_password_change");
        let record = self.prepare(record, Some(new.to_owned())).await?;
        self.repo.update_admin(&record).await?;
        tracing::info!(admin = %admin.username, "admin password changed");
        Ok(())
    }

    async fn get_profile(&self, admin: &AdminContext) -> Result<AdminProfile> {
        let record = self.own_record(admin).await?;
        let allow_api_key_auth = record
            .filters
            .other
            .get(API_KEY_AUTH_KEY)
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(AdminProfile {
            email: record.email,
            description: record.description,
            allow_api_key_auth,
        })
    }

    async fn update_profile(&self, admin: &AdminContext, profile: AdminProfile) -> Result<()> {
        let mut record = self.own_record(admin).await?;
        record.email = profile.email;
        record.description = profile.description;
        record.filters.other.insert(
            API_KEY_AUTH_KEY.to_owned(),
            Value::Bool(profile.allow_api_key_auth),
        );
        let record = self.prepare(record, None).await?;
        self.repo.update_admin(&record).await?;
        tracing::info!(admin = %admin.username, "admin profile updated");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AdminPermission::*;
    use ferry_domain::AdminFilters;
    use serde_json::json;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    /// Admins in a map; enough of the repository contract for these rules.
    #[derive(Default)]
    struct MapRepo(Mutex<BTreeMap<String, Admin>>);

    #[async_trait]
    impl AdminRepository for MapRepo {
        async fn list_admins(&self, _page: Page) -> Result<Vec<Admin>> {
            Ok(self.0.lock().unwrap().values().cloned().collect())
        }

        async fn get_admin(&self, username: &Username) -> Result<Admin> {
            let admins = self.0.lock().unwrap();
            admins
                .get(username.as_str())
                .cloned()
                .ok_or_else(|| Error::not_found("no such admin"))
        }

        async fn create_admin(&self, admin: &Admin) -> Result<Admin> {
            let mut admins = self.0.lock().unwrap();
            let stored = Admin {
                id: admins.len() as i64 + 1,
                ..admin.clone()
            };
            admins.insert(admin.username.to_string(), stored.clone());
            Ok(stored)
        }

        async fn update_admin(&self, admin: &Admin) -> Result<()> {
            let mut admins = self.0.lock().unwrap();
            admins.insert(admin.username.to_string(), admin.clone());
            Ok(())
        }

        async fn delete_admin(&self, username: &Username) -> Result<()> {
            self.0.lock().unwrap().remove(username.as_str());
            Ok(())
        }

        async fn count_admins(&self) -> Result<u64> {
            Ok(self.0.lock().unwrap().len() as u64)
        }

        async fn set_admin_last_login(&self, _username: &Username, _at_ms: i64) -> Result<()> {
            Ok(())
        }
    }

    /// "Hashes" as `$h$<password>`.
    struct PrefixHasher;

    impl PasswordHasher for PrefixHasher {
        fn hash(&self, password: &str) -> Result<String> {
            Ok(if self.is_hash(password) {
                password.to_owned()
            } else {
                format!("$h${password}")
            })
        }

        fn is_hash(&self, value: &str) -> bool {
            value.starts_with("$h$")
        }

        fn verify(&self, password: &str, stored: &str) -> Result<bool> {
            Ok(stored == format!("$h${password}"))
        }
    }

    struct FixedClock;

    impl Clock for FixedClock {
        fn now_ms(&self) -> i64 {
            1_000
        }
    }

    fn use_case() -> Admins<MapRepo, PrefixHasher> {
        Admins::new(
            Arc::new(MapRepo::default()),
            Arc::new(PrefixHasher),
            Arc::new(FixedClock),
        )
    }

    fn input(name: &str, perms: &[AdminPermission], filters: Value) -> AdminInput {
        let filters: AdminFilters = serde_json::from_value(filters).unwrap();
        AdminInput {
            admin: Admin {
                id: 0,
                status: UserStatus::Enabled,
                username: Username::parse(name).unwrap(),
                password_hash: String::new(),
                email: String::new(),
                description: String::new(),
                permissions: perms.to_vec(),
                filters,
                additional_info: String::new(),
                created_at: 0,
                updated_at: 0,
                last_login: 0,
            },
            password: Some("pw-1".into()),
        }
    }

    fn context(name: &str) -> AdminContext {
        AdminContext {
            username: Username::parse(name).unwrap(),
            permissions: vec![All],
            token_id: "t".into(),
            token_expires_at: 0,
        }
    }

    #[tokio::test]
    async fn updates_keep_what_only_other_apis_and_other_admins_set() {
        let admins = use_case();
        let root = context("root");
        let secrets = json!({"totp_config": {"enabled": true}, "recovery_codes": ["c"],
            "require_password_change": true});
        let mut created = input("ops", &[ViewUsers], secrets);
        created.password = Some("$h$already-hashed".into());
        let stored = admins.create_admin(&root, created).await.unwrap();
        assert!(
            !stored.filters.other.contains_key("totp_config"),
            "set on create"
        );
        assert_eq!(stored.password_hash, "$h$already-hashed");

        let name = Username::parse("ops").unwrap();
        let mut with_totp = admins.get_admin(&name).await.unwrap();
        with_totp
            .filters
            .other
            .insert("totp_config".into(), json!({"enabled": true}));
        admins.repo.update_admin(&with_totp).await.unwrap();

        let mut change = input(
            "ops",
            &[ViewUsers],
            json!({"require_password_change": false}),
        );
        change.password = None;
        let ops = context("ops");
        let updated = admins.update_admin(&ops, &name, change).await.unwrap();
        assert_eq!(
            updated.filters.other["totp_config"],
            json!({"enabled": true})
        );
        assert_eq!(
            updated.filters.other["require_password_change"],
            json!(true)
        );
        assert_eq!(updated.password_hash, "$h$already-hashed");

        admins
            .change_password(&ops, "already-hashed", "pw-2")
            .await
            .unwrap();
        let after = admins.get_admin(&name).await.unwrap();
        assert_eq!(after.password_hash, "$h$pw-2");
        assert!(!after.filters.other.contains_key("require_password_change"));
    }

    #[tokio::test]
    async fn the_self_protection_rules() {
        let admins = use_case();
        let root = context("root");
        admins
            .create_admin(&root, input("root", &[All], json!({})))
            .await
            .unwrap();
        let name = Username::parse("root").unwrap();
        let err = admins.delete_admin(&root, &name).await.unwrap_err();
        assert_eq!(err.message(), "you cannot delete yourself");
        let demote = input("root", &[ViewUsers], json!({}));
        let err = admins.update_admin(&root, &name, demote).await.unwrap_err();
        assert_eq!(err.message(), "you cannot change your permissions");
        let mut disable = input("root", &[All, ViewUsers], json!({}));
        disable.admin.status = UserStatus::Disabled;
        let err = admins
            .update_admin(&root, &name, disable)
            .await
            .unwrap_err();
        assert_eq!(err.message(), "you cannot disable yourself");
        let mut missing = input("other", &[ViewUsers], json!({}));
        missing.password = None;
        let err = admins.create_admin(&root, missing).await.unwrap_err();
        assert_eq!(err.message(), "please set a password");
    }

    #[test]
    fn star_stands_alone_and_duplicates_go() {
        assert_eq!(normalise_permissions(&[AddUsers, All, ViewUsers]), [All]);
        assert_eq!(
            normalise_permissions(&[ViewUsers, AddUsers, ViewUsers]),
            [ViewUsers, AddUsers]
        );
    }

    #[test]
    fn permission_sets_ignore_order_and_repeats() {
        assert!(same_permissions(
            &[AddUsers, ViewUsers],
            &[ViewUsers, AddUsers, AddUsers]
        ));
        assert!(same_permissions(&[All], &[All, ViewUsers]));
        assert!(!same_permissions(&[AddUsers], &[AddUsers, ViewUsers]));
        assert!(!same_permissions(&[All], &[ViewUsers]));
    }
}

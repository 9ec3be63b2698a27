//! An in-memory fake of the `AdminManagement` port: it stores what the API
//! hands it, so tests see exactly what the wire layer produced.

use async_trait::async_trait;
use ferry_domain::{Admin, Error, Result, Username};
use ferry_ports::inbound::{AdminInput, AdminManagement, AdminProfile};
use ferry_ports::{AdminContext, Page};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Admins kept in memory. Passwords are "hashed" as `$fake$<password>`.
#[derive(Default)]
pub struct FakeAdmins {
    admins: Mutex<BTreeMap<String, Admin>>,
    profiles: Mutex<BTreeMap<String, AdminProfile>>,
    /// Every `(admin, current, new)` given to `change_password`.
    pub password_changes: Mutex<Vec<(String, String, String)>>,
}

impl FakeAdmins {
    pub fn stored(&self, name: &str) -> Option<Admin> {
        self.admins.lock().unwrap().get(name).cloned()
    }
}

#[async_trait]
impl AdminManagement for FakeAdmins {
    async fn list_admins(&self, page: Page) -> Result<Vec<Admin>> {
        let admins = self.admins.lock().unwrap();
        Ok(admins
            .values()
            .skip(page.offset as usize)
            .take(page.limit as usize)
            .cloned()
            .collect())
    }

    async fn get_admin(&self, username: &Username) -> Result<Admin> {
        self.stored(username.as_str())
            .ok_or_else(|| Error::not_found("no such admin"))
    }

    async fn create_admin(&self, _admin: &AdminContext, input: AdminInput) -> Result<Admin> {
        let mut new = input.admin;
        let password = input
            .password
            .ok_or_else(|| Error::invalid("please set a password"))?;
        new.password_hash = format!("$fake${password}");
        new.validate()?;
        let mut admins = self.admins.lock().unwrap();
        if admins.contains_key(new.username.as_str()) {
            return Err(Error::conflict("the username is taken"));
        }
        new.id = admins.len() as i64 + 1;
        admins.insert(new.username.as_str().to_owned(), new.clone());
        Ok(new)
    }

    async fn update_admin(
        &self,
        _admin: &AdminContext,
        username: &Username,
        input: AdminInput,
    ) -> Result<Admin> {
        let mut admins = self.admins.lock().unwrap();
        let old = admins
            .get(username.as_str())
            .cloned()
            .ok_or_else(|| Error::not_found("no such admin"))?;
        let mut update = input.admin;
        update.id = old.id;
        update.password_hash = match input.password {
            Some(password) => format!("$fake${password}"),
            None => old.password_hash,
        };
        admins.insert(username.as_str().to_owned(), update.clone());
        Ok(update)
    }

    async fn delete_admin(&self, admin: &AdminContext, username: &Username) -> Result<()> {
        if admin.username == *username {
            return Err(Error::invalid("you cannot delete yourself"));
        }
        self.admins
            .lock()
            .unwrap()
            .remove(username.as_str())
            .map(|_| ())
            .ok_or_else(|| Error::not_found("no such admin"))
    }

    async fn change_password(&self, admin: &AdminContext, current: &str, new: &str) -> Result<()> {
        if current != "secret" {
            return Err(Error::invalid("current password does not match"));
        }
        let change = (
            admin.username.to_string(),
            current.to_owned(),
            new.to_owned(),
        );
        self.password_changes.lock().unwrap().push(change);
        Ok(())
    }

    async fn get_profile(&self, admin: &AdminContext) -> Result<AdminProfile> {
        let profiles = self.profiles.lock().unwrap();
        Ok(profiles
            .get(admin.username.as_str())
            .cloned()
            .unwrap_or_default())
    }

    async fn update_profile(&self, admin: &AdminContext, profile: AdminProfile) -> Result<()> {
        let mut profiles = self.profiles.lock().unwrap();
        profiles.insert(admin.username.to_string(), profile);
        Ok(())
    }
}

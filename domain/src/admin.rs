//! Administrators of the REST API and what each may do.

use crate::error::{Error, Result};
use crate::naming::Username;
use crate::user::UserStatus;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::net::IpAddr;
use std::str::FromStr;

/// One admin permission, spelt on the wire as SFTPGo spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AdminPermission {
    #[serde(rename = "*")]
    All,
    #[serde(rename = "add_users")]
    AddUsers,
    #[serde(rename = "edit_users")]
    EditUsers,
    #[serde(rename = "del_users")]
    DelUsers,
    #[serde(rename = "view_users")]
    ViewUsers,
    #[serde(rename = "view_conns")]
    ViewConns,
    #[serde(rename = "close_conns")]
    CloseConns,
    #[serde(rename = "view_status")]
    ViewStatus,
    #[serde(rename = "manage_folders")]
    ManageFolders,
    #[serde(rename = "manage_groups")]
    ManageGroups,
    #[serde(rename = "quota_scans")]
    QuotaScans,
    #[serde(rename = "manage_defender")]
    ManageDefender,
    #[serde(rename = "view_defender")]
    ViewDefender,
    #[serde(rename = "view_events")]
    ViewEvents,
    #[serde(rename = "disable_mfa")]
    DisableMfa,
}

impl AdminPermission {
    pub const ALL: [AdminPermission; 15] = [
        Self::All,
        Self::AddUsers,
        Self::EditUsers,
        Self::DelUsers,
        Self::ViewUsers,
        Self::ViewConns,
        Self::CloseConns,
        Self::ViewStatus,
        Self::ManageFolders,
        Self::ManageGroups,
        Self::QuotaScans,
        Self::ManageDefender,
        Self::ViewDefender,
        Self::ViewEvents,
        Self::DisableMfa,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "*",
            Self::AddUsers => "add_users",
            Self::EditUsers => "edit_users",
            Self::DelUsers => "del_users",
            Self::ViewUsers => "view_users",
            Self::ViewConns => "view_conns",
            Self::CloseConns => "close_conns",
            Self::ViewStatus => "view_status",
            Self::ManageFolders => "manage_folders",
            Self::ManageGroups => "manage_groups",
            Self::QuotaScans => "quota_scans",
            Self::ManageDefender => "manage_defender",
            Self::ViewDefender => "view_defender",
            Self::ViewEvents => "view_events",
            Self::DisableMfa => "disable_mfa",
        }
    }
}

impl FromStr for AdminPermission {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| Error::invalid(format!("invalid admin permission: {s:?}")))
    }
}

/// SFTPGo's admin `filters`: the allow list is typed, the rest kept as given.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AdminFilters {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_list: Vec<IpNet>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A REST API administrator. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Admin {
    pub id: i64,
    pub status: UserStatus,
    pub username: Username,
    pub password_hash: String,
    pub email: String,
    pub description: String,
    pub permissions: Vec<AdminPermission>,
    pub filters: AdminFilters,
    pub additional_info: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login: i64,
}

impl Admin {
    /// True when the admin holds `perm`, directly or through `*`.
    pub fn has_permission(&self, perm: AdminPermission) -> bool {
        self.permissions.contains(&AdminPermission::All) || self.permissions.contains(&perm)
    }

    /// True when `ip` may use this admin's credentials (empty list: anywhere).
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        self.filters.allow_list.is_empty()
            || self.filters.allow_list.iter().any(|n| n.contains(&ip))
    }

    pub fn validate(&self) -> Result<()> {
        if self.permissions.is_empty() {
            return Err(Error::invalid(
                "please grant some permissions to this admin",
            ));
        }
        Ok(())
    }
}

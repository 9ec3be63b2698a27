//! SFTPGo's `Admin`, `AdminProfile` and `PwdChange` objects (OpenAPI schemas
//! of the same names): what clients send and what the API answers.

use super::nullable;
use ferry_domain::{Admin, AdminFilters, AdminPermission, Error, Result, UserStatus, Username};
use ferry_ports::inbound::{AdminInput, AdminProfile};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::str::FromStr;

/// `filters` keys that only their own APIs may set (SFTPGo: "Recovery codes
/// and TOTP configuration cannot be set using this API"). They hold secrets,
/// so they are dropped from input and never shown.
const PRIVATE_FILTER_KEYS: [&str; 2] = ["totp_config", "recovery_codes"];

/// An admin as a client submits it. Fields the server manages (`id`,
/// `created_at`, `updated_at`, `last_login`) are not read.
// LIMITATION: `groups` and `role` are accepted and ignored: Ferry has no
// groups or roles yet, so every admin acts on every user.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AdminIn {
    /// SFTPGo has no default for `status`: omitted means 0, disabled.
    #[serde(deserialize_with = "nullable")]
    status: i64,
    #[serde(deserialize_with = "nullable")]
    username: String,
    /// Write-only. Empty means none (create: refused) or keep the current
    /// one (update).
    #[serde(deserialize_with = "nullable")]
    password: String,
    #[serde(deserialize_with = "nullable")]
    email: String,
    #[serde(deserialize_with = "nullable")]
    description: String,
    #[serde(deserialize_with = "nullable")]
    permissions: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    filters: Map<String, Value>,
    #[serde(deserialize_with = "nullable")]
    additional_info: String,
}

impl AdminIn {
    /// The admin for `POST /admins`. Checks the name, status, permissions
    /// and allow list; the core checks the rest.
    pub fn try_into_domain(self) -> Result<AdminInput> {
        let admin = Admin {
            id: 0,
            status: UserStatus::from_code(self.status)?,
            username: Username::parse(&self.username)?,
            password_hash: String::new(),
            email: self.email,
            description: self.description,
            permissions: permissions_from_wire(&self.permissions)?,
            filters: filters_from_wire(self.filters)?,
            additional_info: self.additional_info,
            created_at: 0,
            updated_at: 0,
            last_login: 0,
        };
        let password = Some(self.password).filter(|p| !p.is_empty());
        Ok(AdminInput { admin, password })
    }

    /// The admin for `PUT /admins/{username}`: the path names the admin, a
    /// username in the body is ignored, as SFTPGo does.
    pub fn try_into_update(mut self, username: &Username) -> Result<AdminInput> {
        self.username = username.as_str().to_owned();
        self.try_into_domain()
    }
}

fn permissions_from_wire(names: &[String]) -> Result<Vec<AdminPermission>> {
    names.iter().map(|name| name.parse()).collect()
}

/// `filters` with a typed, validated `allow_list`; every other key is kept
/// as given, except the private ones and nulls.
fn filters_from_wire(mut raw: Map<String, Value>) -> Result<AdminFilters> {
    raw.retain(|key, value| !value.is_null() && !PRIVATE_FILTER_KEYS.contains(&key.as_str()));
    let allow_list = match raw.remove("allow_list") {
        None => Vec::new(),
        Some(Value::Array(entries)) => entries
            .iter()
            .map(allow_list_entry)
            .collect::<Result<_>>()?,
        Some(other) => {
            return Err(Error::invalid(format!(
                "filters.allow_list must be a list of CIDR networks, not {other}"
            )));
        }
    };
    Ok(AdminFilters {
        allow_list,
        other: raw,
    })
}

fn allow_list_entry(entry: &Value) -> Result<IpNet> {
    entry
        .as_str()
        .and_then(|s| IpNet::from_str(s.trim()).ok())
        .ok_or_else(|| {
            Error::invalid(format!(
                "could not parse allow list entry {entry}: it must be a CIDR network such as \
                 \"192.0.2.0/24\""
            ))
        })
}

/// An admin as the API shows it: never its password or private filters.
#[derive(Debug, Serialize)]
pub(crate) struct AdminOut<'a> {
    id: i64,
    status: i64,
    username: &'a str,
    email: &'a str,
    description: &'a str,
    permissions: &'a [AdminPermission],
    filters: AdminFilters,
    additional_info: &'a str,
    created_at: i64,
    updated_at: i64,
    last_login: i64,
}

impl<'a> AdminOut<'a> {
    pub fn from_domain(admin: &'a Admin) -> Self {
        let mut filters = admin.filters.clone();
        filters
            .other
            .retain(|key, _| !PRIVATE_FILTER_KEYS.contains(&key.as_str()));
        Self {
            id: admin.id,
            status: admin.status.code(),
            username: admin.username.as_str(),
            email: &admin.email,
            description: &admin.description,
            permissions: &admin.permissions,
            filters,
            additional_info: &admin.additional_info,
            created_at: admin.created_at,
            updated_at: admin.updated_at,
            last_login: admin.last_login,
        }
    }
}

/// SFTPGo's `AdminProfile`, both ways; omitted fields are cleared, as
/// SFTPGo does.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ProfileWire {
    #[serde(deserialize_with = "nullable")]
    email: String,
    #[serde(deserialize_with = "nullable")]
    description: String,
    #[serde(deserialize_with = "nullable")]
    allow_api_key_auth: bool,
}

impl ProfileWire {
    pub fn from_domain(profile: AdminProfile) -> Self {
        Self {
            email: profile.email,
            description: profile.description,
            allow_api_key_auth: profile.allow_api_key_auth,
        }
    }

    pub fn into_domain(self) -> AdminProfile {
        AdminProfile {
            email: self.email,
            description: self.description,
            allow_api_key_auth: self.allow_api_key_auth,
        }
    }
}

/// SFTPGo's `PwdChange`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PwdChangeIn {
    #[serde(deserialize_with = "nullable")]
    pub current_password: String,
    #[serde(deserialize_with = "nullable")]
    pub new_password: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_domain::ErrorKind;
    use serde_json::json;

    fn parse(body: Value) -> Result<AdminInput> {
        serde_json::from_value::<AdminIn>(body)
            .map_err(|e| Error::invalid(e.to_string()))?
            .try_into_domain()
    }

    fn minimal() -> Value {
        json!({"username": "ops", "password": "Ops-pass-1", "permissions": ["view_users"]})
    }

    #[test]
    fn every_sftpgo_permission_is_accepted() {
        let names: Vec<&str> = AdminPermission::ALL.iter().map(|p| p.as_str()).collect();
        let mut body = minimal();
        body["permissions"] = json!(names);
        let input = parse(body).unwrap();
        assert_eq!(input.admin.permissions, AdminPermission::ALL);
    }

    #[test]
    fn filters_keep_unknown_keys_and_drop_private_ones() {
        let mut body = minimal();
        body["filters"] = json!({"allow_list": ["10.0.0.0/8", "2001:db8::/32"],
            "allow_api_key_auth": true, "preferences": {"hide_user_page_sections": 3},
            "totp_config": {"secret": {"payload": "s"}}, "recovery_codes": [], "x": null});
        body["id"] = json!(9);
        body["created_at"] = json!("junk");
        let input = parse(body).unwrap();
        let filters = input.admin.filters;
        assert_eq!(filters.allow_list.len(), 2);
        let keys: Vec<&str> = filters.other.keys().map(String::as_str).collect();
        assert_eq!(keys, ["allow_api_key_auth", "preferences"]);
        assert_eq!(input.admin.id, 0);
        assert_eq!(input.password.as_deref(), Some("Ops-pass-1"));
    }

    #[test]
    fn invalid_values_are_refused_with_their_name() {
        let cases = [
            (json!({"username": "a b"}), "username"),
            (json!({"status": 3}), "status"),
            (
                json!({"permissions": ["view_users", "manage_admins"]}),
                "manage_admins",
            ),
            (json!({"filters": {"allow_list": ["10.0.0.1"]}}), "10.0.0.1"),
            (
                json!({"filters": {"allow_list": ["10.0.0.0/40"]}}),
                "10.0.0.0/40",
            ),
            (json!({"filters": {"allow_list": [7]}}), "7"),
            (
                json!({"filters": {"allow_list": "10.0.0.0/8"}}),
                "allow_list",
            ),
        ];
        for (patch, needle) in cases {
            let mut body = minimal();
            for (key, value) in patch.as_object().unwrap() {
                body[key] = value.clone();
            }
            let err = parse(body).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(
                err.message().contains(needle),
                "{needle}: {}",
                err.message()
            );
        }
    }

    #[test]
    fn update_keeps_the_path_username() {
        let ops = Username::parse("ops").unwrap();
        let body = json!({"username": "other", "permissions": ["*"]});
        let input = serde_json::from_value::<AdminIn>(body).unwrap();
        let input = input.try_into_update(&ops).unwrap();
        assert_eq!(input.admin.username, ops);
        assert_eq!(input.password, None);
    }

    #[test]
    fn output_hides_the_password_and_private_filters() {
        let mut admin = parse(minimal()).unwrap().admin;
        admin.password_hash = "$argon2id$v=19$...".into();
        admin
            .filters
            .other
            .insert("totp_config".into(), json!({"secret": "s"}));
        let out = serde_json::to_value(AdminOut::from_domain(&admin)).unwrap();
        assert!(out.get("password").is_none());
        let text = out.to_string();
        assert!(
            !text.contains("argon2") && !text.contains("totp_config"),
            "{text}"
        );
        assert_eq!(out["permissions"], json!(["view_users"]));
        assert_eq!(out["status"], json!(0));
    }

    #[test]
    fn profile_and_password_change_bodies() {
        let profile: ProfileWire = serde_json::from_value(json!({"email": null})).unwrap();
        assert_eq!(profile.into_domain(), AdminProfile::default());
        let pwd: PwdChangeIn =
            serde_json::from_value(json!({"current_password": "a", "new_password": "b"})).unwrap();
        assert_eq!(
            (pwd.current_password.as_str(), pwd.new_password.as_str()),
            ("a", "b")
        );
    }
}

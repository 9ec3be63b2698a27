//! SFTPGo's backup document (OpenAPI schema `BackupData`), the format of
//! `dumpdata` and `loaddata`: `users`, `folders`, `groups`, `admins`,
//! `api_keys`, `shares`, `event_actions`, `event_rules`, `roles`,
//! `ip_lists`, `configs` and `version`.
//!
//! Folders, users and admins are read and written with the API's own shapes
//! plus, for users and admins, what only a backup carries: the stored password hash in `password`, the
//! usage counters and times, and the private `filters` keys.

use super::admin::{AdminIn, AdminOut};
use super::folder::{FolderIn, FolderOut};
use super::user::{UserIn, UserOut};
use ferry_domain::{Error, Folder, Result};
use ferry_ports::{BackupAdmin, BackupData, BackupUser};
use serde_json::{Map, Value, json};

/// The document version Ferry writes: SFTPGo's current dump format.
pub const DUMP_VERSION: i64 = 17;

/// `filters` keys the API neither takes nor shows but a backup keeps.
const PRIVATE_FILTER_KEYS: [&str; 2] = ["totp_config", "recovery_codes"];

/// Sections of the document Ferry does not restore. Objects in them are
/// skipped and the restore says so.
// LIMITATION: groups, roles, API keys, shares, event actions and rules, IP
// lists and configs are not restored (nor dumped: their sections are written
// empty), as Ferry has none of them yet.
const UNSUPPORTED_SECTIONS: [&str; 8] = [
    "groups",
    "roles",
    "api_keys",
    "shares",
    "event_actions",
    "event_rules",
    "ip_lists",
    "configs",
];

/// The user fields the server manages, which a backup carries.
const USER_HISTORY: [&str; 6] = [
    "used_quota_size",
    "used_quota_files",
    "last_quota_update",
    "created_at",
    "updated_at",
    "last_login",
];

/// The admin fields the server manages, which a backup carries.
const ADMIN_HISTORY: [&str; 3] = ["created_at", "updated_at", "last_login"];

/// Reads a backup document. The error names the object at fault:
/// `user "alice": ...`, or `users[3]: ...` when it has no usable name.
pub fn parse(bytes: &[u8]) -> Result<BackupData> {
    let document: Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::invalid(format!("the backup is not valid JSON: {e}")))?;
    let Value::Object(mut document) = document else {
        return Err(Error::invalid("the backup must be a JSON object"));
    };
    let version = parse_version(document.get("version"))?;
    let folders = section(&mut document, "folders")?
        .into_iter()
        .enumerate()
        .map(|(i, value)| parse_folder(i, value))
        .collect::<Result<_>>()?;
    let users = section(&mut document, "users")?
        .into_iter()
        .enumerate()
        .map(|(i, value)| parse_user(i, value))
        .collect::<Result<_>>()?;
    let admins = section(&mut document, "admins")?
        .into_iter()
        .enumerate()
        .map(|(i, value)| parse_admin(i, value))
        .collect::<Result<_>>()?;
    let skipped_sections = UNSUPPORTED_SECTIONS
        .iter()
        .filter(|key| document.get(**key).is_some_and(holds_objects))
        .map(|key| (*key).to_owned())
        .collect();
    Ok(BackupData {
        folders,
        users,
        admins,
        skipped_sections,
        version,
    })
}

fn parse_version(value: Option<&Value>) -> Result<i64> {
    let version = match value {
        None | Some(Value::Null) => 0,
        Some(value) => value
            .as_i64()
            .ok_or_else(|| Error::invalid(format!("invalid backup version {value}")))?,
    };
    if version > DUMP_VERSION {
        return Err(Error::invalid(format!(
            "backup version {version} is newer than the versions this server reads \
             (up to {DUMP_VERSION})"
        )));
    }
    Ok(version)
}

/// The array under `key`; absent or `null` is empty.
fn section(document: &mut Map<String, Value>, key: &str) -> Result<Vec<Value>> {
    match document.remove(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(Error::invalid(format!("{key} must be a list"))),
    }
}

fn holds_objects(value: &Value) -> bool {
    match value {
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
        _ => false,
    }
}

/// How an error about the `i`th object of `section` names it.
fn object_name(kind: &str, section: &str, i: usize, value: &Value) -> String {
    let key = if kind == "folder" { "name" } else { "username" };
    match value.get(key).and_then(Value::as_str) {
        Some(name) if !name.is_empty() => format!("{kind} {name:?}"),
        _ => format!("{section}[{i}]"),
    }
}

fn named(what: &str, e: impl std::fmt::Display) -> Error {
    Error::invalid(format!("{what}: {e}"))
}

/// A folder; its usage and `users` are the server's to fill in.
fn parse_folder(i: usize, value: Value) -> Result<Folder> {
    let what = object_name("folder", "folders", i, &value);
    if !value.is_object() {
        return Err(named(&what, "must be a JSON object"));
    }
    let input: FolderIn = serde_json::from_value(value).map_err(|e| named(&what, e))?;
    input
        .try_into_domain()
        .map_err(|e| named(&what, e.message()))
}

fn parse_user(i: usize, mut value: Value) -> Result<BackupUser> {
    let what = object_name("user", "users", i, &value);
    let Value::Object(object) = &mut value else {
        return Err(named(&what, "must be a JSON object"));
    };
    let private = take_private_filters(object);
    let history = take_numbers(object, &USER_HISTORY).map_err(|e| named(&what, e))?;
    let input: UserIn = serde_json::from_value(value).map_err(|e| named(&what, e))?;
    let input = input
        .try_into_domain()
        .map_err(|e| named(&what, e.message()))?;
    let mut user = input.user;
    user.filters.other.extend(private);
    let field = |name: &str| history.get(name).copied().unwrap_or(0);
    user.used_quota_size = field("used_quota_size");
    user.used_quota_files = field("used_quota_files");
    user.last_quota_update = field("last_quota_update");
    user.created_at = field("created_at");
    user.updated_at = field("updated_at");
    user.last_login = field("last_login");
    Ok(BackupUser {
        user,
        password: input.password,
    })
}

fn parse_admin(i: usize, mut value: Value) -> Result<BackupAdmin> {
    let what = object_name("admin", "admins", i, &value);
    let Value::Object(object) = &mut value else {
        return Err(named(&what, "must be a JSON object"));
    };
    let private = take_private_filters(object);
    let history = take_numbers(object, &ADMIN_HISTORY).map_err(|e| named(&what, e))?;
    let input: AdminIn = serde_json::from_value(value).map_err(|e| named(&what, e))?;
    let input = input
        .try_into_domain()
        .map_err(|e| named(&what, e.message()))?;
    let mut admin = input.admin;
    admin.filters.other.extend(private);
    let field = |name: &str| history.get(name).copied().unwrap_or(0);
    admin.created_at = field("created_at");
    admin.updated_at = field("updated_at");
    admin.last_login = field("last_login");
    Ok(BackupAdmin {
        admin,
        password: input.password,
    })
}

/// Removes the private keys from `object.filters` and returns them.
fn take_private_filters(object: &mut Map<String, Value>) -> Map<String, Value> {
    let mut taken = Map::new();
    if let Some(Value::Object(filters)) = object.get_mut("filters") {
        for key in PRIVATE_FILTER_KEYS {
            if let Some(value) = filters.remove(key).filter(|v| !v.is_null()) {
                taken.insert(key.to_owned(), value);
            }
        }
    }
    taken
}

/// Removes the integer fields `names` from `object`; absent or `null` is 0.
fn take_numbers(
    object: &mut Map<String, Value>,
    names: &[&str],
) -> std::result::Result<std::collections::HashMap<String, i64>, String> {
    let mut out = std::collections::HashMap::new();
    for name in names {
        match object.remove(*name) {
            None | Some(Value::Null) => {}
            Some(value) => {
                let number = value
                    .as_i64()
                    .ok_or_else(|| format!("{name} must be an integer, not {value}"))?;
                out.insert((*name).to_owned(), number);
            }
        }
    }
    Ok(out)
}

/// Writes a backup document: every section SFTPGo's loader reads, Ferry's
/// unsupported ones empty. `configs` is left out rather than sent empty, so
/// that loading the document into SFTPGo leaves its settings alone.
pub fn render(data: &BackupData, indent: bool) -> Result<Vec<u8>> {
    let folders: Vec<Value> = data.folders.iter().map(folder_out).collect::<Result<_>>()?;
    let users: Vec<Value> = data.users.iter().map(user_out).collect::<Result<_>>()?;
    let admins: Vec<Value> = data.admins.iter().map(admin_out).collect::<Result<_>>()?;
    let document = json!({
        "users": users,
        "folders": folders,
        "groups": [],
        "admins": admins,
        "api_keys": [],
        "shares": [],
        "event_actions": [],
        "event_rules": [],
        "roles": [],
        "ip_lists": [],
        "version": DUMP_VERSION,
    });
    let written = if indent {
        serde_json::to_vec_pretty(&document)
    } else {
        serde_json::to_vec(&document)
    };
    written.map_err(Error::internal)
}

/// A folder as the API shows it, with its filesystem as stored: secrets
/// sealed, so that this server (with the same master key) can restore them.
fn folder_out(folder: &Folder) -> Result<Value> {
    let mut value =
        serde_json::to_value(FolderOut::from_domain(folder)).map_err(Error::internal)?;
    value["filesystem"] = serde_json::to_value(&folder.filesystem).map_err(Error::internal)?;
    Ok(value)
}

fn user_out(entry: &BackupUser) -> Result<Value> {
    let mut value =
        serde_json::to_value(UserOut::from_domain(&entry.user)).map_err(Error::internal)?;
    value["filesystem"] = serde_json::to_value(&entry.user.filesystem).map_err(Error::internal)?;
    add_private(
        &mut value,
        &entry.user.filters.other,
        entry.password.as_deref(),
    );
    Ok(value)
}

fn admin_out(entry: &BackupAdmin) -> Result<Value> {
    let mut value =
        serde_json::to_value(AdminOut::from_domain(&entry.admin)).map_err(Error::internal)?;
    add_private(
        &mut value,
        &entry.admin.filters.other,
        entry.password.as_deref(),
    );
    Ok(value)
}

/// Puts back what the API hides: the password hash and private filters.
fn add_private(value: &mut Value, filters: &Map<String, Value>, password: Option<&str>) {
    let Value::Object(object) = value else {
        return;
    };
    if let Some(password) = password.filter(|p| !p.is_empty()) {
        object.insert("password".to_owned(), json!(password));
    }
    let private: Vec<_> = PRIVATE_FILTER_KEYS
        .iter()
        .filter_map(|key| filters.get(*key).map(|v| ((*key).to_owned(), v.clone())))
        .collect();
    if private.is_empty() {
        return;
    }
    let entry = object
        .entry("filters")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(shown) = entry {
        shown.extend(private);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_domain::ErrorKind;

    fn user(name: &str) -> Value {
        json!({"username": name, "status": 1, "home_dir": format!("/srv/{name}"),
            "permissions": {"/": ["*"]}, "password": "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuR",
            "used_quota_size": 12, "created_at": 34, "last_login": 56,
            "filters": {"totp_config": {"enabled": true, "secret": {"status": "Plain",
                "payload": "JBSWY3DPEHPK3PXP"}}, "web_client": ["mfa-disabled"]}})
    }

    fn parse_value(value: Value) -> Result<BackupData> {
        parse(value.to_string().as_bytes())
    }

    #[test]
    fn users_keep_their_hash_history_and_private_filters() {
        let data = parse_value(json!({"users": [user("alice")], "version": 16})).unwrap();
        assert_eq!(data.version, 16);
        let entry = &data.users[0];
        assert_eq!(
            entry.password.as_deref(),
            Some("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuR")
        );
        assert_eq!(entry.user.used_quota_size, 12);
        assert_eq!(entry.user.created_at, 34);
        assert_eq!(entry.user.last_login, 56);
        assert!(entry.user.filters.other.contains_key("totp_config"));

        let rendered = render(&data, false).unwrap();
        let back: Value = serde_json::from_slice(&rendered).unwrap();
        let out = &back["users"][0];
        assert_eq!(out["password"], "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuR");
        assert_eq!(
            out["filters"]["totp_config"]["secret"]["payload"],
            "JBSWY3DPEHPK3PXP"
        );
        assert_eq!(out["created_at"], 34);
        assert_eq!(back["version"], DUMP_VERSION);
        assert!(back.get("configs").is_none(), "configs is left out");
    }

    #[test]
    fn non_empty_unsupported_sections_are_reported() {
        let data = parse_value(json!({
            "users": null, "groups": [{"name": "g"}], "folders": [], "configs": {},
            "ip_lists": [{"ipornet": "10.0.0.0/8"}], "shares": null,
        }))
        .unwrap();
        assert_eq!(data.skipped_sections, ["groups", "ip_lists"]);
        assert!(data.users.is_empty());
    }

    #[test]
    fn errors_name_the_object_at_fault() {
        let mut bad = user("bob");
        bad["status"] = json!(9);
        let cases = [
            (json!({"users": [user("alice"), bad]}), "user \"bob\""),
            (json!({"users": [user("alice"), 7]}), "users[1]"),
            (
                json!({"users": [{"username": "", "status": 1}]}),
                "users[0]",
            ),
            (
                json!({"admins": [{"username": "root", "permissions": ["nope"]}]}),
                "admin \"root\"",
            ),
            (
                json!({"users": [{"username": "c", "created_at": "yesterday"}]}),
                "user \"c\": created_at",
            ),
            (json!({"users": {"alice": {}}}), "users must be a list"),
            (json!({"version": 18}), "newer"),
            (json!({"version": "x"}), "version"),
            (json!([1, 2]), "JSON object"),
        ];
        for (document, needle) in cases {
            let err = parse_value(document).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(
                err.message().contains(needle),
                "{needle}: {}",
                err.message()
            );
        }
        let err = parse(b"{\"users\": [").unwrap_err();
        assert!(
            err.message().contains("not valid JSON"),
            "{}",
            err.message()
        );
    }
}

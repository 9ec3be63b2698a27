//! What the GCS and Azure back ends add to the contract: refused
//! credentials reach a client without leaks, the key prefix is a jail on
//! every store (S3 on moto included), and an upload dropped before its
//! close leaves nothing.

mod contract;
mod objects;

use contract::{list, read_options, vp, write_file};
use ferry_domain::ErrorKind;
use ferry_ports::{FileKind, Storage};
use ferry_storage::{AzureSettings, ObjectStorage};
use ferry_test_servers::Azurite;
use objects::{
    PREFIX, azure_fixture, azure_settings, gcs_fixture, gcs_settings, moto_fixture, moto_settings,
};
use std::time::Duration;

/// Alice's file is out of reach from Bob's home and visible from the bucket's root.
async fn prefixes_are_jails(alice: &dyn Storage, bob: &dyn Storage, whole: &dyn Storage) {
    write_file(alice, "/mine", b"alice's").await;
    bob.ensure_root().await.unwrap();
    assert!(list(bob, "/").await.unwrap().is_empty());
    for escape in ["/../alice/mine", "/../../homes/alice/mine"] {
        let opened = bob.open(&vp(escape), read_options()).await;
        let error = opened.err().expect("a path outside the home is missing");
        assert_eq!(error.kind(), ErrorKind::NotFound, "{escape}");
    }
    assert_eq!(list(whole, "/homes").await.unwrap(), ["alice", "bob"]);
    let through = contract::read_file(whole, "/homes/alice/mine").await;
    assert_eq!(through.unwrap(), b"alice's");
}

#[tokio::test]
async fn the_key_prefix_is_a_jail_on_s3() {
    let fixture = moto_fixture().await;
    let bob = ObjectStorage::s3(&moto_settings(&fixture.server, "homes/bob")).unwrap();
    let whole = ObjectStorage::s3(&moto_settings(&fixture.server, "")).unwrap();
    prefixes_are_jails(&fixture.storage, &bob, &whole).await;
}

#[tokio::test]
async fn the_key_prefix_is_a_jail_on_gcs() {
    let fixture = gcs_fixture().await;
    let bob = ObjectStorage::gcs(&gcs_settings(&fixture.server, "homes/bob")).unwrap();
    let whole = ObjectStorage::gcs(&gcs_settings(&fixture.server, "")).unwrap();
    prefixes_are_jails(&fixture.storage, &bob, &whole).await;
}

#[tokio::test]
async fn the_key_prefix_is_a_jail_on_azure() {
    let fixture = azure_fixture().await;
    let bob = ObjectStorage::azure(&azure_settings(&fixture.server, "homes/bob")).unwrap();
    let whole = ObjectStorage::azure(&azure_settings(&fixture.server, "")).unwrap();
    prefixes_are_jails(&fixture.storage, &bob, &whole).await;
}

#[tokio::test]
async fn a_wrong_azure_key_is_refused_without_leaks() {
    let fixture = azure_fixture().await;
    // Valid base64, but not the account's key.
    let wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ==";
    let settings = AzureSettings {
        account_key: wrong.into(),
        ..azure_settings(&fixture.server, PREFIX)
    };
    let storage = ObjectStorage::azure(&settings).unwrap();
    let error = storage.stat(&vp("/anything")).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error}");
    let text = error.to_string();
    for secret in [wrong, fixture.server.endpoint.as_str(), PREFIX] {
        assert!(!text.contains(secret), "leaks {secret}: {text}");
    }
}

/// A SAS URL is a credential of its own: files, and the `<dir>/` markers
/// signed apart from object_store's client, both go through with it.
#[tokio::test]
async fn a_sas_url_reaches_files_and_markers_on_azure() {
    let container = Azurite::shared().container();
    let settings = AzureSettings {
        sas_url: container.sas_url(),
        key_prefix: PREFIX.into(),
        max_retries: 1,
        request_timeout: Duration::from_secs(30),
        ..AzureSettings::default()
    };
    let storage = ObjectStorage::azure(&settings).unwrap();
    storage.ensure_root().await.unwrap();
    storage.create_dir(&vp("/d"), None).await.unwrap();
    let marker = format!("{PREFIX}/d/");
    assert!(container.has_blob(&marker), "mkdir wrote no {marker}");
    write_file(&storage, "/d/f", b"through a SAS").await;
    assert_eq!(list(&storage, "/d").await.unwrap(), ["f"]);
    let read = contract::read_file(&storage, "/d/f").await.unwrap();
    assert_eq!(read, b"through a SAS");
    // Files are not removed here: Azurite answers 500 to object_store's
    // batch delete under a SAS. A marker goes with a plain DELETE.
    storage.create_dir(&vp("/g"), None).await.unwrap();
    assert_eq!(storage.stat(&vp("/g")).await.unwrap().kind, FileKind::Dir);
    storage.remove_dir(&vp("/g")).await.unwrap();
    let gone = format!("{PREFIX}/g/");
    assert!(!container.has_blob(&gone), "rmdir left {gone}");
    let error = storage.stat(&vp("/g")).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);

    // A token whose signature was tampered with lets nothing through.
    let forged = settings.sas_url.replace("sig=", "sig=AA");
    let signature = forged.split("sig=").nth(1).unwrap().to_owned();
    let storage = ObjectStorage::azure(&AzureSettings {
        sas_url: forged,
        ..settings
    })
    .unwrap();
    let error = storage.create_dir(&vp("/e"), None).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error}");
    assert!(!error.to_string().contains(&signature), "leaks: {error}");
    assert!(!container.has_blob(&format!("{PREFIX}/e/")));
}

#[tokio::test]
async fn an_unreachable_gcs_endpoint_is_unavailable() {
    let fixture = gcs_fixture().await;
    let mut settings = gcs_settings(&fixture.server, PREFIX);
    // Port 1 on loopback: nothing listens there.
    settings.credentials_json = ferry_test_servers::gcs_service_account_json("http://127.0.0.1:1");
    settings.max_retries = 0;
    let storage = ObjectStorage::gcs(&settings).unwrap();
    let error = storage.stat(&vp("/f")).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
    assert!(!error.to_string().contains("127.0.0.1:1"), "{error}");
}

#[tokio::test]
async fn a_dropped_gcs_upload_is_aborted() {
    let fixture = gcs_fixture().await;
    let s = contract::Fixture::subject(&fixture);
    let large = s
        .open(&vp("/large"), contract::create_options())
        .await
        .unwrap();
    let size = 12 * 1024 * 1024;
    let data = bytes::Bytes::from(contract::pattern(0, size));
    large.write_at(0, data).await.unwrap();
    assert!(fixture.server.open_uploads() > 0, "no upload started");
    drop(large);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while fixture.server.open_uploads() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the upload was not aborted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    s.fails(s.stat(&vp("/large")).await, ErrorKind::NotFound);
    assert!(list(s.storage, "/").await.unwrap().is_empty());
}

/// A marker written into a container that is not there fails: the home's
/// root is not reported as made when it was not.
#[tokio::test]
async fn a_home_in_a_missing_azure_container_is_not_made() {
    let fixture = azure_fixture().await;
    let settings = AzureSettings {
        container: format!("{}-gone", fixture.server.container),
        ..azure_settings(&fixture.server, PREFIX)
    };
    let storage = ObjectStorage::azure(&settings).unwrap();
    let made = storage.ensure_root().await;
    assert!(
        made.is_err(),
        "a root marker in a missing container was made"
    );
}

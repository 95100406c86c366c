//! Conformance checks of the `WebauthnStore`: credentials unique across
//! users, removal and use by their owner only, and ceremonies that are
//! taken at most once, by their own user, before they expire.

use std::sync::Arc;

use sharepay_server::store::StoreError;
use sharepay_server::store::webauthn::{CeremonyTaken, WebauthnCeremonyRow, WebauthnCredentialRow};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::identity::stored_user;
use super::now_seconds;
use crate::support::TestBackend;

fn credential(user_id: Uuid, credential_id: &[u8]) -> WebauthnCredentialRow {
    WebauthnCredentialRow {
        id: Uuid::now_v7(),
        user_id,
        credential_id: credential_id.to_vec(),
        kind: "passkey".to_owned(),
        credential: r#"{"cred":"opaque to the store"}"#.to_owned(),
        name: "Blue key'); DROP TABLE users; --".to_owned(),
        created_at: now_seconds(),
        last_used_at: None,
    }
}

fn ceremony(user_id: Uuid, kind: &str, expires_at: OffsetDateTime) -> WebauthnCeremonyRow {
    WebauthnCeremonyRow {
        id: Uuid::now_v7(),
        user_id,
        kind: kind.to_owned(),
        state: r#"{"kind":"passkey","state":{}}"#.to_owned(),
        expires_at,
    }
}

pub async fn webauthn_credentials_round_trip(backend: &TestBackend) {
    let store = &backend.data.store;
    let user = stored_user(backend, 200).await;
    let other = stored_user(backend, 201).await;
    let first = credential(user, b"credential-1");
    store
        .insert_webauthn_credential(first.clone())
        .await
        .expect("insert");

    let listed = store.list_webauthn_credentials(user).await.expect("list");
    assert_eq!(listed, vec![first.clone()]);
    let taken = store
        .insert_webauthn_credential(credential(other, b"credential-1"))
        .await;
    assert!(
        matches!(taken, Err(StoreError::Duplicate("credential id"))),
        "{taken:?}"
    );

    let used_at = now_seconds() + Duration::seconds(5);
    let by_other = store
        .record_webauthn_use(other, first.id, "{}", used_at)
        .await
        .expect("use by another user");
    assert!(!by_other);
    let used = store
        .record_webauthn_use(user, first.id, r#"{"counter":7}"#, used_at)
        .await
        .expect("use");
    assert!(used);
    let listed = store.list_webauthn_credentials(user).await.expect("list");
    assert_eq!(listed[0].credential, r#"{"counter":7}"#);
    assert_eq!(listed[0].last_used_at, Some(used_at));

    let removed_by_other = store
        .delete_webauthn_credential(other, first.id)
        .await
        .expect("delete by another user");
    assert!(!removed_by_other);
    let removed = store
        .delete_webauthn_credential(user, first.id)
        .await
        .expect("delete");
    assert!(removed);
    assert!(
        store
            .list_webauthn_credentials(user)
            .await
            .expect("list")
            .is_empty()
    );
}

pub async fn webauthn_ceremony_taken_once(backend: &TestBackend) {
    let store = Arc::clone(&backend.data.store);
    let user = stored_user(backend, 210).await;
    let other = stored_user(backend, 211).await;
    let now = now_seconds();
    let open = ceremony(user, "authentication", now + Duration::minutes(5));
    store
        .insert_ceremony(open.clone(), 5, now)
        .await
        .expect("insert");

    let by_other = store
        .take_ceremony(open.id, other, "authentication", now)
        .await
        .expect("take as another user");
    assert_eq!(by_other, CeremonyTaken::Mismatch);
    let wrong_kind = store
        .take_ceremony(open.id, user, "registration", now)
        .await
        .expect("take as another kind");
    assert_eq!(wrong_kind, CeremonyTaken::Mismatch);

    let takes = (0..4).map(|_| {
        let store = Arc::clone(&store);
        let id = open.id;
        tokio::spawn(async move { store.take_ceremony(id, user, "authentication", now).await })
    });
    let mut taken = 0;
    let mut not_found = 0;
    for take in takes {
        match take.await.expect("task").expect("take") {
            CeremonyTaken::Taken(row) => {
                assert_eq!(row, open);
                taken += 1;
            }
            CeremonyTaken::NotFound => not_found += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(taken, 1, "exactly one take wins");
    assert_eq!(not_found, 3);
}

pub async fn webauthn_ceremony_expiry_and_limit(backend: &TestBackend) {
    let store = &backend.data.store;
    let user = stored_user(backend, 220).await;
    let now = now_seconds();
    let expired = ceremony(user, "registration", now + Duration::seconds(1));
    store
        .insert_ceremony(expired.clone(), 5, now)
        .await
        .expect("insert");
    let later = now + Duration::seconds(2);
    let outcome = store
        .take_ceremony(expired.id, user, "registration", later)
        .await
        .expect("take");
    assert_eq!(outcome, CeremonyTaken::Expired);
    let again = store
        .take_ceremony(expired.id, user, "registration", later)
        .await
        .expect("take again");
    assert_eq!(
        again,
        CeremonyTaken::NotFound,
        "an expired take deletes the row"
    );

    // Three open ceremonies with a limit of 2: the oldest is dropped.
    let mut ceremonies = Vec::new();
    for _ in 0..3 {
        let row = ceremony(user, "authentication", now + Duration::minutes(5));
        store
            .insert_ceremony(row.clone(), 2, now)
            .await
            .expect("insert");
        ceremonies.push(row);
    }
    let oldest = store
        .take_ceremony(ceremonies[0].id, user, "authentication", now)
        .await
        .expect("take oldest");
    assert_eq!(oldest, CeremonyTaken::NotFound);
    for row in &ceremonies[1..] {
        let outcome = store
            .take_ceremony(row.id, user, "authentication", now)
            .await
            .expect("take");
        assert_eq!(outcome, CeremonyTaken::Taken(row.clone()));
    }
}

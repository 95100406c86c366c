//! Conformance checks of the `SecurityStore`: security events with their
//! filters and paging, account locks, and service credentials.

use sharepay_server::security::kind;
use sharepay_server::security::rules::payment_change_event;
use sharepay_server::store::StoreError;
use sharepay_server::store::security::{
    CredentialKind, SecurityEventQuery, SecurityEventRow, ServiceCredentialRow,
};
use time::Duration;
use uuid::Uuid;

use super::identity::stored_user;
use super::{HOSTILE_STRINGS, now_seconds};
use crate::support::TestBackend;

fn event(user_id: Option<Uuid>, kind: &str, severity: &str, age_seconds: i64) -> SecurityEventRow {
    SecurityEventRow {
        id: Uuid::now_v7(),
        user_id,
        kind: kind.to_owned(),
        severity: severity.to_owned(),
        details: r#"{"failures":3}"#.to_owned(),
        client_address: Some("192.0.2.7".to_owned()),
        created_at: now_seconds() - Duration::seconds(age_seconds),
        reviewed: false,
    }
}

fn credential(kind: CredentialKind, lookup_id: &str, name: &str) -> ServiceCredentialRow {
    ServiceCredentialRow {
        id: Uuid::now_v7(),
        kind,
        name: name.to_owned(),
        lookup_id: lookup_id.to_owned(),
        secret_hash: [9; 32],
        scopes: vec!["audit:read".to_owned(), "security-events:read".to_owned()],
        created_by: None,
        created_at: now_seconds(),
        revoked_at: None,
    }
}

pub async fn security_events_filter_and_page(backend: &TestBackend) {
    let store = &backend.data.security;
    let user = stored_user(backend, 90).await;
    let first = event(Some(user), kind::LOGIN_FAILURE_BURST, "high", 0);
    let second = event(None, kind::CREDENTIAL_STUFFING, "high", 0);
    let third = event(Some(user), kind::PIN_FAILURE, "medium", 0);
    for row in [&first, &second, &third] {
        store
            .insert_security_event(row.clone())
            .await
            .expect("insert");
    }

    let all = store
        .list_security_events(SecurityEventQuery {
            limit: 10,
            ..SecurityEventQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(all, vec![first.clone(), second.clone(), third.clone()]);
    let by_user = store
        .list_security_events(SecurityEventQuery {
            user_id: Some(user),
            limit: 10,
            ..SecurityEventQuery::default()
        })
        .await
        .expect("list by user");
    assert_eq!(by_user, vec![first.clone(), third.clone()]);
    let high = store
        .list_security_events(SecurityEventQuery {
            severity: Some("high".to_owned()),
            limit: 10,
            ..SecurityEventQuery::default()
        })
        .await
        .expect("list high");
    assert_eq!(high, vec![first.clone(), second.clone()]);
    let page = store
        .list_security_events(SecurityEventQuery {
            after: Some(first.id),
            limit: 1,
            ..SecurityEventQuery::default()
        })
        .await
        .expect("second page");
    assert_eq!(page, vec![second]);
}

pub async fn account_lock_and_unlock(backend: &TestBackend) {
    let store = &backend.data.security;
    let user = stored_user(backend, 91).await;
    let cause = event(Some(user), kind::LOGIN_FAILURE_BURST, "high", 0);
    store
        .insert_security_event(cause.clone())
        .await
        .expect("insert");
    assert_eq!(store.account_lock(user).await.expect("read"), None);

    let now = now_seconds();
    assert!(store.lock_account(user, cause.id, now).await.expect("lock"));
    assert!(
        !store
            .lock_account(user, cause.id, now)
            .await
            .expect("relock")
    );
    assert_eq!(
        store.account_lock(user).await.expect("read"),
        Some(cause.id)
    );

    let outcome = store.unlock_account(user).await.expect("unlock");
    assert!(outcome.was_locked);
    assert_eq!(outcome.reviewed_events, 1);
    assert_eq!(store.account_lock(user).await.expect("read"), None);
    let again = store.unlock_account(user).await.expect("unlock again");
    assert!(!again.was_locked);
    assert_eq!(again.reviewed_events, 0);
    let listed = store
        .list_security_events(SecurityEventQuery {
            user_id: Some(user),
            limit: 10,
            ..SecurityEventQuery::default()
        })
        .await
        .expect("list");
    assert!(listed[0].reviewed);
}

pub async fn payment_change_after_new_device(backend: &TestBackend) {
    let store = backend.data.security.as_ref();
    let recent = stored_user(backend, 92).await;
    let stale = stored_user(backend, 93).await;
    let none = stored_user(backend, 94).await;
    store
        .insert_security_event(event(Some(recent), kind::NEW_DEVICE, "medium", 60))
        .await
        .expect("insert recent");
    store
        .insert_security_event(event(Some(stale), kind::NEW_DEVICE, "medium", 7200))
        .await
        .expect("insert stale");
    let now = now_seconds();

    let raised = payment_change_event(store, recent, None, 3600, now)
        .await
        .expect("check recent")
        .expect("a new device a minute ago holds the change");
    assert_eq!(raised.event.kind, kind::NEW_DEVICE_PAYMENT_CHANGE);
    assert_eq!(
        raised.event.severity,
        sharepay_server::security::Severity::Medium
    );
    assert_eq!(raised.event.user_id, Some(recent));
    // The event was stored a moment before `now`, up to a second earlier.
    let expected = now - Duration::seconds(60) + Duration::seconds(3600);
    assert!(raised.allowed_at <= expected, "{}", raised.allowed_at);
    assert!(
        raised.allowed_at >= expected - Duration::seconds(1),
        "{}",
        raised.allowed_at
    );
    let other_device = payment_change_event(store, recent, Some("older-phone"), 3600, now)
        .await
        .expect("check another device");
    assert!(other_device.is_none());
    let stale_event = payment_change_event(store, stale, None, 3600, now)
        .await
        .expect("check stale");
    assert!(stale_event.is_none());
    let no_event = payment_change_event(store, none, None, 3600, now)
        .await
        .expect("check none");
    assert!(no_event.is_none());
}

pub async fn service_credentials_round_trip(backend: &TestBackend) {
    let store = &backend.data.security;
    let key = credential(CredentialKind::ApiKey, "0a1b2c3d", HOSTILE_STRINGS[0]);
    let client = credential(
        CredentialKind::OAuthClient,
        "spc_00112233",
        HOSTILE_STRINGS[6],
    );
    store
        .insert_service_credential(key.clone())
        .await
        .expect("insert key");
    store
        .insert_service_credential(client.clone())
        .await
        .expect("insert client");

    let found = store
        .find_service_credential(CredentialKind::ApiKey, "0a1b2c3d")
        .await
        .expect("find");
    assert_eq!(found, Some(key.clone()));
    let wrong_kind = store
        .find_service_credential(CredentialKind::OAuthClient, "0a1b2c3d")
        .await
        .expect("find other kind");
    assert_eq!(wrong_kind, None);
    let duplicate = credential(CredentialKind::OAuthClient, "0a1b2c3d", "other");
    let error = store
        .insert_service_credential(duplicate)
        .await
        .expect_err("a taken lookup id must be rejected");
    assert!(matches!(error, StoreError::Duplicate(_)), "{error:?}");
    let listed = store
        .list_service_credentials(CredentialKind::OAuthClient)
        .await
        .expect("list");
    assert_eq!(listed, vec![client.clone()]);

    let now = now_seconds();
    assert!(
        store
            .revoke_service_credential(CredentialKind::ApiKey, key.id, now)
            .await
            .expect("revoke")
    );
    assert!(
        !store
            .revoke_service_credential(CredentialKind::ApiKey, key.id, now)
            .await
            .expect("revoke twice")
    );
    assert!(
        !store
            .revoke_service_credential(CredentialKind::ApiKey, client.id, now)
            .await
            .expect("revoke with the wrong kind")
    );
    let revoked = store
        .find_service_credential(CredentialKind::ApiKey, "0a1b2c3d")
        .await
        .expect("find revoked")
        .expect("still stored");
    assert_eq!(revoked.revoked_at, Some(now));
}

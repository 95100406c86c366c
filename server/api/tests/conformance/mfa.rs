//! Conformance checks of the `MfaStore`: one-time codes under parallel
//! attempts, TOTP step replay, recovery codes, login challenges, known
//! devices with their sessions, and the notification outbox.

use std::sync::Arc;

use sharepay_server::store::identity::SessionRow;
use sharepay_server::store::mfa::{
    ChallengeRow, CodeCheck, CodeRow, DeviceRow, MfaRow, MfaStore, OutboxRow,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{now_seconds, user_row};
use crate::support::TestBackend;

async fn stored_user(backend: &TestBackend, index_byte: u8) -> Uuid {
    let user = user_row("v1:mfa", index_byte);
    let id = user.id;
    backend
        .data
        .store
        .insert_user(user)
        .await
        .expect("insert user");
    id
}

fn code(user_id: Uuid, hash_byte: u8, expires_in: Duration) -> CodeRow {
    CodeRow {
        user_id,
        purpose: "email_verification".to_owned(),
        code_hash: [hash_byte; 32],
        expires_at: now_seconds() + expires_in,
    }
}

async fn check(store: &dyn MfaStore, user_id: Uuid, hash_byte: u8) -> CodeCheck {
    store
        .check_code(
            user_id,
            "email_verification",
            [hash_byte; 32],
            OffsetDateTime::now_utc(),
            5,
        )
        .await
        .expect("check code")
}

pub async fn parallel_code_attempts_all_count(backend: &TestBackend) {
    let store: Arc<dyn MfaStore> = Arc::clone(&backend.data.mfa);
    let user = stored_user(backend, 120).await;
    store
        .put_code(code(user, 1, Duration::minutes(10)))
        .await
        .expect("put code");

    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(
            async move { check(store.as_ref(), user, 2).await },
        ));
    }
    let mut wrong = 0;
    let mut locked = 0;
    for task in tasks {
        match task.await.expect("task") {
            CodeCheck::Wrong { .. } => wrong += 1,
            CodeCheck::Locked => locked += 1,
            other => panic!("unexpected {other:?}"),
        }
    }

    assert_eq!(wrong, 5, "five wrong attempts are counted");
    assert_eq!(locked, 3, "later attempts find the code locked");
    assert_eq!(check(store.as_ref(), user, 1).await, CodeCheck::Locked);
}

pub async fn parallel_code_use_accepts_once(backend: &TestBackend) {
    let store: Arc<dyn MfaStore> = Arc::clone(&backend.data.mfa);
    let user = stored_user(backend, 121).await;
    store
        .put_code(code(user, 3, Duration::minutes(10)))
        .await
        .expect("put code");

    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(
            async move { check(store.as_ref(), user, 3).await },
        ));
    }
    let mut accepted = 0;
    for task in tasks {
        match task.await.expect("task") {
            CodeCheck::Accepted => accepted += 1,
            CodeCheck::Missing => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    assert_eq!(accepted, 1, "a code is used once");
}

pub async fn code_expires_and_new_code_resets(backend: &TestBackend) {
    let store = backend.data.mfa.as_ref();
    let user = stored_user(backend, 122).await;
    store
        .put_code(code(user, 4, Duration::seconds(-1)))
        .await
        .expect("put expired code");

    assert_eq!(check(store, user, 4).await, CodeCheck::Expired);
    assert_eq!(check(store, user, 9).await, CodeCheck::Expired);
    store
        .put_code(code(user, 5, Duration::minutes(10)))
        .await
        .expect("replace code");
    assert_eq!(
        check(store, user, 4).await,
        CodeCheck::Wrong { attempts_left: 4 }
    );
    assert_eq!(check(store, user, 5).await, CodeCheck::Accepted);
    assert_eq!(check(store, user, 5).await, CodeCheck::Missing);
}

pub async fn mfa_state_and_totp_steps(backend: &TestBackend) {
    let store = backend.data.mfa.as_ref();
    let user = stored_user(backend, 123).await;
    assert!(store.mfa_state(user).await.expect("load").is_none());
    let row = MfaRow {
        user_id: user,
        email_verified_at: Some(now_seconds()),
        pending_email_ciphertext: Some("v1:pending".to_owned()),
        totp_secret_ciphertext: Some("v1:secret".to_owned()),
        totp_enabled_at: Some(now_seconds()),
        totp_last_step: None,
        phone_ciphertext: None,
        phone_verified_at: None,
        pending_phone_ciphertext: Some("v1:phone".to_owned()),
    };
    store.save_mfa_state(row.clone()).await.expect("save");
    assert_eq!(
        store.mfa_state(user).await.expect("load"),
        Some(row.clone())
    );

    assert!(store.claim_totp_step(user, 100).await.expect("claim"));
    assert!(!store.claim_totp_step(user, 100).await.expect("replay"));
    assert!(!store.claim_totp_step(user, 99).await.expect("older step"));
    assert!(store.claim_totp_step(user, 101).await.expect("next step"));
    store.save_mfa_state(row).await.expect("save again");
    let loaded = store.mfa_state(user).await.expect("load").expect("row");
    assert_eq!(
        loaded.totp_last_step,
        Some(101),
        "saving keeps the last step"
    );
}

pub async fn recovery_codes_work_once(backend: &TestBackend) {
    let store = backend.data.mfa.as_ref();
    let user = stored_user(backend, 124).await;
    let now = OffsetDateTime::now_utc();
    store
        .replace_recovery_codes(user, vec![[1; 32], [2; 32]])
        .await
        .expect("store codes");

    assert!(
        store
            .use_recovery_code(user, [1; 32], now)
            .await
            .expect("use")
    );
    assert!(
        !store
            .use_recovery_code(user, [1; 32], now)
            .await
            .expect("reuse")
    );
    assert!(
        !store
            .use_recovery_code(user, [3; 32], now)
            .await
            .expect("unknown")
    );
    assert_eq!(store.unused_recovery_codes(user).await.expect("count"), 1);
    store
        .replace_recovery_codes(user, Vec::new())
        .await
        .expect("delete codes");
    assert_eq!(store.unused_recovery_codes(user).await.expect("count"), 0);
}

pub async fn challenge_completes_once(backend: &TestBackend) {
    let store = backend.data.mfa.as_ref();
    let user = stored_user(backend, 125).await;
    let challenge = ChallengeRow {
        id: Uuid::now_v7(),
        token_hash: [7; 32],
        user_id: user,
        device_fingerprint: Some("device-z".to_owned()),
        ip_address: Some("127.0.0.1".to_owned()),
        user_agent: None,
        methods: vec!["totp".to_owned(), "recovery_code".to_owned()],
        expires_at: now_seconds() + Duration::minutes(5),
        failures: 0,
        completed_at: None,
    };
    store
        .insert_challenge(challenge.clone())
        .await
        .expect("insert");

    let found = store.find_challenge([7; 32]).await.expect("find");
    assert_eq!(found, Some(challenge.clone()));
    assert!(store.find_challenge([8; 32]).await.expect("find").is_none());
    assert_eq!(
        store
            .record_challenge_failure(challenge.id)
            .await
            .expect("fail"),
        1
    );
    assert_eq!(
        store
            .record_challenge_failure(challenge.id)
            .await
            .expect("fail"),
        2
    );
    let now = OffsetDateTime::now_utc();
    assert!(
        store
            .complete_challenge(challenge.id, now)
            .await
            .expect("complete")
    );
    assert!(
        !store
            .complete_challenge(challenge.id, now)
            .await
            .expect("again")
    );
}

pub async fn device_revoke_ends_its_sessions(backend: &TestBackend) {
    let store = backend.data.mfa.as_ref();
    let user = stored_user(backend, 126).await;
    for (hash, device) in [(31u8, "device-a"), (32, "device-a"), (33, "device-b")] {
        let created = now_seconds();
        backend
            .data
            .identity
            .create_session(
                SessionRow {
                    id: Uuid::now_v7(),
                    user_id: user,
                    refresh_token_hash: [hash; 32],
                    device_fingerprint: Some(device.to_owned()),
                    ip_address: None,
                    user_agent: None,
                    created_at: created,
                    last_seen_at: created,
                    expires_at: created + Duration::days(1),
                },
                10,
            )
            .await
            .expect("create session");
    }
    let device = DeviceRow {
        id: Uuid::now_v7(),
        user_id: user,
        fingerprint: "device-a".to_owned(),
        first_seen_at: now_seconds(),
        last_seen_at: now_seconds(),
        user_agent: Some("phone/1".to_owned()),
        revoked_at: None,
    };
    let device_id = store
        .remember_device(device.clone())
        .await
        .expect("remember");
    let again = DeviceRow {
        id: Uuid::now_v7(),
        ..device
    };
    assert_eq!(
        store.remember_device(again).await.expect("remember again"),
        device_id
    );
    assert_eq!(store.count_devices(user).await.expect("count"), 1);
    let later = now_seconds() + Duration::hours(1);
    store
        .touch_device(user, "device-a", later)
        .await
        .expect("touch");
    let touched = store
        .find_device(user, "device-a")
        .await
        .expect("find")
        .expect("device");
    assert_eq!(touched.last_seen_at, later);

    let ended = store
        .revoke_device(user, device_id, OffsetDateTime::now_utc())
        .await
        .expect("revoke");
    assert_eq!(ended, Some(2));
    let left = backend
        .data
        .identity
        .list_sessions(user)
        .await
        .expect("list");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].device_fingerprint.as_deref(), Some("device-b"));
    let revoked = store
        .find_device(user, "device-a")
        .await
        .expect("find")
        .expect("device");
    assert!(revoked.revoked_at.is_some());
    store
        .touch_device(user, "device-a", later + Duration::hours(1))
        .await
        .expect("touch a revoked device");
    let unchanged = store
        .find_device(user, "device-a")
        .await
        .expect("find")
        .expect("device");
    assert_eq!(
        unchanged.last_seen_at, later,
        "a revoked device is not touched"
    );
    let other_user = stored_user(backend, 127).await;
    assert_eq!(
        store
            .revoke_device(other_user, device_id, OffsetDateTime::now_utc())
            .await
            .expect("revoke"),
        None,
        "another user's device is not found"
    );
}

fn message(created_offset_seconds: i64) -> OutboxRow {
    let created = now_seconds() + Duration::seconds(created_offset_seconds);
    OutboxRow {
        id: Uuid::now_v7(),
        kind: "email_verification".to_owned(),
        channel: "email".to_owned(),
        recipient_ciphertext: "v1:recipient".to_owned(),
        subject: "Subject".to_owned(),
        body_ciphertext: "v1:body".to_owned(),
        attempts: 0,
        next_attempt_at: created,
        sent_at: None,
        created_at: created,
    }
}

pub async fn outbox_claims_lease_messages(backend: &TestBackend) {
    let store = backend.data.mfa.as_ref();
    let first = message(-2);
    let second = message(-1);
    store
        .enqueue_notification(first.clone())
        .await
        .expect("enqueue");
    store
        .enqueue_notification(second.clone())
        .await
        .expect("enqueue");
    let now = OffsetDateTime::now_utc();
    let lease = now + Duration::minutes(2);

    let claimed = store
        .claim_notifications(now, lease, 10)
        .await
        .expect("claim");
    let ids: Vec<Uuid> = claimed.iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![first.id, second.id]);
    assert!(
        store
            .claim_notifications(now, lease, 10)
            .await
            .expect("claim")
            .is_empty()
    );

    store
        .mark_notification_failed(
            first.id,
            1,
            Some(now - Duration::seconds(1)),
            "timed out".to_owned(),
            now,
        )
        .await
        .expect("mark failed");
    store
        .mark_notification_sent(second.id, 1, now)
        .await
        .expect("mark sent");
    let retried = store
        .claim_notifications(now, lease, 10)
        .await
        .expect("claim");
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].id, first.id);
    assert_eq!(retried[0].attempts, 1);

    store
        .mark_notification_failed(first.id, 2, None, "rejected".to_owned(), now)
        .await
        .expect("give up");
    let later = now + Duration::hours(1);
    assert!(
        store
            .claim_notifications(later, later + Duration::minutes(2), 10)
            .await
            .expect("claim")
            .is_empty(),
        "a given-up message is not claimed again"
    );
}

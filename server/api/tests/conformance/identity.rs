//! Conformance checks of the `IdentityStore`: session limits, refresh
//! token rotation, reuse detection, revocation and system roles.

use std::sync::Arc;

use sharepay_server::store::identity::{
    IdentityStore, ROLE_ADMIN, RefreshOutcome, RefreshRequestRow, SessionRow,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{now_seconds, user_row};
use crate::support::TestBackend;

pub(super) async fn stored_user(backend: &TestBackend, index_byte: u8) -> Uuid {
    let user = user_row("v1:identity", index_byte);
    let id = user.id;
    backend
        .data
        .store
        .insert_user(user)
        .await
        .expect("insert user");
    id
}

fn session(user_id: Uuid, hash_byte: u8, created_offset_seconds: i64) -> SessionRow {
    let created = now_seconds() + time::Duration::seconds(created_offset_seconds);
    SessionRow {
        id: Uuid::now_v7(),
        user_id,
        refresh_token_hash: [hash_byte; 32],
        device_fingerprint: Some("device-a".to_owned()),
        ip_address: Some("127.0.0.1".to_owned()),
        user_agent: Some("conformance/1.0".to_owned()),
        created_at: created,
        last_seen_at: created,
        expires_at: created + time::Duration::days(30),
    }
}

fn rotation(presented: u8, replacement: u8) -> RefreshRequestRow {
    RefreshRequestRow {
        presented_hash: [presented; 32],
        replacement_hash: [replacement; 32],
        device_fingerprint: Some("device-a".to_owned()),
        ip_address: Some("127.0.0.2".to_owned()),
        user_agent: Some("conformance/1.1".to_owned()),
        now: OffsetDateTime::now_utc(),
    }
}

pub async fn session_limit_evicts_oldest(backend: &TestBackend) {
    let identity = &backend.data.identity;
    let user = stored_user(backend, 40).await;
    let mut ids = Vec::new();
    for index in 0..3u8 {
        let row = session(user, 41 + index, i64::from(index));
        ids.push(row.id);
        let evicted = identity.create_session(row, 3).await.expect("create");
        assert!(evicted.is_empty(), "below the limit nothing is evicted");
    }

    let newest = session(user, 45, 10);
    let evicted = identity
        .create_session(newest.clone(), 3)
        .await
        .expect("create");

    assert_eq!(evicted, vec![ids[0]]);
    let remaining: Vec<Uuid> = identity
        .list_sessions(user)
        .await
        .expect("list")
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(remaining, vec![ids[1], ids[2], newest.id]);
}

pub async fn session_rows_round_trip(backend: &TestBackend) {
    let identity = &backend.data.identity;
    let user = stored_user(backend, 50).await;
    let row = session(user, 51, 0);

    identity
        .create_session(row.clone(), 5)
        .await
        .expect("create");

    let listed = identity.list_sessions(user).await.expect("list");
    assert_eq!(listed, vec![row.clone()]);
    let found = backend.data.store.find_session(row.id).await.expect("find");
    assert_eq!(found.map(|s| s.user_id), Some(user));
}

pub async fn refresh_rotation_replaces_token(backend: &TestBackend) {
    let identity = &backend.data.identity;
    let user = stored_user(backend, 60).await;
    let row = session(user, 61, 0);
    identity
        .create_session(row.clone(), 5)
        .await
        .expect("create");

    let outcome = identity
        .rotate_refresh_token(rotation(61, 62))
        .await
        .expect("rotate");

    let RefreshOutcome::Rotated(rotated) = outcome else {
        panic!("expected a rotation, got {outcome:?}");
    };
    assert_eq!(rotated.id, row.id);
    assert_eq!(rotated.refresh_token_hash, [62; 32]);
    let listed = identity.list_sessions(user).await.expect("list");
    assert_eq!(listed[0].refresh_token_hash, [62; 32]);
    assert_eq!(listed[0].ip_address.as_deref(), Some("127.0.0.2"));
    let next = identity
        .rotate_refresh_token(rotation(62, 63))
        .await
        .expect("rotate again");
    assert!(matches!(next, RefreshOutcome::Rotated(_)), "{next:?}");
}

pub async fn reused_refresh_revokes_family(backend: &TestBackend) {
    let identity = &backend.data.identity;
    let user = stored_user(backend, 70).await;
    let row = session(user, 71, 0);
    identity
        .create_session(row.clone(), 5)
        .await
        .expect("create");
    identity
        .rotate_refresh_token(rotation(71, 72))
        .await
        .expect("rotate");

    let reuse = identity
        .rotate_refresh_token(rotation(71, 73))
        .await
        .expect("reuse");

    assert_eq!(
        reuse,
        RefreshOutcome::Reused {
            session_id: row.id,
            user_id: user
        }
    );
    assert!(identity.list_sessions(user).await.expect("list").is_empty());
    let current = identity
        .rotate_refresh_token(rotation(72, 74))
        .await
        .expect("the newest token of the family");
    assert!(
        !matches!(current, RefreshOutcome::Rotated(_)),
        "the family's newest token must stop working too: {current:?}"
    );
}

pub async fn parallel_refreshes_rotate_once(backend: &TestBackend) {
    let identity: Arc<dyn IdentityStore> = Arc::clone(&backend.data.identity);
    let user = stored_user(backend, 80).await;
    identity
        .create_session(session(user, 81, 0), 5)
        .await
        .expect("create");

    let mut tasks = Vec::new();
    for replacement in 0..8u8 {
        let identity = Arc::clone(&identity);
        tasks.push(tokio::spawn(async move {
            identity
                .rotate_refresh_token(rotation(81, 100 + replacement))
                .await
                .expect("rotate")
        }));
    }
    let mut rotated = 0;
    for task in tasks {
        if matches!(task.await.expect("task"), RefreshOutcome::Rotated(_)) {
            rotated += 1;
        }
    }

    assert_eq!(rotated, 1, "exactly one of the parallel refreshes may win");
}

pub async fn refresh_checks_device_and_expiry(backend: &TestBackend) {
    let identity = &backend.data.identity;
    let user = stored_user(backend, 90).await;
    let mut expired = session(user, 91, 0);
    expired.expires_at = now_seconds() - time::Duration::seconds(5);
    identity
        .create_session(expired.clone(), 5)
        .await
        .expect("create");
    let other_device = session(user, 92, 1);
    identity
        .create_session(other_device.clone(), 5)
        .await
        .expect("create");

    let outcome = identity
        .rotate_refresh_token(rotation(91, 93))
        .await
        .expect("rotate expired");
    let mut from_elsewhere = rotation(92, 94);
    from_elsewhere.device_fingerprint = Some("device-b".to_owned());
    let mismatch = identity
        .rotate_refresh_token(from_elsewhere)
        .await
        .expect("rotate from another device");
    let unknown = identity
        .rotate_refresh_token(rotation(99, 95))
        .await
        .expect("rotate unknown");

    assert_eq!(
        outcome,
        RefreshOutcome::Expired {
            session_id: expired.id
        }
    );
    assert_eq!(
        mismatch,
        RefreshOutcome::DeviceMismatch {
            session_id: other_device.id,
            user_id: user
        }
    );
    assert_eq!(unknown, RefreshOutcome::Unknown);
    let listed = identity.list_sessions(user).await.expect("list");
    assert_eq!(listed.len(), 1, "the expired session is gone");
    assert_eq!(listed[0].refresh_token_hash, [92; 32]);
}

pub async fn revoke_sessions_keeps_current(backend: &TestBackend) {
    let identity = &backend.data.identity;
    let user = stored_user(backend, 110).await;
    let other_user = stored_user(backend, 111).await;
    let keep = session(user, 112, 0);
    identity
        .create_session(keep.clone(), 5)
        .await
        .expect("create");
    identity
        .create_session(session(user, 113, 1), 5)
        .await
        .expect("create");
    let foreign = session(other_user, 114, 0);
    identity
        .create_session(foreign.clone(), 5)
        .await
        .expect("create");

    let not_own = identity
        .revoke_session(user, foreign.id)
        .await
        .expect("revoke");
    let others = identity
        .revoke_sessions_except(user, Some(keep.id))
        .await
        .expect("revoke others");

    assert!(!not_own, "a user cannot end another user's session");
    assert_eq!(others, 1);
    assert_eq!(identity.list_sessions(user).await.expect("list").len(), 1);
    assert_eq!(
        identity
            .revoke_sessions_except(other_user, None)
            .await
            .expect("revoke all"),
        1
    );
}

pub async fn system_roles_round_trip(backend: &TestBackend) {
    let identity = &backend.data.identity;
    let user = stored_user(backend, 120).await;

    assert!(identity.system_roles(user).await.expect("roles").is_empty());
    assert!(
        identity
            .grant_system_role(user, ROLE_ADMIN)
            .await
            .expect("grant")
    );
    assert!(
        identity
            .grant_system_role(user, ROLE_ADMIN)
            .await
            .expect("grant again")
    );
    let unknown = identity
        .grant_system_role(Uuid::now_v7(), ROLE_ADMIN)
        .await
        .expect("grant to nobody");

    assert_eq!(
        identity.system_roles(user).await.expect("roles"),
        vec![ROLE_ADMIN.to_owned()]
    );
    assert!(!unknown);
}

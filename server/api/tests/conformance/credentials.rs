//! Conformance checks of the `CredentialStore`: password history, rehash
//! compare-and-swap and atomic login failure counters.

use std::sync::Arc;

use sharepay_server::store::credentials::PasswordRow;
use sharepay_server::store::identity::IdentityStore;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::user_row;
use crate::support::TestBackend;

fn password(name: &str, pepper_version: u32) -> PasswordRow {
    PasswordRow {
        phc: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA${name}"),
        pepper_version,
    }
}

async fn user_with_password(backend: &TestBackend, index_byte: u8) -> (Uuid, PasswordRow) {
    let user = user_row("v1:credentials", index_byte);
    let current = PasswordRow {
        phc: user.password_hash.clone(),
        pepper_version: 1,
    };
    let id = user.id;
    backend
        .data
        .store
        .insert_user(user)
        .await
        .expect("insert user");
    (id, current)
}

pub async fn password_history_keeps_newest(backend: &TestBackend) {
    let identity = &backend.data.identity;
    let (user, mut current) = user_with_password(backend, 130).await;
    let now = OffsetDateTime::now_utc();
    for index in 0..6 {
        let next = password(&format!("p{index}"), 1);
        let changed = identity
            .change_password(user, &current, &next, 4, now)
            .await
            .expect("change");
        assert!(changed, "change {index}");
        current = next;
    }

    let recent = identity.recent_passwords(user, 5).await.expect("recent");

    let names: Vec<&str> = recent
        .iter()
        .map(|row| row.phc.rsplit('$').next().expect("name"))
        .collect();
    assert_eq!(names, vec!["p5", "p4", "p3", "p2", "p1"]);
    let all = identity.recent_passwords(user, 50).await.expect("all");
    assert_eq!(all.len(), 5, "the history keeps only 4 earlier hashes");
    assert!(
        identity
            .recent_passwords(Uuid::now_v7(), 5)
            .await
            .expect("unknown")
            .is_empty()
    );
}

pub async fn stale_password_change_is_rejected(backend: &TestBackend) {
    let identity = &backend.data.identity;
    let (user, current) = user_with_password(backend, 131).await;
    let first = password("first", 1);
    identity
        .change_password(user, &current, &first, 4, OffsetDateTime::now_utc())
        .await
        .expect("change");

    let stale_change = identity
        .change_password(
            user,
            &current,
            &password("second", 1),
            4,
            OffsetDateTime::now_utc(),
        )
        .await
        .expect("stale change");
    let stale_rehash = identity
        .rehash_password(user, &current, &password("rehash", 2))
        .await
        .expect("stale rehash");
    let rehash = identity
        .rehash_password(user, &first, &password("rehash", 2))
        .await
        .expect("rehash");

    assert!(!stale_change);
    assert!(!stale_rehash);
    assert!(rehash);
    let recent = identity.recent_passwords(user, 5).await.expect("recent");
    assert_eq!(recent[0], password("rehash", 2));
    assert_eq!(recent.len(), 2, "a rehash adds no history entry");
}

pub async fn parallel_login_failures_all_count(backend: &TestBackend) {
    let identity: Arc<dyn IdentityStore> = Arc::clone(&backend.data.identity);
    let now = OffsetDateTime::now_utc();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let identity = Arc::clone(&identity);
        tasks.push(tokio::spawn(async move {
            identity
                .record_login_failure("email:parallel", now, now - Duration::hours(1))
                .await
                .expect("record")
        }));
    }
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.expect("task"));
    }
    counts.sort_unstable();

    assert_eq!(counts, (1..=20).collect::<Vec<u32>>());
    let throttle = identity
        .login_throttle("email:parallel")
        .await
        .expect("read")
        .expect("a counter");
    assert_eq!(throttle.failures, 20);
}

pub async fn login_lock_and_window(backend: &TestBackend) {
    let identity = &backend.data.identity;
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("whole");
    identity
        .record_login_failure(
            "address:192.0.2.1",
            now - Duration::hours(2),
            now - Duration::hours(3),
        )
        .await
        .expect("old failure");

    let restarted = identity
        .record_login_failure("address:192.0.2.1", now, now - Duration::hours(1))
        .await
        .expect("new failure");
    identity
        .lock_login("address:192.0.2.1", now + Duration::minutes(5))
        .await
        .expect("lock");
    identity
        .lock_login("address:192.0.2.1", now + Duration::minutes(1))
        .await
        .expect("shorter lock");
    let locked = identity
        .login_throttle("address:192.0.2.1")
        .await
        .expect("read")
        .expect("a counter");
    identity
        .clear_login_failures("address:192.0.2.1")
        .await
        .expect("clear");

    assert_eq!(restarted, 1, "a failure outside the window starts again");
    assert_eq!(locked.locked_until, Some(now + Duration::minutes(5)));
    assert!(
        identity
            .login_throttle("address:192.0.2.1")
            .await
            .expect("read")
            .is_none()
    );
}

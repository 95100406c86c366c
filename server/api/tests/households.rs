//! Households on both storage backends: creation, invitations (single use,
//! expiring), members and roles, meters and meter reader assignments, and
//! authorization responses (404 outside the household, 403 inside it), over
//! real HTTPS and through the `HouseholdStore` trait.

#[macro_use]
mod money_support;
mod support;

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::json;
use sharepay_domain::authz::Role;
use sharepay_server::store::households::{AcceptOutcome, HouseholdRow, InvitationRow};
use sharepay_server::store::{AuditQuery, UserRow};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use money_support::Api;
use support::TestBackend;

async fn household_flow(backend: TestBackend) {
    let api = Api::start(&backend).await;
    let payer = api.sign_up("payer").await;
    let participant = api.sign_up("participant").await;
    let reader = api.sign_up("reader").await;
    let outsider = api.sign_up("outsider").await;

    // The creator becomes primary payer.
    let (status, household) = api
        .as_user(
            &payer,
            "POST",
            "/v1/households",
            Some(&json!({"name": "Flat 4B"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{household}");
    assert_eq!(household["role"], "primary_payer");
    let id = household["household_id"].as_str().expect("id").to_owned();

    api.join(&payer, &id, &participant, "participant").await;
    api.join(&payer, &id, &reader, "meter_reader").await;
    let (_, members) = api
        .as_user(
            &participant,
            "GET",
            &format!("/v1/households/{id}/members"),
            None,
        )
        .await;
    assert_eq!(members["members"].as_array().expect("members").len(), 3);

    // Meters: one shared, one for a dwelling unit; the reader gets one.
    let meter_body = json!({"serial": "E-1001", "unit": "kilowatt_hour", "register_digits": 5});
    let (status, shared) = api
        .as_user(
            &payer,
            "POST",
            &format!("/v1/households/{id}/meters"),
            Some(&meter_body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{shared}");
    let (status, _) = api
        .as_user(
            &payer,
            "POST",
            &format!("/v1/households/{id}/meters"),
            Some(&meter_body),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "duplicate serial");
    let unit_body =
        json!({"serial": "W-7", "unit": "cubic_metre", "register_digits": 4, "dwelling_unit": "2"});
    let (status, unit_meter) = api
        .as_user(
            &payer,
            "POST",
            &format!("/v1/households/{id}/meters"),
            Some(&unit_body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(unit_meter["dwelling_unit"], "2");
    let shared_id = shared["meter_id"].as_str().expect("meter id");
    let assign = json!({"user_id": reader.user_id});
    let (status, _) = api
        .as_user(
            &payer,
            "POST",
            &format!("/v1/meters/{shared_id}/readers"),
            Some(&assign),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let not_reader = json!({"user_id": participant.user_id});
    let (status, _) = api
        .as_user(
            &payer,
            "POST",
            &format!("/v1/meters/{shared_id}/readers"),
            Some(&not_reader),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "only meter readers are assigned"
    );

    let (_, seen) = api
        .as_user(&reader, "GET", &format!("/v1/households/{id}/meters"), None)
        .await;
    let seen = seen["meters"].as_array().expect("meters").clone();
    assert_eq!(seen.len(), 1, "the reader sees only the assigned meter");
    assert_eq!(seen[0]["meter_id"], shared_id);
    let (_, all) = api
        .as_user(
            &participant,
            "GET",
            &format!("/v1/households/{id}/meters"),
            None,
        )
        .await;
    assert_eq!(all["meters"].as_array().expect("meters").len(), 2);

    // Inside the household a forbidden action is 403; outside it is 404.
    let invite = json!({"role": "participant"});
    let invitations = format!("/v1/households/{id}/invitations");
    let (status, _) = api
        .as_user(&participant, "POST", &invitations, Some(&invite))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api
        .as_user(&outsider, "POST", &invitations, Some(&invite))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .as_user(&outsider, "GET", &format!("/v1/households/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .as_user(
            &outsider,
            "GET",
            &format!("/v1/households/{id}/meters"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .as_user(
            &outsider,
            "POST",
            &format!("/v1/meters/{shared_id}/readers"),
            Some(&assign),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The last primary payer stays; a role change and a removal work.
    let payer_path = format!("/v1/households/{id}/members/{}", payer.user_id);
    let (status, _) = api.as_user(&payer, "DELETE", &payer_path, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let role_path = format!("/v1/households/{id}/members/{}/role", participant.user_id);
    let (status, changed) = api
        .as_user(
            &payer,
            "PUT",
            &role_path,
            Some(&json!({"role": "meter_reader"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(changed["role"], "meter_reader");
    let reader_path = format!("/v1/households/{id}/members/{}", reader.user_id);
    let (status, _) = api.as_user(&payer, "DELETE", &reader_path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api
        .as_user(&reader, "GET", &format!("/v1/households/{id}"), None)
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a removed member loses access"
    );

    // Every decision is in the audit trail with its reason.
    let audit = backend
        .data
        .store
        .list_audit(AuditQuery {
            after_id: 0,
            since: None,
            limit: 10_000,
        })
        .await
        .expect("audit rows");
    let denied = audit
        .iter()
        .filter(|row| row.kind == "authorization" && row.outcome == "denied")
        .count();
    let allowed = audit
        .iter()
        .filter(|row| row.kind == "authorization" && row.outcome == "success")
        .count();
    assert!(denied >= 5, "{denied} denials audited");
    assert!(allowed >= 10, "{allowed} grants audited");
    assert!(
        audit
            .iter()
            .filter(|row| row.kind == "authorization")
            .all(|row| row.reason.is_some())
    );
    api.server.shutdown().await;
}

async fn invitation_codes_single_use(backend: TestBackend) {
    let api = Api::start(&backend).await;
    let payer = api.sign_up("payer").await;
    let first = api.sign_up("first").await;
    let second = api.sign_up("second").await;
    let (_, household) = api
        .as_user(
            &payer,
            "POST",
            "/v1/households",
            Some(&json!({"name": "Home"})),
        )
        .await;
    let id = household["household_id"].as_str().expect("id");
    let (_, invitation) = api
        .as_user(
            &payer,
            "POST",
            &format!("/v1/households/{id}/invitations"),
            Some(&json!({"role": "participant", "expires_in_hours": 1})),
        )
        .await;
    let accept = json!({"code": invitation["code"]});

    let (status, _) = api
        .as_user(&first, "POST", "/v1/invitations/accept", Some(&accept))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = api
        .as_user(&second, "POST", "/v1/invitations/accept", Some(&accept))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "a used code is refused");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("already used"), "{detail}");
    let (status, _) = api
        .as_user(
            &second,
            "POST",
            "/v1/invitations/accept",
            Some(&json!({"code": "guess"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .as_user(
            &payer,
            "POST",
            &format!("/v1/households/{id}/invitations"),
            Some(&json!({"role": "system_administrator"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "no global role by invitation"
    );
    api.server.shutdown().await;
}

async fn member_cannot_accept_invitation(backend: TestBackend) {
    let api = Api::start(&backend).await;
    let payer = api.sign_up("payer").await;
    let (_, household) = api
        .as_user(
            &payer,
            "POST",
            "/v1/households",
            Some(&json!({"name": "Home"})),
        )
        .await;
    let id = household["household_id"].as_str().expect("id");
    let (_, invitation) = api
        .as_user(
            &payer,
            "POST",
            &format!("/v1/households/{id}/invitations"),
            Some(&json!({"role": "participant"})),
        )
        .await;

    // The only primary payer accepting a participant invitation would leave
    // the household without one.
    let (status, problem) = api
        .as_user(
            &payer,
            "POST",
            "/v1/invitations/accept",
            Some(&json!({"code": invitation["code"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let (_, members) = api
        .as_user(&payer, "GET", &format!("/v1/households/{id}/members"), None)
        .await;
    assert_eq!(members["members"][0]["role"], "primary_payer", "{members}");

    // The invitation stays unused for someone else.
    let guest = api.sign_up("guest").await;
    let (status, _) = api
        .as_user(
            &guest,
            "POST",
            "/v1/invitations/accept",
            Some(&json!({"code": invitation["code"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    api.server.shutdown().await;
}

async fn store_user(backend: &TestBackend, byte: u8) -> Uuid {
    let user = UserRow {
        id: Uuid::now_v7(),
        email_ciphertext: format!("ciphertext-{byte}"),
        email_blind_index: [byte; 32],
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        created_at: seconds(OffsetDateTime::now_utc()),
    };
    backend
        .data
        .store
        .insert_user(user.clone())
        .await
        .expect("user");
    user.id
}

fn seconds(time: OffsetDateTime) -> OffsetDateTime {
    time.replace_nanosecond(0).expect("zero nanoseconds")
}

async fn concurrent_accepts_join_once(backend: TestBackend) {
    let store = Arc::clone(&backend.data.store);
    let payer = store_user(&backend, 1).await;
    let household = HouseholdRow {
        id: Uuid::now_v7(),
        name: "Home".to_owned(),
        created_by: payer,
        created_at: seconds(OffsetDateTime::now_utc()),
    };
    let creator = store
        .create_household(household.clone())
        .await
        .expect("household");
    assert_eq!(creator.role, Role::PrimaryPayer);
    let code_hash = [7u8; 32];
    let now = seconds(OffsetDateTime::now_utc());
    store
        .insert_invitation(InvitationRow {
            id: Uuid::now_v7(),
            household_id: household.id,
            role: Role::Participant,
            code_hash,
            created_by: payer,
            created_at: now,
            expires_at: now + Duration::hours(1),
        })
        .await
        .expect("invitation");

    let mut users = Vec::new();
    for byte in 10..18 {
        users.push(store_user(&backend, byte).await);
    }
    let mut tasks = Vec::new();
    for user in users {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store
                .accept_invitation(code_hash, user, now)
                .await
                .expect("accept")
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        match task.await.expect("task") {
            AcceptOutcome::Accepted(_) => accepted += 1,
            AcceptOutcome::AlreadyUsed => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    }

    assert_eq!(accepted, 1, "exactly one concurrent acceptance wins");
    let members = store.list_members(household.id).await.expect("members");
    assert_eq!(members.len(), 2);
}

async fn expired_invitation_is_refused(backend: TestBackend) {
    let store = Arc::clone(&backend.data.store);
    let payer = store_user(&backend, 1).await;
    let joiner = store_user(&backend, 2).await;
    let created_at = seconds(OffsetDateTime::now_utc()) - Duration::hours(2);
    let household = HouseholdRow {
        id: Uuid::now_v7(),
        name: "Home".to_owned(),
        created_by: payer,
        created_at,
    };
    store
        .create_household(household.clone())
        .await
        .expect("household");
    store
        .insert_invitation(InvitationRow {
            id: Uuid::now_v7(),
            household_id: household.id,
            role: Role::MeterReader,
            code_hash: [9u8; 32],
            created_by: payer,
            created_at,
            expires_at: created_at + Duration::hours(1),
        })
        .await
        .expect("invitation");

    let outcome = store
        .accept_invitation([9u8; 32], joiner, seconds(OffsetDateTime::now_utc()))
        .await
        .expect("accept");

    assert_eq!(outcome, AcceptOutcome::Expired);
    assert!(
        store
            .memberships_of(joiner)
            .await
            .expect("memberships")
            .is_empty()
    );
}

on_both_backends!(
    household_flow,
    invitation_codes_single_use,
    concurrent_accepts_join_once,
    expired_invitation_is_refused,
    member_cannot_accept_invitation,
);

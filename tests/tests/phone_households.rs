//! Household use cases of the phone core against the real server:
//! households, invitations, members, meters, reader assignment and a
//! reading sent through the outbox, with the typed errors of each refusal.

use std::sync::Arc;

use secrecy::SecretString;
use sharepay_client::clock::SystemClock;
use sharepay_client::{ClientError, NewReading, OutboxState};
use sharepay_domain::authz::Role;
use sharepay_domain::meter::{MeterUnit, ReadingKind};
use sharepay_domain::wire::households::CreateMeterRequest;
use sharepay_e2e::TestServer;
use sharepay_e2e::phone::{household_with_reader, open_phone, sign_in};

#[tokio::test]
async fn household_story_through_client() {
    let server = TestServer::start().await;
    let payer_dir = tempfile::tempdir().expect("phone dir");
    let reader_dir = tempfile::tempdir().expect("phone dir");
    let (payer, _) = open_phone(&server, payer_dir.path(), Arc::new(SystemClock));
    let (reader, reader_events) = open_phone(&server, reader_dir.path(), Arc::new(SystemClock));
    sign_in(&payer, "payer@example.org", true).await;
    sign_in(&reader, "reader@example.org", true).await;

    let setup = household_with_reader(&payer, &reader).await;

    let households = payer.households().await.expect("list households");
    assert_eq!(households.len(), 1);
    assert_eq!(households[0].role, Role::PrimaryPayer);
    let shown = reader
        .household(&setup.household_id)
        .await
        .expect("show household");
    assert_eq!(shown.name, "Flat 3, Mill Lane");
    assert_eq!(shown.role, Role::MeterReader);
    let members = payer.members(&setup.household_id).await.expect("members");
    assert_eq!(members.len(), 2);
    let reader_meters = reader.meters(&setup.household_id).await.expect("meters");
    assert_eq!(reader_meters.len(), 1);
    assert_eq!(reader_meters[0].meter_id, setup.meter_id);

    reader
        .submit_reading(NewReading {
            meter_id: setup.meter_id.clone(),
            value: "1234.5".into(),
            reading_time: "2026-11-30T07:00:00Z".into(),
            kind: ReadingKind::Actual,
            photo_sha256: None,
            location: None,
        })
        .expect("queue a reading");
    let before = reader.sync_state().expect("sync state");
    assert_eq!(before.pending, 1);
    let summary = reader.sync_now().await.expect("sync");
    assert_eq!(summary.accepted, 1, "{summary:?}");
    let after = reader.sync_state().expect("sync state");
    assert_eq!(after.pending, 0);
    assert_eq!(after.accepted, 1);
    assert_eq!(
        reader.outbox_items().expect("outbox")[0].state,
        OutboxState::Accepted
    );
    assert_eq!(reader_events.session_revocations(), 0);

    let changed = payer
        .change_member_role(
            &setup.household_id,
            &setup.reader_user_id,
            Role::Participant,
        )
        .await
        .expect("change role");
    assert_eq!(changed.role, Role::Participant);
    payer
        .remove_member(&setup.household_id, &setup.reader_user_id)
        .await
        .expect("remove member");
    assert_eq!(
        payer
            .members(&setup.household_id)
            .await
            .expect("members")
            .len(),
        1
    );
    let error = reader
        .household(&setup.household_id)
        .await
        .expect_err("a removed member no longer sees the household");
    assert!(matches!(error, ClientError::NotFound(_)), "{error:?}");
}

#[tokio::test]
async fn refusals_are_typed() {
    let server = TestServer::start().await;
    let payer_dir = tempfile::tempdir().expect("phone dir");
    let other_dir = tempfile::tempdir().expect("phone dir");
    let (payer, _) = open_phone(&server, payer_dir.path(), Arc::new(SystemClock));
    let (other, _) = open_phone(&server, other_dir.path(), Arc::new(SystemClock));
    sign_in(&payer, "payer2@example.org", true).await;
    sign_in(&other, "participant@example.org", true).await;
    let household = payer.create_household("Cottage").await.expect("household");
    let meter = CreateMeterRequest {
        serial: "W-77".into(),
        unit: MeterUnit::CubicMetre,
        register_digits: 5,
        dwelling_unit: None,
    };
    payer
        .add_meter(&household.household_id, &meter)
        .await
        .expect("first meter");

    let error = other
        .household(&household.household_id)
        .await
        .expect_err("not a member");
    assert!(matches!(error, ClientError::NotFound(_)), "{error:?}");

    let invitation = payer
        .create_invitation(&household.household_id, Role::Participant, None)
        .await
        .expect("invite");
    other
        .accept_invitation(&SecretString::from(invitation.code.clone()))
        .await
        .expect("accept");
    let error = other
        .add_meter(&household.household_id, &meter)
        .await
        .expect_err("a participant adds no meters");
    assert!(matches!(error, ClientError::Forbidden(_)), "{error:?}");

    let error = payer
        .add_meter(&household.household_id, &meter)
        .await
        .expect_err("duplicate serial");
    assert!(matches!(error, ClientError::Conflict(_)), "{error:?}");

    let error = payer.create_household("").await.expect_err("empty name");
    assert!(matches!(error, ClientError::InvalidInput(_)), "{error:?}");
    assert!(error.to_string().contains("name"), "{error}");

    let error = other
        .accept_invitation(&SecretString::from(invitation.code))
        .await
        .expect_err("a code works once");
    assert!(matches!(error, ClientError::Conflict(_)), "{error:?}");
    assert!(error.to_string().contains("already used"), "{error}");

    let error = other
        .accept_invitation(&SecretString::from("  ".to_owned()))
        .await
        .expect_err("empty code");
    assert!(matches!(error, ClientError::InvalidInput(_)), "{error:?}");
}

#[tokio::test]
async fn reading_for_unassigned_meter_rejected() {
    let server = TestServer::start().await;
    let payer_dir = tempfile::tempdir().expect("phone dir");
    let reader_dir = tempfile::tempdir().expect("phone dir");
    let (payer, _) = open_phone(&server, payer_dir.path(), Arc::new(SystemClock));
    let (reader, reader_events) = open_phone(&server, reader_dir.path(), Arc::new(SystemClock));
    sign_in(&payer, "payer@example.org", true).await;
    sign_in(&reader, "reader@example.org", true).await;
    let setup = household_with_reader(&payer, &reader).await;
    let other_meter = payer
        .add_meter(
            &setup.household_id,
            &CreateMeterRequest {
                serial: "EM-0002".into(),
                unit: MeterUnit::KilowattHour,
                register_digits: 6,
                dwelling_unit: None,
            },
        )
        .await
        .expect("add a meter not assigned to the reader");
    reader
        .submit_reading(NewReading {
            meter_id: other_meter.meter_id.clone(),
            value: "1234.5".into(),
            reading_time: "2026-11-30T07:00:00Z".into(),
            kind: ReadingKind::Actual,
            photo_sha256: None,
            location: None,
        })
        .expect("queue a reading");

    let summary = reader.sync_now().await.expect("sync");

    assert_eq!(summary.rejected, 1, "{summary:?}");
    assert_eq!(summary.pending, 0, "{summary:?}");
    assert_eq!(summary.retries_scheduled, 0, "{summary:?}");
    let item = reader.outbox_items().expect("outbox").remove(0);
    assert_eq!(
        item.attempts, 0,
        "a final rejection is not a failed attempt"
    );
    let OutboxState::Rejected { reasons } = item.state else {
        panic!("expected a rejection, got {:?}", item.state);
    };
    assert!(!reasons.is_empty());
    assert!(!reasons[0].is_empty(), "{reasons:?}");
    let again = reader.sync_now().await.expect("second sync");
    assert_eq!(again.rejected, 0, "a rejected item is not sent again");
    assert_eq!(reader_events.session_revocations(), 0);
}

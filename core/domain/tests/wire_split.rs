//! Validation of split proposal bodies: every offending field at once,
//! keyed by its JSON path.

use sharepay_domain::wire::FieldError;
use sharepay_domain::wire::split::{SplitMode, SplitProposalRequest, SplitProposalResponse};

const ALICE: &str = "00000000-0000-0000-0000-000000000001";
const BOB: &str = "00000000-0000-0000-0000-000000000002";
const CAROL: &str = "00000000-0000-0000-0000-000000000003";

fn request(json: &str) -> SplitProposalRequest {
    serde_json::from_str(json).expect("well-formed request")
}

fn fields(errors: &[FieldError]) -> Vec<&str> {
    errors.iter().map(|error| error.field.as_str()).collect()
}

#[test]
fn equal_proposal_validates_and_computes_split() {
    let body = format!(
        r#"{{"bill": {{"minor": 100, "currency": "EUR"}}, "mode": "equal",
            "members": [{{"member_id": "{CAROL}"}}, {{"member_id": "{ALICE}"}}, {{"member_id": "{BOB}"}}]}}"#
    );
    let proposal = request(&body).validate().expect("valid proposal");
    let response = SplitProposalResponse::from_split(SplitMode::Equal, &proposal.split);
    let amounts: Vec<(&str, i64)> = response
        .lines
        .iter()
        .map(|line| (line.member_id.as_str(), line.amount.minor))
        .collect();
    assert_eq!(amounts, vec![(ALICE, 34), (BOB, 33), (CAROL, 33)]);

    let json = serde_json::to_value(&response).expect("serialize");
    assert_eq!(
        json["lines"][0]["amount"],
        serde_json::json!({"minor": 34, "currency": "EUR"})
    );
}

#[test]
fn every_invalid_field_is_reported_at_once() {
    let body = format!(
        r#"{{"bill": {{"minor": 100, "currency": "XYZ"}}, "mode": "shares",
            "standing_charge": {{"minor": 10, "currency": "EUR"}},
            "members": [{{"member_id": "not-a-uuid", "shares": 1}},
                        {{"member_id": "{ALICE}"}},
                        {{"member_id": "{BOB}", "shares": 1, "basis_points": 100}}]}}"#
    );
    let errors = request(&body).validate().expect_err("invalid proposal");
    assert_eq!(
        fields(&errors),
        vec![
            "bill.currency",
            "standing_charge",
            "members[0].member_id",
            "members[1].shares",
            "members[2].basis_points",
        ]
    );
}

#[test]
fn percent_total_error_points_at_members() {
    let body = format!(
        r#"{{"bill": {{"minor": 100, "currency": "EUR"}}, "mode": "percent",
            "members": [{{"member_id": "{ALICE}", "basis_points": 5000}},
                        {{"member_id": "{BOB}", "basis_points": 4000}}]}}"#
    );
    let errors = request(&body)
        .validate()
        .expect_err("percentages short of 100");
    assert_eq!(fields(&errors), vec!["members"]);
    assert!(
        errors[0].message.contains("9000 basis points"),
        "{}",
        errors[0].message
    );
}

#[test]
fn consumption_proposal_needs_standing_charge_and_usage() {
    let body = format!(
        r#"{{"bill": {{"minor": 1000, "currency": "EUR"}}, "mode": "consumption",
            "members": [{{"member_id": "{ALICE}", "usage": "12.5"}},
                        {{"member_id": "{BOB}", "usage": "1.2345"}}]}}"#
    );
    let errors = request(&body).validate().expect_err("invalid proposal");
    assert_eq!(fields(&errors), vec!["standing_charge", "members[1].usage"]);
}

#[test]
fn consumption_proposal_validates() {
    let body = format!(
        r#"{{"bill": {{"minor": 1000, "currency": "EUR"}}, "mode": "consumption",
            "standing_charge": {{"minor": 300, "currency": "EUR"}},
            "members": [{{"member_id": "{ALICE}", "usage": "10"}},
                        {{"member_id": "{BOB}", "usage": "30"}},
                        {{"member_id": "{CAROL}", "usage": "0", "included": false}}]}}"#
    );
    let proposal = request(&body).validate().expect("valid proposal");
    let amounts: Vec<i64> = proposal
        .split
        .lines
        .iter()
        .map(|line| line.amount.minor())
        .collect();
    assert_eq!(amounts, vec![325, 675, 0]);
}

#[test]
fn duplicate_member_is_a_field_error() {
    let body = format!(
        r#"{{"bill": {{"minor": 100, "currency": "EUR"}}, "mode": "equal",
            "members": [{{"member_id": "{ALICE}"}}, {{"member_id": "{ALICE}"}}]}}"#
    );
    let errors = request(&body).validate().expect_err("duplicate member");
    assert_eq!(fields(&errors), vec!["members[1].member_id"]);
}

#[test]
fn unknown_field_is_rejected() {
    let body = r#"{"bill": {"minor": 100, "currency": "EUR"}, "mode": "equal", "members": [], "memebrs": []}"#;
    assert!(serde_json::from_str::<SplitProposalRequest>(body).is_err());
}

//! The authorization matrix of the money endpoints over HTTPS: every role
//! in the resource's own household and in another household, a system
//! administrator and a user with no household, against every money
//! endpoint. The test lists every case whose status differs from the
//! expected one before it fails.

#[macro_use]
mod money_support;
mod billing_support;
mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use billing_support::{APPROVED_VISA, billed_household, only_charge, save_card};
use money_support::{Api, Caller};
use support::TestBackend;

/// The callers, in the order each endpoint is tried: the caller whose
/// request succeeds comes last, so a request that changes data runs after
/// every denied one.
struct Callers {
    list: Vec<(&'static str, Caller)>,
}

impl Callers {
    fn get(&self, name: &str) -> &Caller {
        &self
            .list
            .iter()
            .find(|(label, _)| *label == name)
            .expect("known caller")
            .1
    }
}

/// Expected statuses: callers not listed expect `otherwise`.
struct Expect<'a> {
    allowed: &'a [(&'a str, StatusCode)],
    otherwise: StatusCode,
}

impl Expect<'_> {
    fn status_for(&self, caller: &str) -> StatusCode {
        self.allowed
            .iter()
            .find(|(name, _)| *name == caller)
            .map_or(self.otherwise, |(_, status)| *status)
    }
}

struct Matrix<'a> {
    api: &'a Api,
    callers: &'a Callers,
    differences: Vec<String>,
    checked: usize,
}

impl Matrix<'_> {
    /// Sends the request as every caller and records each differing status.
    /// Returns the body of the last caller's response.
    async fn check(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        expect: Expect<'_>,
    ) -> Value {
        let mut last = Value::Null;
        for (name, caller) in &self.callers.list {
            let key = Uuid::now_v7().to_string();
            let ((status, response), _) = self
                .api
                .send_with_key(method, path, Some(&caller.token), body, Some(&key))
                .await;
            let expected = expect.status_for(name);
            if status != expected {
                self.differences.push(format!(
                    "{method} {path} as {name}: expected {expected}, got {status}: {response}"
                ));
            }
            self.checked += 1;
            last = response;
        }
        last
    }
}

async fn money_endpoints_matrix(backend: TestBackend) {
    let api = Api::start(&backend).await;
    let own = billed_household(&api).await;
    let other = billed_household(&api).await;
    let admin = billing_support::administrator(&api, &backend).await;
    let outsider = api.sign_up("outsider").await;
    let alice_card = save_card(&api, &own.alice, APPROVED_VISA).await;
    let callers = Callers {
        list: vec![
            ("outsider", outsider),
            ("admin", admin),
            ("other_reader", other.reader),
            ("other_participant", other.alice),
            ("other_payer", other.payer),
            ("reader", own.reader),
            ("participant", own.alice),
            ("payer", own.payer),
        ],
    };
    let mut matrix = Matrix {
        api: &api,
        callers: &callers,
        differences: Vec::new(),
        checked: 0,
    };
    use StatusCode as S;
    let household = own.id.clone();
    let bill = format!("/v1/bills/{}", own.bill_id);
    let bill_body = billing_support::bill_body(
        callers.get("payer"),
        callers.get("participant"),
        &own.bob,
        &own.alice_meter,
        &own.bob_meter,
        9_000,
    );
    let members_read = [("participant", S::OK), ("payer", S::OK)];
    let payer_only = |status| [("participant", S::FORBIDDEN), ("payer", status)];

    let path = format!("/v1/households/{household}/bills");
    matrix
        .check(
            "GET",
            &path,
            None,
            Expect {
                allowed: &members_read,
                otherwise: S::NOT_FOUND,
            },
        )
        .await;
    matrix
        .check(
            "POST",
            &path,
            Some(&bill_body),
            Expect {
                allowed: &payer_only(S::CREATED),
                otherwise: S::NOT_FOUND,
            },
        )
        .await;
    matrix
        .check(
            "GET",
            &bill,
            None,
            Expect {
                allowed: &members_read,
                otherwise: S::NOT_FOUND,
            },
        )
        .await;
    matrix
        .check(
            "PUT",
            &bill,
            Some(&bill_body),
            Expect {
                allowed: &payer_only(S::OK),
                otherwise: S::NOT_FOUND,
            },
        )
        .await;
    matrix
        .check(
            "GET",
            &format!("{bill}/split"),
            None,
            Expect {
                allowed: &members_read,
                otherwise: S::NOT_FOUND,
            },
        )
        .await;
    let delegate = json!({"user_id": own.bob.user_id});
    matrix
        .check(
            "POST",
            &format!("{bill}/delegations"),
            Some(&delegate),
            Expect {
                allowed: &payer_only(S::CREATED),
                otherwise: S::NOT_FOUND,
            },
        )
        .await;
    matrix
        .check(
            "POST",
            &format!("{bill}/approval"),
            None,
            Expect {
                allowed: &payer_only(S::OK),
                otherwise: S::NOT_FOUND,
            },
        )
        .await;
    matrix
        .check(
            "GET",
            &format!("/v1/households/{household}/charges"),
            None,
            Expect {
                allowed: &[("payer", S::OK)],
                otherwise: S::NOT_FOUND,
            },
        )
        .await;
    matrix
        .check(
            "GET",
            "/v1/me/charges",
            None,
            Expect {
                allowed: &[],
                otherwise: S::OK,
            },
        )
        .await;
    matrix
        .check(
            "GET",
            "/v1/payment-methods",
            None,
            Expect {
                allowed: &[],
                otherwise: S::OK,
            },
        )
        .await;

    // Only the member who owes a charge pays it. The primary payer can read
    // it (403) and everyone else gets 404. The participant pays last.
    let charge = only_charge(&api, callers.get("participant")).await;
    let pay_path = format!(
        "/v1/charges/{}/payments",
        charge["charge_id"].as_str().expect("id")
    );
    let pay_body = json!({"payment_method_id": alice_card});
    let reordered = Callers {
        list: callers
            .list
            .iter()
            .filter(|(name, _)| *name != "participant")
            .chain(
                callers
                    .list
                    .iter()
                    .filter(|(name, _)| *name == "participant"),
            )
            .map(|(name, caller)| {
                (
                    *name,
                    Caller {
                        token: caller.token.clone(),
                        user_id: caller.user_id.clone(),
                    },
                )
            })
            .collect(),
    };
    let mut pay_matrix = Matrix {
        api: &api,
        callers: &reordered,
        differences: Vec::new(),
        checked: 0,
    };
    let payment = pay_matrix
        .check(
            "POST",
            &pay_path,
            Some(&pay_body),
            Expect {
                allowed: &[("payer", S::FORBIDDEN), ("participant", S::CREATED)],
                otherwise: S::NOT_FOUND,
            },
        )
        .await;
    matrix.differences.append(&mut pay_matrix.differences);
    matrix.checked += pay_matrix.checked;

    let refund_path = format!(
        "/v1/payments/{}/refunds",
        payment["payment_id"].as_str().unwrap_or("missing")
    );
    let refund = json!({"amount": {"minor": 100, "currency": "EUR"}, "reason": "matrix"});
    matrix
        .check(
            "POST",
            &refund_path,
            Some(&refund),
            Expect {
                allowed: &payer_only(S::CREATED),
                otherwise: S::NOT_FOUND,
            },
        )
        .await;

    let statement = format!(
        "/v1/households/{household}/statements?member={}&from=2026-01-01&to=2026-12-31",
        callers.get("participant").user_id
    );
    matrix
        .check(
            "GET",
            &statement,
            None,
            Expect {
                allowed: &members_read,
                otherwise: S::NOT_FOUND,
            },
        )
        .await;
    let admin_only = [("admin", S::OK)];
    matrix
        .check(
            "GET",
            "/v1/admin/reconciliation",
            None,
            Expect {
                allowed: &admin_only,
                otherwise: S::NOT_FOUND,
            },
        )
        .await;
    matrix
        .check(
            "GET",
            "/v1/admin/monitoring-cases",
            None,
            Expect {
                allowed: &admin_only,
                otherwise: S::NOT_FOUND,
            },
        )
        .await;

    let checked = matrix.checked;
    let differences = matrix.differences;
    assert!(
        differences.is_empty(),
        "{} of {checked} cases differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
    api.server.shutdown().await;
}

on_both_backends!(money_endpoints_matrix);

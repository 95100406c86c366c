//! Meter readings on both storage backends. Readings are accepted, flagged
//! for review (register rollover) or rejected. A retry with the same
//! `Idempotency-Key` gets the stored response, a reused key gets 422, and
//! concurrent duplicates store one reading.

#[macro_use]
mod money_support;
mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use money_support::{Api, Caller};
use support::TestBackend;

/// A household with a 5-digit meter assigned to a meter reader.
struct Setup {
    api: Api,
    payer: Caller,
    participant: Caller,
    reader: Caller,
    outsider: Caller,
    meter_id: String,
}

async fn setup(backend: &TestBackend) -> Setup {
    let api = Api::start(backend).await;
    let payer = api.sign_up("payer").await;
    let participant = api.sign_up("participant").await;
    let reader = api.sign_up("reader").await;
    let outsider = api.sign_up("outsider").await;
    let (_, household) = api
        .as_user(
            &payer,
            "POST",
            "/v1/households",
            Some(&json!({"name": "Home"})),
        )
        .await;
    let household = household["household_id"].as_str().expect("id").to_owned();
    api.join(&payer, &household, &participant, "participant")
        .await;
    api.join(&payer, &household, &reader, "meter_reader").await;
    let meter = json!({"serial": "E-5", "unit": "kilowatt_hour", "register_digits": 5});
    let (status, meter) = api
        .as_user(
            &payer,
            "POST",
            &format!("/v1/households/{household}/meters"),
            Some(&meter),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let meter_id = meter["meter_id"].as_str().expect("meter id").to_owned();
    let (status, _) = api
        .as_user(
            &payer,
            "POST",
            &format!("/v1/meters/{meter_id}/readers"),
            Some(&json!({"user_id": reader.user_id})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    Setup {
        api,
        payer,
        participant,
        reader,
        outsider,
        meter_id,
    }
}

fn reading(value: &str, time: &str) -> Value {
    json!({"value": value, "reading_time": time, "kind": "actual"})
}

impl Setup {
    async fn submit(
        &self,
        caller: &Caller,
        body: &Value,
        key: &str,
    ) -> ((StatusCode, Value), bool) {
        self.api
            .send_with_key(
                "POST",
                &format!("/v1/meters/{}/readings", self.meter_id),
                Some(&caller.token),
                Some(body),
                Some(key),
            )
            .await
    }
}

async fn readings_decided_by_rules(backend: TestBackend) {
    let s = setup(&backend).await;
    let baseline = reading("99990", "2026-11-01T08:00:00Z");
    let rollover = reading("00012.5", "2026-11-08T08:00:00Z");
    let backwards = reading("5", "2026-11-09T08:00:00Z");

    let ((status, first), _) = s.submit(&s.reader, &baseline, "k-1").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["status"], "accepted");

    let ((status, flagged), replayed) = s.submit(&s.reader, &rollover, "k-2").await;
    assert_eq!(status, StatusCode::CREATED, "{flagged}");
    assert!(!replayed);
    assert_eq!(flagged["status"], "flagged");
    assert_eq!(flagged["reasons"], json!(["rollover"]));

    let ((status, again), replayed) = s.submit(&s.reader, &rollover, "k-2").await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(replayed, "the retry is answered from the stored response");
    assert_eq!(again, flagged);

    let ((status, _), _) = s.submit(&s.reader, &backwards, "k-2").await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "same key, other body"
    );

    let ((status, rejected), _) = s.submit(&s.reader, &backwards, "k-3").await;
    assert_eq!(status, StatusCode::OK, "{rejected}");
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["reasons"].as_array().expect("reasons").len(), 1);

    let ((status, _), _) = s
        .submit(&s.payer, &reading("20", "2026-11-10T08:00:00Z"), "k-4")
        .await;
    assert_eq!(status, StatusCode::CREATED, "a primary payer may submit");
    let ((status, _), _) = s.submit(&s.participant, &backwards, "k-5").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "participants only read readings"
    );
    let ((status, _), _) = s.submit(&s.outsider, &backwards, "k-6").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let ((status, _), _) = s
        .api
        .send_with_key(
            "POST",
            &format!("/v1/meters/{}/readings", s.meter_id),
            Some(&s.reader.token),
            Some(&backwards),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the key is required");

    let meter_id: Uuid = s.meter_id.parse().expect("uuid");
    let stored = backend
        .data
        .store
        .list_readings(meter_id)
        .await
        .expect("readings");
    let statuses: Vec<&str> = stored.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["accepted", "flagged", "accepted"]);
    assert_eq!(
        stored[1].usage_milli,
        Some(22_500),
        "99990 to 12.5 on five digits"
    );
    s.api.server.shutdown().await;
}

async fn concurrent_duplicates_store_once(backend: TestBackend) {
    let s = setup(&backend).await;
    let body = reading("120", "2026-11-01T08:00:00Z");

    let mut requests = Vec::new();
    for _ in 0..8 {
        requests.push(s.submit(&s.reader, &body, "same-key"));
    }
    let responses = futures_join(requests).await;

    let meter_id: Uuid = s.meter_id.parse().expect("uuid");
    let stored = backend
        .data
        .store
        .list_readings(meter_id)
        .await
        .expect("readings");
    assert_eq!(
        stored.len(),
        1,
        "one reading for eight concurrent duplicates"
    );
    for ((status, response), _) in &responses {
        match *status {
            StatusCode::CREATED => assert_eq!(response["reading_id"], stored[0].id.to_string()),
            StatusCode::SERVICE_UNAVAILABLE => {}
            other => panic!("unexpected status {other}: {response}"),
        }
    }
    s.api.server.shutdown().await;
}

async fn payer_corrects_flagged_reading(backend: TestBackend) {
    let s = setup(&backend).await;
    let ((_, _), _) = s
        .submit(&s.reader, &reading("99990", "2026-11-01T08:00:00Z"), "c-1")
        .await;
    let ((_, flagged), _) = s
        .submit(&s.reader, &reading("00012", "2026-11-08T08:00:00Z"), "c-2")
        .await;
    assert_eq!(flagged["status"], "flagged");
    let path = format!(
        "/v1/readings/{}/corrections",
        flagged["reading_id"].as_str().expect("id")
    );
    let accept = json!({"status": "accepted", "reason": "register rolled over, checked photo"});

    let (status, _) = s.api.as_user(&s.reader, "POST", &path, Some(&accept)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "readers do not review");
    let (status, _) = s
        .api
        .as_user(&s.outsider, "POST", &path, Some(&accept))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let no_reason = json!({"status": "accepted", "reason": "  "});
    let (status, _) = s
        .api
        .as_user(&s.payer, "POST", &path, Some(&no_reason))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a reason is required");

    let (status, accepted) = s.api.as_user(&s.payer, "POST", &path, Some(&accept)).await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["status"], "accepted");
    let fix = json!({"status": "accepted", "value": "13", "reason": "misread last digit"});
    let (status, fixed) = s.api.as_user(&s.payer, "POST", &path, Some(&fix)).await;
    assert_eq!(status, StatusCode::OK, "{fixed}");
    assert_eq!(fixed["value"], "13");
    let history = fixed["history"].as_array().expect("history");
    assert_eq!(history.len(), 2, "both corrections are kept");
    assert_eq!(history[0]["previous_status"], "flagged");
    assert_eq!(history[1]["previous_value"], "12");
    assert_eq!(history[1]["reason"], "misread last digit");

    let reject = json!({"status": "rejected", "reason": "duplicate visit"});
    let (status, _) = s.api.as_user(&s.payer, "POST", &path, Some(&reject)).await;
    assert_eq!(status, StatusCode::OK);
    let meter_id: Uuid = s.meter_id.parse().expect("uuid");
    let stored = backend
        .data
        .store
        .list_readings(meter_id)
        .await
        .expect("readings");
    assert_eq!(stored.len(), 2, "a rejected reading is kept, not deleted");
    let latest = backend
        .data
        .store
        .latest_reading(meter_id)
        .await
        .expect("latest");
    assert_eq!(
        latest.expect("baseline").value_milli,
        99_990_000,
        "rejected ones are skipped"
    );
    s.api.server.shutdown().await;
}

async fn parallel_readings_see_each_other(backend: TestBackend) {
    let s = setup(&backend).await;
    for day in 1..=6u32 {
        let base = 10_000 * day;
        let baseline = reading(&base.to_string(), &format!("2026-11-{day:02}T08:00:00Z"));
        let ((status, body), _) = s.submit(&s.reader, &baseline, &format!("base-{day}")).await;
        assert!(status.is_success(), "{status}: {body}");

        // In either order one of the two must be checked against the
        // other: 200 more, then 100 more ten minutes later is a drop.
        let higher = reading(
            &(base + 200).to_string(),
            &format!("2026-11-{day:02}T08:10:00Z"),
        );
        let lower = reading(
            &(base + 100).to_string(),
            &format!("2026-11-{day:02}T08:20:00Z"),
        );
        let higher_key = format!("higher-{day}");
        let lower_key = format!("lower-{day}");
        let responses = futures_join(vec![
            s.submit(&s.reader, &higher, &higher_key),
            s.submit(&s.reader, &lower, &lower_key),
        ])
        .await;

        let statuses: Vec<&Value> = responses
            .iter()
            .map(|((_, response), _)| &response["status"])
            .collect();
        assert!(
            !(statuses[0] == "accepted" && statuses[1] == "accepted"),
            "day {day}: both readings accepted against the same previous one: {statuses:?}"
        );
    }
    s.api.server.shutdown().await;
}

async fn corrected_value_must_fit_series(backend: TestBackend) {
    let s = setup(&backend).await;
    let mut ids = Vec::new();
    for (day, value) in [(1, "100"), (2, "200"), (3, "300")] {
        let body = reading(value, &format!("2026-11-0{day}T08:00:00Z"));
        let ((status, response), _) = s.submit(&s.reader, &body, &format!("series-{day}")).await;
        assert_eq!(status, StatusCode::CREATED, "{response}");
        ids.push(response["reading_id"].as_str().expect("id").to_owned());
    }
    let correct = |value: &str| json!({"status": "accepted", "reason": "typo", "value": value});
    let path = format!("/v1/readings/{}/corrections", ids[1]);

    for (value, why) in [
        ("99999999", "too large for the register"),
        ("350", "more than the next reading"),
        ("50", "less than the previous reading"),
    ] {
        let (status, problem) = s
            .api
            .as_user(&s.payer, "POST", &path, Some(&correct(value)))
            .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{value} is {why}: {problem}"
        );
        assert_eq!(problem["errors"][0]["field"], "value", "{problem}");
    }

    let (status, corrected) = s
        .api
        .as_user(&s.payer, "POST", &path, Some(&correct("250")))
        .await;
    assert_eq!(status, StatusCode::OK, "{corrected}");
    assert_eq!(corrected["value"], "250");
    s.api.server.shutdown().await;
}

async fn replaced_meter_and_implausible_usage_flagged(backend: TestBackend) {
    let s = setup(&backend).await;
    let baseline = reading("1000", "2026-11-01T08:00:00Z");
    let ((status, _), _) = s.submit(&s.reader, &baseline, "baseline").await;
    assert_eq!(status, StatusCode::CREATED);

    // 900 kWh in one day is far above what a home uses.
    let spike = reading("1900", "2026-11-02T08:00:00Z");
    let ((status, body), _) = s.submit(&s.reader, &spike, "spike").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "flagged", "{body}");
    assert_eq!(body["reasons"], json!(["implausible_usage"]), "{body}");

    // A new serial on the register: the meter was swapped.
    let mut swapped = reading("3", "2026-11-03T08:00:00Z");
    swapped["meter_serial"] = json!("E-6");
    let ((status, body), _) = s.submit(&s.reader, &swapped, "swapped").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "flagged", "{body}");
    assert_eq!(body["reasons"], json!(["meter_replaced"]), "{body}");

    // The new meter's series goes on without the serial being sent again.
    let next = reading("10", "2026-11-04T08:00:00Z");
    let ((status, body), _) = s.submit(&s.reader, &next, "next").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "accepted", "{body}");

    let mut blank = reading("11", "2026-11-05T08:00:00Z");
    blank["meter_serial"] = json!("   ");
    let ((status, body), _) = s.submit(&s.reader, &blank, "blank").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["errors"][0]["field"], "meter_serial", "{body}");
    s.api.server.shutdown().await;
}

/// Runs the futures concurrently on the test's runtime.
async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|context| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(context) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

on_both_backends!(
    readings_decided_by_rules,
    concurrent_duplicates_store_once,
    payer_corrects_flagged_reading,
    parallel_readings_see_each_other,
    corrected_value_must_fit_series,
    replaced_meter_and_implausible_usage_flagged,
);

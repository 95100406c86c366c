//! The sync worker against an in-test `ReadingSender` and a fake clock:
//! order per meter, backoff, outcomes and restart after a kill.

mod common;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{FakeClock, XorWrapper, reading};
use sharepay_client::clock::Clock;
use sharepay_client::{
    BackoffPolicy, EncryptedStore, OutboxState, ReadingSender, SendOutcome, SyncEvent,
    SyncEventListener, SyncWorker,
};
use sharepay_domain::wire::readings::SubmitReadingRequest;

/// One call the sender received.
#[derive(Clone, Debug)]
struct Call {
    key: String,
    meter_id: String,
    value: String,
    at_ms: i64,
}

/// Returns outcomes from a per-meter script (default: accepted) and records
/// calls.
struct ScriptedSender {
    clock: Arc<FakeClock>,
    script: Mutex<HashMap<String, VecDeque<SendOutcome>>>,
    calls: Mutex<Vec<Call>>,
}

impl ScriptedSender {
    fn new(clock: Arc<FakeClock>) -> Self {
        Self {
            clock,
            script: Mutex::new(HashMap::new()),
            calls: Mutex::new(Vec::new()),
        }
    }

    fn script(&self, meter_id: &str, outcomes: Vec<SendOutcome>) {
        self.script
            .lock()
            .expect("script")
            .entry(meter_id.to_owned())
            .or_default()
            .extend(outcomes);
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("calls").clone()
    }
}

#[async_trait::async_trait]
impl ReadingSender for ScriptedSender {
    async fn send(
        &self,
        idempotency_key: &str,
        meter_id: &str,
        request: &SubmitReadingRequest,
    ) -> SendOutcome {
        let at_ms = self.clock.now_unix_ms();
        let mut calls = self.calls.lock().expect("calls");
        calls.push(Call {
            key: idempotency_key.to_owned(),
            meter_id: meter_id.to_owned(),
            value: request.value.clone(),
            at_ms,
        });
        let next = self
            .script
            .lock()
            .expect("script")
            .get_mut(meter_id)
            .and_then(VecDeque::pop_front);
        next.unwrap_or_else(|| SendOutcome::Accepted {
            reading_id: format!("r-{}", calls.len()),
        })
    }
}

/// Never returns, like a request cut off when the app is killed.
struct HangingSender;

#[async_trait::async_trait]
impl ReadingSender for HangingSender {
    async fn send(&self, _: &str, _: &str, _: &SubmitReadingRequest) -> SendOutcome {
        std::future::pending().await
    }
}

#[derive(Default)]
struct Events(Mutex<Vec<SyncEvent>>);

impl SyncEventListener for Events {
    fn on_event(&self, event: &SyncEvent) {
        self.0.lock().expect("events").push(event.clone());
    }
}

fn policy(max_attempts: u32) -> BackoffPolicy {
    BackoffPolicy {
        base: Duration::from_millis(100),
        cap: Duration::from_millis(800),
        max_attempts,
    }
}

fn retry(reason: &str) -> SendOutcome {
    SendOutcome::Retry {
        reason: reason.to_owned(),
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    store: Arc<EncryptedStore>,
    clock: Arc<FakeClock>,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("store"));
    Setup {
        _dir: dir,
        store,
        clock: Arc::new(FakeClock::starting_at(1_000_000)),
    }
}

#[tokio::test]
async fn later_reading_waits_for_earlier() {
    let s = setup();
    s.store
        .enqueue_readings(
            &[
                reading("meter-a", "1"),
                reading("meter-b", "10"),
                reading("meter-a", "2"),
                reading("meter-a", "3"),
            ],
            s.clock.now_unix_ms(),
        )
        .expect("enqueue");
    let sender = ScriptedSender::new(Arc::clone(&s.clock));
    sender.script("meter-a", vec![retry("timeout"), retry("timeout")]);
    let worker = SyncWorker::new(Arc::clone(&s.store), policy(10), s.clock.clone());

    let summary = worker.run(&sender).await.expect("run");

    assert_eq!(summary.accepted, 4);
    assert_eq!(summary.pending, 0);
    let calls = sender.calls();
    let a_values: Vec<&str> = calls
        .iter()
        .filter(|c| c.meter_id == "meter-a")
        .map(|c| c.value.as_str())
        .collect();
    assert_eq!(a_values, vec!["1", "1", "1", "2", "3"]);
    let b_position = calls
        .iter()
        .position(|c| c.meter_id == "meter-b")
        .expect("b sent");
    let a2_position = calls.iter().position(|c| c.value == "2").expect("a2 sent");
    assert!(
        b_position < a2_position,
        "meter-b must not wait for meter-a: {calls:?}"
    );
}

#[tokio::test]
async fn retries_back_off_exponentially() {
    let s = setup();
    s.store
        .enqueue_readings(&[reading("meter-a", "1")], s.clock.now_unix_ms())
        .expect("enqueue");
    let sender = ScriptedSender::new(Arc::clone(&s.clock));
    sender.script("meter-a", (0..5).map(|_| retry("HTTP 503")).collect());
    let events = Arc::new(Events::default());
    let worker = SyncWorker::new(Arc::clone(&s.store), policy(10), s.clock.clone())
        .with_random_source(|| u64::MAX);
    worker.set_listener(Some(events.clone()));

    worker.run(&sender).await.expect("run");

    let delays: Vec<u128> = events
        .0
        .lock()
        .expect("events")
        .iter()
        .filter_map(|e| match e {
            SyncEvent::RetryScheduled { delay, .. } => Some(delay.as_millis()),
            _ => None,
        })
        .collect();
    assert_eq!(delays, vec![100, 200, 400, 800, 800]);
    let times: Vec<i64> = sender.calls().iter().map(|c| c.at_ms).collect();
    let gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(
        gaps,
        vec![100, 200, 400, 800, 800],
        "sent before its retry time"
    );
    let keys: Vec<String> = sender.calls().iter().map(|c| c.key.clone()).collect();
    assert!(
        keys.iter().all(|k| *k == keys[0]),
        "one idempotency key for all retries"
    );
}

#[tokio::test]
async fn jittered_delays_stay_below_ceiling() {
    let s = setup();
    s.store
        .enqueue_readings(&[reading("meter-a", "1")], s.clock.now_unix_ms())
        .expect("enqueue");
    let sender = ScriptedSender::new(Arc::clone(&s.clock));
    sender.script("meter-a", (0..6).map(|_| retry("HTTP 503")).collect());
    let events = Arc::new(Events::default());
    let worker = SyncWorker::new(Arc::clone(&s.store), policy(10), s.clock.clone());
    worker.set_listener(Some(events.clone()));

    worker.run(&sender).await.expect("run");

    let scheduled: Vec<(u32, Duration)> = events
        .0
        .lock()
        .expect("events")
        .iter()
        .filter_map(|e| match e {
            SyncEvent::RetryScheduled { attempt, delay, .. } => Some((*attempt, *delay)),
            _ => None,
        })
        .collect();
    assert_eq!(scheduled.len(), 6);
    for (attempt, delay) in scheduled {
        assert!(
            delay <= policy(10).ceiling(attempt),
            "attempt {attempt}: {delay:?}"
        );
    }
}

#[tokio::test]
async fn outcomes_are_stored_and_listed() {
    let s = setup();
    s.store
        .enqueue_readings(
            &[
                reading("meter-a", "1"),
                reading("meter-b", "2"),
                reading("meter-c", "3"),
            ],
            s.clock.now_unix_ms(),
        )
        .expect("enqueue");
    let sender = ScriptedSender::new(Arc::clone(&s.clock));
    sender.script(
        "meter-b",
        vec![SendOutcome::Flagged {
            reading_id: "r-b".into(),
            reasons: vec!["consumption is 5 times the average".into()],
        }],
    );
    sender.script(
        "meter-c",
        vec![SendOutcome::Rejected {
            reasons: vec!["reading is below the previous one".into()],
        }],
    );
    let worker = SyncWorker::new(Arc::clone(&s.store), policy(10), s.clock.clone());

    let summary = worker.run(&sender).await.expect("run");
    let again = worker.run(&sender).await.expect("second run");

    assert_eq!(
        (summary.accepted, summary.flagged, summary.rejected),
        (1, 1, 1)
    );
    assert_eq!(sender.calls().len(), 3, "decided items are never resent");
    assert_eq!(again.pending, 0);
    let states: Vec<OutboxState> = s
        .store
        .outbox_items()
        .expect("items")
        .into_iter()
        .map(|item| item.state)
        .collect();
    assert_eq!(
        states,
        vec![
            OutboxState::Accepted,
            OutboxState::Flagged {
                reasons: vec!["consumption is 5 times the average".into()]
            },
            OutboxState::Rejected {
                reasons: vec!["reading is below the previous one".into()]
            },
        ]
    );
}

#[tokio::test]
async fn rejected_reading_unblocks_its_meter() {
    let s = setup();
    s.store
        .enqueue_readings(
            &[reading("meter-a", "1"), reading("meter-a", "2")],
            s.clock.now_unix_ms(),
        )
        .expect("enqueue");
    let sender = ScriptedSender::new(Arc::clone(&s.clock));
    sender.script(
        "meter-a",
        vec![SendOutcome::Rejected {
            reasons: vec!["bad".into()],
        }],
    );
    let worker = SyncWorker::new(Arc::clone(&s.store), policy(10), s.clock.clone());

    let summary = worker.run(&sender).await.expect("run");

    assert_eq!((summary.rejected, summary.accepted), (1, 1));
}

#[tokio::test]
async fn exhausted_item_stays_queued() {
    let s = setup();
    s.store
        .enqueue_readings(&[reading("meter-a", "1")], s.clock.now_unix_ms())
        .expect("enqueue");
    let sender = ScriptedSender::new(Arc::clone(&s.clock));
    sender.script("meter-a", (0..3).map(|_| retry("offline")).collect());
    let events = Arc::new(Events::default());
    let worker = SyncWorker::new(Arc::clone(&s.store), policy(3), s.clock.clone());
    worker.set_listener(Some(events.clone()));

    let first = worker.run(&sender).await.expect("run");

    assert_eq!(first.pending, 1);
    assert_eq!(sender.calls().len(), 3);
    let item = s.store.outbox_items().expect("items").remove(0);
    assert_eq!(item.state, OutboxState::Queued);
    assert_eq!(item.last_error.as_deref(), Some("offline"));
    let events = events.0.lock().expect("events").clone();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SyncEvent::RetriesExhausted { attempts: 3, .. }))
    );
    assert_eq!(events.last(), Some(&SyncEvent::Idle { pending: 1 }));

    let second = worker.run(&sender).await.expect("next run");
    assert_eq!(second.accepted, 1, "the next run starts the item afresh");
}

#[tokio::test]
async fn authentication_stops_run_without_attempt() {
    let s = setup();
    s.store
        .enqueue_readings(&[reading("meter-a", "1")], s.clock.now_unix_ms())
        .expect("enqueue");
    let sender = ScriptedSender::new(Arc::clone(&s.clock));
    sender.script("meter-a", vec![SendOutcome::AuthenticationRequired]);
    let worker = SyncWorker::new(Arc::clone(&s.store), policy(3), s.clock.clone());

    let summary = worker.run(&sender).await.expect("run");

    assert!(summary.authentication_required);
    let item = s.store.outbox_items().expect("items").remove(0);
    assert_eq!(item.state, OutboxState::Queued);
    assert_eq!(item.attempts, 0);
}

#[tokio::test]
async fn restart_resends_with_same_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(FakeClock::starting_at(1_000_000));
    let key = {
        let store = Arc::new(EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("store"));
        let item = store
            .enqueue_readings(&[reading("meter-a", "1")], clock.now_unix_ms())
            .expect("enqueue")
            .remove(0);
        let worker = SyncWorker::new(Arc::clone(&store), policy(3), clock.clone());
        let killed =
            tokio::time::timeout(Duration::from_millis(50), worker.run(&HangingSender)).await;
        assert!(killed.is_err(), "the hanging send must be cut off");
        let stored = store.outbox_items().expect("items").remove(0);
        assert_eq!(stored.state, OutboxState::Sending);
        item.idempotency_key
    };

    let store = Arc::new(EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("reopen"));
    let sender = ScriptedSender::new(Arc::clone(&clock));
    let worker = SyncWorker::new(Arc::clone(&store), policy(3), clock.clone());
    let summary = worker.run(&sender).await.expect("run after restart");

    assert_eq!(summary.accepted, 1);
    let calls = sender.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].key, key);
}

#[tokio::test]
async fn events_follow_each_item() {
    let s = setup();
    let sender = ScriptedSender::new(Arc::clone(&s.clock));
    sender.script("meter-a", vec![retry("offline")]);
    let events = Arc::new(Events::default());
    let worker =
        SyncWorker::new(Arc::clone(&s.store), policy(3), s.clock.clone()).with_random_source(|| 0);
    worker.set_listener(Some(events.clone()));
    let item = s
        .store
        .enqueue_readings(&[reading("meter-a", "1")], s.clock.now_unix_ms())
        .expect("enqueue")
        .remove(0);

    worker.run(&sender).await.expect("run");

    let key = item.idempotency_key;
    let events = events.0.lock().expect("events").clone();
    let expected = vec![
        SyncEvent::Sending {
            seq: item.seq,
            idempotency_key: key.clone(),
            meter_id: "meter-a".into(),
            attempt: 1,
        },
        SyncEvent::RetryScheduled {
            seq: item.seq,
            idempotency_key: key.clone(),
            attempt: 1,
            delay: Duration::ZERO,
            reason: "offline".into(),
        },
        SyncEvent::Sending {
            seq: item.seq,
            idempotency_key: key.clone(),
            meter_id: "meter-a".into(),
            attempt: 2,
        },
        SyncEvent::Accepted {
            seq: item.seq,
            idempotency_key: key,
            reading_id: "r-2".into(),
        },
        SyncEvent::Idle { pending: 0 },
    ];
    assert_eq!(events, expected);
}

#[tokio::test]
async fn long_queue_drains_in_order() {
    let s = setup();
    let readings: Vec<_> = (1..=300)
        .map(|i| {
            reading(
                if i % 10 == 0 { "meter-b" } else { "meter-a" },
                &i.to_string(),
            )
        })
        .collect();
    s.store
        .enqueue_readings(&readings, s.clock.now_unix_ms())
        .expect("enqueue");
    let sender = ScriptedSender::new(Arc::clone(&s.clock));
    let worker = SyncWorker::new(Arc::clone(&s.store), policy(3), s.clock.clone());

    let summary = worker.run(&sender).await.expect("run");

    assert_eq!(summary.accepted, 300);
    for meter in ["meter-a", "meter-b"] {
        let values: Vec<u32> = sender
            .calls()
            .iter()
            .filter(|c| c.meter_id == meter)
            .map(|c| c.value.parse().expect("number"))
            .collect();
        assert!(
            values.windows(2).all(|w| w[0] < w[1]),
            "{meter} out of order"
        );
    }
}

#[tokio::test]
async fn rate_limit_waits_without_using_attempts() {
    let s = setup();
    s.store
        .enqueue_readings(&[reading("meter-a", "1")], s.clock.now_unix_ms())
        .expect("enqueue");
    let sender = ScriptedSender::new(Arc::clone(&s.clock));
    let limited = || SendOutcome::RateLimited {
        retry_after: Duration::from_secs(30),
        reason: "HTTP 429".to_owned(),
    };
    // Three rate limits against a budget of two attempts: none counts.
    sender.script("meter-a", vec![limited(), limited(), limited()]);
    let started = s.clock.now_unix_ms();
    let worker = SyncWorker::new(Arc::clone(&s.store), policy(2), s.clock.clone());

    let summary = worker.run(&sender).await.expect("run");

    assert_eq!(summary.accepted, 1);
    assert_eq!(sender.calls().len(), 4);
    assert!(
        s.clock.now_unix_ms() - started >= 90_000,
        "each 429 must wait its Retry-After"
    );
}

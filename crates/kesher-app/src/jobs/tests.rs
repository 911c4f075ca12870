#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::test_support::{TestApp, app_named};
use jiff::tz::TimeZone;
use serde_json::json;
use std::sync::Arc;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// An app on a manual clock at `at`.
fn app_at(at: &str) -> (TestApp, Arc<ManualClock>) {
    let mut t = app_named("jobs");
    let clock = Arc::new(ManualClock::new(ts(at)));
    t.app = t.app.clone().with_clock(clock.clone());
    (t, clock)
}

fn worker(name: &str) -> Worker {
    Worker::new(name, SignedDuration::from_mins(5))
}

#[test]
fn an_empty_queue_says_so() {
    let (t, _) = app_at("2026-01-10T12:00:00Z");
    assert_eq!(t.app.run_next_job(&worker("w")).unwrap(), JobOutcome::EmptyQueue);
}

#[test]
fn a_due_job_runs_once_and_is_done() {
    let (t, clock) = app_at("2026-01-10T12:00:00Z");
    let later = t
        .app
        .enqueue_job(kinds::SLEEP, json!({ "seconds": 0 }), Some(ts("2026-01-10T13:00:00Z")))
        .unwrap();
    assert_eq!(later.state, JobState::Scheduled);
    assert_eq!(t.app.run_next_job(&worker("w")).unwrap(), JobOutcome::EmptyQueue);
    clock.set(ts("2026-01-10T13:00:00Z"));
    match t.app.run_next_job(&worker("w")).unwrap() {
        JobOutcome::Completed { job } => {
            assert_eq!(job.id, later.id);
            assert_eq!((job.state, job.attempts), (JobState::Done, 1));
            assert_eq!(job.result, Some(json!({ "slept_seconds": 0.0 })));
            assert_eq!(job.finished_at, Some(ts("2026-01-10T13:00:00Z")));
            assert_eq!(job.lease_owner.as_deref(), Some("w"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.app.run_next_job(&worker("w")).unwrap(), JobOutcome::EmptyQueue);
}

#[test]
fn unknown_kinds_and_bad_arguments_are_refused_at_enqueue() {
    let (t, _) = app_at("2026-01-10T12:00:00Z");
    for (kind, args, field) in [
        ("nope", json!({}), "kind"),
        (kinds::SLEEP, json!({}), "args"),
        (kinds::SLEEP, json!({ "seconds": -1 }), "args"),
        (kinds::SLEEP, json!({ "seconds": 4000 }), "args"),
        (kinds::ANALYZE, json!({ "as_of": 1 }), "args"),
    ] {
        match t.app.enqueue_job(kind, args.clone(), None) {
            Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, field, "{kind} {args}"),
            other => panic!("{kind} {args}: {other:?}"),
        }
    }
    assert_eq!(t.app.list_jobs(None, 10, 0).unwrap().total, 0);
}

#[test]
fn a_stored_job_of_an_unknown_kind_fails_without_retry() {
    let (t, _) = app_at("2026-01-10T12:00:00Z");
    // Written by a newer kesher, say.
    t.app
        .store
        .enqueue_job(&NewJob {
            id: crate::ids::job(),
            kind: "no.such_kind".into(),
            args: json!({}),
            run_at: ts("2026-01-10T12:00:00Z"),
            max_attempts: 3,
            dedupe_key: None,
            created_at: ts("2026-01-10T12:00:00Z"),
        })
        .unwrap();
    match t.app.run_next_job(&worker("w")).unwrap() {
        JobOutcome::Failed { job, error } => {
            assert!(error.contains("unknown job kind \"no.such_kind\""), "{error}");
            assert_eq!((job.state, job.attempts), (JobState::Failed, 1));
            assert_eq!(job.last_error.as_deref(), Some(error.as_str()));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn retries_back_off_exponentially_then_fail() {
    assert_eq!(retry_delay(1), SignedDuration::from_secs(30));
    assert_eq!(retry_delay(2), SignedDuration::from_secs(60));
    assert_eq!(retry_delay(3), SignedDuration::from_secs(120));
    assert_eq!(retry_delay(8), SignedDuration::from_hours(1));
    assert_eq!(retry_delay(u32::MAX), SignedDuration::from_hours(1));
    let now = ts("2026-01-10T12:00:00Z");
    let job = |attempts| Job {
        id: JobId(uuid::Uuid::nil()),
        kind: "k".into(),
        args: json!({}),
        run_at: now,
        state: JobState::Running,
        attempts,
        max_attempts: 3,
        last_error: None,
        lease_owner: Some("w".into()),
        lease_until: Some(now),
        created_at: now,
        started_at: Some(now),
        finished_at: None,
        result: None,
        dedupe_key: None,
    };
    let busy = || Err(HandlerError::Transient("busy".into()));
    assert_eq!(
        decide(&job(1), busy(), now),
        JobFinish::Retry {
            at: ts("2026-01-10T12:00:30Z"),
            error: "busy".into()
        }
    );
    assert_eq!(
        decide(&job(2), busy(), now),
        JobFinish::Retry {
            at: ts("2026-01-10T12:01:00Z"),
            error: "busy".into()
        }
    );
    assert_eq!(decide(&job(3), busy(), now), JobFinish::Failed { error: "busy".into() });
    assert_eq!(
        decide(&job(1), Err(HandlerError::Permanent("bad".into())), now),
        JobFinish::Failed { error: "bad".into() }
    );
    assert_eq!(decide(&job(1), Ok(json!(1)), now), JobFinish::Done { result: json!(1) });
}

#[test]
fn a_job_whose_worker_died_is_taken_up_after_the_lease() {
    let (t, clock) = app_at("2026-01-10T12:00:00Z");
    let job = t.app.enqueue_job(kinds::SLEEP, json!({ "seconds": 0 }), None).unwrap();
    // A worker claims it and dies.
    let lease = SignedDuration::from_mins(5);
    t.app.store.claim_job("dead", clock.now(), lease).unwrap().unwrap();
    assert_eq!(t.app.run_next_job(&worker("w2")).unwrap(), JobOutcome::EmptyQueue);
    clock.advance(lease + SignedDuration::from_secs(1));
    match t.app.run_next_job(&worker("w2")).unwrap() {
        JobOutcome::Completed { job: done } => {
            assert_eq!(done.id, job.id);
            assert_eq!(done.attempts, 2);
            assert_eq!(done.lease_owner.as_deref(), Some("w2"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_job_whose_last_attempt_died_fails_instead_of_running_again() {
    let (t, clock) = app_at("2026-01-10T12:00:00Z");
    let job = t.app.enqueue_job(kinds::SLEEP, json!({ "seconds": 0 }), None).unwrap();
    let lease = SignedDuration::from_mins(5);
    for n in 0..job.max_attempts {
        let claimed = t
            .app
            .store
            .claim_job(&format!("dead{n}"), clock.now(), lease)
            .unwrap()
            .unwrap();
        assert_eq!(claimed.attempts, n + 1);
        clock.advance(lease + SignedDuration::from_secs(1));
    }
    match t.app.run_next_job(&worker("w")).unwrap() {
        JobOutcome::Failed { job: failed, error } => {
            assert_eq!(failed.id, job.id);
            assert_eq!(failed.attempts, job.max_attempts + 1);
            assert!(error.contains("gave up after 3 attempts"), "{error}");
            assert_eq!(failed.result, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_heartbeat_keeps_a_long_job_from_being_taken_over() {
    let (t, clock) = app_at("2026-01-10T12:00:00Z");
    let job = t.app.enqueue_job(kinds::SLEEP, json!({ "seconds": 1 }), None).unwrap();
    // A 60 ms lease: the heartbeat renews it every 20 ms.
    let short = Worker::new("w1", SignedDuration::from_millis(60));
    let outcome = std::thread::scope(|scope| {
        let runner = scope.spawn(|| t.app.run_next_job(&short));
        let wait_until = |what: &str, ok: &dyn Fn(&Job) -> bool| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            loop {
                let j = t.app.get_job(job.id).unwrap();
                if ok(&j) {
                    return j;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "timed out waiting for {what}: {j:?}"
                );
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        };
        wait_until("the claim", &|j| j.state == JobState::Running);
        // An hour passes on the clock while the job runs: without the heartbeat its lease would
        // have expired long ago.
        clock.advance(SignedDuration::from_hours(1));
        let now = clock.now();
        wait_until("a renewal", &|j| j.lease_until.is_some_and(|u| u > now));
        assert_eq!(
            t.app
                .store
                .claim_job("w2", clock.now(), SignedDuration::from_mins(5))
                .unwrap(),
            None
        );
        runner.join().unwrap()
    });
    match outcome.unwrap() {
        JobOutcome::Completed { job: done } => {
            assert_eq!((done.attempts, done.lease_owner.as_deref()), (1, Some("w1")))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn schedules_enqueue_their_next_occurrence_once_in_the_business_zone() {
    let (mut t, clock) = app_at("2026-01-10T12:00:00Z");
    t.app.settings.time_zone = Some(TimeZone::get("Asia/Jerusalem").unwrap());
    let statuses = t.app.schedules().unwrap();
    let names: Vec<&str> = statuses.iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        [
            "analyze",
            "privacy.retention",
            "loyalty.tier_review",
            "loyalty.expire",
            "loyalty.benefits_expire",
            "segments.refresh",
            "campaigns.recurring"
        ]
    );
    assert_eq!(statuses[0].zone, "Asia/Jerusalem");
    // 02:30, 03:30 and 03:45 in Jerusalem (UTC+2 in January); the segments at ten to each hour.
    assert_eq!(statuses[0].next_run, Some(ts("2026-01-11T00:30:00Z")));
    assert_eq!(statuses[1].next_run, Some(ts("2026-01-11T01:30:00Z")));
    assert_eq!(statuses[2].next_run, Some(ts("2026-01-11T01:45:00Z")));
    assert_eq!(statuses[3].next_run, Some(ts("2026-01-11T02:00:00Z")));
    assert_eq!(statuses[4].next_run, Some(ts("2026-01-11T02:15:00Z")));
    assert_eq!(statuses[5].next_run, Some(ts("2026-01-10T12:50:00Z")));
    // The recurring campaigns' greetings just after local midnight.
    assert_eq!(statuses[6].next_run, Some(ts("2026-01-10T22:15:00Z")));
    assert_eq!(t.app.ensure_schedules().unwrap(), Some(ts("2026-01-10T12:50:00Z")));
    // Again, as a second server would: nothing new.
    assert_eq!(t.app.ensure_schedules().unwrap(), Some(ts("2026-01-10T12:50:00Z")));
    let jobs = t.app.list_jobs(None, 10, 0).unwrap();
    assert_eq!(jobs.total, 7);
    let mut keys: Vec<String> = jobs.items.iter().filter_map(|j| j.dedupe_key.clone()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "schedule:analyze:2026-01-11T00:30:00Z",
            "schedule:campaigns.recurring:2026-01-10T22:15:00Z",
            "schedule:loyalty.benefits_expire:2026-01-11T02:15:00Z",
            "schedule:loyalty.expire:2026-01-11T02:00:00Z",
            "schedule:loyalty.tier_review:2026-01-11T01:45:00Z",
            "schedule:privacy.retention:2026-01-11T01:30:00Z",
            "schedule:segments.refresh:2026-01-10T12:50:00Z"
        ]
    );
    // At 02:30 the segments' overdue refresh runs first (no saved segment: nothing to do), then
    // the analysis (no sales yet: nothing to refresh); the next night's analysis and the next
    // hour's refresh are enqueued.
    clock.set(ts("2026-01-11T00:30:00Z"));
    match t.app.run_next_job(&worker("w")).unwrap() {
        JobOutcome::Completed { job } => {
            assert_eq!(job.kind, "segments.refresh");
            assert_eq!(
                job.result.as_ref().map(|r| &r["segments"]),
                Some(&serde_json::json!([])),
                "{job:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    match t.app.run_next_job(&worker("w")).unwrap() {
        JobOutcome::Completed { job } => {
            assert_eq!(job.kind, "campaigns.recurring");
            assert_eq!(
                job.result.as_ref().map(|r| &r["campaigns"]),
                Some(&serde_json::json!([])),
                "{job:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    match t.app.run_next_job(&worker("w")).unwrap() {
        JobOutcome::Completed { job } => {
            assert_eq!(job.kind, "analyze");
            assert!(job.result.as_ref().and_then(|r| r.get("skipped")).is_some(), "{job:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.app.run_next_job(&worker("w")).unwrap(), JobOutcome::EmptyQueue);
    assert_eq!(t.app.ensure_schedules().unwrap(), Some(ts("2026-01-11T00:50:00Z")));
    assert_eq!(t.app.list_jobs(Some(JobState::Scheduled), 10, 0).unwrap().total, 7);
    assert_eq!(t.app.list_jobs(None, 10, 0).unwrap().total, 10);
}

#[test]
fn the_business_zone_is_the_setting_else_the_first_branch_else_utc() {
    let (mut t, _) = app_at("2026-01-10T12:00:00Z");
    assert_eq!(t.app.business_time_zone().unwrap(), TimeZone::UTC);
    t.app
        .store
        .insert_branch(&kesher_core::Branch {
            id: crate::ids::branch(),
            external_id: "B1".into(),
            name: "Haifa".into(),
            region: None,
            time_zone: "America/New_York".into(),
        })
        .unwrap();
    assert_eq!(
        t.app.business_time_zone().unwrap().iana_name(),
        Some("America/New_York")
    );
    t.app.settings.time_zone = Some(TimeZone::get("Asia/Tehran").unwrap());
    assert_eq!(t.app.business_time_zone().unwrap().iana_name(), Some("Asia/Tehran"));
}

#[test]
fn cancel_takes_a_scheduled_job_off_the_queue() {
    let (t, _) = app_at("2026-01-10T12:00:00Z");
    let job = t.app.enqueue_job(kinds::RETENTION, json!({}), None).unwrap();
    let cancelled = t.app.cancel_job(job.id).unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert_eq!(t.app.run_next_job(&worker("w")).unwrap(), JobOutcome::EmptyQueue);
    assert!(matches!(
        t.app.get_job(JobId(uuid::Uuid::nil())),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn run_job_now_runs_that_job_through_a_claim() {
    let (t, _) = app_at("2026-01-10T12:00:00Z");
    // Another due job is left alone.
    let other = t.app.enqueue_job(kinds::SLEEP, json!({ "seconds": 0 }), None).unwrap();
    match t.app.run_job_now(kinds::RETENTION, json!({}), &worker("cli")).unwrap() {
        JobOutcome::Completed { job } => {
            assert_eq!(job.kind, "privacy.retention");
            assert_eq!(job.attempts, 1);
            assert_eq!(job.result.as_ref().and_then(|r| r.get("erased")), Some(&json!(0)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.app.get_job(other.id).unwrap().state, JobState::Scheduled);
}

//! Contract checks of the job queue: claim order, leases that expire and are taken over, lost
//! leases, dedupe keys, retry and cancel, and parallel claimers.

use super::*;
use jiff::SignedDuration;

fn job(n: u128, kind: &str, run_at: &str) -> NewJob {
    NewJob {
        id: JobId(uid(0x10b0_0000 + n)),
        kind: kind.to_string(),
        args: serde_json::json!({ "n": n as u64 }),
        run_at: at(run_at),
        max_attempts: 3,
        dedupe_key: None,
        created_at: at("2025-01-01T00:00:00Z") + SignedDuration::from_secs(n as i64),
    }
}

fn minutes(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

pub fn claim_order(s: &App) {
    assert_eq!(
        s.store.claim_job("w1", at("2025-01-02T00:00:00Z"), minutes(5)).unwrap(),
        None
    );
    // Enqueued out of order; one is not due yet.
    s.store.enqueue_job(&job(1, "b", "2025-01-01T10:00:00Z")).unwrap();
    s.store.enqueue_job(&job(2, "a", "2025-01-01T09:00:00Z")).unwrap();
    s.store.enqueue_job(&job(3, "later", "2025-01-03T00:00:00Z")).unwrap();
    let now = at("2025-01-02T00:00:00Z");
    let first = s.store.claim_job("w1", now, minutes(5)).unwrap().unwrap();
    assert_eq!(first.id, JobId(uid(0x10b0_0002)));
    assert_eq!(first.state, JobState::Running);
    assert_eq!(first.attempts, 1);
    assert_eq!(first.lease_owner.as_deref(), Some("w1"));
    assert_eq!(first.lease_until, Some(now + minutes(5)));
    assert_eq!(first.started_at, Some(now));
    assert_eq!(first.args, serde_json::json!({ "n": 2 }));
    let second = s.store.claim_job("w2", now, minutes(5)).unwrap().unwrap();
    assert_eq!(second.id, JobId(uid(0x10b0_0001)));
    // The third is not due, and the first two are held.
    assert_eq!(s.store.claim_job("w3", now, minutes(5)).unwrap(), None);
    assert_eq!(s.store.get_job(first.id).unwrap(), Some(first.clone()));
    // A claim of one job by id: only when it is due.
    let third = JobId(uid(0x10b0_0003));
    assert_eq!(s.store.claim_job_by_id(third, "w3", now, minutes(5)).unwrap(), None);
    assert_eq!(s.store.claim_job_by_id(first.id, "w3", now, minutes(5)).unwrap(), None);
    let later = at("2025-01-03T00:00:00Z");
    let claimed = s
        .store
        .claim_job_by_id(third, "w3", later, minutes(5))
        .unwrap()
        .unwrap();
    assert_eq!((claimed.id, claimed.attempts), (third, 1));
    assert_eq!(s.store.get_job(JobId(uid(0x10b0_0099))).unwrap(), None);
}

pub fn expired_lease_reclaimed(s: &App) {
    let now = at("2025-01-02T00:00:00Z");
    let j = s.store.enqueue_job(&job(1, "sleep", "2025-01-01T00:00:00Z")).unwrap();
    assert!(j.created);
    assert_eq!((j.value.state, j.value.attempts), (JobState::Scheduled, 0));
    let held = s.store.claim_job("dead", now, minutes(5)).unwrap().unwrap();
    assert_eq!(held.attempts, 1);
    // Still held at the lease's last instant.
    assert_eq!(s.store.claim_job("w2", now + minutes(5), minutes(5)).unwrap(), None);
    // A renewal moves the lease on.
    s.store.renew_lease(held.id, "dead", now + minutes(10)).unwrap();
    assert_eq!(s.store.claim_job("w2", now + minutes(6), minutes(5)).unwrap(), None);
    // The worker died: after its lease, another takes the job up with one more attempt.
    let later = now + minutes(11);
    let again = s.store.claim_job("w2", later, minutes(5)).unwrap().unwrap();
    assert_eq!(again.id, held.id);
    assert_eq!(again.attempts, 2);
    assert_eq!(again.state, JobState::Running);
    assert_eq!(again.lease_owner.as_deref(), Some("w2"));
    assert_eq!(again.lease_until, Some(later + minutes(5)));
    assert_eq!(again.started_at, Some(later));
    let done = s
        .store
        .finish_job(
            held.id,
            "w2",
            later + minutes(1),
            &JobFinish::Done {
                result: serde_json::json!({ "ok": true }),
            },
        )
        .unwrap();
    assert_eq!(done.state, JobState::Done);
    assert_eq!(done.attempts, 2);
    assert_eq!(done.result, Some(serde_json::json!({ "ok": true })));
    assert_eq!(done.finished_at, Some(later + minutes(1)));
    assert_eq!(done.lease_until, None);
    // A done job is never claimed again.
    assert_eq!(s.store.claim_job("w3", later + minutes(60), minutes(5)).unwrap(), None);
}

pub fn lost_lease_cannot_finish(s: &App) {
    let now = at("2025-01-02T00:00:00Z");
    s.store.enqueue_job(&job(1, "k", "2025-01-01T00:00:00Z")).unwrap();
    let held = s.store.claim_job("slow", now, minutes(1)).unwrap().unwrap();
    let taken = s
        .store
        .claim_job("fast", now + minutes(2), minutes(1))
        .unwrap()
        .unwrap();
    assert_eq!((taken.id, taken.attempts), (held.id, 2));
    let outcome = JobFinish::Done {
        result: serde_json::json!(1),
    };
    match s.store.finish_job(held.id, "slow", now + minutes(2), &outcome) {
        Err(StoreError::Conflict { field: "lease", .. }) => {}
        other => panic!("the worker that lost the lease finished the job: {other:?}"),
    }
    match s.store.renew_lease(held.id, "slow", now + minutes(5)) {
        Err(StoreError::Conflict { field: "lease", .. }) => {}
        other => panic!("the worker that lost the lease renewed it: {other:?}"),
    }
    // The holder's lease is untouched, and it finishes.
    let j = s.store.get_job(held.id).unwrap().unwrap();
    assert_eq!(j.lease_owner.as_deref(), Some("fast"));
    assert_eq!(j.lease_until, Some(now + minutes(3)));
    let done = s.store.finish_job(held.id, "fast", now + minutes(2), &outcome).unwrap();
    assert_eq!(done.state, JobState::Done);
    // Finished: no one finishes it again, not even its last holder.
    assert!(matches!(
        s.store.finish_job(held.id, "fast", now + minutes(3), &outcome),
        Err(StoreError::Conflict { field: "lease", .. })
    ));
    assert!(matches!(
        s.store.finish_job(JobId(uid(0x10b0_0099)), "fast", now, &outcome),
        Err(StoreError::NotFound { .. })
    ));
}

pub fn dedupe_retry_cancel_list(s: &App) {
    let now = at("2025-01-02T00:00:00Z");
    let key = "schedule:analyze:2025-01-02T02:30:00Z";
    let first = s
        .store
        .enqueue_job(&NewJob {
            dedupe_key: Some(key.into()),
            ..job(1, "analyze", "2025-01-02T02:30:00Z")
        })
        .unwrap();
    assert!(first.created);
    // Another server enqueues the same occurrence: the first job comes back, nothing is written.
    let again = s
        .store
        .enqueue_job(&NewJob {
            dedupe_key: Some(key.into()),
            ..job(2, "analyze", "2025-01-02T02:30:00Z")
        })
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.value, first.value);
    // The same id twice: the first.
    let same_id = s.store.enqueue_job(&job(1, "other", "2025-01-01T00:00:00Z")).unwrap();
    assert!(!same_id.created);
    assert_eq!(same_id.value.kind, "analyze");
    // Retry: back to scheduled at the given time, the error kept.
    s.store.enqueue_job(&job(3, "flaky", "2025-01-01T00:00:00Z")).unwrap();
    let flaky = s.store.claim_job("w", now, minutes(5)).unwrap().unwrap();
    assert_eq!(flaky.kind, "flaky");
    let retry_at = now + minutes(30);
    let retried = s
        .store
        .finish_job(
            flaky.id,
            "w",
            now,
            &JobFinish::Retry {
                at: retry_at,
                error: "database busy".into(),
            },
        )
        .unwrap();
    assert_eq!(retried.state, JobState::Scheduled);
    assert_eq!(retried.run_at, retry_at);
    assert_eq!(retried.last_error.as_deref(), Some("database busy"));
    assert_eq!((retried.attempts, retried.lease_until), (1, None));
    assert_eq!(s.store.claim_job("w", now + minutes(29), minutes(5)).unwrap(), None);
    let second = s.store.claim_job("w", retry_at, minutes(5)).unwrap().unwrap();
    assert_eq!((second.id, second.attempts), (flaky.id, 2));
    let failed = s
        .store
        .finish_job(
            flaky.id,
            "w",
            retry_at,
            &JobFinish::Failed {
                error: "gave up".into(),
            },
        )
        .unwrap();
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.last_error.as_deref(), Some("gave up"));
    assert_eq!(failed.finished_at, Some(retry_at));
    // Cancel: a scheduled job only.
    let cancelled = s.store.cancel_job(first.value.id, now).unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert_eq!(cancelled.finished_at, Some(now));
    assert_eq!(s.store.claim_job("w", now + minutes(600), minutes(5)).unwrap(), None);
    assert!(matches!(
        s.store.cancel_job(first.value.id, now),
        Err(StoreError::Conflict { field: "state", .. })
    ));
    s.store.enqueue_job(&job(4, "long", "2025-01-01T00:00:00Z")).unwrap();
    let long = s.store.claim_job("w", now, minutes(5)).unwrap().unwrap();
    assert!(matches!(
        s.store.cancel_job(long.id, now),
        Err(StoreError::Conflict { field: "state", .. })
    ));
    assert_eq!(s.store.get_job(long.id).unwrap().unwrap().state, JobState::Running);
    assert!(matches!(
        s.store.cancel_job(JobId(uid(0x10b0_0099)), now),
        Err(StoreError::NotFound { .. })
    ));
    // Newest first, filtered by state, paged.
    let all = s.store.list_jobs(None, 10, 0).unwrap();
    assert_eq!(all.total, 3);
    let ids: Vec<JobId> = all.items.iter().map(|j| j.id).collect();
    assert_eq!(ids, vec![long.id, flaky.id, first.value.id]);
    let page = s.store.list_jobs(None, 1, 1).unwrap();
    assert_eq!((page.total, page.items.len(), page.items[0].id), (3, 1, flaky.id));
    let running = s.store.list_jobs(Some(JobState::Running), 10, 0).unwrap();
    assert_eq!((running.total, running.items[0].id), (1, long.id));
    assert_eq!(s.store.list_jobs(Some(JobState::Done), 10, 0).unwrap().total, 0);
    assert_eq!(s.store.list_jobs(Some(JobState::Cancelled), 10, 0).unwrap().total, 1);
}

pub fn parallel_claimers(s: &App) {
    const JOBS: u128 = 40;
    const THREADS: usize = 6;
    for n in 0..JOBS {
        s.store.enqueue_job(&job(n, "k", "2025-01-01T00:00:00Z")).unwrap();
    }
    let now = at("2025-01-02T00:00:00Z");
    let claimed: Vec<(usize, Job)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                scope.spawn(move || {
                    let worker = format!("w{t}");
                    let mut mine = Vec::new();
                    while let Some(j) = s.store.claim_job(&worker, now, minutes(5)).unwrap() {
                        mine.push((t, j));
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(claimed.len(), JOBS as usize);
    let mut ids: Vec<JobId> = claimed.iter().map(|(_, j)| j.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), JOBS as usize, "a job was claimed twice");
    for (t, j) in &claimed {
        assert_eq!(j.lease_owner.as_deref(), Some(format!("w{t}").as_str()));
        assert_eq!(j.attempts, 1);
    }
    assert_eq!(
        s.store.list_jobs(Some(JobState::Running), 100, 0).unwrap().total,
        JOBS as u64
    );
}

//! The job API: the schedules and the queue, enqueueing a known kind and cancelling.

use crate::support::spawn_app;
use kesher_auth::Role;
use serde_json::json;

#[test]
fn jobs_are_listed_with_the_schedules_enqueued_and_cancelled() {
    let app = spawn_app();
    let (s, v) = app.get("/api/jobs");
    assert_eq!(s, 200, "{v}");
    let names: Vec<&str> = v["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
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
    assert_eq!(v["schedules"][0]["cron"], "30 2 * * *");
    assert!(v["schedules"][0]["next_run"].is_string(), "{v}");
    assert_eq!(v["jobs"]["total"], 0);
    let (s, job) = app.post("/api/jobs", json!({"kind": "diagnostic.sleep", "args": {"seconds": 1}}));
    assert_eq!(s, 201, "{job}");
    assert_eq!(job["state"], "scheduled");
    assert_eq!(
        (job["attempts"].clone(), job["max_attempts"].clone()),
        (json!(0), json!(3))
    );
    let id = job["id"].as_str().unwrap().to_string();
    let (_, v) = app.get("/api/jobs?state=scheduled");
    assert_eq!(v["jobs"]["total"], 1);
    assert_eq!(v["jobs"]["items"][0]["id"], id.as_str());
    assert_eq!(app.get("/api/jobs?state=done").1["jobs"]["total"], 0);
    let (s, v) = app.get("/api/jobs?state=sleeping");
    assert_eq!((s, v["error"]["field"].clone()), (422, json!("state")), "{v}");
    // Unknown kinds and wrong arguments name the field.
    let (s, v) = app.post("/api/jobs", json!({"kind": "no.such_kind"}));
    assert_eq!((s, v["error"]["field"].clone()), (422, json!("kind")), "{v}");
    let (s, v) = app.post(
        "/api/jobs",
        json!({"kind": "diagnostic.sleep", "args": {"seconds": "x"}}),
    );
    assert_eq!((s, v["error"]["field"].clone()), (422, json!("args")), "{v}");
    // Cancel once; a second time is a conflict on the state.
    let (s, v) = app.post(&format!("/api/jobs/{id}/cancel"), json!({}));
    assert_eq!((s, v["state"].clone()), (200, json!("cancelled")), "{v}");
    let (s, v) = app.post(&format!("/api/jobs/{id}/cancel"), json!({}));
    assert_eq!((s, v["error"]["field"].clone()), (409, json!("state")), "{v}");
    let (s, _) = app.post("/api/jobs/0190a0b0-0000-7000-8000-000000000001/cancel", json!({}));
    assert_eq!(s, 404);
    // Enqueueing and cancelling are audited.
    let (_, log) = app.get("/api/audit?limit=20");
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"jobs.enqueue") && actions.contains(&"jobs.cancel"),
        "{actions:?}"
    );
    // Analysts read, and may not enqueue.
    let analyst = app.token_for(Role::Analyst, None);
    assert_eq!(app.call_as(Some(&analyst), "GET", "/api/jobs", None).0, 200);
    let (s, _) = app.call_as(Some(&analyst), "POST", "/api/jobs", Some(json!({"kind": "analyze"})));
    assert_eq!(s, 403);
}

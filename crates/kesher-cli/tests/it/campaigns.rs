//! `kesher campaigns …` end to end on SQLite: a campaign created from a file, listed, shown,
//! previewed, launched on the log channel (the control group drawn, every row written), delivered,
//! reported; the sample-size plan.

use super::*;

const DEFINITION: &str = r#"{
  "name": "Hello",
  "kind": {"type": "scheduled", "at": "2025-03-01T10:00"},
  "audience": "visits >= 0",
  "channels": ["log"],
  "default_language": "en",
  "templates": {"en": {"subject": "Hi", "body": "Hello {{ customer.name }}"}},
  "control_bp": 3400
}"#;

#[test]
fn a_campaign_is_created_launched_delivered_and_reported() {
    let d = Dir::new();
    seed(&d);
    let f = d.file("c.json", DEFINITION);
    let o = kesher(&d.db(), &["campaigns", "create", f.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let id = text(&o).0.trim().to_string();
    let o = kesher(&d.db(), &["campaigns", "list"]);
    assert!(text(&o).0.contains("draft"), "{:?}", text(&o));
    let o = kesher(&d.db(), &["campaigns", "preview", &id, "--customer", "M3"]);
    let preview: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(preview["body"], "Hello Moshe Levi", "{preview}");
    assert_eq!(preview["channel"], "log");
    let o = kesher(&d.db(), &["campaigns", "launch", &id]);
    assert!(o.status.success(), "{:?}", text(&o));
    let launch: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    // Three prospects, 34 %: round(1.02) = 1 in the control group.
    assert_eq!(launch["audience"], 3);
    assert_eq!(launch["control"], 1);
    assert_eq!(launch["queued"], 2);
    let o = kesher(&d.db(), &["campaigns", "deliver"]);
    let delivered: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(delivered["sent"], 2, "{delivered}");
    let o = kesher(&d.db(), &["campaigns", "report", &id, "--json"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let report: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(report["sent"], 2);
    assert_eq!(report["control"], 1);
    for key in ["suppressed", "response", "revenue", "projection"] {
        assert!(report.get(key).is_some(), "{key}: {report}");
    }
    let o = kesher(&d.db(), &["campaigns", "pause", &id]);
    assert!(text(&o).0.contains("paused"), "{:?}", text(&o));
}

#[test]
fn a_running_server_delivers_a_launched_campaign() {
    let d = Dir::new();
    seed(&d);
    let f = d.file("c.json", DEFINITION);
    let o = kesher(&d.db(), &["campaigns", "create", f.to_str().unwrap()]);
    let id = text(&o).0.trim().to_string();
    let _server = super::jobs::Server(super::jobs::server(&d.db()));
    let o = kesher(&d.db(), &["campaigns", "launch", &id]);
    assert!(o.status.success(), "{:?}", text(&o));
    // Nobody calls deliver: the server's delivery loop sends both queued messages.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let o = kesher(&d.db(), &["campaigns", "report", &id, "--json"]);
        let report: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap_or_default();
        if report["sent"] == 2 && report["queued"] == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not delivered: {report}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn the_plan_gives_customers_per_group() {
    let d = Dir::new();
    let o = kesher(&d.db(), &["campaigns", "plan", "--baseline", "0.05", "--lift", "0.2"]);
    assert_eq!(text(&o).0, "8158 customers per group\n", "{:?}", text(&o));
}

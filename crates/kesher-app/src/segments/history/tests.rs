//! Tests of saved segments over time, on the manual clock: entries and exits with the run's
//! instant, re-entry, a time-based segment, a deleted segment, one no longer saved, analyze.

use super::*;
use crate::analyze::AnalyzeOptions;
use crate::clock::ManualClock;
use crate::import::ImportKind;
use crate::test_support::{TestApp, app_named, import};
use jiff::SignedDuration;
use kesher_analytics::{Model, PeriodUnit};
use kesher_store::Identifier;
use std::sync::Arc;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn app_at(at: &str) -> (TestApp, Arc<ManualClock>) {
    let mut t = app_named("seghist");
    let clock = Arc::new(ManualClock::new(ts(at)));
    t.app = t.app.clone().with_clock(clock.clone());
    (t, clock)
}

fn actor(app: &App) -> Actor {
    Actor::new("test", app.now())
}

/// A1 and B2 in Haifa, C3 in Tel Aviv; one product, P1.
fn customers(app: &App) {
    import(
        app,
        ImportKind::Products,
        "sku,name,category,list_price,unit_cost,currency\nP1,Beans,coffee,10.00,4.00,ILS\n",
    );
    import(
        app,
        ImportKind::Customers,
        "customer_id,name,city\nA1,Avi,Haifa\nB2,Bat,Haifa\nC3,Cal,Tel Aviv\n",
    );
}

fn id_of(app: &App, member: &str) -> CustomerId {
    app.store
        .lookup_customer(&Identifier::Member(member.into()))
        .unwrap()
        .unwrap()
        .id
}

fn move_to(app: &App, member: &str, city: &str) {
    let mut c = app.store.get_customer(id_of(app, member)).unwrap().unwrap();
    c.demographics.city = Some(city.into());
    app.update_customer(&c, &actor(app)).unwrap();
}

/// A segment's whole history, oldest first, as (member number, kind, at).
fn history(app: &App, name: &str) -> Vec<(String, &'static str, Timestamp)> {
    let page = app.segment_history(name, None, None, MAX_HISTORY_PAGE).unwrap();
    let mut out: Vec<_> = page
        .events
        .iter()
        .map(|e| {
            let c = app.store.get_customer(e.customer_id).unwrap().unwrap();
            (c.member_no.unwrap(), e.kind.as_str(), e.at)
        })
        .collect();
    out.reverse();
    out
}

fn counts(r: &SegmentRefresh, name: &str) -> (u64, u64, u64) {
    let s = r.segments.iter().find(|s| s.name == name).unwrap();
    assert_eq!(s.skipped, None, "{s:?}");
    (s.members, s.entered, s.left)
}

#[test]
fn entries_and_exits_are_recorded_at_each_run_and_a_customer_may_enter_again() {
    let (t, clock) = app_at("2026-03-01T10:00:00.123456789Z");
    let app = &t.app;
    customers(app);
    app.save_segment("haifa", r#"city = "Haifa""#, None, &actor(app))
        .unwrap();
    let t0 = ts("2026-03-01T10:00:00.123456Z");
    let r = app.refresh_segment_history(&actor(app)).unwrap();
    // The run's instant, to the microsecond as stored.
    assert_eq!(r.at, t0);
    assert_eq!(counts(&r, "haifa"), (2, 2, 0));
    assert!(r.ended.is_empty());
    assert_eq!(
        history(app, "haifa"),
        [("A1".into(), "entered", t0), ("B2".into(), "entered", t0)]
    );

    clock.advance(SignedDuration::from_hours(1));
    let t1 = instant(app.now());
    move_to(app, "A1", "Tel Aviv");
    move_to(app, "C3", "Haifa");
    let r1 = app.refresh_segment_history(&actor(app)).unwrap();
    assert_eq!(counts(&r1, "haifa"), (2, 1, 1));
    assert_ne!(r1.run_id, r.run_id);

    // Nothing changed: nothing written.
    clock.advance(SignedDuration::from_hours(1));
    let r2 = app.refresh_segment_history(&actor(app)).unwrap();
    assert_eq!(counts(&r2, "haifa"), (2, 0, 0));

    clock.advance(SignedDuration::from_hours(1));
    let t3 = instant(app.now());
    move_to(app, "A1", "Haifa");
    let r3 = app.refresh_segment_history(&actor(app)).unwrap();
    assert_eq!(counts(&r3, "haifa"), (3, 1, 0));
    assert_eq!(
        history(app, "haifa"),
        [
            ("A1".into(), "entered", t0),
            ("B2".into(), "entered", t0),
            ("A1".into(), "left", t1),
            ("C3".into(), "entered", t1),
            ("A1".into(), "entered", t3),
        ]
    );
    // Each event names the run that found it.
    let page = app.segment_history("haifa", None, None, 10).unwrap();
    assert_eq!(page.events[0].run_id, r3.run_id);
    assert_eq!(page.events[1].run_id, r1.run_id);
    assert_eq!(page.events[4].run_id, r.run_id);
    assert!(page.saved);
    assert_eq!(page.members, 3);
    // The export shows the customer's membership since the re-entry and the history.
    let doc = app.export_customer(id_of(app, "A1"), &actor(app)).unwrap();
    assert_eq!(doc["segments"]["member_of"][0]["segment"], "haifa", "{doc}");
    assert_eq!(doc["segments"]["member_of"][0]["since"], t3.to_string(), "{doc}");
    assert_eq!(doc["segments"]["history"].as_array().unwrap().len(), 3, "{doc}");
}

#[test]
fn the_history_reads_in_pages_newest_first() {
    let (t, clock) = app_at("2026-03-01T10:00:00Z");
    let app = &t.app;
    customers(app);
    app.save_segment("haifa", r#"city = "Haifa""#, None, &actor(app))
        .unwrap();
    app.refresh_segment_history(&actor(app)).unwrap();
    clock.advance(SignedDuration::from_hours(1));
    move_to(app, "C3", "Haifa");
    app.refresh_segment_history(&actor(app)).unwrap();
    let first = app.segment_history("haifa", None, None, 2).unwrap();
    assert_eq!(first.events.len(), 2);
    assert!(first.events[0].seq > first.events[1].seq);
    assert_eq!(first.next_before, Some(first.events[1].seq));
    let second = app.segment_history("haifa", None, first.next_before, 2).unwrap();
    assert_eq!(second.events.len(), 1);
    assert_eq!(second.next_before, None);
    assert!(second.events[0].seq < first.events[1].seq);
    // A limit of 0 reads one event; a huge one at most a page.
    assert_eq!(app.segment_history("haifa", None, None, 0).unwrap().events.len(), 1);
    assert_eq!(
        app.segment_history("haifa", None, None, usize::MAX)
            .unwrap()
            .events
            .len(),
        3
    );
    assert!(matches!(
        app.segment_history("nowhere", None, None, 10),
        Err(SegmentError::NotFound(_))
    ));
    assert!(matches!(
        app.segment_history("not a name", None, None, 10),
        Err(SegmentError::Invalid { .. })
    ));
}

#[test]
fn a_segment_of_days_since_the_last_purchase_is_entered_and_left_as_time_passes() {
    let (t, clock) = app_at("2026-01-10T12:00:00Z");
    let app = &t.app;
    customers(app);
    import(
        app,
        ImportKind::Transactions,
        "transaction_id,customer_id,branch_id,occurred_at,sku,quantity,unit_price,currency\n\
         T1,A1,B1,2026-01-01T10:00:00Z,P1,1,10.00,ILS\n",
    );
    app.save_segment("lapsed", "days_since_last_purchase > 30", None, &actor(app))
        .unwrap();
    assert_eq!(
        counts(&app.refresh_segment_history(&actor(app)).unwrap(), "lapsed"),
        (0, 0, 0)
    );
    clock.set(ts("2026-02-05T12:00:00Z"));
    assert_eq!(
        counts(&app.refresh_segment_history(&actor(app)).unwrap(), "lapsed"),
        (1, 1, 0)
    );
    // A purchase brings the customer back, and the next run sees them leave.
    import(
        app,
        ImportKind::Transactions,
        "transaction_id,customer_id,branch_id,occurred_at,sku,quantity,unit_price,currency\n\
         T2,A1,B1,2026-02-06T10:00:00Z,P1,1,10.00,ILS\n",
    );
    clock.set(ts("2026-02-06T12:00:00Z"));
    assert_eq!(
        counts(&app.refresh_segment_history(&actor(app)).unwrap(), "lapsed"),
        (0, 0, 1)
    );
    assert_eq!(
        history(app, "lapsed"),
        [
            ("A1".into(), "entered", ts("2026-02-05T12:00:00Z")),
            ("A1".into(), "left", ts("2026-02-06T12:00:00Z")),
        ]
    );
}

#[test]
fn deleting_a_segment_ends_its_members_time_in_it_and_keeps_its_history() {
    let (t, clock) = app_at("2026-03-01T10:00:00Z");
    let app = &t.app;
    customers(app);
    app.save_segment("haifa", r#"city = "Haifa""#, None, &actor(app))
        .unwrap();
    app.refresh_segment_history(&actor(app)).unwrap();
    clock.advance(SignedDuration::from_mins(30));
    let gone = app.now();
    app.delete_segment("haifa", &actor(app)).unwrap();
    let page = app.segment_history("haifa", None, None, 10).unwrap();
    assert!(!page.saved);
    assert_eq!(page.members, 0);
    assert_eq!(
        history(app, "haifa")[2..],
        [("A1".into(), "left", gone), ("B2".into(), "left", gone)]
    );
    // The deletion was one run of its own.
    assert_eq!(page.events[0].run_id, page.events[1].run_id);
    assert_ne!(page.events[0].run_id, page.events[2].run_id);
    // Later runs leave it alone.
    clock.advance(SignedDuration::from_hours(1));
    let r = app.refresh_segment_history(&actor(app)).unwrap();
    assert!(r.segments.is_empty() && r.ended.is_empty(), "{r:?}");
    assert_eq!(history(app, "haifa").len(), 4);
    // Saved again, the same history goes on: its members enter again.
    app.save_segment("haifa", r#"city = "Haifa""#, None, &actor(app))
        .unwrap();
    let r = app.refresh_segment_history(&actor(app)).unwrap();
    assert_eq!(counts(&r, "haifa"), (2, 2, 0));
    assert_eq!(history(app, "haifa").len(), 6);
    assert!(matches!(
        app.delete_segment("elsewhere", &actor(app)),
        Err(SegmentError::NotFound(_))
    ));
}

#[test]
fn a_segment_no_longer_saved_is_ended_by_the_next_run() {
    let (t, clock) = app_at("2026-03-01T10:00:00Z");
    let app = &t.app;
    customers(app);
    app.save_segment("haifa", r#"city = "Haifa""#, None, &actor(app))
        .unwrap();
    app.save_segment("everyone", "city is set", None, &actor(app)).unwrap();
    let r = app.refresh_segment_history(&actor(app)).unwrap();
    assert_eq!(counts(&r, "everyone"), (3, 3, 0));
    // Its setting removed without the segment's own deletion.
    app.delete_setting("segment.haifa", &actor(app)).unwrap();
    clock.advance(SignedDuration::from_hours(1));
    let r = app.refresh_segment_history(&actor(app)).unwrap();
    assert_eq!(r.segments.len(), 1);
    assert_eq!(r.ended.len(), 1);
    assert_eq!((r.ended[0].name.as_str(), r.ended[0].left), ("haifa", 2));
    assert_eq!(app.segment_history("haifa", None, None, 10).unwrap().members, 0);
}

#[test]
fn a_stored_expression_that_no_longer_parses_is_skipped_and_named() {
    let (t, _) = app_at("2026-03-01T10:00:00Z");
    let app = &t.app;
    customers(app);
    app.save_segment("haifa", r#"city = "Haifa""#, None, &actor(app))
        .unwrap();
    let broken = serde_json::json!({"name": "broken", "expression": "city = = 1",
        "updated_at": "2026-03-01T10:00:00Z", "updated_by": "test"});
    app.put_setting("segment.broken", &broken.to_string(), &actor(app))
        .unwrap();
    let r = app.refresh_segment_history(&actor(app)).unwrap();
    assert_eq!(r.segments[0].name, "broken");
    assert!(r.segments[0].skipped.is_some(), "{r:?}");
    assert_eq!(counts(&r, "haifa"), (2, 2, 0));
}

#[test]
fn analyze_refreshes_the_saved_segments_on_its_new_scores() {
    let (t, _) = app_at("2026-03-01T10:00:00Z");
    let app = &t.app;
    customers(app);
    let mut tx = String::from("transaction_id,customer_id,branch_id,occurred_at,sku,quantity,unit_price,currency\n");
    for (i, day) in [1, 8, 15, 22].iter().enumerate() {
        tx.push_str(&format!("S{i},A1,B1,2026-02-{day:02}T10:00:00Z,P1,1,10.00,ILS\n"));
    }
    tx.push_str("S9,B2,B1,2026-02-03T10:00:00Z,P1,1,10.00,ILS\n");
    import(app, ImportKind::Transactions, &tx);
    app.save_segment("scored", "stage is set", None, &actor(app)).unwrap();
    let r = app
        .analyze(&AnalyzeOptions::new(app.now(), PeriodUnit::Week, Model::BgNbd))
        .unwrap();
    let s = r.segments.unwrap();
    assert_eq!(s.at, app.now());
    let scored = counts(&s, "scored");
    assert!(scored.0 >= 2 && scored.1 == scored.0, "{s:?}");
}

#[test]
fn the_difference_names_who_entered_and_who_left() {
    let id = |n: u128| CustomerId(uuid::Uuid::from_u128(n));
    let (entered, left) = difference(&[id(1), id(3), id(5)], &[id(2), id(3), id(6), id(7)]);
    assert_eq!(entered, [id(2), id(6), id(7)]);
    assert_eq!(left, [id(1), id(5)]);
    assert_eq!(difference(&[], &[]), (vec![], vec![]));
}

//! Contract checks of saved segments over time: members and history as written, the reads
//! (newest first in pages, by branch, counted), what merge, deletion, erasure and `kesher copy`
//! do with them, and two refreshes in parallel recording each entry once.

use super::*;

fn customers(s: &App, n: u128, branch: Option<BranchId>) -> Vec<CustomerId> {
    (1..=n)
        .map(|i| {
            let mut c = customer(i, &format!("M{i}"), &format!("Member {i}"));
            // Odd customers registered at the branch.
            if i % 2 == 1 {
                c.source_branch = branch;
            }
            s.insert_customer(&c, &actor()).unwrap();
            c.id
        })
        .collect()
}

fn write(s: &App, f: impl FnOnce(&mut dyn Tx)) {
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    f(tx.as_mut());
    tx.commit().unwrap();
}

fn run(n: u128) -> SegmentRunId {
    SegmentRunId(uid(9000 + n))
}

fn members_of(s: &App, segment: &str) -> Vec<SegmentMember> {
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    tx.segment_members(segment).unwrap()
}

fn member(segment: &str, c: CustomerId, since: &str) -> SegmentMember {
    SegmentMember {
        segment: segment.into(),
        customer_id: c,
        since: at(since),
    }
}

/// Every event of the segment, oldest first.
fn history(s: &App, segment: &str) -> Vec<SegmentEvent> {
    let mut all = s.store.segment_events(segment, None, None, 10_000).unwrap();
    all.reverse();
    all
}

pub fn segment_members_and_history_read_back_as_written(s: &App) {
    let (b, _, _) = seed_reference(&*s.store);
    let ids = customers(s, 4, Some(b));
    let gone = CustomerId(uid(4242));
    let (t1, t2) = ("2025-03-01T10:00:00.000001Z", "2025-03-02T10:00:00Z");
    write(s, |tx| {
        // Added in the order given; a customer that does not exist is skipped.
        let added = tx
            .add_segment_members("vip", &[ids[2], ids[0], gone, ids[1]], at(t1))
            .unwrap();
        assert_eq!(added, [ids[2], ids[0], ids[1]]);
        tx.insert_segment_events("vip", SegmentEventKind::Entered, at(t1), run(1), &added)
            .unwrap();
        // Already members: nothing added.
        assert_eq!(
            tx.add_segment_members("vip", &[ids[0], ids[3]], at(t2)).unwrap(),
            [ids[3]]
        );
        tx.insert_segment_events("vip", SegmentEventKind::Entered, at(t2), run(2), &[ids[3]])
            .unwrap();
        tx.add_segment_members("other", &[ids[0]], at(t2)).unwrap();
    });
    assert_eq!(
        members_of(s, "vip"),
        [
            member("vip", ids[0], t1),
            member("vip", ids[1], t1),
            member("vip", ids[2], t1),
            member("vip", ids[3], t2)
        ]
    );
    write(s, |tx| {
        // Only members are removed, and only they come back.
        let removed = tx.remove_segment_members("vip", &[ids[1], gone, ids[3]]).unwrap();
        assert_eq!(removed, [ids[1], ids[3]]);
        tx.insert_segment_events("vip", SegmentEventKind::Left, at(t2), run(2), &removed)
            .unwrap();
        assert_eq!(tx.remove_segment_members("vip", &[ids[1]]).unwrap(), []);
    });
    assert_eq!(
        members_of(s, "vip"),
        [member("vip", ids[0], t1), member("vip", ids[2], t1)]
    );
    let events = history(s, "vip");
    let seen: Vec<_> = events.iter().map(|e| (e.customer_id, e.kind, e.at, e.run_id)).collect();
    assert_eq!(
        seen,
        [
            (ids[2], SegmentEventKind::Entered, at(t1), run(1)),
            (ids[0], SegmentEventKind::Entered, at(t1), run(1)),
            (ids[1], SegmentEventKind::Entered, at(t1), run(1)),
            (ids[3], SegmentEventKind::Entered, at(t2), run(2)),
            (ids[1], SegmentEventKind::Left, at(t2), run(2)),
            (ids[3], SegmentEventKind::Left, at(t2), run(2)),
        ]
    );
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(events.iter().all(|e| e.segment == "vip"));
    // Newest first, in pages before a seq.
    let page = s.store.segment_events("vip", None, None, 2).unwrap();
    assert_eq!(page, [events[5].clone(), events[4].clone()]);
    let next = s.store.segment_events("vip", None, Some(page[1].seq), 3).unwrap();
    assert_eq!(next, [events[3].clone(), events[2].clone(), events[1].clone()]);
    // A branch's customers only (the odd ones: ids[0] and ids[2]).
    let at_branch = s.store.segment_events("vip", Some(b), None, 10).unwrap();
    assert_eq!(at_branch, [events[1].clone(), events[0].clone()]);
    assert_eq!(s.store.segment_member_count("vip", None).unwrap(), 2);
    assert_eq!(s.store.segment_member_count("vip", Some(b)).unwrap(), 2);
    assert_eq!(s.store.segment_member_count("vip", Some(BranchId(uid(77)))).unwrap(), 0);
    assert_eq!(s.store.segment_member_count("nobody", None).unwrap(), 0);
    assert_eq!(s.store.segments_with_members().unwrap(), ["other", "vip"]);
    assert_eq!(s.store.segment_events("nobody", None, None, 10).unwrap(), []);
    // The export's records.
    let r = s.store.customer_records(ids[1]).unwrap();
    assert_eq!(r.segments, []);
    assert_eq!(r.segment_events, [events[2].clone(), events[4].clone()]);
    let r = s.store.customer_records(ids[0]).unwrap();
    assert_eq!(r.segments, [member("other", ids[0], t2), member("vip", ids[0], t1)]);
}

pub fn merge_moves_segment_memberships_and_history(s: &App) {
    let ids = customers(s, 3, None);
    let (keep, drop) = (ids[0], ids[1]);
    write(s, |tx| {
        // Both in "both" (the dropped one since earlier); only the dropped one in "theirs";
        // only the kept one in "mine".
        tx.add_segment_members("both", &[keep], at("2025-02-01T00:00:00Z"))
            .unwrap();
        tx.add_segment_members("both", &[drop, ids[2]], at("2025-01-01T00:00:00Z"))
            .unwrap();
        tx.add_segment_members("theirs", &[drop], at("2025-01-15T00:00:00Z"))
            .unwrap();
        tx.add_segment_members("mine", &[keep], at("2025-01-20T00:00:00Z"))
            .unwrap();
        tx.insert_segment_events(
            "both",
            SegmentEventKind::Entered,
            at("2025-01-01T00:00:00Z"),
            run(1),
            &[drop, ids[2]],
        )
        .unwrap();
        tx.insert_segment_events(
            "both",
            SegmentEventKind::Entered,
            at("2025-02-01T00:00:00Z"),
            run(2),
            &[keep],
        )
        .unwrap();
    });
    let before = history(s, "both");
    s.merge_customers(keep, drop, &actor()).unwrap();
    assert_eq!(members_of(s, "both"), {
        let mut m = vec![
            member("both", keep, "2025-01-01T00:00:00Z"),
            member("both", ids[2], "2025-01-01T00:00:00Z"),
        ];
        m.sort_by_key(|m| m.customer_id);
        m
    });
    assert_eq!(
        members_of(s, "theirs"),
        [member("theirs", keep, "2025-01-15T00:00:00Z")]
    );
    assert_eq!(members_of(s, "mine"), [member("mine", keep, "2025-01-20T00:00:00Z")]);
    // The history moves whole, numbered as it was.
    let after = history(s, "both");
    assert_eq!(after.len(), before.len());
    for (a, b) in after.iter().zip(&before) {
        let owner = if b.customer_id == drop { keep } else { b.customer_id };
        assert_eq!(
            (a.seq, a.customer_id, a.kind, a.at, a.run_id),
            (b.seq, owner, b.kind, b.at, b.run_id)
        );
    }
    let r = s.store.customer_records(drop).unwrap();
    assert!(r.segments.is_empty() && r.segment_events.is_empty());
}

pub fn deleting_a_customer_removes_their_segment_rows_and_erasure_keeps_them(s: &App) {
    let ids = customers(s, 2, None);
    write(s, |tx| {
        tx.add_segment_members("vip", &ids, at("2025-01-01T00:00:00Z")).unwrap();
        tx.insert_segment_events(
            "vip",
            SegmentEventKind::Entered,
            at("2025-01-01T00:00:00Z"),
            run(1),
            &ids,
        )
        .unwrap();
    });
    // A customer in a segment may still be deleted (created by mistake): their rows go too.
    s.delete_customer(ids[1], &actor()).unwrap();
    assert_eq!(members_of(s, "vip"), [member("vip", ids[0], "2025-01-01T00:00:00Z")]);
    let left: Vec<CustomerId> = history(s, "vip").iter().map(|e| e.customer_id).collect();
    assert_eq!(left, [ids[0]]);
    // Erasure keeps them (statistics: a name, dates and the run).
    let before = s.store.customer_records(ids[0]).unwrap();
    s.erase_customer(ids[0], &actor()).unwrap();
    let after = s.store.customer_records(ids[0]).unwrap();
    assert_eq!(after.segments, before.segments);
    assert_eq!(after.segment_events, before.segment_events);
}

/// Two refreshes at once (two servers' jobs, or a job beside an analysis) record each entry
/// once: the unit of a segment holds its saved setting, and rows are added and removed only
/// once.
pub fn refreshes_in_parallel_record_each_entry_once(s: &App) {
    customers(s, 6, None);
    s.save_segment("named", "member_no is set", None, &actor()).unwrap();
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| s.refresh_segment_history(&actor()).unwrap()))
            .collect();
        for r in runs {
            r.join().unwrap();
        }
    });
    assert_eq!(members_of(s, "named").len(), 6);
    let events = history(s, "named");
    assert_eq!(events.len(), 6, "{events:?}");
    let mut who: Vec<CustomerId> = events.iter().map(|e| e.customer_id).collect();
    who.sort();
    who.dedup();
    assert_eq!(who.len(), 6);
    s.delete_segment("named", &actor()).unwrap();
    assert_eq!(members_of(s, "named"), []);
    assert_eq!(history(s, "named").len(), 12);
}

pub fn a_copy_keeps_segment_memberships_and_history(s: &App, target: &App) {
    let ids = customers(s, 2, None);
    write(s, |tx| {
        tx.add_segment_members("vip", &ids, at("2025-01-01T00:00:00.5Z"))
            .unwrap();
        tx.insert_segment_events(
            "vip",
            SegmentEventKind::Entered,
            at("2025-01-01T00:00:00.5Z"),
            run(1),
            &ids,
        )
        .unwrap();
        tx.remove_segment_members("vip", &ids[..1]).unwrap();
        tx.insert_segment_events(
            "vip",
            SegmentEventKind::Left,
            at("2025-01-02T00:00:00Z"),
            run(2),
            &ids[..1],
        )
        .unwrap();
    });
    let mut w = target.store.begin_bulk_write().unwrap();
    for t in bulk::TABLES {
        let mut rows: Vec<Vec<bulk::Value>> = Vec::new();
        s.store.bulk_read(t, &mut |r| rows.push(r.to_vec())).unwrap();
        w.write_table(t, &mut rows.into_iter()).unwrap();
    }
    w.commit().unwrap();
    assert_eq!(members_of(target, "vip"), members_of(s, "vip"));
    assert_eq!(history(target, "vip"), history(s, "vip"));
    // The numbering goes on after the copied events.
    let last = history(target, "vip").last().unwrap().seq;
    write(target, |tx| {
        tx.insert_segment_events(
            "vip",
            SegmentEventKind::Entered,
            at("2025-01-03T00:00:00Z"),
            run(3),
            &ids[..1],
        )
        .unwrap();
    });
    assert!(history(target, "vip").last().unwrap().seq > last);
}

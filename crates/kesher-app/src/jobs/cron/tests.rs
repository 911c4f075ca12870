use super::*;
use jiff::SignedDuration;
use proptest::prelude::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn tz(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn next(expr: &str, after: &str, zone: &str) -> Option<Timestamp> {
    Cron::parse(expr).unwrap().next_after(ts(after), &tz(zone))
}

#[test]
fn fields_take_stars_lists_ranges_and_steps() {
    let c = Cron::parse("*/15 9-17/4 1,15 * 1-5").unwrap();
    assert_eq!(c.minutes, (1 << 0) | (1 << 15) | (1 << 30) | (1 << 45));
    assert_eq!(c.hours, (1 << 9) | (1 << 13) | (1 << 17));
    assert_eq!(c.days_of_month, (1 << 1) | (1 << 15));
    assert_eq!(c.months, 0b1_1111_1111_1110);
    assert_eq!(c.days_of_week, 0b011_1110);
    assert!(!c.any_day_of_month && !c.any_day_of_week);
    let c = Cron::parse("5/20  0  *  *  7").unwrap();
    assert_eq!(c.minutes, (1 << 5) | (1 << 25) | (1 << 45));
    assert_eq!(c.days_of_week, 1, "7 is Sunday");
    assert_eq!(c.as_str(), "5/20 0 * * 7");
}

#[test]
fn malformed_expressions_are_refused_with_the_field() {
    assert_eq!(Cron::parse("* * * *"), Err(CronError::FieldCount { found: 4 }));
    assert_eq!(Cron::parse("* * * * * *"), Err(CronError::FieldCount { found: 6 }));
    for (expr, field) in [
        ("60 * * * *", "minute"),
        ("* 24 * * *", "hour"),
        ("* * 0 * *", "day of month"),
        ("* * * 13 *", "month"),
        ("* * * * 8", "day of week"),
        ("*/0 * * * *", "minute"),
        ("5-1 * * * *", "minute"),
        ("a * * * *", "minute"),
        ("1,,2 * * * *", "minute"),
        ("* */x * * *", "hour"),
    ] {
        match Cron::parse(expr) {
            Err(CronError::Field { field: f, .. }) => assert_eq!(f, field, "{expr}"),
            other => panic!("{expr}: {other:?}"),
        }
    }
}

#[test]
fn nightly_runs_at_the_wall_time_of_the_business_zone() {
    // Jerusalem is UTC+2 in January.
    assert_eq!(
        next("30 2 * * *", "2026-01-10T12:00:00Z", "Asia/Jerusalem"),
        Some(ts("2026-01-11T00:30:00Z"))
    );
    // Strictly after: at the occurrence itself, the next day's.
    assert_eq!(
        next("30 2 * * *", "2026-01-11T00:30:00Z", "Asia/Jerusalem"),
        Some(ts("2026-01-12T00:30:00Z"))
    );
    assert_eq!(
        next("30 2 * * *", "2026-01-11T00:29:59Z", "UTC"),
        Some(ts("2026-01-11T02:30:00Z"))
    );
}

#[test]
fn day_fields_restricted_together_match_either() {
    // The 13th, or any Friday: 2026-02-06 is a Friday.
    assert_eq!(
        next("0 0 13 * 5", "2026-02-01T00:00:00Z", "UTC"),
        Some(ts("2026-02-06T00:00:00Z"))
    );
    assert_eq!(
        next("0 0 13 * 5", "2026-02-07T00:00:00Z", "UTC"),
        Some(ts("2026-02-13T00:00:00Z"))
    );
    // Day of week alone.
    assert_eq!(
        next("0 0 * * 1", "2026-02-01T00:00:00Z", "UTC"),
        Some(ts("2026-02-02T00:00:00Z"))
    );
    // 29 February: the next leap year.
    assert_eq!(
        next("0 0 29 2 *", "2026-03-01T00:00:00Z", "UTC"),
        Some(ts("2028-02-29T00:00:00Z"))
    );
    assert_eq!(next("0 0 31 2 *", "2026-03-01T00:00:00Z", "UTC"), None);
}

#[test]
fn a_wall_time_skipped_by_dst_runs_at_the_jump() {
    // New York, 2026-03-08: 02:00 EST becomes 03:00 EDT (07:00Z); 02:30 does not exist.
    assert_eq!(
        next("30 2 * * *", "2026-03-07T12:00:00Z", "America/New_York"),
        Some(ts("2026-03-08T07:00:00Z"))
    );
    // Then the next night as usual (EDT, UTC-4).
    assert_eq!(
        next("30 2 * * *", "2026-03-08T07:00:00Z", "America/New_York"),
        Some(ts("2026-03-09T06:30:00Z"))
    );
    // Every quarter hour in the skipped hour lands on the jump once, then 03:00 is the same
    // instant and is not run again.
    let c = Cron::parse("*/15 * * * *").unwrap();
    let ny = tz("America/New_York");
    let jump = c.next_after(ts("2026-03-08T06:50:00Z"), &ny).unwrap();
    assert_eq!(jump, ts("2026-03-08T07:00:00Z"));
    assert_eq!(c.next_after(jump, &ny), Some(ts("2026-03-08T07:15:00Z")));
}

#[test]
fn a_repeated_wall_time_runs_once() {
    // New York, 2026-11-01: 02:00 EDT goes back to 01:00 EST; 01:30 happens at 05:30Z and 06:30Z.
    let first = next("30 1 * * *", "2026-10-31T12:00:00Z", "America/New_York");
    assert_eq!(first, Some(ts("2026-11-01T05:30:00Z")));
    assert_eq!(
        next("30 1 * * *", "2026-11-01T05:30:00Z", "America/New_York"),
        Some(ts("2026-11-02T06:30:00Z"))
    );
}

fn field(max: u32, min: u32) -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        (min..=max).prop_map(|n| n.to_string()),
        (min..=max, min..=max).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
        (1..=max.max(1)).prop_map(|s| format!("*/{s}")),
        proptest::collection::vec(min..=max, 1..4).prop_map(|v| v
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")),
    ]
}

fn expression() -> impl Strategy<Value = String> {
    (
        field(59, 0),
        field(23, 0),
        prop_oneof![3 => Just("*".to_string()), 1 => field(31, 1)],
        prop_oneof![3 => Just("*".to_string()), 1 => field(12, 1)],
        prop_oneof![3 => Just("*".to_string()), 1 => field(7, 0)],
    )
        .prop_map(|(a, b, c, d, e)| format!("{a} {b} {c} {d} {e}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// The next occurrence is after the instant, falls on a matching wall time (or on the jump
    /// of a skipped one), and no matching minute lies between (a minute's second pass in a
    /// repeated hour is not an occurrence).
    #[test]
    fn the_next_occurrence_is_the_first_matching_minute(
        expr in expression(),
        secs in 1_767_225_600i64..1_830_297_600,
        zone in prop_oneof![Just("UTC"), Just("America/New_York"), Just("Asia/Jerusalem"), Just("Asia/Tehran"), Just("Australia/Lord_Howe")],
    ) {
        let cron = Cron::parse(&expr).unwrap();
        let zone = tz(zone);
        let after = Timestamp::from_second(secs).unwrap();
        let Some(next) = cron.next_after(after, &zone) else {
            return Ok(());
        };
        prop_assert!(next > after);
        let wall = next.to_zoned(zone.clone()).datetime();
        let on_jump = zone.following(next - SignedDuration::from_secs(1)).next().map(|t| t.timestamp()) == Some(next);
        prop_assert!(cron.matches(wall) || on_jump, "{expr}: {next} is {wall}");
        // Scan the minutes in between when there are not too many.
        let start = after.as_second().div_euclid(60) * 60 + 60;
        if next.as_second() - start <= 3 * 86_400 {
            let mut m = start;
            while m < next.as_second() {
                let at = Timestamp::from_second(m).unwrap();
                let wall = at.to_zoned(zone.clone()).datetime();
                if cron.matches(wall) && wall_time_instant(wall, &zone) == Some(at) {
                    prop_assert!(false, "{expr}: {at} ({wall}) matches before {next}");
                }
                m += 60;
            }
        }
    }

    /// Parsing what an expression prints gives the same expression.
    #[test]
    fn an_expression_parses_back_from_its_text(expr in expression()) {
        let cron = Cron::parse(&expr).unwrap();
        prop_assert_eq!(Cron::parse(cron.as_str()).unwrap(), cron);
    }
}

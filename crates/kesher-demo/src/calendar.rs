//! Civil-date arithmetic, the demo branches' UTC offsets and RFC 3339 formatting, without a tz database
//!
//! The generator only needs two zones, so their rules are written out here: the output then does
//! not depend on the tz database installed on the machine.

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i32;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `(year, month, day)` of a day number.
pub(crate) fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Day of week, 0 = Sunday … 6 = Saturday.
pub(crate) fn weekday(day: i32) -> u32 {
    (day + 4).rem_euclid(7) as u32
}

/// The time zones used by the demo branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Zone {
    Jerusalem,
    Tehran,
}

impl Zone {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Zone::Jerusalem => "Asia/Jerusalem",
            Zone::Tehran => "Asia/Tehran",
        }
    }

    /// UTC offset in seconds for shop hours (08:00–22:00) of the given local day.
    pub(crate) fn offset_seconds(self, day: i32) -> i32 {
        let (y, _, _) = civil_from_days(day);
        match self {
            Zone::Jerusalem => {
                // Since 2013: from the Friday before the last Sunday of March to the last Sunday
                // of October (both switches at 02:00, before the shops open).
                let mar31 = days_from_civil(y, 3, 31);
                let start = mar31 - weekday(mar31) as i32 - 2;
                let oct31 = days_from_civil(y, 10, 31);
                let end = oct31 - weekday(oct31) as i32;
                if day >= start && day < end { 3 * 3600 } else { 2 * 3600 }
            }
            Zone::Tehran => {
                // Iran abolished daylight saving time after 2022; before that it ran from about
                // 22 March to 21 September.
                let dst = y <= 2022 && day >= days_from_civil(y, 3, 22) && day <= days_from_civil(y, 9, 21);
                if dst { 4 * 3600 + 1800 } else { 3 * 3600 + 1800 }
            }
        }
    }
}

/// Appends `n` as at least `width` zero-padded decimal digits.
pub(crate) fn push_padded(buf: &mut Vec<u8>, n: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let len = digits.len() - i;
    for _ in len..width {
        buf.push(b'0');
    }
    buf.extend_from_slice(&digits[i..]);
}

/// Appends `YYYY-MM-DD`.
pub(crate) fn push_date(buf: &mut Vec<u8>, day: i32) {
    let (y, m, d) = civil_from_days(day);
    push_padded(buf, y.max(0) as u64, 4);
    buf.push(b'-');
    push_padded(buf, u64::from(m), 2);
    buf.push(b'-');
    push_padded(buf, u64::from(d), 2);
}

/// Appends an RFC 3339 UTC instant (`YYYY-MM-DDTHH:MM:SSZ`) for Unix seconds.
pub(crate) fn push_instant(buf: &mut Vec<u8>, unix: i64) {
    let day = unix.div_euclid(86_400) as i32;
    let secs = unix.rem_euclid(86_400) as u64;
    push_date(buf, day);
    buf.push(b'T');
    push_padded(buf, secs / 3600, 2);
    buf.push(b':');
    push_padded(buf, secs / 60 % 60, 2);
    buf.push(b':');
    push_padded(buf, secs % 60, 2);
    buf.push(b'Z');
}

/// Unix seconds of a local wall-clock time (`local_secs` since local midnight) in a zone.
pub(crate) fn local_to_unix(zone: Zone, day: i32, local_secs: u32) -> i64 {
    i64::from(day) * 86_400 + i64::from(local_secs) - i64::from(zone.offset_seconds(day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for day in -800_000..800_000 {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(weekday(days_from_civil(2025, 3, 1)), 6);
    }

    #[test]
    fn israel_dst_matches_the_published_switches() {
        let z = Zone::Jerusalem;
        // 2025: DST from Friday 28 March to Sunday 26 October.
        assert_eq!(z.offset_seconds(days_from_civil(2025, 3, 27)), 7200);
        assert_eq!(z.offset_seconds(days_from_civil(2025, 3, 28)), 10_800);
        assert_eq!(z.offset_seconds(days_from_civil(2025, 10, 25)), 10_800);
        assert_eq!(z.offset_seconds(days_from_civil(2025, 10, 26)), 7200);
        // 2024: 29 March to 27 October.
        assert_eq!(z.offset_seconds(days_from_civil(2024, 3, 28)), 7200);
        assert_eq!(z.offset_seconds(days_from_civil(2024, 3, 29)), 10_800);
        assert_eq!(z.offset_seconds(days_from_civil(2024, 10, 27)), 7200);
    }

    #[test]
    fn formats_instants() {
        let mut b = Vec::new();
        let day = days_from_civil(2025, 3, 1);
        push_instant(&mut b, local_to_unix(Zone::Jerusalem, day, 12 * 3600 + 15 * 60));
        assert_eq!(b, b"2025-03-01T10:15:00Z");
        b.clear();
        push_instant(&mut b, local_to_unix(Zone::Tehran, day, 9 * 3600));
        assert_eq!(b, b"2025-03-01T05:30:00Z");
    }
}

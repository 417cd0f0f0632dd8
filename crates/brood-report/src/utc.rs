//! UTC timestamps as Locust's failure CSV prints them, computed from Unix seconds without a
//! date library.

/// `YYYY-MM-DDTHH:MM:SSZ` for `unix_secs` seconds since 1970-01-01T00:00:00Z.
pub fn utc_timestamp(unix_secs: u64) -> String {
    let days = unix_secs / 86_400;
    let rem = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`):
/// counting from 0000-03-01 puts the leap day last in each year, so a 400-year era is regular.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097; // day of era, [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of a March-based year
    let mp = (5 * doy + 2) / 153; // month from March, [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        for (secs, want) in [
            (0, "1970-01-01T00:00:00Z"),
            (68_256_000, "1972-03-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_700_000_000, "2023-11-14T22:13:20Z"),
            (1_709_251_199, "2024-02-29T23:59:59Z"),
            (4_102_444_799, "2099-12-31T23:59:59Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
        ] {
            assert_eq!(utc_timestamp(secs), want, "{secs}");
        }
    }

    #[test]
    fn every_day_follows_the_previous_one() {
        // Walks 1970..2100 a day at a time: day numbers never skip or repeat.
        let mut previous = civil_from_days(0);
        for d in 1..47_847 {
            let (y, m, day) = civil_from_days(d);
            let (py, pm, pday) = previous;
            let next_day = (y, m) == (py, pm) && day == pday + 1;
            let next_month =
                day == 1 && ((y == py && m == pm + 1) || (y == py + 1 && m == 1 && pm == 12));
            assert!(next_day || next_month, "{previous:?} -> {:?}", (y, m, day));
            previous = (y, m, day);
        }
        assert_eq!(previous, (2100, 12, 31));
    }
}

//! Timestamp formats used on the wire. Each service has its own: Graph data uses ISO-8601 with
//! seven fractional digits, Graph `innerError.date` has no fraction and no zone, and Entra's token
//! errors use a space-separated form. Written by hand because `time`'s format macros are not enabled.

use time::OffsetDateTime;

/// `2023-03-13T19:15:41.6195833Z` (seven digits, 100 ns ticks) or `2025-07-16T16:19:18Z`.
pub(crate) fn iso_utc(t: OffsetDateTime, with_fraction: bool) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    if with_fraction {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.nanosecond() / 100
        )
    } else {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

/// Graph's `innerError.date`: `2024-01-27T18:17:13`.
pub(crate) fn graph_inner_date(t: OffsetDateTime) -> String {
    let mut s = iso_utc(t, false);
    s.pop();
    s
}

/// Entra's `timestamp`: `2023-06-07 08:06:56Z`.
pub(crate) fn entra_timestamp(t: OffsetDateTime) -> String {
    iso_utc(t, false).replacen('T', " ", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_678_734_941_619_583_300).unwrap();
        assert_eq!(iso_utc(t, true), "2023-03-13T19:15:41.6195833Z");
        assert_eq!(iso_utc(t, false), "2023-03-13T19:15:41Z");
        assert_eq!(graph_inner_date(t), "2023-03-13T19:15:41");
        assert_eq!(entra_timestamp(t), "2023-03-13 19:15:41Z");
    }
}

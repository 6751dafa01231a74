//! Timestamps on the wire: ISO-8601 UTC with exactly three fractional digits and `Z`
//! (`2026-07-13T00:00:00.000Z`), the format JavaScript's `toISOString` produces.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

pub fn format(ts: &DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn serialize<S: Serializer>(ts: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(ts))
}

pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(
        ts: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match ts {
            Some(ts) => serializer.serialize_str(&format(ts)),
            None => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn always_three_fraction_digits_and_z() {
        let whole = Utc
            .with_ymd_and_hms(2026, 7, 13, 0, 0, 0)
            .single()
            .expect("valid");
        assert_eq!(format(&whole), "2026-07-13T00:00:00.000Z");
        let micros = whole + chrono::Duration::microseconds(123_456);
        assert_eq!(format(&micros), "2026-07-13T00:00:00.123Z");
    }
}

//! Points in time as epoch milliseconds, the unit of every ArcGIS time field.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::ParseError;

/// Milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub i64);

impl Millis {
    /// The time as people read it: UTC, to the second.
    pub fn utc(self) -> String {
        chrono::DateTime::from_timestamp_millis(self.0)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default()
    }

    /// The time as a machine reads it: RFC 3339 in UTC, to the second
    /// (`2026-12-07T15:04:05Z`).
    pub fn iso(self) -> String {
        chrono::DateTime::from_timestamp_millis(self.0)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    }

    pub fn now() -> Self {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Self(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
    }

    /// A time as a form gives it: epoch milliseconds, or a date and time
    /// in UTC as a browser's date-time input sends it (`2026-12-07T13:05`,
    /// seconds optional), or a date alone (its midnight).
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let input = input.trim();
        if let Ok(ms) = input.parse::<i64>() {
            return Ok(Self(ms));
        }
        let at = chrono::NaiveDateTime::parse_from_str(input, "%Y-%m-%dT%H:%M")
            .or_else(|_| chrono::NaiveDateTime::parse_from_str(input, "%Y-%m-%dT%H:%M:%S"))
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(input, "%Y-%m-%d")
                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
            })
            .map_err(|_| {
                ParseError::new(
                    "must be a date and time in UTC (2026-12-07T13:05), a date, or milliseconds since 1970",
                )
            })?;
        Ok(Self(at.and_utc().timestamp_millis()))
    }

    /// The time as a date-time input shows it (UTC, to the minute).
    pub fn input_value(self) -> String {
        chrono::DateTime::from_timestamp_millis(self.0)
            .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
            .unwrap_or_default()
    }

    pub fn plus(self, duration: Duration) -> Self {
        let add = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(add))
    }
}

/// A span of time a list is narrowed to: from (inclusive) until
/// (exclusive); either end open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Option<Millis>,
    pub to: Option<Millis>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_as_forms_give_them() {
        assert_eq!(
            Millis::parse("1765112700000").unwrap(),
            Millis(1_765_112_700_000)
        );
        let minute = Millis::parse("2025-12-07T13:05").unwrap();
        assert_eq!(minute, Millis(1_765_112_700_000));
        assert_eq!(Millis::parse("2025-12-07T13:05:00").unwrap(), minute);
        assert_eq!(minute.input_value(), "2025-12-07T13:05");
        assert_eq!(
            Millis::parse("2025-12-07").unwrap(),
            Millis(1_765_065_600_000)
        );
        for bad in ["", "yesterday", "2025-13-07", "2025-12-07T25:00"] {
            assert!(Millis::parse(bad).unwrap_err().0.contains("UTC"), "{bad}");
        }
    }
}

//! The windows a dashboard shows: the last hour (by the minute), day (by
//! the quarter hour) or week (by the hour), each ending with the bucket
//! that holds now.

use super::time::Millis;
use super::ParseError;

/// One line or stack of a chart: a value per bucket (none where there is
/// nothing to show, such as a percentile of no runs).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

impl Series {
    /// The sum of its values (what a legend says of a count).
    pub fn total(&self) -> f64 {
        self.values.iter().flatten().sum()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Hour,
    Day,
    Week,
}

impl Window {
    pub const ALL: [Window; 3] = [Window::Hour, Window::Day, Window::Week];

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        match input.trim().to_ascii_lowercase().as_str() {
            "hour" => Ok(Window::Hour),
            "day" => Ok(Window::Day),
            "week" => Ok(Window::Week),
            _ => Err(ParseError::new("must be hour, day or week")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Window::Hour => "hour",
            Window::Day => "day",
            Window::Week => "week",
        }
    }

    /// The size of one bucket in milliseconds, and how many there are.
    pub fn bucket(self) -> (i64, i64) {
        const MINUTE: i64 = 60_000;
        match self {
            Window::Hour => (MINUTE, 60),
            Window::Day => (15 * MINUTE, 96),
            Window::Week => (60 * MINUTE, 168),
        }
    }

    /// What one bucket is called on a chart ("per minute").
    pub fn per(self) -> &'static str {
        match self {
            Window::Hour => "per minute",
            Window::Day => "per 15 minutes",
            Window::Week => "per hour",
        }
    }

    /// The first bucket's start, so that the last bucket holds `now`.
    pub fn start(self, now: Millis) -> Millis {
        let (size, count) = self.bucket();
        let end = now.0 - now.0.rem_euclid(size) + size;
        Millis(end - size * count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_bucket_holds_now() {
        for w in Window::ALL {
            let now = Millis(1_764_760_805_123);
            let (size, count) = w.bucket();
            let start = w.start(now);
            let last = start.0 + size * (count - 1);
            assert!(last <= now.0 && now.0 < last + size, "{w:?}");
            assert_eq!(start.0 % size, 0);
        }
        assert!(Window::parse("month").is_err());
    }
}

/// A span of time cut into buckets of equal size, newest last: bucket `b`
/// holds `[from + b × size, from + (b + 1) × size)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buckets {
    pub from: Millis,
    pub size_ms: i64,
    pub count: i64,
}

impl Buckets {
    pub fn to(&self) -> Millis {
        Millis(self.from.0 + self.size_ms * self.count)
    }
}

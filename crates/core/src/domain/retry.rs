//! Retry policies: how many attempts a job gets, how long it waits between
//! them, and which failures are worth another attempt.

use std::fmt;
use std::time::Duration;

use super::ids::ReceiverId;
use super::ParseError;

/// The most attempts a policy may give a job.
pub const MAX_ATTEMPTS: u32 = 10;
/// The longest wait between two attempts: a week.
pub const MAX_DELAY_SECONDS: u32 = 7 * 24 * 3600;
/// The largest factor a wait may grow by from one attempt to the next.
pub const MAX_FACTOR: f64 = 10.0;

/// What ended an attempt, as a retry policy tells failures apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// The notebook raised an exception, its kernel died, or it wrote more
    /// than its disk budget.
    Error,
    /// The run reached its time limit.
    Timeout,
    /// The node running it stopped renewing its lease (it died or lost the
    /// database), and another node took the job over.
    LostNode,
}

impl Failure {
    pub const ALL: [Failure; 3] = [Failure::Error, Failure::Timeout, Failure::LostNode];

    pub const fn as_str(self) -> &'static str {
        match self {
            Failure::Error => "error",
            Failure::Timeout => "timeout",
            Failure::LostNode => "lostNode",
        }
    }

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let input = input.trim();
        Self::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(input))
            .ok_or_else(|| {
                ParseError::new(format!(
                    "'{input}' is not a kind of failure; use error, timeout or lostNode"
                ))
            })
    }

    /// A list such as `error,timeout` or `["error", "timeout"]` (empty: no
    /// failure is retried).
    pub fn parse_list(input: &str) -> Result<Vec<Self>, ParseError> {
        let trimmed = input.trim();
        let names: Vec<String> = if trimmed.starts_with('[') {
            serde_json::from_str(trimmed).map_err(|_| {
                ParseError::new("must be a list of error, timeout and lostNode".to_string())
            })?
        } else {
            trimmed.split(',').map(str::to_string).collect()
        };
        let mut kinds = Vec::new();
        for name in names.iter().filter(|n| !n.trim().is_empty()) {
            let kind = Self::parse(name)?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        Ok(kinds)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a job's failed attempts are tried again. Built only through
/// [`RetryPolicy::new`], so every value holds its limits.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    delay_seconds: u32,
    backoff_factor: f64,
    max_delay_seconds: u32,
    retry_on: Vec<Failure>,
}

/// Which field of a policy was wrong, and why.
pub type PolicyError = (&'static str, ParseError);

impl RetryPolicy {
    /// Checks each limit; the error names the field at fault.
    pub fn new(
        max_attempts: u32,
        delay_seconds: u32,
        backoff_factor: f64,
        max_delay_seconds: u32,
        retry_on: Vec<Failure>,
    ) -> Result<Self, PolicyError> {
        let wrong = |field, why: String| Err((field, ParseError::new(why)));
        if !(1..=MAX_ATTEMPTS).contains(&max_attempts) {
            return wrong(
                "maxAttempts",
                format!("must be from 1 (no retries) to {MAX_ATTEMPTS}"),
            );
        }
        if delay_seconds > MAX_DELAY_SECONDS {
            return wrong(
                "delaySeconds",
                format!("must be from 0 to {MAX_DELAY_SECONDS} (a week)"),
            );
        }
        if !(1.0..=MAX_FACTOR).contains(&backoff_factor) {
            return wrong(
                "backoffFactor",
                format!("must be a number from 1 to {MAX_FACTOR}"),
            );
        }
        if !(delay_seconds..=MAX_DELAY_SECONDS).contains(&max_delay_seconds) {
            return wrong(
                "maxDelaySeconds",
                format!("must be from delaySeconds ({delay_seconds}) to {MAX_DELAY_SECONDS}"),
            );
        }
        Ok(Self {
            max_attempts,
            delay_seconds,
            backoff_factor,
            max_delay_seconds,
            retry_on,
        })
    }

    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    pub fn delay_seconds(&self) -> u32 {
        self.delay_seconds
    }

    pub fn backoff_factor(&self) -> f64 {
        self.backoff_factor
    }

    pub fn max_delay_seconds(&self) -> u32 {
        self.max_delay_seconds
    }

    pub fn retry_on(&self) -> &[Failure] {
        &self.retry_on
    }

    pub fn retries(&self, failure: Failure) -> bool {
        self.retry_on.contains(&failure)
    }

    /// The wait before the attempt after attempt `made` (1 for the wait
    /// after the first): `delaySeconds × backoffFactor^(made − 1)`, at most
    /// `maxDelaySeconds`.
    pub fn delay_after(&self, made: u32) -> Duration {
        let exponent = i32::try_from(made.saturating_sub(1)).unwrap_or(i32::MAX);
        let seconds = f64::from(self.delay_seconds) * self.backoff_factor.powi(exponent);
        let capped = seconds.min(f64::from(self.max_delay_seconds));
        Duration::from_secs_f64(capped.max(0.0))
    }

    /// Whether attempt `made` of at most `max`, ended by `failure`, gets
    /// another one, and after how long.
    pub fn next_attempt(&self, failure: Failure, made: u32, max: u32) -> Option<Duration> {
        (self.retries(failure) && made < max).then(|| self.delay_after(made))
    }
}

impl Default for RetryPolicy {
    /// The site's policy until an administrator changes it: a job whose
    /// node was lost runs once more at once; other failures are final.
    fn default() -> Self {
        Self {
            max_attempts: 2,
            delay_seconds: 0,
            backoff_factor: 2.0,
            max_delay_seconds: 3600,
            retry_on: vec![Failure::LostNode],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_by_the_factor_up_to_the_cap() {
        let p = RetryPolicy::new(5, 10, 3.0, 60, vec![Failure::Error]).unwrap();
        let waits: Vec<u64> = (1..=4).map(|n| p.delay_after(n).as_secs()).collect();
        assert_eq!(waits, [10, 30, 60, 60]);
    }

    #[test]
    fn only_the_chosen_failures_are_retried_and_only_up_to_the_maximum() {
        let p = RetryPolicy::new(3, 0, 1.0, 0, vec![Failure::Timeout]).unwrap();
        assert_eq!(p.next_attempt(Failure::Timeout, 1, 3), Some(Duration::ZERO));
        assert_eq!(p.next_attempt(Failure::Timeout, 3, 3), None);
        assert_eq!(p.next_attempt(Failure::Error, 1, 3), None);
    }

    #[test]
    fn each_limit_names_its_field() {
        let field = |r: Result<RetryPolicy, PolicyError>| r.unwrap_err().0;
        assert_eq!(field(RetryPolicy::new(0, 0, 2.0, 0, vec![])), "maxAttempts");
        assert_eq!(
            field(RetryPolicy::new(11, 0, 2.0, 0, vec![])),
            "maxAttempts"
        );
        assert_eq!(
            field(RetryPolicy::new(2, MAX_DELAY_SECONDS + 1, 2.0, 0, vec![])),
            "delaySeconds"
        );
        assert_eq!(
            field(RetryPolicy::new(2, 0, f64::NAN, 0, vec![])),
            "backoffFactor"
        );
        assert_eq!(
            field(RetryPolicy::new(2, 0, 0.5, 0, vec![])),
            "backoffFactor"
        );
        assert_eq!(
            field(RetryPolicy::new(2, 60, 2.0, 30, vec![])),
            "maxDelaySeconds"
        );
    }

    #[test]
    fn failure_lists_parse_from_commas_or_json() {
        assert_eq!(
            Failure::parse_list("error, TIMEOUT,error").unwrap(),
            [Failure::Error, Failure::Timeout]
        );
        assert_eq!(
            Failure::parse_list(r#"["lostNode"]"#).unwrap(),
            [Failure::LostNode]
        );
        assert_eq!(Failure::parse_list("").unwrap(), []);
        assert!(Failure::parse_list("crash")
            .unwrap_err()
            .0
            .contains("crash"));
    }
}

/// Whose retry policy: the site's, or one receiver's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyScope {
    Site,
    Receiver(ReceiverId),
}

/// A retry policy and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopedPolicy {
    pub scope: PolicyScope,
    pub policy: RetryPolicy,
}

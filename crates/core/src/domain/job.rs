//! Jobs as the domain sees them: the job itself, its status and kind (the
//! words the ArcGIS jobs resource uses), and what `executeNotebook` asked
//! for.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ids::{BatchId, EventId, ItemId, JobId, NodeId, ReceiverId};
use super::receiver::Parameters;
use super::time::Millis;
use super::user::Username;
use super::ParseError;

/// One run of a notebook, made by a delivery or by `executeNotebook`, as
/// every part but the store sees it (the store builds it from its row).
#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub kind: JobKind,
    pub status: JobStatus,
    pub item_id: ItemId,
    pub receiver_id: Option<ReceiverId>,
    pub event_id: Option<EventId>,
    /// Whom it runs as: its notebook's owner, or who asked for it.
    pub username: Username,
    /// The parameters injected into its notebook.
    pub parameters: Parameters,
    pub submitted: Millis,
    pub start_time: Option<Millis>,
    pub end_time: Option<Millis>,
    pub messages: Vec<String>,
    /// The attempts begun, this one included while it runs.
    pub attempts: u32,
    /// Its own time limit, when it has one.
    pub timeout_minutes: Option<u32>,
    /// What an `executeNotebook` job was asked with; a webhook job has none.
    pub inputs: Option<JobInputs>,
    pub has_notebook: bool,
    /// The job this one runs again (same event), when it is a replay.
    pub replay_of: Option<JobId>,
    /// The replay of many jobs that made this one, if any.
    pub replay_batch: Option<BatchId>,
    /// The most attempts its retry policy gave it when its last attempt
    /// began (none before its first).
    pub max_attempts: Option<u32>,
    /// When its next attempt is due, while it waits for one.
    pub retry_at: Option<Millis>,
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    Submitted,
    Executing,
    Completed,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Submitted,
        JobStatus::Executing,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            JobStatus::Submitted => "SUBMITTED",
            JobStatus::Executing => "EXECUTING",
            JobStatus::Completed => "COMPLETED",
            JobStatus::Failed => "FAILED",
            JobStatus::Cancelled => "CANCELLED",
        }
    }

    /// One of the five words, in any case.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let upper = input.trim().to_ascii_uppercase();
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == upper)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|s| s.as_str()).collect();
                ParseError::new(format!("must be one of {}", names.join(", ")))
            })
    }

    /// Waiting or running: not over yet.
    pub fn is_live(self) -> bool {
        matches!(self, JobStatus::Submitted | JobStatus::Executing)
    }
}

impl Job {
    /// The first line of what a failed job said last (its error).
    pub fn error_line(&self) -> Option<String> {
        error_line(self.status, &self.messages)
    }

    /// While it waits for its next attempt: that attempt's number, of
    /// how many, and when it is due.
    pub fn waiting_retry(&self) -> Option<(u32, Option<u32>, Millis)> {
        let due = self
            .retry_at
            .filter(|_| self.status == JobStatus::Submitted)?;
        Some((self.attempts + 1, self.max_attempts, due))
    }
}

/// The first line of a failed job's last message.
pub fn error_line(status: JobStatus, messages: &[String]) -> Option<String> {
    if status != JobStatus::Failed {
        return None;
    }
    let line = messages.last()?.lines().find(|l| !l.trim().is_empty())?;
    Some(line.trim().to_string())
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What made a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// A delivery to a webhook receiver.
    Webhook,
    /// A call of `executeNotebook`.
    ExecuteNotebook,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Webhook => "webhook",
            JobKind::ExecuteNotebook => "executeNotebook",
        }
    }

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        match input {
            "webhook" => Ok(JobKind::Webhook),
            "executeNotebook" => Ok(JobKind::ExecuteNotebook),
            _ => Err(ParseError::new("must be webhook or executeNotebook")),
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an `executeNotebook` job was asked with, under the names of its
/// request; a webhook job has none of it (all defaults).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JobInputs {
    pub item_id: String,
    pub notebook_parameters: Map<String, Value>,
    pub execution_timeout_in_minutes: Option<i64>,
    pub save_injected_parameters: bool,
    /// Write the executed notebook back to its item when the run completes.
    pub update_portal_item: bool,
    /// The runtime the run uses instead of the one its notebook names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notebook_runtime_id: Option<String>,
}

impl JobInputs {
    /// As stored: a JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// From storage: `None` for a job without inputs (`{}`, a webhook
    /// job's); fields that cannot be read take their defaults.
    pub fn from_json(text: &str) -> Option<Self> {
        match serde_json::from_str::<Map<String, Value>>(text) {
            Ok(object) if !object.is_empty() => serde_json::from_value(Value::Object(object)).ok(),
            _ => None,
        }
    }

    /// As stored for a job that may have none.
    pub fn stored(inputs: Option<&JobInputs>) -> String {
        inputs.map_or_else(|| "{}".to_string(), JobInputs::to_json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_reads_in_any_case_and_prints_as_arcgis_does() {
        for status in JobStatus::ALL {
            let lower = status.as_str().to_ascii_lowercase();
            assert_eq!(JobStatus::parse(&lower).unwrap(), status);
        }
        let refused = JobStatus::parse("DONE").unwrap_err().to_string();
        assert!(refused.contains("SUBMITTED, EXECUTING, COMPLETED, FAILED, CANCELLED"));
    }

    #[test]
    fn inputs_keep_the_request_names() {
        let inputs = JobInputs {
            item_id: "a".repeat(32),
            update_portal_item: true,
            ..Default::default()
        };
        let text = inputs.to_json();
        assert!(text.contains("\"updatePortalItem\":true"), "{text}");
        assert!(
            text.contains("\"executionTimeoutInMinutes\":null"),
            "{text}"
        );
        assert_eq!(JobInputs::from_json(&text), Some(inputs));
        assert_eq!(JobInputs::from_json("{}"), None);
        assert_eq!(JobInputs::stored(None), "{}");
    }
}

/// How a job ended, as `finish_job` stores it.
#[derive(Debug, Clone)]
pub struct JobEnd<'a> {
    pub status: JobStatus,
    pub end: Millis,
    pub messages: &'a [String],
    /// The executed notebook, if the run got that far.
    pub notebook: Option<&'a [u8]>,
    /// When the run's first cell was sent, if it was.
    pub first_cell: Option<Millis>,
    /// What the job's item gets in the same step (`updatePortalItem`), so
    /// that whoever sees the job ended finds its item updated.
    pub item: Option<&'a [u8]>,
}

/// The lease a claim takes on a job: the node running it, and until when
/// the claim holds unless the node renews it.
#[derive(Debug, Clone, Copy)]
pub struct Lease {
    pub node: NodeId,
    pub until: Millis,
}

//! The pages of jobs: one job (saying so while it runs) and the filtered,
//! paged list.

use std::collections::HashMap;

use crate::domain::ids::ReceiverId;
use crate::domain::job::Job;

use crate::domain::job::JobStatus;
use crate::ui::{Block, Cell, FieldKind, Form, NotebookCell, Page};

use super::Urls;

/// What the jobs page's filter form shows, as the reader typed it.
pub struct JobFilterValues {
    pub status: String,
    pub receiver_id: String,
    /// The time range, as a date-time input shows it (UTC).
    pub from: String,
    pub to: String,
}

/// The status filter's choices: any, or one status.
const STATUS_CHOICES: [&str; 6] = [
    "",
    JobStatus::Submitted.as_str(),
    JobStatus::Executing.as_str(),
    JobStatus::Completed.as_str(),
    JobStatus::Failed.as_str(),
    JobStatus::Cancelled.as_str(),
];

fn is_running(job: &Job) -> bool {
    job.status.is_live()
}

/// "Attempt 2 of up to 3", and when the next is due while one is awaited;
/// nothing before the first attempt.
fn attempt_cell(job: &Job) -> Option<Cell> {
    if job.attempts < 1 {
        return None;
    }
    let mut line = format!("Attempt {}", job.attempts);
    if let Some(max) = job.max_attempts {
        line.push_str(&format!(" of up to {max}"));
    }
    Some(match (job.retry_at, job.status == JobStatus::Submitted) {
        (Some(due), true) => Cell::text(format!("{line} failed; the next is due at")).at(due),
        _ => Cell::text(line),
    })
}

/// When the job was submitted, started and ended (each a time the page
/// shows in the reader's zone), how long it ran, and its attempts.
fn timing(job: &Job) -> Block {
    let mut rows = vec![vec![Cell::text("Submitted"), Cell::time(job.submitted)]];
    if let Some(start) = job.start_time {
        rows.push(vec![Cell::text("Started"), Cell::time(start)]);
    }
    if let Some(end) = job.end_time {
        rows.push(vec![Cell::text("Ended"), Cell::time(end)]);
    }
    if let (Some(start), Some(end)) = (job.start_time, job.end_time) {
        let took = format!("{:.2} s", (end.0 - start.0) as f64 / 1000.0);
        rows.push(vec![Cell::text("Run time"), Cell::text(took)]);
    }
    if let Some(attempts) = attempt_cell(job) {
        rows.push(vec![Cell::text("Attempts"), attempts]);
    }
    Block::Table {
        heading: "Timing".into(),
        columns: vec!["Step".into(), "When".into()],
        rows,
        empty: String::new(),
    }
}

/// A job: its state, timing, messages and executed notebook; while it is
/// not over it says so, with a *Refresh* link and a cancel button.
pub fn job_page(urls: &Urls, job: &Job, notebook: Option<Vec<NotebookCell>>) -> Page {
    let b = urls.notebooks();
    let mut page = Page::new(format!("Job {} · {}", job.id, job.status))
        .block(Block::Messages {
            heading: "Status".into(),
            lines: std::iter::once(job.status.to_string())
                .chain(job.messages.iter().cloned())
                .collect(),
        })
        .block(timing(job))
        .link("All jobs", format!("{b}/jobs"));
    if let Some(receiver) = job.receiver_id {
        page = page.link("Its receiver", format!("{b}/webhookReceivers/{receiver}"));
    }
    if let Some(original) = job.replay_of {
        page = page.link(
            "The job this one runs again",
            format!("{b}/jobs/{original}"),
        );
    }
    if let (Some(batch), Some(receiver)) = (job.replay_batch, job.receiver_id) {
        page = page.form(Form::post(
            "Cancel the waiting jobs of the replay that made this one",
            format!("{b}/webhookReceivers/{receiver}/replays/{batch}/cancel"),
        ));
    }
    if let Some(notebook) = notebook {
        page = page
            .block(Block::Notebook {
                heading: if is_running(job) {
                    "The notebook so far".into()
                } else {
                    "Executed notebook".into()
                },
                cells: notebook,
            })
            .link(
                "Download the executed notebook (.ipynb)",
                format!("{b}/jobs/{}/notebook", job.id),
            );
    }
    if is_running(job) {
        let text = match job.status {
            JobStatus::Submitted => "This job is waiting to run.",
            _ => "This job is running.",
        };
        page = page.live(text, Some(job.id.to_string()));
        if let Some(start) = job.start_time {
            page = page.running_since(start.0);
        }
        page = page.form(Form::post("Cancel", format!("{b}/jobs/{}/cancel", job.id)));
    } else if job.event_id.is_some() {
        // The same event, with the receiver's notebook as it is now.
        page = page.form(Form::post(
            "Run again",
            format!("{b}/jobs/{}/replay", job.id),
        ));
    }
    page
}

/// One page of the job list.
#[derive(Clone, Copy)]
pub struct Listing<'a> {
    pub jobs: &'a [Job],
    /// The names of the receivers the reader may see.
    pub receiver_names: &'a HashMap<ReceiverId, String>,
    pub total: u64,
    /// The position of the first job shown, from 1.
    pub start: u64,
    pub num: u32,
    /// Where the next page starts, or -1.
    pub next_start: i64,
}

/// A job's state in words: a job waiting for its next attempt says so.
pub fn state_words(job: &Job) -> String {
    match job.waiting_retry() {
        Some((attempt, Some(max), due)) => {
            format!(
                "retrying: attempt {attempt} of {max}, next at {}",
                due.utc()
            )
        }
        Some((attempt, None, due)) => {
            format!("retrying: attempt {attempt}, next at {}", due.utc())
        }
        None => job.status.as_str().to_string(),
    }
}

/// A job's state as a table shows it: [`state_words`] in its state's
/// colours, the time of the next attempt a `<time>`.
pub fn state_cell(job: &Job) -> Cell {
    let cell = match job.waiting_retry() {
        Some((attempt, Some(max), due)) => {
            Cell::text(format!("retrying: attempt {attempt} of {max}, next at")).at(due)
        }
        Some((attempt, None, due)) => {
            Cell::text(format!("retrying: attempt {attempt}, next at")).at(due)
        }
        None => Cell::text(job.status.as_str()),
    };
    cell.class(job.status.as_str())
}

/// A job as a row of the jobs table.
fn job_row(b: &str, names: &HashMap<ReceiverId, String>, job: &Job) -> Vec<Cell> {
    vec![
        Cell::link(job.id.to_string(), format!("{b}/jobs/{}", job.id)),
        state_cell(job),
        Cell::text(job.error_line().unwrap_or_default()),
        Cell::text(job.kind.as_str()),
        job.receiver_id.map_or(Cell::text(""), |r| {
            let name = names.get(&r).cloned().unwrap_or_else(|| r.to_string());
            Cell::link(name, format!("{b}/webhookReceivers/{r}"))
        }),
        Cell::time(job.submitted),
        Cell::text(match (job.start_time, job.end_time) {
            (Some(s), Some(e)) => format!("{:.2} s", (e.0 - s.0) as f64 / 1000.0),
            (Some(_), None) => "running".into(),
            _ => String::new(),
        }),
    ]
}

/// The jobs page: the filter form, a table of the jobs, and a pager.
pub fn jobs_page(b: &str, filter_values: &JobFilterValues, listing: &Listing<'_>) -> Page {
    let Listing {
        jobs,
        receiver_names,
        total,
        start: first,
        num,
        next_start,
    } = *listing;
    let shown = jobs.len() as u64;
    let filter = |start: u64| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, v) in [
            ("status", &filter_values.status),
            ("receiverId", &filter_values.receiver_id),
            ("from", &filter_values.from),
            ("to", &filter_values.to),
        ] {
            if !v.trim().is_empty() {
                query.append_pair(key, v);
            }
        }
        query.append_pair("start", &start.to_string());
        query.append_pair("num", &num.to_string());
        format!("{b}/jobs?{}", query.finish())
    };
    let rows = jobs
        .iter()
        .map(|job| job_row(b, receiver_names, job))
        .collect();
    let mut page = Page::new("Jobs")
        .without_value()
        .filter(
            Form::get("Filter", format!("{b}/jobs"))
                .select("status", "Status", &filter_values.status, &STATUS_CHOICES)
                .field(
                    FieldKind::Text,
                    "receiverId",
                    "Receiver id",
                    &filter_values.receiver_id,
                )
                .field(
                    FieldKind::DateTime,
                    "from",
                    "Ended (or submitted) from, UTC",
                    &filter_values.from,
                )
                .field(FieldKind::DateTime, "to", "Until, UTC", &filter_values.to)
                .field(FieldKind::Text, "num", "Jobs per page", num.to_string()),
        )
        .block(Block::Table {
            heading: String::new(),
            columns: [
                "Job",
                "State",
                "Error",
                "Type",
                "Receiver",
                "Submitted",
                "Run time",
            ]
            .map(String::from)
            .to_vec(),
            rows,
            empty: "No jobs match.".into(),
        })
        .block(Block::Pager {
            summary: if shown == 0 {
                format!("none of {total}")
            } else {
                format!("{first} to {} of {total}", first + shown - 1)
            },
            previous: (first > 1).then(|| filter(first.saturating_sub(u64::from(num)).max(1))),
            next: (next_start > 0).then(|| filter(next_start as u64)),
        });
    if jobs.iter().any(is_running) {
        page = page.live("Some of these jobs are still running.", None);
    }
    page.updating()
}

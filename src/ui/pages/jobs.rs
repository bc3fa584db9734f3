//! The pages of jobs: one job (live while it runs) and the filtered,
//! paged list.

use crate::domain::job::Job;

use crate::domain::job::JobStatus;
use crate::ui::{Block, Cell, FieldKind, Form, NotebookCell, Page};

use super::Urls;

/// What the jobs page's filter form shows, as the reader typed it.
pub struct JobFilterValues {
    pub status: String,
    pub receiver_id: String,
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

/// Seconds between reloads of a page showing a job that is not over.
const LIVE_REFRESH: u32 = 2;

fn is_running(job: &Job) -> bool {
    job.status.is_live()
}

/// A job: its state, timing, messages and executed notebook; refreshed
/// while it is not over, with a cancel button.
/// "Attempt 2 of up to 3", and when the next is due while one is awaited;
/// nothing before the first attempt.
fn attempt_line(job: &Job) -> Option<String> {
    if job.attempts < 1 {
        return None;
    }
    let mut line = format!("Attempt {}", job.attempts);
    if let Some(max) = job.max_attempts {
        line.push_str(&format!(" of up to {max}"));
    }
    if let (Some(due), true) = (job.retry_at, job.status == JobStatus::Submitted) {
        line.push_str(&format!(" failed; the next is due at {}", due.utc()));
    }
    Some(line)
}

pub fn job_page(urls: &Urls, job: &Job, notebook: Option<Vec<NotebookCell>>) -> Page {
    let b = urls.notebooks();
    let mut timing = vec![format!("Submitted {}", job.submitted.utc())];
    if let Some(start) = job.start_time {
        timing.push(format!("Started {}", start.utc()));
    }
    if let (Some(start), Some(end)) = (job.start_time, job.end_time) {
        timing.push(format!(
            "Ended {} ({:.2} s)",
            end.utc(),
            (end.0 - start.0) as f64 / 1000.0
        ));
    }
    if let Some(line) = attempt_line(job) {
        timing.push(line);
    }
    let mut page = Page::new(format!("Job {} · {}", job.id, job.status))
        .block(Block::Messages {
            heading: "Status".into(),
            lines: std::iter::once(job.status.to_string())
                .chain(job.messages.iter().cloned())
                .collect(),
        })
        .block(Block::Messages {
            heading: "Timing".into(),
            lines: timing,
        })
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
                heading: "Executed notebook".into(),
                cells: notebook,
            })
            .link(
                "Download the executed notebook (.ipynb)",
                format!("{b}/jobs/{}/notebook", job.id),
            );
    }
    if is_running(job) {
        page = page
            .refresh_every(LIVE_REFRESH)
            .form(Form::post("Cancel", format!("{b}/jobs/{}/cancel", job.id)));
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
    pub total: u64,
    /// The position of the first job shown, from 1.
    pub start: u64,
    pub num: u32,
    /// Where the next page starts, or -1.
    pub next_start: i64,
}

/// A job as a row of the jobs table.
fn job_row(b: &str, job: &Job) -> Vec<Cell> {
    vec![
        Cell::link(job.id.to_string(), format!("{b}/jobs/{}", job.id)),
        Cell::text(job.status.as_str()).class(job.status.as_str()),
        Cell::text(job.kind.as_str()),
        job.receiver_id.map_or(Cell::text(""), |r| {
            Cell::link("receiver", format!("{b}/webhookReceivers/{r}"))
        }),
        Cell::text(job.submitted.utc()),
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
        ] {
            if !v.trim().is_empty() {
                query.append_pair(key, v);
            }
        }
        query.append_pair("start", &start.to_string());
        query.append_pair("num", &num.to_string());
        format!("{b}/jobs?{}", query.finish())
    };
    let rows = jobs.iter().map(|job| job_row(b, job)).collect();
    let mut page = Page::new("Jobs")
        .without_value()
        .form(
            Form::get("Filter", format!("{b}/jobs"))
                .select("status", "Status", &filter_values.status, &STATUS_CHOICES)
                .field(
                    FieldKind::Text,
                    "receiverId",
                    "Receiver id",
                    &filter_values.receiver_id,
                )
                .field(FieldKind::Text, "num", "Jobs per page", num.to_string()),
        )
        .block(Block::Table {
            heading: String::new(),
            columns: ["Job", "Status", "Type", "Receiver", "Submitted", "Run time"]
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
        page = page.refresh_every(LIVE_REFRESH);
    }
    page
}

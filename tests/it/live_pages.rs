//! Pages that keep themselves up to date: a running job's page streams its
//! cells and outputs as they are produced (the current cell marked, the
//! time ticking) and its final state, the jobs list shows new jobs as they
//! come, all without a reload; the streams a node keeps are bounded.

use std::time::Duration;

use futures_util::StreamExt as _;
use serde_json::Value;

use crate::browser::{body_text, browser, driver};
use crate::common::runs::{deliver, setup, JOBS};
use crate::common::wait::eventually;

/// A cell that prints a step every tenth of a second for a minute.
pub(crate) const STEPS: &str =
    "import time\nfor i in range(600):\n    print(f'step {i}', flush=True)\n    time.sleep(0.1)";

/// A page's event stream, read event by event.
pub(crate) struct Events {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<Vec<u8>>> + Send>>,
    buffer: String,
}

impl Events {
    pub(crate) async fn open(url: &str) -> reqwest::Response {
        Self::open_from(url, [127, 0, 0, 1]).await
    }

    /// [`Events::open`] from another loopback address (a client of its own).
    async fn open_from(url: &str, from: [u8; 4]) -> reqwest::Response {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(from))
            .build()
            .unwrap()
            .get(url)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap()
    }

    pub(crate) fn of(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "an event stream"
        );
        Self {
            body: Box::pin(response.bytes_stream().map(|r| r.map(|b| b.to_vec()))),
            buffer: String::new(),
        }
    }

    /// The next event's name and data; `None` when the stream ends.
    pub(crate) async fn next(&mut self) -> Option<(String, String)> {
        loop {
            if let Some((event, rest)) = self.buffer.split_once("\n\n") {
                let (event, rest) = (event.to_string(), rest.to_string());
                self.buffer = rest;
                let mut name = String::from("message");
                let mut data = Vec::new();
                for line in event.lines() {
                    if let Some(n) = line.strip_prefix("event:") {
                        name = n.trim().to_string();
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push(d.strip_prefix(' ').unwrap_or(d).to_string());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some((name, data.join("\n")));
            }
            let chunk = self.body.next().await?.ok()?;
            self.buffer
                .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }

    /// The first page update that `wanted` accepts (bounded: a minute).
    pub(crate) async fn page_where(
        &mut self,
        what: &str,
        wanted: impl Fn(&Value) -> bool,
    ) -> Value {
        let mut seen = Value::Null;
        let found = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some((name, data)) = self.next().await {
                if name != "page" {
                    continue;
                }
                seen = serde_json::from_str(&data).expect("an update is JSON");
                if wanted(&seen) {
                    return true;
                }
            }
            false
        })
        .await;
        match found {
            Ok(true) => seen,
            Ok(false) => panic!("the stream ended before {what}; last: {seen}"),
            Err(_) => panic!("no update showed {what} within a minute; last: {seen}"),
        }
    }
}

pub(crate) fn html(page: &Value) -> &str {
    page["html"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_running_jobs_page_streams_its_outputs_then_its_end() {
    let s = setup(&[STEPS], &[]).await;
    let job = deliver(&s, "{}", "application/json").await;
    let page = format!("{JOBS}/{job}?token={}", s.token);
    let mut events = Events::of(Events::open(&s.app.url(&page)).await);
    let running = events
        .page_where("the steps printed so far", |p| html(p).contains("step 2"))
        .await;
    let shown = html(&running);
    assert!(
        shown.contains("In [*]:"),
        "the current cell is marked: {shown}"
    );
    assert!(
        shown.contains("data-since="),
        "the time taken ticks: {shown}"
    );
    assert!(running["title"].as_str().unwrap().contains("EXECUTING"));
    assert_eq!(running["end"], false);
    let later = events
        .page_where("more steps", |p| html(p).contains("step 5"))
        .await;
    assert!(html(&later).contains("step 0"), "what came before stays");

    let r = s
        .app
        .post_form(&format!("{JOBS}/{job}/cancel"), Some(&s.token), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let end = events
        .page_where("the job's end", |p| p["end"] == true)
        .await;
    assert!(
        end["title"].as_str().unwrap().contains("CANCELLED"),
        "{}",
        end["title"]
    );
    assert!(!html(&end).contains("In [*]:"), "no cell runs any more");
    assert!(
        html(&end).contains("step 0"),
        "what ran before the cancel is kept: {}",
        html(&end).trim()
    );
    assert!(
        tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("the stream ends after the last page")
            .is_none(),
        "nothing follows the end"
    );
    s.app.stop().await;
}

#[tokio::test]
async fn the_jobs_list_shows_a_new_job_in_place() {
    let s = setup(&["1 + 1"], &[]).await;
    let list = format!("{JOBS}?token={}", s.token);
    let mut events = Events::of(Events::open(&s.app.url(&list)).await);
    let first = events.page_where("the list", |_| true).await;
    assert!(html(&first).contains("No jobs match."), "{}", html(&first));
    let job = deliver(&s, "{}", "application/json").await;
    // The new job appears, and then (or already) as completed.
    let shown = events
        .page_where("the new job, completed", |p| {
            html(p).contains(&job) && html(p).contains(r#"class="COMPLETED""#)
        })
        .await;
    assert_eq!(shown["end"], false, "a list keeps updating");
    s.app.stop().await;
}

#[tokio::test]
async fn a_node_keeps_at_most_16_pages_a_client_and_64_in_all_and_frees_a_place_when_one_closes() {
    let s = setup(&["1 + 1"], &[]).await;
    let list = s.app.url(&format!("{JOBS}?token={}", s.token));
    // Four clients (loopback addresses of their own) with 16 each.
    let mut open = Vec::new();
    for client in 1..=4u8 {
        for _ in 0..16 {
            open.push(Events::of(
                Events::open_from(&list, [127, 0, 0, client]).await,
            ));
        }
    }
    let refused = Events::open_from(&list, [127, 0, 0, 5]).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "60");
    let why = refused.text().await.unwrap();
    assert!(why.contains("This server keeps 64 pages"), "{why}");
    drop(open.split_off(56));
    // Room on the node again, but not for a client past its share.
    let refused = Events::open_from(&list, [127, 0, 0, 1]).await;
    assert_eq!(refused.status(), 503);
    let why = refused.text().await.unwrap();
    assert!(why.contains("This address keeps 16 pages"), "{why}");
    // The page itself still loads.
    let plain = s.app.get(&format!("{JOBS}?f=html"), Some(&s.token)).await;
    assert_eq!(plain.http, 200);
    eventually("a place is free again", Duration::from_secs(60), || async {
        let r = Events::open_from(&list, [127, 0, 0, 5]).await;
        match r.status().as_u16() {
            200 => Ok(()),
            other => Err(other.to_string()),
        }
    })
    .await;
    drop(open);
    s.app.stop().await;
}

#[tokio::test]
async fn a_page_the_reader_may_not_open_takes_no_stream() {
    let s = setup(&["1 + 1"], &[]).await;
    let job = deliver(&s, "{}", "application/json").await;
    for (what, path) in [
        ("no token", format!("{JOBS}/{job}")),
        ("a bad token", format!("{JOBS}/{job}?token=nope")),
        ("JSON", format!("{JOBS}/{job}?f=json&token={}", s.token)),
    ] {
        let r = Events::open(&s.app.url(&path)).await;
        assert_eq!(r.status(), 406, "{what}");
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("Only a page the reader may open"),
            "{what}"
        );
    }
    let r = Events::open(&s.app.url(&format!("{JOBS}/{job}?token={}", s.token))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["vary"], "Accept");
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_watches_a_run_play_on_its_page_without_a_reload() {
    let s = setup(&[STEPS], &[]).await;
    let job = deliver(&s, "{}", "application/json").await;
    let profile = tempfile::tempdir().unwrap();
    let driver = driver().await;
    let c = browser(&driver, profile.path()).await;
    c.goto(&s.app.url(&format!("{JOBS}/{job}?token={}", s.token)))
        .await
        .unwrap();
    // A mark that a reload would wipe.
    c.execute("window.stayed = 'yes';", vec![]).await.unwrap();
    let text_shows = |wanted: &'static str| {
        let c = c.clone();
        async move {
            let seen = body_text(&c).await;
            if seen.contains(wanted) {
                Ok(())
            } else {
                Err(seen)
            }
        }
    };
    eventually(
        "the steps appear on the page",
        Duration::from_secs(60),
        || text_shows("step 3"),
    )
    .await;
    let current: Value = c
        .execute(
            "var r = document.querySelector('.notebook .cell.running'); return r ? r.textContent : null;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        current.as_str().is_some_and(|t| t.contains("In [*]:")),
        "the current cell is marked: {current}"
    );
    let r = s
        .app
        .post_form(&format!("{JOBS}/{job}/cancel"), Some(&s.token), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    eventually(
        "the page shows the end",
        Duration::from_secs(60),
        || async {
            let title = c.title().await.unwrap_or_default();
            if title.contains("CANCELLED") {
                Ok(())
            } else {
                Err(title)
            }
        },
    )
    .await;
    let stayed: Value = c.execute("return window.stayed;", vec![]).await.unwrap();
    assert_eq!(stayed, "yes", "the page was not reloaded");
    let page = body_text(&c).await;
    assert!(page.contains("Run again"), "the ended job's form: {page}");
    c.close().await.unwrap();
    s.app.stop().await;
}

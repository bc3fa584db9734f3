//! Dashboards: a receiver's (its owner and administrators) and the site's
//! (administrators) count deliveries by outcome and runs by final state,
//! and time runs, from the database over the last hour, day or week; the
//! page draws them as SVG with patterns and labelled legends, and asks for
//! nothing from elsewhere.

use std::time::Duration;

use crate::common::events::{mac, post, with_receiver};
use crate::common::jobs::finished;
use crate::common::wait::eventually;
use crate::common::{spawn_app_in, SECRET};
use serde_json::Value;

fn total(series: &Value) -> f64 {
    series
        .as_array()
        .unwrap_or_else(|| panic!("a series: {series}"))
        .iter()
        .filter_map(Value::as_f64)
        .sum()
}

#[tokio::test]
async fn a_receivers_dashboard_counts_its_deliveries_and_runs_and_draws_them() {
    let app = spawn_app_in(
        tempfile::tempdir().unwrap(),
        &["--max-concurrent-runs", "1"],
    )
    .await;
    let (app, admin, id, url) = with_receiver(app, SECRET, "x-hub-signature-256").await;
    let body = r#"{"action": "opened"}"#;
    let signature = format!(
        "sha256={}",
        hex::encode(mac(SECRET.as_bytes(), &[body.as_bytes()]))
    );
    let signed = [
        ("x-hub-signature-256", signature.as_str()),
        ("x-github-delivery", "delivery-1"),
        ("content-type", "application/json"),
    ];
    let (status, _, first) = post(&app, &url, &signed, body).await;
    assert_eq!(status, 200, "{first}");
    let (status, _, again) = post(&app, &url, &signed, body).await;
    assert_eq!(
        (status, &again["jobId"]),
        (200, &first["jobId"]),
        "a duplicate"
    );
    let (status, _, _) = post(&app, &url, &[("x-hub-signature-256", "sha256=00")], body).await;
    assert_eq!(status, 401);
    let job = first["jobId"].as_str().unwrap();
    assert_eq!(finished(&app, &admin, job).await["status"], "COMPLETED");

    let path = format!("/notebooks/admin/notebooks/webhookReceivers/{id}/dashboard");
    // The refusal's line is written after its answer: wait for it.
    let d = eventually("a refusal counted", Duration::from_secs(30), || async {
        let d = app.get(&path, Some(&admin)).await.json;
        if d["deliveries"]["bad signature"].is_array() {
            Ok(d)
        } else {
            Err(d.to_string())
        }
    })
    .await;
    assert_eq!(
        (d["window"].as_str(), d["buckets"].as_i64()),
        (Some("hour"), Some(60))
    );
    assert_eq!(total(&d["deliveries"]["accepted"]), 1.0, "{d}");
    assert_eq!(total(&d["deliveries"]["duplicate"]), 1.0, "{d}");
    assert_eq!(total(&d["deliveries"]["bad signature"]), 1.0, "{d}");
    assert_eq!(total(&d["runs"]["COMPLETED"]), 1.0, "{d}");
    assert!(total(&d["runSeconds"]["p50"]) > 0.0, "{d}");
    assert!(
        d["firstCellSeconds"]["p95"]
            .as_array()
            .unwrap()
            .iter()
            .any(Value::is_number),
        "{d}"
    );
    assert!(d.get("queue").is_none(), "the queue is the site's");
    for (window, buckets) in [("day", 96), ("week", 168)] {
        let w = app
            .get(&format!("{path}?window={window}"), Some(&admin))
            .await
            .json;
        assert_eq!(w["buckets"], buckets, "{w}");
        assert_eq!(total(&w["deliveries"]["accepted"]), 1.0, "{window}: {w}");
        assert_eq!(total(&w["runs"]["COMPLETED"]), 1.0, "{window}: {w}");
    }
    let r = app.get(&format!("{path}?window=month"), Some(&admin)).await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert!(r.json.to_string().contains("window"), "{}", r.json);
    app.add_user("eve", "user", &["notebooks:create", "notebooks:webhooks"])
        .await;
    let eve = app.token("eve").await;
    assert_eq!(app.get(&path, Some(&eve)).await.status, 403);

    let page = app.html(&path, &admin).await;
    for part in [
        "<svg class=\"plot\"",
        "role=\"img\"",
        "<pattern id=\"chart2-s1\"",
        // The headline: 3 deliveries (one refused), one run, none failed.
        "<h2>The last hour</h2>",
        "<td>3</td><td>1</td><td>1</td><td>0</td><td>100 %</td>",
        "accepted: 1 in all",
        "duplicate: 1 in all",
        "bad signature: 1 in all",
        "COMPLETED: 1 in all",
        "Deliveries per minute, by outcome",
        "From webhook to first cell (seconds)",
    ] {
        assert!(page.contains(part), "{part} in the page");
    }
    // The run's bar opens the job it counts.
    let at = page
        .find("jobs?status=COMPLETED&amp;receiverId=")
        .expect("the COMPLETED bar links to its jobs");
    let start = page[..at].rfind("href=\"").unwrap() + "href=\"".len();
    let end = start + page[start..].find('"').unwrap();
    let href = page[start..end]
        .replace("&amp;", "&")
        .replace("&#x2f;", "/");
    let path = href.trim_start_matches("/notebooks");
    let listed = app.get(&format!("/notebooks{path}"), Some(&admin)).await;
    assert_eq!(listed.json["total"], 1, "{href}: {}", listed.json);
    assert_eq!(listed.json["jobs"][0]["id"], job, "{}", listed.json);
    assert!(
        page.contains(r#"role="group""#),
        "a chart of links is a group"
    );
    // Nothing fetched from elsewhere: no external script, style or font.
    for outside in [
        "<script src",
        "@import",
        "@font-face",
        "<link rel=\"stylesheet\"",
    ] {
        assert!(!page.contains(outside), "{outside} in the page");
    }
}

#[tokio::test]
async fn the_sites_dashboard_is_for_administrators_and_shows_the_queue() {
    let app = spawn_app_in(tempfile::tempdir().unwrap(), &[]).await;
    let cast = app.cast().await;
    let path = "/notebooks/admin/notebooks/dashboard";
    assert_eq!(app.get(path, Some(&cast.alice)).await.status, 403);
    // Administrators find it in every page's navigation; others do not.
    let jobs = "/notebooks/admin/notebooks/jobs";
    let nav = format!(r#"href="{}"#, path.replace('/', "&#x2f;"));
    let theirs = app.html(jobs, &cast.admin).await;
    assert!(
        theirs.contains(&nav) && theirs.contains(">Dashboard</a>"),
        "{theirs}"
    );
    let hers = app.html(jobs, &cast.alice).await;
    assert!(!hers.contains(">Dashboard</a>"), "{hers}");
    // Every node samples the queue once a minute, the first at its start.
    let d = eventually("a sample of the queue", Duration::from_secs(30), || async {
        let d = app.get(path, Some(&cast.admin)).await.json;
        let waiting = &d["queue"]["jobs waiting"];
        if waiting
            .as_array()
            .is_some_and(|v| v.iter().any(Value::is_number))
        {
            Ok(d)
        } else {
            Err(d.to_string())
        }
    })
    .await;
    assert!(d["queue"]["warm kernels"].is_array(), "{d}");
    let page = app.html(&format!("{path}?window=week"), &cast.admin).await;
    assert!(page.contains("Jobs waiting and warm kernels"), "{page}");
    assert!(page.contains("The last hour"), "links to the other windows");
}

//! `hookbook replay`: runs jobs again through a server's admin API (one
//! job, or a receiver's jobs by final state and time, as one batch), or
//! undoes a replay by cancelling its batch's waiting jobs. It prints the
//! server's JSON answer.

use anyhow::{bail, Context as _};

use crate::config::ReplayArgs;

/// The admin call the arguments ask for: its path under `--url`, and its
/// form fields. The command line already requires `--receiver` unless
/// `--job` is given.
fn call(args: &ReplayArgs) -> anyhow::Result<(String, Vec<(&'static str, String)>)> {
    let admin = "admin/notebooks";
    Ok(match (&args.job, &args.receiver, &args.cancel) {
        (Some(job), _, _) => (format!("{admin}/jobs/{job}/replay"), Vec::new()),
        (None, Some(receiver), Some(batch)) => (
            format!("{admin}/webhookReceivers/{receiver}/replays/{batch}/cancel"),
            Vec::new(),
        ),
        (None, Some(receiver), None) => {
            let mut fields = vec![("status", args.status.clone())];
            fields.extend(args.from.map(|t| ("from", t.to_string())));
            fields.extend(args.to.map(|t| ("to", t.to_string())));
            (
                format!("{admin}/webhookReceivers/{receiver}/replay"),
                fields,
            )
        }
        (None, None, _) => bail!("give --job, or --receiver"),
    })
}

pub async fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let (path, mut fields) = call(&args)?;
    fields.push(("f", "json".into()));
    let url = format!("{}/{path}", args.url.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&url)
        .header("X-Esri-Authorization", format!("Bearer {}", args.token))
        .form(&fields)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    println!("{text}");
    if !status.is_success() {
        bail!("the server answered {status}");
    }
    // The admin API answers an error as Esri's do: HTTP 200, and the
    // error in the body.
    if let Some(code) = admin_error_code(&text) {
        bail!("the server refused it (code {code})");
    }
    Ok(())
}

/// The code of an admin-API error answer (`{"status": "error", "code": N}`).
fn admin_error_code(text: &str) -> Option<i64> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    (value["status"] == "error").then(|| value["code"].as_i64().unwrap_or(0))
}

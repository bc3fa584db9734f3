//! `hookbook send`: signs a payload the way a real sender does (ArcGIS,
//! GitHub or Standard Webhooks) and posts it, so a receiver can be tested
//! from a shell.

use std::io::Read;

use anyhow::{bail, Context as _};
use base64::Engine as _;

use crate::config::{Scheme, SendArgs};
use crate::domain::receiver::Secret;
use crate::intake::signature::sign;

/// A request ready to post: headers in order, and the body.
#[derive(Debug)]
pub struct Signed {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Reads `--data`: `@FILE`, `-` for standard input, or the text itself.
pub fn read_data(data: &str, stdin: &mut dyn Read) -> anyhow::Result<Vec<u8>> {
    if data == "-" {
        let mut bytes = Vec::new();
        stdin
            .read_to_end(&mut bytes)
            .context("cannot read the payload from standard input")?;
        Ok(bytes)
    } else if let Some(path) = data.strip_prefix('@') {
        std::fs::read(path).with_context(|| format!("cannot read the payload file {path}"))
    } else {
        Ok(data.as_bytes().to_vec())
    }
}

/// Signs `body` as `args.scheme` says. `now_secs` stamps Standard Webhooks.
pub fn sign_request(args: &SendArgs, body: Vec<u8>, now_secs: i64) -> anyhow::Result<Signed> {
    let secret = Secret::parse(&args.secret).map_err(|e| anyhow::anyhow!("--secret {e}"))?;
    let key = secret.key();
    let mut signature_name = None;
    let mut extra = Vec::new();
    for h in &args.headers {
        match h.split_once(':') {
            Some((name, value)) => extra.push((name.trim().to_string(), value.trim().to_string())),
            None => signature_name = Some(h.trim().to_string()),
        }
    }
    let mut headers = Vec::new();
    match args.scheme {
        Scheme::Esri => {
            let mac = base64::engine::general_purpose::STANDARD.encode(sign(&key, &[&body]));
            let name = signature_name.unwrap_or_else(|| "x-esriHook-Signature".into());
            headers.push((name, format!("sha256={mac}")));
        }
        Scheme::Github => {
            let mac = hex::encode(sign(&key, &[&body]));
            let name = signature_name.unwrap_or_else(|| "X-Hub-Signature-256".into());
            headers.push((name, format!("sha256={mac}")));
            headers.push(("X-GitHub-Delivery".into(), uuid::Uuid::new_v4().to_string()));
        }
        Scheme::Standard => {
            if signature_name.is_some() {
                bail!("--header NAME renames the signature header only for the esri and github schemes");
            }
            let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
            let ts = now_secs.to_string();
            let mac = sign(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", &body]);
            let encoded = base64::engine::general_purpose::STANDARD.encode(mac);
            headers.push(("webhook-id".into(), id));
            headers.push(("webhook-timestamp".into(), ts));
            headers.push(("webhook-signature".into(), format!("v1,{encoded}")));
        }
    }
    if !extra
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        let json = serde_json::from_slice::<serde_json::Value>(&body).is_ok();
        let kind = if json {
            "application/json"
        } else {
            "text/plain; charset=utf-8"
        };
        headers.push(("Content-Type".into(), kind.into()));
    }
    headers.extend(extra);
    Ok(Signed { headers, body })
}

/// Posts the signed request and prints the answer; an answer other than
/// 2xx is an error.
pub async fn send(args: SendArgs, stdin: &mut dyn Read) -> anyhow::Result<()> {
    let body = read_data(&args.data, stdin)?;
    let now = crate::domain::time::Millis::now().0 / 1000;
    let signed = sign_request(&args, body, now)?;
    let client = reqwest::Client::new();
    let mut request = client.post(&args.url).body(signed.body);
    for (name, value) in &signed.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("cannot reach {}", args.url))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    println!("HTTP {}", status.as_u16());
    println!("{text}");
    if !status.is_success() {
        bail!("the receiver answered {status}");
    }
    Ok(())
}

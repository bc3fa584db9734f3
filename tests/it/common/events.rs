//! Helpers for event tests: signing like ArcGIS, a server with one
//! receiver, raw posts, and reading jobs and the delivery log.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::{spawn_app, TestApp, RECEIVERS, SECRET};

pub const BODY: &str = r#"{"serviceType":"FeatureServer","name":"Posting","events":[{"eventType":"FeaturesUpdated","when":1741189389713}]}"#;

pub fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

pub fn esri(body: &[u8]) -> String {
    format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(mac(SECRET.as_bytes(), &[body]))
    )
}

/// An app with a receiver on `headers` using `secret`; returns (app, admin token, receiver id, url).
pub async fn with_receiver(
    app: TestApp,
    secret: &str,
    headers: &str,
) -> (TestApp, String, String, String) {
    app.add_user("admin", "administrator", &[]).await;
    let token = app.token("admin").await;
    let item = app.add_item(&token, "admin").await;
    let r = app
        .create_receiver(
            &token,
            &[
                ("name", "r"),
                ("itemId", &item),
                ("secret", secret),
                ("signatureHeaders", headers),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let id = r.json["webhookReceiver"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let url = r.json["webhookReceiver"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    (app, token, id, url)
}

pub async fn esri_app() -> (TestApp, String, String, String) {
    with_receiver(
        spawn_app().await,
        SECRET,
        "x-esrihook-signature,x-hub-signature-256,webhook-signature",
    )
    .await
}

pub async fn post(
    app: &TestApp,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<reqwest::Body>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = app.client.post(url).body(body);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let h = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (
        status,
        h,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The job an accepted delivery's answer names (the answer must be 200).
pub async fn job_id(answer: reqwest::Response) -> String {
    assert_eq!(answer.status(), 200);
    answer.json::<Value>().await.unwrap()["jobId"]
        .as_str()
        .unwrap()
        .to_string()
}

/// How many jobs a receiver has, as the jobs API counts them (asked as
/// the administrator `with_receiver` creates).
pub async fn jobs_of(app: &TestApp, id: &str) -> u64 {
    let token = app.token("admin").await;
    let r = app
        .get(
            &format!("/notebooks/admin/notebooks/jobs?receiverId={id}&num=1"),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["total"].as_u64().expect("a total")
}

pub async fn deliveries(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    app.get(&format!("{RECEIVERS}/{id}/deliveries"), Some(token))
        .await
        .json["deliveries"]
        .as_array()
        .unwrap()
        .clone()
}

pub async fn wait_for_log(app: &TestApp, token: &str, id: &str, n: usize) -> Vec<Value> {
    let what = format!("the delivery log reaches {n} lines");
    super::wait::eventually(&what, std::time::Duration::from_secs(60), || async {
        let log = deliveries(app, token, id).await;
        if log.len() >= n {
            Ok(log)
        } else {
            Err(format!("{log:?}"))
        }
    })
    .await
}

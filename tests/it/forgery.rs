//! Forging deliveries without the secret, as an attacker who knows a
//! receiver's URL would try: no answer of any route signs text of the
//! caller's choosing (the CRC challenge that did is gone), and a
//! Standard Webhooks delivery cannot be replayed past its timestamp window
//! by re-sending it as a form.

use crate::common::events::{mac, post, with_receiver, BODY};
use crate::common::{spawn_app, SECRET};
use base64::Engine as _;
use serde_json::Value;

/// Every way a MAC may be written in an answer.
fn encodings(m: [u8; 32]) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    vec![
        STANDARD.encode(m),
        STANDARD_NO_PAD.encode(m),
        URL_SAFE_NO_PAD.encode(m),
        hex::encode(m),
        hex::encode_upper(m),
    ]
}

#[tokio::test]
async fn no_route_answers_with_a_signature_of_text_the_caller_chose() {
    let (app, token, id, url) = crate::common::events::esri_app().await;
    let item = app.add_item(&token, "admin").await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let forged = r#"{"action":"delete_everything"}"#;
    // What each scheme would need signed: the body (ArcGIS, GitHub, a form's
    // payload field) and Standard Webhooks' `id.timestamp.body`.
    let wanted = [forged.to_string(), format!("msg_x.{now}.{forged}")];
    let signatures: Vec<String> = wanted
        .iter()
        .flat_map(|m| encodings(mac(SECRET.as_bytes(), &[m.as_bytes()])))
        .collect();
    let spec: Value = app
        .client
        .get(app.url("/notebooks/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .expect("the OpenAPI description");
    let mut answers = 0;
    // The receiver, its secret and the caller's token must stay as they
    // are while every route is asked: no POST that deletes, disables or
    // revokes.
    let destroys = |path: &str| {
        ["/delete", "/disable", "/revokeTokens", "/signout"]
            .iter()
            .any(|end| path.ends_with(end))
    };
    // Health and metrics, outside the context path, have servers of their own.
    let paths = spec["paths"].as_object().unwrap();
    for path in paths.keys().filter(|p| paths[*p].get("servers").is_none()) {
        let concrete = path
            .replace("{username}", "admin")
            .replace("{id}", if path.contains("items") { &item } else { &id });
        for message in &wanted {
            let target = app.url(&format!("/notebooks{concrete}"));
            let query = [
                ("crc_token", message.as_str()),
                ("token", token.as_str()),
                ("f", "json"),
            ];
            let mut requests = vec![
                app.client.get(&target).query(&query),
                app.client.head(&target).query(&query),
                app.client.put(&target).query(&query).body(message.clone()),
            ];
            if !destroys(path) {
                requests.push(app.client.post(&target).query(&query).form(&[
                    ("crc_token", message.as_str()),
                    ("payload", message.as_str()),
                    ("token", token.as_str()),
                ]));
            }
            for request in requests {
                let r = request.send().await.unwrap();
                let text = r.text().await.unwrap();
                answers += 1;
                for s in &signatures {
                    assert!(
                        !text.contains(s.as_str()),
                        "{concrete} answered a signature of {message:?}: {text}"
                    );
                }
            }
        }
    }
    assert!(answers > 100, "only {answers} answers were searched");
    // Everything was asked of a receiver that still exists.
    let r = app
        .get(&format!("{}/{id}", crate::common::RECEIVERS), Some(&token))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    // The former challenge route answers a connection check: the same
    // fixed text whatever the request holds.
    let mut answers = Vec::new();
    for text in [forged, "something else"] {
        let r = app
            .client
            .get(&url)
            .query(&[("crc_token", text)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        answers.push(r.text().await.unwrap());
    }
    assert_eq!(
        answers[0], answers[1],
        "the answer depends on nothing asked"
    );
    assert!(!answers[0].contains(forged), "{}", answers[0]);
    let body: Value = serde_json::from_str(&answers[0]).unwrap();
    assert_eq!(body["status"], "ready", "{body}");
    // The only jobs are the test events the server signed itself, over a
    // payload of its own, one per message asked of `sendTestEvent`.
    assert_eq!(
        crate::common::events::jobs_of(&app, &id).await,
        wanted.len() as u64
    );
}

/// A Standard Webhooks secret and signature over `id.timestamp.content`.
const WHSEC: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX";

fn standard(id: &str, timestamp: u64, content: &str) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(WHSEC.trim_start_matches("whsec_"))
        .unwrap();
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac(
            &key,
            &[format!("{id}.{timestamp}.{content}").as_bytes()]
        ))
    )
}

#[tokio::test]
async fn a_day_old_standard_delivery_resent_as_a_form_is_refused() {
    let (app, _, id, url) = with_receiver(
        spawn_app().await,
        WHSEC,
        "webhook-signature,x-esrihook-signature",
    )
    .await;
    let day_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 86_400;
    let signature = standard("msg_1", day_ago, BODY);
    // Sent as it was: refused as stale.
    let ts = day_ago.to_string();
    let (status, _, body) = post(
        &app,
        &url,
        &[
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", &ts),
            ("webhook-signature", &signature),
        ],
        BODY,
    )
    .await;
    assert_eq!(status, 401, "{body}");
    // As a form, the signature's MAC in a field (without its `v1,`) and
    // the signed content as the payload, so that a plain HMAC of the payload
    // field would match: still checked the Standard way, refused; twice.
    let signed_content = format!("msg_1.{day_ago}.{BODY}");
    let mac_only = signature.trim_start_matches("v1,");
    for _ in 0..2 {
        let form: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("webhook-signature", mac_only)
            .append_pair("payload", &signed_content)
            .finish();
        let (status, _, body) = post(
            &app,
            &url,
            &[("content-type", "application/x-www-form-urlencoded")],
            form,
        )
        .await;
        assert_eq!(status, 401, "{body}");
        let form: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("webhook-signature", &signature)
            .append_pair("webhook-id", "msg_1")
            .append_pair("webhook-timestamp", &ts)
            .append_pair("payload", BODY)
            .finish();
        let (status, _, body) = post(
            &app,
            &url,
            &[("content-type", "application/x-www-form-urlencoded")],
            form,
        )
        .await;
        assert_eq!(status, 401, "{body}");
    }
    assert_eq!(crate::common::events::jobs_of(&app, &id).await, 0);
}

#[tokio::test]
async fn a_whsec_receiver_accepts_only_standard_signatures_and_knows_them_by_their_signed_id() {
    let (app, _, id, url) = with_receiver(
        spawn_app().await,
        WHSEC,
        "webhook-signature,x-esrihook-signature",
    )
    .await;
    // A plain HMAC with the very key, in an ArcGIS-style header: refused.
    let key = base64::engine::general_purpose::STANDARD
        .decode(WHSEC.trim_start_matches("whsec_"))
        .unwrap();
    let plain = format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(mac(&key, &[BODY.as_bytes()]))
    );
    let (status, _, body) = post(&app, &url, &[("x-esrihook-signature", &plain)], BODY).await;
    assert_eq!(status, 401, "{body}");
    // A Standard delivery, twice: one job, by its signed id.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let ts = now.to_string();
    let signature = standard("msg_2", now, BODY);
    let mut jobs = Vec::new();
    for _ in 0..2 {
        let (status, _, body) = post(
            &app,
            &url,
            &[
                ("webhook-id", "msg_2"),
                ("webhook-timestamp", &ts),
                ("webhook-signature", &signature),
            ],
            BODY,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        jobs.push(body["jobId"].as_str().unwrap().to_string());
    }
    assert_eq!(jobs[0], jobs[1]);
    assert_eq!(crate::common::events::jobs_of(&app, &id).await, 1);
}

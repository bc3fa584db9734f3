//! `/notebooks/openapi.json` describes exactly the routes the code serves:
//! the routes are read from `src/api/*.rs` (every `.route(path, methods)`)
//! and compared with the document both ways, and every documented
//! operation is answered by its route (never by the unknown-resource
//! fallback or 405).

use std::collections::BTreeSet;

use serde_json::Value;

/// The (method, path) pairs the routers register, from their source.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text: String = std::fs::read_to_string(&path).unwrap();
        let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let root = text
            .split_once("let root = \"")
            .map(|(_, rest)| rest.split('"').next().unwrap().to_string());
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            // The call's text, up to its closing parenthesis.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .unwrap();
            let call = &rest[..end];
            let (first, second) = call.split_once(", ").unwrap();
            let (first, second) = (first.trim(), second.trim());
            let route = if let Some(lit) = first.strip_prefix('"') {
                lit.trim_end_matches('"').to_string()
            } else if first == "root" {
                root.clone().unwrap()
            } else {
                let inner = first
                    .trim_start_matches("&format!(\"")
                    .trim_end_matches("\")");
                inner
                    .replace("{root}", root.as_deref().unwrap())
                    .replace("{{", "{")
                    .replace("}}", "}")
            };
            for method in ["get", "post"] {
                let starts = second.starts_with(&format!("{method}("));
                if starts || second.contains(&format!(".{method}(")) {
                    found.insert((method.to_string(), route.clone()));
                }
            }
        }
    }
    found
}

fn routes_in_document(doc: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post"] {
            if item.get(method).is_some() {
                found.insert((method.to_string(), path.clone()));
            }
        }
    }
    found
}

#[tokio::test]
async fn the_document_and_the_routes_agree() {
    let app = crate::common::spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let token = app.token("admin").await;
    let doc: Value = app
        .client
        .get(app.url("/notebooks/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], format!("{}/notebooks", app.base));

    let documented = routes_in_document(&doc);
    let served = routes_in_source();
    assert!(served.len() > 30, "the routes were read: {served:?}");
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not documented: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "documented but not served: {unserved:?}"
    );

    // Each documented operation reaches its handler.
    let id = "00000000-0000-4000-8000-000000000000";
    for (method, path) in &documented {
        let concrete = path.replace("{username}", "admin").replace("{id}", id);
        let url = if path == "/healthz" || path == "/metrics" {
            app.url(&concrete)
        } else {
            app.url(&format!("/notebooks{concrete}"))
        };
        let req = if method == "get" {
            app.client.get(&url)
        } else {
            app.client.post(&url)
        };
        let r = req
            .query(&[("f", "json"), ("token", token.as_str())])
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert_ne!(status, 405, "{method} {path}");
        assert!(
            !body.contains("is not a resource of this server"),
            "{method} {path} fell through to the fallback"
        );
    }
}

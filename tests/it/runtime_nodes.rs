//! Two `hookbook serve` nodes on one PostgreSQL database build the same
//! runtime from the same stored lock: a requirement left open (`six`, no
//! version) is resolved once, and both nodes' environments hold exactly
//! the versions of that lock, which the manifest lists.

use std::path::Path;
use std::time::Duration;

use crate::common::nodes::{add_admin, admin_token, form, ready, start_node};
use crate::common::wait::eventually;
use serde_json::Value;

const RUNTIMES: &str = "/notebooks/admin/notebooks/runtimes";

/// The lock an environment was installed from, once it is built (at most
/// five minutes: the second node looks for changes once a minute, and
/// builds fetch from PyPI).
async fn built_lock(dir: &Path, id: &str) -> String {
    let marker = dir
        .join("runtimes")
        .join(id)
        .join("1")
        .join(".hookbook-lock.txt");
    let what = format!("{} is built", marker.display());
    eventually(&what, Duration::from_secs(300), || async {
        std::fs::read_to_string(&marker).map_err(|e| e.to_string())
    })
    .await
}

fn six_in(dir: &Path, id: &str) -> String {
    let python = dir.join("runtimes").join(id).join("1/bin/python");
    let out = std::process::Command::new(python)
        .args(["-c", "import six; print(six.__version__)"])
        .output()
        .expect("the runtime's python starts");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_build_the_same_lock() {
    let database = crate::common::db::fresh_postgres();
    let key = crate::common::nodes::key();
    add_admin(&database);
    let flags = ["--max-concurrent-runs", "1"];
    let nodes = [
        start_node(&database, &key, &flags),
        start_node(&database, &key, &flags),
    ];
    let client = reqwest::Client::new();
    for node in &nodes {
        ready(&client, node).await;
    }
    let base = &nodes[0].base;
    let token = admin_token(&client, base).await;
    let registered = form(
        &client,
        format!("{base}{RUNTIMES}/register"),
        &[
            ("name", "Open"),
            ("requirements", "six"),
            ("token", &token),
            ("f", "json"),
        ],
    )
    .await;
    let id = registered["id"].as_str().expect("an id").to_string();

    let first = built_lock(nodes[0].dir.path(), &id).await;
    let second = built_lock(nodes[1].dir.path(), &id).await;
    assert_eq!(first, second, "the two nodes built different locks");
    let six = six_in(nodes[0].dir.path(), &id);
    assert!(
        !six.is_empty(),
        "six is missing from the first node's runtime"
    );
    assert_eq!(six, six_in(nodes[1].dir.path(), &id));
    assert!(first.contains(&format!("six=={six}")), "{first}");

    let manifest: Value = client
        .get(format!("{}{RUNTIMES}/{id}/manifest", nodes[1].base))
        .query(&[("f", "json"), ("token", token.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = manifest["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["name"] == "six" && l["version"] == six.as_str());
    assert!(listed, "{manifest}");
}

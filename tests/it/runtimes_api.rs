//! Runtimes through the ArcGIS administrator directory, on a server that
//! runs notebooks (so it builds them with uv, from PyPI): registered,
//! built, listed with Esri's fields, their manifest read from the lock;
//! an update with a package that does not exist fails naming it and leaves
//! the version already built in place; administrators only; unregistering
//! removes the environments.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::wait::eventually;
use crate::common::{spawn_app_in, TestApp};
use serde_json::Value;

const RUNTIMES: &str = "/notebooks/admin/notebooks/runtimes";

/// Waits until the runtime's JSON satisfies `done` (a build takes seconds;
/// two minutes is the point at which it has certainly failed).
async fn wait_for(app: &TestApp, token: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let what = format!("runtime {id} gets there");
    eventually(&what, Duration::from_secs(120), || async {
        let r = app.get(&format!("{RUNTIMES}/{id}"), Some(token)).await;
        assert_eq!(r.status, 200, "{}", r.json);
        if done(&r.json) {
            Ok(r.json)
        } else {
            Err(r.json.to_string())
        }
    })
    .await
}

fn env_python(dir: &Path, id: &str, version: u32) -> PathBuf {
    dir.join("runtimes")
        .join(id)
        .join(version.to_string())
        .join("bin/python")
}

/// The `site-packages` of the environment whose interpreter is `python`.
fn site_packages(python: &Path) -> PathBuf {
    let lib = python.parent().unwrap().parent().unwrap().join("lib");
    let version = std::fs::read_dir(&lib)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("python"))
        .expect("lib/python3.x");
    version.path().join("site-packages")
}

fn imports(python: &Path, module: &str) -> bool {
    std::process::Command::new(python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test]
async fn a_registered_runtime_is_built_listed_and_its_manifest_read_and_a_bad_update_fails_by_name()
{
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir, &["--max-concurrent-runs", "1"]).await;
    let cast = app.cast().await;

    let r = app
        .post_form(
            &format!("{RUNTIMES}/register"),
            Some(&cast.admin),
            &[
                ("name", "Six"),
                ("requirements", "six==1.16.0"),
                ("preload", "six"),
                ("maxCPU", "1.5"),
                ("maxMemory", "512"),
                ("maxMemoryUnit", "m"),
                ("imageId", "ignored"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["status"], "success");
    let id = r.json["id"].as_str().unwrap().to_string();

    let ready = wait_for(&app, &cast.admin, &id, |v| v["state"] != "building").await;
    assert_eq!(ready["state"], "ready", "{ready}");
    assert_eq!(ready["name"], "Six");
    assert_eq!(ready["version"], "1");
    assert_eq!(
        (&ready["maxCPU"], &ready["maxCpu"]),
        (&1.5.into(), &1.5.into())
    );
    assert_eq!(
        (ready["maxMemory"].as_u64(), ready["maxMemoryUnit"].as_str()),
        (Some(512), Some("m"))
    );
    assert_eq!(ready["imageId"], Value::Null);
    assert_eq!(ready["requirements"], serde_json::json!(["six==1.16.0"]));
    let built = env_python(app.dir.path(), &id, 1);
    assert!(
        imports(&built, "six") && imports(&built, "ipykernel"),
        "{}",
        built.display()
    );

    // Its environment here holds exactly its lock's packages, until one
    // goes missing.
    let validate = format!("{RUNTIMES}/validateRuntimes");
    let v = app.post_form(&validate, Some(&cast.admin), &[]).await.json;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["runtimes"][0]["messages"], serde_json::json!([]), "{v}");
    let six = site_packages(&built).join("six-1.16.0.dist-info");
    std::fs::remove_dir_all(&six).expect("six's metadata is where uv put it");
    let v = app.post_form(&validate, Some(&cast.admin), &[]).await.json;
    assert_eq!(v["valid"], false, "{v}");
    assert_eq!(
        v["runtimes"][0]["messages"],
        serde_json::json!(["six==1.16.0 is missing"]),
        "{v}"
    );

    let list = app.get(RUNTIMES, Some(&cast.admin)).await;
    assert_eq!(list.json["runtimes"][0]["id"], id.as_str(), "{}", list.json);
    let manifest = app
        .get(&format!("{RUNTIMES}/{id}/manifest"), Some(&cast.admin))
        .await;
    let libraries = manifest.json["libraries"].as_array().expect("libraries");
    let six = libraries
        .iter()
        .find(|l| l["name"] == "six")
        .expect("six is in the manifest");
    assert_eq!(
        (six["version"].as_str(), six["dist_name"].as_str()),
        (Some("1.16.0"), Some("six-1.16.0"))
    );
    assert!(
        libraries.iter().any(|l| l["name"] == "ipykernel"),
        "{}",
        manifest.json
    );

    let taken = app
        .post_form(
            &format!("{RUNTIMES}/register"),
            Some(&cast.admin),
            &[("name", "SIX")],
        )
        .await;
    assert_eq!(taken.status, 400, "{}", taken.json);
    assert!(
        taken.json["messages"][0].as_str().unwrap().contains("name"),
        "{}",
        taken.json
    );

    let bad = app
        .post_form(
            &format!("{RUNTIMES}/{id}/update"),
            Some(&cast.admin),
            &[("requirements", "hookbook-no-such-package==1.0")],
        )
        .await;
    assert_eq!(bad.status, 200, "{}", bad.json);
    let failed = wait_for(&app, &cast.admin, &id, |v| v["state"] != "building").await;
    assert_eq!(
        (failed["state"].as_str(), failed["version"].as_str()),
        (Some("failed"), Some("2"))
    );
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("hookbook-no-such-package"),
        "{failed}"
    );
    assert!(
        imports(&built, "six"),
        "the failed version removed the one already built"
    );

    let gone = app
        .post_form(
            &format!("{RUNTIMES}/{id}/unregister"),
            Some(&cast.admin),
            &[],
        )
        .await;
    assert_eq!(gone.status, 200, "{}", gone.json);
    assert_eq!(
        app.get(&format!("{RUNTIMES}/{id}"), Some(&cast.admin))
            .await
            .status,
        404
    );
    eventually(
        "the environment goes with its runtime",
        Duration::from_secs(60),
        || async {
            if built.exists() {
                Err(format!("{} still exists", built.display()))
            } else {
                Ok(())
            }
        },
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn only_administrators_see_or_change_runtimes_and_bad_fields_are_named() {
    let app = crate::common::spawn_app().await;
    let cast = app.cast().await;
    for token in [&cast.alice, &cast.carol] {
        assert_eq!(app.get(RUNTIMES, Some(token)).await.status, 403);
        let r = app
            .post_form(
                &format!("{RUNTIMES}/register"),
                Some(token),
                &[("name", "Mine")],
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.json);
    }
    for (field, value) in [
        ("requirements", "--index-url=http://127.0.0.1:9/simple"),
        ("requirements", "pkg @ https://example.com/pkg.whl"),
        ("preload", "os; import sys"),
        ("maxMemory", "-3"),
    ] {
        let r = app
            .post_form(
                &format!("{RUNTIMES}/register"),
                Some(&cast.admin),
                &[("name", "Refused"), (field, value)],
            )
            .await;
        assert_eq!(r.status, 400, "{field}={value}: {}", r.json);
        let message = r.json["messages"][0].as_str().unwrap();
        assert!(message.contains(field), "{field}={value}: {message}");
    }
    let none = app.get(RUNTIMES, Some(&cast.admin)).await;
    assert_eq!(none.json["runtimes"], serde_json::json!([]));
    app.stop().await;
}

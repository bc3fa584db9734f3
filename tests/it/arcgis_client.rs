//! hookbook driven by the real ArcGIS API for Python (`arcgis` 2.4.4, in
//! the environment `scripts/test` prepares), over HTTPS with a
//! self-signed certificate made by `openssl`: `GIS(url, token=...)` and
//! `GIS(url, username, password)` sign in (a wrong password does not),
//! `gis.users.me` is the token's user, `gis.notebook_server` finds
//! hookbook's notebook server, `execute_notebook` runs a notebook with
//! parameters and waits for its job (then listed by `nbs.system.jobs`,
//! Esri's jobs resource), and a receiver is created, listed,
//! updated, validated and deleted through the package's connection; a
//! token that is not valid, or expired, is an error, not
//! anonymous access; and a notebook run from a signed webhook calls
//! `GIS("home")` and prints the user it runs as.

use std::process::Command;
use std::time::Duration;

use crate::common::arcgis::{
    add_notebook, arcgis_python, form, python, run_from_webhook, serve_https, signed_in, SESSIONS,
};
use crate::common::nodes::PASSWORD;
use crate::common::wait::eventually;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_arcgis_package_signs_in_over_https_and_runs_find_their_portal() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let (_server, base) = serve_https(dir.path(), &client, &[]).await;
    let portal = format!("{base}/notebooks");
    let token = form(
        &client,
        format!("{portal}/sharing/rest/generateToken"),
        &[("username", "admin"), ("password", PASSWORD), ("f", "json")],
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_string();
    // A token of one minute, used once it has expired, at the end.
    let short = form(
        &client,
        format!("{portal}/sharing/rest/generateToken"),
        &[
            ("username", "admin"),
            ("password", PASSWORD),
            ("expiration", "1"),
            ("f", "json"),
        ],
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_string();

    let notebook = json!({
        "cells": [
            {"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]}, "execution_count": null, "outputs": [], "source": "x = 1"},
            {"cell_type": "code", "id": "x", "metadata": {}, "execution_count": null, "outputs": [], "source": "print('x is', x)"}
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5
    });
    let item = add_notebook(&client, &portal, &token, "x", &notebook).await;
    // As users type it: sign in with a token, find the notebook server, run
    // a notebook with parameters and wait for its job; then a receiver's
    // life through the package's connection.
    let said = python(&format!(
        "from arcgis.gis import GIS\n\
         gis = GIS({portal:?}, token={token:?}, verify_cert=False)\n\
         print('me', gis.users.me.username)\n\
         nbs = gis.notebook_server[0]\n\
         print('server', nbs.url)\n\
         item = gis.content.get({item:?})\n\
         job = nbs.notebooks.execute_notebook(item, parameters={{'x': 41}}, update_portal_item=False, future=True).result()\n\
         print('job', job['status'], job['results']['notebookUrl'])\n\
         print('system jobs', len(nbs.system.jobs))\n\
         base = nbs.url + '/notebooks/webhookReceivers'\n\
         made = gis._con.post(base + '/create', {{'name': 'pkg', 'itemId': item.id, 'secret': 'a' * 32, 'signatureHeaders': 'x-esrihook-signature', 'f': 'json'}})\n\
         rid = made['webhookReceiver']['id']\n\
         print('listed', [r['name'] for r in gis._con.get(base, {{'f': 'json'}})['webhookReceivers']])\n\
         gis._con.post(f'{{base}}/{{rid}}/update', {{'name': 'renamed', 'f': 'json'}})\n\
         print('renamed', gis._con.get(f'{{base}}/{{rid}}', {{'f': 'json'}})['name'])\n\
         print('validated', gis._con.post(f'{{base}}/{{rid}}/validate', {{'f': 'json'}}).get('success'))\n\
         print('deleted', gis._con.post(f'{{base}}/{{rid}}/delete', {{'f': 'json'}}).get('status'))\n"
    ));
    assert!(said.contains("me admin"), "{said}");
    assert!(said.contains(&format!("server {portal}/admin")), "{said}");
    assert!(said.contains("job COMPLETED"), "{said}");
    assert!(said.contains("system jobs 1"), "{said}");
    let executed_url = said
        .lines()
        .find_map(|l| l.strip_prefix("job COMPLETED "))
        .expect("the job's notebook URL");
    let executed = client
        .get(executed_url)
        .query(&[("token", token.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(executed.contains("x is 41"), "{executed}");
    assert!(said.contains("listed ['pkg']"), "{said}");
    assert!(said.contains("renamed renamed"), "{said}");
    assert!(said.contains("validated true"), "{said}");
    assert!(said.contains("deleted success"), "{said}");

    // With a username and password, as users type it (the package's OAuth
    // sign-in); a wrong password fails.
    let said = python(&format!(
        "from arcgis.gis import GIS\n\
         gis = GIS({portal:?}, 'admin', {PASSWORD:?}, verify_cert=False)\n\
         print('signed in as', gis.users.me.username)\n"
    ));
    assert!(said.contains("signed in as admin"), "{said}");
    let wrong = Command::new(arcgis_python())
        .args([
            "-c",
            &format!("from arcgis.gis import GIS\nGIS({portal:?}, 'admin', 'wrong password', verify_cert=False)\n"),
        ])
        .output()
        .unwrap();
    assert!(!wrong.status.success(), "a wrong password signed in");

    // A token that is not valid: an error naming it, never anonymous.
    refused_by_the_package(&portal, "not-a-token");

    // GIS("home") inside a run started by a signed webhook.
    let notebook = json!({
        "cells": [{"cell_type": "code", "id": "h", "metadata": {}, "execution_count": null, "outputs": [],
                   "source": "from arcgis.gis import GIS\ngis = GIS('home')\nprint('home', gis.users.me.username)\n\
    found = gis.content.search('title:x', item_type='Notebook')\nprint('found', [i.title for i in found])\n\
    print('cells', len(found[0].get_data()['cells']))\n\
    print('tagged', found[0].update(item_properties={'tags': 'seen-by-run'}))"}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5
    });
    let (_, receiver) = crate::common::nodes::notebook_receiver(
        &client,
        &base,
        &token,
        "home",
        &notebook.to_string(),
    )
    .await;
    let (done, executed) = run_from_webhook(&client, &portal, &token, &receiver).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert!(executed.contains("home admin"), "{executed}");
    // It searched content, read an item and changed it, as its owner.
    assert!(executed.contains("found ['x']"), "{executed}");
    assert!(executed.contains("cells 2"), "{executed}");
    assert!(executed.contains("tagged True"), "{executed}");
    let described: serde_json::Value = client
        .get(format!("{portal}/sharing/rest/content/items/{item}"))
        .query(&[("f", "json"), ("token", token.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(described["tags"], json!(["seen-by-run"]), "{described}");

    // The one-minute token, once the site no longer takes it (waited for,
    // bounded): expired is refused the same way.
    eventually(
        "the one-minute token expires",
        Duration::from_secs(150),
        || async {
            let r = client
                .get(format!("{portal}/sharing/rest/community/self"))
                .query(&[("f", "json")])
                .header("X-Esri-Authorization", format!("Bearer {short}"))
                .send()
                .await
                .unwrap();
            let answer: serde_json::Value = r.json().await.unwrap();
            if crate::common::error_code(&answer) == Some(498) {
                Ok(())
            } else {
                Err(answer.to_string())
            }
        },
    )
    .await;
    refused_by_the_package(&portal, &short);
}

/// `GIS(portal, token=token)` fails with the error that names the token
/// problem, rather than carrying on anonymously.
fn refused_by_the_package(portal: &str, token: &str) {
    let refused = Command::new(arcgis_python())
        .args([
            "-c",
            &format!(
                "from arcgis.gis import GIS\n\
                 gis = GIS({portal:?}, token={token:?}, verify_cert=False)\n\
                 print('anonymous', gis.users.me)\n"
            ),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success(),
        "a token that is not valid signed in: {stderr}"
    );
    assert!(stderr.contains("The token is not valid"), "{stderr}");
}

/// The package's content calls, as users type them, in both kinds
/// of session (password and token):
/// `gis.content.add` of a notebook file, `Folder.add` (an upload in parts,
/// sent several at once), `gis.content.search` by type, owner and title,
/// `get_data` (a dict), `update` with a title, tags and a new file,
/// `download`, `gis.users.search` (with and without a query) and `delete`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_arcgis_package_adds_finds_updates_downloads_and_deletes_notebooks() {
    for kind in SESSIONS {
        content_calls(kind).await;
    }
}

/// The content calls in a session of `kind`, on a site of their own.
async fn content_calls(kind: &str) {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let (_server, base) = serve_https(dir.path(), &client, &[]).await;
    let portal = format!("{base}/notebooks");
    let token = form(
        &client,
        format!("{portal}/sharing/rest/generateToken"),
        &[("username", "admin"), ("password", PASSWORD), ("f", "json")],
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let notebook = |source: &str| {
        json!({
            "cells": [{"cell_type": "code", "id": "c", "metadata": {}, "execution_count": null,
                       "outputs": [], "source": source}],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5
        })
        .to_string()
    };
    let (first, second) = (notebook("print(1)"), notebook("print(2)"));
    let session = signed_in(&portal, kind, "admin", &token);
    let said = python(&format!(
        "import os, tempfile\n\
         from arcgis.gis import GIS, ItemProperties\n\
         gis = {session}\n\
         d = tempfile.mkdtemp()\n\
         path = os.path.join(d, 'daily.ipynb')\n\
         open(path, 'w').write({first:?})\n\
         item = gis.content.add({{'type': 'Notebook', 'title': 'Daily', 'tags': 'ops,nightly'}}, data=path)\n\
         print('added', item.title, item.type, item.tags)\n\
         folder = gis.content.folders.get()\n\
         job = folder.add(ItemProperties(title='Weekly', item_type='Notebook', tags=['ops']), file=path, upload_file_size=100)\n\
         weekly = job.result()\n\
         print('in parts', weekly.title, weekly.type, weekly.size)\n\
         print('by type', sorted(i.title for i in gis.content.search('', item_type='Notebook')))\n\
         print('by owner', len(gis.content.search('owner:admin')))\n\
         print('by title', [i.title for i in gis.content.search('title:Daily')])\n\
         data = item.get_data()\n\
         print('data', type(data).__name__, data['nbformat'])\n\
         path2 = os.path.join(d, 'second.ipynb')\n\
         open(path2, 'w').write({second:?})\n\
         print('updated', item.update(item_properties={{'title': 'Daily v2', 'tags': 'a,b'}}, data=path2))\n\
         item = gis.content.get(item.id)\n\
         print('after', item.title, item.tags)\n\
         saved = item.download(save_path=d)\n\
         print('downloaded', os.path.basename(saved), 'print(2)' in open(saved).read())\n\
         print('users', [u.username for u in gis.users.search()])\n\
         print('users by name', [u.username for u in gis.users.search('username:admin')])\n\
         print('deleted', weekly.delete())\n\
         print('left', [i.title for i in gis.content.search('owner:admin')])\n"
    ));
    assert!(
        said.contains("added Daily Notebook ['ops', 'nightly']"),
        "{said}"
    );
    assert!(
        said.contains(&format!("in parts Weekly Notebook {}", first.len())),
        "{said}"
    );
    assert!(said.contains("by type ['Daily', 'Weekly']"), "{said}");
    assert!(said.contains("by owner 2"), "{said}");
    assert!(said.contains("by title ['Daily']"), "{said}");
    assert!(said.contains("data dict 4"), "{said}");
    assert!(said.contains("updated True"), "{said}");
    assert!(said.contains("after Daily v2 ['a', 'b']"), "{said}");
    assert!(said.contains("downloaded Daily v2.ipynb True"), "{said}");
    assert!(said.contains("users ['admin']"), "{said}");
    assert!(said.contains("users by name ['admin']"), "{said}");
    assert!(said.contains("deleted True"), "{said}");
    assert!(said.contains("left ['Daily v2']"), "{said}");
}

/// The Notebook Server resources as the package reads them, in both kinds
/// of session: `execute_notebook` with its defaults (the item then holds the
/// executed notebook), `nbs.info`, `nbs.system.properties` (read and set),
/// `nbs.notebooks.list()`, `open_notebook` refused, `nbs.system.jobs` and
/// `delete_all_jobs`, and a runtime added with `maxCPU` and updated with
/// the package's `maxCpu`. (`RuntimeManager.restore` is left to the HTTP
/// suite: here it would build the Standard runtime from PyPI.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_arcgis_package_reads_the_notebook_server_as_esri_shapes_it() {
    for kind in SESSIONS {
        notebook_server_calls(kind).await;
    }
}

/// The Notebook Server calls in a session of `kind`, on a site of its own.
async fn notebook_server_calls(kind: &str) {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let (_server, base) = serve_https(dir.path(), &client, &[]).await;
    let portal = format!("{base}/notebooks");
    let token = form(
        &client,
        format!("{portal}/sharing/rest/generateToken"),
        &[("username", "admin"), ("password", PASSWORD), ("f", "json")],
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let notebook = json!({
        "cells": [
            {"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]}, "execution_count": null, "outputs": [], "source": "x = 1"},
            {"cell_type": "code", "id": "x", "metadata": {}, "execution_count": null, "outputs": [], "source": "print('x is', x)"}
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5
    });
    let item = add_notebook(&client, &portal, &token, "x", &notebook).await;
    let session = signed_in(&portal, kind, "admin", &token);
    let said = python(&format!(
        "from arcgis.gis import GIS\n\
         from arcgis.gis.nb._nbm import RuntimeConfiguration\n\
         gis = {session}\n\
         nbs = gis.notebook_server[0]\n\
         item = gis.content.get({item:?})\n\
         job = nbs.notebooks.execute_notebook(item, parameters={{'x': 41}}, future=True).result()\n\
         print('job', job['status'], job['notebookRuntimeName'], job['inputs']['updatePortalItem'])\n\
         info = nbs.info\n\
         print('info', info['fullVersion'], info['loggedInUser'])\n\
         print('properties', nbs.system.properties['webSocketSize'])\n\
         nbs.system.properties = {{'webSocketSize': 32}}\n\
         nbs.system._properties = None\n\
         print('properties now', nbs.system.properties['webSocketSize'])\n\
         print('open notebooks', nbs.notebooks.list())\n\
         try:\n\
         \x20   print('opened', nbs.notebooks.open_notebook(item.id))\n\
         except Exception as e:\n\
         \x20   print('open refused', e)\n\
         print('jobs', len(nbs.system.jobs))\n\
         print('deleted all', nbs.system.delete_all_jobs())\n\
         print('jobs after', len(nbs.system.jobs))\n\
         rm = nbs.notebooks.runtime_manager\n\
         rt = rm.add(RuntimeConfiguration(name='Small', image_id='none', max_cpu=1.5, max_memory=1))\n\
         print('added', type(rt).__name__, rt.properties['maxCPU'], rt.properties['maxCpu'])\n\
         print('updated', rt.update(max_cpu=0.5, max_memory=2))\n\
         rt._properties = None\n\
         print('now', rt.properties['maxCPU'], rt.properties['maxMemory'])\n\
         print('validated', rm.validate()['status'])\n"
    ));
    assert!(said.contains("job COMPLETED Default True"), "{said}");
    // The item holds the executed notebook, without the injected cell.
    let data: serde_json::Value = client
        .get(format!("{portal}/sharing/rest/content/items/{item}/data"))
        .query(&[("token", token.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cells = data["cells"].as_array().expect("a notebook");
    assert_eq!(cells.len(), 2, "{data}");
    assert!(data.to_string().contains("x is 41"), "{data}");
    assert!(said.contains("info 11.4.0 admin"), "{said}");
    assert!(said.contains("properties 16"), "{said}");
    assert!(said.contains("properties now 32"), "{said}");
    assert!(said.contains("open notebooks []"), "{said}");
    assert!(said.contains("headless"), "{said}");
    assert!(said.contains("jobs 1"), "{said}");
    assert!(said.contains("deleted all True"), "{said}");
    assert!(said.contains("jobs after 0"), "{said}");
    assert!(said.contains("added Runtime 1.5 1.5"), "{said}");
    assert!(said.contains("updated True"), "{said}");
    assert!(said.contains("now 0.5 2"), "{said}");
    assert!(said.contains("validated success"), "{said}");
}

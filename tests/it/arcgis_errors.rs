//! Refusals as the real ArcGIS API for Python (`arcgis` 2.4.4) meets them,
//! in both kinds of session: signed in with a password (the package's
//! default sign-in, which takes any HTTP 4xx for a token problem and
//! repeats the request without its token) and with a token. Every refusal
//! reaches the caller with hookbook's message, never "Token Required".

use crate::common::arcgis::{form, python, serve_https, signed_in, SESSIONS};
use crate::common::nodes::{add_user, PASSWORD};

/// What a script prints for each refusal it provokes as `user`, signed in
/// the `kind` way (`password` or `token`).
fn refusals(portal: &str, kind: &str, user: &str, token: &str) -> String {
    let sign_in = signed_in(portal, kind, user, token);
    python(&format!(
        "import json\n\
         from arcgis.gis import GIS\n\
         gis = {sign_in}\n\
         nbs = gis.notebook_server[0]\n\
         base = nbs.url + '/notebooks/webhookReceivers'\n\
         def said(label, call):\n\
         \x20   try:\n\
         \x20       print(label, 'answered', json.dumps(call()))\n\
         \x20   except Exception as e:\n\
         \x20       print(label, 'raised', str(e).replace('\\n', ' '))\n\
         said('list-receivers', lambda: gis._con.get(base, {{'f': 'json'}}))\n\
         said('unknown-receiver', lambda: gis._con.get(base + '/0123456789abcdef0123456789abcdef', {{'f': 'json'}}))\n\
         said('bad-parameters', lambda: gis._con.post(base + '/create', {{'name': 'x', 'f': 'json'}}))\n\
         said('bad-execute', lambda: gis._con.post(nbs.url + '/notebooks/executeNotebook', {{'itemId': 'nope', 'f': 'json'}}))\n\
         said('bad-notebook', lambda: gis._con.post({portal:?} + '/sharing/rest/content/users/{user}/addItem', {{'title': 'x', 'type': 'Notebook', 'text': 'not a notebook', 'f': 'json'}}))\n"
    ))
}

/// The line a script printed for `label`.
fn line<'a>(said: &'a str, label: &str) -> &'a str {
    said.lines()
        .find(|l| l.starts_with(&format!("{label} ")))
        .unwrap_or_else(|| panic!("no line for {label}: {said}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_reach_the_package_with_hookbooks_message_in_both_kinds_of_session() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let (_server, base) = serve_https(dir.path(), &client, &[]).await;
    add_user(
        &crate::common::db::database_url(dir.path()),
        "viewer",
        "user",
    );
    let portal = format!("{base}/notebooks");
    let token_of = |user: &'static str| {
        let client = client.clone();
        let portal = portal.clone();
        async move {
            form(
                &client,
                format!("{portal}/sharing/rest/generateToken"),
                &[("username", user), ("password", PASSWORD), ("f", "json")],
            )
            .await["token"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let admin = token_of("admin").await;
    let viewer = token_of("viewer").await;
    for kind in SESSIONS {
        let said = refusals(&portal, kind, "admin", &admin);
        assert!(!said.contains("Token Required"), "{kind}: {said}");
        let unknown = line(&said, "unknown-receiver");
        assert!(
            unknown.contains("\"code\": 404")
                && unknown.contains("'01234567-89ab-cdef-0123-456789abcdef' does not exist"),
            "{kind}: {unknown}"
        );
        let bad = line(&said, "bad-parameters");
        assert!(
            bad.contains("\"code\": 400") && bad.contains("itemId"),
            "{kind}: {bad}"
        );
        let bad = line(&said, "bad-execute");
        assert!(
            bad.contains("\"code\": 400") && bad.contains("itemId"),
            "{kind}: {bad}"
        );
        let notebook = line(&said, "bad-notebook");
        assert!(
            notebook.contains("raised") && notebook.contains("text"),
            "{kind}: {notebook}"
        );
        // A user without the privileges to manage receivers.
        let said = refusals(&portal, kind, "viewer", &viewer);
        assert!(!said.contains("Token Required"), "{kind}: {said}");
        let list = line(&said, "list-receivers");
        assert!(
            list.contains("\"code\": 403") && list.contains("permissions"),
            "{kind}: {list}"
        );
    }
}

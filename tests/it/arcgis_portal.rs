//! `--portal-url`: a site whose portal is not hookbook itself. No ArcGIS
//! portal runs here, so a second hookbook over HTTPS stands in for one
//! (the only stand-in of the suite): a receiver's `apiToken` is a token
//! of that portal's user; `validate` asks the portal and says when it
//! refuses a token; a run from a signed webhook calls `GIS("home")` and
//! signs in to that portal as its user, while the run's own token still
//! calls hookbook.

use crate::common::arcgis::{add_notebook, form, run_from_webhook, serve_https};
use crate::common::nodes::{add_administrator, PASSWORD};
use serde_json::json;

async fn sign_in(client: &reqwest::Client, portal: &str, username: &str) -> String {
    form(
        client,
        format!("{portal}/sharing/rest/generateToken"),
        &[
            ("username", username),
            ("password", PASSWORD),
            ("f", "json"),
        ],
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_sign_in_to_the_sites_portal_with_the_receivers_api_token() {
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    // The stand-in portal, with a user of its own.
    let portal_dir = tempfile::tempdir().unwrap();
    let (_portal, portal_base) = serve_https(portal_dir.path(), &client, &[]).await;
    add_administrator(
        &crate::common::db::database_url(portal_dir.path()),
        "portaluser",
    );
    let portal = format!("{portal_base}/notebooks");
    let portal_token = sign_in(&client, &portal, "portaluser").await;

    // The site, trusting the portal's self-signed certificate.
    let dir = tempfile::tempdir().unwrap();
    let ca = portal_dir.path().join("cert.pem");
    // The stand-in portal listens on the host's loopback, which a run's
    // own network does not reach (a real portal is elsewhere on the
    // network): this site's runs share the host's network.
    let flags = [
        "--portal-url",
        portal.as_str(),
        "--portal-ca-cert",
        ca.to_str().unwrap(),
        "--run-network",
        "on",
    ];
    let (_server, base) = serve_https(dir.path(), &client, &flags).await;
    let site = format!("{base}/notebooks");
    let token = sign_in(&client, &site, "admin").await;

    let notebook = json!({
        "cells": [{"cell_type": "code", "id": "h", "metadata": {}, "execution_count": null, "outputs": [],
                   "source": "import os, json, urllib.request, ssl\nfrom arcgis.gis import GIS\ngis = GIS('home')\nprint('portal user', gis.users.me.username)\nctx = ssl._create_unverified_context()\nurl = os.environ['HOOKBOOK_URL'] + '/sharing/rest/community/self?f=json&token=' + os.environ['HOOKBOOK_TOKEN']\nprint('hookbook user', json.load(urllib.request.urlopen(url, context=ctx))['username'])"}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5
    });
    let item = add_notebook(&client, &site, &token, "home", &notebook).await;
    let receiver = |api_token: String| {
        let (client, site, token, item) =
            (client.clone(), site.clone(), token.clone(), item.clone());
        async move {
            form(
                &client,
                format!("{site}/admin/notebooks/webhookReceivers/create"),
                &[
                    ("name", "home"),
                    ("itemId", &item),
                    ("secret", crate::common::SECRET),
                    ("signatureHeaders", "x-esrihook-signature"),
                    ("apiToken", &api_token),
                    ("token", &token),
                    ("f", "json"),
                ],
            )
            .await["webhookReceiver"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let validate = |id: String| {
        let (client, site, token) = (client.clone(), site.clone(), token.clone());
        async move {
            form(
                &client,
                format!("{site}/admin/notebooks/webhookReceivers/{id}/validate"),
                &[("token", &token), ("f", "json")],
            )
            .await
        }
    };

    let refused = receiver("not-a-portal-token".into()).await;
    let said = validate(refused).await;
    assert_eq!(said["success"], "false", "{said}");
    assert!(
        said.to_string()
            .contains(&format!("the portal at {portal} refused it")),
        "{said}"
    );

    let good = receiver(portal_token).await;
    let said = validate(good.clone()).await;
    assert_eq!(said["success"], "true", "{said}");

    let (done, executed) = run_from_webhook(&client, &site, &token, &good).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert!(executed.contains("portal user portaluser"), "{executed}");
    assert!(executed.contains("hookbook user admin"), "{executed}");
}

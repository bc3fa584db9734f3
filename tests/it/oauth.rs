//! The OAuth sign-in the ArcGIS API for Python makes, checked the way an
//! attacker would try it: a token goes only to this site's own origin or
//! out of band, never to an address the request names; an `oauth_state`
//! that was not sealed by this site, or was changed, signs nobody in; an
//! unknown client is refused by name; and a good sign-in redirects with
//! the token and the client's `state`.

use crate::common::{spawn_app, PASSWORD};

const AUTHORIZE: &str = "/notebooks/sharing/rest/oauth2/authorize";
const SIGN_IN: &str = "/notebooks/sharing/oauth2/signin";

/// The `oauth_state` in an authorize page.
fn oauth_state(page: &str) -> String {
    let at = page.find("\"oauth_state\":\"").expect("an oauth_state") + 15;
    page[at..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn a_token_goes_only_where_this_site_allows_and_only_for_a_sealed_state() {
    let app = spawn_app().await;
    app.add_user("admin", "administrator", &[]).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |query: Vec<(&'static str, &'static str)>| {
        let client = client.clone();
        let url = app.url(AUTHORIZE);
        async move {
            let r = client.get(url).query(&query).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let base = vec![
        ("client_id", "pythonapi"),
        ("response_type", "token"),
        ("state", "s-123"),
    ];

    let mut evil = base.clone();
    evil.push(("redirect_uri", "https://evil.example/steal"));
    let (status, text) = get(evil).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("Invalid redirect_uri"), "{text}");

    let mut stranger = base.clone();
    stranger[0] = ("client_id", "someoneelse");
    stranger.push(("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"));
    let (status, text) = get(stranger).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("Error: Invalid client_id"), "{text}");

    let mut good = base.clone();
    good.push(("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"));
    let (status, page) = get(good).await;
    assert_eq!(status, 200, "{page}");
    let state = oauth_state(&page);

    let sign_in = |oauth_state: String, password: &'static str| {
        let client = client.clone();
        let url = app.url(SIGN_IN);
        async move {
            client
                .post(url)
                .form(&[
                    ("oauth_state", oauth_state.as_str()),
                    ("username", "admin"),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // Changed by one character: not this site's.
    let mut forged = state.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let r = sign_in(String::from_utf8(forged).unwrap(), PASSWORD).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("oauth_state"));

    let r = sign_in(state.clone(), "not the password").await;
    assert_ne!(r.status(), 302, "a wrong password signed in");

    let r = sign_in(state, PASSWORD).await;
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with("urn:ietf:wg:oauth:2.0:oob#access_token="),
        "{location}"
    );
    assert!(location.contains("state=s-123"), "{location}");
    let token = location
        .split(['#', '&'])
        .find_map(|p| p.strip_prefix("access_token="))
        .unwrap()
        .to_string();
    let me = app
        .get("/notebooks/sharing/rest/community/self", Some(&token))
        .await;
    assert_eq!(me.json["username"], "admin", "{}", me.json);
    app.stop().await;
}

//! The store's uploads in parts, on both databases: parts arriving at once
//! are counted against the limit one after another, a commit takes the
//! parts once, the pending bound holds per owner, abandoned uploads are
//! swept, and item tags read back as written.

use std::sync::Arc;

use crate::common::db::stores;
use hookbook::domain::ids::ItemId;
use hookbook::domain::notebook::{Item, ItemTitle, Tags};
use hookbook::domain::time::Millis;
use hookbook::domain::upload::{PartNumber, Upload, UploadState};
use hookbook::domain::user::{Role, User, Username};
use hookbook::store::{ItemChanges, PartAdded, Store, UploadStarted, UserRecord};

async fn owner(store: &Arc<dyn Store>, name: &str) -> Username {
    let username = Username::parse(name).unwrap();
    store
        .add_user(&UserRecord {
            user: User {
                username: username.clone(),
                role: Role::User,
                privileges: vec![],
            },
            password_hash: "unused".into(),
            created: Millis(0),
            tokens_revoked: None,
            last_sign_in: None,
        })
        .await
        .unwrap();
    username
}

fn upload(owner: &Username, at: i64) -> Upload {
    Upload {
        id: ItemId::generate(),
        owner: owner.clone(),
        title: ItemTitle::parse("In parts").unwrap(),
        tags: Tags::parse("a,b").unwrap(),
        state: UploadState::Partial,
        message: String::new(),
        created: Millis(at),
        modified: Millis(at),
    }
}

fn n(part: u32) -> PartNumber {
    PartNumber::parse(&part.to_string()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parts_sent_at_once_never_pass_the_limit_together() {
    for (name, store, _dir) in stores().await {
        let alice = owner(&store, "alice").await;
        let up = upload(&alice, Millis::now().0);
        let started = store.start_upload(&up, 10, Millis(0)).await.unwrap();
        assert_eq!(started, UploadStarted::Started, "{name}");
        // Twelve parts of 10 bytes against a limit of 100: ten fit.
        let mut senders = Vec::new();
        for part in 1..=12 {
            let (store, id) = (store.clone(), up.id.clone());
            senders.push(tokio::spawn(async move {
                store
                    .add_part(&id, n(part), &[b'x'; 10], 100, Millis::now())
                    .await
                    .unwrap()
            }));
        }
        let mut added = 0;
        for s in senders {
            match s.await.unwrap() {
                PartAdded::Added(total) => {
                    assert!(total <= 100, "{name}: {total}");
                    added += 1;
                }
                PartAdded::TooLarge(total) => assert!(total > 100, "{name}"),
                PartAdded::NoUpload => panic!("{name}: the upload is there"),
            }
        }
        assert_eq!(added, 10, "{name}");
        let parts = store
            .take_parts(&up.id, Millis::now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(parts.len(), 10, "{name}");
        assert!(
            parts.windows(2).all(|w| w[0].0 < w[1].0),
            "{name}: in order"
        );
        assert!(
            store
                .take_parts(&up.id, Millis::now())
                .await
                .unwrap()
                .is_none(),
            "{name}: once"
        );
        let refused = store
            .add_part(&up.id, n(1), b"x", 100, Millis::now())
            .await
            .unwrap();
        assert_eq!(
            refused,
            PartAdded::NoUpload,
            "{name}: no parts while committing"
        );
        let item = Item {
            id: up.id.clone(),
            owner: alice.clone(),
            title: up.title.clone(),
            tags: up.tags.clone(),
            created: up.created,
            modified: Millis::now(),
            size: 2,
        };
        store.finish_upload(&item, b"{}").await.unwrap();
        assert!(store.upload(&up.id).await.unwrap().is_none(), "{name}");
        let stored = store.item(&up.id).await.unwrap().unwrap();
        assert_eq!(stored.tags.as_slice(), ["a", "b"], "{name}");
        let retagged = Tags::parse("c").unwrap();
        let changes = ItemChanges {
            tags: Some(&retagged),
            ..Default::default()
        };
        assert!(store
            .update_item(&up.id, &changes, Millis::now())
            .await
            .unwrap());
        let stored = store.item(&up.id).await.unwrap().unwrap();
        assert_eq!(stored.tags.as_slice(), ["c"], "{name}");
        assert_eq!(stored.title.as_str(), "In parts", "{name}: the rest kept");
        assert_eq!(store.all_items().await.unwrap().len(), 1, "{name}");
    }
}

#[tokio::test]
async fn the_pending_bound_is_per_owner_and_abandoned_uploads_are_swept() {
    for (name, store, _dir) in stores().await {
        let alice = owner(&store, "alice").await;
        let bob = owner(&store, "bob").await;
        let day = 24 * 60 * 60 * 1000;
        let old = upload(&alice, 1_000);
        store.start_upload(&old, 3, Millis(0)).await.unwrap();
        store
            .add_part(&old.id, n(1), b"x", 100, Millis(1_000))
            .await
            .unwrap();
        let mut early = Vec::new();
        for _ in 0..2 {
            let up = upload(&alice, 2_000);
            assert_eq!(
                store.start_upload(&up, 3, Millis(0)).await.unwrap(),
                UploadStarted::Started
            );
            early.push(up.id);
        }
        let fourth = upload(&alice, 3_000);
        assert_eq!(
            store.start_upload(&fourth, 3, Millis(0)).await.unwrap(),
            UploadStarted::TooMany(3),
            "{name}"
        );
        assert_eq!(
            store
                .start_upload(&upload(&bob, 3_000), 3, Millis(0))
                .await
                .unwrap(),
            UploadStarted::Started,
            "{name}: bob's are counted apart"
        );
        // A failed upload answers its status, and counts as pending, for
        // ten minutes; then a new upload takes its place.
        let ten_minutes = 10 * 60 * 1000;
        store
            .fail_upload(&old.id, "no notebook", Millis(1_500))
            .await
            .unwrap();
        let failed = store.upload(&old.id).await.unwrap().unwrap();
        assert_eq!(
            (failed.state, failed.message.as_str()),
            (UploadState::Failed, "no notebook")
        );
        let too_soon = upload(&alice, 1_500 + ten_minutes);
        assert_eq!(
            store.start_upload(&too_soon, 3, Millis(0)).await.unwrap(),
            UploadStarted::TooMany(3),
            "{name}: the failed one counts for ten minutes"
        );
        let after_failure = upload(&alice, 1_501 + ten_minutes);
        let started = store
            .start_upload(&after_failure, 3, Millis(0))
            .await
            .unwrap();
        assert_eq!(started, UploadStarted::Started, "{name}");
        assert!(
            store.upload(&old.id).await.unwrap().is_none(),
            "{name}: the failed one is gone"
        );
        // Uploads last changed before the sweep's time are removed; one
        // changed at it is kept.
        let later = upload(&alice, 2_000 + day);
        let started = store
            .start_upload(&later, 10, Millis(1_501 + ten_minutes))
            .await
            .unwrap();
        assert_eq!(started, UploadStarted::Started, "{name}");
        for id in &early {
            assert!(store.upload(id).await.unwrap().is_none(), "{name}: swept");
        }
        assert!(
            store.upload(&after_failure.id).await.unwrap().is_some(),
            "{name}: at the bound"
        );
        let swept = upload(&alice, 3 * day);
        store
            .start_upload(&swept, 10, Millis(2 * day))
            .await
            .unwrap();
        assert!(
            store.upload(&after_failure.id).await.unwrap().is_none(),
            "{name}"
        );
        assert!(store.upload(&later.id).await.unwrap().is_none(), "{name}");
        assert!(store.upload(&swept.id).await.unwrap().is_some(), "{name}");
        // The hourly upkeep sweeps the same way.
        store
            .add_part(&swept.id, n(1), b"x", 100, Millis(3 * day))
            .await
            .unwrap();
        assert_eq!(
            store.sweep_uploads(Millis(3 * day)).await.unwrap(),
            0,
            "{name}"
        );
        assert!(
            store.upload(&swept.id).await.unwrap().is_some(),
            "{name}: at the bound"
        );
        assert_eq!(
            store.sweep_uploads(Millis(3 * day + 1)).await.unwrap(),
            1,
            "{name}"
        );
        assert!(
            store
                .take_parts(&swept.id, Millis(0))
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
    }
}

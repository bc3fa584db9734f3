//! Runtimes as stored, on both databases in one run: what is stored reads
//! back the same, names are unique without regard to case, and a build's
//! result lands only on the version it built.

use hookbook::domain::runtime::Runtime;

use crate::common::db::stores;

use hookbook::domain::runtime::{
    Limits, Preload, Requirements, RuntimeId, RuntimeName, RuntimeState,
};
use hookbook::domain::time::Millis;
use hookbook::store::StoreError;

fn runtime(name: &str) -> Runtime {
    Runtime {
        id: RuntimeId::generate(),
        name: RuntimeName::parse(name).unwrap(),
        version: 1,
        requirements: Requirements::parse("six==1.16.0\nrequests>=2").unwrap(),
        preload: Preload::parse("six, json").unwrap(),
        limits: Limits::parse(Some("1.5"), Some("512"), Some("m")).unwrap(),
        lock: None,
        state: RuntimeState::Building,
        message: String::new(),
        created: Millis(1_000),
        modified: Millis(1_000),
    }
}

#[tokio::test]
async fn a_runtime_reads_back_as_stored_and_its_name_is_unique_in_any_case() {
    for (name, store, _dir) in stores().await {
        let six = runtime("Six Runtime");
        store.add_runtime(&six).await.unwrap();
        assert_eq!(
            store.runtime(&six.id).await.unwrap().as_ref(),
            Some(&six),
            "{name}"
        );

        let again = runtime("six runtime");
        let refused = store.add_runtime(&again).await.unwrap_err();
        assert!(
            matches!(refused, StoreError::Conflict(_)),
            "{name}: {refused:?}"
        );

        let other = runtime("Another");
        store.add_runtime(&other).await.unwrap();
        let names: Vec<String> = store
            .runtimes()
            .await
            .unwrap()
            .iter()
            .map(|r| r.name.to_string())
            .collect();
        assert_eq!(names, ["Another", "Six Runtime"], "{name}");

        let mut renamed = other.clone();
        renamed.name = RuntimeName::parse("SIX RUNTIME").unwrap();
        let refused = store.update_runtime(&renamed).await.unwrap_err();
        assert!(
            matches!(refused, StoreError::Conflict(_)),
            "{name}: {refused:?}"
        );

        assert!(store.remove_runtime(&other.id).await.unwrap(), "{name}");
        assert!(!store.remove_runtime(&other.id).await.unwrap(), "{name}");
        assert_eq!(store.runtime(&other.id).await.unwrap(), None, "{name}");
    }
}

#[tokio::test]
async fn a_builds_result_lands_only_on_the_version_it_built() {
    for (name, store, _dir) in stores().await {
        let mut r = runtime("Builds");
        store.add_runtime(&r).await.unwrap();
        // An update makes version 2 while version 1 is still building.
        r.version = 2;
        r.requirements = Requirements::parse("six==1.17.0").unwrap();
        r.modified = Millis(2_000);
        assert!(store.update_runtime(&r).await.unwrap(), "{name}");

        let late = store
            .set_runtime_state(&r.id, 1, RuntimeState::Ready, Some("six==1.16.0\n"), "")
            .await
            .unwrap();
        assert!(!late, "{name}: version 1's build changed version 2");
        let stored = store.runtime(&r.id).await.unwrap().unwrap();
        assert_eq!(stored.state, RuntimeState::Building, "{name}");
        assert_eq!(stored.lock, None, "{name}");

        let failed = store
            .set_runtime_state(&r.id, 2, RuntimeState::Failed, None, "no six==1.17.0")
            .await
            .unwrap();
        assert!(failed, "{name}");
        let stored = store.runtime(&r.id).await.unwrap().unwrap();
        assert_eq!(
            (stored.version, stored.state, stored.message.as_str()),
            (2, RuntimeState::Failed, "no six==1.17.0"),
            "{name}"
        );
        assert_eq!(stored.requirements.to_file(), "six==1.17.0\n", "{name}");
    }
}

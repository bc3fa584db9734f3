//! `hookbook runtime add|list|remove`: runtimes from the command line,
//! each built with uv where the command runs (its steps logged to
//! standard error).

use anyhow::{bail, Context as _};

use crate::config::{RuntimeAddArgs, RuntimeRemoveArgs, StorageArgs};
use crate::domain::runtime::{Limits, Preload, Requirements, RuntimeId, RuntimeName, RuntimeState};
use crate::domain::time::Millis;
use crate::runner::build::{self, Builder};
use crate::runner::setup;
use crate::store::{self, RuntimeRecord, Store, StoreError};

use super::prepare_storage;

/// Where the data dir's runtimes are built.
pub fn runtimes_dir(storage: &StorageArgs) -> std::path::PathBuf {
    storage.data_dir.join("runtimes")
}

/// `hookbook runtime add`: registers the runtime, then builds it.
pub(super) async fn add(args: RuntimeAddArgs) -> anyhow::Result<()> {
    crate::telemetry::init("info");
    fn field(name: &'static str) -> impl Fn(crate::domain::ParseError) -> anyhow::Error {
        move |e| anyhow::anyhow!("{name}: {e}")
    }
    let now = Millis::now();
    let record = RuntimeRecord {
        id: RuntimeId::generate(),
        name: RuntimeName::parse(&args.name).map_err(field("--name"))?,
        version: 1,
        requirements: Requirements::parse(&args.requirements.join("\n"))
            .map_err(field("--requirement"))?,
        preload: Preload::parse(&args.preload).map_err(field("--preload"))?,
        limits: Limits::parse(
            args.max_cpu.as_deref(),
            args.max_memory.as_deref(),
            args.max_memory_unit.as_deref(),
        )
        .map_err(field("limits"))?,
        lock: None,
        state: RuntimeState::Building,
        message: String::new(),
        created: now,
        modified: now,
    };
    prepare_storage(&args.storage)?;
    let python = args
        .python
        .clone()
        .unwrap_or_else(|| setup::venv_python(&args.storage.data_dir));
    if !python.exists() {
        bail!(
            "{} is missing: run `hookbook kernel setup` first, or pass --python",
            python.display()
        );
    }
    let store = store::open(&args.storage.database()).await?;
    store.add_runtime(&record).await.map_err(|e| match e {
        StoreError::Conflict(what) => anyhow::anyhow!("{what} already exists"),
        other => other.into(),
    })?;
    let builder = Builder::new(&std::path::absolute(&python)?, runtimes_dir(&args.storage));
    match build::build(store.as_ref(), &builder, &record).await {
        Ok(python) => {
            println!(
                "runtime '{}' ({}) is ready: {}",
                record.name,
                record.id,
                python.display()
            );
            Ok(())
        }
        Err(e) => bail!(
            "runtime '{}' ({}) was registered but could not be built: {}",
            record.name,
            record.id,
            crate::telemetry::chain(&e)
        ),
    }
}

/// `hookbook runtime list`: one line per runtime.
pub(super) async fn list(storage: StorageArgs) -> anyhow::Result<()> {
    let store = store::open(&storage.database()).await?;
    for r in store.runtimes().await? {
        let requirements: Vec<&str> = r.requirements.iter().map(|q| q.as_str()).collect();
        println!(
            "{}\t{}\tversion {}\t{}\t{}{}",
            r.id,
            r.name,
            r.version,
            r.state.as_str(),
            requirements.join(", "),
            if r.message.is_empty() {
                String::new()
            } else {
                format!("\t{}", r.message)
            }
        );
    }
    Ok(())
}

/// `hookbook runtime remove`: the record and every version's environment.
pub(super) async fn remove(args: RuntimeRemoveArgs) -> anyhow::Result<()> {
    let store = store::open(&args.storage.database()).await?;
    let runtime = find(store.as_ref(), &args.runtime).await?;
    store.remove_runtime(&runtime.id).await?;
    let dir = runtimes_dir(&args.storage).join(runtime.id.as_str());
    match tokio::fs::remove_dir_all(&dir).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(e).with_context(|| format!("cannot remove {}", dir.display()));
        }
    }
    println!("runtime '{}' ({}) removed", runtime.name, runtime.id);
    Ok(())
}

/// The runtime named or identified by `key`.
async fn find(store: &dyn Store, key: &str) -> anyhow::Result<RuntimeRecord> {
    let found = store
        .runtimes()
        .await?
        .into_iter()
        .find(|r| r.id.as_str() == key.trim().to_ascii_lowercase() || r.name.matches(key));
    found.with_context(|| format!("no runtime is named or has the id '{key}'"))
}

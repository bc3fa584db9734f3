//! `hookbook runtime add|update|list|remove`: runtimes from the command line,
//! each built with uv where the command runs (its steps logged to
//! standard error).

use crate::domain::runtime::{Runtime, RuntimeChange};

use anyhow::{bail, Context as _};

use crate::config::{
    ListFormat, RuntimeAddArgs, RuntimeFields, RuntimeListArgs, RuntimePreset, RuntimeRemoveArgs,
    RuntimeUpdateArgs, StorageArgs,
};
use crate::domain::runtime::{self, Limits, Preload, Requirements, RuntimeName};
use crate::domain::time::Millis;
use crate::runner::build::{self, BuildStep, Builder};
use crate::runner::setup;
use crate::store::{self, Store, StoreError};

use super::existing_site;
use super::progress::Steps;

/// Where the data dir's runtimes are built.
pub fn runtimes_dir(storage: &StorageArgs) -> std::path::PathBuf {
    storage.data_dir.join("runtimes")
}

/// `hookbook runtime add`: registers the runtime, then builds it (unless
/// `--no-build`).
pub(super) async fn add(args: RuntimeAddArgs) -> anyhow::Result<()> {
    // Progress is shown by steps; the log says only what went wrong.
    crate::telemetry::init("warn", crate::config::LogFormat::Text);
    let mut fields = args.fields;
    if let Some(RuntimePreset::Standard) = args.preset {
        let preset = runtime::STANDARD;
        fields.name.get_or_insert_with(|| preset.name.to_string());
        let mut requirements: Vec<String> =
            preset.requirements.iter().map(|r| r.to_string()).collect();
        requirements.append(&mut fields.requirements);
        fields.requirements = requirements;
        fields
            .preload
            .get_or_insert_with(|| preset.preload.join(","));
    }
    let change = change(&fields)?;
    let record = Runtime::register(change, Millis::now())
        .context("--name: a runtime needs a name (or --preset)")?;
    existing_site(&args.storage).await?;
    let store = store::open(&args.storage.database()).await?;
    store.add_runtime(&record).await.map_err(|e| match e {
        StoreError::Conflict(what) => anyhow::anyhow!("{what} already exists"),
        other => other.into(),
    })?;
    build_here(store.as_ref(), &args.storage, &fields, &record).await
}

/// `hookbook runtime update`: applies the change; a new version is built
/// here at once (unless `--no-build`).
pub(super) async fn update(args: RuntimeUpdateArgs) -> anyhow::Result<()> {
    // Progress is shown by steps; the log says only what went wrong.
    crate::telemetry::init("warn", crate::config::LogFormat::Text);
    let change = change(&args.fields)?;
    existing_site(&args.storage).await?;
    let store = store::open(&args.storage.database()).await?;
    let mut record = find(store.as_ref(), &args.runtime).await?;
    let version = record.version;
    record.apply(change, Millis::now());
    let stored = store.update_runtime(&record).await.map_err(|e| match e {
        StoreError::Conflict(what) => anyhow::anyhow!("{what} already exists"),
        other => other.into(),
    })?;
    if !stored {
        bail!("the runtime '{}' was removed meanwhile", args.runtime);
    }
    if record.version == version {
        println!(
            "runtime '{}' ({}) updated in {}; version {} stays",
            record.name,
            record.id,
            args.storage.database().describe(),
            record.version
        );
        return Ok(());
    }
    build_here(store.as_ref(), &args.storage, &args.fields, &record).await
}

/// The change the flags ask for.
fn change(fields: &RuntimeFields) -> anyhow::Result<RuntimeChange> {
    fn field(name: &'static str) -> impl Fn(crate::domain::ParseError) -> anyhow::Error {
        move |e| anyhow::anyhow!("{name}: {e}")
    }
    let limits = fields.max_cpu.is_some() || fields.max_memory.is_some();
    Ok(RuntimeChange {
        name: fields
            .name
            .as_deref()
            .map(RuntimeName::parse)
            .transpose()
            .map_err(field("--name"))?,
        requirements: (!fields.requirements.is_empty())
            .then(|| Requirements::parse(&fields.requirements.join("\n")))
            .transpose()
            .map_err(field("--requirement"))?,
        preload: fields
            .preload
            .as_deref()
            .map(Preload::parse)
            .transpose()
            .map_err(field("--preload"))?,
        limits: limits
            .then(|| {
                Limits::parse(
                    fields.max_cpu.as_deref(),
                    fields.max_memory.as_deref(),
                    fields.max_memory_unit.as_deref(),
                )
            })
            .transpose()
            .map_err(field("limits"))?,
    })
}

/// Builds the runtime's current version in this data dir, unless
/// `--no-build` (then the nodes that run notebooks build it).
async fn build_here(
    store: &dyn Store,
    storage: &StorageArgs,
    fields: &RuntimeFields,
    record: &Runtime,
) -> anyhow::Result<()> {
    if fields.no_build {
        println!(
            "runtime '{}' ({}) version {} is stored in {}; the nodes that run notebooks build it",
            record.name,
            record.id,
            record.version,
            storage.database().describe()
        );
        return Ok(());
    }
    let python = fields
        .python
        .clone()
        .unwrap_or_else(|| setup::venv_python(&storage.data_dir));
    if !python.exists() {
        bail!(
            "{} is missing: run `hookbook kernel setup` first, pass --python, or --no-build",
            python.display()
        );
    }
    let builder = Builder::new(&std::path::absolute(&python)?, runtimes_dir(storage));
    // Resolving (for a version without a lock), installing.
    let steps = Steps::new(if record.lock.is_some() { 1 } else { 2 });
    let offset = usize::from(record.lock.is_none());
    let report = |step: BuildStep| match step {
        BuildStep::Resolving => steps.step(1, "resolving the requirements with uv"),
        BuildStep::Installing { packages } => steps.step(
            1 + offset,
            &format!("installing {packages} packages with uv"),
        ),
    };
    let built = build::build(store, &builder, record, &report).await;
    let took = steps.done();
    match built {
        Ok(python) => {
            println!(
                "runtime '{}' ({}) version {} is ready in {:.1} s: {}",
                record.name,
                record.id,
                record.version,
                took.as_secs_f64(),
                python.display()
            );
            Ok(())
        }
        Err(e) => bail!(
            "runtime '{}' ({}) version {} was stored but could not be built: {}",
            record.name,
            record.id,
            record.version,
            crate::report::chain(&e)
        ),
    }
}

/// `hookbook runtime list`: a table of the runtimes, or JSON.
pub(super) async fn list(args: RuntimeListArgs) -> anyhow::Result<()> {
    existing_site(&args.storage).await?;
    let store = store::open(&args.storage.database()).await?;
    let runtimes = store.runtimes().await?;
    match args.format {
        ListFormat::Json => {
            let rows: Vec<_> = runtimes
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id.as_str(),
                        "name": r.name.to_string(),
                        "version": r.version,
                        "state": r.state.as_str(),
                        "requirements": r.requirements.iter().map(|q| q.as_str()).collect::<Vec<_>>(),
                        "message": r.message,
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(rows));
        }
        ListFormat::Table => {
            let rows: Vec<[String; 6]> = runtimes
                .iter()
                .map(|r| {
                    let requirements: Vec<&str> =
                        r.requirements.iter().map(|q| q.as_str()).collect();
                    [
                        r.id.to_string(),
                        r.name.to_string(),
                        r.version.to_string(),
                        r.state.as_str().to_string(),
                        requirements.join(", "),
                        r.message.clone(),
                    ]
                })
                .collect();
            print!(
                "{}",
                super::table::render(
                    ["ID", "NAME", "VERSION", "STATE", "REQUIREMENTS", "MESSAGE"],
                    &rows
                )
            );
        }
    }
    Ok(())
}

/// `hookbook runtime remove`: the record and every version's environment.
pub(super) async fn remove(args: RuntimeRemoveArgs) -> anyhow::Result<()> {
    existing_site(&args.storage).await?;
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
    println!(
        "runtime '{}' ({}) removed from {}",
        runtime.name,
        runtime.id,
        args.storage.database().describe()
    );
    Ok(())
}

/// The runtime named or identified by `key`.
async fn find(store: &dyn Store, key: &str) -> anyhow::Result<Runtime> {
    let found = store
        .runtimes()
        .await?
        .into_iter()
        .find(|r| r.id.as_str() == key.trim().to_ascii_lowercase() || r.name.matches(key));
    found.with_context(|| format!("no runtime is named or has the id '{key}'"))
}

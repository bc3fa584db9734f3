//! Runtimes from the command line, built for real with uv from PyPI:
//! a runtime with a small package gets an environment that imports it
//! (and ipykernel, which every kernel needs) while the default environment
//! does not have it; an unknown package fails, naming it, and leaves the
//! runtimes in service alone; names are unique; removing a runtime removes
//! its environments; an update of the requirements builds a new version
//! beside the old one, while one of the limits alone keeps the version; the
//! `standard` preset is one command (stored with `--no-build`, which
//! builds nothing).

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_hookbook");

/// Runs `hookbook runtime <args>` on the data dir `dir` (and its database);
/// returns the exit code, standard output and standard error.
fn runtime(dir: &Path, args: &[&str]) -> (i32, String, String) {
    // The site exists first, as `runtime` refuses to make one.
    let made = Command::new(BIN)
        .arg("migrate")
        .arg("--data-dir")
        .arg(dir)
        .args(crate::common::db::database_args(dir))
        .env_remove("HOOKBOOK_DATA_DIR")
        .env_remove("HOOKBOOK_DATABASE_URL")
        .output()
        .expect("hookbook starts");
    assert!(made.status.success(), "{made:?}");
    let out = Command::new(BIN)
        .arg("runtime")
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .args(crate::common::db::database_args(dir))
        .env_remove("HOOKBOOK_DATA_DIR")
        .env_remove("HOOKBOOK_DATABASE_URL")
        .env_remove("HOOKBOOK_PYTHON")
        .output()
        .expect("hookbook starts");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn imports(python: &Path, module: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn a_runtime_is_built_with_its_package_and_a_bad_one_fails_naming_its_package() {
    let dir = tempfile::tempdir().unwrap();
    let base = crate::common::python();
    let python = base.to_str().unwrap();
    assert!(
        !imports(&base, "six"),
        "the default environment must not have six"
    );

    let (code, out, err) = runtime(
        dir.path(),
        &[
            "add",
            "--python",
            python,
            "--name",
            "Six",
            "--requirement",
            "six==1.16.0",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    // In a pipe, progress is a plain line per step, with the time so far.
    assert!(
        err.contains("hookbook: [1/2] resolving the requirements with uv (0."),
        "{err}"
    );
    // six and the kernel's own packages.
    let installing = err
        .split("hookbook: [2/2] installing ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok());
    assert!(
        installing.is_some_and(|n| n > 1),
        "a count of packages: {err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "no terminal codes in a pipe: {err:?}"
    );
    let built = out
        .trim()
        .rsplit(": ")
        .next()
        .map(std::path::PathBuf::from)
        .unwrap();
    assert!(built.starts_with(dir.path().join("runtimes")), "{out}");
    assert!(
        imports(&built, "six"),
        "the runtime's environment lacks six"
    );
    assert!(
        imports(&built, "ipykernel"),
        "the runtime's environment lacks ipykernel"
    );

    let (code, _, err) = runtime(
        dir.path(),
        &[
            "add",
            "--python",
            python,
            "--name",
            "six",
            "--requirement",
            "six",
        ],
    );
    assert_ne!(code, 0);
    assert!(err.contains("already exists"), "{err}");

    let (code, _, err) = runtime(
        dir.path(),
        &[
            "add",
            "--python",
            python,
            "--name",
            "Broken",
            "--requirement",
            "hookbook-no-such-package==1.0",
        ],
    );
    assert_ne!(code, 0);
    assert!(err.contains("hookbook-no-such-package"), "{err}");

    let (code, list, err) = runtime(dir.path(), &["list", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let listed: serde_json::Value = serde_json::from_str(&list).expect("JSON");
    let line = |name: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not listed: {list}"))
            .to_string()
    };
    assert!(line("Six").contains(r#""state":"ready""#), "{list}");
    assert!(line("Broken").contains(r#""state":"failed""#), "{list}");
    assert!(
        line("Broken").contains("hookbook-no-such-package"),
        "{list}"
    );
    assert!(
        imports(&built, "six"),
        "a failed build touched another runtime"
    );

    let (code, _, err) = runtime(dir.path(), &["remove", "six"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !built.exists(),
        "the environment stayed after its runtime went"
    );
    let (_, list, _) = runtime(dir.path(), &["list"]);
    assert!(list.starts_with("ID  "), "a table with a header: {list}");
    assert!(!list.contains(" Six "), "{list}");
    let (code, _, err) = runtime(dir.path(), &["remove", "Six"]);
    assert_ne!(code, 0);
    assert!(err.contains("no runtime"), "{err}");
}

#[test]
fn a_runtime_refuses_installer_options_before_anything_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let python = crate::common::python();
    let (code, _, err) = runtime(
        dir.path(),
        &[
            "add",
            "--python",
            python.to_str().unwrap(),
            "--name",
            "Sneaky",
            "--requirement=--index-url=http://127.0.0.1:9/simple",
        ],
    );
    assert_ne!(code, 0);
    assert!(err.contains("--requirement"), "{err}");
    let (_, list, _) = runtime(dir.path(), &["list", "--format", "json"]);
    assert_eq!(list.trim(), "[]", "{list}");
}

#[test]
fn a_runtime_under_a_relative_data_dir_has_an_absolute_interpreter() {
    let builder = hookbook::runner::build::Builder::new(
        Path::new("/usr/bin/python3"),
        "hookbook-data/runtimes".into(),
    );
    let id = hookbook::domain::runtime::RuntimeId::generate();
    let python = builder.python_of(&id, 1);
    assert!(python.is_absolute(), "{}", python.display());
    assert!(python.ends_with(format!("hookbook-data/runtimes/{id}/1/bin/python")));
}

/// The installed version of `package` in the environment of `python`.
fn version_in(python: &Path, package: &str) -> String {
    let out = Command::new(python)
        .args([
            "-c",
            &format!("import importlib.metadata as m; print(m.version('{package}'))"),
        ])
        .output()
        .expect("python starts");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn an_update_builds_a_new_version_beside_the_old_and_limits_keep_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let base = crate::common::python();
    let python = base.to_str().unwrap();
    let add = [
        "add",
        "--python",
        python,
        "--name",
        "Six",
        "--requirement",
        "six==1.16.0",
    ];
    let (code, out, err) = runtime(dir.path(), &add);
    assert_eq!(code, 0, "{out}{err}");
    let first = std::path::PathBuf::from(out.trim().rsplit(": ").next().unwrap());

    let update = [
        "update",
        "six",
        "--python",
        python,
        "--requirement",
        "six==1.17.0",
    ];
    let (code, out, err) = runtime(dir.path(), &update);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("version 2 is ready"), "{out}");
    let second = std::path::PathBuf::from(out.trim().rsplit(": ").next().unwrap());
    assert_ne!(first, second);
    assert_eq!(version_in(&second, "six"), "1.17.0");
    // The old version stays until a server that runs notebooks finds no
    // run on it.
    assert_eq!(version_in(&first, "six"), "1.16.0");

    let (code, out, err) = runtime(dir.path(), &["update", "Six", "--max-memory", "2"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("version 2 stays"), "{out}");
    let (_, listed, _) = runtime(dir.path(), &["list", "--format", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed).expect("JSON");
    let six = &listed[0];
    assert_eq!(
        (&six["version"], &six["state"], &six["requirements"][0]),
        (
            &serde_json::json!(2),
            &serde_json::json!("ready"),
            &serde_json::json!("six==1.17.0")
        ),
        "{listed}"
    );

    let (code, out, err) = runtime(dir.path(), &["update", "Nine", "--max-cpu", "1"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("no runtime is named or has the id 'Nine'"),
        "{err}"
    );
}

#[test]
fn the_standard_preset_is_one_command_and_named_as_arcgis_notebooks_name_it() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = runtime(dir.path(), &["add", "--preset", "standard", "--no-build"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("is stored in ") && out.contains("; the nodes that run notebooks build it"),
        "{out}"
    );
    let (_, listed, _) = runtime(dir.path(), &["list", "--format", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed).expect("JSON");
    let standard = &listed[0];
    assert_eq!(
        standard["name"], "ArcGIS Notebook Python 3 Standard",
        "{listed}"
    );
    assert_eq!(standard["version"], 1, "{listed}");
    assert_eq!(standard["state"], "building", "{listed}");
    assert_eq!(standard["requirements"][0], "arcgis~=2.4", "{listed}");
    assert_eq!(standard["requirements"][1], "pandas~=3.0.0", "{listed}");
    assert!(
        !dir.path().join("runtimes").exists(),
        "--no-build built something"
    );
    let (code, _, err) = runtime(dir.path(), &["add", "--preset", "standard", "--no-build"]);
    assert_ne!(code, 0);
    assert!(err.contains("already exists"), "{err}");
}

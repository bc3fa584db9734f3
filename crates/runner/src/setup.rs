//! `hookbook kernel setup`: a virtual environment with `ipykernel` (and
//! uv, which builds runtimes) in the data dir, used for runs when
//! `--python` is not given.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _};

/// The uv release installed by `kernel setup`, which builds runtimes.
pub const UV: &str = "uv==0.9.5";

/// The ipykernel version installed by `kernel setup`.
pub const IPYKERNEL: &str = "ipykernel==7.4.0";

/// The interpreter of the data dir's environment.
pub fn venv_python(data_dir: &Path) -> PathBuf {
    data_dir.join("python").join("bin").join("python")
}

/// Whether `python` can import ipykernel.
pub fn has_ipykernel(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import ipykernel"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Creates (or repairs) the environment, printing each step.
pub fn setup(data_dir: &Path) -> anyhow::Result<PathBuf> {
    let python = venv_python(data_dir);
    let uv = data_dir.join("python").join("bin").join("uv");
    if has_ipykernel(&python) {
        // An environment made before runtimes existed gets uv; without it
        // (no network, say) notebooks still run, only runtimes cannot be
        // built.
        if !uv.is_file() && !pip_install(&data_dir.join("python"), &[UV]) {
            eprintln!(
                "hookbook: installing {UV} failed; runtimes cannot be built until it is installed"
            );
        }
        eprintln!(
            "hookbook: the kernel environment at {} is ready",
            python.display()
        );
        return Ok(python);
    }
    let venv = data_dir.join("python");
    if python.exists() {
        return install(&venv, &python);
    }
    eprintln!(
        "hookbook: [1/2] creating a Python virtual environment in {}",
        venv.display()
    );
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .context("cannot run python3 (install Python 3 with its venv module, or pass --python)")?;
    if !status.success() {
        bail!("python3 -m venv failed (on Debian: apt-get install python3-venv), or pass --python");
    }
    install(&venv, &python)
}

/// Installs ipykernel and uv into the environment `venv`.
fn install(venv: &Path, python: &Path) -> anyhow::Result<PathBuf> {
    let started = std::time::Instant::now();
    eprintln!("hookbook: [2/2] installing {IPYKERNEL} and {UV} with pip (about a minute)");
    if !pip_install(venv, &[IPYKERNEL, UV]) || !has_ipykernel(python) {
        bail!("installing {IPYKERNEL} and {UV} failed; check the network access to PyPI, or pass --python");
    }
    eprintln!(
        "hookbook: the kernel environment is ready ({:.0} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(python.to_path_buf())
}

/// Runs the environment's pip on `packages`, quietly (its errors shown);
/// whether it succeeded.
fn pip_install(venv: &Path, packages: &[&str]) -> bool {
    Command::new(venv.join("bin").join("pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
        ])
        .args(packages)
        .status()
        .is_ok_and(|s| s.success())
}

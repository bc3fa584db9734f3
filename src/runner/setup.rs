//! `hookbook kernel setup`: a virtual environment with `ipykernel` in the
//! data dir, used for runs when `--python` is not given.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _};

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
    if has_ipykernel(&python) {
        eprintln!(
            "hookbook: the kernel environment at {} is ready",
            python.display()
        );
        return Ok(python);
    }
    let venv = data_dir.join("python");
    eprintln!(
        "hookbook: creating a Python virtual environment in {}",
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
    eprintln!("hookbook: installing {IPYKERNEL} (this takes a minute)");
    let status = Command::new(venv.join("bin").join("pip"))
        .args([
            "install",
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
            IPYKERNEL,
        ])
        .status()
        .context("cannot run pip in the new environment")?;
    if !status.success() || !has_ipykernel(&python) {
        bail!("installing {IPYKERNEL} failed; check the network access to PyPI, or pass --python");
    }
    eprintln!("hookbook: the kernel environment is ready");
    Ok(python)
}

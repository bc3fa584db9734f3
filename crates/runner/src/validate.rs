//! `validateRuntimes` on this node: each runtime's current version checked
//! against its stored lock (resolved, built here from that lock, and its
//! environment holding exactly the lock's packages, as uv lists them).

use hookbook_core::domain::runtime::{manifest, normalize, Runtime, RuntimeState};
use tokio::process::Command;

use super::build::{uv_said, Builder, BUILT};

impl Builder {
    /// What is wrong with `r` on this node, in sentences; none when its
    /// current version's environment holds exactly what its lock says.
    pub async fn check(&self, r: &Runtime) -> Vec<String> {
        let v = r.version;
        let Some(lock) = r.lock.as_deref() else {
            return vec![match r.state {
                RuntimeState::Failed => {
                    format!(
                        "version {v}'s requirements could not be resolved: {}",
                        r.message
                    )
                }
                _ => format!("version {v}'s requirements are not resolved into a lock yet"),
            }];
        };
        if r.state == RuntimeState::Failed {
            return vec![format!("version {v} failed to build: {}", r.message)];
        }
        if !self.is_built(&r.id, v) {
            return vec![format!("version {v} is not built on this node yet")];
        }
        let dir = self.dir_of(&r.id, v);
        let installed_from = tokio::fs::read_to_string(dir.join(BUILT))
            .await
            .unwrap_or_default();
        if installed_from != lock {
            return vec![format!(
                "version {v} was installed on this node from another lock than the stored one"
            )];
        }
        let listed = Command::new(&self.uv)
            .args(["pip", "freeze", "--python"])
            .arg(self.python_of(&r.id, v))
            .output()
            .await;
        match listed {
            Ok(out) if out.status.success() => {
                differences(lock, &String::from_utf8_lossy(&out.stdout))
            }
            Ok(out) => vec![format!(
                "uv could not list version {v}'s packages: {}",
                uv_said(&out.stderr)
            )],
            Err(e) => vec![format!(
                "uv could not be run to list version {v}'s packages: {e}"
            )],
        }
    }
}

/// How `installed` (`name==version` lines) differs from `lock`.
fn differences(lock: &str, installed: &str) -> Vec<String> {
    let by_name = |text: &str| -> Vec<(String, String)> {
        manifest(text)
            .into_iter()
            .map(|(name, version)| (normalize(&name), version))
            .collect()
    };
    let (wanted, present) = (by_name(lock), by_name(installed));
    let find = |list: &[(String, String)], name: &str| {
        list.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    };
    let mut problems = Vec::new();
    for (name, version) in &wanted {
        match find(&present, name) {
            None => problems.push(format!("{name}=={version} is missing")),
            Some(got) if &got != version => {
                problems.push(format!("{name} is {got}, its lock says {version}"))
            }
            Some(_) => {}
        }
    }
    for (name, version) in &present {
        if find(&wanted, name).is_none() {
            problems.push(format!(
                "{name}=={version} is installed but not in its lock"
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::differences;

    #[test]
    fn an_environment_differs_from_its_lock_by_name_and_version() {
        let lock = "ipykernel==6.29.5\n    # via -r requirements\nsix==1.16.0\n";
        assert!(differences(lock, "IPyKernel==6.29.5\nsix==1.16.0\n").is_empty());
        let found = differences(lock, "ipykernel==6.0\nextra==1\n");
        assert_eq!(
            found,
            [
                "ipykernel is 6.0, its lock says 6.29.5",
                "six==1.16.0 is missing",
                "extra==1 is installed but not in its lock"
            ]
        );
    }
}

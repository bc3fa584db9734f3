//! Runtimes: named Python environments that notebooks run in. A runtime is
//! a name, the requirements an administrator asked for, the modules its
//! fork server preloads, and the limits of each run (ArcGIS's `maxCpu` and
//! `maxMemory`); which runtime a notebook asks for is read from its
//! `esriNotebookRuntime` metadata, and what a lock installs from the lock.

use std::fmt;

use super::time::Millis;
use super::ParseError;

/// The runtime that always exists: the environment with `ipykernel` only.
pub const DEFAULT_RUNTIME: &str = "Default";

/// A runtime's id: 32 lowercase hexadecimal characters, as ArcGIS's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RuntimeId(String);

impl RuntimeId {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let s = input.trim();
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ParseError::new(format!(
                "'{s}' is not a runtime id (32 hexadecimal characters)"
            )));
        }
        Ok(Self(s.to_ascii_lowercase()))
    }

    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuntimeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a runtime's current version is: being built, built and in
/// service, or failed to build (its message says why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeState {
    Building,
    Ready,
    Failed,
}

impl RuntimeState {
    pub const fn as_str(self) -> &'static str {
        match self {
            RuntimeState::Building => "building",
            RuntimeState::Ready => "ready",
            RuntimeState::Failed => "failed",
        }
    }

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        [
            RuntimeState::Building,
            RuntimeState::Ready,
            RuntimeState::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == input)
        .ok_or_else(|| ParseError::new(format!("'{input}' is not a runtime state")))
    }
}

/// A runtime's name, as notebooks name it (`notebookRuntimeName`):
/// 1 to 100 printable characters, compared without regard to case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeName(String);

impl RuntimeName {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let name = input.trim();
        if name.is_empty() {
            return Err(ParseError::new("a runtime needs a name"));
        }
        if name.chars().count() > 100 {
            return Err(ParseError::new(
                "a runtime's name is at most 100 characters",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(ParseError::new(
                "a runtime's name has no control characters",
            ));
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a notebook's `notebookRuntimeName` names this runtime.
    pub fn matches(&self, asked: &str) -> bool {
        self.0.eq_ignore_ascii_case(asked.trim())
    }
}

impl fmt::Display for RuntimeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One requirement, as in a requirements file: a distribution name, with
/// optional extras, version specifiers and environment markers
/// (`pandas==2.2.3`, `requests[socks]>=2; python_version >= "3.9"`).
/// Options (`-r`, `--index-url`), paths and URLs are refused: a runtime
/// installs from the index the server is configured with, and nothing
/// else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement(String);

impl Requirement {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let line = input.trim();
        let refuse = |why: &str| Err(ParseError::new(format!("'{line}': {why}")));
        if line.is_empty() {
            return refuse("an empty requirement");
        }
        if line.len() > 200 {
            return refuse("a requirement is at most 200 characters");
        }
        if line.starts_with('-') {
            return refuse("installer options are not accepted in a runtime's requirements");
        }
        let name_end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(line.len());
        let name = &line[..name_end];
        if name.is_empty()
            || !name.starts_with(|c: char| c.is_ascii_alphanumeric())
            || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
        {
            return refuse("a requirement starts with a package name, such as pandas==2.2.3");
        }
        let rest = &line[name_end..];
        if rest.contains('@') || rest.contains("://") || rest.contains('/') || rest.contains('\\') {
            return refuse("only packages from the index are accepted, not URLs or paths");
        }
        if line.chars().any(|c| c.is_control() || c == '#') {
            return refuse("a requirement has no comments or control characters");
        }
        Ok(Self(line.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The distribution name, normalized as PyPI compares names.
    pub fn name(&self) -> String {
        let end = self
            .0
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(self.0.len());
        normalize(&self.0[..end])
    }
}

/// A distribution name as PyPI compares it (PEP 503).
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = if matches!(c, '-' | '_' | '.') {
            '-'
        } else {
            c.to_ascii_lowercase()
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out
}

/// A runtime's requirements: one per line or comma-separated, or a JSON
/// list of strings; at most 200, each distribution named once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Requirements(Vec<Requirement>);

impl Requirements {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let trimmed = input.trim();
        let items: Vec<String> = if trimmed.starts_with('[') {
            serde_json::from_str(trimmed)
                .map_err(|_| ParseError::new("requirements must be a list of strings"))?
        } else {
            trimmed
                .split(['\n', ','])
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        };
        if items.len() > 200 {
            return Err(ParseError::new("a runtime has at most 200 requirements"));
        }
        let mut list: Vec<Requirement> = Vec::with_capacity(items.len());
        for item in items {
            let requirement = Requirement::parse(&item)?;
            if list.iter().any(|r| r.name() == requirement.name()) {
                return Err(ParseError::new(format!(
                    "'{}' is required twice",
                    requirement.name()
                )));
            }
            list.push(requirement);
        }
        Ok(Self(list))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Requirement> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The requirements as a requirements file.
    pub fn to_file(&self) -> String {
        self.0.iter().map(|r| format!("{}\n", r.as_str())).collect()
    }
}

/// Modules a runtime's fork server imports before it forks kernels: dotted
/// Python identifiers, at most 50.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Preload(Vec<String>);

impl Preload {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let trimmed = input.trim();
        let items: Vec<String> = if trimmed.starts_with('[') {
            serde_json::from_str(trimmed)
                .map_err(|_| ParseError::new("preload must be a list of module names"))?
        } else {
            trimmed
                .split([',', '\n', ' '])
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect()
        };
        if items.len() > 50 {
            return Err(ParseError::new("a runtime preloads at most 50 modules"));
        }
        for m in &items {
            let ok = !m.is_empty()
                && m.len() <= 100
                && m.split('.').all(|part| {
                    part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                        && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
            if !ok {
                return Err(ParseError::new(format!(
                    "'{m}' is not a Python module name"
                )));
            }
        }
        Ok(Self(items))
    }

    pub fn modules(&self) -> &[String] {
        &self.0
    }
}

/// A run's limits in a runtime: CPU cores and memory in bytes, each
/// unlimited when `None`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Limits {
    pub max_cpu: Option<f64>,
    pub max_memory: Option<u64>,
}

impl Limits {
    /// From ArcGIS's fields: `maxCPU` (cores, such as 2 or 0.5),
    /// `maxMemory` and `maxMemoryUnit` (`b`, `k`, `m` or `g`, as Docker
    /// reads them; `g` when not given). An empty or zero value is no limit.
    pub fn parse(
        max_cpu: Option<&str>,
        max_memory: Option<&str>,
        unit: Option<&str>,
    ) -> Result<Self, ParseError> {
        let number = |field: &str, v: &str| -> Result<Option<f64>, ParseError> {
            let v = v.trim();
            if v.is_empty() {
                return Ok(None);
            }
            match v.parse::<f64>() {
                Ok(n) if n.is_finite() && n >= 0.0 => Ok((n > 0.0).then_some(n)),
                _ => Err(ParseError::new(format!(
                    "{field} must be a number of at least 0, not '{v}'"
                ))),
            }
        };
        let max_cpu = max_cpu.map(|v| number("maxCPU", v)).transpose()?.flatten();
        if max_cpu.is_some_and(|c| c > 1024.0) {
            return Err(ParseError::new("maxCPU is at most 1024 cores"));
        }
        let scale: f64 = match unit.map(|u| u.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("g") | Some("gb") => (1u64 << 30) as f64,
            Some("m") | Some("mb") => (1u64 << 20) as f64,
            Some("k") | Some("kb") => 1024.0,
            Some("b") => 1.0,
            Some(other) => {
                return Err(ParseError::new(format!(
                    "maxMemoryUnit must be b, k, m or g, not '{other}'"
                )))
            }
        };
        let max_memory = match max_memory
            .map(|v| number("maxMemory", v))
            .transpose()?
            .flatten()
        {
            None => None,
            Some(n) => {
                let bytes = n * scale;
                if bytes < (16u64 << 20) as f64 {
                    return Err(ParseError::new(
                        "maxMemory is at least 16 MB (a kernel needs more than that to start)",
                    ));
                }
                if bytes > (1u64 << 50) as f64 {
                    return Err(ParseError::new("maxMemory is too large"));
                }
                Some(bytes as u64)
            }
        };
        Ok(Self {
            max_cpu,
            max_memory,
        })
    }
}

/// A runtime made from a known list of packages.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    pub name: &'static str,
    pub requirements: &'static [&'static str],
    pub preload: &'static [&'static str],
}

/// ArcGIS Notebook Server's Standard runtime as far as PyPI has it: the
/// `arcgis` package, pandas, and the packages that runtime is best known
/// for (ArcPy, of the Advanced runtime, is not on PyPI). Named as ArcGIS
/// notebooks name it, so that they run unchanged.
pub const STANDARD: Preset = Preset {
    name: "ArcGIS Notebook Python 3 Standard",
    requirements: &[
        "arcgis~=2.4",
        // arcgis 2.4.4 asks for pandas 3, but its spatially enabled
        // DataFrame (and with it `gis.content.add`) does not import with
        // pandas 3.1.
        "pandas~=3.0.0",
        "numpy",
        "matplotlib",
        "requests",
        "scipy",
        "shapely",
        "geopandas",
        "pyproj",
        "openpyxl",
        "xlrd",
        "python-dateutil",
        "pytz",
        "beautifulsoup4",
        "lxml",
        "scikit-learn",
        "seaborn",
        "sqlalchemy",
        "pillow",
    ],
    preload: &["pandas", "numpy"],
};

/// The runtimes hookbook ships, which `runtimes/restore` puts back as
/// they were (Esri's Advanced runtime is ArcPy's, which PyPI does not
/// have).
pub const PRESETS: &[Preset] = &[STANDARD];

impl Preset {
    /// The preset as a registration or update: its name, requirements and
    /// preload list, and no limits.
    pub fn change(&self) -> Result<RuntimeChange, ParseError> {
        Ok(RuntimeChange {
            name: Some(RuntimeName::parse(self.name)?),
            requirements: Some(Requirements::parse(&self.requirements.join("\n"))?),
            preload: Some(Preload::parse(&self.preload.join(","))?),
            limits: Some(Limits::default()),
        })
    }
}

/// A runtime name notebooks ask for, run in another runtime of the site
/// (`NAME=RUNTIME`; [`DEFAULT_RUNTIME`] for the default environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeAlias {
    pub asked: String,
    pub runs_in: String,
}

impl std::str::FromStr for RuntimeAlias {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, ParseError> {
        let (asked, runs_in) = input.split_once('=').ok_or_else(|| {
            ParseError::new(format!(
                "a runtime alias is NAME=RUNTIME (such as 'ArcGIS Notebook Python 3 Advanced=Default'), not '{input}'"
            ))
        })?;
        let (asked, runs_in) = (asked.trim(), runs_in.trim());
        if asked.is_empty() || runs_in.is_empty() {
            return Err(ParseError::new(format!(
                "a runtime alias needs a name on each side of '=', not '{input}'"
            )));
        }
        Ok(Self {
            asked: asked.to_string(),
            runs_in: runs_in.to_string(),
        })
    }
}

/// The name a notebook's run looks for: what `aliases` map `asked` to,
/// else `asked` (names compared without regard to case).
pub fn resolve_alias<'a>(aliases: &'a [RuntimeAlias], asked: &'a str) -> &'a str {
    aliases
        .iter()
        .find(|a| a.asked.eq_ignore_ascii_case(asked))
        .map_or(asked, |a| a.runs_in.as_str())
}

/// The runtime a notebook asks for in its `esriNotebookRuntime` metadata
/// (`notebookRuntimeName`, `notebookRuntimeVersion`), if it names one.
pub fn asked_by(notebook: &serde_json::Value) -> Option<(String, Option<String>)> {
    let runtime = notebook.get("metadata")?.get("esriNotebookRuntime")?;
    let name = runtime.get("notebookRuntimeName")?.as_str()?.trim();
    if name.is_empty() {
        return None;
    }
    let version = runtime
        .get("notebookRuntimeVersion")
        .and_then(|v| v.as_str())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    Some((name.to_string(), version))
}

/// The packages a lock installs, as `(name, version)`, by name: what uv
/// installs from it, read on any node.
pub fn manifest(lock: &str) -> Vec<(String, String)> {
    let mut packages: Vec<(String, String)> = lock
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter_map(|l| {
            let (name, version) = l.split_once("==")?;
            let version = version.split(';').next().unwrap_or("").trim();
            Some((name.trim().to_string(), version.to_string()))
        })
        .filter(|(n, v)| !n.is_empty() && !v.is_empty())
        .collect();
    packages.sort_by_key(|(n, _)| n.to_lowercase());
    packages
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn requirements_accept_what_requirements_files_say_and_refuse_options_and_urls() {
        let ok =
            Requirements::parse("pandas==2.2.3\nrequests[socks]>=2; python_version >= \"3.9\"")
                .unwrap();
        assert_eq!(ok.iter().count(), 2);
        for bad in [
            "--index-url http://evil/simple",
            "-r /etc/passwd",
            "pkg @ https://example.com/pkg.whl",
            "./local/dir",
            "==1.0",
            "pandas # pinned",
        ] {
            assert!(Requirement::parse(bad).is_err(), "{bad} was accepted");
        }
        let twice = Requirements::parse("Pandas, pandas>=2").unwrap_err();
        assert!(twice.0.contains("twice"), "{twice}");
    }

    #[test]
    fn limits_read_arcgis_units_and_refuse_what_cannot_be_a_limit() {
        let l = Limits::parse(Some("0.5"), Some("512"), Some("m")).unwrap();
        assert_eq!(l.max_cpu, Some(0.5));
        assert_eq!(l.max_memory, Some(512 << 20));
        assert_eq!(
            Limits::parse(Some("0"), Some(""), None).unwrap(),
            Limits::default()
        );
        assert!(Limits::parse(Some("-1"), None, None).is_err());
        assert!(Limits::parse(None, Some("4"), Some("t")).is_err());
        assert!(Limits::parse(None, Some("1"), Some("k")).is_err());
    }

    #[test]
    fn every_preset_reads_as_a_runtime() {
        for preset in PRESETS {
            let change = preset.change().unwrap();
            assert_eq!(change.name.unwrap().as_str(), preset.name);
        }
    }

    #[test]
    fn a_notebook_names_its_runtime_in_esri_metadata() {
        let nb = serde_json::json!({"metadata": {"esriNotebookRuntime": {
            "notebookRuntimeName": "ArcGIS Notebook Python 3 Standard",
            "notebookRuntimeVersion": "11.0"}}});
        assert_eq!(
            asked_by(&nb),
            Some((
                "ArcGIS Notebook Python 3 Standard".into(),
                Some("11.0".into())
            ))
        );
        assert_eq!(asked_by(&serde_json::json!({"metadata": {}})), None);
    }

    proptest! {
        #[test]
        fn no_input_makes_the_parsers_panic(s in ".{0,300}") {
            let _ = Requirements::parse(&s);
            let _ = Preload::parse(&s);
            let _ = RuntimeName::parse(&s);
            let _ = Limits::parse(Some(&s), Some(&s), Some(&s));
        }

        #[test]
        fn an_accepted_requirement_is_never_an_option_or_a_url(s in "[ -~]{1,80}") {
            if let Ok(r) = Requirement::parse(&s) {
                prop_assert!(!r.as_str().starts_with('-'));
                prop_assert!(!r.as_str().contains("://"));
                prop_assert!(!r.as_str().contains('/'));
            }
        }
    }
}

/// A runtime and the state of its current version.
#[derive(Debug, Clone, PartialEq)]
pub struct Runtime {
    pub id: RuntimeId,
    pub name: RuntimeName,
    /// 1 when registered, one more at each update that changes what is
    /// installed.
    pub version: u32,
    pub requirements: Requirements,
    pub preload: Preload,
    pub limits: Limits,
    /// The exact versions resolved from `requirements`, once resolved.
    pub lock: Option<String>,
    pub state: RuntimeState,
    /// Why the last build failed, or what it is doing.
    pub message: String,
    pub created: Millis,
    pub modified: Millis,
}

impl Runtime {
    /// A new runtime from `change` (version 1, to be built); `None` without
    /// a name.
    pub fn register(change: RuntimeChange, now: Millis) -> Option<Self> {
        Some(Self {
            id: RuntimeId::generate(),
            name: change.name?,
            version: 1,
            requirements: change.requirements.unwrap_or_default(),
            preload: change.preload.unwrap_or_default(),
            limits: change.limits.unwrap_or_default(),
            lock: None,
            state: RuntimeState::Building,
            message: String::new(),
            created: now,
            modified: now,
        })
    }

    /// Applies `change`: new requirements (or any after a failed build) make
    /// a new version, resolved and built afresh while the old one serves; a
    /// new name, preload list or limits do not.
    pub fn apply(&mut self, change: RuntimeChange, now: Millis) {
        if let Some(requirements) = change.requirements {
            if requirements != self.requirements || self.state == RuntimeState::Failed {
                self.requirements = requirements;
                self.version += 1;
                self.lock = None;
                self.state = RuntimeState::Building;
                self.message = String::new();
            }
        }
        if let Some(name) = change.name {
            self.name = name;
        }
        if let Some(preload) = change.preload {
            self.preload = preload;
        }
        if let Some(limits) = change.limits {
            self.limits = limits;
        }
        self.modified = now;
    }
}

/// What a registration or an update gives; on an update, a field left
/// `None` keeps its value.
#[derive(Debug, Default)]
pub struct RuntimeChange {
    pub name: Option<RuntimeName>,
    pub requirements: Option<Requirements>,
    pub preload: Option<Preload>,
    pub limits: Option<Limits>,
}

//! The pages of runtimes: the list with the form that registers one, a
//! runtime with the forms that change and unregister it, and its
//! manifest. The resource's fields are shown from its JSON.

use super::Urls;
use crate::domain::runtime::RuntimeId;
use crate::ui::{FieldKind, Form, Page};

fn base(urls: &Urls) -> String {
    format!("{}/runtimes", urls.notebooks())
}

/// The fields of a runtime's form, filled with `values` (name,
/// requirements, preload, maxCPU, maxMemory, maxMemoryUnit).
fn fields(form: Form, values: [&str; 6]) -> Form {
    let [name, requirements, preload, cpu, memory, unit] = values;
    form.field(FieldKind::Text, "name", "Name (as notebooks name it)", name)
        .field(
            FieldKind::Textarea,
            "requirements",
            "Requirements, one per line (pandas==2.2.3)",
            requirements,
        )
        .field(
            FieldKind::Text,
            "preload",
            "Modules the fork server preloads (commas between)",
            preload,
        )
        .field(
            FieldKind::Text,
            "maxCPU",
            "CPU cores per run (empty: no limit)",
            cpu,
        )
        .field(
            FieldKind::Text,
            "maxMemory",
            "Memory per run (empty: no limit)",
            memory,
        )
        .field(
            FieldKind::Text,
            "maxMemoryUnit",
            "Unit of memory (b, k, m, g)",
            unit,
        )
}

/// Every runtime, the form that registers one, and those that restore
/// the presets and validate every runtime.
pub fn runtimes_page(urls: &Urls) -> Page {
    Page::new("Runtimes")
        .link("Notebooks", urls.notebooks())
        .form(fields(
            Form::post("Register a runtime", format!("{}/register", base(urls))),
            ["", "", "", "", "", "g"],
        ))
        .form(Form::post(
            "Restore the runtimes hookbook ships",
            format!("{}/restore", base(urls)),
        ))
        .form(Form::post(
            "Check every runtime against its lock",
            format!("{}/validateRuntimes", base(urls)),
        ))
}

/// One runtime, with its update form filled with `values` (as
/// [`fields`] reads them).
pub fn runtime_page(urls: &Urls, id: &RuntimeId, name: &str, values: [&str; 6]) -> Page {
    let here = format!("{}/{id}", base(urls));
    Page::new(format!("Runtime {name}"))
        .link("Runtimes", base(urls))
        .link("Manifest (installed packages)", format!("{here}/manifest"))
        .form(fields(
            Form::post("Change the runtime", format!("{here}/update")),
            values,
        ))
        .form(
            Form::post("Unregister the runtime", format!("{here}/unregister"))
                .confirm(format!("Unregister the runtime {name}?")),
        )
}

/// The packages a runtime's current version installs.
pub fn manifest_page(urls: &Urls, id: &RuntimeId, name: &str) -> Page {
    Page::new(format!("Packages of {name}")).link("The runtime", format!("{}/{id}", base(urls)))
}

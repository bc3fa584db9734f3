//! The API reference page: every path and operation of the OpenAPI
//! description the server serves at `/notebooks/openapi.json`, by tag,
//! with its parameters, body fields and answers, then its schemas.

use std::fmt::Write;

use serde_json::Value;

/// The page for the OpenAPI `document`.
pub fn page(document: &utoipa::openapi::OpenApi) -> String {
    let doc = serde_json::to_value(document).expect("an OpenAPI document is JSON");
    let mut page = format!(
        "# API reference\n\n{}\nEvery operation of the HTTP API, from the OpenAPI 3.1 description a server \
serves at `/notebooks/openapi.json` (paths below are relative to `/notebooks`, but for `/healthz` and \
`/metrics`). Tokens, formats and the error convention are on [the API's conventions](../api.md).\n",
        super::GENERATED
    );
    let tags = doc["tags"].as_array().cloned().unwrap_or_default();
    let mut names: Vec<String> = tags
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect();
    for (_, item) in operations(&doc) {
        for tag in item["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !names.iter().any(|n| n == tag) {
                names.push(tag.to_owned());
            }
        }
    }
    for name in names {
        let description = tags
            .iter()
            .find(|t| t["name"] == name.as_str())
            .and_then(|t| t["description"].as_str())
            .unwrap_or_default();
        let _ = write!(page, "\n## {name}\n\n");
        if !description.is_empty() {
            let _ = writeln!(page, "{description}\n");
        }
        for ((method, path), operation) in operations(&doc) {
            let tagged = operation["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| t == name.as_str());
            if tagged {
                write_operation(&mut page, &doc, &method, &path, &operation);
            }
        }
    }
    write_schemas(&mut page, &doc);
    page
}

/// Every (method, path) with its operation, in path order.
fn operations(doc: &Value) -> Vec<((String, String), Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in ["get", "head", "post", "put", "patch", "delete"] {
            if let Some(operation) = item.get(method) {
                all.push(((method.to_uppercase(), path.clone()), operation.clone()));
            }
        }
    }
    all
}

fn write_operation(page: &mut String, doc: &Value, method: &str, path: &str, op: &Value) {
    let summary = op["summary"].as_str().unwrap_or_default();
    let _ = write!(page, "### `{method} {path}`\n\n");
    if !summary.is_empty() {
        let stop = if summary.ends_with('.') { "" } else { "." };
        let _ = writeln!(page, "{summary}{stop}\n");
    }
    if let Some(description) = op["description"].as_str().filter(|d| *d != summary) {
        let _ = writeln!(page, "{description}\n");
    }
    let parameters = op["parameters"].as_array().cloned().unwrap_or_default();
    if !parameters.is_empty() {
        page.push_str("| parameter | in | type | what it is |\n|---|---|---|---|\n");
        for p in &parameters {
            let required = if p["required"] == true {
                " (required)"
            } else {
                ""
            };
            let _ = writeln!(
                page,
                "| `{}`{required} | {} | {} | {} |",
                p["name"].as_str().unwrap_or_default(),
                p["in"].as_str().unwrap_or_default(),
                type_of(&p["schema"]),
                cell(p["description"].as_str().unwrap_or_default())
            );
        }
        page.push('\n');
    }
    for (kind, media) in op["requestBody"]["content"]
        .as_object()
        .into_iter()
        .flatten()
    {
        let _ = writeln!(page, "Body (`{kind}`): {}\n", type_of(&media["schema"]));
        write_fields(page, doc, &media["schema"]);
    }
    page.push_str("| answer | what it means | body |\n|---|---|---|\n");
    for (status, answer) in op["responses"].as_object().into_iter().flatten() {
        let body = answer["content"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(kind, media)| format!("`{kind}` {}", type_of(&media["schema"])))
            .collect::<Vec<_>>()
            .join("; ");
        let status = if status == "default" { "other" } else { status };
        let _ = writeln!(
            page,
            "| {status} | {} | {body} |",
            cell(answer["description"].as_str().unwrap_or_default())
        );
    }
    page.push('\n');
}

/// A table of an object schema's fields (through a `$ref`), if it has any.
fn write_fields(page: &mut String, doc: &Value, schema: &Value) {
    let schema = resolve(doc, schema);
    let Some(properties) = schema["properties"].as_object() else {
        return;
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    page.push_str("| field | type | what it is |\n|---|---|---|\n");
    for (name, field) in properties {
        let mark = if required.contains(&name.as_str()) {
            " (required)"
        } else {
            ""
        };
        let _ = writeln!(
            page,
            "| `{name}`{mark} | {} | {} |",
            type_of(field),
            cell(field["description"].as_str().unwrap_or_default())
        );
    }
    page.push('\n');
}

fn write_schemas(page: &mut String, doc: &Value) {
    let Some(schemas) = doc["components"]["schemas"].as_object() else {
        return;
    };
    page.push_str("\n## Schemas\n\nThe shapes the operations above name.\n\n");
    for (name, schema) in schemas {
        let _ = write!(page, "### {name}\n\n");
        if let Some(description) = schema["description"].as_str() {
            let _ = writeln!(page, "{}\n", description.trim());
        }
        if schema["properties"].is_object() {
            write_fields(page, doc, schema);
        } else {
            let _ = writeln!(page, "{}\n", type_of(schema));
        }
    }
}

/// The schema a `$ref` names, or the schema itself.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    }
}

/// A schema in a few words: a link to a named schema, a type, a list of values.
fn type_of(schema: &Value) -> String {
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        return format!("[{name}](#{})", name.to_lowercase());
    }
    for either in ["oneOf", "anyOf"] {
        if let Some(items) = schema[either].as_array() {
            return items.iter().map(type_of).collect::<Vec<_>>().join(" or ");
        }
    }
    if let Some(values) = schema["enum"].as_array() {
        return values
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ");
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        Value::String(kind) => kind.clone(),
        _ => "any".to_owned(),
    };
    match (kind.as_str(), schema["format"].as_str()) {
        ("array", _) => format!("array of {}", type_of(&schema["items"])),
        (_, Some(format)) => format!("{kind} ({format})"),
        _ => kind,
    }
}

/// Text fit for one table cell.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

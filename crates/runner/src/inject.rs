//! Parameter injection, as papermill does it: a code cell tagged
//! `injected-parameters` goes right after the first cell tagged
//! `parameters` (at the top when there is none), replacing an earlier
//! injected cell.

use serde_json::{json, Map, Value};

use super::literal::python_literal;

pub const PARAMETERS_TAG: &str = "parameters";
pub const INJECTED_TAG: &str = "injected-parameters";

fn has_tag(cell: &Value, tag: &str) -> bool {
    cell.pointer("/metadata/tags")
        .and_then(Value::as_array)
        .is_some_and(|tags| tags.iter().any(|t| t == tag))
}

/// The source of the injected cell: `# Parameters` then a line per name.
pub fn parameters_source(parameters: &Map<String, Value>) -> String {
    let mut source = String::from("# Parameters\n");
    for (name, value) in parameters {
        source.push_str(name);
        source.push_str(" = ");
        source.push_str(&python_literal(value));
        source.push('\n');
    }
    source
}

/// Inserts the injected cell into `notebook` (an nbformat v4 document).
pub fn inject(notebook: &mut Value, parameters: &Map<String, Value>) {
    let Some(cells) = notebook.get_mut("cells").and_then(Value::as_array_mut) else {
        return;
    };
    let cell = json!({
        "cell_type": "code",
        "id": format!("injected-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
        "metadata": {"tags": [INJECTED_TAG]},
        "execution_count": null,
        "outputs": [],
        "source": parameters_source(parameters),
    });
    if let Some(existing) = cells.iter().position(|c| has_tag(c, INJECTED_TAG)) {
        cells[existing] = cell;
        return;
    }
    let at = cells
        .iter()
        .position(|c| has_tag(c, PARAMETERS_TAG))
        .map_or(0, |i| i + 1);
    cells.insert(at, cell);
}

/// The executed notebook without its injected cell, for an item that
/// keeps its own parameters (`saveInjectedParameters=false`); `None` when
/// the bytes are not a notebook.
pub fn without_injected(notebook: &[u8]) -> Option<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(notebook).ok()?;
    let cells = value.get_mut("cells")?.as_array_mut()?;
    cells.retain(|c| !has_tag(c, INJECTED_TAG));
    serde_json::to_vec_pretty(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_that_keeps_its_parameters_gets_the_notebook_without_the_injected_cell() {
        let mut n = nb(json!([
            {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "x = 1"},
            {"cell_type": "code", "metadata": {}, "source": "b"},
        ]));
        inject(&mut n, &Map::new());
        let bytes = serde_json::to_vec(&n).unwrap();
        let kept: Value = serde_json::from_slice(&without_injected(&bytes).unwrap()).unwrap();
        assert_eq!(tags(&kept), ["parameters", "-"]);
        assert_eq!(without_injected(b"not json"), None);
    }

    fn nb(cells: Value) -> Value {
        json!({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    }

    fn tags(notebook: &Value) -> Vec<String> {
        notebook["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                c["metadata"]["tags"]
                    .get(0)
                    .and_then(Value::as_str)
                    .unwrap_or("-")
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn the_injected_cell_follows_the_parameters_cell() {
        let mut n = nb(json!([
            {"cell_type": "code", "metadata": {}, "source": "a"},
            {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "x = 1"},
            {"cell_type": "code", "metadata": {}, "source": "b"},
        ]));
        let mut p = Map::new();
        p.insert("x".into(), json!(2));
        inject(&mut n, &p);
        assert_eq!(tags(&n), ["-", "parameters", "injected-parameters", "-"]);
        assert_eq!(n["cells"][2]["source"], "# Parameters\nx = 2\n");
    }

    #[test]
    fn without_a_parameters_cell_it_goes_on_top_and_replaces_an_old_one() {
        let mut n = nb(json!([{"cell_type": "markdown", "metadata": {}, "source": "t"}]));
        inject(&mut n, &Map::new());
        assert_eq!(tags(&n), ["injected-parameters", "-"]);
        inject(&mut n, &Map::new());
        assert_eq!(tags(&n), ["injected-parameters", "-"]);
    }
}

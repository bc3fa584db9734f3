//! Turning iopub messages into nbformat outputs: streams merged, displays
//! updated by id, `clear_output` (with `wait`) honoured.

use serde_json::{json, Map, Value};

#[derive(Default)]
pub struct Outputs {
    list: Vec<Value>,
    /// Output index for each display id.
    displays: Vec<(String, usize)>,
    clear_pending: bool,
}

impl Outputs {
    /// Adds one iopub message of type `kind` with content `c`.
    pub fn push(&mut self, kind: &str, c: Value) {
        match kind {
            "clear_output" => {
                if c.get("wait").and_then(Value::as_bool).unwrap_or(false) {
                    self.clear_pending = true;
                } else {
                    self.clear();
                }
                return;
            }
            "update_display_data" => {
                if let Some(id) = display_id(&c) {
                    for (_, index) in self.displays.iter().filter(|(d, _)| *d == id) {
                        if let Some(out) = self.list.get_mut(*index) {
                            out["data"] = c.get("data").cloned().unwrap_or_else(|| json!({}));
                            out["metadata"] =
                                c.get("metadata").cloned().unwrap_or_else(|| json!({}));
                        }
                    }
                }
                return;
            }
            "stream" | "display_data" | "execute_result" | "error" => {}
            _ => return,
        }
        if self.clear_pending {
            self.clear();
        }
        let out = match kind {
            "stream" => {
                let name = c
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("stdout")
                    .to_string();
                let text = c
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                if let Some(last) = self.list.last_mut() {
                    if last["output_type"] == "stream" && last["name"] == name.as_str() {
                        let merged = format!("{}{}", last["text"].as_str().unwrap_or(""), text);
                        last["text"] = Value::String(merged);
                        return;
                    }
                }
                json!({"output_type": "stream", "name": name, "text": text})
            }
            "display_data" => {
                if let Some(id) = display_id(&c) {
                    self.displays.push((id, self.list.len()));
                }
                json!({"output_type": "display_data", "data": field(&c, "data"), "metadata": field(&c, "metadata")})
            }
            "execute_result" => json!({
                "output_type": "execute_result",
                "data": field(&c, "data"),
                "metadata": field(&c, "metadata"),
                "execution_count": c.get("execution_count").cloned().unwrap_or(Value::Null),
            }),
            _ => json!({
                "output_type": "error",
                "ename": c.get("ename").cloned().unwrap_or_else(|| json!("")),
                "evalue": c.get("evalue").cloned().unwrap_or_else(|| json!("")),
                "traceback": c.get("traceback").cloned().unwrap_or_else(|| json!([])),
            }),
        };
        self.list.push(out);
    }

    fn clear(&mut self) {
        self.list.clear();
        self.displays.clear();
        self.clear_pending = false;
    }

    pub fn into_vec(self) -> Vec<Value> {
        self.list
    }
}

fn field(c: &Value, name: &str) -> Value {
    c.get(name)
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()))
}

fn display_id(c: &Value) -> Option<String> {
    c.pointer("/transient/display_id")
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_merge_and_clear_output_waits_for_the_next_output() {
        let mut o = Outputs::default();
        o.push("stream", json!({"name": "stdout", "text": "a"}));
        o.push("stream", json!({"name": "stdout", "text": "b\n"}));
        o.push("stream", json!({"name": "stderr", "text": "e"}));
        assert_eq!(o.list.len(), 2);
        assert_eq!(o.list[0]["text"], "ab\n");
        o.push("clear_output", json!({"wait": true}));
        assert_eq!(o.list.len(), 2);
        o.push(
            "display_data",
            json!({"data": {"text/plain": "x"}, "metadata": {}, "transient": {"display_id": "d"}}),
        );
        assert_eq!(o.list.len(), 1);
        o.push(
            "update_display_data",
            json!({"data": {"text/plain": "y"}, "metadata": {}, "transient": {"display_id": "d"}}),
        );
        assert_eq!(o.list[0]["data"]["text/plain"], "y");
        o.push("clear_output", json!({"wait": false}));
        assert!(o.into_vec().is_empty());
    }
}

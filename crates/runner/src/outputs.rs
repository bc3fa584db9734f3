//! Turning iopub messages into nbformat outputs: streams merged, displays
//! updated by id, `clear_output` (with `wait`) honoured; and the run's
//! output budget, spent as the messages arrive, past which outputs are
//! dropped (with one note saying so) rather than gathered.

use serde_json::{json, Map, Value};

/// The MIME type of the display a kernel publishes when it first drops an
/// output for the run's budget (`WARM_UP` in `kernel.rs`).
pub const BUDGET_MIME: &str = "application/vnd.hookbook.budget+json";

/// One error output past the budget is still kept when it is at most this
/// large: why a run failed matters more than what it printed.
const ERROR_KEPT_PAST_BUDGET: u64 = 64 * 1024;

/// What any output costs at the least, whatever it holds: a notebook's
/// outputs (and a page's) grow with their number too.
const LEAST_PER_OUTPUT: u64 = 64;

/// What a run's outputs may take, in bytes of text and data, across all
/// its cells.
#[derive(Debug, Clone)]
pub struct OutputBudget {
    limit: Option<u64>,
    spent: u64,
    /// Whether an output was dropped for it.
    passed: bool,
    /// Whether an error was kept past it (only one is).
    error_kept: bool,
}

impl OutputBudget {
    /// A budget of `limit` bytes; 0 is no limit.
    pub fn new(limit: u64) -> Self {
        Self {
            limit: (limit > 0).then_some(limit),
            spent: 0,
            passed: false,
            error_kept: false,
        }
    }

    /// The limit in bytes, if there is one.
    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    /// Whether outputs were dropped for the budget.
    pub fn passed(&self) -> bool {
        self.passed
    }

    /// Spends `cost` if it is left; false when it is not.
    fn spend(&mut self, cost: u64) -> bool {
        match self.limit {
            Some(limit) if self.spent.saturating_add(cost) > limit => false,
            _ => {
                self.spent = self.spent.saturating_add(cost);
                true
            }
        }
    }

    /// A stream message's content with its text cut to what is left.
    fn fit_text(&mut self, mut c: Value) -> Value {
        let left = self.limit.unwrap_or(u64::MAX).saturating_sub(self.spent);
        if let Some(Value::String(text)) = c.get_mut("text") {
            let mut cut = usize::try_from(left).unwrap_or(usize::MAX).min(text.len());
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            self.spent += cut as u64;
        }
        c
    }

    /// The note that ends a run's outputs once they passed the budget.
    pub fn note(&self) -> String {
        format!(
            "\n[hookbook] This run's outputs passed {} MB (--max-run-output-mb): what it printed or displayed after that was dropped; the run went on.\n",
            self.limit.unwrap_or(0) >> 20
        )
    }
}

#[derive(Default)]
pub struct Outputs {
    list: Vec<Value>,
    /// Output index for each display id.
    displays: Vec<(String, usize)>,
    clear_pending: bool,
}

impl Outputs {
    /// Adds one iopub message of type `kind` with content `c` if the
    /// run's `budget` has room for it; past it, drops it, and the first
    /// time adds the budget's note instead.
    pub fn push_within(&mut self, budget: &mut OutputBudget, kind: &str, c: Value) {
        let announced = kind == "display_data"
            && c.pointer("/data")
                .and_then(Value::as_object)
                .is_some_and(|d| d.contains_key(BUDGET_MIME));
        // An update is written into every display with its id.
        let copies = match kind {
            "update_display_data" => display_id(&c).map_or(0, |id| {
                self.displays.iter().filter(|(d, _)| *d == id).count()
            }) as u64,
            _ => 1,
        };
        let cost = match cost(kind, &c) {
            0 if kind == "update_display_data" || kind == "clear_output" => 0,
            bytes => bytes.max(LEAST_PER_OUTPUT).saturating_mul(copies),
        };
        if !announced && !budget.passed && budget.spend(cost) {
            return self.push(kind, c);
        }
        if kind == "stream" && !budget.passed {
            // What of the text fits is kept.
            let fitted = budget.fit_text(c.clone());
            self.push(kind, fitted);
        }
        if !budget.passed {
            budget.passed = true;
            // Its own output, never merged into a stream it ends; from
            // here on the outputs stay as they are (a `clear_output`
            // would take the note away).
            self.list
                .push(json!({"output_type": "stream", "name": "stderr", "text": budget.note()}));
        }
        if kind == "error" && cost <= ERROR_KEPT_PAST_BUDGET && !budget.error_kept {
            budget.error_kept = true;
            self.list.push(error_output(&c));
        }
    }

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
                        // Appended in place: copying the text so far for
                        // each message would cost its square.
                        if let Some(Value::String(so_far)) = last.get_mut("text") {
                            so_far.push_str(&text);
                            return;
                        }
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
            _ => error_output(&c),
        };
        self.list.push(out);
    }

    fn clear(&mut self) {
        self.list.clear();
        self.displays.clear();
        self.clear_pending = false;
    }

    /// The outputs so far.
    pub fn as_slice(&self) -> &[Value] {
        &self.list
    }

    pub fn into_vec(self) -> Vec<Value> {
        self.list
    }
}

/// An `error` output from its message's content.
fn error_output(c: &Value) -> Value {
    json!({
        "output_type": "error",
        "ename": c.get("ename").cloned().unwrap_or_else(|| json!("")),
        "evalue": c.get("evalue").cloned().unwrap_or_else(|| json!("")),
        "traceback": c.get("traceback").cloned().unwrap_or_else(|| json!([])),
    })
}

/// What a message adds to a run's outputs, in bytes: a stream's text, a
/// display's data (updates included, as they replace it), an error's
/// value and traceback; nothing for what adds no output.
fn cost(kind: &str, c: &Value) -> u64 {
    let size = |v: Option<&Value>| v.map_or(0, size_of);
    match kind {
        "stream" => size(c.get("text")),
        "display_data" | "update_display_data" | "execute_result" => {
            size(c.get("data")) + size(c.get("metadata"))
        }
        "error" => size(c.get("evalue")) + size(c.get("traceback")),
        _ => 0,
    }
}

/// The bytes of text and numbers in `v`.
fn size_of(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.len() as u64,
        Value::Array(items) => items.iter().map(size_of).sum(),
        Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| k.len() as u64 + size_of(v))
            .sum(),
        Value::Null => 0,
        other => other.to_string().len() as u64,
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

    #[test]
    fn outputs_past_the_budget_are_dropped_with_one_note_and_an_error_is_kept() {
        // Each output costs at least 64 bytes: two use 128 of 150.
        let mut budget = OutputBudget::new(150);
        let mut o = Outputs::default();
        o.push_within(
            &mut budget,
            "stream",
            json!({"name": "stdout", "text": "12345"}),
        );
        o.push_within(
            &mut budget,
            "stream",
            json!({"name": "stdout", "text": "678"}),
        );
        assert!(!budget.passed(), "within the budget");
        o.push_within(
            &mut budget,
            "stream",
            json!({"name": "stdout", "text": "9".repeat(100)}),
        );
        o.push_within(
            &mut budget,
            "display_data",
            json!({"data": {"text/plain": "big"}, "metadata": {}}),
        );
        o.push_within(
            &mut budget,
            "error",
            json!({"ename": "E", "evalue": "why", "traceback": ["t"]}),
        );
        assert!(budget.passed());
        let list = o.into_vec();
        assert_eq!(list.len(), 3, "{list:?}");
        assert_eq!(
            list[0]["text"],
            format!("12345678{}", "9".repeat(22)),
            "what fits of a stream is kept"
        );
        assert!(list[1]["text"]
            .as_str()
            .unwrap()
            .contains("--max-run-output-mb"));
        assert_eq!(list[2]["output_type"], "error");
    }

    #[test]
    fn an_update_costs_every_display_it_changes_and_empty_outputs_cost_too() {
        let mut budget = OutputBudget::new(10_000);
        let mut o = Outputs::default();
        for _ in 0..50 {
            let c = json!({"data": {"text/plain": "x"}, "metadata": {}, "transient": {"display_id": "same"}});
            o.push_within(&mut budget, "display_data", c);
        }
        assert!(!budget.passed(), "50 small displays fit");
        let big = json!({"data": {"text/plain": "y".repeat(1000)}, "metadata": {}, "transient": {"display_id": "same"}});
        o.push_within(&mut budget, "update_display_data", big);
        assert!(budget.passed(), "an update of 50 displays costs 50 times");
        let mut budget = OutputBudget::new(10_000);
        let mut o = Outputs::default();
        for _ in 0..1000 {
            o.push_within(
                &mut budget,
                "display_data",
                json!({"data": {}, "metadata": {}}),
            );
        }
        assert!(budget.passed(), "empty outputs are not free");
        for _ in 0..10 {
            o.push_within(
                &mut budget,
                "error",
                json!({"ename": "E", "evalue": "v", "traceback": []}),
            );
        }
        let errors = o
            .into_vec()
            .iter()
            .filter(|x| x["output_type"] == "error")
            .count();
        assert_eq!(errors, 1, "one error is kept past the budget");
    }

    #[test]
    fn no_budget_keeps_everything() {
        let mut budget = OutputBudget::new(0);
        let mut o = Outputs::default();
        for _ in 0..100 {
            o.push_within(
                &mut budget,
                "stream",
                json!({"name": "stdout", "text": "0123456789"}),
            );
        }
        assert!(!budget.passed());
        assert_eq!(o.into_vec()[0]["text"].as_str().unwrap().len(), 1000);
    }
}

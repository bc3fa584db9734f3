//! A notebook on its item page as Jupyter shows it, over raw HTTP: code
//! highlighted, `In [n]:`/`Out[n]:` prompts, Markdown rendered, terminal
//! colours, a long output folded to its first and last lines, and nothing
//! of the notebook's HTML that could run or load.

use serde_json::json;

use crate::common::spawn_app;

/// An executed notebook with one output of each kind that matters.
fn notebook() -> String {
    let printed: String = (1..=5000).map(|i| format!("row {i}\n")).collect();
    json!({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                     "language_info": {"name": "python"}},
        "cells": [
            {"id": "md", "cell_type": "markdown", "metadata": {},
             "source": "# Daily report\n\nFeatures **updated** today."},
            {"id": "code", "cell_type": "code", "execution_count": 1, "metadata": {},
             "source": "def total(rows):\n    return len(rows)  # count\n\ntotal([1, 2])",
             "outputs": [
                {"output_type": "stream", "name": "stdout", "text": printed},
                {"output_type": "stream", "name": "stderr", "text": "\u{1b}[31mwarning\u{1b}[0m: slow\n"},
                {"output_type": "display_data", "metadata": {},
                 "data": {"text/html": "<b onclick=\"steal()\">bold output</b><script>document.title='pwned'</script><img src=\"http://evil.example/x.png\">",
                          "text/plain": "bold output"}},
                {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                 "data": {"text/plain": "2"}}
             ]},
            {"id": "fail", "cell_type": "code", "execution_count": 2, "metadata": {},
             "source": "1 / 0",
             "outputs": [
                {"output_type": "error", "ename": "ZeroDivisionError", "evalue": "division by zero",
                 "traceback": ["\u{1b}[0;31mZeroDivisionError\u{1b}[0m: division by zero"]}
             ]},
            {"id": "later", "cell_type": "code", "execution_count": null, "metadata": {},
             "source": "print('not run')", "outputs": []}
        ]
    })
    .to_string()
}

#[tokio::test]
async fn an_item_page_shows_its_notebook_as_jupyter_does() {
    let app = spawn_app().await;
    let cast = app.cast().await;
    let added = app
        .post_form(
            "/notebooks/sharing/rest/content/users/alice/addItem",
            Some(&cast.alice),
            &[
                ("type", "Notebook"),
                ("title", "Report"),
                ("text", &notebook()),
            ],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.json);
    let id = added.json["id"].as_str().unwrap();
    let page = app
        .html(
            &format!("/notebooks/sharing/rest/content/items/{id}"),
            &cast.alice,
        )
        .await;

    // Markdown rendered, code highlighted, prompts as Jupyter writes them.
    assert!(page.contains("<h1>Daily report</h1>"), "{page}");
    assert!(page.contains("<strong>updated</strong>"));
    assert!(page.contains("<span class=\"k\">def</span>"), "{page}");
    assert!(page.contains("<span class=\"c\"># count</span>"));
    for prompt in ["In [1]:", "Out[1]:", "In [2]:", "In [ ]:"] {
        assert!(page.contains(prompt), "{prompt}");
    }
    // Terminal colours as classes; stderr and tracebacks set apart.
    assert!(page.contains("<span class=\"ansi-red-fg\">warning</span>"));
    assert!(page.contains("<span class=\"ansi-red-fg\">ZeroDivisionError</span>"));
    assert!(page.contains("class=\"output stream stderr\""));
    assert!(page.contains("class=\"output traceback\""));
    assert!(!page.contains('\u{1b}'), "no raw escape codes");
    // 5000 printed lines: the first 20 and the last 10, the rest folded.
    assert!(page.contains("row 1\n") && page.contains("row 20\n"));
    assert!(page.contains("row 5000"));
    assert!(page.contains("<details><summary>4970 more lines</summary>"));
    // The HTML output shows, and nothing of it can run or load.
    assert!(page.contains("<b>bold output</b>"));
    for bad in ["onclick", "<script>document", "pwned", "evil.example"] {
        assert!(!page.contains(bad), "{bad}");
    }
    let notebook = page.split("class=\"notebook\"").nth(1).unwrap();
    assert!(
        !notebook.contains(" style="),
        "no inline style: the policy forbids it"
    );
    assert!(page.len() < 200_000, "{} bytes", page.len());
}

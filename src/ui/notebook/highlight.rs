//! Code highlighted on the server, as Jupyter colours it: syntect parses
//! the source with Sublime Text's grammars (pure-Rust regexes) into scopes,
//! which become a few short CSS classes (Pygments' names: `k` keyword, `s`
//! string, `c` comment...) that the page's stylesheet colours for light and
//! dark. Highlighting is bounded: a cell or line too long for it, a page
//! past its bytes or its time, and the code is shown plain instead.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use syntect::parsing::{ParseState, Scope, ScopeStack, SyntaxReference, SyntaxSet};

use super::text::{Line, Span};

/// The most of one cell highlighted, in bytes.
const MAX_SOURCE: usize = 64 * 1024;
/// The longest line highlighted, in bytes (the grammars' regexes run over
/// the whole line at each token).
const MAX_LINE: usize = 2000;
/// The most source one page highlights, in bytes.
const PAGE_BYTES: usize = 512 * 1024;
/// The most time one page spends highlighting.
const PAGE_TIME: Duration = Duration::from_secs(2);

/// The grammars, loaded once (a compressed dump inside syntect).
fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// Scope prefixes and their classes, the most specific first; a token
/// takes the class of its innermost scope that has one.
const CLASSES: [(&str, &str); 19] = [
    ("comment", "c"),
    ("constant.character.escape", "se"),
    ("string", "s"),
    ("constant.numeric", "m"),
    ("constant.language", "kc"),
    ("keyword.operator.word", "ow"),
    ("keyword.operator.logical", "ow"),
    ("keyword.operator", "o"),
    ("keyword", "k"),
    ("storage.type", "k"),
    ("storage.modifier", "k"),
    ("entity.name.function.decorator", "nd"),
    ("meta.decorator", "nd"),
    ("meta.annotation", "nd"),
    ("variable.annotation", "nd"),
    ("entity.name.function", "nf"),
    ("entity.name.class", "nc"),
    ("support.function.builtin", "nb"),
    ("support.type", "nb"),
];

fn scope_classes() -> &'static [(Scope, &'static str)] {
    static TABLE: OnceLock<Vec<(Scope, &'static str)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        CLASSES
            .iter()
            .filter_map(|(name, class)| Scope::new(name).ok().map(|s| (s, *class)))
            .collect()
    })
}

fn class_of(stack: &ScopeStack) -> &'static str {
    let table = scope_classes();
    stack
        .as_slice()
        .iter()
        .rev()
        .find_map(|scope| {
            table
                .iter()
                .find(|(prefix, _)| prefix.is_prefix_of(*scope))
                .map(|(_, class)| *class)
        })
        .unwrap_or("")
}

/// One page's highlighting, within its bounds.
pub struct Highlighter {
    bytes_left: usize,
    deadline: Instant,
}

impl Default for Highlighter {
    fn default() -> Self {
        Self {
            bytes_left: PAGE_BYTES,
            deadline: Instant::now() + PAGE_TIME,
        }
    }
}

impl Highlighter {
    /// The grammar for a language as notebooks name it (`python`, `json`).
    fn syntax(language: &str) -> Option<&'static SyntaxReference> {
        let set = syntaxes();
        set.find_syntax_by_token(&language.to_ascii_lowercase())
    }

    /// `source` as highlighted lines, or `None` when the language is
    /// unknown or the source past the bounds (the caller shows it plain).
    pub fn highlight(&mut self, source: &str, language: &str) -> Option<Vec<Line>> {
        if source.len() > MAX_SOURCE.min(self.bytes_left) || Instant::now() > self.deadline {
            return None;
        }
        if source.split('\n').any(|l| l.len() > MAX_LINE) {
            return None;
        }
        let syntax = Self::syntax(language)?;
        let deadline = self.deadline;
        // A grammar's regex that the engine cannot compile panics inside
        // syntect; the page shows that cell plain rather than fail.
        let lines = std::panic::catch_unwind(|| parse(source, syntax, deadline))
            .ok()
            .flatten()?;
        self.bytes_left -= source.len();
        Some(lines)
    }
}

fn parse(source: &str, syntax: &SyntaxReference, deadline: Instant) -> Option<Vec<Line>> {
    let set = syntaxes();
    let mut state = ParseState::new(syntax);
    let mut stack = ScopeStack::new();
    let mut lines = Vec::new();
    let mut buffer = String::new();
    for line in source.split('\n') {
        if Instant::now() > deadline {
            return None;
        }
        // The grammars expect each line to end with its break.
        buffer.clear();
        buffer.push_str(line);
        buffer.push('\n');
        let ops = state.parse_line(&buffer, set).ok()?;
        let mut spans = Vec::new();
        let mut at = 0;
        for (index, op) in ops {
            let index = index.min(line.len());
            if index > at {
                push(&mut spans, class_of(&stack), line.get(at..index)?);
                at = index;
            }
            stack.apply(&op).ok()?;
        }
        push(&mut spans, class_of(&stack), line.get(at..)?);
        lines.push(spans);
    }
    Some(lines)
}

fn push(spans: &mut Line, class: &str, text: &str) {
    if text.is_empty() {
        return;
    }
    match spans.last_mut() {
        Some(last) if last.class == class => last.text.push_str(text),
        _ => spans.push(Span {
            class: class.to_string(),
            text: text.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(lines: &[Line]) -> Vec<(String, String)> {
        lines
            .iter()
            .flatten()
            .filter(|s| !s.class.is_empty())
            .map(|s| (s.class.clone(), s.text.clone()))
            .collect()
    }

    #[test]
    fn python_gets_pygments_classes_and_keeps_its_text() {
        let source = "import os\n@cache\ndef f(x=1):\n    # note\n    return \"a\\n\" if x is None else True\n";
        let lines = Highlighter::default()
            .highlight(source, "python")
            .expect("python is highlighted");
        let text: Vec<String> = lines
            .iter()
            .map(|l| l.iter().map(|s| s.text.as_str()).collect())
            .collect();
        assert_eq!(text.join("\n"), source);
        let found = classes(&lines);
        for (class, token) in [
            ("k", "import"),
            ("k", "def"),
            ("nf", "f"),
            ("m", "1"),
            ("c", "# note"),
            ("k", "return"),
            ("se", "\\n"),
            ("kc", "None"),
            ("kc", "True"),
        ] {
            assert!(
                found.iter().any(|(c, t)| c == class && t.trim() == token),
                "{class} {token}: {found:?}"
            );
        }
        assert!(
            found.iter().any(|(c, t)| c == "nd" && t.contains("cache")),
            "{found:?}"
        );
    }

    #[test]
    fn unknown_languages_and_oversized_code_are_left_plain() {
        let mut h = Highlighter::default();
        assert!(h.highlight("x", "no such language").is_none());
        assert!(h.highlight(&"x".repeat(MAX_LINE + 1), "python").is_none());
        assert!(h.highlight(&"x\n".repeat(MAX_SOURCE), "python").is_none());
        let mut spent = Highlighter {
            bytes_left: 10,
            deadline: Instant::now(),
        };
        assert!(spent.highlight("print(1)\n", "python").is_none());
        assert!(Highlighter::default()
            .highlight("{\"a\": [1, null]}", "json")
            .is_some());
    }

    /// Every regex of the grammars a notebook page uses compiles with the
    /// pure-Rust engine, so no input reaches one that would panic.
    #[test]
    fn the_grammars_pages_use_compile_with_fancy_regex() {
        let builder = syntaxes().clone().into_builder();
        let mut checked = 0;
        for syntax in builder.syntaxes() {
            if !["Python", "JSON", "SQL", "Regular Expressions (Python)"]
                .contains(&syntax.name.as_str())
            {
                continue;
            }
            for context in syntax.contexts.values() {
                for pattern in &context.patterns {
                    if let syntect::parsing::syntax_definition::Pattern::Match(m) = pattern {
                        let backref = m
                            .regex
                            .regex_str()
                            .as_bytes()
                            .windows(2)
                            .any(|w| w[0] == b'\\' && w[1].is_ascii_digit());
                        if backref {
                            continue; // Filled with a capture when used.
                        }
                        let compiled = std::panic::catch_unwind(|| m.regex.is_match(""));
                        assert!(compiled.is_ok(), "{}: {}", syntax.name, m.regex.regex_str());
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 100, "{checked} regexes checked");
    }
}

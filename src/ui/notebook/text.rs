//! Text as a page shows it: lines of classed spans (highlighted code,
//! coloured terminal output), folded when long: the first and the last
//! lines shown, the middle behind a `<details>`, and everything bounded in
//! bytes, so that a page stays small whatever a notebook holds.

use serde::Serialize;

/// A run of text with one CSS class (empty: none). The template escapes
/// the text; the class is one of the renderer's own names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Span {
    pub class: String,
    pub text: String,
}

impl Span {
    pub fn plain(text: impl Into<String>) -> Self {
        Self {
            class: String::new(),
            text: text.into(),
        }
    }
}

/// One line: its spans, without the line break.
pub type Line = Vec<Span>;

/// Plain text as lines of one span each.
pub fn plain_lines(text: &str) -> Vec<Line> {
    text.split('\n').map(|l| vec![Span::plain(l)]).collect()
}

/// Text folded for the page: `head` shown, then `fold` (closed), then
/// `tail`; `note` says what the page leaves out.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Text {
    pub head: Vec<Span>,
    pub fold: Option<Fold>,
    pub tail: Vec<Span>,
    pub note: Option<String>,
}

/// The middle of a long text, shown when opened.
#[derive(Debug, Clone, Serialize)]
pub struct Fold {
    pub summary: String,
    pub spans: Vec<Span>,
}

impl Text {
    /// Whether there is nothing to show but, perhaps, the note.
    pub fn is_empty(&self) -> bool {
        self.head.iter().all(|s| s.text.is_empty()) && self.fold.is_none() && self.tail.is_empty()
    }

    /// The text shown, without classes or folds (for tests and checks).
    #[cfg(test)]
    pub fn shown(&self) -> String {
        let fold = self.fold.iter().flat_map(|f| &f.spans);
        self.head
            .iter()
            .chain(fold)
            .chain(&self.tail)
            .map(|s| s.text.as_str())
            .collect()
    }
}

/// How a kind of text is folded.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Texts of more lines than this are folded.
    pub fold_after: usize,
    /// The lines shown before the fold.
    pub head: usize,
    /// The lines shown after the fold.
    pub tail: usize,
    /// The most bytes of markup one text may take in the page.
    pub bytes: usize,
}

/// The bytes `text` takes in a page once escaped (`<`, `>`, `&`, quotes, `/`
/// become entities of up to six bytes).
pub fn escaped_len(text: &str) -> usize {
    text.len()
        + text
            .bytes()
            .filter(|b| matches!(b, b'<' | b'>' | b'&' | b'"' | b'\'' | b'/'))
            .count()
            * 5
}

/// What a span costs the page: its escaped text and its markup.
fn span_cost(span: &Span) -> usize {
    let markup = if span.class.is_empty() {
        0
    } else {
        span.class.len() + "<span class=\"\"></span>".len()
    };
    escaped_len(&span.text) + markup
}

fn line_cost(line: &Line) -> usize {
    line.iter().map(span_cost).sum::<usize>() + 1
}

/// The largest char boundary of `text` at or below `at`.
pub fn floor(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The start of `line` that costs at most `room`; whether it is whole.
fn cut_line(line: &Line, room: usize) -> (Line, bool) {
    if room == 0 {
        // Not even the line's break fits.
        return (Vec::new(), false);
    }
    let mut out = Vec::new();
    let mut left = room.saturating_sub(1);
    for span in line {
        let cost = span_cost(span);
        if cost <= left {
            left -= cost;
            out.push(span.clone());
            continue;
        }
        let markup = cost - escaped_len(&span.text);
        let room = left.saturating_sub(markup);
        let mut cut = floor(&span.text, room);
        while cut > 0 && escaped_len(&span.text[..cut]) > room {
            cut = floor(&span.text, cut * 3 / 4);
        }
        if cut > 0 {
            out.push(Span {
                class: span.class.clone(),
                text: span.text[..cut].to_string(),
            });
        }
        return (out, false);
    }
    (out, true)
}

/// Lines, each but the last followed by a line break, as one list of spans
/// (adjacent plain spans merged, so the page carries fewer of them).
fn join(lines: Vec<Line>, trailing_break: bool) -> Vec<Span> {
    let count = lines.len();
    let mut spans: Vec<Span> = Vec::new();
    for (i, line) in lines.into_iter().enumerate() {
        for span in line {
            push(&mut spans, span);
        }
        if i + 1 < count || trailing_break {
            push(&mut spans, Span::plain("\n"));
        }
    }
    spans
}

fn push(spans: &mut Vec<Span>, span: Span) {
    if span.text.is_empty() {
        return;
    }
    match spans.last_mut() {
        Some(last) if last.class == span.class => last.text.push_str(&span.text),
        _ => spans.push(span),
    }
}

/// Takes whole lines from `lines` while they fit in `room` bytes, cutting
/// the first that does not; returns them, the bytes used and how many
/// lines were taken whole.
fn take(lines: &[Line], room: usize) -> (Vec<Line>, usize, usize) {
    let mut out = Vec::new();
    let mut used = 0;
    for (i, line) in lines.iter().enumerate() {
        let cost = line_cost(line);
        if used + cost <= room {
            used += cost;
            out.push(line.clone());
            continue;
        }
        let (cut, _) = cut_line(line, room - used);
        if !cut.is_empty() {
            used += line_cost(&cut);
            out.push(cut);
        }
        return (out, used, i);
    }
    let whole = out.len();
    (out, used, whole)
}

fn lines_word(n: usize) -> String {
    if n == 1 {
        "1 more line".to_string()
    } else {
        format!("{n} more lines")
    }
}

/// Folds `lines` as `bounds` say, within `left` bytes of the page (which
/// it uses up); the note says what is left out.
pub fn fold(mut lines: Vec<Line>, bounds: Bounds, left: &mut usize) -> Text {
    // A text's last line break ends a line; it does not begin another.
    if lines.len() > 1
        && lines
            .last()
            .is_some_and(|l| l.iter().all(|s| s.text.is_empty()))
    {
        lines.pop();
    }
    let room = bounds.bytes.min(*left);
    let total: usize = lines.iter().map(line_cost).sum();
    let count = lines.len();
    if count <= bounds.fold_after && total <= room {
        *left -= total;
        return Text {
            head: join(lines, false),
            ..Text::default()
        };
    }
    if count <= bounds.fold_after {
        // Few lines, but too many bytes: the start of them, and a note.
        let (head, used, _) = take(&lines, room);
        *left -= used;
        return Text {
            head: join(head, false),
            note: Some(format!(
                "{} more bytes of this are not shown here; the downloaded notebook has them all.",
                total.saturating_sub(used)
            )),
            ..Text::default()
        };
    }
    let (head_lines, rest) = lines.split_at(bounds.head.min(count));
    let (middle, tail_lines) = rest.split_at(rest.len() - bounds.tail.min(rest.len()));
    // The head and the tail take a quarter of the room each at most, the
    // fold what is left.
    let (head, head_used, head_whole) = take(head_lines, room / 4);
    let (tail, tail_used, _) = take(tail_lines, room / 4);
    let (shown, middle_used, middle_whole) = take(middle, room - head_used - tail_used);
    *left -= head_used + tail_used + middle_used;
    let hidden = middle.len() - middle_whole;
    let cut = head_whole < head_lines.len() || tail.len() < tail_lines.len();
    let note = (hidden > 0 || cut).then(|| {
        format!(
            "This is too long to show whole: {} are not shown here; the downloaded notebook has everything.",
            if hidden > 0 {
                format!("{hidden} of its lines")
            } else {
                "parts of its lines".to_string()
            }
        )
    });
    Text {
        head: join(head, true),
        fold: Some(Fold {
            summary: lines_word(middle.len()),
            spans: join(shown, true),
        }),
        tail: join(tail, false),
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: Bounds = Bounds {
        fold_after: 40,
        head: 20,
        tail: 10,
        bytes: 4096,
    };

    fn numbered(n: usize) -> Vec<Line> {
        plain_lines(
            &(1..=n)
                .map(|i| format!("line {i}"))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    }

    #[test]
    fn short_text_is_shown_whole() {
        let mut left = 1 << 20;
        let text = fold(numbered(40), BOUNDS, &mut left);
        assert!(text.fold.is_none() && text.note.is_none());
        assert!(text.shown().ends_with("line 40"));
        assert_eq!(text.head.len(), 1, "plain spans are merged");
    }

    #[test]
    fn long_text_shows_its_first_and_last_lines_and_folds_the_middle() {
        let mut left = 1 << 20;
        let text = fold(numbered(100), BOUNDS, &mut left);
        let head: String = text.head.iter().map(|s| s.text.as_str()).collect();
        let tail: String = text.tail.iter().map(|s| s.text.as_str()).collect();
        assert!(head.starts_with("line 1\n") && head.ends_with("line 20\n"));
        assert!(tail.starts_with("line 91\n") && tail.ends_with("line 100"));
        let fold = text.fold.as_ref().unwrap();
        assert_eq!(fold.summary, "70 more lines");
        assert!(text.note.is_none());
        assert_eq!(
            text.shown(),
            numbered(100)
                .iter()
                .map(|l| l[0].text.clone())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    #[test]
    fn a_megabyte_is_cut_to_the_bound_with_a_note() {
        let mut left = 1 << 20;
        let text = fold(numbered(100_000), BOUNDS, &mut left);
        let shown = text.shown();
        assert!(shown.len() <= BOUNDS.bytes, "{} bytes", shown.len());
        assert!(shown.ends_with("line 100000"));
        assert!(text.note.unwrap().contains("of its lines are not shown"));
        assert!((1 << 20) - left <= BOUNDS.bytes);
        let mut left = 1 << 20;
        let one_line = fold(plain_lines(&"<&".repeat(1 << 20)), BOUNDS, &mut left);
        assert!(escaped_len(&one_line.shown()) <= BOUNDS.bytes);
        assert!(one_line.note.unwrap().contains("more bytes"));
    }

    #[test]
    fn the_page_room_is_shared_and_used_up() {
        let mut left = 5000;
        let first = fold(numbered(1000), BOUNDS, &mut left);
        assert!(first.shown().len() <= 4096);
        let second = fold(numbered(1000), BOUNDS, &mut left);
        assert!(second.shown().len() <= 5000 - first.shown().len());
        assert!(left < 5000);
    }

    #[test]
    fn cutting_keeps_char_boundaries_and_classes() {
        let line = vec![
            Span {
                class: "k".into(),
                text: "déf".into(),
            },
            Span::plain("ééééé"),
        ];
        for room in 0..40 {
            let (cut, whole) = cut_line(&line, room);
            assert!(line_cost(&cut) <= room.max(1), "{room}: {cut:?}");
            assert_eq!(whole, room >= line_cost(&line));
        }
    }

    proptest::proptest! {
        #[test]
        fn folding_stays_within_its_bounds(
            text in "[a-z<&/é\n]{0,600}",
            fold_after in 0usize..30,
            head in 0usize..20,
            tail in 0usize..20,
            bytes in 0usize..400,
            page in 0usize..600,
        ) {
            let bounds = Bounds { fold_after, head, tail, bytes };
            let mut left = page;
            let shown = fold(plain_lines(&text), bounds, &mut left);
            let spans = shown
                .head
                .iter()
                .chain(shown.fold.iter().flat_map(|f| &f.spans))
                .chain(&shown.tail);
            let cost: usize = spans.map(span_cost).sum();
            proptest::prop_assert!(cost <= bytes.min(page), "{cost} > {bytes}/{page}");
            proptest::prop_assert!(left <= page);
        }
    }
}

//! Terminal text (tracebacks, streams) as the lines of classed spans that
//! Jupyter shows: SGR colour codes become Jupyter's `ansi-*` classes (the
//! 256 and 24-bit colours the nearest of the 16), carriage returns and
//! backspaces rewrite the line as a terminal would (progress bars), and
//! every other control sequence is dropped. The bytes are read by
//! `anstyle-parse`, a VT500 parser.

use anstyle_parse::{DefaultCharAccumulator, Params, Parser, Perform};

use super::text::{Line, Span};

/// The 16 colours' names, as Jupyter's classes spell them (8 to 15 are the
/// intense ones).
const NAMES: [&str; 8] = [
    "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
];

/// xterm's RGB of the 16 colours, to find the nearest one of others.
const RGB: [(u8, u8, u8); 16] = [
    (0, 0, 0),
    (205, 0, 0),
    (0, 205, 0),
    (205, 205, 0),
    (0, 0, 238),
    (205, 0, 205),
    (0, 205, 205),
    (229, 229, 229),
    (127, 127, 127),
    (255, 0, 0),
    (0, 255, 0),
    (255, 255, 0),
    (92, 92, 255),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 255),
];

/// The most lines one text becomes; past it the rest is one line, which
/// the folding then cuts (a text of only line breaks stays small).
const MAX_LINES: usize = 100_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Style {
    fg: Option<u8>,
    bg: Option<u8>,
    bold: bool,
    italic: bool,
    underline: bool,
    inverse: bool,
}

impl Style {
    fn class(&self) -> String {
        let (fg, bg) = if self.inverse {
            (self.bg, self.fg)
        } else {
            (self.fg, self.bg)
        };
        let mut classes = Vec::new();
        let colour = |c: u8, layer: &str| {
            let name = NAMES[usize::from(c % 8)];
            if c >= 8 {
                format!("ansi-{name}-intense-{layer}")
            } else {
                format!("ansi-{name}-{layer}")
            }
        };
        match fg {
            Some(c) => classes.push(colour(c, "fg")),
            None if self.inverse => classes.push("ansi-default-inverse-fg".into()),
            None => {}
        }
        match bg {
            Some(c) => classes.push(colour(c, "bg")),
            None if self.inverse => classes.push("ansi-default-inverse-bg".into()),
            None => {}
        }
        for (on, name) in [
            (self.bold, "ansi-bold"),
            (self.italic, "ansi-italic"),
            (self.underline, "ansi-underline"),
        ] {
            if on {
                classes.push(name.into());
            }
        }
        classes.join(" ")
    }
}

/// The nearest of the 16 colours to an RGB colour.
fn nearest(r: u8, g: u8, b: u8) -> u8 {
    let distance = |&(i, (cr, cg, cb)): &(usize, &(u8, u8, u8))| {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2);
        (d(r, *cr) + d(g, *cg) + d(b, *cb), i)
    };
    RGB.iter()
        .enumerate()
        .map(|pair| distance(&pair))
        .min()
        .map_or(0, |(_, i)| i as u8)
}

/// A colour of the 256-colour palette as one of the 16.
fn from_256(n: u16) -> u8 {
    match n {
        0..=15 => n as u8,
        16..=231 => {
            let n = n - 16;
            let level = |v: u16| if v == 0 { 0 } else { (55 + v * 40) as u8 };
            nearest(level(n / 36), level(n / 6 % 6), level(n % 6))
        }
        _ => {
            let grey = (8 + (n.min(255) - 232) * 10) as u8;
            nearest(grey, grey, grey)
        }
    }
}

struct Screen {
    lines: Vec<Line>,
    line: Line,
    style: Style,
    class: String,
    /// A carriage return seen, not yet known to end the line (`\r\n`).
    pending_return: bool,
}

impl Screen {
    fn settle_return(&mut self) {
        if std::mem::take(&mut self.pending_return) {
            self.line.clear();
        }
    }

    fn print(&mut self, c: char) {
        self.settle_return();
        match self.line.last_mut() {
            Some(span) if span.class == self.class => span.text.push(c),
            _ => self.line.push(Span {
                class: self.class.clone(),
                text: c.to_string(),
            }),
        }
    }

    fn newline(&mut self) {
        self.pending_return = false;
        if self.lines.len() + 1 < MAX_LINES {
            self.lines.push(std::mem::take(&mut self.line));
        } else {
            self.print(' ');
        }
    }

    fn backspace(&mut self) {
        self.settle_return();
        if let Some(span) = self.line.last_mut() {
            span.text.pop();
            if span.text.is_empty() {
                self.line.pop();
            }
        }
    }

    /// Select Graphic Rendition: the parameters of `ESC [ ... m`.
    fn sgr(&mut self, params: &Params) {
        let mut codes = params.iter().flat_map(|p| p.iter().copied());
        let mut any = false;
        while let Some(code) = codes.next() {
            any = true;
            let s = &mut self.style;
            match code {
                0 => *s = Style::default(),
                1 => s.bold = true,
                3 => s.italic = true,
                4 => s.underline = true,
                7 => s.inverse = true,
                22 => s.bold = false,
                23 => s.italic = false,
                24 => s.underline = false,
                27 => s.inverse = false,
                30..=37 => s.fg = Some((code - 30) as u8),
                39 => s.fg = None,
                40..=47 => s.bg = Some((code - 40) as u8),
                49 => s.bg = None,
                90..=97 => s.fg = Some((code - 90 + 8) as u8),
                100..=107 => s.bg = Some((code - 100 + 8) as u8),
                38 | 48 => {
                    let colour = match codes.next() {
                        Some(5) => codes.next().map(from_256),
                        Some(2) => {
                            let mut c = || codes.next().map_or(0, |v| v.min(255) as u8);
                            let (r, g, b) = (c(), c(), c());
                            Some(nearest(r, g, b))
                        }
                        _ => None,
                    };
                    if code == 38 {
                        s.fg = colour;
                    } else {
                        s.bg = colour;
                    }
                }
                _ => {}
            }
        }
        if !any {
            // `ESC [ m` is a reset.
            self.style = Style::default();
        }
        self.class = self.style.class();
    }
}

impl Perform for Screen {
    fn print(&mut self, c: char) {
        Screen::print(self, c);
    }

    fn execute(&mut self, byte: u8) {
        match byte {
            b'\n' => self.newline(),
            b'\r' => self.pending_return = true,
            b'\t' => self.print('\t'),
            0x08 => self.backspace(),
            _ => {}
        }
    }

    fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], ignore: bool, action: u8) {
        if action == b'm' && intermediates.is_empty() && !ignore {
            self.sgr(params);
        }
    }
}

/// Terminal text as lines of classed spans.
pub fn lines(text: &str) -> Vec<Line> {
    let mut screen = Screen {
        lines: Vec::new(),
        line: Vec::new(),
        style: Style::default(),
        class: String::new(),
        pending_return: false,
    };
    let mut parser = Parser::<DefaultCharAccumulator>::new();
    for byte in text.bytes() {
        parser.advance(&mut screen, byte);
    }
    screen.settle_return();
    let mut lines = screen.lines;
    lines.push(screen.line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(lines: &[Line]) -> Vec<(String, String)> {
        lines
            .iter()
            .enumerate()
            .flat_map(|(i, l)| {
                let brk = (i > 0).then(|| (String::new(), "\n".to_string()));
                brk.into_iter()
                    .chain(l.iter().map(|s| (s.class.clone(), s.text.clone())))
            })
            .collect()
    }

    #[test]
    fn colour_codes_become_jupyters_classes() {
        let out = lines("\u{1b}[0;31mValueError\u{1b}[0m: bad\n\u{1b}[1;32mok\u{1b}[39m!");
        assert_eq!(
            flat(&out),
            [
                ("ansi-red-fg", "ValueError"),
                ("", ": bad"),
                ("", "\n"),
                ("ansi-green-fg ansi-bold", "ok"),
                ("ansi-bold", "!"),
            ]
            .map(|(c, t)| (c.to_string(), t.to_string()))
        );
    }

    #[test]
    fn intense_256_and_rgb_colours_map_to_the_sixteen() {
        let out = lines(
            "\u{1b}[91ma\u{1b}[38;5;196mb\u{1b}[38;2;0;0;250mc\u{1b}[48;5;21;7md\u{1b}[38:5:2me",
        );
        let classes: Vec<String> = out[0].iter().map(|s| s.class.clone()).collect();
        assert_eq!(
            classes,
            [
                "ansi-red-intense-fg", // a and b, the same colour: one span
                "ansi-blue-fg",
                "ansi-blue-fg ansi-blue-bg",
                "ansi-blue-fg ansi-green-bg", // inverse: swapped
            ]
        );
        assert_eq!(
            lines("\u{1b}[7mx")[0][0].class,
            "ansi-default-inverse-fg ansi-default-inverse-bg"
        );
    }

    #[test]
    fn carriage_returns_and_backspaces_rewrite_the_line() {
        let out = lines("10%\r50%\r100%\ndone\r\nab\u{8}c");
        let text: Vec<String> = out
            .iter()
            .map(|l| l.iter().map(|s| s.text.as_str()).collect())
            .collect();
        assert_eq!(text, ["100%", "done", "ac"]);
    }

    #[test]
    fn other_escapes_and_broken_sequences_leave_no_control_bytes() {
        for input in [
            "\u{1b}[2J\u{1b}[Hclear",
            "\u{1b}]8;;http://x\u{7}link\u{1b}]8;;\u{7}",
            "\u{1b}[38;5mhalf",
            "\u{1b}[38;2;300;-1mbig",
            "trailing \u{1b}[",
            "\u{1b}P1$r\u{1b}\\dcs",
            "<script>\u{1b}[31m</script>",
        ] {
            let out = lines(input);
            for span in out.iter().flatten() {
                assert!(
                    !span.text.chars().any(|c| c.is_control() && c != '\t'),
                    "{input:?}: {span:?}"
                );
                assert!(
                    span.class
                        .split(' ')
                        .all(|c| c.is_empty() || c.starts_with("ansi-")),
                    "{span:?}"
                );
            }
        }
    }

    #[test]
    fn a_text_of_line_breaks_stays_bounded() {
        let out = lines(&"\n".repeat(MAX_LINES + 10));
        assert!(out.len() <= MAX_LINES);
    }
}

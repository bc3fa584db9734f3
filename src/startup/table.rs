//! Listings printed for people: columns padded to their widest cell under a
//! header, two spaces apart.

/// `header` and `rows` as aligned text, a line each.
pub fn render<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_line_up_under_their_header() {
        let text = super::render(
            ["NAME", "ROLE"],
            &[
                ["alice".into(), "user".into()],
                ["b".into(), "administrator".into()],
            ],
        );
        assert_eq!(text, "NAME   ROLE\nalice  user\nb      administrator\n");
    }
}

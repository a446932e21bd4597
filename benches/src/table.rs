//! A plain-text table (Markdown pipe syntax, columns aligned).

/// Renders `header` and `rows`; short rows are padded with empty cells.
pub fn render(header: &[String], rows: &[Vec<String>]) -> String {
    let columns = rows
        .iter()
        .map(Vec::len)
        .chain([header.len()])
        .max()
        .unwrap_or(0);
    let cell = |row: &[String], i: usize| row.get(i).cloned().unwrap_or_default();
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .map(|r| cell(r, i).chars().count())
                .chain([cell(header, i).chars().count(), 3])
                .max()
                .unwrap_or(3)
        })
        .collect();
    let line = |row: &[String]| {
        let cells: Vec<String> = (0..columns)
            .map(|i| {
                let text = cell(row, i);
                let pad = widths[i] - text.chars().count();
                format!("{text}{}", " ".repeat(pad))
            })
            .collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let mut out = line(header);
    out.push_str(&format!("|-{}-|\n", rule.join("-|-")));
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn aligns_columns_and_pads_short_rows() {
        let out = render(
            &strings(&["what", "memory"]),
            &[strings(&["L3 / L1", "0.52"]), strings(&["RSS µs"])],
        );
        assert_eq!(
            out,
            "| what    | memory |\n\
             |---------|--------|\n\
             | L3 / L1 | 0.52   |\n\
             | RSS µs  |        |\n"
        );
    }

    #[test]
    fn an_empty_table_still_has_its_header() {
        assert_eq!(render(&strings(&["a"]), &[]), "| a   |\n|-----|\n");
    }
}

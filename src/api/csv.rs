//! CSV answers (`f=csv`): one writer for every table the API exports, on the `csv` crate
//! (RFC 4180 quoting, CRLF line ends).
//!
//! Spreadsheets run a text cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage
//! return before one) as a formula, so a report description or a property value such as
//! `=HYPERLINK("http://evil.example","click")` would become a live link or worse on the
//! analyst's desk (CSV injection). Text cells starting with one of those characters get a
//! leading apostrophe, which spreadsheets show as text; numeric cells are written as they are,
//! so `-3.5` in a number column stays a number.

use std::borrow::Cow;

/// One cell of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    /// Text: neutralised when a spreadsheet would take it for a formula.
    Text(Cow<'a, str>),
    /// The text of a number, written as given (never neutralised: a minus sign is part of the
    /// number). Build it with [`Cell::number`] or [`Cell::float`].
    Number(Cow<'a, str>),
    /// An empty cell (no value).
    Empty,
}

impl<'a> Cell<'a> {
    /// A text cell.
    pub fn text(text: impl Into<Cow<'a, str>>) -> Self {
        Self::Text(text.into())
    }

    /// A number cell of an integer or of JSON number text.
    pub fn number(n: impl std::fmt::Display) -> Self {
        Self::Number(Cow::Owned(n.to_string()))
    }

    /// A number cell of a float (shortest text that reads back as the same float); empty when
    /// the float is not finite.
    pub fn float(n: f64) -> Self {
        if n.is_finite() {
            Self::number(n)
        } else {
            Self::Empty
        }
    }
}

/// The characters that make a spreadsheet read a text cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `text` as a spreadsheet will show it as text: with a leading apostrophe when it starts like a
/// formula.
///
/// ```
/// use citygrid::api::csv::neutralise;
/// assert_eq!(neutralise("=1+1"), "'=1+1");
/// assert_eq!(neutralise("ordinary"), "ordinary");
/// ```
pub fn neutralise(text: &str) -> Cow<'_, str> {
    if text.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// A CSV table being written to memory.
pub struct Table {
    writer: csv::Writer<Vec<u8>>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table").finish_non_exhaustive()
    }
}

impl Table {
    /// A table with this header row (the names are text cells, neutralised like any other).
    pub fn new<'h>(header: impl IntoIterator<Item = &'h str>) -> Self {
        let writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .flexible(false)
            .from_writer(Vec::new());
        let mut table = Self { writer };
        table.row(header.into_iter().map(Cell::text));
        table
    }

    /// Appends a row.
    pub fn row<'c>(&mut self, cells: impl IntoIterator<Item = Cell<'c>>) {
        let fields: Vec<Cow<'_, str>> = cells
            .into_iter()
            .map(|cell| match cell {
                Cell::Text(text) => match neutralise(&text) {
                    Cow::Borrowed(_) => text,
                    Cow::Owned(owned) => Cow::Owned(owned),
                },
                Cell::Number(n) => n,
                Cell::Empty => Cow::Borrowed(""),
            })
            .collect();
        // Writing to memory cannot fail; a row of another length than the header is a bug.
        self.writer
            .write_record(fields.iter().map(|f| f.as_bytes()))
            .expect("a CSV row has as many cells as the header");
    }

    /// The table's text.
    pub fn finish(self) -> String {
        let bytes = self
            .writer
            .into_inner()
            .expect("flushing CSV into memory cannot fail");
        String::from_utf8(bytes).expect("the cells are UTF-8 text")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[Vec<Cell<'_>>]) -> String {
        let mut table = Table::new(["a", "b"]);
        for row in rows {
            table.row(row.iter().cloned());
        }
        table.finish()
    }

    #[test]
    fn text_cells_that_start_like_a_formula_get_a_leading_apostrophe() {
        let text = table(&[
            vec![
                Cell::text(r#"=HYPERLINK("http://evil.example","x")"#),
                Cell::text("+1"),
            ],
            vec![Cell::text("-2"), Cell::text("@SUM(A1)")],
            vec![Cell::text("\t=1"), Cell::text("\r=1")],
        ]);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        assert_eq!(
            rows,
            [
                vec![
                    r#"'=HYPERLINK("http://evil.example","x")"#.to_owned(),
                    "'+1".into()
                ],
                vec!["'-2".into(), "'@SUM(A1)".into()],
                vec!["'\t=1".into(), "'\r=1".into()],
            ]
        );
    }

    #[test]
    fn numbers_keep_their_sign_and_empty_cells_stay_empty() {
        let text = table(&[
            vec![Cell::float(-3.5), Cell::number(-7)],
            vec![Cell::Empty, Cell::float(f64::NAN)],
        ]);
        assert_eq!(text, "a,b\r\n-3.5,-7\r\n,\r\n");
    }

    #[test]
    fn commas_quotes_and_newlines_are_quoted_as_rfc_4180_says() {
        let text = table(&[vec![Cell::text("x, \"y\"\nz"), Cell::text("plain")]]);
        assert_eq!(text, "a,b\r\n\"x, \"\"y\"\"\nz\",plain\r\n");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!(&row[0], "x, \"y\"\nz");
    }

    #[test]
    fn header_names_are_neutralised_too() {
        let text = Table::new(["=cmd", "ok"]).finish();
        assert_eq!(text, "'=cmd,ok\r\n");
    }
}

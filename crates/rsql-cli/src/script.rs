//! Cutting SQL text into statements: lines go in, whole statements (ended by `;` outside
//! strings, quoted identifiers and comments) and dot-commands come out.
//!
//! The same [`ScriptReader`] serves `-c`, `-f`, piped stdin and the REPL, so they all accept the
//! same input. Each statement is handed to the session padded with the newlines and spaces that
//! preceded it in its source, so the `line:column` of a parse or bind error points into the
//! source as the user wrote it.

/// One unit of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A SQL statement, without its `;`.
    Statement(Statement),
    /// A line starting with `.` outside a statement (`.tables`, `.mode csv`, ...).
    DotCommand(String),
}

/// A statement and where it sits in its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement text as written (trimmed, without the final `;`).
    pub text: String,
    /// The line (1-based) its first character is on.
    pub line: usize,
    /// The column (1-based, in characters) of its first character.
    pub column: usize,
    /// The source lines it spans, in full, for pointing at errors.
    pub source_lines: Vec<String>,
}

impl Statement {
    /// The text to run: padded so that positions the parser reports are positions in the
    /// source (line `self.line`, column `self.column` for the first character).
    pub fn padded_sql(&self) -> String {
        let mut sql = "\n".repeat(self.line - 1);
        sql.push_str(&" ".repeat(self.column - 1));
        sql.push_str(&self.text);
        sql
    }

    /// The source line numbered `line` (1-based, in the source), if the statement spans it.
    pub fn source_line(&self, line: usize) -> Option<&str> {
        let index = line.checked_sub(self.line)?;
        self.source_lines.get(index).map(String::as_str)
    }

    /// The first keyword, upper-cased (`SELECT`, `EXPLAIN`, `CREATE`, ...).
    pub fn keyword(&self) -> String {
        self.text
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .find(|w| !w.is_empty())
            .unwrap_or_default()
            .to_uppercase()
    }
}

/// Where the scanner is inside the pending text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lexical {
    /// Plain SQL.
    Code,
    /// Inside a quoted string or identifier closed by this character.
    Quoted(char),
    /// Inside a `--` comment (ends at the end of the line).
    LineComment,
    /// Inside `/* */` comments, nested this deep.
    BlockComment(usize),
}

/// Turns lines of input into [`Item`]s, keeping an unfinished statement until its `;` comes.
#[derive(Debug)]
pub struct ScriptReader {
    /// Lines of the unfinished statement, in full (the first may begin with the end of an
    /// earlier statement).
    pending: Vec<String>,
    /// Where the unfinished statement starts: (index in `pending`, byte offset in that line).
    start: Option<(usize, usize)>,
    /// The source line number of `pending[0]`.
    first_line: usize,
    /// The number of the next line to be read.
    next_line: usize,
    /// Scanner state at the end of the pending text.
    state: Lexical,
    /// Whether line numbers start again at 1 for every new statement (the REPL).
    restart_numbering: bool,
}

impl ScriptReader {
    /// A reader numbering lines from the start of the source (files, `-c`, piped stdin).
    pub fn new() -> Self {
        ScriptReader {
            pending: Vec::new(),
            start: None,
            first_line: 1,
            next_line: 1,
            state: Lexical::Code,
            restart_numbering: false,
        }
    }

    /// A reader numbering lines from 1 for each new statement, as a REPL user sees them.
    pub fn interactive() -> Self {
        ScriptReader {
            restart_numbering: true,
            ..ScriptReader::new()
        }
    }

    /// Whether an unfinished statement is waiting for more lines.
    pub fn in_statement(&self) -> bool {
        self.start.is_some()
    }

    /// Forgets an unfinished statement (Ctrl-C at a continuation prompt).
    pub fn clear(&mut self) {
        self.pending.clear();
        self.start = None;
        self.state = Lexical::Code;
        if self.restart_numbering {
            self.next_line = 1;
        }
    }

    /// Reads one line (without its line ending) and returns the items it completes.
    pub fn push_line(&mut self, line: &str) -> Vec<Item> {
        let line_number = self.next_line;
        self.next_line += 1;
        if !self.in_statement() && self.state == Lexical::Code {
            let trimmed = line.trim();
            if trimmed.starts_with('.') {
                self.finish_line();
                return vec![Item::DotCommand(trimmed.to_string())];
            }
        }
        if self.pending.is_empty() {
            self.first_line = line_number;
        }
        self.pending.push(line.to_string());
        let mut row = self.pending.len() - 1;
        let mut items = Vec::new();
        let mut chars = line.char_indices().peekable();
        while let Some((offset, c)) = chars.next() {
            let next = chars.peek().map(|&(_, n)| n);
            match self.state {
                Lexical::Code => match c {
                    '\'' | '"' | '`' => {
                        self.mark_start(row, offset);
                        self.state = Lexical::Quoted(c);
                    }
                    '-' if next == Some('-') => {
                        chars.next();
                        self.state = Lexical::LineComment;
                    }
                    '/' if next == Some('*') => {
                        chars.next();
                        self.state = Lexical::BlockComment(1);
                    }
                    ';' => {
                        if let Some(statement) = self.take_statement(row, offset) {
                            items.push(Item::Statement(statement));
                            if self.restart_numbering {
                                // The rest of this line belongs to the next statement, which
                                // is numbered from line 1.
                                self.pending.drain(..row);
                                row = 0;
                                self.first_line = 1;
                                self.next_line = 2;
                            }
                        }
                    }
                    c if c.is_whitespace() => {}
                    _ => self.mark_start(row, offset),
                },
                Lexical::Quoted(quote) => {
                    if c == quote {
                        if next == Some(quote) {
                            chars.next(); // a doubled quote stands for itself
                        } else {
                            self.state = Lexical::Code;
                        }
                    }
                }
                Lexical::LineComment => {}
                Lexical::BlockComment(depth) => {
                    if c == '*' && next == Some('/') {
                        chars.next();
                        self.state = match depth {
                            1 => Lexical::Code,
                            d => Lexical::BlockComment(d - 1),
                        };
                    } else if c == '/' && next == Some('*') {
                        chars.next();
                        self.state = Lexical::BlockComment(depth + 1);
                    }
                }
            }
        }
        if self.state == Lexical::LineComment {
            self.state = Lexical::Code;
        }
        if !self.in_statement() && self.state == Lexical::Code {
            self.finish_line();
        }
        items
    }

    /// Ends the input: an unfinished statement without its `;` is run as it is (as `-c "SELECT
    /// 1"` expects).
    pub fn finish(&mut self) -> Option<Item> {
        let statement = self.start.map(|_| {
            let row = self.pending.len() - 1;
            let end = self.pending[row].len();
            self.statement_until(row, end)
        });
        self.clear();
        statement.map(Item::Statement)
    }

    /// Records that a statement begins here unless one already has.
    fn mark_start(&mut self, row: usize, offset: usize) {
        if self.start.is_none() {
            self.start = Some((row, offset));
        }
    }

    /// The statement ending at the `;` at (`row`, `offset`), if there was one (`;;` has none).
    fn take_statement(&mut self, row: usize, offset: usize) -> Option<Statement> {
        self.start?;
        let statement = self.statement_until(row, offset);
        self.start = None;
        Some(statement)
    }

    /// The text from the statement's start up to (`row`, `end`).
    fn statement_until(&self, row: usize, end: usize) -> Statement {
        let (start_row, start_offset) = self.start.unwrap_or((row, end));
        let mut text = String::new();
        for (r, line) in self
            .pending
            .iter()
            .enumerate()
            .take(row + 1)
            .skip(start_row)
        {
            let from = if r == start_row { start_offset } else { 0 };
            let to = if r == row { end } else { line.len() };
            text.push_str(&line[from..to.max(from)]);
            if r != row {
                text.push('\n');
            }
        }
        let first = &self.pending[start_row];
        Statement {
            text: text.trim_end().to_string(),
            line: self.first_line + start_row,
            column: first[..start_offset].chars().count() + 1,
            source_lines: self.pending[start_row..=row].to_vec(),
        }
    }

    /// Drops the lines no statement needs any more.
    fn finish_line(&mut self) {
        self.pending.clear();
        if self.restart_numbering {
            self.next_line = 1;
        }
    }
}

impl Default for ScriptReader {
    fn default() -> Self {
        ScriptReader::new()
    }
}

/// Every item of `text`, the last statement without its `;` included.
pub fn split_script(text: &str) -> Vec<Item> {
    let mut reader = ScriptReader::new();
    let mut items: Vec<Item> = text.lines().flat_map(|l| reader.push_line(l)).collect();
    items.extend(reader.finish());
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(script: &str) -> Vec<String> {
        split_script(script)
            .into_iter()
            .map(|item| match item {
                Item::Statement(s) => s.text,
                Item::DotCommand(c) => c,
            })
            .collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let script =
            "SELECT 'a;b', \"x;y\" FROM t; -- c;d\nSELECT 2 /* e; /* f; */ g; */ ;SELECT `h;`";
        assert_eq!(
            texts(script),
            vec![
                "SELECT 'a;b', \"x;y\" FROM t",
                "SELECT 2 /* e; /* f; */ g; */",
                "SELECT `h;`"
            ]
        );
    }

    #[test]
    fn doubled_quotes_stay_inside_the_string() {
        assert_eq!(
            texts("SELECT 'it''s; fine'; SELECT 1"),
            vec!["SELECT 'it''s; fine'", "SELECT 1"]
        );
    }

    #[test]
    fn empty_statements_and_trailing_comments_yield_nothing() {
        assert_eq!(
            texts(";;  ; -- only a comment\n/* and; this */"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn statements_span_lines_and_remember_where_they_start() {
        let items = split_script("SELECT 1;\n\n  SELECT a,\n    b FROM t;  SELECT 3");
        let Item::Statement(second) = &items[1] else {
            panic!("{items:?}")
        };
        assert_eq!(second.text, "SELECT a,\n    b FROM t");
        assert_eq!((second.line, second.column), (3, 3));
        assert_eq!(second.source_line(4), Some("    b FROM t;  SELECT 3"));
        assert_eq!(second.padded_sql(), "\n\n  SELECT a,\n    b FROM t");
        let Item::Statement(third) = &items[2] else {
            panic!("{items:?}")
        };
        assert_eq!((third.line, third.column), (4, 16));
    }

    #[test]
    fn dot_commands_only_between_statements() {
        let items = split_script(".tables\nSELECT\n.5;\n  .mode csv\n");
        assert_eq!(items.len(), 3, "{items:?}");
        assert_eq!(items[0], Item::DotCommand(".tables".into()));
        assert!(matches!(&items[1], Item::Statement(s) if s.text == "SELECT\n.5"));
        assert_eq!(items[2], Item::DotCommand(".mode csv".into()));
    }

    #[test]
    fn interactive_numbering_restarts_per_statement() {
        let mut reader = ScriptReader::interactive();
        assert!(reader.push_line("SELECT 1;").len() == 1);
        assert!(reader.push_line("SELECT").is_empty());
        assert!(reader.in_statement());
        let items = reader.push_line("  x; SELECT 2;");
        let [Item::Statement(a), Item::Statement(b)] = items.as_slice() else {
            panic!("{items:?}")
        };
        assert_eq!((a.line, a.column), (1, 1));
        assert_eq!(a.source_line(2), Some("  x; SELECT 2;"));
        assert_eq!((b.line, b.column), (1, 6));
        assert!(!reader.in_statement());
    }

    #[test]
    fn an_unfinished_statement_runs_at_the_end() {
        let mut reader = ScriptReader::new();
        assert!(reader.push_line("SELECT 'open").is_empty());
        assert!(reader.push_line("string'").is_empty());
        let Some(Item::Statement(s)) = reader.finish() else {
            panic!()
        };
        assert_eq!(s.text, "SELECT 'open\nstring'");
    }

    #[test]
    fn keyword_is_the_first_word() {
        let items = split_script("  explain SELECT 1");
        let Item::Statement(s) = &items[0] else {
            panic!()
        };
        assert_eq!(s.keyword(), "EXPLAIN");
    }
}

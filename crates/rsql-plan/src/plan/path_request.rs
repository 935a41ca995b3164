//! What a file-backed `FROM` item asks the catalog for: the paths and how to read them.

use arrow_schema::SchemaRef;

/// The format files are read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormatName {
    /// Apache Parquet.
    Parquet,
    /// Newline-delimited JSON.
    Json,
    /// Delimiter-separated values.
    Csv,
}

impl FileFormatName {
    /// The format a name such as `parquet`, `json` or `csv` stands for (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_lowercase().as_str() {
            "parquet" => Some(FileFormatName::Parquet),
            "json" => Some(FileFormatName::Json),
            "csv" => Some(FileFormatName::Csv),
            _ => None,
        }
    }
}

/// What a text reader does with a malformed record, as Spark's `mode` option names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadModeName {
    /// A row of nulls, keeping the record's text in `_corrupt_record` when that column exists.
    Permissive,
    /// Skip the record.
    DropMalformed,
    /// Fail the read, naming the file and line.
    FailFast,
}

impl ReadModeName {
    /// The names, as Spark spells them.
    pub const NAMES: [(&'static str, ReadModeName); 3] = [
        ("PERMISSIVE", ReadModeName::Permissive),
        ("DROPMALFORMED", ReadModeName::DropMalformed),
        ("FAILFAST", ReadModeName::FailFast),
    ];

    /// The mode `name` stands for (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|&(_, mode)| mode)
    }
}

/// CSV dialect settings; `None` keeps the reader's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvDialect {
    /// Whether the first line names the columns.
    pub header: Option<bool>,
    /// The field delimiter.
    pub delimiter: Option<u8>,
    /// The quote character.
    pub quote: Option<u8>,
    /// The character escaping a quote inside a quoted field.
    pub escape: Option<u8>,
    /// A field equal to this string is null.
    pub null_string: Option<String>,
}

/// A table over files: `FROM 'path'`, `FROM csv.\`path\`` or a table function such as
/// `read_csv('dir/*.csv', delim => '|')`.
#[derive(Debug, Clone, PartialEq)]
pub struct PathRequest {
    /// One or more paths, directories or glob patterns, read as one table.
    pub paths: Vec<String>,
    /// The format; `None` goes by the first path's extension.
    pub format: Option<FileFormatName>,
    /// An explicit schema instead of an inferred one.
    pub schema: Option<SchemaRef>,
    /// Whether `key=value` directories become partition columns.
    pub hive_partitioning: bool,
    /// How many records schema inference looks at; `None` keeps the reader's default.
    pub sample_rows: Option<usize>,
    /// What a malformed record does (JSON and CSV); `None` keeps the reader's default.
    pub mode: Option<ReadModeName>,
    /// The CSV dialect (ignored for other formats).
    pub csv: CsvDialect,
}

impl PathRequest {
    /// A request for one path in `format` (`None`: by extension), with default options.
    pub fn new(path: impl Into<String>, format: Option<FileFormatName>) -> Self {
        PathRequest {
            paths: vec![path.into()],
            format,
            schema: None,
            hive_partitioning: true,
            sample_rows: None,
            mode: None,
            csv: CsvDialect::default(),
        }
    }

    /// The first path (every request has one), which names the table.
    pub fn first_path(&self) -> &str {
        self.paths.first().map_or("", String::as_str)
    }
}

//! Table functions in `FROM`, as DuckDB spells them: `read_parquet`, `read_csv`
//! (`read_csv_auto`), `read_json` (`read_ndjson`, `read_json_auto`, `read_ndjson_auto`) over
//! paths, globs or lists of them, and `range` / `generate_series`.
//!
//! Options are named arguments (`header => true`, `header := true`, or `header = true`); their
//! values are constant expressions.

use std::sync::Arc;

use arrow_schema::{Field, Schema, SchemaRef};
use datafusion_common::{DFSchema, ScalarValue};
use sqlparser::ast::{self, Spanned};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

use super::SqlBinder;
use super::expr::{Scope, sql_text};
use super::types::arrow_type;
use crate::error::{PlanError, Result};
use crate::expr::Expr;
use crate::optimizer::fold_expr;
use crate::plan::{
    FileFormatName, IntegerRange, LogicalPlan, PathRequest, RangeSource, ReadModeName,
    TableSourceRef,
};
use crate::suggest;

/// What a table function reads or generates.
#[derive(Debug, Clone, Copy)]
enum TableFunction {
    /// Files of one format.
    Files(FileFormatName),
    /// Evenly spaced integers; `generate_series` includes its stop value, `range` does not.
    Range { inclusive: bool },
}

const TABLE_FUNCTIONS: &[(&str, TableFunction)] = &[
    (
        "read_parquet",
        TableFunction::Files(FileFormatName::Parquet),
    ),
    (
        "parquet_scan",
        TableFunction::Files(FileFormatName::Parquet),
    ),
    ("read_csv", TableFunction::Files(FileFormatName::Csv)),
    ("read_csv_auto", TableFunction::Files(FileFormatName::Csv)),
    ("read_json", TableFunction::Files(FileFormatName::Json)),
    ("read_json_auto", TableFunction::Files(FileFormatName::Json)),
    ("read_ndjson", TableFunction::Files(FileFormatName::Json)),
    (
        "read_ndjson_auto",
        TableFunction::Files(FileFormatName::Json),
    ),
    ("range", TableFunction::Range { inclusive: false }),
    ("generate_series", TableFunction::Range { inclusive: true }),
];

/// A named option of the file-reading functions.
#[derive(Debug, Clone, Copy)]
enum FileOption {
    AutoDetect,
    Columns,
    Delimiter,
    Escape,
    Header,
    HivePartitioning,
    IgnoreErrors,
    Mode,
    NullString,
    Quote,
    SampleSize,
}

use FileFormatName::{Csv, Json, Parquet};

/// Each option's DuckDB name and the formats that take it, sorted by name.
const FILE_OPTIONS: &[(&str, FileOption, &[FileFormatName])] = &[
    ("auto_detect", FileOption::AutoDetect, &[Csv]),
    ("columns", FileOption::Columns, &[Csv, Json]),
    ("delim", FileOption::Delimiter, &[Csv]),
    ("delimiter", FileOption::Delimiter, &[Csv]),
    ("escape", FileOption::Escape, &[Csv]),
    ("header", FileOption::Header, &[Csv]),
    (
        "hive_partitioning",
        FileOption::HivePartitioning,
        &[Parquet, Csv, Json],
    ),
    ("ignore_errors", FileOption::IgnoreErrors, &[Json]),
    ("mode", FileOption::Mode, &[Csv, Json]),
    ("nullstr", FileOption::NullString, &[Csv]),
    ("quote", FileOption::Quote, &[Csv]),
    ("sample_size", FileOption::SampleSize, &[Csv, Json]),
    ("sep", FileOption::Delimiter, &[Csv]),
];

/// The arguments of a call: positional ones, then `name => value` options.
struct Arguments<'a> {
    positional: Vec<&'a ast::Expr>,
    named: Vec<(&'a ast::Ident, &'a ast::Expr)>,
}

impl<'a> Arguments<'a> {
    /// Splits `args`; `name = value` counts as an option, as in DuckDB, when `equals_names`.
    fn split(function: &str, args: &'a [ast::FunctionArg], equals_names: bool) -> Result<Self> {
        let mut arguments = Arguments {
            positional: Vec::new(),
            named: Vec::new(),
        };
        for arg in args {
            match arg {
                ast::FunctionArg::Named {
                    name,
                    arg: ast::FunctionArgExpr::Expr(value),
                    ..
                } => arguments.named.push((name, value)),
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(value)) => {
                    match equals_option(value).filter(|_| equals_names) {
                        Some(option) => arguments.named.push(option),
                        None => arguments.positional.push(value),
                    }
                }
                other => {
                    return Err(PlanError::not_supported(format!(
                        "the argument {} of {function}",
                        sql_text(other)
                    ))
                    .or_at(other.span()));
                }
            }
        }
        Ok(arguments)
    }
}

/// `name = value` as an option, the way DuckDB reads it in a table function's arguments.
fn equals_option(expr: &ast::Expr) -> Option<(&ast::Ident, &ast::Expr)> {
    match expr {
        ast::Expr::BinaryOp {
            left,
            op: ast::BinaryOperator::Eq,
            right,
        } => match left.as_ref() {
            ast::Expr::Identifier(name) => Some((name, right)),
            _ => None,
        },
        _ => None,
    }
}

/// The integer a scalar holds, if it is of an integer type and not null.
fn integer(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::Int8(v) => v.map(i64::from),
        ScalarValue::Int16(v) => v.map(i64::from),
        ScalarValue::Int32(v) => v.map(i64::from),
        ScalarValue::Int64(v) => *v,
        ScalarValue::UInt8(v) => v.map(i64::from),
        ScalarValue::UInt16(v) => v.map(i64::from),
        ScalarValue::UInt32(v) => v.map(i64::from),
        ScalarValue::UInt64(v) => v.and_then(|v| i64::try_from(v).ok()),
        _ => None,
    }
}

/// The string a scalar holds, if it is a non-null string.
fn string(value: &ScalarValue) -> Option<&str> {
    match value {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) => Some(s),
        ScalarValue::Utf8View(Some(s)) => Some(s),
        _ => None,
    }
}

impl SqlBinder<'_> {
    /// `FROM name(args)`: a scan of the table the function stands for, named after it.
    pub(super) fn bind_table_function(
        &self,
        name: &ast::ObjectName,
        args: &ast::TableFunctionArgs,
    ) -> Result<LogicalPlan> {
        let written = name.to_string();
        let function = written.to_lowercase();
        let Some(&(_, kind)) = TABLE_FUNCTIONS.iter().find(|(n, _)| *n == function) else {
            return Err(PlanError::UnknownFunction {
                suggestions: suggest::closest(&function, TABLE_FUNCTIONS.iter().map(|(n, _)| *n)),
                name: written,
                position: None,
            }
            .or_at(name.span()));
        };
        if let Some(settings) = &args.settings {
            return Err(PlanError::not_supported(format!(
                "SETTINGS in the table function {function}"
            ))
            .or_at(settings.first().map_or(name.span(), |s| s.key.span)));
        }
        let source = self
            .table_function_source(&function, kind, &args.args)
            .map_err(|e| e.or_at(name.span()))?;
        self.scan(&function, source)
    }

    fn table_function_source(
        &self,
        function: &str,
        kind: TableFunction,
        args: &[ast::FunctionArg],
    ) -> Result<TableSourceRef> {
        Ok(match kind {
            TableFunction::Files(format) => {
                let arguments = Arguments::split(function, args, true)?;
                let request = self.path_request(function, format, &arguments)?;
                self.catalog.resolve_path(&request)?
            }
            TableFunction::Range { inclusive } => {
                let arguments = Arguments::split(function, args, false)?;
                let range = self.integer_range(function, inclusive, &arguments)?;
                Arc::new(RangeSource::new(range, function))
            }
        })
    }

    /// The value of a constant expression such as `'a.csv'`, `true` or `-1`.
    fn constant(&self, expr: &ast::Expr, what: &str) -> Result<ScalarValue> {
        let empty = DFSchema::empty();
        let bound = self
            .bind_expr(expr, &Scope::plain(&empty))
            .map_err(|e| e.or_at(expr.span()))?;
        match fold_expr(bound, &self.time_zone)?.data {
            Expr::Literal(value) => Ok(value),
            _ => Err(PlanError::invalid(format!(
                "{what} must be a constant, got {}",
                sql_text(expr)
            ))
            .or_at(expr.span())),
        }
    }

    /// A constant of the kind `extract` accepts, else an error saying `what` wants `kind`.
    fn typed_constant<T>(
        &self,
        expr: &ast::Expr,
        what: &str,
        kind: &str,
        extract: impl FnOnce(&ScalarValue) -> Option<T>,
    ) -> Result<T> {
        let value = self.constant(expr, what)?;
        extract(&value).ok_or_else(|| {
            PlanError::type_mismatch(format!("{what} takes {kind}, got {}", sql_text(expr)))
                .or_at(expr.span())
        })
    }

    fn bool_constant(&self, expr: &ast::Expr, what: &str) -> Result<bool> {
        self.typed_constant(expr, what, "a boolean", |v| match v {
            ScalarValue::Boolean(b) => *b,
            _ => None,
        })
    }

    fn string_constant(&self, expr: &ast::Expr, what: &str) -> Result<String> {
        self.typed_constant(expr, what, "a string", |v| string(v).map(str::to_string))
    }

    /// A one-character (ASCII) string, such as a delimiter.
    fn char_constant(&self, expr: &ast::Expr, what: &str) -> Result<u8> {
        self.typed_constant(expr, what, "a one-character string", |v| match string(v) {
            Some(s) if s.len() == 1 => s.bytes().next(),
            _ => None,
        })
    }

    /// The paths argument: a string, or a non-empty list of strings.
    fn paths(&self, function: &str, expr: &ast::Expr) -> Result<Vec<String>> {
        let what = format!("the path of {function}");
        match expr {
            ast::Expr::Array(ast::Array { elem, .. }) if !elem.is_empty() => elem
                .iter()
                .map(|e| self.string_constant(e, &what))
                .collect(),
            ast::Expr::Array(_) => Err(PlanError::invalid(format!(
                "{function} needs at least one path"
            ))
            .or_at(expr.span())),
            other => Ok(vec![self.string_constant(other, &what)?]),
        }
    }

    /// What a file-reading call asks the catalog for.
    fn path_request(
        &self,
        function: &str,
        format: FileFormatName,
        arguments: &Arguments<'_>,
    ) -> Result<PathRequest> {
        let [path] = arguments.positional.as_slice() else {
            return Err(PlanError::ArgumentCount {
                function: function.to_string(),
                expected: "1 positional argument (a path, a glob or a list of them)".into(),
                got: arguments.positional.len(),
                position: None,
            });
        };
        let mut request = PathRequest::new("", Some(format));
        request.paths = self.paths(function, path)?;
        let mut auto_detect = true;
        for &(name, value) in &arguments.named {
            let option = name.value.to_lowercase();
            let known = FILE_OPTIONS
                .iter()
                .find(|(n, _, formats)| *n == option && formats.contains(&format));
            let Some(&(_, option, _)) = known else {
                let valid: Vec<&str> = FILE_OPTIONS
                    .iter()
                    .filter(|(_, _, formats)| formats.contains(&format))
                    .map(|(n, _, _)| *n)
                    .collect();
                return Err(PlanError::invalid(format!(
                    "{function} has no option '{}'; valid options are {}",
                    name.value,
                    valid.join(", ")
                ))
                .or_at(name.span));
            };
            let what = format!("the option {} of {function}", name.value);
            match option {
                FileOption::AutoDetect => auto_detect = self.bool_constant(value, &what)?,
                FileOption::Columns => request.schema = Some(self.columns(value, &what)?),
                FileOption::Delimiter => {
                    request.csv.delimiter = Some(self.char_constant(value, &what)?);
                }
                FileOption::Escape => request.csv.escape = Some(self.char_constant(value, &what)?),
                FileOption::Header => request.csv.header = Some(self.bool_constant(value, &what)?),
                FileOption::HivePartitioning => {
                    request.hive_partitioning = self.bool_constant(value, &what)?;
                }
                FileOption::IgnoreErrors => {
                    // DuckDB's spelling: nulls for a malformed record, or an error.
                    request.mode = Some(if self.bool_constant(value, &what)? {
                        ReadModeName::Permissive
                    } else {
                        ReadModeName::FailFast
                    });
                }
                FileOption::Mode => request.mode = Some(self.read_mode(value, &what)?),
                FileOption::NullString => {
                    request.csv.null_string = Some(self.string_constant(value, &what)?);
                }
                FileOption::Quote => request.csv.quote = Some(self.char_constant(value, &what)?),
                FileOption::SampleSize => {
                    request.sample_rows = Some(self.sample_size(value, &what)?);
                }
            }
        }
        if !auto_detect && request.schema.is_none() {
            return Err(PlanError::invalid(format!(
                "{function} with auto_detect => false needs the columns option, e.g. \
                 columns => {{'a': 'INTEGER'}}"
            )));
        }
        Ok(request)
    }

    /// `mode => 'PERMISSIVE' | 'DROPMALFORMED' | 'FAILFAST'`.
    fn read_mode(&self, expr: &ast::Expr, what: &str) -> Result<ReadModeName> {
        let name = self.string_constant(expr, what)?;
        ReadModeName::from_name(&name).ok_or_else(|| {
            let names: Vec<&str> = ReadModeName::NAMES.iter().map(|(n, _)| *n).collect();
            PlanError::invalid(format!(
                "{what} is one of {}, got '{name}'",
                names.join(", ")
            ))
            .or_at(expr.span())
        })
    }

    /// `sample_size => n`: how many records schema inference reads; -1 reads them all.
    fn sample_size(&self, expr: &ast::Expr, what: &str) -> Result<usize> {
        self.typed_constant(expr, what, "a positive integer or -1", |v| {
            match integer(v)? {
                -1 => Some(usize::MAX),
                n if n > 0 => usize::try_from(n).ok(),
                _ => None,
            }
        })
    }

    /// `columns => {'name': 'TYPE', ...}`: an explicit schema, in the order written.
    fn columns(&self, expr: &ast::Expr, what: &str) -> Result<SchemaRef> {
        let ast::Expr::Dictionary(entries) = expr else {
            return Err(PlanError::type_mismatch(format!(
                "{what} takes a struct of column names to type names such as \
                 {{'a': 'INTEGER'}}, got {}",
                sql_text(expr)
            ))
            .or_at(expr.span()));
        };
        let fields = entries
            .iter()
            .map(|entry| {
                let type_name = self.string_constant(&entry.value, what)?;
                let sql_type = Parser::new(&GenericDialect {})
                    .try_with_sql(&type_name)
                    .and_then(|mut parser| parser.parse_data_type())
                    .map_err(|e| {
                        PlanError::invalid(format!("unknown type '{type_name}' in {what}: {e}"))
                            .or_at(entry.value.span())
                    })?;
                let data_type = arrow_type(&sql_type).map_err(|e| e.or_at(entry.value.span()))?;
                Ok(Field::new(entry.key.value.as_str(), data_type, true))
            })
            .collect::<Result<Vec<_>>>()?;
        if fields.is_empty() {
            return Err(PlanError::invalid(format!("{what} names no column")).or_at(expr.span()));
        }
        Ok(Arc::new(Schema::new(fields)))
    }

    /// `range(stop)`, `range(start, stop)` or `range(start, stop, step)`; a NULL bound makes
    /// the range empty, as in DuckDB.
    fn integer_range(
        &self,
        function: &str,
        inclusive: bool,
        arguments: &Arguments<'_>,
    ) -> Result<IntegerRange> {
        if let Some((name, _)) = arguments.named.first() {
            return Err(
                PlanError::invalid(format!("{function} takes no named arguments")).or_at(name.span),
            );
        }
        let mut values = Vec::with_capacity(arguments.positional.len());
        for expr in &arguments.positional {
            let what = format!("an argument of {function}");
            let value = self.constant(expr, &what)?;
            if value.is_null() {
                return IntegerRange::new(0, 0, 1, false);
            }
            let Some(n) = integer(&value) else {
                return Err(PlanError::type_mismatch(format!(
                    "{what} must be an integer (BIGINT), got {} of type {}",
                    sql_text(expr),
                    value.data_type()
                ))
                .or_at(expr.span()));
            };
            values.push(n);
        }
        let (start, stop, step) = match values.as_slice() {
            [stop] => (0, *stop, 1),
            [start, stop] => (*start, *stop, 1),
            [start, stop, step] => (*start, *stop, *step),
            _ => {
                return Err(PlanError::ArgumentCount {
                    function: function.to_string(),
                    expected: "1 to 3 arguments (stop; start, stop; or start, stop, step)".into(),
                    got: values.len(),
                    position: None,
                });
            }
        };
        // A zero step is the only bad value: point at it.
        let step_span = arguments.positional.last().map(|e| e.span());
        IntegerRange::new(start, stop, step, inclusive).map_err(|e| match step_span {
            Some(span) => e.or_at(span),
            None => e,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use arrow_schema::DataType;

    use super::*;
    use crate::function::FunctionRegistry;
    use crate::plan::{Catalog, CsvDialect, SchemaSource, Statement, TableSource};

    /// Answers every path with a one-column table, remembering the last request.
    #[derive(Default)]
    struct RecordingCatalog {
        request: RefCell<Option<PathRequest>>,
    }

    impl Catalog for RecordingCatalog {
        fn table(&self, _: &str) -> Option<Arc<dyn TableSource>> {
            None
        }

        fn resolve_path(&self, request: &PathRequest) -> Result<Arc<dyn TableSource>> {
            *self.request.borrow_mut() = Some(request.clone());
            let schema = Schema::new(vec![Field::new("x", DataType::Int64, true)]);
            Ok(Arc::new(SchemaSource::new(Arc::new(schema), vec![])))
        }
    }

    fn bind(catalog: &RecordingCatalog, sql: &str) -> Result<LogicalPlan> {
        match SqlBinder::new(catalog, &FunctionRegistry::new()).bind_sql(sql)? {
            Statement::Query(plan) => Ok(plan),
            other => panic!("{sql}: {other:?}"),
        }
    }

    fn request(sql: &str) -> PathRequest {
        let catalog = RecordingCatalog::default();
        bind(&catalog, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        catalog.request.take().expect("a path request")
    }

    fn error(sql: &str) -> String {
        match bind(&RecordingCatalog::default(), sql) {
            Ok(plan) => panic!("{sql} should fail, bound {plan:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn csv_options_fill_the_request() {
        let got = request(
            "SELECT * FROM read_csv('a.csv', delim => '|', quote := '''', escape => '\\', \
             nullstr => 'NA', header = false, sample_size => -1, hive_partitioning => false, \
             columns => {'a': 'INTEGER', 'b': 'VARCHAR'})",
        );
        let mut expected = PathRequest::new("a.csv", Some(FileFormatName::Csv));
        expected.csv = CsvDialect {
            header: Some(false),
            delimiter: Some(b'|'),
            quote: Some(b'\''),
            escape: Some(b'\\'),
            null_string: Some("NA".into()),
        };
        expected.sample_rows = Some(usize::MAX);
        expected.hive_partitioning = false;
        expected.schema = Some(Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int32, true),
            Field::new("b", DataType::Utf8, true),
        ])));
        assert_eq!(got, expected);
    }

    #[test]
    fn a_list_of_paths_and_json_options() {
        let got = request(
            "SELECT * FROM read_ndjson(['a/*.json', 'b/**/*.json'], ignore_errors => true, \
             sample_size => 10)",
        );
        let mut expected = PathRequest::new("a/*.json", Some(FileFormatName::Json));
        expected.paths.push("b/**/*.json".into());
        expected.mode = Some(ReadModeName::Permissive);
        expected.sample_rows = Some(10);
        assert_eq!(got, expected);
    }

    #[test]
    fn the_scan_is_named_after_the_function_unless_aliased() {
        let catalog = RecordingCatalog::default();
        bind(&catalog, "SELECT read_parquet.x FROM read_parquet('d/')").unwrap();
        bind(&catalog, "SELECT t.y FROM READ_PARQUET('d/') AS t(y)").unwrap();
        let message = bind(&catalog, "SELECT read_parquet.x FROM read_parquet('d/') t")
            .unwrap_err()
            .to_string();
        assert!(message.contains("read_parquet.x"), "{message}");
    }

    #[test]
    fn bad_options_are_named_with_their_position() {
        assert_eq!(
            error("SELECT * FROM read_parquet('d', header => true)"),
            "read_parquet has no option 'header'; valid options are hive_partitioning at 1:33"
        );
        assert_eq!(
            error("SELECT * FROM read_json('d', header => 1)"),
            "read_json has no option 'header'; valid options are columns, hive_partitioning, \
             ignore_errors, mode, sample_size at 1:30"
        );
        assert_eq!(
            error("SELECT * FROM read_csv('d', header => 'yes')"),
            "type mismatch at 1:39: the option header of read_csv takes a boolean, got 'yes'"
        );
        assert!(error("SELECT * FROM read_csv('d', sample_size => 0)").contains("-1"));
        assert!(error("SELECT * FROM read_csv('d', columns => 'a INT')").contains("{'a'"));
        assert!(error("SELECT * FROM read_csv(x)").contains("unknown column 'x'"));
        assert!(error("SELECT * FROM read_csv([])").contains("at least one path"));
        assert!(error("SELECT * FROM read_csv()").contains("expects 1 positional argument"));
    }

    #[test]
    fn ranges_bind_to_a_bigint_column_named_after_the_function() {
        let catalog = RecordingCatalog::default();
        let plan = bind(&catalog, "SELECT * FROM generate_series(1, 10 - 1, 2)").unwrap();
        let field = plan.schema().field(0);
        assert_eq!(
            (field.name().as_str(), field.data_type()),
            ("generate_series", &DataType::Int64)
        );
        let plan = bind(&catalog, "SELECT n FROM range(-5) AS r(n)").unwrap();
        assert_eq!(plan.schema().field(0).name(), "n");
        assert!(error("SELECT * FROM range(1, 2, 0)").contains("cannot be 0 at 1:27"));
        assert!(error("SELECT * FROM range('a')").contains("must be an integer"));
        assert!(error("SELECT * FROM range(stop => 3)").contains("takes no named arguments"));
        let message = error("SELECT * FROM range()");
        assert!(message.contains("expects 1 to 3 arguments"), "{message}");
    }
}

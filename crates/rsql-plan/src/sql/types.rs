//! SQL type names (`BIGINT`, `STRING`, `TIMESTAMP`, ...) to Arrow types, as Spark reads them,
//! and back, as Spark prints them.

use arrow_schema::{DataType, Field, Fields, TimeUnit};
use sqlparser::ast::{self, ExactNumberInfo, TimezoneInfo};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use crate::error::{PlanError, Result};
use crate::function::{list_type, map_type};

/// Spark's default decimal: `DECIMAL(10, 0)`.
const DEFAULT_DECIMAL: (u8, i8) = (10, 0);

fn decimal(info: &ExactNumberInfo) -> Result<DataType> {
    let (precision, scale) = match info {
        ExactNumberInfo::None => DEFAULT_DECIMAL,
        ExactNumberInfo::Precision(p) => (u8::try_from(*p).unwrap_or(u8::MAX), 0),
        ExactNumberInfo::PrecisionAndScale(p, s) => (
            u8::try_from(*p).unwrap_or(u8::MAX),
            i8::try_from(*s).unwrap_or(i8::MAX),
        ),
    };
    if precision == 0 || precision > 38 || i16::from(scale) > i16::from(precision) {
        return Err(PlanError::invalid(format!(
            "DECIMAL({precision}, {scale}) is out of range (precision 1..=38, scale <= precision)"
        )));
    }
    Ok(DataType::Decimal128(precision, scale))
}

/// The Arrow type for a SQL type name. `TIMESTAMP` is an instant (UTC, microseconds), as Spark's
/// `TimestampType`; `TIMESTAMP_NTZ` and `TIMESTAMP WITHOUT TIME ZONE` have no zone.
pub fn arrow_type(sql_type: &ast::DataType) -> Result<DataType> {
    use ast::DataType as S;
    Ok(match sql_type {
        S::Boolean | S::Bool => DataType::Boolean,
        S::TinyInt(_) | S::Int8(_) => DataType::Int8,
        S::SmallInt(_) | S::Int2(_) | S::Int16 => DataType::Int16,
        S::Int(_) | S::Integer(_) | S::Int4(_) | S::Int32 => DataType::Int32,
        S::BigInt(_) | S::Int64 => DataType::Int64,
        S::Float(_) | S::Real | S::Float4 | S::Float32 => DataType::Float32,
        S::Double(_) | S::DoublePrecision | S::Float8 | S::Float64 => DataType::Float64,
        S::Decimal(info) | S::Numeric(info) | S::Dec(info) => decimal(info)?,
        S::String(_)
        | S::Text
        | S::Varchar(_)
        | S::Char(_)
        | S::Character(_)
        | S::CharacterVarying(_)
        | S::CharVarying(_) => DataType::Utf8,
        S::Binary(_) | S::Varbinary(_) | S::Bytea | S::Blob(_) => DataType::Binary,
        S::Date => DataType::Date32,
        S::Timestamp(_, TimezoneInfo::WithoutTimeZone) | S::TimestampNtz(_) => {
            DataType::Timestamp(TimeUnit::Microsecond, None)
        }
        S::Timestamp(_, _) => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        S::Array(
            ast::ArrayElemTypeDef::AngleBracket(item)
            | ast::ArrayElemTypeDef::SquareBracket(item, None)
            | ast::ArrayElemTypeDef::Parenthesis(item),
        ) => list_type(arrow_type(item)?),
        S::Map(key, value) => map_type(arrow_type(key)?, arrow_type(value)?),
        S::Struct(fields, _) => DataType::Struct(
            fields
                .iter()
                .enumerate()
                .map(|(i, field)| {
                    let name = field
                        .field_name
                        .as_ref()
                        .map_or_else(|| format!("col{}", i + 1), |name| name.value.clone());
                    Ok(Field::new(name, arrow_type(&field.field_type)?, true))
                })
                .collect::<Result<Fields>>()?,
        ),
        other => return Err(PlanError::not_supported(format!("the type {other}"))),
    })
}

/// The type a schema string names, as Spark's `from_json` reads it: one type
/// (`ARRAY<INT>`, `MAP<STRING, INT>`, `STRUCT<a INT>`) or a list of fields (`a INT, b STRING`),
/// which is a struct of them.
pub fn schema_type(text: &str) -> Result<DataType> {
    let invalid = |reason: String| {
        PlanError::invalid(format!(
            "the schema '{text}' is not a type or a list of fields: {reason}"
        ))
    };
    let dialect = GenericDialect {};
    let parser = || {
        Parser::new(&dialect)
            .try_with_sql(text)
            .map_err(|e| invalid(e.to_string()))
    };
    let mut one_type = parser()?;
    if let Ok(data_type) = one_type.parse_data_type()
        && one_type.peek_token().token == Token::EOF
    {
        return arrow_type(&data_type);
    }
    let mut fields = parser()?;
    let columns = fields
        .parse_comma_separated(Parser::parse_column_def)
        .map_err(|e| invalid(e.to_string()))?;
    if fields.peek_token().token != Token::EOF {
        return Err(invalid(format!("unexpected {}", fields.peek_token().token)));
    }
    let fields = columns
        .iter()
        .map(|column| {
            Ok(Field::new(
                &column.name.value,
                arrow_type(&column.data_type)?,
                true,
            ))
        })
        .collect::<Result<Fields>>()?;
    Ok(DataType::Struct(fields))
}

/// The SQL (Spark) name of an Arrow type: `bigint`, `string`, `map<string,bigint>`, ...
pub fn sql_type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Null => "void".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::UInt8 => "tinyint unsigned".into(),
        DataType::UInt16 => "smallint unsigned".into(),
        DataType::UInt32 => "int unsigned".into(),
        DataType::UInt64 => "bigint unsigned".into(),
        DataType::Float16 => "half".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => "binary".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(_, Some(_)) => "timestamp".into(),
        DataType::Timestamp(_, None) => "timestamp_ntz".into(),
        DataType::Time32(_) | DataType::Time64(_) => "time".into(),
        DataType::Duration(_) | DataType::Interval(_) => "interval".into(),
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _) => format!("array<{}>", sql_type_name(f.data_type())),
        DataType::Struct(fields) => {
            let inner: Vec<String> = fields
                .iter()
                .map(|f| format!("{}:{}", f.name(), sql_type_name(f.data_type())))
                .collect();
            format!("struct<{}>", inner.join(","))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => format!(
                "map<{},{}>",
                sql_type_name(kv[0].data_type()),
                sql_type_name(kv[1].data_type())
            ),
            other => format!("map<{other}>"),
        },
        DataType::Dictionary(_, value) => sql_type_name(value),
        DataType::RunEndEncoded(_, values) => sql_type_name(values.data_type()),
        other => other.to_string().to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::parse::parse_statement;

    fn cast_type(sql_type: &str) -> Result<DataType> {
        let statement = parse_statement(&format!("SELECT CAST(x AS {sql_type})"))?;
        let ast::Statement::Query(query) = statement else {
            return Err(PlanError::invalid("not a query"));
        };
        let ast::SetExpr::Select(select) = *query.body else {
            return Err(PlanError::invalid("not a select"));
        };
        match &select.projection[0] {
            ast::SelectItem::UnnamedExpr(ast::Expr::Cast { data_type, .. }) => {
                arrow_type(data_type)
            }
            _ => Err(PlanError::invalid("not a cast")),
        }
    }

    #[test]
    fn spark_type_names_map_to_arrow() {
        assert_eq!(cast_type("BIGINT").unwrap(), DataType::Int64);
        assert_eq!(cast_type("INT").unwrap(), DataType::Int32);
        assert_eq!(cast_type("STRING").unwrap(), DataType::Utf8);
        assert_eq!(cast_type("DOUBLE").unwrap(), DataType::Float64);
        assert_eq!(
            cast_type("DECIMAL(12, 2)").unwrap(),
            DataType::Decimal128(12, 2)
        );
        assert_eq!(
            cast_type("TIMESTAMP").unwrap(),
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(cast_type("DATE").unwrap(), DataType::Date32);
        assert!(cast_type("DECIMAL(50, 2)").is_err());
        assert!(matches!(
            cast_type("JSON").unwrap_err(),
            PlanError::NotSupported { .. }
        ));
    }

    #[test]
    fn spark_type_names() {
        let map = DataType::Map(
            std::sync::Arc::new(arrow_schema::Field::new(
                "entries",
                DataType::Struct(
                    vec![
                        arrow_schema::Field::new("key", DataType::Utf8, false),
                        arrow_schema::Field::new("value", DataType::Int64, true),
                    ]
                    .into(),
                ),
                false,
            )),
            false,
        );
        assert_eq!(sql_type_name(&map), "map<string,bigint>");
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        assert_eq!(sql_type_name(&dict), "string");
        assert_eq!(sql_type_name(&DataType::Decimal128(10, 2)), "decimal(10,2)");
    }
}

//! SQL type names (`BIGINT`, `STRING`, `TIMESTAMP`, ...) to Arrow types, as Spark reads them.

use arrow_schema::{DataType, TimeUnit};
use sqlparser::ast::{self, ExactNumberInfo, TimezoneInfo};

use crate::error::{PlanError, Result};

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
        other => return Err(PlanError::not_supported(format!("the type {other}"))),
    })
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
}

//! Values of any Arrow type as comparable, hashable byte rows (arrow's row format), and the
//! float normalisation SQL equality needs on top of Arrow's bitwise order.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float32Type, Float64Type};
use arrow::row::{Row, RowConverter, RowParser, Rows, SortField};

use crate::error::Result;

/// `array` with every `-0.0` made `0.0`: Arrow orders and hashes floats by their bits, where
/// SQL (and Spark) holds `-0.0 = 0.0`, in comparisons, grouping, `DISTINCT` and join keys. Other
/// types, and NaN, are left as they are.
pub(crate) fn normalize_zeros(array: &ArrayRef) -> ArrayRef {
    // Adding +0.0 turns -0.0 into +0.0 and keeps every other value.
    match array.data_type() {
        DataType::Float64 => Arc::new(
            array
                .as_primitive::<Float64Type>()
                .unary::<_, Float64Type>(|v| v + 0.0),
        ),
        DataType::Float32 => Arc::new(
            array
                .as_primitive::<Float32Type>()
                .unary::<_, Float32Type>(|v| v + 0.0),
        ),
        _ => Arc::clone(array),
    }
}

/// Converts columns of fixed types to byte rows and back.
pub(crate) struct RowCodec {
    converter: RowConverter,
    parser: RowParser,
}

impl RowCodec {
    /// A codec for rows made of columns of `types`.
    pub(crate) fn new(types: &[DataType]) -> Result<Self> {
        let converter = RowConverter::new(types.iter().cloned().map(SortField::new).collect())?;
        let parser = converter.parser();
        Ok(RowCodec { converter, parser })
    }

    /// The rows of `columns`.
    pub(crate) fn encode(&self, columns: &[ArrayRef]) -> Result<Rows> {
        Ok(self.converter.convert_columns(columns)?)
    }

    /// The rows of key `columns` (grouping, `DISTINCT`), floats normalised first so that
    /// `-0.0` and `0.0` are one key.
    pub(crate) fn encode_keys(&self, columns: &[ArrayRef]) -> Result<Rows> {
        let columns: Vec<ArrayRef> = columns.iter().map(normalize_zeros).collect();
        self.encode(&columns)
    }

    /// Columns from encoded rows given as bytes previously produced by this codec.
    pub(crate) fn decode<'a>(
        &'a self,
        rows: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Vec<ArrayRef>> {
        let rows: Vec<Row<'a>> = rows
            .into_iter()
            .map(|bytes| self.parser.parse(bytes))
            .collect();
        Ok(self.converter.convert_rows(rows)?)
    }

    /// Appends to `rows` (a buffer of this codec) the row encoded as `bytes` by this codec.
    pub(crate) fn push(&self, rows: &mut Rows, bytes: &[u8]) {
        rows.push(self.parser.parse(bytes));
    }

    /// An empty row buffer.
    pub(crate) fn empty_rows(&self) -> Rows {
        self.converter.empty_rows(0, 0)
    }

    /// Columns from a row buffer.
    pub(crate) fn decode_rows(&self, rows: &Rows) -> Result<Vec<ArrayRef>> {
        Ok(self.converter.convert_rows(rows)?)
    }
}

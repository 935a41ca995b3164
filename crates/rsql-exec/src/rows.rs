//! Values of any Arrow type as comparable, hashable byte rows (arrow's row format).

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;
use arrow::row::{Row, RowConverter, RowParser, Rows, SortField};

use crate::error::Result;

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

    /// An empty row buffer.
    pub(crate) fn empty_rows(&self) -> Rows {
        self.converter.empty_rows(0, 0)
    }

    /// Columns from a row buffer.
    pub(crate) fn decode_rows(&self, rows: &Rows) -> Result<Vec<ArrayRef>> {
        Ok(self.converter.convert_rows(rows)?)
    }
}

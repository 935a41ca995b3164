//! Opening the files a [`PathRequest`] names (`FROM 'dir/'`, `read_csv(..)`, ...) as a
//! [`ListingTable`]: the request's options become `rsql-io` dataset options.

use rsql_io::{CsvOptions, Dataset, DatasetOptions, FileFormat, JsonOptions, Location, ReadMode};
use rsql_plan::plan::{FileFormatName, ReadModeName};
use rsql_plan::{PathRequest, PlanError};

use crate::listing_table::ListingTable;

/// Lists and opens the files of `request` (every path, directory or glob of it, as one table).
pub fn open_path(request: &PathRequest) -> rsql_plan::Result<ListingTable> {
    let locations: Vec<Location> = request
        .paths
        .iter()
        .map(|path| Location::parse(path))
        .collect();
    let dataset =
        Dataset::open_all(&locations, dataset_options(request)).map_err(PlanError::external)?;
    Ok(ListingTable::new(dataset))
}

/// The format a path's extension names; Parquet for directories and anything else.
fn format_of_path(path: &str) -> FileFormatName {
    let lower = path.to_lowercase();
    if [".json", ".ndjson", ".jsonl"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        FileFormatName::Json
    } else if lower.ends_with(".csv") {
        FileFormatName::Csv
    } else {
        FileFormatName::Parquet
    }
}

/// The reader's mode for a request's, the default when it names none.
fn read_mode(mode: Option<ReadModeName>) -> ReadMode {
    match mode {
        None => ReadMode::default(),
        Some(ReadModeName::Permissive) => ReadMode::Permissive,
        Some(ReadModeName::DropMalformed) => ReadMode::DropMalformed,
        Some(ReadModeName::FailFast) => ReadMode::FailFast,
    }
}

fn csv_options(request: &PathRequest) -> CsvOptions {
    let dialect = &request.csv;
    let defaults = CsvOptions::default();
    CsvOptions {
        header: dialect.header.unwrap_or(defaults.header),
        delimiter: dialect.delimiter.unwrap_or(defaults.delimiter),
        quote: dialect.quote.unwrap_or(defaults.quote),
        escape: dialect.escape.or(defaults.escape),
        null_string: dialect.null_string.clone().or(defaults.null_string),
        infer_records: request.sample_rows.unwrap_or(defaults.infer_records),
        mode: read_mode(request.mode),
    }
}

fn json_options(request: &PathRequest) -> JsonOptions {
    let defaults = JsonOptions::default();
    JsonOptions {
        infer_records: request.sample_rows.unwrap_or(defaults.infer_records),
        mode: read_mode(request.mode),
    }
}

/// The dataset options a request stands for.
fn dataset_options(request: &PathRequest) -> DatasetOptions {
    let format = request
        .format
        .unwrap_or_else(|| format_of_path(request.first_path()));
    let format = match format {
        FileFormatName::Parquet => FileFormat::Parquet,
        FileFormatName::Json => FileFormat::Json(json_options(request)),
        FileFormatName::Csv => FileFormat::Csv(csv_options(request)),
    };
    let options = DatasetOptions::new(format).with_hive_partitioning(request.hive_partitioning);
    match &request.schema {
        Some(schema) => options.with_schema(schema.clone()),
        None => options,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_picks_the_format_when_none_is_given() {
        for (path, expected) in [
            ("a/b.CSV", FileFormatName::Csv),
            ("x.ndjson", FileFormatName::Json),
            ("x.jsonl", FileFormatName::Json),
            ("dir/", FileFormatName::Parquet),
            ("dir/*.parquet", FileFormatName::Parquet),
        ] {
            assert_eq!(format_of_path(path), expected, "{path}");
        }
    }

    #[test]
    fn csv_dialect_overrides_only_what_it_sets() {
        let mut request = PathRequest::new("a.csv", Some(FileFormatName::Csv));
        request.csv.delimiter = Some(b'|');
        request.csv.null_string = Some("NA".into());
        request.sample_rows = Some(7);
        request.hive_partitioning = false;
        let options = dataset_options(&request);
        let FileFormat::Csv(csv) = &options.format else {
            panic!("not csv: {:?}", options.format);
        };
        assert_eq!(
            csv,
            &CsvOptions {
                delimiter: b'|',
                null_string: Some("NA".into()),
                infer_records: 7,
                ..CsvOptions::default()
            }
        );
        assert!(!options.hive_partitioning);
    }
}

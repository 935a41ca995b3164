//! Where a dataset lives: a local path or an object in an S3 bucket.

use std::fmt;
use std::path::PathBuf;

/// A parsed dataset location.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Location {
    /// A path on the local file system (may contain glob characters).
    Local(PathBuf),
    /// An object or prefix in an S3 bucket (`s3://bucket/key`; the key may contain glob characters).
    S3 {
        /// The bucket name.
        bucket: String,
        /// The object key or prefix, without a leading slash.
        key: String,
    },
}

impl Location {
    /// Parses `s3://bucket/key` into [`Location::S3`]; anything else is a local path.
    pub fn parse(text: &str) -> Self {
        match text.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
                Location::S3 {
                    bucket: bucket.to_string(),
                    key: key.trim_matches('/').to_string(),
                }
            }
            None => Location::Local(PathBuf::from(text)),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

impl From<&str> for Location {
    fn from(text: &str) -> Self {
        Location::parse(text)
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Self {
        Location::Local(path)
    }
}

impl From<&std::path::Path> for Location {
    fn from(path: &std::path::Path) -> Self {
        Location::Local(path.to_path_buf())
    }
}

impl From<&PathBuf> for Location {
    fn from(path: &PathBuf) -> Self {
        Location::Local(path.clone())
    }
}

//! Hash functions returning lower-case hex digests: `md5`, `sha1` (`sha`) and `sha2`.

use std::fmt::Write;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::DataType;
use md5::Md5;
use sha1::Sha1;
use sha2::digest::Digest;
use sha2::{Sha224, Sha256, Sha384, Sha512};

use super::{Body, at, build_strings, integers, strings};
use crate::error::Result;

pub(super) const FUNCTIONS: &[(&[&str], Body)] =
    &[(&["md5"], md5), (&["sha1", "sha"], sha1), (&["sha2"], sha2)];

/// Appends `bytes` as lower-case hex.
fn hex(bytes: &[u8], out: &mut String) {
    for byte in bytes {
        // Writing to a `String` cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
}

/// `md5(s)`: the MD5 digest of the UTF-8 bytes of `s`.
fn md5(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let input = strings("md5", args, 0)?;
    build_strings("md5", input.len(), |row, out| {
        let Some(s) = at(&input, row) else {
            return Ok(false);
        };
        hex(&Md5::digest(s), out);
        Ok(true)
    })
}

/// `sha1(s)` (`sha(s)`): the SHA-1 digest of the UTF-8 bytes of `s`.
fn sha1(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let input = strings("sha1", args, 0)?;
    build_strings("sha1", input.len(), |row, out| {
        let Some(s) = at(&input, row) else {
            return Ok(false);
        };
        hex(&Sha1::digest(s), out);
        Ok(true)
    })
}

/// `sha2(s, bits)`: the SHA-2 digest with 224, 256 (also for 0), 384 or 512 bits; NULL for
/// other bit lengths, as in Spark.
fn sha2(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (input, bits) = (strings("sha2", args, 0)?, integers("sha2", args, 1)?);
    build_strings("sha2", input.len(), |row, out| {
        let (Some(s), Some(bits)) = (at(&input, row), at(&bits, row)) else {
            return Ok(false);
        };
        match bits {
            224 => hex(&Sha224::digest(s), out),
            0 | 256 => hex(&Sha256::digest(s), out),
            384 => hex(&Sha384::digest(s), out),
            512 => hex(&Sha512::digest(s), out),
            _ => return Ok(false),
        }
        Ok(true)
    })
}

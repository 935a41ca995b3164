//! Arrow datasets for rsql.

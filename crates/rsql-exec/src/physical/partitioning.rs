//! How an operator's output rows are spread over partitions, and what an operator needs of its
//! input's spread.

use std::fmt;

use crate::operators::SortKey;

/// Where the rows of an operator's output live.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Partitioning {
    /// Row with key columns `k` is in partition `exchange_hash(k) % n`, as an exchange places it:
    /// two inputs hash partitioned on corresponding keys with the same `n` are co-partitioned.
    Hash(Vec<usize>, usize),
    /// All rows with equal values of the columns are in one partition, but which one is not a
    /// function of the hash (a scan placing hive partition folders whole).
    KeyGrouped(Vec<usize>, usize),
    /// Partition `i` holds rows that sort before those of partition `i + 1`.
    Range(Vec<SortKey>, usize),
    /// Unknown placement over this many partitions.
    Unknown(usize),
}

impl Partitioning {
    /// One partition holding every row.
    pub const SINGLE: Partitioning = Partitioning::Unknown(1);

    /// The number of partitions.
    pub fn partition_count(&self) -> usize {
        match self {
            Partitioning::Hash(_, n)
            | Partitioning::KeyGrouped(_, n)
            | Partitioning::Range(_, n)
            | Partitioning::Unknown(n) => *n,
        }
    }

    /// Whether this placement meets `required`.
    pub fn satisfies(&self, required: &Distribution) -> bool {
        match required {
            Distribution::Any => true,
            Distribution::Single => self.partition_count() == 1,
            Distribution::Clustered(keys) => {
                self.partition_count() == 1
                    || match self {
                        Partitioning::Hash(columns, _) | Partitioning::KeyGrouped(columns, _) => {
                            within(columns, keys)
                        }
                        Partitioning::Range(..) | Partitioning::Unknown(_) => false,
                    }
            }
            Distribution::HashPartitioned(keys) => {
                matches!(self, Partitioning::Hash(columns, _) if within(columns, keys))
            }
            Distribution::Ordered(keys) => {
                self.partition_count() == 1
                    || matches!(self, Partitioning::Range(placed, _) if placed == keys)
            }
        }
    }

    /// The same placement after the columns moved: `new_index(old)` is the column's new index,
    /// `None` when it is gone (then the placement becomes unknown).
    pub fn remap(&self, new_index: impl Fn(usize) -> Option<usize>) -> Partitioning {
        let columns = |columns: &[usize]| {
            columns
                .iter()
                .map(|&c| new_index(c))
                .collect::<Option<Vec<usize>>>()
        };
        let unknown = Partitioning::Unknown(self.partition_count());
        match self {
            Partitioning::Hash(cols, n) => columns(cols).map_or(unknown, |c| Self::Hash(c, *n)),
            Partitioning::KeyGrouped(cols, n) => {
                columns(cols).map_or(unknown, |c| Self::KeyGrouped(c, *n))
            }
            Partitioning::Range(keys, n) => keys
                .iter()
                .map(|key| new_index(key.column).map(|column| SortKey { column, ..*key }))
                .collect::<Option<Vec<_>>>()
                .map_or(unknown, |keys| Self::Range(keys, *n)),
            Partitioning::Unknown(n) => Self::Unknown(*n),
        }
    }
}

impl fmt::Display for Partitioning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |columns: &[usize]| {
            columns
                .iter()
                .map(|c| format!("#{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Partitioning::Hash(columns, n) => write!(f, "hash([{}], {n})", list(columns)),
            Partitioning::KeyGrouped(columns, n) => {
                write!(f, "grouped([{}], {n})", list(columns))
            }
            Partitioning::Range(keys, n) => {
                let columns: Vec<usize> = keys.iter().map(|k| k.column).collect();
                write!(f, "range([{}], {n})", list(&columns))
            }
            Partitioning::Unknown(1) => write!(f, "single"),
            Partitioning::Unknown(n) => write!(f, "unknown({n})"),
        }
    }
}

/// Whether `columns` is a non-empty subset of `keys`.
fn within(columns: &[usize], keys: &[usize]) -> bool {
    !columns.is_empty() && columns.iter().all(|c| keys.contains(c))
}

/// What an operator requires of the placement of its input rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Distribution {
    /// Any placement will do.
    Any,
    /// Every row in one partition.
    Single,
    /// Rows with equal values of these columns in one partition.
    Clustered(Vec<usize>),
    /// Rows hash partitioned on (a subset of) these columns, as the operator's other inputs
    /// with this requirement are on their corresponding columns, with as many partitions: the
    /// sides of a partitioned join.
    HashPartitioned(Vec<usize>),
    /// Partition `i` holding rows that sort before those of partition `i + 1` by these keys.
    Ordered(Vec<SortKey>),
}

impl Distribution {
    /// Where an exchange to `partitions` partitions places rows to meet this requirement
    /// (one partition for [`Distribution::Single`]); `None` for [`Distribution::Any`].
    pub fn exchange_target(&self, partitions: usize) -> Option<Partitioning> {
        match self {
            Distribution::Any => None,
            Distribution::Single => Some(Partitioning::SINGLE),
            Distribution::Clustered(keys) | Distribution::HashPartitioned(keys) => {
                Some(Partitioning::Hash(keys.clone(), partitions))
            }
            Distribution::Ordered(keys) => Some(Partitioning::Range(keys.clone(), partitions)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_on_a_subset_of_the_keys_is_clustered() {
        let clustered = Distribution::Clustered(vec![0, 2]);
        assert!(Partitioning::Hash(vec![2], 4).satisfies(&clustered));
        assert!(Partitioning::KeyGrouped(vec![0, 2], 4).satisfies(&clustered));
        assert!(!Partitioning::Hash(vec![1], 4).satisfies(&clustered));
        assert!(!Partitioning::Hash(vec![], 4).satisfies(&clustered));
        assert!(!Partitioning::Unknown(4).satisfies(&clustered));
        assert!(Partitioning::SINGLE.satisfies(&clustered));
        assert!(Partitioning::SINGLE.satisfies(&Distribution::Single));
        assert!(!Partitioning::Hash(vec![0], 2).satisfies(&Distribution::Single));
    }

    #[test]
    fn hash_partitioned_needs_a_hash_and_ordered_needs_the_same_range() {
        let hashed = Distribution::HashPartitioned(vec![0, 1]);
        assert!(Partitioning::Hash(vec![1], 4).satisfies(&hashed));
        assert!(!Partitioning::KeyGrouped(vec![0], 4).satisfies(&hashed));
        assert!(!Partitioning::SINGLE.satisfies(&hashed));
        let key = |column| SortKey {
            column,
            descending: false,
            nulls_first: false,
        };
        let ordered = Distribution::Ordered(vec![key(0)]);
        assert!(Partitioning::Range(vec![key(0)], 4).satisfies(&ordered));
        assert!(!Partitioning::Range(vec![key(1)], 4).satisfies(&ordered));
        assert!(!Partitioning::Hash(vec![0], 4).satisfies(&ordered));
        assert!(Partitioning::SINGLE.satisfies(&ordered));
        assert_eq!(
            ordered.exchange_target(3),
            Some(Partitioning::Range(vec![key(0)], 3))
        );
        assert_eq!(Distribution::Any.exchange_target(3), None);
    }

    #[test]
    fn remapping_loses_placement_when_a_key_column_is_dropped() {
        let hash = Partitioning::Hash(vec![1, 3], 8);
        assert_eq!(
            hash.remap(|c| Some(c + 1)),
            Partitioning::Hash(vec![2, 4], 8)
        );
        assert_eq!(
            hash.remap(|c| (c == 1).then_some(0)),
            Partitioning::Unknown(8)
        );
    }
}

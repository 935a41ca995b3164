//! Every transformation and action checked against a sequential reference on random inputs,
//! including empty RDDs and empty partitions.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use common::{context, sorted};
use proptest::prelude::*;
use rsql_rdd::{HashPartitioner, Partitioner};

/// Keys from a small domain so that groups, joins and duplicates actually happen.
fn pairs() -> impl Strategy<Value = Vec<(u8, i32)>> {
    prop::collection::vec((0u8..12, -1000i32..1000), 0..60)
}

fn values() -> impl Strategy<Value = Vec<i32>> {
    prop::collection::vec(-50i32..50, 0..60)
}

/// More partitions than items happens often: empty partitions are covered.
fn partitions() -> impl Strategy<Value = usize> {
    1usize..7
}

fn group_reference(input: &[(u8, i32)]) -> BTreeMap<u8, Vec<i32>> {
    let mut groups: BTreeMap<u8, Vec<i32>> = BTreeMap::new();
    for (k, v) in input {
        groups.entry(*k).or_default().push(*v);
    }
    groups
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn narrow_transformations_keep_order(input in values(), n in partitions()) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), n);
        prop_assert_eq!(rdd.num_partitions(), n);
        prop_assert_eq!(rdd.collect().unwrap(), input.clone());
        prop_assert_eq!(rdd.map(|x| x * 3).collect().unwrap(), input.iter().map(|x| x * 3).collect::<Vec<_>>());
        prop_assert_eq!(rdd.filter(|x| x % 2 == 0).collect().unwrap(), input.iter().copied().filter(|x| x % 2 == 0).collect::<Vec<_>>());
        prop_assert_eq!(
            rdd.flat_map(|x| vec![x; (x.unsigned_abs() % 3) as usize]).collect().unwrap(),
            input.iter().flat_map(|&x| vec![x; (x.unsigned_abs() % 3) as usize]).collect::<Vec<_>>()
        );
        prop_assert_eq!(
            rdd.map_partitions(|items| Box::new(items.map(|x| x - 1))).collect().unwrap(),
            input.iter().map(|x| x - 1).collect::<Vec<_>>()
        );
        prop_assert_eq!(rdd.key_by(|x| x % 5).collect().unwrap(), input.iter().map(|&x| (x % 5, x)).collect::<Vec<_>>());
        let glommed = rdd.glom().collect().unwrap();
        prop_assert_eq!(glommed.len(), n);
        prop_assert_eq!(glommed.concat(), input.clone());
        let indexed = rdd.map_partitions_with_index(|i, items| Box::new(items.map(move |x| (i, x)))).collect().unwrap();
        let expected_indexed: Vec<(usize, i32)> = glommed.iter().enumerate().flat_map(|(i, p)| p.iter().map(move |&x| (i, x))).collect();
        prop_assert_eq!(indexed, expected_indexed);
        prop_assert_eq!(
            rdd.zip_with_index().unwrap().collect().unwrap(),
            input.iter().copied().zip(0u64..).collect::<Vec<_>>()
        );
    }

    #[test]
    fn union_cartesian_coalesce(left in values(), right in values(), n in partitions(), m in partitions()) {
        let ctx = context();
        let a = ctx.parallelize(left.clone(), n);
        let b = ctx.parallelize(right.clone(), m);
        let union = a.union(&b);
        prop_assert_eq!(union.num_partitions(), n + m);
        prop_assert_eq!(union.collect().unwrap(), [left.clone(), right.clone()].concat());
        let product = a.cartesian(&b);
        prop_assert_eq!(product.num_partitions(), n * m);
        let expected: Vec<(i32, i32)> = left.iter().flat_map(|&x| right.iter().map(move |&y| (x, y))).collect();
        prop_assert_eq!(sorted(product.collect().unwrap()), sorted(expected));
        let narrow = a.coalesce(m, false);
        prop_assert_eq!(narrow.num_partitions(), m.min(n));
        prop_assert_eq!(narrow.collect().unwrap(), left.clone());
        let shuffled = a.repartition(m);
        prop_assert_eq!(shuffled.num_partitions(), m);
        prop_assert_eq!(sorted(shuffled.collect().unwrap()), sorted(left.clone()));
        let sizes: Vec<usize> = shuffled.glom().collect().unwrap().iter().map(Vec::len).collect();
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        // Round-robin dealing: each map partition adds at most one item of imbalance.
        prop_assert!(max - min <= n, "unbalanced repartition {:?}", sizes);
    }

    #[test]
    fn set_operations(left in values(), right in values(), n in partitions(), m in partitions()) {
        let ctx = context();
        let a = ctx.parallelize(left.clone(), n);
        let b = ctx.parallelize(right.clone(), m);
        let left_set: BTreeSet<i32> = left.iter().copied().collect();
        let right_set: BTreeSet<i32> = right.iter().copied().collect();
        prop_assert_eq!(sorted(a.distinct().collect().unwrap()), left_set.iter().copied().collect::<Vec<_>>());
        prop_assert_eq!(
            sorted(a.intersection(&b).collect().unwrap()),
            left_set.intersection(&right_set).copied().collect::<Vec<_>>()
        );
        prop_assert_eq!(
            sorted(a.subtract(&b).collect().unwrap()),
            sorted(left.iter().copied().filter(|x| !right_set.contains(x)).collect())
        );
    }

    #[test]
    fn sampling(input in values(), n in partitions(), seed in any::<u64>(), fraction in 0.0f64..1.0) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), n);
        prop_assert_eq!(rdd.sample(false, 1.0, seed).unwrap().collect().unwrap(), input.clone());
        prop_assert!(rdd.sample(false, 0.0, seed).unwrap().collect().unwrap().is_empty());
        let sample = rdd.sample(false, fraction, seed).unwrap().collect().unwrap();
        prop_assert_eq!(&sample, &rdd.sample(false, fraction, seed).unwrap().collect().unwrap());
        // Without replacement the sample is a subsequence of the input.
        let mut rest = input.iter();
        prop_assert!(sample.iter().all(|x| rest.any(|y| y == x)));
        let with = rdd.sample(true, 2.0, seed).unwrap().collect().unwrap();
        let input_set: BTreeSet<i32> = input.iter().copied().collect();
        prop_assert!(with.iter().all(|x| input_set.contains(x)));
        prop_assert!(rdd.sample(false, 1.5, seed).is_err());
    }

    #[test]
    fn keyed_aggregations(input in pairs(), n in partitions()) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), n);
        let groups = group_reference(&input);
        let sums: Vec<(u8, i32)> = groups.iter().map(|(k, vs)| (*k, vs.iter().sum())).collect();
        prop_assert_eq!(sorted(rdd.reduce_by_key(|a, b| a + b).collect().unwrap()), sums.clone());
        prop_assert_eq!(sorted(rdd.fold_by_key(0, |a, b| a + b).collect().unwrap()), sums.clone());
        let counted: Vec<(u8, (i32, usize))> = groups.iter().map(|(k, vs)| (*k, (vs.iter().sum(), vs.len()))).collect();
        prop_assert_eq!(
            sorted(rdd.aggregate_by_key((0, 0usize), |(s, c), v| (s + v, c + 1), |(s1, c1), (s2, c2)| (s1 + s2, c1 + c2)).collect().unwrap()),
            counted
        );
        let grouped: Vec<(u8, Vec<i32>)> = rdd.group_by_key().collect().unwrap().into_iter().map(|(k, vs)| (k, sorted(vs))).collect();
        prop_assert_eq!(sorted(grouped), groups.iter().map(|(k, vs)| (*k, sorted(vs.clone()))).collect::<Vec<_>>());
        for map_side_combine in [true, false] {
            let maxes = rdd.combine_by_key(Arc::new(HashPartitioner::new(3)), |v| v, |c: &mut i32, v| *c = (*c).max(v), |c: &mut i32, o| *c = (*c).max(o), map_side_combine);
            prop_assert_eq!(
                sorted(maxes.collect().unwrap()),
                groups.iter().map(|(k, vs)| (*k, *vs.iter().max().unwrap())).collect::<Vec<_>>()
            );
        }
        let counts: HashMap<u8, u64> = groups.iter().map(|(k, vs)| (*k, vs.len() as u64)).collect();
        prop_assert_eq!(rdd.count_by_key().unwrap(), counts);
        prop_assert_eq!(sorted(rdd.keys().collect().unwrap()), sorted(input.iter().map(|p| p.0).collect()));
        prop_assert_eq!(rdd.values().collect().unwrap(), input.iter().map(|p| p.1).collect::<Vec<_>>());
        prop_assert_eq!(rdd.map_values(|v| v * 2).collect().unwrap(), input.iter().map(|&(k, v)| (k, v * 2)).collect::<Vec<_>>());
        prop_assert_eq!(
            rdd.flat_map_values(|v| vec![v; (v.unsigned_abs() % 3) as usize]).collect().unwrap(),
            input.iter().flat_map(|&(k, v)| vec![(k, v); (v.unsigned_abs() % 3) as usize]).collect::<Vec<_>>()
        );
    }

    #[test]
    fn partitioning_and_sorting(input in pairs(), n in partitions(), m in partitions()) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), n);
        let partitioner = Arc::new(HashPartitioner::new(m));
        let placed = rdd.partition_by(partitioner.clone());
        prop_assert_eq!(placed.num_partitions(), m);
        for (index, part) in placed.glom().collect().unwrap().into_iter().enumerate() {
            prop_assert!(part.iter().all(|(k, _)| Partitioner::<u8>::partition(partitioner.as_ref(), k) == index));
        }
        prop_assert_eq!(sorted(placed.collect().unwrap()), sorted(input.clone()));
        for ascending in [true, false] {
            let sorted_rdd = rdd.sort_by_key(ascending, m).unwrap();
            let keys: Vec<u8> = sorted_rdd.keys().collect().unwrap();
            let mut expected: Vec<u8> = input.iter().map(|p| p.0).collect();
            expected.sort();
            if !ascending {
                expected.reverse();
            }
            prop_assert_eq!(keys, expected);
            prop_assert_eq!(sorted(sorted_rdd.collect().unwrap()), sorted(input.clone()));
        }
        let by_value = rdd.sort_by(|(_, v)| *v, true, m).unwrap().collect().unwrap();
        prop_assert!(by_value.windows(2).all(|w| w[0].1 <= w[1].1));
        prop_assert_eq!(sorted(by_value), sorted(input.clone()));
    }

    #[test]
    fn joins_and_cogroup(left in pairs(), right in pairs(), n in partitions(), m in partitions()) {
        let ctx = context();
        let a = ctx.parallelize(left.clone(), n);
        let b = ctx.parallelize(right.clone(), m).map_values(|v| v as i64);
        let lg = group_reference(&left);
        let rg: BTreeMap<u8, Vec<i64>> = group_reference(&right).into_iter().map(|(k, vs)| (k, vs.into_iter().map(i64::from).collect())).collect();
        let keys: BTreeSet<u8> = lg.keys().chain(rg.keys()).copied().collect();
        let empty_l = Vec::new();
        let empty_r = Vec::new();
        let mut inner = Vec::new();
        let mut left_outer = Vec::new();
        let mut right_outer = Vec::new();
        let mut full = Vec::new();
        let mut cogrouped = Vec::new();
        for k in &keys {
            let vs = lg.get(k).unwrap_or(&empty_l);
            let ws = rg.get(k).unwrap_or(&empty_r);
            cogrouped.push((*k, (sorted(vs.clone()), sorted(ws.clone()))));
            for v in vs {
                for w in ws {
                    inner.push((*k, (*v, *w)));
                }
                if ws.is_empty() {
                    left_outer.push((*k, (*v, None)));
                }
            }
            for w in ws {
                for v in vs {
                    right_outer.push((*k, (Some(*v), *w)));
                }
                if vs.is_empty() {
                    right_outer.push((*k, (None, *w)));
                }
            }
        }
        left_outer.extend(inner.iter().map(|&(k, (v, w))| (k, (v, Some(w)))));
        full.extend(left_outer.iter().map(|&(k, (v, w))| (k, (Some(v), w))));
        full.extend(right_outer.iter().filter(|(_, (v, _))| v.is_none()).map(|&(k, (v, w))| (k, (v, Some(w)))));
        prop_assert_eq!(sorted(a.join(&b).collect().unwrap()), sorted(inner));
        prop_assert_eq!(sorted(a.left_outer_join(&b).collect().unwrap()), sorted(left_outer));
        prop_assert_eq!(sorted(a.right_outer_join(&b).collect().unwrap()), sorted(right_outer));
        prop_assert_eq!(sorted(a.full_outer_join(&b).collect().unwrap()), sorted(full));
        let cg: Vec<_> = a.cogroup(&b).collect().unwrap().into_iter().map(|(k, (vs, ws))| (k, (sorted(vs), sorted(ws)))).collect();
        prop_assert_eq!(sorted(cg), cogrouped);
        prop_assert_eq!(
            sorted(a.subtract_by_key(&b).collect().unwrap()),
            sorted(left.iter().copied().filter(|(k, _)| !rg.contains_key(k)).collect())
        );
    }

    #[test]
    fn actions(input in values(), n in partitions(), take in 0usize..70, top in 0usize..10) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), n);
        prop_assert_eq!(rdd.count().unwrap(), input.len() as u64);
        prop_assert_eq!(rdd.first().unwrap(), input.first().copied());
        prop_assert_eq!(rdd.take(take).unwrap(), input.iter().copied().take(take).collect::<Vec<_>>());
        prop_assert_eq!(rdd.reduce(|a, b| a + b).unwrap(), input.iter().copied().reduce(|a, b| a + b));
        prop_assert_eq!(rdd.fold(0, |a, b| a + b).unwrap(), input.iter().sum::<i32>());
        prop_assert_eq!(
            rdd.aggregate((0i64, 0usize), |(s, c), x| (s + i64::from(x), c + 1), |(s1, c1), (s2, c2)| (s1 + s2, c1 + c2)).unwrap(),
            (input.iter().map(|&x| i64::from(x)).sum::<i64>(), input.len())
        );
        let mut expected_top = input.clone();
        expected_top.sort_by(|a, b| b.cmp(a));
        expected_top.truncate(top);
        prop_assert_eq!(rdd.top(top).unwrap(), expected_top);
        let mut counts: HashMap<i32, u64> = HashMap::new();
        for x in &input {
            *counts.entry(*x).or_default() += 1;
        }
        prop_assert_eq!(rdd.count_by_value().unwrap(), counts);
        let sum = Arc::new(AtomicI64::new(0));
        let total = sum.clone();
        rdd.foreach(move |x| { total.fetch_add(i64::from(x), Ordering::Relaxed); }).unwrap();
        prop_assert_eq!(sum.load(Ordering::Relaxed), input.iter().map(|&x| i64::from(x)).sum::<i64>());
        let partitions_seen = Arc::new(AtomicI64::new(0));
        let seen = partitions_seen.clone();
        rdd.foreach_partition(move |_| { seen.fetch_add(1, Ordering::Relaxed); }).unwrap();
        prop_assert_eq!(partitions_seen.load(Ordering::Relaxed), n as i64);
    }

    #[test]
    fn lookup_with_and_without_partitioner(input in pairs(), n in partitions(), key in 0u8..12) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), n);
        let expected: Vec<i32> = input.iter().filter(|(k, _)| *k == key).map(|p| p.1).collect();
        prop_assert_eq!(sorted(rdd.lookup(&key).unwrap()), sorted(expected.clone()));
        let placed = rdd.partition_by(Arc::new(HashPartitioner::new(4)));
        prop_assert_eq!(sorted(placed.lookup(&key).unwrap()), sorted(expected));
    }

    #[test]
    fn range_matches_reference(start in -50i64..50, end in -50i64..50, step in prop_oneof![-7i64..0, 1i64..8], n in partitions()) {
        let ctx = context();
        let expected: Vec<i64> = if step > 0 {
            (start..end).step_by(step as usize).collect()
        } else {
            let mut v = Vec::new();
            let mut x = start;
            while x > end {
                v.push(x);
                x += step;
            }
            v
        };
        prop_assert_eq!(ctx.range(start, end, step, n).unwrap().collect().unwrap(), expected);
    }

    #[test]
    fn text_file_splits_on_line_boundaries(lines in prop::collection::vec("[a-z ]{0,30}", 0..80), crlf in any::<bool>(), min_partitions in 1usize..9) {
        let ctx = context();
        let dir = tempfile::tempdir().unwrap();
        let eol = if crlf { "\r\n" } else { "\n" };
        let (first, second) = lines.split_at(lines.len() / 2);
        let contents = [
            first.iter().map(|l| format!("{l}{eol}")).collect::<String>(),
            // The second file has no final newline.
            second.join(eol),
        ];
        std::fs::write(dir.path().join("a.txt"), &contents[0]).unwrap();
        std::fs::write(dir.path().join("b.txt"), &contents[1]).unwrap();
        std::fs::write(dir.path().join("_SUCCESS"), "ignored").unwrap();
        std::fs::write(dir.path().join(".hidden"), "ignored").unwrap();
        let rdd = ctx.text_file(dir.path(), min_partitions).unwrap();
        // Reference: the standard library's line splitting of each whole file.
        let expected: Vec<String> = contents.iter().flat_map(|c| c.lines().map(str::to_string).collect::<Vec<_>>()).collect();
        prop_assert_eq!(rdd.collect().unwrap(), expected);
    }

    #[test]
    fn save_as_text_file_round_trips(input in values(), n in partitions()) {
        let ctx = context();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        ctx.parallelize(input.clone(), n).save_as_text_file(&out).unwrap();
        prop_assert!(out.join(rsql_rdd::SUCCESS_MARKER).exists());
        let back: Vec<i32> = ctx.text_file(&out, 1).unwrap().map(|l| l.parse().unwrap()).collect().unwrap();
        prop_assert_eq!(back, input);
        // Only the committed directory is left next to the target.
        prop_assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

#[test]
fn empty_rdds_behave() {
    let ctx = context();
    let empty = ctx.parallelize(Vec::<(u8, i32)>::new(), 3);
    assert_eq!(empty.count().unwrap(), 0);
    assert_eq!(empty.first().unwrap(), None);
    assert!(empty.reduce(|a, _| a).unwrap().is_none());
    assert!(
        empty
            .reduce_by_key(|a, b| a + b)
            .collect()
            .unwrap()
            .is_empty()
    );
    assert!(
        empty
            .sort_by_key(true, 4)
            .unwrap()
            .collect()
            .unwrap()
            .is_empty()
    );
    assert!(empty.join(&empty).collect().unwrap().is_empty());
    assert!(empty.top(3).unwrap().is_empty());
    assert!(ctx.range(5, 5, 1, 2).unwrap().collect().unwrap().is_empty());
    assert!(ctx.range(0, 1, 0, 2).is_err());
}

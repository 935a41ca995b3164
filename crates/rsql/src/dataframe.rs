//! The DataFrame API: a lazy logical plan plus the session that runs it. Transformations build
//! plan nodes (types coerced as SQL would); actions optimize, plan and run them.

use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use arrow::record_batch::RecordBatch;
use arrow::util::pretty::pretty_format_batches;
use datafusion_common::{Column, JoinType};
use rsql_exec::{MemoryTable, PhysicalPlan};
use rsql_io::{OutputJob, WriteFormat, WriteOptions};
use rsql_plan::plan::{
    Aggregate, Distinct, Filter, Join, Limit, Projection, Sort, SubqueryAlias, TableScan, Union,
    plan_generator,
};
use rsql_plan::{Expr, FunctionRegistry, LogicalPlan, SortExpr, coerce_expr};

use crate::bytes::format_memory_limit;
use crate::error::{Error, Result};
use crate::session::{Session, within_deadline};
use crate::stages::StageLog;
use crate::stream::RecordBatchStream;

/// A lazily evaluated relation: transformations return new DataFrames, actions run the plan.
#[derive(Clone)]
pub struct DataFrame {
    session: Session,
    plan: LogicalPlan,
}

impl DataFrame {
    pub(crate) fn new(session: Session, plan: LogicalPlan) -> Self {
        DataFrame { session, plan }
    }

    /// The logical plan this DataFrame stands for.
    pub fn logical_plan(&self) -> &LogicalPlan {
        &self.plan
    }

    /// The output schema.
    pub fn schema(&self) -> arrow::datatypes::SchemaRef {
        Arc::new(self.plan.schema().as_arrow().clone())
    }

    fn with_plan(&self, plan: LogicalPlan) -> DataFrame {
        DataFrame::new(self.session.clone(), plan)
    }

    fn input(&self) -> Arc<LogicalPlan> {
        Arc::new(self.plan.clone())
    }

    /// `expr` with the casts SQL binding would add, over this DataFrame's columns.
    fn coerce(&self, expr: Expr, registry: &FunctionRegistry) -> Result<Expr> {
        Ok(coerce_expr(expr, self.plan.schema(), registry)?)
    }

    fn coerce_all(
        &self,
        exprs: impl IntoIterator<Item = Expr>,
        registry: &FunctionRegistry,
    ) -> Result<Vec<Expr>> {
        exprs
            .into_iter()
            .map(|e| self.coerce(e, registry))
            .collect()
    }

    /// The columns named by expressions `exprs`.
    pub fn select(&self, exprs: impl IntoIterator<Item = Expr>) -> Result<DataFrame> {
        self.session.with_registry(|registry| {
            let exprs = self.coerce_all(exprs, registry)?;
            // A generator item (`explode(col("a"))`) adds a Generate node below.
            let (input, exprs) = plan_generator(self.plan.clone(), exprs, registry)?;
            let projection = Projection::try_new(exprs, Arc::new(input), registry)?;
            Ok(self.with_plan(LogicalPlan::Projection(projection)))
        })
    }

    /// The columns called `names`.
    pub fn select_columns(&self, names: &[&str]) -> Result<DataFrame> {
        self.select(names.iter().map(|n| rsql_plan::col(n)))
    }

    /// The rows for which `predicate` is true.
    pub fn filter(&self, predicate: Expr) -> Result<DataFrame> {
        self.session.with_registry(|registry| {
            let predicate = self.coerce(predicate, registry)?;
            let filter = Filter::try_new(predicate, self.input(), registry)?;
            Ok(self.with_plan(LogicalPlan::Filter(filter)))
        })
    }

    /// Every column plus `expr` as `name` (replacing a column of that name in place).
    pub fn with_column(&self, name: &str, expr: Expr) -> Result<DataFrame> {
        let mut replaced = false;
        let mut exprs: Vec<Expr> = self
            .columns()
            .into_iter()
            .map(|column| {
                if column.name == name {
                    replaced = true;
                    expr.clone().alias(name)
                } else {
                    Expr::Column(column)
                }
            })
            .collect();
        if !replaced {
            exprs.push(expr.alias(name));
        }
        self.select(exprs)
    }

    /// Column `old` renamed to `new`.
    pub fn with_column_renamed(&self, old: &str, new: &str) -> Result<DataFrame> {
        self.check_columns(&[old])?;
        let exprs = self.columns().into_iter().map(|column| {
            if column.name == old {
                Expr::Column(column).alias(new)
            } else {
                Expr::Column(column)
            }
        });
        self.select(exprs)
    }

    /// Every column except `names`.
    pub fn drop(&self, names: &[&str]) -> Result<DataFrame> {
        self.check_columns(names)?;
        let exprs = self
            .columns()
            .into_iter()
            .filter(|c| !names.contains(&c.name.as_str()))
            .map(Expr::Column);
        self.select(exprs)
    }

    /// Groups rows by `keys`; finish with [`GroupedData::agg`].
    pub fn group_by(&self, keys: impl IntoIterator<Item = Expr>) -> GroupedData {
        GroupedData {
            df: self.clone(),
            keys: keys.into_iter().collect(),
        }
    }

    /// Joins with `right` where `left_on[i] = right_on[i]` (column names on each side).
    pub fn join(
        &self,
        right: &DataFrame,
        join_type: JoinType,
        left_on: &[&str],
        right_on: &[&str],
    ) -> Result<DataFrame> {
        if left_on.len() != right_on.len() {
            return Err(Error::Invalid(format!(
                "join needs as many left columns as right columns, got {} and {}",
                left_on.len(),
                right_on.len()
            )));
        }
        let on = left_on
            .iter()
            .zip(right_on)
            .map(|(l, r)| Ok((self.resolve(l)?, right.resolve(r)?)))
            .collect::<Result<Vec<_>>>()?;
        let (left_schema, right_schema) = (self.plan.schema(), right.plan.schema());
        let on = self.session.with_registry(|registry| {
            on.into_iter()
                .map(|(l, r)| {
                    Ok((
                        coerce_expr(l, left_schema, registry)?,
                        coerce_expr(r, right_schema, registry)?,
                    ))
                })
                .collect::<Result<Vec<_>>>()
        })?;
        let join = Join::try_new(self.input(), right.input(), on, None, join_type)?;
        Ok(self.with_plan(LogicalPlan::Join(join)))
    }

    /// Every pair of rows of `self` and `right`.
    pub fn cross_join(&self, right: &DataFrame) -> Result<DataFrame> {
        let join = Join::try_new(
            self.input(),
            right.input(),
            Vec::new(),
            None,
            JoinType::Inner,
        )?;
        Ok(self.with_plan(LogicalPlan::Join(join)))
    }

    /// The same rows with columns qualified by `alias` (to tell two sides of a join apart).
    pub fn alias(&self, alias: &str) -> Result<DataFrame> {
        let aliased = SubqueryAlias::try_new(self.input(), alias)?;
        Ok(self.with_plan(LogicalPlan::SubqueryAlias(aliased)))
    }

    /// Rows ordered by `keys` (see [`Expr::sort`]).
    pub fn sort(&self, keys: impl IntoIterator<Item = SortExpr>) -> Result<DataFrame> {
        let exprs = self.session.with_registry(|registry| {
            keys.into_iter()
                .map(|key| {
                    Ok(SortExpr {
                        expr: self.coerce(key.expr, registry)?,
                        ..key
                    })
                })
                .collect::<Result<Vec<_>>>()
        })?;
        Ok(self.with_plan(LogicalPlan::Sort(Sort {
            exprs,
            input: self.input(),
            fetch: None,
        })))
    }

    /// The first `n` rows.
    pub fn limit(&self, n: usize) -> DataFrame {
        self.with_plan(LogicalPlan::Limit(Limit {
            skip: 0,
            fetch: Some(n),
            input: self.input(),
        }))
    }

    /// The rows of `self` then those of `other` (same column types, by position).
    pub fn union_all(&self, other: &DataFrame) -> Result<DataFrame> {
        let union = Union::try_new(vec![self.input(), other.input()])?;
        Ok(self.with_plan(LogicalPlan::Union(union)))
    }

    /// The distinct rows.
    pub fn distinct(&self) -> DataFrame {
        self.with_plan(LogicalPlan::Distinct(Distinct {
            input: self.input(),
        }))
    }

    /// Computes the rows now and keeps them in memory, partitioned as computed; the returned
    /// DataFrame reads them instead of recomputing.
    pub fn persist(&self) -> Result<DataFrame> {
        let (physical, _) = self.physical_plan()?;
        let rdd = self.session.lower(&physical)?;
        let partitions = self
            .session
            .statement(|| Ok(rdd.run_on_partitions(|batches, _| batches.collect::<Vec<_>>())?))?;
        let table = MemoryTable::new(Arc::clone(&physical.schema), partitions);
        let name = format!("persisted_{}", rdd.id());
        let scan = TableScan::try_new(name, Arc::new(table), None, Vec::new(), None)?;
        Ok(self.with_plan(LogicalPlan::TableScan(scan)))
    }

    /// Runs the plan and returns every batch, in partition order.
    ///
    /// The batches count against the session's memory limit while they are gathered, as
    /// "collected result": a result larger than the limit fails with a memory error instead
    /// of growing the process. Read large results with [`DataFrame::execute_stream`] or write
    /// them with [`DataFrame::write_with`].
    pub fn collect(&self) -> Result<Vec<RecordBatch>> {
        if let LogicalPlan::Explain(explain) = &self.plan {
            let inner = self.with_plan(explain.plan.as_ref().clone());
            let text = inner.explain(explain.analyze)?;
            let lines = text.lines().map(str::to_string).collect();
            return Ok(vec![crate::inspect::text_table(&["plan"], vec![lines])?]);
        }
        self.session.statement(|| {
            let (physical, _) = self.physical_plan()?;
            let rdd = self.session.lower(&physical)?;
            let pool = Arc::clone(self.session.context().memory_pool());
            let parts = rdd.run_on_partitions(|batches, tc| {
                let mut held = pool.reservation("collected result");
                let mut kept = Vec::new();
                for batch in batches {
                    if let Err(error) = held.try_grow(batch_bytes(&batch)) {
                        tc.fail(error);
                        break;
                    }
                    kept.push(batch);
                }
                (kept, held)
            })?;
            // The reservations are returned here, when the batches become the caller's.
            Ok(parts.into_iter().flat_map(|(batches, _)| batches).collect())
        })
    }

    /// Runs the plan and returns its batches while they are computed, in the order of
    /// [`DataFrame::collect`], without holding the result: the shuffle stages run first, then
    /// the last stage's partitions one after the other, each batch handed over as it is
    /// computed (Spark's `toLocalIterator`). For writing large results to a file or a pipe.
    ///
    /// The statement's timeout runs from this call; dropping the stream cancels the rest of
    /// the job.
    pub fn execute_stream(&self) -> Result<RecordBatchStream> {
        if matches!(self.plan, LogicalPlan::Explain(_)) {
            let batches = self.collect()?;
            let schema = batches
                .first()
                .map_or_else(|| self.schema(), RecordBatch::schema);
            return Ok(RecordBatchStream::ready(schema, batches));
        }
        let deadline = self.session.statement_deadline();
        let (schema, batches) = within_deadline(deadline, || {
            let (physical, _) = self.physical_plan()?;
            let rdd = self.session.lower(&physical)?;
            Ok((Arc::clone(&physical.schema), rdd.to_local_iterator()?))
        })?;
        Ok(RecordBatchStream::running(schema, batches, deadline))
    }

    /// Counts the plan's rows without collecting them, as `SELECT count(*)` over it (so
    /// scans read no columns they need not).
    pub fn count(&self) -> Result<u64> {
        let counted = self.group_by([]).agg([crate::functions::count_star()])?;
        let batches = counted.collect()?;
        let counts = batches
            .iter()
            .find(|batch| batch.num_rows() > 0)
            .and_then(|batch| batch.column(0).as_primitive_opt::<Int64Type>())
            .filter(|counts| counts.len() == 1 && counts.null_count() == 0)
            .ok_or_else(|| Error::Invalid("count(*) did not return one row".into()))?;
        Ok(counts.value(0) as u64)
    }

    /// The first `n` rows as an aligned text table.
    pub fn show_string(&self, n: usize) -> Result<String> {
        let batches = self.limit(n).collect()?;
        Ok(pretty_format_batches(&batches)?.to_string())
    }

    /// Prints the first 20 rows to stdout.
    pub fn show(&self) -> Result<()> {
        println!("{}", self.show_string(20)?);
        Ok(())
    }

    /// The logical, optimized and physical plans and the RDD lineage; with `analyze`, runs
    /// the plan and adds each operator's rows, batches and time and each stage's totals.
    pub fn explain(&self, analyze: bool) -> Result<String> {
        let optimized = self.session.optimize(self.plan.clone())?;
        let physical = self.session.physical_plan(&optimized)?;
        let rdd = self.session.lower(&physical)?;
        let stages = rdd.planned_stages();
        let mut text = format!(
            "== Logical Plan ==\n{}\n== Optimized Logical Plan ==\n{}\n",
            self.plan.display_indent(),
            optimized.display_indent()
        );
        if analyze {
            let log = StageLog::attach(self.session.context());
            let start = std::time::Instant::now();
            let rows: usize = self.session.statement(|| {
                let counts = rdd
                    .run_on_partitions(|batches, _| batches.map(|b| b.num_rows()).sum::<usize>())?;
                Ok(counts.into_iter().sum())
            })?;
            let elapsed = start.elapsed();
            text.push_str(&format!(
                "== Physical Plan ({} exchanges) ==\n{}\n== Stages ==\n{}\n",
                physical.exchange_count(),
                physical.display_with_metrics(),
                log.render()
            ));
            text.push_str(&format!(
                "== Result ==\n{rows} rows in {elapsed:.3?} (memory limit {})\n",
                format_memory_limit(self.session.config().memory_limit)
            ));
        } else {
            text.push_str(&format!(
                "== Physical Plan ({} exchanges) ==\n{}\n",
                physical.exchange_count(),
                physical.display_indent()
            ));
        }
        text.push_str(&format!(
            "== RDD Lineage ({stages} stages) ==\n{}",
            rdd.to_debug_string()
        ));
        Ok(text)
    }

    /// The optimized plan's physical plan and the optimized plan.
    pub fn physical_plan(&self) -> Result<(Arc<PhysicalPlan>, LogicalPlan)> {
        if matches!(self.plan, LogicalPlan::Explain(_)) {
            return Err(Error::Invalid(
                "an EXPLAIN has no physical plan; collect it instead".to_string(),
            ));
        }
        let optimized = self.session.optimize(self.plan.clone())?;
        Ok((self.session.physical_plan(&optimized)?, optimized))
    }

    /// Writes the rows as newline-delimited JSON files under the directory `path`.
    pub fn write_json(&self, path: &str) -> Result<()> {
        self.write_with(path, WriteOptions::new(WriteFormat::json()))
    }

    /// Writes the rows as Parquet files under the directory `path`.
    pub fn write_parquet(&self, path: &str) -> Result<()> {
        self.write_with(path, WriteOptions::new(WriteFormat::parquet()))
    }

    /// Writes the rows as CSV files (with a header) under the directory `path`.
    pub fn write_csv(&self, path: &str) -> Result<()> {
        self.write_with(path, WriteOptions::new(WriteFormat::csv()))
    }

    /// Writes the rows under the directory `path` as `options` say: the format, what to do
    /// when `path` exists ([`SaveMode`](rsql_io::SaveMode)) and the columns whose values pick
    /// each row's hive folder (`options.with_partition_by(&["year"])` writes `year=2024/`).
    ///
    /// Every partition writes its own part files into a staging directory; the output is moved
    /// into place with `_SUCCESS` only when every part succeeded.
    pub fn write_with(
        &self,
        path: impl AsRef<std::path::Path>,
        options: WriteOptions,
    ) -> Result<()> {
        self.session
            .statement(|| self.write_now(path.as_ref(), options))
    }

    /// Runs [`DataFrame::write_with`]'s job.
    fn write_now(&self, path: &std::path::Path, options: WriteOptions) -> Result<()> {
        let (physical, _) = self.physical_plan()?;
        let rdd = self.session.lower(&physical)?;
        let job = OutputJob::begin(path, Arc::clone(&physical.schema), options)?;
        let parts = rdd
            .map_partitions_with_index(|part, batches| Box::new(batches.map(move |b| (part, b))))
            .run_on_partitions(|batches, _| -> rsql_io::Result<()> {
                let mut writer = None;
                for (part, batch) in batches {
                    if writer.is_none() {
                        writer = Some(job.part_writer(part)?);
                    }
                    if let Some(writer) = writer.as_mut() {
                        writer.write(&batch)?;
                    }
                }
                writer.map_or(Ok(()), |w| w.finish())
            })?;
        parts.into_iter().collect::<rsql_io::Result<()>>()?;
        Ok(job.commit()?)
    }

    /// The output columns, qualified as the plan has them.
    fn columns(&self) -> Vec<Column> {
        self.plan.schema().columns()
    }

    /// Errors unless every name is an output column.
    fn check_columns(&self, names: &[&str]) -> Result<()> {
        names
            .iter()
            .try_for_each(|name| self.resolve(name).map(drop))
    }

    /// The qualified column `name` refers to, with suggestions when there is none.
    fn resolve(&self, name: &str) -> Result<Expr> {
        let column = Column::from_qualified_name(name);
        let (qualifier, field) = rsql_plan::expr::lookup_column(self.plan.schema(), &column)?;
        Ok(Expr::Column(Column::new(qualifier.cloned(), field.name())))
    }
}

/// The bytes `batch`'s rows take (its slices' share of shared buffers, not the buffers').
fn batch_bytes(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|column| {
            column
                .to_data()
                .get_slice_memory_size()
                .unwrap_or_else(|_| column.get_array_memory_size())
        })
        .sum()
}

/// Rows grouped by keys, waiting for their aggregates.
pub struct GroupedData {
    df: DataFrame,
    keys: Vec<Expr>,
}

impl GroupedData {
    /// One row per group: the keys, then `aggregates` (calls such as `count(col("x"))`).
    pub fn agg(self, aggregates: impl IntoIterator<Item = Expr>) -> Result<DataFrame> {
        let GroupedData { df, keys } = self;
        df.session.with_registry(|registry| {
            let keys = df.coerce_all(keys, registry)?;
            let aggregates = df.coerce_all(aggregates, registry)?;
            let aggregate = Aggregate::try_new(df.input(), keys, aggregates, registry)?;
            Ok(df.with_plan(LogicalPlan::Aggregate(aggregate)))
        })
    }
}

//! The entry point: a [`Session`] owns the runtime, the catalog of tables and views, and the
//! registered functions; SQL and DataFrames both start here.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use rsql_exec::aggregate::{
    AggregateFunctions, AggregateUdf, register_aggregate, register_builtin_aggregates,
};
use rsql_exec::expr::{ScalarFunctions, ScalarUdf, builtin_scalar_functions};
use rsql_exec::physical::PlanSpec;
use rsql_exec::{ListingTable, PhysicalPlan, PlannerContext, create_physical_plan};
use rsql_io::{Dataset, DatasetOptions};
use rsql_plan::plan::TableScan;
use rsql_plan::{
    Catalog, CopyFormat, FunctionRegistry, LogicalPlan, Optimizer, ScalarFunctionSignature,
    Statement, TableSource, TableSourceRef, bind_sql,
};
use rsql_rdd::{Context, Rdd};

use crate::dataframe::DataFrame;
use crate::error::{Error, Result};

/// Settings of a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Worker threads (default: the number of cores).
    pub threads: usize,
    /// Partitions after a shuffle (default: twice the threads).
    pub shuffle_partitions: usize,
    /// A join side whose input files total at most this many bytes is broadcast (default
    /// 10 MiB, as Spark's `autoBroadcastJoinThreshold`).
    pub broadcast_threshold: u64,
    /// The most compressed file bytes one scan partition reads (default 128 MiB, as Spark's
    /// `maxPartitionBytes`); scans also split so every thread gets work.
    pub max_partition_bytes: u64,
    /// Logical optimizer rules to skip, by name (as Spark's `spark.sql.optimizer.excludedRules`):
    /// for isolating a rule while debugging a plan.
    pub excluded_rules: Vec<String>,
    /// Bytes that aggregations, sorts, join tables and shuffle outputs may hold at once; past
    /// it they spill to disk as Arrow IPC. The default is
    /// [`DEFAULT_MEMORY_FRACTION`](rsql_rdd::DEFAULT_MEMORY_FRACTION) of the memory the machine
    /// or the process's control group allows ([`rsql_rdd::default_memory_limit`]); `None` is no
    /// limit.
    pub memory_limit: Option<usize>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        SessionConfig {
            threads,
            shuffle_partitions: threads * 2,
            broadcast_threshold: 10 << 20,
            max_partition_bytes: 128 << 20,
            excluded_rules: Vec::new(),
            memory_limit: rsql_rdd::default_memory_limit(),
        }
    }
}

/// A registered name: a table source, or a view expanded where it is used.
#[derive(Debug, Clone)]
enum CatalogEntry {
    Table(TableSourceRef),
    View(LogicalPlan),
}

/// Tables, views and functions of one session.
struct SessionState {
    context: Context,
    config: SessionConfig,
    optimizer: Optimizer,
    tables: RwLock<HashMap<String, CatalogEntry>>,
    functions: RwLock<Functions>,
}

/// Every registered function: signatures for the planner, implementations for the executor.
struct Functions {
    registry: FunctionRegistry,
    scalar: ScalarFunctions,
    aggregate: AggregateFunctions,
}

/// A local rsql session: SQL text and DataFrame calls become plans run on a thread pool.
#[derive(Clone)]
pub struct Session {
    state: Arc<SessionState>,
}

impl Session {
    /// A session with the default settings (one worker per core).
    pub fn new() -> Result<Session> {
        Session::with_config(SessionConfig::default())
    }

    /// A session with `config`.
    pub fn with_config(config: SessionConfig) -> Result<Session> {
        let optimizer = Optimizer::new().excluding(&config.excluded_rules)?;
        let context = Context::builder()
            .threads(config.threads)
            .memory_limit(config.memory_limit)
            .build()?;
        let mut registry = FunctionRegistry::new();
        let aggregate = register_builtin_aggregates(&mut registry);
        let scalar = builtin_scalar_functions()
            .into_iter()
            .map(|f| (f.name().to_string(), f))
            .collect();
        Ok(Session {
            state: Arc::new(SessionState {
                context,
                config,
                optimizer,
                tables: RwLock::default(),
                functions: RwLock::new(Functions {
                    registry,
                    scalar,
                    aggregate,
                }),
            }),
        })
    }

    /// The session's settings.
    pub fn config(&self) -> &SessionConfig {
        &self.state.config
    }

    /// The RDD runtime queries run on (for listeners, faults and RDD-level work).
    pub fn context(&self) -> &Context {
        &self.state.context
    }

    /// A DataFrame over the Parquet file or hive-partitioned directory at `path`.
    pub fn read_parquet(&self, path: &str) -> Result<DataFrame> {
        self.read(path, DatasetOptions::parquet())
    }

    /// A DataFrame over newline-delimited JSON at `path`.
    pub fn read_json(&self, path: &str) -> Result<DataFrame> {
        self.read(path, DatasetOptions::json())
    }

    /// A DataFrame over CSV files (with a header) at `path`.
    pub fn read_csv(&self, path: &str) -> Result<DataFrame> {
        self.read(path, DatasetOptions::csv())
    }

    fn read(&self, path: &str, options: DatasetOptions) -> Result<DataFrame> {
        let source: TableSourceRef = Arc::new(ListingTable::new(Dataset::open(path, options)?));
        let name = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(path)
            .to_string();
        let scan = TableScan::try_new(name, source, None, Vec::new(), None)?;
        Ok(DataFrame::new(self.clone(), LogicalPlan::TableScan(scan)))
    }

    /// Registers `df` under `name` for SQL (a temporary view, replacing one of that name).
    pub fn register_table(&self, name: &str, df: &DataFrame) {
        self.tables_mut().insert(
            name.to_string(),
            CatalogEntry::View(df.logical_plan().clone()),
        );
    }

    /// Registers a table source (a dataset, batches in memory, ...) under `name`.
    pub fn register_source(&self, name: &str, source: TableSourceRef) {
        self.tables_mut()
            .insert(name.to_string(), CatalogEntry::Table(source));
    }

    /// Registers the Parquet dataset at `path` under `name`.
    pub fn register_parquet(&self, name: &str, path: &str) -> Result<()> {
        let dataset = Dataset::open(path, DatasetOptions::parquet())?;
        self.register_source(name, Arc::new(ListingTable::new(dataset)));
        Ok(())
    }

    /// The table or view registered as `name`.
    pub fn table(&self, name: &str) -> Result<DataFrame> {
        let catalog = self.catalog();
        if let Some(plan) = catalog.view(name) {
            return Ok(DataFrame::new(self.clone(), plan));
        }
        let Some(source) = catalog.table(name) else {
            let names = catalog.table_names().join(", ");
            return Err(Error::Invalid(format!(
                "unknown table '{name}' (registered: {names})"
            )));
        };
        let scan = TableScan::try_new(name, source, None, Vec::new(), None)?;
        Ok(DataFrame::new(self.clone(), LogicalPlan::TableScan(scan)))
    }

    /// Names of the registered tables and views, sorted.
    pub fn table_names(&self) -> Vec<String> {
        self.catalog().table_names()
    }

    /// Registers a scalar function for SQL and DataFrames: its signature for planning and its
    /// implementation (looked up by the same name) for execution.
    pub fn register_udf(
        &self,
        signature: Arc<dyn ScalarFunctionSignature>,
        implementation: Arc<dyn ScalarUdf>,
    ) {
        let mut functions = self.functions_mut();
        let name = signature.name().to_lowercase();
        functions.registry.register_scalar(signature);
        functions.scalar.insert(name, implementation);
    }

    /// Registers an aggregate function (one object serves planning and execution).
    pub fn register_udaf(&self, function: Arc<dyn AggregateUdf>) {
        let functions = &mut *self.functions_mut();
        register_aggregate(&mut functions.registry, &mut functions.aggregate, function);
    }

    /// Runs one SQL statement. A query returns its (lazy) DataFrame; `CREATE VIEW` and `COPY`
    /// run at once and return an empty DataFrame.
    pub fn sql(&self, sql: &str) -> Result<DataFrame> {
        let statement = {
            let functions = self.functions();
            bind_sql(sql, &self.catalog(), &functions.registry)?
        };
        match statement {
            Statement::Query(plan) => Ok(DataFrame::new(self.clone(), plan)),
            Statement::CreateView {
                name,
                plan,
                or_replace,
            } => {
                let mut tables = self.tables_mut();
                if !or_replace && tables.contains_key(&name) {
                    return Err(Error::Invalid(format!(
                        "a table or view named '{name}' already exists (use CREATE OR REPLACE)"
                    )));
                }
                tables.insert(name, CatalogEntry::View(plan));
                drop(tables);
                self.empty()
            }
            Statement::Copy { plan, path, format } => {
                let df = DataFrame::new(self.clone(), plan);
                match format {
                    CopyFormat::Json => df.write_json(&path)?,
                    CopyFormat::Parquet => df.write_parquet(&path)?,
                    CopyFormat::Csv => df.write_csv(&path)?,
                }
                self.empty()
            }
        }
    }

    /// A DataFrame with no columns and no rows.
    fn empty(&self) -> Result<DataFrame> {
        let plan = LogicalPlan::EmptyRelation(rsql_plan::plan::EmptyRelation::new(false));
        Ok(DataFrame::new(self.clone(), plan))
    }

    /// `plan` optimized by the session's rules.
    pub(crate) fn optimize(&self, plan: LogicalPlan) -> Result<LogicalPlan> {
        Ok(self
            .state
            .optimizer
            .optimize(plan, &self.functions().registry)?)
    }

    /// The physical plan of an optimized logical plan.
    pub(crate) fn physical_plan(&self, optimized: &LogicalPlan) -> Result<Arc<PhysicalPlan>> {
        let functions = self.functions();
        let cx = PlannerContext {
            context: &self.state.context,
            registry: &functions.registry,
            scalar_functions: &functions.scalar,
            aggregate_functions: &functions.aggregate,
            shuffle_partitions: self.state.config.shuffle_partitions,
            broadcast_threshold: self.state.config.broadcast_threshold,
            max_partition_bytes: self.state.config.max_partition_bytes,
        };
        Ok(create_physical_plan(optimized, &cx)?)
    }

    /// Rebuilds a physical plan shipped as a [`PlanSpec`] (from
    /// [`PhysicalPlan::to_spec`], possibly in another process) with this session's functions:
    /// expressions are compiled again and functions looked up by the names the plan uses, so
    /// the UDFs and UDAFs it calls must be registered here too. Run it with
    /// [`PhysicalPlan::lower`] on [`Session::context`].
    pub fn instantiate_plan(&self, spec: &PlanSpec) -> Result<Arc<PhysicalPlan>> {
        let functions = self.functions();
        Ok(spec.instantiate(&functions.registry, &functions.scalar, &functions.aggregate)?)
    }

    /// The lineage computing a physical plan.
    pub(crate) fn lower(&self, physical: &PhysicalPlan) -> Result<Rdd<RecordBatch>> {
        Ok(physical.lower(&self.state.context)?)
    }

    /// The function registry, for typing expressions built in code.
    pub(crate) fn with_registry<T>(&self, f: impl FnOnce(&FunctionRegistry) -> T) -> T {
        f(&self.functions().registry)
    }

    /// A one-column batch of text lines (what `EXPLAIN` returns).
    pub(crate) fn text_batch(column: &str, lines: Vec<String>) -> Result<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![Field::new(column, DataType::Utf8, false)]));
        Ok(RecordBatch::try_new(
            schema,
            vec![Arc::new(StringArray::from(lines))],
        )?)
    }

    fn functions(&self) -> RwLockReadGuard<'_, Functions> {
        self.state
            .functions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn functions_mut(&self) -> std::sync::RwLockWriteGuard<'_, Functions> {
        self.state
            .functions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn tables_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, CatalogEntry>> {
        self.state
            .tables
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn catalog(&self) -> SessionCatalog {
        let tables = self
            .state
            .tables
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        SessionCatalog { tables }
    }
}

/// A snapshot of the registered names, as the binder sees them.
struct SessionCatalog {
    tables: HashMap<String, CatalogEntry>,
}

impl Catalog for SessionCatalog {
    fn table(&self, name: &str) -> Option<Arc<dyn TableSource>> {
        match self.tables.get(name)? {
            CatalogEntry::Table(source) => Some(Arc::clone(source)),
            CatalogEntry::View(_) => None,
        }
    }

    fn view(&self, name: &str) -> Option<LogicalPlan> {
        match self.tables.get(name)? {
            CatalogEntry::View(plan) => Some(plan.clone()),
            CatalogEntry::Table(_) => None,
        }
    }

    fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tables.keys().cloned().collect();
        names.sort();
        names
    }

    fn resolve_path(
        &self,
        request: &rsql_plan::PathRequest,
    ) -> rsql_plan::Result<Arc<dyn TableSource>> {
        Ok(Arc::new(rsql_exec::open_path(request)?))
    }
}

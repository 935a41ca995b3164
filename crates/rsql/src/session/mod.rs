//! The entry point: a [`Session`] owns the runtime, the catalog of tables and views, and the
//! registered functions; SQL and DataFrames both start here.

use std::cell::Cell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use rsql_exec::aggregate::{
    AggregateFunctions, AggregateUdf, register_aggregate, register_builtin_aggregates,
};
use rsql_exec::expr::{ScalarFunctions, ScalarUdf, builtin_scalar_functions};
use rsql_exec::physical::PlanSpec;
use rsql_exec::{ListingTable, MemoryTable, PhysicalPlan, PlannerContext, create_physical_plan};
use rsql_io::{Dataset, DatasetOptions};
use rsql_plan::compute::EvalMode;
use rsql_plan::plan::TableScan;
use rsql_plan::{
    Catalog, FunctionRegistry, LogicalPlan, Optimizer, ScalarFunctionSignature, SqlBinder,
    TableSource, TableSourceRef, TimeZone,
};
use rsql_rdd::{Context, RandomFaults, Rdd};

use crate::catalog::{self, CatalogFile, CatalogStore};
use crate::dataframe::DataFrame;
use crate::error::{Error, Result};
use crate::settings::{self, SettingScope, unknown_setting};

mod statements;

/// Shuffle partitions per worker thread, by default. Every partition after a shuffle is one
/// task, and the tasks running at once hold their partitions' hash tables and sort runs
/// together: four partitions a thread keep that to a quarter of the shuffled data (two a
/// thread held half of a 10-million-group aggregation, 1.45 GB against 1.06 GB), while
/// each task stays large enough that its start-up costs nothing measurable.
pub const SHUFFLE_PARTITIONS_PER_THREAD: usize = 4;

/// Settings of a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Worker threads (default: the number of cores).
    pub threads: usize,
    /// Partitions after a shuffle (default: [`SHUFFLE_PARTITIONS_PER_THREAD`] per thread).
    pub shuffle_partitions: usize,
    /// A join side whose input files total at most this many bytes is broadcast (default
    /// 10 MiB, as Spark's `autoBroadcastJoinThreshold`).
    pub broadcast_threshold: u64,
    /// Whether a partitioned join gathers its build side's keys once they are shuffled and
    /// drops the probe rows without a match before shuffling them (default on; Spark's
    /// `spark.sql.optimizer.runtime.bloomFilter.enabled`).
    pub runtime_filters: bool,
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
    /// The directory holding the catalog of tables and views that outlive the session
    /// (`catalog.json` and the managed tables' files); `None` keeps them in a temporary
    /// directory removed with the session.
    pub catalog: Option<PathBuf>,
    /// The session time zone (Spark's `spark.sql.session.timeZone`): an IANA name such as
    /// `Europe/Paris` or an offset such as `+02:00` (default `UTC`). Timestamps are instants;
    /// the zone decides how they are written as text, split into fields and dates, truncated,
    /// and how text, dates and zone-less timestamps become instants.
    pub time_zone: String,
    /// Spark's ANSI mode (`spark.sql.ansi.enabled`): integer and decimal overflow (in
    /// arithmetic, `sum` and `avg`), division by zero and a `CAST` that does not convert are
    /// errors instead of NULL (or wrapping integers). Off by default, as in Spark 3.
    pub ansi_mode: bool,
    /// A statement still running after this long is cancelled and fails with
    /// [`Error::StatementTimeout`] (PostgreSQL's `statement_timeout`); `None` (the default) is
    /// no timeout.
    pub statement_timeout: Option<Duration>,
    /// Faults injected at random into the session's jobs (failed task attempts, lost shuffle
    /// outputs, dropped cached partitions), all of which retries and lineage heal: for
    /// proving that answers do not change under them. `None` (the default) injects none.
    pub fault_injection: Option<RandomFaults>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        SessionConfig {
            threads,
            shuffle_partitions: threads * SHUFFLE_PARTITIONS_PER_THREAD,
            broadcast_threshold: 10 << 20,
            runtime_filters: true,
            max_partition_bytes: 128 << 20,
            excluded_rules: Vec::new(),
            memory_limit: rsql_rdd::default_memory_limit(),
            catalog: None,
            time_zone: "UTC".into(),
            ansi_mode: false,
            statement_timeout: None,
            fault_injection: None,
        }
    }
}

/// A registered name: a table source, or a view expanded where it is used.
#[derive(Debug, Clone)]
pub(crate) enum CatalogEntry {
    Table(TableSourceRef),
    View(LogicalPlan),
}

/// The settings in effect and the optimizer they configure.
struct ActiveConfig {
    config: SessionConfig,
    /// `config.time_zone`, parsed.
    time_zone: TimeZone,
    optimizer: Arc<Optimizer>,
}

impl ActiveConfig {
    fn new(config: SessionConfig) -> Result<ActiveConfig> {
        let time_zone = TimeZone::parse(&config.time_zone)?;
        let optimizer = Optimizer::for_session(time_zone.clone(), config.broadcast_threshold)
            .excluding(&config.excluded_rules)?;
        Ok(ActiveConfig {
            config,
            time_zone,
            optimizer: Arc::new(optimizer),
        })
    }
}

/// Tables, views and functions of one session.
struct SessionState {
    context: Context,
    /// The settings the session started with, which `RESET` restores.
    initial_config: SessionConfig,
    /// The catalog of tables and views.
    store: CatalogStore,
    active: RwLock<ActiveConfig>,
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
        let active = ActiveConfig::new(config.clone())?;
        let context = Context::builder()
            .threads(config.threads)
            .memory_limit(config.memory_limit)
            .build()?;
        context.faults().set_random(config.fault_injection);
        let mut registry = FunctionRegistry::new();
        let aggregate = register_builtin_aggregates(&mut registry);
        let scalar = builtin_scalar_functions()
            .into_iter()
            .map(|f| (f.name().to_string(), f))
            .collect();
        Ok(Session {
            state: Arc::new(SessionState {
                context,
                initial_config: config.clone(),
                store: CatalogStore::open(config.catalog.as_deref())?,
                active: RwLock::new(active),
                tables: RwLock::default(),
                functions: RwLock::new(Functions {
                    registry,
                    scalar,
                    aggregate,
                }),
            }),
        })
    }

    /// The session's settings now (`SET` changes them).
    pub fn config(&self) -> SessionConfig {
        self.active().config.clone()
    }

    /// Changes a setting for the following statements, as `SET name = value` does: `name` is
    /// a name or alias from [`SETTINGS`](crate::settings::SETTINGS), `value` as `SET` takes it.
    pub fn set(&self, name: &str, value: &str) -> Result<()> {
        let setting =
            settings::setting(name).ok_or_else(|| Error::Invalid(unknown_setting(name)))?;
        if setting.scope == SettingScope::Startup {
            return Err(Error::Invalid(format!(
                "{} is fixed when the session starts (use the --{} flag or SessionConfig)",
                setting.name,
                setting.name.replace('_', "-")
            )));
        }
        let mut config = self.config();
        setting.apply(&mut config, value).map_err(Error::Invalid)?;
        self.activate(config)
    }

    /// Restores a setting (`Some(name)`) or every setting (`None`) to the value the session
    /// started with.
    pub fn reset(&self, name: Option<&str>) -> Result<()> {
        let initial = &self.state.initial_config;
        let config = match name {
            None => initial.clone(),
            Some(name) => {
                let setting =
                    settings::setting(name).ok_or_else(|| Error::Invalid(unknown_setting(name)))?;
                let mut config = self.config();
                setting
                    .apply(&mut config, &setting.value(initial))
                    .map_err(Error::Invalid)?;
                config
            }
        };
        self.activate(config)
    }

    /// Makes `config` the settings in effect (the worker threads excepted).
    fn activate(&self, config: SessionConfig) -> Result<()> {
        let active = ActiveConfig::new(config)?;
        self.state
            .context
            .memory_pool()
            .set_limit(active.config.memory_limit);
        self.state
            .context
            .faults()
            .set_random(active.config.fault_injection);
        *self
            .state
            .active
            .write()
            .unwrap_or_else(PoisonError::into_inner) = active;
        Ok(())
    }

    fn active(&self) -> RwLockReadGuard<'_, ActiveConfig> {
        self.state
            .active
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Cancels the statements running now in this session (from another thread): their jobs
    /// stop between record batches and fail with an error for which
    /// [`Error::is_cancelled`] holds; what they staged is removed.
    pub fn cancel(&self) {
        self.state.context.cancel_running_jobs();
    }

    /// Runs `run` as one statement: under the `statement_timeout` setting, the jobs it starts
    /// are cancelled once it passes, and the error says so.
    pub(crate) fn statement<T>(&self, run: impl FnOnce() -> Result<T>) -> Result<T> {
        within_deadline(self.statement_deadline(), run)
    }

    /// The `statement_timeout` setting and the deadline it sets for a statement starting now.
    pub(crate) fn statement_deadline(&self) -> Option<(Duration, Instant)> {
        let timeout = self.active().config.statement_timeout?;
        Some((timeout, Instant::now() + timeout))
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
        let functions = self.functions();
        let catalog = self.catalog(&functions.registry)?;
        if let Some(plan) = catalog.view(name)? {
            return Ok(DataFrame::new(self.clone(), plan));
        }
        let Some(source) = catalog.open_table(name)? else {
            let names = catalog.table_names().join(", ");
            return Err(Error::Invalid(format!(
                "unknown table '{name}' (registered: {names})"
            )));
        };
        let scan = TableScan::try_new(name, source, None, Vec::new(), None)?;
        Ok(DataFrame::new(self.clone(), LogicalPlan::TableScan(scan)))
    }

    /// Names of the tables and views (temporary and in the catalog), sorted.
    pub fn table_names(&self) -> Result<Vec<String>> {
        let functions = self.functions();
        Ok(self.catalog(&functions.registry)?.table_names())
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

    /// Runs one SQL statement. A query returns its (lazy) DataFrame; `CREATE`, `INSERT`,
    /// `DROP`, `ALTER`, `COPY`, `SET` and `RESET` run at once and return an empty DataFrame;
    /// `SHOW` and `DESCRIBE` return their answer (nothing they describe runs).
    pub fn sql(&self, sql: &str) -> Result<DataFrame> {
        self.statement(|| {
            let statement = {
                let functions = self.functions();
                let catalog = self.catalog(&functions.registry)?;
                SqlBinder::new(&catalog, &functions.registry)
                    .with_time_zone(self.active().time_zone.clone())
                    .bind_sql(sql)?
            };
            self.execute(statement)
        })
    }

    /// A DataFrame over one batch computed by the session (what `SHOW` and `DESCRIBE` return).
    pub(crate) fn rows(&self, name: &str, batch: RecordBatch) -> Result<DataFrame> {
        let table = MemoryTable::new(batch.schema(), vec![vec![batch]]);
        let scan = TableScan::try_new(name, Arc::new(table), None, Vec::new(), None)?;
        Ok(DataFrame::new(self.clone(), LogicalPlan::TableScan(scan)))
    }

    /// A DataFrame with no columns and no rows.
    pub(crate) fn empty(&self) -> Result<DataFrame> {
        let plan = LogicalPlan::EmptyRelation(rsql_plan::plan::EmptyRelation::new(false));
        Ok(DataFrame::new(self.clone(), plan))
    }

    /// `plan` optimized by the session's rules.
    pub(crate) fn optimize(&self, plan: LogicalPlan) -> Result<LogicalPlan> {
        let optimizer = Arc::clone(&self.active().optimizer);
        Ok(optimizer.optimize(plan, &self.functions().registry)?)
    }

    /// The physical plan of an optimized logical plan.
    pub(crate) fn physical_plan(&self, optimized: &LogicalPlan) -> Result<Arc<PhysicalPlan>> {
        let functions = self.functions();
        let (config, time_zone) = {
            let active = self.active();
            (active.config.clone(), active.time_zone.clone())
        };
        let cx = PlannerContext {
            context: &self.state.context,
            registry: &functions.registry,
            scalar_functions: &functions.scalar,
            aggregate_functions: &functions.aggregate,
            shuffle_partitions: config.shuffle_partitions,
            broadcast_threshold: config.broadcast_threshold,
            runtime_filters: config.runtime_filters,
            max_partition_bytes: config.max_partition_bytes,
            time_zone,
            mode: if config.ansi_mode {
                EvalMode::Ansi
            } else {
                EvalMode::Lenient
            },
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

    fn tables_snapshot(&self) -> HashMap<String, CatalogEntry> {
        self.state
            .tables
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// What the binder sees: the session's temporary tables and views, then the catalog's.
    fn catalog<'a>(&'a self, registry: &'a FunctionRegistry) -> Result<SessionCatalog<'a>> {
        Ok(SessionCatalog {
            temporary: self.tables_snapshot(),
            stored: self.state.store.load()?,
            store: &self.state.store,
            registry,
            view_depth: Cell::new(0),
        })
    }

    /// Whether a temporary table or view (registered in this session only) is called `name`.
    pub(crate) fn has_temporary(&self, name: &str) -> bool {
        self.tables_snapshot().contains_key(name)
    }

    /// The catalog directory.
    pub(crate) fn store(&self) -> &CatalogStore {
        &self.state.store
    }
}

/// Runs `run` with the jobs it starts cancelled at `deadline` (a statement's timeout and
/// deadline), naming the timeout in the error.
pub(crate) fn within_deadline<T>(
    deadline: Option<(Duration, Instant)>,
    run: impl FnOnce() -> Result<T>,
) -> Result<T> {
    match deadline {
        None => run(),
        Some((timeout, deadline)) => rsql_rdd::with_deadline(deadline, run)
            .map_err(|error| timed_out(error, timeout, deadline)),
    }
}

/// `error`, or [`Error::StatementTimeout`] when it is the cancellation of a statement whose
/// `deadline` passed.
pub(crate) fn timed_out(error: Error, timeout: Duration, deadline: Instant) -> Error {
    if error.is_cancelled() && Instant::now() >= deadline {
        Error::StatementTimeout(timeout)
    } else {
        error
    }
}

/// Views may read views, up to this depth (a deeper chain is a view reading itself).
const MAX_VIEW_DEPTH: usize = 32;

/// The session's names as one statement's binder sees them: temporary entries first (they
/// shadow the catalog's), then the catalog file as it was when the statement started.
struct SessionCatalog<'a> {
    temporary: HashMap<String, CatalogEntry>,
    stored: CatalogFile,
    store: &'a CatalogStore,
    registry: &'a FunctionRegistry,
    view_depth: Cell<usize>,
}

impl Catalog for SessionCatalog<'_> {
    fn table(&self, name: &str) -> Option<Arc<dyn TableSource>> {
        self.open_table(name).ok().flatten()
    }

    fn open_table(&self, name: &str) -> rsql_plan::Result<Option<Arc<dyn TableSource>>> {
        match self.temporary.get(name) {
            Some(CatalogEntry::Table(source)) => return Ok(Some(Arc::clone(source))),
            Some(CatalogEntry::View(_)) => return Ok(None),
            None => {}
        }
        match self.stored.tables.get(name) {
            Some(table) => catalog::open_table(self.store, name, table)
                .map(Some)
                .map_err(rsql_plan::PlanError::external),
            None => Ok(None),
        }
    }

    fn view(&self, name: &str) -> rsql_plan::Result<Option<LogicalPlan>> {
        match self.temporary.get(name) {
            Some(CatalogEntry::View(plan)) => return Ok(Some(plan.clone())),
            Some(CatalogEntry::Table(_)) => return Ok(None),
            None => {}
        }
        let Some(view) = self.stored.views.get(name) else {
            return Ok(None);
        };
        let depth = self.view_depth.get();
        if depth >= MAX_VIEW_DEPTH {
            return Err(rsql_plan::PlanError::invalid(format!(
                "view '{name}' reads itself (views nest more than {MAX_VIEW_DEPTH} deep)"
            )));
        }
        self.view_depth.set(depth + 1);
        let plan = catalog::view_plan(self, self.registry, name, view);
        self.view_depth.set(depth);
        plan.map(Some)
    }

    fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .temporary
            .keys()
            .chain(self.stored.tables.keys())
            .chain(self.stored.views.keys())
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn resolve_path(
        &self,
        request: &rsql_plan::PathRequest,
    ) -> rsql_plan::Result<Arc<dyn TableSource>> {
        Ok(Arc::new(rsql_exec::open_path(request)?))
    }
}

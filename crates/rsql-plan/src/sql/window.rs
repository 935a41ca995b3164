//! Binding window calls: `f(args) [IGNORE NULLS] OVER (PARTITION BY .. ORDER BY .. frame)` or
//! `OVER w` with `w` from the `WINDOW` clause, into [`Expr::WindowFunction`].

use arrow_schema::DataType;
use datafusion_common::ScalarValue;
use sqlparser::ast::{self, Spanned};

use super::SqlBinder;
use super::expr::Scope;
use super::query::sort_options;
use crate::error::{PlanError, Result};
use crate::expr::{
    Expr, FrameBound, FrameUnits, SortExpr, WindowFrame, WindowFunction, WindowFunctionKind,
};
use crate::function::BuiltinWindowFunction;

/// A window specification with named windows resolved.
struct Spec<'a> {
    partition_by: &'a [ast::Expr],
    order_by: &'a [ast::OrderByExpr],
    frame: Option<&'a ast::WindowFrame>,
}

/// How many named windows may refer to each other in a chain (guards against cycles).
const MAX_WINDOW_CHAIN: usize = 32;

/// The definition of the window called `name` in `windows`.
fn named<'a>(windows: &'a [ast::NamedWindowDefinition], name: &ast::Ident) -> Result<Spec<'a>> {
    let mut current = name;
    for _ in 0..MAX_WINDOW_CHAIN {
        let definition = windows
            .iter()
            .find(|d| d.0.value.eq_ignore_ascii_case(&current.value))
            .ok_or_else(|| {
                PlanError::invalid(format!("unknown window '{}'", current.value))
                    .or_at(current.span)
            })?;
        match &definition.1 {
            ast::NamedWindowExpr::NamedWindow(other) => current = other,
            ast::NamedWindowExpr::WindowSpec(spec) => return refine(windows, spec),
        }
    }
    Err(
        PlanError::invalid(format!("the window '{}' refers to itself", name.value))
            .or_at(name.span),
    )
}

/// `spec`, which may start from a named window and add an order and a frame to it.
fn refine<'a>(
    windows: &'a [ast::NamedWindowDefinition],
    spec: &'a ast::WindowSpec,
) -> Result<Spec<'a>> {
    let own = Spec {
        partition_by: &spec.partition_by,
        order_by: &spec.order_by,
        frame: spec.window_frame.as_ref(),
    };
    let Some(base_name) = &spec.window_name else {
        return Ok(own);
    };
    let base = named(windows, base_name)?;
    if !own.partition_by.is_empty() {
        return Err(PlanError::invalid(format!(
            "a window based on '{}' cannot have its own PARTITION BY",
            base_name.value
        ))
        .or_at(base_name.span));
    }
    if !own.order_by.is_empty() && !base.order_by.is_empty() {
        return Err(PlanError::invalid(format!(
            "a window based on '{}' cannot override its ORDER BY",
            base_name.value
        ))
        .or_at(base_name.span));
    }
    Ok(Spec {
        partition_by: base.partition_by,
        order_by: if own.order_by.is_empty() {
            base.order_by
        } else {
            own.order_by
        },
        frame: own.frame.or(base.frame),
    })
}

/// A frame offset: a non-negative integer for `ROWS`; for `RANGE`, a non-negative number of the
/// `ORDER BY` key's type, or an interval when that key is a date or timestamp.
fn frame_offset(
    value: Expr,
    units: FrameUnits,
    order_type: Option<&DataType>,
) -> Result<ScalarValue> {
    let Expr::Literal(value) = value else {
        return Err(PlanError::invalid(format!(
            "a frame offset must be a constant, not {value}"
        )));
    };
    let negative = || PlanError::invalid(format!("a frame offset cannot be negative: {value}"));
    match units {
        FrameUnits::Rows => match value {
            ScalarValue::Int64(Some(n)) if n >= 0 => Ok(value),
            ScalarValue::Int64(Some(_)) => Err(negative()),
            other => Err(PlanError::invalid(format!(
                "a ROWS frame offset must be an integer, not {other}"
            ))),
        },
        FrameUnits::Range => {
            let Some(order_type) = order_type else {
                return Err(PlanError::invalid(
                    "a RANGE frame with an offset needs exactly one ORDER BY key",
                ));
            };
            let temporal = matches!(order_type, DataType::Date32 | DataType::Date64)
                || matches!(order_type, DataType::Timestamp(..));
            match (&value, temporal) {
                (ScalarValue::IntervalMonthDayNano(Some(interval)), true) => {
                    if interval.months < 0 || interval.days < 0 || interval.nanoseconds < 0 {
                        return Err(negative());
                    }
                    Ok(value)
                }
                (_, false) if order_type.is_numeric() && value.data_type().is_numeric() => {
                    let cast = value.cast_to(order_type).map_err(|_| {
                        PlanError::invalid(format!(
                            "the frame offset {value} does not fit the ORDER BY type {order_type}"
                        ))
                    })?;
                    let zero =
                        ScalarValue::new_zero(order_type).map_err(PlanError::from_datafusion)?;
                    if cast.partial_cmp(&zero) == Some(std::cmp::Ordering::Less) {
                        return Err(negative());
                    }
                    Ok(cast)
                }
                _ => Err(PlanError::type_mismatch(format!(
                    "a RANGE frame over {order_type} cannot have the offset {value} \
                     (numbers need a number, dates and timestamps an interval)"
                ))),
            }
        }
    }
}

impl SqlBinder<'_> {
    /// Binds one frame bound.
    fn frame_bound(
        &self,
        bound: &ast::WindowFrameBound,
        units: FrameUnits,
        order_type: Option<&DataType>,
        scope: &Scope,
    ) -> Result<FrameBound> {
        let offset = |e: &ast::Expr| -> Result<ScalarValue> {
            let value = self.bind_expr(e, &Scope::plain(scope.schema))?;
            frame_offset(value, units, order_type).map_err(|err| err.or_at(e.span()))
        };
        Ok(match bound {
            ast::WindowFrameBound::CurrentRow => FrameBound::CurrentRow,
            ast::WindowFrameBound::Preceding(None) => FrameBound::UnboundedPreceding,
            ast::WindowFrameBound::Following(None) => FrameBound::UnboundedFollowing,
            ast::WindowFrameBound::Preceding(Some(e)) => FrameBound::Preceding(offset(e)?),
            ast::WindowFrameBound::Following(Some(e)) => FrameBound::Following(offset(e)?),
        })
    }

    /// Binds a written frame; `order_type` is the type of the only `ORDER BY` key, if there
    /// is exactly one.
    fn frame(
        &self,
        frame: &ast::WindowFrame,
        order_type: Option<&DataType>,
        scope: &Scope,
    ) -> Result<WindowFrame> {
        let units = match frame.units {
            ast::WindowFrameUnits::Rows => FrameUnits::Rows,
            ast::WindowFrameUnits::Range => FrameUnits::Range,
            ast::WindowFrameUnits::Groups => {
                return Err(PlanError::not_supported("GROUPS frames"));
            }
        };
        let start = self.frame_bound(&frame.start_bound, units, order_type, scope)?;
        let end = match &frame.end_bound {
            Some(end) => self.frame_bound(end, units, order_type, scope)?,
            None => FrameBound::CurrentRow,
        };
        let rank = |bound: &FrameBound| match bound {
            FrameBound::UnboundedPreceding => 0,
            FrameBound::Preceding(_) => 1,
            FrameBound::CurrentRow => 2,
            FrameBound::Following(_) => 3,
            FrameBound::UnboundedFollowing => 4,
        };
        if start == FrameBound::UnboundedFollowing
            || end == FrameBound::UnboundedPreceding
            || rank(&start) > rank(&end)
        {
            return Err(PlanError::invalid(format!(
                "the frame from {start} to {end} is not valid: it must not start after it ends"
            )));
        }
        Ok(WindowFrame { units, start, end })
    }

    /// Binds `name(args) OVER over`, where the scope allows window calls.
    pub(super) fn bind_window_call(
        &self,
        function: &ast::Function,
        name: &str,
        over: &ast::WindowType,
        scope: &Scope,
    ) -> Result<Expr> {
        let Some(windows) = scope.windows else {
            return Err(PlanError::invalid(format!(
                "window function '{name}' is not allowed here (only in SELECT, QUALIFY and ORDER BY)"
            )));
        };
        let kind = match BuiltinWindowFunction::from_name(name) {
            Some(function) => WindowFunctionKind::Builtin(function),
            None if self.registry.aggregate(name).is_some() => WindowFunctionKind::Aggregate {
                name: name.to_string(),
                distinct: false,
            },
            None if self.registry.scalar(name).is_some() => {
                return Err(PlanError::invalid(format!(
                    "{name} is not a window or aggregate function, so it cannot have OVER"
                )));
            }
            None => return Err(self.registry.unknown_function(name)),
        };
        if function.filter.is_some() {
            return Err(PlanError::not_supported("FILTER in window calls"));
        }
        let (mut args, distinct, inner_nulls) = self.bind_arguments(function, name, scope)?;
        let mut null_treatment = function.null_treatment.or(inner_nulls);
        if let Some(treatment) = null_treatment
            && matches!(kind, WindowFunctionKind::Aggregate { .. })
            && self.takes_null_treatment(name)
        {
            self.apply_null_treatment(&mut args, treatment);
            null_treatment = None;
        }
        let ignore_nulls = matches!(null_treatment, Some(ast::NullTreatment::IgnoreNulls));
        let kind = match kind {
            WindowFunctionKind::Aggregate { name, .. } => {
                WindowFunctionKind::Aggregate { name, distinct }
            }
            WindowFunctionKind::Builtin(function) => {
                if distinct {
                    return Err(PlanError::invalid(format!(
                        "DISTINCT is not valid in {}",
                        function.name()
                    )));
                }
                if ignore_nulls && !function.supports_null_treatment() {
                    return Err(PlanError::invalid(format!(
                        "IGNORE NULLS is not valid in {}",
                        function.name()
                    )));
                }
                WindowFunctionKind::Builtin(function)
            }
        };
        if ignore_nulls && matches!(kind, WindowFunctionKind::Aggregate { .. }) {
            return Err(PlanError::invalid(format!(
                "IGNORE NULLS is not valid in the aggregate {name}"
            )));
        }
        let spec = match over {
            ast::WindowType::WindowSpec(spec) => refine(windows, spec)?,
            ast::WindowType::NamedWindow(window) => named(windows, window)?,
        };
        let partition_by = spec
            .partition_by
            .iter()
            .map(|e| self.bind_expr(e, scope))
            .collect::<Result<Vec<_>>>()?;
        let mut order_by = Vec::with_capacity(spec.order_by.len());
        for key in spec.order_by {
            let (asc, nulls_first) = sort_options(key)?;
            order_by.push(SortExpr::new(
                self.bind_expr(&key.expr, scope)?,
                asc,
                nulls_first,
            ));
        }
        let frame = match spec.frame {
            Some(frame) => {
                let order_type = match order_by.as_slice() {
                    [only] => Some(self.type_of(&only.expr, scope)?),
                    _ => None,
                };
                self.frame(frame, order_type.as_ref(), scope)?
            }
            None => WindowFrame::default_for(!order_by.is_empty()),
        };
        self.coercion(scope).window_call(WindowFunction {
            kind,
            args,
            partition_by,
            order_by,
            frame,
            ignore_nulls,
        })
    }
}

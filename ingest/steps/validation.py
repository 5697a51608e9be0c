"""Great Expectations (1.x) validation of a cleaned week before it is loaded.

The suite: the exact schema, non-null keys, price_usd bounds, the currency and
condition sets, (source, listing_id) unique within the week, one market_week,
and the row count within the expected range. A failing suite stops the load;
:class:`ValidationFailed` names each failed expectation with example rows.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import os
import sys
import types
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.steps.cleaning import MAX_PRICE_USD, MIN_PRICE_USD
from ingest.steps.fx import SUPPORTED_CURRENCIES
from ingest.steps.parsing import CONDITION_CATEGORIES
from ingest.steps.results import ValidationReport

KEY_COLUMNS: tuple[str, ...] = (
    "market_week",
    "source",
    "listing_id",
    "scraped_at",
    "brand",
    "reference_number",
    "condition",
    "currency",
    "price_local",
    "price_usd",
    "is_outlier",
)
EXAMPLE_ROWS = 5
# The columns the value expectations read (the wide text columns are not loaded for validation).
VALUE_COLUMNS: tuple[str, ...] = KEY_COLUMNS
# Those with few distinct values (listing_id, the one with many, stays text).
CATEGORICAL_COLUMNS: tuple[str, ...] = ("market_week", "source", "brand", "reference_number", "condition", "currency")


# Great Expectations imports these at start-up for expectations and renderers this suite never
# runs (the KL-divergence and KS-test expectations, the charts of the data docs): 0.7 of the
# 1.9 CPU-s of its import. They are bound to stand-ins that import the module on first use.
DEFERRED_MODULES: tuple[str, ...] = ("scipy.stats", "altair")


class _DeferredModule(types.ModuleType):
    """Stands in for a module in ``sys.modules`` until one of its attributes is used."""

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._load(), attr)

    def _load(self) -> types.ModuleType:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        module = importlib.import_module(name)
        parent, _, child = name.rpartition(".")
        if parent and getattr(sys.modules[parent], child, None) is self:
            setattr(sys.modules[parent], child, module)
        return module


def defer_import(name: str) -> None:
    """Bind ``name`` to a stand-in that imports the real module on its first attribute access.

    Nothing happens when the module is already imported or is not installed.
    """
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)  # imports the parent package (for scipy.stats: scipy, 4 ms)
    if spec is None:
        return
    stand_in = _DeferredModule(name)
    stand_in.__spec__ = spec
    sys.modules[name] = stand_in
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, stand_in)


def import_great_expectations() -> types.ModuleType:
    """Import Great Expectations with :data:`DEFERRED_MODULES` deferred; returns the ``gx`` module."""
    if "great_expectations" not in sys.modules:
        from ingest.settings import get_settings

        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        for name in DEFERRED_MODULES if "gx_defer" not in get_settings().ingest_tuning_off else ():
            defer_import(name)
    import great_expectations

    return great_expectations


class ValidationFailed(Exception):
    """The cleaned week broke the expectation suite; the message names what failed."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        lines = [f"validation failed: {len(report.failed)} expectation(s) not met"]
        for item in report.failed:
            lines.append(
                f"- {item['expectation']} {item['kwargs']}: {item['unexpected_count']} unexpected; "
                f"examples: {item['examples']}"
            )
        super().__init__("\n".join(lines))

    def __reduce__(self) -> tuple[type, tuple[ValidationReport]]:  # raised in the validation process
        return (type(self), (self.report,))


def values_frame(values: pa.Table) -> pd.DataFrame:
    """The value columns as the pandas frame the suite reads.

    The week becomes ISO text in Arrow (pandas' astype of date objects costs 0.45 s a week),
    and the few-valued columns become categoricals: GX's masks and set checks then index
    small integer codes instead of taking from Arrow strings (0.4 s of a 1M-row week).
    """
    week = values.schema.get_field_index("market_week")
    values = values.set_column(week, "market_week", pc.cast(values.column(week), pa.string()))
    for name in CATEGORICAL_COLUMNS:
        index = values.schema.get_field_index(name)
        values = values.set_column(index, name, pc.dictionary_encode(values.column(index)))
    return values.to_pandas()


def _schema_suite(columns: list[str]) -> Any:
    gx = import_great_expectations()
    suite = gx.ExpectationSuite(name="cleaned_listings_week_schema")
    suite.add_expectation(gx.expectations.ExpectTableColumnsToMatchOrderedList(column_list=columns))
    return suite


def _suite(min_rows: int, max_rows: int, week: str) -> Any:
    gx = import_great_expectations()
    e = gx.expectations
    suite = gx.ExpectationSuite(name="cleaned_listings_week")
    for column in KEY_COLUMNS:
        suite.add_expectation(e.ExpectColumnValuesToNotBeNull(column=column))
    suite.add_expectation(
        e.ExpectColumnValuesToBeBetween(column="price_usd", min_value=MIN_PRICE_USD, max_value=MAX_PRICE_USD)
    )
    suite.add_expectation(e.ExpectColumnValuesToBeInSet(column="currency", value_set=list(SUPPORTED_CURRENCIES)))
    suite.add_expectation(e.ExpectColumnValuesToBeInSet(column="condition", value_set=list(CONDITION_CATEGORIES)))
    suite.add_expectation(e.ExpectCompoundColumnsToBeUnique(column_list=["source", "listing_id"]))
    suite.add_expectation(e.ExpectColumnValuesToBeInSet(column="market_week", value_set=[week]))
    suite.add_expectation(e.ExpectTableRowCountToBeBetween(min_value=min_rows, max_value=max_rows))
    return suite


def validate_listings(
    frame: pd.DataFrame,
    schema: pa.Schema | None,
    expected_columns: list[str],
    week: str,
    min_rows: int,
    max_rows: int,
) -> ValidationReport:
    """Validate the cleaned week. Returns the report; raises :class:`ValidationFailed`.

    ``frame`` holds (at least) :data:`VALUE_COLUMNS`; ``schema`` is the staged file's full
    schema (validated as a zero-row batch), or None to take the schema from ``frame``.
    """
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    gx = import_great_expectations()
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every in-memory batch under 1 GB (pandas' hash of every cell, then md5):
    # 1.4 s of a 1M-row week, used only as a batch marker that this report does not read.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    with contextlib.suppress(Exception):  # progress bars are cosmetic; config shapes vary by version
        context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    asset = context.data_sources.add_pandas("cleaned").add_dataframe_asset("listings_week")
    batch_definition = asset.add_batch_definition_whole_dataframe("week")
    result_format = {
        "result_format": "SUMMARY",
        "unexpected_index_column_names": ["source", "listing_id"],
        "partial_unexpected_count": EXAMPLE_ROWS,
    }
    shape = schema.empty_table().to_pandas() if schema is not None else frame.head(0)
    results = list(
        batch_definition.get_batch(batch_parameters={"dataframe": shape})
        .validate(_schema_suite(expected_columns), result_format={"result_format": "SUMMARY"})
        .results
    )
    values = frame
    if frame["market_week"].dtype == object:  # date objects: compared as the ISO week string
        values = frame.assign(market_week=frame["market_week"].astype("string"))
    results += (
        batch_definition.get_batch(batch_parameters={"dataframe": values})
        .validate(_suite(min_rows, max_rows, week), result_format=result_format)
        .results
    )
    failed = []
    for item in results:
        if item.success:
            continue
        res = item.result or {}
        examples = res.get("partial_unexpected_index_list") or res.get("partial_unexpected_list") or []
        if not examples and "observed_value" in res:
            examples = [res["observed_value"]]
        failed.append(
            {
                "expectation": item.expectation_config.type,
                "kwargs": {k: v for k, v in item.expectation_config.kwargs.items() if k != "batch_id"},
                "unexpected_count": res.get("unexpected_count"),
                "examples": [_jsonable(x) for x in examples[:EXAMPLE_ROWS]],
            }
        )
    report = ValidationReport(success=not failed, evaluated=len(results), rows=len(frame), failed=failed)
    if failed:
        raise ValidationFailed(report)
    return report


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)

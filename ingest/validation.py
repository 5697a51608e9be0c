"""Great Expectations (1.x) validation of a cleaned week before it is loaded.

The suite: the exact schema, non-null keys, price_usd bounds, the currency and
condition sets, (source, listing_id) unique within the week, one market_week,
and the row count within the expected range. A failing suite stops the load;
:class:`ValidationFailed` names each failed expectation with example rows.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import pandas as pd

from ingest.cleaning import MAX_PRICE_USD, MIN_PRICE_USD
from ingest.fx import SUPPORTED_CURRENCIES
from ingest.parsing import CONDITION_CATEGORIES

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


class ValidationFailed(Exception):
    """The cleaned week broke the expectation suite; the message names what failed."""

    def __init__(self, report: dict[str, Any]) -> None:
        self.report = report
        lines = [f"validation failed: {len(report['failed'])} expectation(s) not met"]
        for item in report["failed"]:
            lines.append(f"- {item['expectation']} {item['kwargs']}: {item['unexpected_count']} unexpected; "
                         f"examples: {item['examples']}")
        super().__init__("\n".join(lines))


def _suite(columns: list[str], min_rows: int, max_rows: int, week: str) -> Any:
    import great_expectations as gx

    e = gx.expectations
    suite = gx.ExpectationSuite(name="cleaned_listings_week")
    suite.add_expectation(e.ExpectTableColumnsToMatchSet(column_set=columns, exact_match=True))
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
    frame: pd.DataFrame, expected_columns: list[str], week: str, min_rows: int, max_rows: int
) -> dict:
    """Validate the cleaned week. Returns a JSON-able report; raises :class:`ValidationFailed`."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    try:
        context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    except Exception:  # noqa: BLE001 - older config shapes; progress bars are cosmetic
        pass
    batch_definition = (
        context.data_sources.add_pandas("cleaned")
        .add_dataframe_asset("listings_week")
        .add_batch_definition_whole_dataframe("week")
    )
    suite = _suite(expected_columns, min_rows, max_rows, week)
    frame = frame.assign(market_week=frame["market_week"].astype("string"))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(
        suite,
        result_format={
            "result_format": "SUMMARY",
            "unexpected_index_column_names": ["source", "listing_id"],
            "partial_unexpected_count": EXAMPLE_ROWS,
        },
    )
    failed = []
    for item in result.results:
        if item.success:
            continue
        res = item.result or {}
        examples = res.get("partial_unexpected_index_list") or res.get("partial_unexpected_list") or []
        failed.append(
            {
                "expectation": item.expectation_config.type,
                "kwargs": {k: v for k, v in item.expectation_config.kwargs.items() if k != "batch_id"},
                "unexpected_count": res.get("unexpected_count", res.get("observed_value")),
                "examples": [_jsonable(x) for x in examples[:EXAMPLE_ROWS]],
            }
        )
    report = {
        "success": bool(result.success),
        "evaluated": len(result.results),
        "failed": failed,
        "rows": len(frame),
    }
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

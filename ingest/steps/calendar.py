"""The market calendar: one weekly scrape is one market week, named by the Monday of its ISO week."""

from __future__ import annotations

from datetime import date, timedelta


def market_week_of(day: date) -> date:
    """The Monday of the ISO week that contains ``day``: the one rule for a market week."""
    return day - timedelta(days=day.weekday())

"""Fitting Prophet on a trailing window and caching its forecast as a ``BandCache``."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from anomaly.band import BandCache
from anomaly.errors import AnomalyError

log = logging.getLogger(__name__)


@contextmanager
def prophet_deprecations_ignored() -> Iterator[None]:
    """Prophet 1.5 calls pandas APIs pandas now deprecates; that noise is not ours to fix."""
    with warnings.catch_warnings():
        for category in (DeprecationWarning, FutureWarning, PendingDeprecationWarning):
            warnings.simplefilter("ignore", category)
        yield


def quiet_stan_logs() -> None:
    """cmdstanpy logs two INFO lines per fit and resets its level on import; silence it."""
    from cmdstanpy.utils import get_logger

    get_logger()  # cmdstanpy configures its logger (level INFO) on first use: do it now
    for name in ("cmdstanpy", "prophet", "prophet.plot"):
        logging.getLogger(name).setLevel(logging.ERROR)


@dataclass(frozen=True)
class ForecastConfig:
    """How Prophet is fitted and how far ahead its forecast is cached."""

    train_points: int = 2000  # trailing window fitted on
    max_fit_points: int = 2000  # longer windows are averaged into this many buckets first
    horizon_points: int = 400  # grid points cached ahead of the newest training row
    changepoint_prior_scale: float = 0.05
    n_changepoints: int = 15


def regular_step(ts: npt.NDArray[np.float64]) -> float:
    """The series' sampling period: the median positive gap (60 s if there is none)."""
    gaps = np.diff(np.sort(ts))
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if gaps.size else 60.0


def new_model(config: ForecastConfig) -> object:
    """An unfitted Prophet: MAP fit, no sampling (yhat only; bands come from residuals)."""
    from prophet import Prophet

    quiet_stan_logs()
    return Prophet(
        uncertainty_samples=0,
        yearly_seasonality=False,
        changepoint_prior_scale=config.changepoint_prior_scale,
        n_changepoints=config.n_changepoints,
    )


def training_frame(
    ts: npt.NDArray[np.float64], values: npt.NDArray[np.float64], max_points: int
) -> pd.DataFrame:
    """Sorted, de-duplicated (mean of duplicates), finite rows as Prophet's ``ds, y`` frame;
    more than ``max_points`` rows are averaged into that many consecutive buckets (Prophet's
    fit time grows with rows: 14 days of minutes would take seconds per model)."""
    frame = pd.DataFrame({"t": ts, "y": values})
    frame = frame[np.isfinite(frame["y"]) & np.isfinite(frame["t"])]
    frame = frame.groupby("t", as_index=False)["y"].mean().sort_values("t")
    if len(frame) > max_points:
        bucket = np.arange(len(frame)) * max_points // len(frame)
        frame = frame.groupby(bucket).mean()
    frame["ds"] = pd.to_datetime(frame["t"], unit="s")
    return frame[["ds", "y", "t"]]


def fit(
    ts: npt.NDArray[np.float64], values: npt.NDArray[np.float64], config: ForecastConfig
) -> tuple[object, BandCache]:
    """Fit on the trailing ``train_points`` rows and cache the forecast from the first training
    row to ``horizon_points`` steps past the last one."""
    ts, values = ts[-config.train_points :], values[-config.train_points :]
    step = regular_step(ts[np.isfinite(ts)])
    last = float(np.nanmax(ts)) if ts.size else 0.0
    frame = training_frame(ts, values, config.max_fit_points)
    if len(frame) < 3:
        raise AnomalyError(f"need at least 3 finite points to fit Prophet, got {len(frame)}")
    model = new_model(config)
    if float(frame["y"].std()) == 0.0:
        return model, constant_band(float(frame["y"].iloc[-1]), last, step, config)
    try:
        with prophet_deprecations_ignored():
            model.fit(frame[["ds", "y"]])  # type: ignore[attr-defined]
    except Exception as exc:  # Stan failures surface as several exception types
        raise AnomalyError(f"Prophet fit failed on {len(frame)} points: {exc}") from exc
    return model, band_from_model(model, last, step, config)


def constant_band(level: float, last: float, step: float, config: ForecastConfig) -> BandCache:
    """A flat forecast: Prophet cannot (and need not) fit a constant series."""
    return BandCache(
        start=last,
        step=step,
        expected=np.full(config.horizon_points + 1, level),
        fitted_at=last,
    )


def band_from_model(model: object, last: float, step: float, config: ForecastConfig) -> BandCache:
    """Predict the grid (the series' own step) from the newest training row over the horizon:
    one Prophet call per refit."""
    grid = last + step * np.arange(config.horizon_points + 1)
    future = pd.DataFrame({"ds": pd.to_datetime(grid, unit="s")})
    with prophet_deprecations_ignored():
        predicted = model.predict(future)  # type: ignore[attr-defined]
    yhat = predicted["yhat"].to_numpy(dtype=np.float64)
    return BandCache(start=last, step=step, expected=yhat, fitted_at=last)

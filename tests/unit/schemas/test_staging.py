"""Every staging schema accepts a valid frame and rejects an invalid one."""

from __future__ import annotations

import datetime as dt
import warnings

import pandera.polars as pa
import polars as pl
import pytest
from pandera.errors import SchemaWarning

from vaxclean.schemas import examples
from vaxclean.schemas.staging import STAGING_MODELS

VALID = examples.staging_frames()

BREAKS = {
    "stg_platform__immunizations": ("gender", pl.lit("Nam")),
    "stg_site_batches__batch_rows": ("commune_code", pl.lit("5434")),
    "stg_feedback__tickets": ("channel", pl.lit("fax")),
    "stg_hotline__calls": ("id_class", pl.lit("passport")),
    "stg_population__citizens": ("citizen_id", pl.lit("19080000012")),
    "stg_police_returns__verifications": ("source", pl.lit("police")),
}


@pytest.mark.parametrize("model", list(STAGING_MODELS))
def test_valid_frame_passes(model: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SchemaWarning)
        STAGING_MODELS[model].validate(VALID[model], lazy=True)


@pytest.mark.parametrize("model", list(STAGING_MODELS))
def test_invalid_frame_fails(model: str) -> None:
    column, value = BREAKS[model]
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        STAGING_MODELS[model].validate(VALID[model].with_columns(value.alias(column)), lazy=True)
    assert column in caught.value.failure_cases["column"].to_list()


def test_only_keys_are_required() -> None:
    STAGING_MODELS["stg_site_batches__batch_rows"].validate(pl.DataFrame({"source_record_id": ["F01/a.csv#1"]}), lazy=True)
    with pytest.raises(pa.errors.SchemaErrors, match="record_id"):
        STAGING_MODELS["stg_platform__immunizations"].validate(pl.DataFrame({"gender": ["male"]}), lazy=True)


def test_vaccination_date_out_of_campaign_only_warns() -> None:
    frame = VALID["stg_platform__immunizations"].with_columns(vaccinated_on=pl.lit(dt.date(2012, 7, 1)))
    with pytest.warns(SchemaWarning, match="vaccinated_on_in_campaign"):
        STAGING_MODELS["stg_platform__immunizations"].validate(frame, lazy=True)


def test_a_ticket_code_outside_the_contract_only_warns() -> None:
    """A channel the portal sent outside the contract's list is read as null: a soft check, so one odd value
    does not fail the gate; its tolerated share (vaxclean.schemas._common.SOFT_MAX_SHARE) catches a changed list."""
    frame = VALID["stg_feedback__tickets"].with_columns(channel=pl.lit(None, dtype=pl.String),
                                                        channel_as_sent=pl.lit("Facebook"))
    with pytest.warns(SchemaWarning, match="ticket_codes_known"):
        STAGING_MODELS["stg_feedback__tickets"].validate(frame, lazy=True)

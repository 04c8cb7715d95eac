"""Probabilistic candidates (Splink 5, model loaded from vaxclean/linkage/model.json, never retrained) for
the dose records without a usable ID: no ID, an ID that names nobody, or an ID whose citizen carries
another name. One row per such record that has a candidate: the best and second-best citizen with
their match probabilities. int_dose_records_matched decides (var linkage_threshold)."""


def model(dbt, session):
    dbt.config(materialized="table")
    from vaxclean.linkage.predict import link_records

    common = "name_key, date_of_birth, gender, commune_code, district_code, phone"
    records = dbt.ref("int_dose_records_unioned").project(
        f"dose_record_key, id_candidate, is_dob_year_only, {common}").to_arrow_table()
    citizens = dbt.ref("stg_population__citizens").project(
        f"citizen_id, old_id_number, is_birth_year_only, {common}").to_arrow_table()
    return link_records(records, citizens)

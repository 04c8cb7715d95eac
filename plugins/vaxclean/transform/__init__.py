"""Warehouse build: runs the dbt project (dbt_project/) in-process."""

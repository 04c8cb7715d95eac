"""vaxclean: clean and reconcile a province's COVID-19 vaccination records.

All Python logic of the project lives in this package; DAGs only wire its functions.
"""

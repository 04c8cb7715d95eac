"""vaxclean.worklists: the correction loop's files for the communes.

- `export_worklists`: one XLSX per commune with the cases to verify (the police fill them in and return them);
- `export_write_back`: the corrected identities, in the platform's import template, per commune.
"""

from vaxclean.worklists.export import export_worklists
from vaxclean.worklists.write_back import export_write_back

__all__ = ["export_worklists", "export_write_back"]

"""Holdings CSV import: detect the layout, parse every line, report (CSV_IMPORT.md).

Pure Python (csv, decimal, datetime): no Flask, no SQLAlchemy. The app stores what the report
accepts.
"""

from webapp.imports.cells import neutralize
from webapp.imports.options import ParsedOption, parse_option_symbol
from webapp.imports.report import AcceptedRow, ImportReport, RejectedRow
from webapp.imports.template import TEMPLATE_CSV
from webapp.imports.validate import validate_holdings_file

__all__ = [
    "TEMPLATE_CSV",
    "AcceptedRow",
    "ImportReport",
    "ParsedOption",
    "RejectedRow",
    "neutralize",
    "parse_option_symbol",
    "validate_holdings_file",
]

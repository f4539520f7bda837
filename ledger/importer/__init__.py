"""Importing records kept elsewhere — an office's Excel 台账, a city's 311 export — as tasks.

A mapping file (TOML, see ``examples/mappings/``) says which column holds which field, how
dates are written and in which time zone, how each status value maps onto the lifecycle,
what deadline a row without one gets, and whether unknown units and categories are
registered or refused. Each row becomes a task with the events its columns prove, entered
by the importing administrator; the task's Assigned event carries the row's ``origin`` (the
source's name, the file's sha256, the file name, the row number and the source's own id).

A row's task id is derived from the row's identity — the source's own id where the mapping
names an id column, else the values of its ``[file] key`` columns, else the file's digest and
the row number — so a row imported before is recognised and skipped (with ``--update``,
compared with its task: ``update.py``), and two imports racing over the same rows collide in the store
rather than write a row twice. Rows are saved in batches, one transaction each; an import
killed half-way is resumed by running it again, which skips what the saved batches hold.
Bad rows are never dropped silently: each is reported with its row, column, value and reason.
"""

from ledger.importer.batch import task_id_for
from ledger.importer.dates import strptime
from ledger.importer.importing import Importer
from ledger.importer.mapping import Mapping, Spec, load_mapping
from ledger.importer.report import ImportReport, Reject, write_rejects
from ledger.importer.row import Row, RowError
from ledger.importer.rows import RowReader
from ledger.importer.tables import Table, cell_text, open_table
from ledger.importer.units import unit_code_for

__all__ = ["ImportReport", "Importer", "Mapping", "Reject", "Row", "RowError", "RowReader",
           "Spec", "Table", "cell_text", "load_mapping", "open_table", "strptime",
           "task_id_for", "unit_code_for", "write_rejects"]

"""The results store: pytest-benchmark JSON in, one parquet file per run out, every run read back.

Layout: ``<results>/runs/<run_id>.parquet``, one row per case (measured or skipped), and the
runs index ``<results>/index/runs.parquet`` (a cache); see docs/SCHEMA.md. Modules: ``schema``
(columns and types), ``ingest`` (JSON -> rows), ``write`` (append-only run files, created
exclusively), ``index`` (which runs there are, without opening them), ``admit`` (the checks and
type unification the reader applies to each run file), ``read`` (only the runs, rows and columns
asked for), ``location`` (local folder or fsspec URL), ``machine`` (the machine key), ``run_id``,
``validate`` (the one validation layer: documents at ingest, run files when read),
``column_types`` (mixed types as JSON text), ``check`` (``gpubench store check``).
"""

from gpubench.store.column_types import unify_column_types
from gpubench.store.index import RunIndex, run_index
from gpubench.store.ingest import IngestedRun, frame_from_json, ingest, load_json
from gpubench.store.machine import machine_key
from gpubench.store.read import latest_run_id, list_runs, read_results
from gpubench.store.run_id import validate_run_id
from gpubench.store.schema import (
    CASE_COLUMNS,
    KNOWN_TYPES,
    RESERVED,
    RUN_COLUMNS,
    RUNS_DIR,
    SCHEMA_VERSION,
    STAT_COLUMNS,
    StoreError,
)
from gpubench.store.validate import InvalidRunFile, validate_document, validate_run_frame
from gpubench.store.write import write_run

__all__ = [
    "CASE_COLUMNS",
    "KNOWN_TYPES",
    "RESERVED",
    "RUNS_DIR",
    "RUN_COLUMNS",
    "SCHEMA_VERSION",
    "STAT_COLUMNS",
    "IngestedRun",
    "InvalidRunFile",
    "RunIndex",
    "StoreError",
    "frame_from_json",
    "ingest",
    "latest_run_id",
    "list_runs",
    "load_json",
    "machine_key",
    "read_results",
    "run_index",
    "unify_column_types",
    "validate_document",
    "validate_run_frame",
    "validate_run_id",
    "write_run",
]

"""The run file's stamp: what the runs index needs, in the parquet footer, so a cold read opens no data.

``write.write_run`` (called by ingest, after ``validate.validate_run_frame``) puts one JSON entry
under ``gpubench.run`` in the file's key-value metadata: the stamp version, the store's schema
version, run id, start time, machine key, GPU, host, profile, suites, case counts, environment,
the (suite, case) pairs measured, the columns held as JSON text and the number of rows, and
``validated``: this gpubench validated the rows before writing them.

The index (``index._index_file``) reads only the footer (``stamped_entry``). A stamp is believed
only when it agrees with the footer itself (its run id is the file's name, its row count the
footer's, its schema version one this gpubench reads, the required columns present); otherwise,
and for a file with no stamp (an older gpubench's, a hand-made one), the file is read whole and
validated as before. A stamp that lies about the data is not caught here; the read path's type
unification (``admit.unified_schema``, ``conform``) still brings any column to one type, so such
a file never crashes a reader. See docs/SCHEMA.md, "Cold reads".
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gpubench.store.admit import mark_json_fields
from gpubench.store.column_types import json_columns
from gpubench.store.machine import ENVIRONMENT_COLUMNS, machine_key
from gpubench.store.schema import SCHEMA_VERSION
from gpubench.store.validate import REQUIRED_COLUMNS, NewerSchemaError

STAMP_KEY = b"gpubench.run"
STAMP_VERSION = 1


def stamp_of(frame: pd.DataFrame) -> bytes:
    """The stamp of one validated run's rows (``validate.validate_run_frame`` passed)."""
    first = frame.iloc[0]
    ok = frame[frame["status"] == "ok"]
    pairs = sorted(zip(ok["suite"].astype(str).tolist(), ok["case"].astype(str).tolist(), strict=True))
    document = {
        "stamp_version": STAMP_VERSION,
        "validated": True,
        "schema_version": int(pd.to_numeric(frame["schema_version"]).max()),
        "run_id": str(first["run_id"]),
        "started_at": pd.Timestamp(first["started_at"]).isoformat(),
        "machine": str(machine_key(frame.iloc[:1]).iloc[0]),
        "gpu_name": _text(first.get("gpu_name")),
        "hostname": _text(first.get("hostname")),
        "profile": _text(first.get("profile")),
        "suites": sorted({str(suite) for suite in frame["suite"].dropna()}),
        "rows": len(frame),
        "measured": len(ok),
        "environment": {key: _text(first.get(key)) for key in ENVIRONMENT_COLUMNS if key in frame},
        "pairs": pairs,
        "json_columns": sorted(json_columns(frame)),
    }
    return json.dumps(document, sort_keys=True).encode()


def stamped_table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as the arrow table a run file holds, its stamp in the schema's metadata."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table.replace_schema_metadata({**(table.schema.metadata or {}), STAMP_KEY: stamp_of(frame)})


def stamped_entry(source: Any, name: str) -> tuple[dict, pa.Schema, frozenset] | None:
    """(index row, schema, measured pairs) from the footer of the run file ``source`` (a path or an
    open file) named ``name``; None when it has no stamp to believe (then it is read whole)."""
    try:
        metadata = pq.read_metadata(source)
        stamp = json.loads((metadata.metadata or {})[STAMP_KEY])
    except Exception:  # no stamp, or a footer pyarrow cannot read: the full read says why
        return None
    try:
        if stamp.get("stamp_version") != STAMP_VERSION or stamp.get("validated") is not True:
            return None
        if int(stamp["schema_version"]) > SCHEMA_VERSION:
            raise NewerSchemaError(
                f"schema version {stamp['schema_version']} is newer than this gpubench ({SCHEMA_VERSION}); upgrade"
            )
        schema = metadata.schema.to_arrow_schema().remove_metadata()
        run_id = str(stamp["run_id"])
        if f"{run_id}.parquet" != name or int(stamp["rows"]) != metadata.num_rows or metadata.num_rows < 1:
            return None
        if not set(REQUIRED_COLUMNS) <= set(schema.names):
            return None
        started = pd.Timestamp(stamp["started_at"])
        started = started.tz_localize("UTC") if started.tzinfo is None else started.tz_convert("UTC")
        pairs = frozenset((str(suite), str(case)) for suite, case in stamp["pairs"])
        env = dict(stamp["environment"])
        schema = mark_json_fields(schema, {str(column) for column in stamp["json_columns"]})
        row = {
            "run_id": run_id,
            "started_at": started,
            "machine": str(stamp["machine"]),
            "gpu_name": _text(stamp.get("gpu_name")),
            "hostname": _text(stamp.get("hostname")),
            "profile": _text(stamp.get("profile")),
            "suites": ",".join(str(suite) for suite in stamp["suites"]),
            "cases": int(stamp["rows"]),
            "measured": int(stamp["measured"]),
            "environment": json.dumps({key: _text(env[key]) for key in ENVIRONMENT_COLUMNS if key in env}),
            "schema_id": hashlib.sha256(schema.serialize().to_pybytes()).hexdigest()[:16],
            "measured_id": hashlib.sha256(json.dumps(sorted(pairs)).encode()).hexdigest()[:16],
            "problem": None,
        }
    except NewerSchemaError:
        raise
    except Exception:  # a stamp that is not what this gpubench writes: read the file whole
        return None
    return row, schema, pairs


def _text(value: Any) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)

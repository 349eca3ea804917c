#!/usr/bin/env python3
"""Reads every strata Parquet file in DIR with DuckDB and with pyarrow and prints, per file and
tool, one JSON line: the row count, each column's type as the tool sees it, and the exact sum of
every decimal column (book levels: of every level's price and size), as text.

    python3 outside_tools.py DIR

Used by outside_tools_read_it.rs, which compares the figures with strata's own.
"""

import json
import pathlib
import sys

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def decimal_columns(table):
    """(name, array) of every decimal column; list<struct> levels flattened to `bids.price` etc."""
    out = []
    for field in table.schema:
        col = table.column(field.name)
        if pa.types.is_decimal(field.type):
            out.append((field.name, col))
        elif pa.types.is_list(field.type) and pa.types.is_struct(field.type.value_type):
            levels = pc.list_flatten(col)
            for sub in field.type.value_type:
                if pa.types.is_decimal(sub.type):
                    out.append((f"{field.name}.{sub.name}", pc.struct_field(levels, sub.name)))
    return out


def with_pyarrow(path):
    table = pq.read_table(path)
    sums = {}
    for name, values in decimal_columns(table):
        total = pc.sum(values).as_py()
        sums[name] = None if total is None else str(total)
    types = {f.name: str(f.type) for f in table.schema}
    return {"rows": table.num_rows, "types": types, "sums": sums}


def with_duckdb(path):
    con = duckdb.connect()
    con.execute("SET threads=1")
    rel = f"read_parquet('{path}')"
    described = con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()
    types = {name: kind for name, kind, *_ in described}
    rows = con.execute(f"SELECT count(*) FROM {rel}").fetchone()[0]
    sums = {}
    for name, kind in types.items():
        if kind.startswith("DECIMAL"):
            total = con.execute(f'SELECT sum("{name}")::VARCHAR FROM {rel}').fetchone()[0]
            sums[name] = total
        elif kind.startswith("STRUCT(") and kind.endswith("[]"):
            for leaf in ("price", "size"):
                total = con.execute(
                    f'SELECT sum(l.{leaf})::VARCHAR FROM (SELECT unnest("{name}") AS l FROM {rel})'
                ).fetchone()[0]
                sums[f"{name}.{leaf}"] = total
    return {"rows": rows, "types": types, "sums": sums}


def main():
    folder = pathlib.Path(sys.argv[1])
    for path in sorted(folder.glob("*.parquet")):
        for tool, read in (("duckdb", with_duckdb), ("pyarrow", with_pyarrow)):
            print(json.dumps({"file": path.name, "tool": tool, **read(str(path))}))


if __name__ == "__main__":
    main()

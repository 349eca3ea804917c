#!/usr/bin/env python3
"""Reference side of the query benchmark: DuckDB (one thread) reading one symbol's events of a
time range, in time order, from the same files strata's query reads.

    python3 benches/query_ref.py --kind trade --symbol SPY [--from NS] [--to NS] [--reps N] \
        (--parquet FILE... | --jsonl FILE...)

Parquet: `SELECT * FROM read_parquet([FILES], union_by_name=true) WHERE symbol = S AND ts >= ...
AND ts < ... ORDER BY ts`. JSONL (strata's hot files, any codec DuckDB reads by extension):
`read_json([FILES], format='newline_delimited', columns={...})` with every column's type given
(decimals as DECIMAL(18, s), s given with --scale NAME=S; times as BIGINT) and the
same WHERE and ORDER BY. The result is materialised as an Arrow table (`to_arrow_table`).
Prints one JSON line: {"tool": "duckdb", "rows": N, "seconds": S} with S the median of the
repetitions (query and materialisation only; start-up and imports are not timed).
"""

import argparse
import json
import os
import statistics
import sys
import time

import duckdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parquet_ref  # noqa: E402  (FIELDS, DUCKDB_TYPES, PRECISION, sql_string)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", default="trade")
    parser.add_argument("--symbol", required=True)
    parser.add_argument("--from", dest="start", type=int)
    parser.add_argument("--to", dest="end", type=int)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--scale", action="append", default=[], help="NAME=S: a decimal column's scale (JSONL)")
    files = parser.add_mutually_exclusive_group(required=True)
    files.add_argument("--parquet", nargs="+")
    files.add_argument("--jsonl", nargs="+")
    args = parser.parse_args()
    q = parquet_ref.sql_string
    con = duckdb.connect()
    con.execute("SET threads=1")
    if args.parquet:
        source = f"read_parquet([{', '.join(q(f) for f in args.parquet)}], union_by_name=true)"
        # strata's `ts` is a UTC-adjusted nanosecond timestamp: TIMESTAMPTZ_NS in DuckDB.
        con.execute("SET TimeZone='UTC'")
        bound = lambda ns: f"CAST(make_timestamp_ns({ns}) AS TIMESTAMPTZ_NS)"  # noqa: E731
    else:
        scales = dict((k, int(v)) for k, v in (pair.split("=") for pair in args.scale))
        columns = []
        for name, kind_of_field in parquet_ref.FIELDS[args.kind]:
            if kind_of_field == "decimal":
                columns.append(f"{q(name)}: 'DECIMAL({parquet_ref.PRECISION}, {scales[name]})'")
            else:
                columns.append(f"{q(name)}: {q(parquet_ref.DUCKDB_TYPES[kind_of_field])}")
        source = (
            f"read_json([{', '.join(q(f) for f in args.jsonl)}], format='newline_delimited', "
            f"columns={{{', '.join(columns)}}})"
        )
        bound = lambda ns: str(ns)  # noqa: E731
    where = [f"symbol = {q(args.symbol)}"]
    if args.start is not None:
        where.append(f"ts >= {bound(args.start)}")
    if args.end is not None:
        where.append(f"ts < {bound(args.end)}")
    sql = f"SELECT * FROM {source} WHERE {' AND '.join(where)} ORDER BY ts"
    seconds = []
    rows = 0
    for _ in range(args.reps):
        start = time.perf_counter()
        table = con.execute(sql).to_arrow_table()
        seconds.append(time.perf_counter() - start)
        rows = table.num_rows
        del table
    print(json.dumps({"tool": "duckdb", "rows": rows, "seconds": statistics.median(seconds)}))


if __name__ == "__main__":
    main()

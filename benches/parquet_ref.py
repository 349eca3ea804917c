#!/usr/bin/env python3
"""Reference side of the JSONL -> Parquet benchmark: strata JSONL (docs/SCHEMA.md) of one event
kind converted to a zstd Parquet file sorted by `ts`, by DuckDB and by pyarrow, each on one
thread.

    python3 benches/parquet_ref.py --input FILE.jsonl --kind trade|bbo_quote|order_book_delta \
        --out DIR [--tools duckdb,pyarrow] [--zstd-level N]

The input holds events of KIND only. For each tool it prints one JSON line to stdout:

    {"tool": "duckdb", "kind": "trade", "rows": N, "seconds": S, "bytes": B,
     "path": "DIR/duckdb_trade.parquet"}

`seconds` is the wall time (time.perf_counter) of the conversion alone: read the JSON, sort,
write the Parquet file. Not timed: start-up and imports, a pre-scan of the input that finds the
scale S of each decimal column (the most digits after the point in the file), and the check.

Both tools keep every field of the kind (SCHEMA.md order): prices and sizes as exact
DECIMAL(18, S), `ts` and `recv_ts` as ns timestamps (`recv_ts` is `ts` where absent, as the
schema defines), `seq`/`order_id` as uint64, `flags` as uint8, the rest as strings.
- DuckDB: `SET threads=1`; `COPY (SELECT ... FROM read_json(FILE, format='newline_delimited',
  columns={...}) ORDER BY ts) TO OUT (FORMAT parquet, COMPRESSION zstd[, COMPRESSION_LEVEL N])`,
  decimals read as DECIMAL(18, S), times as BIGINT through make_timestamp_ns (TIMESTAMP_NS:
  DuckDB's TIMESTAMPTZ holds microseconds only).
- pyarrow: `pyarrow.json.read_json` with an explicit schema (decimals as strings, times as
  int64), casts to decimal128(18, S) and timestamp('ns', tz='UTC'), `sort_by('ts')`,
  `pq.write_table(compression='zstd'[, compression_level=N])`; set_cpu_count(1),
  set_io_thread_count(1), use_threads=False.
Without --zstd-level each tool uses its own default zstd level (DuckDB 2.0: 3, pyarrow 26: 1).
A decimal column whose values need more than 18 digits at the file's scale is refused before
any conversion (exit 1).

After timing, each output is read back with pyarrow and checked: its row count equals the
number of non-empty input lines, it is sorted by `ts`, and the sum of the checked decimal column
(trade and order_book_delta: `price`, bbo_quote: `bid_price`, where present) equals the exact
decimal.Decimal sum of that field's text in the input. A failed check exits 1 naming it.
"""

import argparse
import decimal
import json
import os
import re
import sys
import time
from typing import NoReturn

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
import pyarrow.parquet as pq

PRECISION = 18

COMMON = [
    ("v", "string"),
    ("kind", "string"),
    ("source", "string"),
    ("symbol", "string"),
    ("venue", "string"),
    ("ts", "time"),
    ("recv_ts", "time"),
    ("ts_basis", "string"),
    ("seq", "uint64"),
]
# Every field an event of the kind may carry, in SCHEMA.md order. "decimal": a JSON string
# holding an exact decimal; "time": a JSON integer, ns since the epoch (UTC).
FIELDS = {
    "trade": COMMON
    + [
        ("price", "decimal"),
        ("size", "decimal"),
        ("side", "string"),
        ("trade_id", "string"),
        ("conditions", "string"),
    ],
    "bbo_quote": COMMON
    + [
        ("bid_price", "decimal"),
        ("bid_size", "decimal"),
        ("ask_price", "decimal"),
        ("ask_size", "decimal"),
    ],
    "order_book_delta": COMMON
    + [
        ("action", "string"),
        ("side", "string"),
        ("price", "decimal"),
        ("size", "decimal"),
        ("order_id", "uint64"),
        ("flags", "uint8"),
    ],
}
CHECKED = {"trade": "price", "bbo_quote": "bid_price", "order_book_delta": "price"}

DUCKDB_TYPES = {"string": "VARCHAR", "time": "BIGINT", "uint64": "UBIGINT", "uint8": "UTINYINT"}
ARROW_READ_TYPES = {
    "string": pa.string(),
    "time": pa.int64(),
    "uint64": pa.uint64(),
    "uint8": pa.uint8(),
    "decimal": pa.string(),
}
ARROW_TIME = pa.timestamp("ns", tz="UTC")


def fail(message: str) -> NoReturn:
    sys.exit(f"parquet_ref: {message}")


def prescan(data: bytes, kind: str) -> tuple[dict[str, int], int, decimal.Decimal]:
    """The scale of each decimal column, the number of non-empty lines and the exact sum of the
    checked column, from the input text."""
    scales = {}
    checked_sum = decimal.Decimal(0)
    for name, kind_of_field in FIELDS[kind]:
        if kind_of_field != "decimal":
            continue
        pattern = rb'"%s"\s*:\s*"(-?[0-9]+(?:\.[0-9]+)?)"' % name.encode()
        values = re.findall(pattern, data)
        scale = whole = 0
        for value in values:
            integer, _, fraction = value.lstrip(b"-").partition(b".")
            scale = max(scale, len(fraction))
            whole = max(whole, len(integer.lstrip(b"0")))
        if whole + scale > PRECISION:
            fail(
                f"`{name}` needs {whole} digits before the point and {scale} after, "
                f"more than DECIMAL({PRECISION}, {scale}) holds"
            )
        scales[name] = scale
        if name == CHECKED[kind]:
            with decimal.localcontext(decimal.Context(prec=100)):
                checked_sum = sum((decimal.Decimal(v.decode()) for v in values), checked_sum)
    lines = sum(1 for line in data.split(b"\n") if line.strip())
    return scales, lines, checked_sum


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def convert_duckdb(
    src: str, kind: str, scales: dict[str, int], out: str, level: int | None
) -> float:
    con = duckdb.connect()
    con.execute("SET threads=1")
    columns = []
    select = []
    for name, kind_of_field in FIELDS[kind]:
        if kind_of_field == "decimal":
            columns.append(f"{sql_string(name)}: 'DECIMAL({PRECISION}, {scales[name]})'")
        else:
            columns.append(f"{sql_string(name)}: {sql_string(DUCKDB_TYPES[kind_of_field])}")
        if name == "recv_ts":
            select.append('make_timestamp_ns(coalesce("recv_ts", "ts")) AS "recv_ts"')
        elif kind_of_field == "time":
            select.append(f'make_timestamp_ns("{name}") AS "{name}"')
        else:
            select.append(f'"{name}"')
    options = "FORMAT parquet, COMPRESSION zstd"
    if level is not None:
        options += f", COMPRESSION_LEVEL {level}"
    sql = (
        f"COPY (SELECT {', '.join(select)} FROM read_json({sql_string(src)}, "
        f"format='newline_delimited', columns={{{', '.join(columns)}}}) ORDER BY ts) "
        f"TO {sql_string(out)} ({options})"
    )
    start = time.perf_counter()
    con.execute(sql)
    seconds = time.perf_counter() - start
    con.close()
    return seconds


def convert_pyarrow(
    src: str, kind: str, scales: dict[str, int], out: str, level: int | None
) -> float:
    fields = FIELDS[kind]
    parse = pj.ParseOptions(
        explicit_schema=pa.schema([(name, ARROW_READ_TYPES[t]) for name, t in fields]),
        unexpected_field_behavior="ignore",
    )
    start = time.perf_counter()
    table = pj.read_json(src, read_options=pj.ReadOptions(use_threads=False), parse_options=parse)
    columns = []
    for name, kind_of_field in fields:
        column = table[name]
        if name == "recv_ts":
            column = pc.coalesce(column, table["ts"])
        if kind_of_field == "time":
            column = column.cast(ARROW_TIME)
        elif kind_of_field == "decimal":
            column = column.cast(pa.decimal128(PRECISION, scales[name]))
        columns.append(column)
    table = pa.table(columns, names=[name for name, _ in fields]).sort_by("ts")
    pq.write_table(table, out, compression="zstd", compression_level=level)
    return time.perf_counter() - start


CONVERTERS = {"duckdb": convert_duckdb, "pyarrow": convert_pyarrow}


def check(tool: str, kind: str, out: str, lines: int, expected_sum: decimal.Decimal) -> int:
    """The output's row count, after checking it against the input (see the module doc)."""
    name = CHECKED[kind]
    table = pq.read_table(out, columns=["ts", name])
    where = f"{tool} {kind} ({out})"
    if table.num_rows != lines:
        fail(f"{where}: {table.num_rows} rows, the input has {lines} non-empty lines")
    ts = table["ts"].combine_chunks()
    if table.num_rows > 1 and not pc.all(pc.less_equal(ts[:-1], ts[1:])).as_py():
        fail(f"{where}: not sorted by ts")
    column = table[name]
    if not pa.types.is_decimal(column.type):
        fail(f"{where}: `{name}` is {column.type}, not a decimal")
    got = pc.sum(column, min_count=0).as_py()
    if got != expected_sum:
        fail(f"{where}: sum({name}) is {got}, the input's is {expected_sum}")
    return table.num_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--input", required=True, help="strata JSONL holding events of KIND only")
    parser.add_argument("--kind", required=True, choices=sorted(FIELDS))
    parser.add_argument("--out", required=True, help="directory for TOOL_KIND.parquet")
    parser.add_argument(
        "--tools", default="duckdb,pyarrow", help="comma-separated: duckdb, pyarrow"
    )
    parser.add_argument("--zstd-level", type=int, help="zstd level (default: each tool's own)")
    args = parser.parse_args()
    tools = args.tools.split(",")
    for tool in tools:
        if tool not in CONVERTERS:
            parser.error(f"unknown tool `{tool}` (known: {', '.join(CONVERTERS)})")

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    os.makedirs(args.out, exist_ok=True)
    with open(args.input, "rb") as f:
        scales, lines, expected_sum = prescan(f.read(), args.kind)

    for tool in tools:
        out = os.path.join(args.out, f"{tool}_{args.kind}.parquet")
        seconds = CONVERTERS[tool](args.input, args.kind, scales, out, args.zstd_level)
        rows = check(tool, args.kind, out, lines, expected_sum)
        record = {
            "tool": tool,
            "kind": args.kind,
            "rows": rows,
            "seconds": round(seconds, 6),
            "bytes": os.path.getsize(out),
            "path": out,
        }
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()

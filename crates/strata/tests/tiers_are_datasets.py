#!/usr/bin/env python3
"""Opens every `kind=<kind>` folder of the given tier folders as a Hive-partitioned dataset with
DuckDB (a `**/*.parquet` glob) and with pyarrow (the folder itself) and prints, per tier, kind, tool and symbol, one JSON line: the event
count and the exact sums of the price and size columns, as text.

    python3 tiers_are_datasets.py TIER_DIR...

Used by tiers_are_datasets.rs. Files of one kind may differ in a decimal column's scale (each
file keeps its own): DuckDB reads them with union_by_name, pyarrow with a schema unified
permissively — the way a user opens the tier.
"""

import json
import pathlib
import sys

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

COLUMNS = {"trade": ("price", "size"), "bbo_quote": ("bid_price", "bid_size"),
           "order_book_delta": ("price", "size")}


def main():
    con = duckdb.connect()
    con.execute("SET threads=1")
    for tier_dir in map(pathlib.Path, sys.argv[1:]):
        for kind_dir in sorted(tier_dir.glob("kind=*")):
            kind = kind_dir.name.split("=", 1)[1]
            price, size = COLUMNS[kind]
            glob = f"{kind_dir}/**/*.parquet"
            rows = con.execute(
                f"SELECT symbol, count(*), sum({price})::VARCHAR, sum({size})::VARCHAR, min(kind), "
                f"typeof(any_value({price})) "
                f"FROM read_parquet('{glob}', hive_partitioning=true, union_by_name=true) "
                "GROUP BY symbol ORDER BY symbol"
            ).fetchall()
            for symbol, n, p, s, k, ty in rows:
                print(json.dumps({"tier": tier_dir.name, "kind": kind, "tool": "duckdb",
                                  "symbol": symbol, "events": n, "price": p, "size": s,
                                  "partition_kind": k, "price_type": ty}))
            # The folder as pyarrow discovers it: the Parquet files only (sidecars and checksum
            # lists beside them start with `_`, which dataset readers skip).
            files = ds.dataset(str(kind_dir), format="parquet").files
            bad = [f for f in files if not f.endswith(".parquet")]
            if bad:
                sys.exit(f"pyarrow would read these as Parquet: {bad}")
            schemas = [ds.dataset(f, format="parquet").schema for f in files]
            schema = pa.unify_schemas(schemas, promote_options="permissive")
            partitioning = ds.partitioning(
                pa.schema([("symbol", pa.string()), ("date", pa.string())]), flavor="hive")
            schema = pa.unify_schemas([schema, partitioning.schema], promote_options="permissive")
            # The whole folder, opened as it is.
            table = ds.dataset(str(kind_dir), format="parquet", schema=schema,
                               partitioning=partitioning).to_table()
            for symbol in sorted(set(table.column("symbol").to_pylist())):
                part = table.filter(pc.equal(table.column("symbol"), symbol))
                print(json.dumps({"tier": tier_dir.name, "kind": kind, "tool": "pyarrow",
                                  "symbol": symbol, "events": part.num_rows,
                                  "price": str(pc.sum(part.column(price)).as_py()),
                                  "size": str(pc.sum(part.column(size)).as_py()),
                                  "partition_kind": kind,
                                  "price_type": str(table.schema.field(price).type)}))


if __name__ == "__main__":
    main()

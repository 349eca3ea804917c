#!/usr/bin/env python3
"""The boto3 side of `benches/s3_throughput.rs` (issue 10): boto3's managed transfers
(`upload_file` / `download_file`, default `TransferConfig`) against one S3 server.

The Rust bench starts this script once and drives it over stdin/stdout, one JSON object per
line, so that boto3 keeps one client (and its connection pool) for the whole run, as strata
keeps one backend:

    -> {"op": "upload", "file": "/tmp/x", "key": "k"}      <- {"ok": true, "seconds": 0.12}
    -> {"op": "download", "key": "k", "file": "/tmp/y"}    <- {"ok": true, "seconds": 0.10}
    -> {"op": "delete", "key": "k"}                        <- {"ok": true}

The first line it prints gives the versions. Only the `upload_file` / `download_file` call is
timed (time.perf_counter). Credentials come from STRATA_BENCH_S3_KEY and
STRATA_BENCH_S3_SECRET (not the command line).

    python3 benches/s3_boto3.py --endpoint http://127.0.0.1:3900 --bucket b --region garage \
        [--checksums when_required|when_supported]
"""

import argparse
import json
import os
import sys
import time

import boto3
import botocore
import s3transfer
from botocore.config import Config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument(
        "--checksums",
        choices=["when_supported", "when_required"],
        default="when_supported",
        help="botocore's request_checksum_calculation and response_checksum_validation "
        "(its default is when_supported: CRC32 on every upload)",
    )
    args = parser.parse_args()

    config = Config(
        s3={"addressing_style": "path"},
        request_checksum_calculation=args.checksums,
        response_checksum_validation=args.checksums,
    )
    client = boto3.client(
        "s3",
        endpoint_url=args.endpoint,
        region_name=args.region,
        aws_access_key_id=os.environ["STRATA_BENCH_S3_KEY"],
        aws_secret_access_key=os.environ["STRATA_BENCH_S3_SECRET"],
        config=config,
    )
    try:
        import awscrt  # noqa: F401  (boto3 may hand transfers to the CRT when present)

        crt = True
    except ImportError:
        crt = False
    reply(
        {
            "ok": True,
            "boto3": boto3.__version__,
            "botocore": botocore.__version__,
            "s3transfer": s3transfer.__version__,
            "python": sys.version.split()[0],
            "awscrt": crt,
            "checksums": args.checksums,
        }
    )

    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        try:
            op = command["op"]
            if op == "upload":
                start = time.perf_counter()
                client.upload_file(command["file"], args.bucket, command["key"])
                reply({"ok": True, "seconds": time.perf_counter() - start})
            elif op == "download":
                start = time.perf_counter()
                client.download_file(args.bucket, command["key"], command["file"])
                reply({"ok": True, "seconds": time.perf_counter() - start})
            elif op == "delete":
                client.delete_object(Bucket=args.bucket, Key=command["key"])
                reply({"ok": True})
            else:
                reply({"ok": False, "error": f"unknown op {op!r}"})
        except Exception as e:  # reported to the bench, which stops with it
            reply({"ok": False, "error": f"{type(e).__name__}: {e}"})


def reply(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

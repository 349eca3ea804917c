//! Any bytes as the body of a Tardis.dev CSV of every data type strata reads (and any bytes as a
//! whole file, header included): every row is an event, a skip or a rejection and the import ends
//! with `End`, or the header is a file-level error — never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata_import::{import_reader, Format, ImportOptions, Record};

const HEADERS: &[&str] = &[
    "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n",
    "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n",
    "exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,bids[0].amount,asks[1].price,asks[1].amount,bids[1].price,bids[1].amount\n",
    "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n",
    "exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate,predicted_funding_rate,open_interest,last_price,index_price,mark_price\n",
    "",
];

fuzz_target!(|data: &[u8]| {
    for header in HEADERS {
        let mut bytes = header.as_bytes().to_vec();
        bytes.extend_from_slice(data);
        let Ok(records) = import_reader(
            std::io::Cursor::new(bytes),
            "fuzz_liquidations.csv",
            Format::Tardis,
            &ImportOptions::default(),
        ) else {
            continue;
        };
        let mut ended = false;
        for record in records {
            assert!(!ended, "a record after End");
            ended = matches!(record, Record::End { .. });
        }
        assert!(ended, "an import ends with End");
    }
});

//! Any bytes as the body of a mapped CSV file (trade, quote and bar mappings): every row is an
//! event or a rejection, the import ends with `End` — never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata_import::{import_reader, Format, ImportOptions, Record};

const CASES: &[(&str, &str)] = &[
    (
        "ts,px,qty,side,id,sym,seq\n",
        "time=ts:ms,price=px,size=qty,side=side,trade_id=id,symbol=sym,sequence=seq",
    ),
    (
        "t,bp,bs,ap,as\n",
        "time=t:rfc3339,bid_price=bp,bid_size=bs,ask_price=ap,ask_size=as",
    ),
    (
        "s,o,h,l,c,v,n,w\n",
        "time=s:s,interval=60,open=o,high=h,low=l,close=c,volume=v,trades=n,vwap=w",
    ),
];

fuzz_target!(|data: &[u8]| {
    for (header, mapping) in CASES {
        let options = ImportOptions {
            symbol: Some("X".into()),
            csv: Some(mapping.parse().expect("a valid mapping")),
            ..ImportOptions::default()
        };
        let mut bytes = header.as_bytes().to_vec();
        bytes.extend_from_slice(data);
        let Ok(records) = import_reader(
            std::io::Cursor::new(bytes),
            "fuzz.csv",
            Format::Csv,
            &options,
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

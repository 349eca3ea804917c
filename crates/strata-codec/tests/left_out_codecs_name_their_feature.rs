//! A build without some codec (its cargo feature off): its streams are still recognised by their
//! magic bytes, and writing or reading one is an error naming the feature to enable, never a
//! misread. Runs only in such a build — CI: `cargo test -p strata-codec --no-default-features
//! --test left_out_codecs_name_their_feature`.
#![cfg(not(all(feature = "gzip", feature = "zstd", feature = "lz4")))]
#![allow(clippy::unwrap_used)]

use std::io::Read;

use strata_codec::{CodecFamily, CodecRegistry, CodecSpec, Decoder, Encoder, Error};

#[test]
fn a_left_out_codec_is_recognised_and_names_its_feature() {
    let registry = CodecRegistry::default();
    let left_out: Vec<CodecFamily> = CodecFamily::ALL
        .into_iter()
        .filter(|f| !f.is_enabled())
        .collect();
    assert!(!left_out.is_empty());
    for family in left_out {
        let feature = family.feature().unwrap();
        let err = Encoder::new(family.default_spec(), Vec::new()).unwrap_err();
        assert!(
            matches!(err, Error::Disabled { feature: f, .. } if f == feature),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&format!("enable strata-codec's cargo feature `{feature}`")),
            "{text}"
        );
        assert!(Decoder::new(family, &b""[..]).is_err());
        // A stream of it: its magic, then anything.
        let mut stream = family.magic().to_vec();
        stream.extend_from_slice(b"rest of the stream");
        let codec = registry.sniff(&stream);
        assert_eq!(
            codec.name(),
            family.name(),
            "recognised, not taken for plain data"
        );
        let Err(err) = registry.decoder_for_content(Box::new(std::io::Cursor::new(stream))) else {
            panic!("{family:?}: read although left out")
        };
        assert!(err.to_string().contains(feature), "{err}");
        assert!(CodecSpec::every_level()
            .iter()
            .all(|spec| spec.codec_family() != family));
    }
    // Plain data is always there.
    let mut plain = String::new();
    strata_codec::decoder_for_content(&b"{}\n"[..])
        .unwrap()
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(plain, "{}\n");
}

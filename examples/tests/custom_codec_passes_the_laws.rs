//! The example's bzip2 codec passes the laws every `Codec` must pass (EXT-2), the same suite
//! strata's own codecs run.

use std::sync::Arc;

use strata_examples::bzip2_codec::Bzip2Codec;

#[test]
fn bzip2_passes_the_codec_laws() {
    strata_codec::laws::run_all(Arc::new(Bzip2Codec));
}

//! Any text given to the config loader (TOML, JSON and YAML): an error or a config — never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use strata_core::config::{Config, ConfigFormat};

fuzz_target!(|text: &str| {
    for format in [ConfigFormat::Toml, ConfigFormat::Json, ConfigFormat::Yaml] {
        let _ = Config::parse(text, format, "fuzz");
    }
});

//! `[layout] naming` read from a config: a built-in name, an extension's name, or an error that
//! names the file, the key `layout.naming`, the value and the accepted forms (not a Rust type).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use strata_core::config::{Config, ConfigError, ConfigFormat};
use strata_core::layout::{NamingChoice, NamingConvention};

fn problem(text: &str, format: ConfigFormat) -> (String, String, String) {
    match Config::parse(text, format, "archive/strata.toml").unwrap_err() {
        ConfigError::Invalid { file, key, problem } => {
            let message = format!("{file}: key `{key}`: {problem}");
            (key, problem, message)
        }
        other => panic!("expected a key error, got {other}"),
    }
}

#[test]
fn a_number_for_naming_names_the_key_the_value_and_the_accepted_forms() {
    let (key, problem, message) = problem("[layout]\nnaming = 5\n", ConfigFormat::Toml);
    assert_eq!(key, "layout.naming", "{message}");
    assert!(
        message.starts_with("archive/strata.toml: key `layout.naming`"),
        "{message}"
    );
    assert!(problem.contains('5'), "{message}");
    for form in [
        "by_symbol",
        "canonical",
        "flat",
        "naming extension is registered",
    ] {
        assert!(problem.contains(form), "{form} missing from: {message}");
    }
    assert!(!message.contains("NamingChoice"), "{message}");
    assert!(!message.contains("untagged"), "{message}");
}

#[test]
fn other_wrong_types_name_the_key_too_in_every_format() {
    for (text, format) in [
        ("[layout]\nnaming = { a = 1 }\n", ConfigFormat::Toml),
        ("[layout]\nnaming = true\n", ConfigFormat::Toml),
        (r#"{"layout": {"naming": [1]}}"#, ConfigFormat::Json),
        ("layout:\n  naming: 7\n", ConfigFormat::Yaml),
    ] {
        let (key, problem, message) = problem(text, format);
        assert_eq!(key, "layout.naming", "{message}");
        assert!(problem.contains("by_symbol"), "{message}");
        assert!(!message.contains("NamingChoice"), "{message}");
    }
}

#[test]
fn names_still_read_as_conventions_or_extensions() {
    let config =
        Config::parse("[layout]\nnaming = \"by_date\"\n", ConfigFormat::Toml, "t").unwrap();
    assert_eq!(
        config.layout.naming,
        Some(NamingChoice::Convention(NamingConvention::ByDate))
    );
    let config = Config::parse("[layout]\nnaming = \"my_ext\"\n", ConfigFormat::Toml, "t").unwrap();
    assert_eq!(
        config.layout.naming,
        Some(NamingChoice::Extension("my_ext".into()))
    );
    assert_eq!(config.layout.extension(), Some("my_ext"));
    // And a config written out reads back the same.
    let config = Config::parse(
        "[layout]\nnaming = \"canonical\"\n",
        ConfigFormat::Toml,
        "t",
    )
    .unwrap();
    let json = serde_json::to_string(&config.layout).unwrap();
    assert!(json.contains(r#""naming":"canonical""#), "{json}");
}

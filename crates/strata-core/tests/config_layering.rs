//! Profiles fill defaults and never override a value the user wrote (POL-5); config errors name
//! the key and the problem (OPS-1); `strata init`'s template resolves to the defaults.

use strata_codec::CodecSpec;
use strata_core::config::{Config, ConfigError, ConfigFormat, DurabilityMode};
use strata_core::policy::{EnforcementMode, QuotaScope, RegulatoryPreset, TierName};
use strata_core::template::default_config_toml;
use strata_core::Profile;
use strata_model::EventKind;

fn toml(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, ConfigFormat::Toml, "strata.toml")
}

fn key_of(err: ConfigError) -> (String, String) {
    match err {
        ConfigError::Invalid { key, problem, .. } => (key, problem),
        other => panic!("expected a keyed error, got {other}"),
    }
}

#[test]
fn compress_false_under_research_stays_uncompressed() {
    let research = toml("profile = \"research\"\n").unwrap();
    assert!(research.storage.compress, "research compresses by default");
    let config = toml("profile = \"research\"\n[storage]\ncompress = false\n").unwrap();
    assert!(!config.storage.compress);
    assert_eq!(
        config.storage.codec,
        CodecSpec::Zstd {
            level: 1,
            long: false
        },
        "unwritten keys still come from the profile"
    );
}

#[test]
fn enabling_the_parquet_sink_is_kept_under_every_profile() {
    for &profile in Profile::ALL {
        let config = toml(&format!(
            "profile = \"{profile}\"\n[sinks]\nparquet = true\n"
        ))
        .unwrap();
        assert!(config.sinks.parquet, "{profile}");
        let config = toml(&format!(
            "profile = \"{profile}\"\n[sinks]\nparquet = false\n"
        ))
        .unwrap();
        assert!(!config.sinks.parquet, "{profile}");
    }
}

#[test]
fn every_user_value_survives_every_profile() {
    // Each written key is the opposite of what any profile would choose.
    let user = r#"
        [storage]
        compress = true
        codec = "lz4"
        checksums = false
        [durability]
        mode = "none"
        [lifecycle]
        enabled = false
        [tiers.warm]
        codec = "gzip:1"
        format = "jsonl"
    "#;
    for &profile in Profile::ALL {
        let c = toml(&format!("profile = \"{profile}\"\n{user}")).unwrap();
        assert_eq!(c.profile, profile);
        assert!(c.storage.compress);
        assert_eq!(c.storage.codec, CodecSpec::Lz4);
        assert!(!c.storage.checksums);
        assert_eq!(c.durability.mode, DurabilityMode::None);
        assert!(!c.lifecycle.enabled);
        assert_eq!(c.tiers.warm.codec, CodecSpec::Gzip { level: 1 });
    }
}

#[test]
fn profiles_differ_where_they_should() {
    let low = toml("profile = \"low-latency\"").unwrap();
    assert!(!low.storage.compress);
    assert!(!low.sinks.parquet);
    assert_eq!(low.durability.group_commit_interval_ms, 5);
    let archival = toml("profile = \"archival\"").unwrap();
    // Hot files are sealed fast (zstd 1 keeps up with ingest); the warm tier compresses harder.
    assert_eq!(
        archival.storage.codec,
        CodecSpec::Zstd {
            level: 1,
            long: false
        }
    );
    assert_eq!(
        archival.tiers.warm.codec,
        CodecSpec::Zstd {
            level: 9,
            long: false
        }
    );
    assert!(archival.sinks.parquet);
    assert_eq!(archival.durability.mode, DurabilityMode::PerBatch);
    assert_eq!(
        toml("").unwrap(),
        toml("profile = \"research\"").unwrap(),
        "research is the default"
    );
}

#[test]
fn errors_name_the_key_and_the_problem() {
    let cases = [
        ("[storage]\ncompres = true\n", "storage.compres", "unknown field `compres`"),
        ("[tiers.warm]\ncodec = \"zstd:30\"\n", "tiers.warm.codec", "level 30 is outside 1..=22"),
        ("[durability]\nmode = \"sometimes\"\n", "durability.mode", "unknown variant `sometimes`"),
        ("[storage]\nmax_file_bytes = -1\n", "storage.max_file_bytes", "invalid value"),
        ("profile = \"fast\"\n", "profile", "unknown profile `fast`"),
        ("[tiers.hot]\nformat = \"parquet\"\n", "tiers.hot.format", "must be jsonl"),
        ("[[quotas]]\nscope = \"global\"\nmode = \"warn\"\n", "quotas[0]", "sets no limit"),
        ("[[quotas]]\nscope = { planet = \"mars\" }\nmax_bytes = 1\nmode = \"warn\"\n", "quotas[0].scope", "unknown variant `planet`"),
        (
            "[[symbols]]\nsymbol = \"A\"\nasset_class = \"equity\"\n[[symbols]]\nsymbol = \"B\"\naliases = [\"A\"]\nasset_class = \"equity\"\n",
            "symbols",
            "alias `A` already names symbol `A`",
        ),
        ("[retention.by_kind.trade]\nhot_days = 1\n", "retention.by_kind.trade", "missing field `warm_days`"),
        ("[tiers.cold]\nretain_days = 30\n", "tiers.cold.retain_days", "needs worm = true"),
        ("[tiers.archive]\nworm = true\nretain_days = 0\n", "tiers.archive.retain_days", "at least 1 day"),
        ("[tiers.archive]\nworm = true\nretain_days = 36500000\n", "tiers.archive.retain_days", "more than 36500"),
        ("[tiers.hot]\nconsolidate = \"daily\"\n", "tiers.hot.consolidate", "the hot tier is being written"),
        ("[tiers.warm]\nconsolidate = \"weekly\"\n[tiers.cold]\nconsolidate = \"monthly\"\n", "tiers.cold.consolidate", "do not hold whole weekly periods of tiers.warm.consolidate"),
        ("[tiers.cold]\nconsolidate = \"yearly\"\n[tiers.archive]\nconsolidate = \"monthly\"\n", "tiers.archive.consolidate", "do not hold whole yearly periods"),
        ("[tiers.cold]\nconsolidate = \"fortnightly\"\n", "tiers.cold.consolidate", "fortnightly"),
        ("[compliance]\napprovals_required = 2\napprovers = [\"a.pub\"]\n", "compliance.approvals_required", "2 approvals cannot be given by the 1 key(s)"),
    ];
    for (text, key, problem) in cases {
        let err = toml(text).unwrap_err();
        let shown = err.to_string();
        let (k, p) = key_of(err);
        assert_eq!(k, key, "for {text:?}: {shown}");
        assert!(
            p.contains(problem),
            "for {text:?}: `{p}` should contain `{problem}`"
        );
        assert!(shown.starts_with("strata.toml: key `"), "{shown}");
    }
}

#[test]
fn syntax_errors_give_the_position() {
    let err = toml("[storage\ncompress = true").unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }));
    assert!(err.to_string().contains("line 1"), "{err}");
}

#[test]
fn json_and_yaml_are_accepted() {
    let json = Config::parse(
        r#"{"profile":"archival","storage":{"compress":false}}"#,
        ConfigFormat::Json,
        "s.json",
    )
    .unwrap();
    let yaml = Config::parse(
        "profile: archival\nstorage:\n  compress: false\n",
        ConfigFormat::Yaml,
        "s.yaml",
    )
    .unwrap();
    let toml = toml("profile = \"archival\"\n[storage]\ncompress = false\n").unwrap();
    assert_eq!(json, toml);
    assert_eq!(yaml, toml);
    assert_eq!(
        ConfigFormat::from_file_name("x/strata.YML"),
        ConfigFormat::Yaml
    );
    let err = Config::parse("storage: [1", ConfigFormat::Yaml, "s.yaml").unwrap_err();
    assert!(
        err.to_string().starts_with("s.yaml: not valid YAML"),
        "{err}"
    );
}

#[test]
fn regulatory_preset_fills_retention_and_refuses_shorter() {
    let c = toml("[compliance]\npreset = \"sec17a4\"\n").unwrap();
    assert_eq!(c.compliance.preset, Some(RegulatoryPreset::Sec17a4));
    assert_eq!(
        c.retention.rule(EventKind::Trade).total_days(),
        Some(6 * 365)
    );
    let err = toml(
        "[compliance]\npreset = \"mifid2\"\n[retention.by_kind.trade]\nhot_days = 1\nwarm_days = 1\ncold_days = 1\narchive = \"none\"\n",
    )
    .unwrap_err();
    let (key, problem) = key_of(err);
    assert_eq!(key, "compliance.preset");
    assert!(
        problem.contains("retention.by_kind.trade")
            && problem.contains("MiFID II requires 5 years"),
        "{problem}"
    );
}

#[test]
fn quotas_and_registries_load() {
    let c = toml(
        r#"
        [[quotas]]
        scope = { symbol = "SPY" }
        max_bytes = 1_000_000
        mode = "hard_limit"
        [[symbols]]
        symbol = "SPY"
        aliases = ["SPY.P"]
        asset_class = "equity"
        [[sources]]
        id = "lean"
        kind = "historical"
    "#,
    )
    .unwrap();
    assert_eq!(c.quotas[0].scope, QuotaScope::Symbol("SPY".into()));
    assert_eq!(c.quotas[0].mode, EnforcementMode::HardLimit);
    let (symbols, sources) = c.registries().unwrap();
    assert_eq!(symbols.canonical("SPY.P"), "SPY");
    assert!(sources.get("lean").unwrap().enabled);
}

#[test]
fn every_profile_resolves_and_its_template_round_trips() {
    for &profile in Profile::ALL {
        let template = default_config_toml(profile);
        let parsed =
            toml(&template).unwrap_or_else(|e| panic!("{profile} template: {e}\n{template}"));
        assert_eq!(parsed, Config::for_profile(profile), "{profile}");
        assert!(template.contains("# Compress JSONL files when they are sealed."));
        assert!(
            template.contains("# [[quotas]]"),
            "examples for empty lists"
        );
        assert!(
            Config::for_profile(profile)
                .tiers
                .get(TierName::Archive)
                .worm
        );
    }
}

//! `Archive::open_for_rebuild` checks the config's naming before it moves a damaged index aside:
//! a naming extension it cannot resolve leaves the index where it was.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use strata::archive::Archive;
use strata::config::{Config, ConfigFormat};

#[test]
fn an_unresolvable_naming_moves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    drop(Archive::open(root, Config::default()).unwrap());
    let index = root.join("_catalog/index.sqlite");
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", index.display()));
    }
    std::fs::write(&index, vec![0x5a; 8192]).unwrap();
    let config = Config::parse(
        "[layout]\nnaming = \"my_ext\"\n",
        ConfigFormat::Toml,
        "strata.toml",
    )
    .unwrap();
    let Err(err) = Archive::open_for_rebuild(root, config) else {
        panic!("opened for rebuild with a naming nobody registered");
    };
    assert!(err.to_string().contains("my_ext"), "{err}");
    assert_eq!(std::fs::read(&index).unwrap(), vec![0x5a; 8192]);
    let moved: Vec<_> = std::fs::read_dir(root.join("_catalog"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("damaged"))
        .collect();
    assert!(moved.is_empty(), "moved aside: {moved:?}");
    // With a built-in naming it goes on: the index is moved aside and a new one built.
    let (_archive, aside) = Archive::open_for_rebuild(root, Config::default()).unwrap();
    assert!(aside.is_some());
}

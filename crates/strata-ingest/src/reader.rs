//! Reading events back from hot files, whatever their codec (sniffed from content).

use std::path::{Path, PathBuf};

use strata_model::{jsonl, Event};

use crate::{io_err, paths, Error, Result};

/// Every data file (`*.jsonl`, `*.jsonl.gz`, `*.jsonl.zst`, `*.jsonl.lz4`) under `root/hot`,
/// sorted by path.
pub fn hot_files(root: &Path) -> Result<Vec<PathBuf>> {
    let hot = root.join(paths::HOT);
    if !hot.exists() {
        return Ok(Vec::new());
    }
    let mut files = files_under(&hot)?;
    files.retain(|p| is_data_file(p));
    Ok(files)
}

/// Every file under `dir`, at any depth, sorted by path. Symbolic links are not followed nor
/// listed (strata writes none; one put there by hand could point anywhere): each is logged.
pub fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
            let entry = entry.map_err(io_err(dir))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io_err(&path))?;
            if kind.is_symlink() {
                tracing::warn!(target: "strata::ingest", "{}: a symbolic link inside the archive; not followed", path.display());
            } else if kind.is_dir() {
                walk(&path, out)?;
            } else {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, &mut out)?;
    out.sort();
    Ok(out)
}

/// True for JSONL data files (plain or compressed), not sidecars or temporaries.
pub fn is_data_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    [".jsonl", ".jsonl.gz", ".jsonl.zst", ".jsonl.lz4"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// Reads every event of one file; any unreadable line is an error naming the file and line.
pub fn read_events(path: &Path) -> Result<Vec<Event>> {
    let packed = std::fs::read(path).map_err(io_err(path))?;
    strata_codec::check_extension(&path.display().to_string(), &packed)?;
    let plain = strata_codec::decompress(&packed)?;
    let mut events = Vec::new();
    for (i, line) in plain.split_inclusive(|&b| b == b'\n').enumerate() {
        if !line.ends_with(b"\n") {
            return Err(Error::BadFile {
                path: path.into(),
                line: i as u64 + 1,
                reason: "unterminated last line".into(),
            });
        }
        let event = jsonl::decode_line(line).map_err(|e| Error::BadFile {
            path: path.into(),
            line: i as u64 + 1,
            reason: e.to_string(),
        })?;
        events.push(event);
    }
    Ok(events)
}

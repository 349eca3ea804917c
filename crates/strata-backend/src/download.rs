//! [`Backend::download`](crate::Backend::download)'s file: written beside its destination
//! under a temporary name, renamed into place when complete.

use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::{Error, Result};

/// A download in progress. Writes run on the blocking pool with the bytes moved there (no
/// copy), one at a time, in order.
pub(crate) struct PartFile {
    key: String,
    to: PathBuf,
    temp: PathBuf,
    /// `None` only while a write is on the blocking pool.
    file: Option<std::fs::File>,
    len: u64,
    /// Renamed into place or removed: nothing for `Drop` to clean up.
    done: bool,
}

impl Drop for PartFile {
    /// A download dropped half-way (its future cancelled) leaves no temporary file.
    fn drop(&mut self) {
        if !self.done {
            self.file = None;
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

fn io_error(key: &str, what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::store_msg("download", key, format!("{what} `{}`: {e}", path.display()))
}

impl PartFile {
    /// Creates the temporary file beside `to`.
    pub(crate) async fn create(key: &str, to: &Path) -> Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = to.file_name().ok_or_else(|| {
            io_error(
                key,
                "not a file name",
                to,
                std::io::ErrorKind::InvalidInput.into(),
            )
        })?;
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(
            ".strata-download-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let temp = to.with_file_name(temp_name);
        let file =
            std::fs::File::create(&temp).map_err(|e| io_error(key, "cannot create", &temp, e))?;
        Ok(Self {
            key: key.to_owned(),
            to: to.to_owned(),
            temp,
            file: Some(file),
            len: 0,
            done: false,
        })
    }

    /// Runs `op` on the file on the blocking pool.
    async fn on_file<T: Send + 'static>(
        &mut self,
        what: &'static str,
        op: impl FnOnce(&mut std::fs::File) -> std::io::Result<T> + Send + 'static,
    ) -> Result<T> {
        let Some(mut file) = self.file.take() else {
            return Err(Error::store_msg(
                "download",
                &self.key,
                "an earlier write of this download failed",
            ));
        };
        let (file, result) = tokio::task::spawn_blocking(move || {
            let result = op(&mut file);
            (file, result)
        })
        .await
        .map_err(|e| Error::store_msg("download", &self.key, format!("{what}: {e}")))?;
        self.file = Some(file);
        result.map_err(|e| io_error(&self.key, what, &self.temp, e))
    }

    /// Renames the file into place.
    pub(crate) async fn publish(mut self) -> Result<()> {
        // Close the file before it is renamed.
        self.file = None;
        if let Err(e) = tokio::fs::rename(&self.temp, &self.to).await {
            self.discard_now().await;
            return Err(io_error(
                &self.key,
                "cannot rename the download to",
                &self.to,
                e,
            ));
        }
        self.done = true;
        Ok(())
    }

    /// Removes the temporary file.
    pub(crate) async fn discard(mut self) {
        self.file = None;
        self.discard_now().await;
    }

    async fn discard_now(&mut self) {
        self.done = true;
        if let Err(e) = tokio::fs::remove_file(&self.temp).await {
            tracing::warn!(path = %self.temp.display(), error = %e, "could not remove a failed download");
        }
    }

    /// Writes all of `bytes` (for stores that read an object in one piece).
    pub(crate) async fn write(&mut self, bytes: Bytes) -> Result<()> {
        crate::store::Sink::write(self, bytes).await
    }

    /// Ends the download with how writing it went: renamed into place, or removed. Returns
    /// the object's size.
    pub(crate) async fn finish(self, filled: Result<u64>) -> Result<u64> {
        match filled {
            Ok(size) => self.publish().await.map(|()| size),
            Err(e) => {
                self.discard().await;
                Err(e)
            }
        }
    }
}

#[async_trait]
impl crate::store::Sink for PartFile {
    async fn restart(&mut self) -> Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        self.on_file("cannot truncate", |file| {
            file.set_len(0)?;
            file.rewind()
        })
        .await?;
        self.len = 0;
        Ok(())
    }

    async fn write(&mut self, bytes: Bytes) -> Result<()> {
        let len = bytes.len() as u64;
        self.on_file("cannot write", move |file| file.write_all(&bytes))
            .await?;
        self.len += len;
        Ok(())
    }
}

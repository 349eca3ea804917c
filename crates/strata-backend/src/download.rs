//! [`Backend::download`](crate::Backend::download)'s file: written beside its destination
//! under a temporary name, renamed into place when complete.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use crate::error::{Error, Result};

/// A download in progress.
pub(crate) struct PartFile {
    key: String,
    to: PathBuf,
    temp: PathBuf,
    file: tokio::fs::File,
    len: u64,
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
        let file = tokio::fs::File::create(&temp)
            .await
            .map_err(|e| io_error(key, "cannot create", &temp, e))?;
        Ok(Self {
            key: key.to_owned(),
            to: to.to_owned(),
            temp,
            file,
            len: 0,
        })
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Flushes the file and renames it into place.
    pub(crate) async fn publish(mut self) -> Result<()> {
        let flushed = self.file.flush().await;
        if let Err(e) = flushed {
            self.discard_now().await;
            return Err(io_error(&self.key, "cannot write", &self.temp, e));
        }
        if let Err(e) = tokio::fs::rename(&self.temp, &self.to).await {
            self.discard_now().await;
            return Err(io_error(
                &self.key,
                "cannot rename the download to",
                &self.to,
                e,
            ));
        }
        Ok(())
    }

    /// Removes the temporary file.
    pub(crate) async fn discard(self) {
        self.discard_now().await;
    }

    async fn discard_now(&self) {
        if let Err(e) = tokio::fs::remove_file(&self.temp).await {
            tracing::warn!(path = %self.temp.display(), error = %e, "could not remove a failed download");
        }
    }
}

#[async_trait]
impl crate::store::Sink for PartFile {
    async fn restart(&mut self) -> Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        self.file
            .set_len(0)
            .await
            .and(
                self.file
                    .seek(std::io::SeekFrom::Start(0))
                    .await
                    .map(|_| ()),
            )
            .map_err(|e| io_error(&self.key, "cannot truncate", &self.temp, e))?;
        self.len = 0;
        Ok(())
    }

    async fn write(&mut self, bytes: Bytes) -> Result<()> {
        self.file
            .write_all(&bytes)
            .await
            .map_err(|e| io_error(&self.key, "cannot write", &self.temp, e))?;
        self.len += bytes.len() as u64;
        Ok(())
    }
}

impl PartFile {
    /// Writes all of `bytes` (for stores that read an object in one piece).
    pub(crate) async fn write(&mut self, bytes: Bytes) -> Result<()> {
        crate::store::Sink::write(self, bytes).await
    }
}

//! Truncation detection for LZ4 frames.
//!
//! `lz4_flex`'s frame decoder treats an end of input at a block boundary (or right after the
//! magic number) as a clean end of stream, so a cut `.lz4` file would decode to silently short
//! data. [`Lz4FrameGuard`] sits between the source and the decoder, follows the frame layout as
//! the bytes pass (header, block sizes, end mark, checksum) and turns an end of input anywhere
//! but between frames into an error.

use std::io::{self, Read};

use crate::{CodecFamily, Error};

const FRAME_MAGIC: u32 = 0x184D_2204;
/// Frame-descriptor flag bits (LZ4 frame format, section "FLG byte").
const FLG_BLOCK_CHECKSUM: u8 = 0x10;
const FLG_CONTENT_SIZE: u8 = 0x08;
const FLG_CONTENT_CHECKSUM: u8 = 0x04;
const FLG_DICT_ID: u8 = 0x01;
/// The high bit of a block size marks an uncompressed block; the rest is the size.
const BLOCK_SIZE_MASK: u32 = 0x7FFF_FFFF;

/// Where in the frame layout the next byte falls.
#[derive(Debug, Clone, Copy)]
enum Position {
    /// Collecting the 4-byte magic number of the next frame (`got` bytes so far).
    Magic { got: usize, bytes: [u8; 4] },
    /// Collecting the frame descriptor: FLG, BD, optional content size and dictionary id, HC.
    Descriptor { got: usize, need: usize },
    /// Collecting a 4-byte block size (or the end mark, zero).
    BlockSize { got: usize, bytes: [u8; 4] },
    /// Inside a block's data (and its checksum, when blocks have one).
    Block { remaining: u64 },
    /// Inside the content checksum after the end mark.
    ContentChecksum { remaining: u64 },
    /// A frame this guard does not follow (legacy or skippable, or a bad magic number that
    /// the decoder itself rejects); truncation detection is left to the decoder.
    Untracked,
}

/// A reader that fails with [`Error::Truncated`] when its source ends inside an LZ4 frame.
#[derive(Debug)]
pub(crate) struct Lz4FrameGuard<R> {
    inner: R,
    position: Position,
    block_checksum: bool,
    content_checksum: bool,
    frames: u64,
    offset: u64,
    reached_end: bool,
}

impl<R> Lz4FrameGuard<R> {
    pub(crate) fn new(inner: R) -> Self {
        Lz4FrameGuard {
            inner,
            position: Position::Magic {
                got: 0,
                bytes: [0; 4],
            },
            block_checksum: false,
            content_checksum: false,
            frames: 0,
            offset: 0,
            reached_end: false,
        }
    }

    /// True once the source has reported its end (cleanly: otherwise reading failed).
    pub(crate) fn reached_end(&self) -> bool {
        self.reached_end
    }

    /// Follows the frame layout over `bytes`, the next bytes of the stream.
    fn follow(&mut self, mut bytes: &[u8]) {
        while let Some((&byte, rest)) = bytes.split_first() {
            match &mut self.position {
                Position::Untracked => return,
                Position::Block { remaining } | Position::ContentChecksum { remaining } => {
                    // `remaining` is never zero here: `settle` leaves these states at zero.
                    let take = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    *remaining -= take as u64;
                    bytes = &bytes[take..];
                    self.settle();
                    continue;
                }
                Position::Magic { got, bytes: magic } => {
                    magic[*got] = byte;
                    *got += 1;
                    if *got == 4 {
                        self.position = if u32::from_le_bytes(*magic) == FRAME_MAGIC {
                            Position::Descriptor { got: 0, need: 2 }
                        } else {
                            Position::Untracked
                        };
                    }
                }
                Position::Descriptor { got, need } => {
                    if *got == 0 {
                        // FLG decides how long the descriptor is: FLG, BD, [size 8], [dict 4], HC.
                        *need = 2
                            + if byte & FLG_CONTENT_SIZE != 0 { 8 } else { 0 }
                            + if byte & FLG_DICT_ID != 0 { 4 } else { 0 }
                            + 1;
                        self.block_checksum = byte & FLG_BLOCK_CHECKSUM != 0;
                        self.content_checksum = byte & FLG_CONTENT_CHECKSUM != 0;
                    }
                    *got += 1;
                    if *got == *need {
                        self.position = Position::BlockSize {
                            got: 0,
                            bytes: [0; 4],
                        };
                    }
                }
                Position::BlockSize { got, bytes: size } => {
                    size[*got] = byte;
                    *got += 1;
                    if *got == 4 {
                        let size = u32::from_le_bytes(*size);
                        self.position = if size == 0 {
                            Position::ContentChecksum {
                                remaining: if self.content_checksum { 4 } else { 0 },
                            }
                        } else {
                            Position::Block {
                                remaining: u64::from(size & BLOCK_SIZE_MASK)
                                    + if self.block_checksum { 4 } else { 0 },
                            }
                        };
                        self.settle();
                    }
                }
            }
            bytes = rest;
        }
    }

    /// Moves past states that have nothing left to read.
    fn settle(&mut self) {
        match self.position {
            Position::Block { remaining: 0 } => {
                self.position = Position::BlockSize {
                    got: 0,
                    bytes: [0; 4],
                };
            }
            Position::ContentChecksum { remaining: 0 } => {
                self.frames += 1;
                self.position = Position::Magic {
                    got: 0,
                    bytes: [0; 4],
                };
            }
            _ => {}
        }
    }

    /// Why the stream may not end here, or `None` when it may.
    fn unfinished(&self) -> Option<&'static str> {
        match self.position {
            Position::Untracked => None,
            Position::Magic { got: 0, .. } if self.frames > 0 => None,
            Position::Magic { got: 0, .. } => Some("no LZ4 frame in the stream"),
            Position::Magic { .. } => Some("the stream ends inside a frame's magic number"),
            Position::Descriptor { .. } => Some("the stream ends inside a frame header"),
            Position::BlockSize { .. } => {
                Some("the stream ends between blocks, before the frame's end mark")
            }
            Position::Block { .. } => Some("the stream ends inside a block"),
            Position::ContentChecksum { .. } => Some("the stream ends inside the content checksum"),
        }
    }
}

impl<R: Read> Read for Lz4FrameGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.reached_end = true;
            if let Some(why) = self.unfinished() {
                let err = Error::Truncated {
                    codec: CodecFamily::Lz4,
                    path: None,
                    source: io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("{why} (after {} bytes)", self.offset),
                    ),
                };
                // Not `UnexpectedEof`: lz4_flex reads block sizes with `read_exact` and takes that
                // kind as a clean end of stream, which would hide the cut again.
                return Err(io::Error::new(io::ErrorKind::InvalidData, err));
            }
        }
        self.follow(&buf[..n]);
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(data: &[u8]) -> Vec<u8> {
        let info = lz4_flex::frame::FrameInfo::new().content_checksum(true);
        let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
        io::Write::write_all(&mut enc, data).unwrap();
        enc.finish().unwrap()
    }

    fn read_all(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Lz4FrameGuard::new(bytes).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn whole_frames_pass_and_every_cut_fails() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let mut stream = frame(&data);
        let first_frame_len = stream.len();
        stream.extend(frame(b"second frame"));
        assert_eq!(read_all(&stream).unwrap(), stream);
        assert_eq!(
            read_all(&stream[..first_frame_len]).unwrap(),
            &stream[..first_frame_len]
        );
        let cuts = (0..stream.len())
            .step_by(97)
            .chain(stream.len() - 30..stream.len());
        for cut in cuts.filter(|&cut| cut != first_frame_len) {
            let err = read_all(&stream[..cut]).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "cut at {cut}");
        }
    }
}

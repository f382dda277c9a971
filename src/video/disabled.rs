//! Without the cargo feature `video`: every video is answered with how to get video support.

use super::{DecodeOptions, Frame, VideoError, VideoInfo};
use std::path::Path;

/// Never constructed without the `video` feature.
#[derive(Debug)]
pub struct Video {
    info: VideoInfo,
}

impl Video {
    /// Always [`VideoError::NotBuilt`].
    pub fn open(path: &Path, _opts: DecodeOptions) -> Result<Video, VideoError> {
        let name = crate::app::file_label(path);
        Err(VideoError::NotBuilt { name })
    }

    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    pub fn name(&self) -> &str {
        ""
    }

    pub fn frame_at(&mut self, _time_s: f64) -> Result<Frame, VideoError> {
        Err(VideoError::NotBuilt {
            name: String::new(),
        })
    }

    pub fn decode_all(
        &mut self,
        _rgb: bool,
        _each: impl FnMut(&Frame),
    ) -> Result<usize, VideoError> {
        Err(VideoError::NotBuilt {
            name: String::new(),
        })
    }
}

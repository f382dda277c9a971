//! Fuzz image loading exactly as an upload does: `strain_seer::store::blobs::inspect_image`
//! (format by content, pixel count from the header before decoding, decoder memory limits, EXIF
//! orientation, thumbnail). Any input must give `Ok` or an `ImageError`, never a panic, hang or
//! unbounded allocation. The pixel limit is lowered to 4 MP so that each run stays fast.

#![no_main]

use libfuzzer_sys::fuzz_target;
use strain_seer::store::blobs::inspect_image;

/// Pixel limit for fuzzing (the server's default is 100 MP).
const MAX_PIXELS: u64 = 4_000_000;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = inspect_image(data, "fuzz.bin", MAX_PIXELS) {
        assert!(u64::from(info.width) * u64::from(info.height) <= MAX_PIXELS);
        assert!(!info.thumbnail.is_empty());
    }
});

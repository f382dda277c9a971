//! Reading an input file whole, on every core when it is long.
//!
//! A 100 MB annotation file takes tens of milliseconds just to be copied from the page cache
//! into memory, most of it in the kernel faulting in the fresh pages of the buffer, one at a
//! time. [`read_file`] cuts a long regular file into one contiguous part per core and reads
//! the parts at the same time (`pread`, [`std::os::unix::fs::FileExt::read_exact_at`]) into
//! their places in one buffer, so the copies and page faults are shared by the cores. A file
//! that grew while it was read is read to its new end; one that shrank is read again in one
//! piece. Anything that is not a long regular file (short files, pipes, `/dev/stdin`,
//! directories, other systems) is read by [`std::fs::read`], with its errors.

use std::io;
use std::path::Path;

/// Files shorter than this are read in one piece.
const MIN_PARALLEL: u64 = 4 << 20;

/// The bytes of the file at `path` (the errors of [`std::fs::read`]).
pub fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    #[cfg(unix)]
    {
        let pieces = rayon::current_num_threads();
        let file = std::fs::File::open(path)?;
        let meta = file.metadata()?;
        if pieces > 1 && meta.is_file() && meta.len() >= MIN_PARALLEL {
            match in_pieces(&file, meta.len(), pieces) {
                Ok(bytes) => return Ok(bytes),
                // It shrank while being read: read it as it is now.
                Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => {}
                Err(err) => return Err(err),
            }
        }
    }
    std::fs::read(path)
}

/// `len` bytes of `file` read in `pieces` parts at once, then whatever it has beyond `len`.
#[cfg(unix)]
fn in_pieces(file: &std::fs::File, len: u64, pieces: usize) -> io::Result<Vec<u8>> {
    use rayon::prelude::*;
    use std::io::{Read, Seek, SeekFrom};
    use std::os::unix::fs::FileExt;
    let len = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
    let mut bytes = vec![0_u8; len];
    let part = len.div_ceil(pieces);
    bytes
        .par_chunks_mut(part)
        .enumerate()
        .try_for_each(|(i, chunk)| file.read_exact_at(chunk, (i * part) as u64))?;
    let mut rest = file;
    rest.seek(SeekFrom::Start(len as u64))?;
    rest.read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn a_long_file_is_read_whole_and_in_order() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        for n in [0, 1, 1000, (4 << 20) - 1, 4 << 20, (4 << 20) + 3, 9 << 20] {
            let path = dir.path().join(format!("f{n}"));
            let bytes = content(n);
            std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                read_file(&path).unwrap_or_else(|e| panic!("{e}")) == bytes,
                "{n}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn pieces_of_any_count_give_the_file_and_what_it_grew_by() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("f");
        let bytes = content(100_003);
        std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{e}"));
        for pieces in 1..=7 {
            let read = in_pieces(&file, 100_003, pieces).unwrap_or_else(|e| panic!("{e}"));
            assert!(read == bytes, "{pieces} pieces");
        }
        // Read as if it had been 100 000 bytes when it was measured: the rest is appended.
        let read = in_pieces(&file, 100_000, 3).unwrap_or_else(|e| panic!("{e}"));
        assert!(read == bytes);
        // Measured longer than it is: the caller reads it again in one piece.
        let err = in_pieces(&file, 200_000, 2).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn errors_are_those_of_fs_read() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let missing = read_file(&dir.path().join("nope")).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        let directory = read_file(dir.path()).unwrap_err();
        assert_eq!(
            directory.kind(),
            std::fs::read(dir.path()).unwrap_err().kind()
        );
    }
}

//! The lease behind memory-mapped inputs (Linux): a writer that opens a mapped file is
//! noticed through the kernel's lease-break signal, the file is no longer handed out as map
//! ranges, and the writer waits only until the map is let go. In a test binary of its own:
//! a lease break is counted process-wide, and would send other tests' maps to the read path.
#![cfg(target_os = "linux")]

use noisegate_engine::input::{map_blocks, ChunkConfig, Mapping};
use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[test]
fn a_writer_is_noticed_and_waits_only_for_the_blocks_in_flight() {
    let text = b"one\ntwo\nthree\nfour\n";
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text).unwrap();
    let path = f.into_temp_path();
    let map = Mapping::new(File::open(&path).unwrap(), 0).expect("a closed file is leased");
    let opened = Arc::new(AtomicBool::new(false));
    let writer = {
        let (path, opened) = (path.to_path_buf(), opened.clone());
        std::thread::spawn(move || {
            let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
            opened.store(true, Ordering::SeqCst);
            f.set_len(0).unwrap();
        })
    };
    // The writer waits, and the kernel's signal marks the map as wanted.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !map.broken() {
        assert!(
            std::time::Instant::now() < deadline,
            "no lease-break signal"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(!opened.load(Ordering::SeqCst));
    // The cut stops at once and says where to read on.
    let cfg = ChunkConfig {
        chunk: 4,
        max_line: 1 << 20,
        hold_tail: false,
    };
    let end = map_blocks(0, &map, 4, cfg, &mut |_| panic!("no block after a break"));
    assert_eq!(end.resume, Some((4, 0)));
    assert_eq!(end.consumed, 0);
    assert_eq!(map.bytes(), text, "the map still reads while it is held");
    drop(map);
    writer.join().unwrap();
    assert!(opened.load(Ordering::SeqCst));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
}

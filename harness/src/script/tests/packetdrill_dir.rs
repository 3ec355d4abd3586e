//! Parses every `.pkt` under `$PACKETDRILL_DIR` (a local packetdrill checkout or samples) and
//! prints one line per file. Packetdrill is GPLv2, so its scripts are never committed here.
//!
//! `PACKETDRILL_DIR=/path cargo test -p harness packetdrill_dir -- --ignored --nocapture`

use std::path::{Path, PathBuf};

use crate::script::parse;

fn pkt_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            pkt_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "pkt") {
            out.push(p);
        }
    }
}

#[test]
#[ignore = "needs PACKETDRILL_DIR pointing at packetdrill .pkt scripts"]
fn packetdrill_dir() {
    let Some(dir) = std::env::var_os("PACKETDRILL_DIR") else {
        return;
    };
    let mut files = Vec::new();
    pkt_files(Path::new(&dir), &mut files);
    let mut ok = 0;
    for f in &files {
        let Ok(src) = std::fs::read_to_string(f) else {
            continue;
        };
        match parse(&f.display().to_string(), &src) {
            Ok(_) => {
                ok += 1;
                println!("ok    {}", f.display());
            }
            Err(e) => println!("error {e}"),
        }
    }
    println!("{ok}/{} packetdrill scripts parse", files.len());
}

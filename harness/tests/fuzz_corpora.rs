//! Replays the fuzz corpora through the library entry points (`harness::fuzz`), so every seed
//! and every committed finding is a plain regression test, with or without cargo-fuzz.
//!
//! - `corpora/fuzz/<target>/*`: seeds (and whatever `cargo fuzz cmin` kept), each run through
//!   `<target>`;
//! - `corpora/findings/<target>/*`: minimised crashers, once fixed, run through `<target>`;
//!   other files directly in `corpora/findings/` are run through every target;
//! - `corpora/findings/**/*.toml` (+ `.pcap`): reproducers written by `harness hunt`, replayed as
//!   scenarios that must still show exactly the findings they expect.
//!
//! The generated seeds (`harness::fuzz::seeds`) must all be present under their SHA-256 name;
//! `FUZZ_WRITE_SEEDS=1 cargo test -p harness --test fuzz_corpora` writes them. The
//! `tcp_segments` seeds are exempt from the presence check: they are found by a search that
//! depends on the stack's behaviour, so a change of the stack may pick other bytes (the files
//! already committed stay valid inputs either way).

use harness::fuzz::{entry_point, seeds::seeds, TARGETS};
use std::fs;
use std::path::{Path, PathBuf};

fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora")
}

/// Regular files under `dir`, recursively, sorted (an absent directory has none).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else if p.is_file() {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn generated_seeds_are_in_the_corpus() {
    let write = std::env::var_os("FUZZ_WRITE_SEEDS").is_some_and(|v| v == "1");
    let mut missing = Vec::new();
    for target in TARGETS {
        let dir = corpora().join("fuzz").join(target);
        for seed in seeds(target) {
            let path = dir.join(sha256_hex(&seed));
            if write {
                fs::create_dir_all(&dir).expect("create corpus dir");
                fs::write(&path, &seed).expect("write seed");
            } else if *target != "tcp_segments"
                && fs::read(&path).ok().as_deref() != Some(&seed[..])
            {
                missing.push(path);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "seeds missing or stale (run with FUZZ_WRITE_SEEDS=1): {missing:#?}"
    );
}

#[test]
fn corpus_files_are_named_by_their_sha256() {
    for target in TARGETS {
        for path in files(&corpora().join("fuzz").join(target)) {
            let data = fs::read(&path).expect("read corpus file");
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            // cargo-fuzz itself names what it adds by SHA-1 (40 hex digits).
            let ok = name == sha256_hex(&data)
                || (name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit()));
            assert!(ok, "{} is not named by its hash", path.display());
        }
    }
}

#[test]
fn every_corpus_file_replays_through_its_target() {
    let mut ran = 0;
    for target in TARGETS {
        let run = entry_point(target).expect("entry point");
        for path in files(&corpora().join("fuzz").join(target)) {
            run(&fs::read(&path).expect("read corpus file"));
            ran += 1;
        }
    }
    assert!(ran >= TARGETS.len(), "every target has seeds (ran {ran})");
}

#[test]
fn every_finding_replays() {
    let root = corpora().join("findings");
    for path in files(&root) {
        // `harness hunt` writes minimised findings as scenarios (+ their pcaps): a scenario
        // replays as a regression (it must still show exactly what it expects), a pcap must read.
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => {
                let sc = harness::scenario::Scenario::load(&path).expect("load reproducer");
                let res = sc.run(&Default::default()).expect("run reproducer");
                assert!(res.passed(), "{}: {:?}", path.display(), res.verdicts);
                continue;
            }
            Some("pcap") => {
                harness::pcap::read_pcap(&path).expect("reproducer pcap reads");
                continue;
            }
            _ => {}
        }
        let data = fs::read(&path).expect("read finding");
        let rel = path.strip_prefix(&root).expect("under findings");
        let target = rel
            .parent()
            .and_then(|p| p.components().next())
            .and_then(|c| c.as_os_str().to_str());
        match target.and_then(entry_point) {
            Some(run) => run(&data),
            None if rel.parent() == Some(Path::new("")) => {
                for t in TARGETS {
                    entry_point(t).expect("entry point")(&data);
                }
            }
            None => panic!("{}: no fuzz target of that name", path.display()),
        }
    }
}

/// SHA-256 (FIPS 180-4 §6.2), for naming corpus files.
fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

#[test]
fn sha256_matches_the_fips_examples() {
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

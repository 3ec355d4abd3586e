//! The ClusterFuzzLite build (`.clusterfuzzlite/build.sh`) run outside its container, as the
//! README documents: `SRC` and `OUT` set, one target (`CFLITE_TARGETS`) to stay short; the
//! built fuzzer must start and run one input. Skips, saying why, without cargo-fuzz or a
//! nightly toolchain. Ignored by default (an ASan build takes minutes on a small machine):
//! `cargo test -p harness --test cflite -- --ignored`.

use std::path::PathBuf;
use std::process::Command;

fn have(cmd: &mut Command) -> bool {
    cmd.output().map(|o| o.status.success()).unwrap_or(false)
}

#[test]
#[ignore = "builds a fuzz target with ASan (minutes): cargo test -p harness --test cflite -- --ignored"]
fn build_sh_builds_fuzzers_that_start() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let script = root.join(".clusterfuzzlite/build.sh");
    assert!(script.exists(), "missing {}", script.display());
    if !have(Command::new("cargo").args(["fuzz", "--version"])) {
        eprintln!("SKIP build_sh_builds_fuzzers_that_start: cargo-fuzz is not installed (cargo install cargo-fuzz)");
        return;
    }
    let rustc_nightly = Command::new("rustc")
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("nightly"));
    if !rustc_nightly && !have(Command::new("cargo").args(["+nightly", "--version"])) {
        eprintln!("SKIP build_sh_builds_fuzzers_that_start: no nightly toolchain for cargo-fuzz");
        return;
    }
    let tmp = std::env::temp_dir().join(format!("cflite-{}", std::process::id()));
    let (src, out) = (tmp.join("src"), tmp.join("out"));
    std::fs::create_dir_all(&src).expect("mkdir");
    let status = Command::new("bash")
        .arg(&script)
        .env("SRC", &src)
        .env("OUT", &out)
        .env("CFLITE_TARGETS", "wire_parse")
        .status()
        .expect("run build.sh");
    assert!(status.success(), "build.sh failed: {status}");
    let fuzzer = out.join("wire_parse");
    assert!(fuzzer.exists(), "no fuzzer at {}", fuzzer.display());
    let seeds = root.join("corpora/fuzz/wire_parse");
    if seeds.read_dir().is_ok_and(|mut d| d.next().is_some()) {
        assert!(
            out.join("wire_parse_seed_corpus.zip").exists(),
            "no seed corpus zip"
        );
    }
    let run = Command::new(&fuzzer)
        .arg("-runs=1")
        .output()
        .expect("start the fuzzer");
    assert!(
        run.status.success(),
        "the built fuzzer did not run: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

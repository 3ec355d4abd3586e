//! Tests that need something the machine may lack (tshark, Chromium, root and a TAP device)
//! skip when it is absent, and say so where it is seen: a skipped test is never a silent pass.

use std::io::Write;

/// Records that `test` was skipped because of `why`: on stderr (shown with `--nocapture`), and
/// as one line appended to the file named by `HARNESS_SKIP_LOG`, which `scripts/test` sets and
/// prints after the run (so `.ci/run` lists every skip above its total).
pub fn skipped(test: &str, why: &str) {
    let line = format!("skipped {test}: {why}");
    eprintln!("{line}");
    if let Some(path) = std::env::var_os("HARNESS_SKIP_LOG") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_skip_is_logged_where_scripts_test_reads_it() {
        let path = std::env::temp_dir().join(format!("skip-log-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        // The variable is read at call time; set it only for this process's test.
        std::env::set_var("HARNESS_SKIP_LOG", &path);
        super::skipped("t", "no tool");
        super::skipped("u", "no root");
        std::env::remove_var("HARNESS_SKIP_LOG");
        let text = std::fs::read_to_string(&path).expect("log written");
        let _ = std::fs::remove_file(&path);
        assert_eq!(text, "skipped t: no tool\nskipped u: no root\n");
    }
}

use super::*;
use std::collections::BTreeSet;
use std::process::Command;

fn incident_a() -> (Vec<FileResult>, RunOptions) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../conformance/scenarios/a1-iis-rst-loss-windows.toml");
    let opts = RunOptions::default();
    let r = crate::run::run_scenario(&path, &opts).expect("incident A runs");
    (vec![r], opts)
}

fn incident_a_html(dir: &Path) -> (String, Vec<FileResult>) {
    let (mut results, opts) = incident_a();
    results[0].pcaps = vec![dir.join("a1.dmz.pcap").display().to_string()];
    let html = render_html("incident A", &results, &mut rerun(&opts), dir);
    (html, results)
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("report-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[test]
fn every_finding_has_its_card_with_ladder_rfc_and_evidence() {
    let dir = tmpdir("cards");
    let (html, results) = incident_a_html(&dir);
    let findings = &results[0].findings;
    assert_eq!(findings.len(), 57);
    assert!(html.contains("<table id=\"outcomes\">"), "outcome table");
    assert_eq!(html.matches("<article class=\"finding\"").count(), 57);
    assert_eq!(html.matches("<svg ").count(), 57, "one ladder per finding");
    for (i, f) in findings.iter().enumerate() {
        let at = html
            .find(&format!(
                "id=\"finding-{}\" data-kind=\"{}\"",
                i + 1,
                f.kind
            ))
            .expect("card");
        let card = &html[at..at + html[at..].find("</article>").expect("end")];
        assert!(card.contains(&f.connection), "{card}");
        if let Some(c) = &f.cause {
            assert!(card.contains(c.as_str()), "{card}");
        }
        assert!(card.contains("RFC "), "{card}");
        // The ladder is the exchange around this very finding, which it marks.
        assert!(card.contains(&format!("[{}] {}", i + 1, f.kind)), "{card}");
        assert!(card.contains("&lt;=="), "{card}");
    }
    assert!(html.contains("RFC 1122 §2.3.2.2"));
    // Pcaps below the report's directory are linked relatively.
    assert!(html.contains("href=\"a1.dmz.pcap\""), "pcap link");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn write_leaves_only_the_finished_page() {
    let dir = tmpdir("write");
    let (results, opts) = incident_a();
    let out = dir.join("r.html");
    write(&out, "t", &results, &mut rerun(&opts)).expect("write");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["r.html".to_string()]);
    let err = write(
        &dir.join("missing/r.html"),
        "t",
        &results,
        &mut rerun(&opts),
    )
    .expect_err("no such directory");
    assert!(err.contains("missing/r.html"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Headless Chromium, when installed (`.ci/run` installs the Debian package `chromium`).
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn headless(bin: &Path, profile: &Path, args: &[String]) -> std::process::Output {
    Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs")
}

#[test]
fn chromium_renders_the_report_of_incident_a() {
    let Some(bin) = chromium() else {
        dut::skip::skipped(
            "chromium_renders_the_report_of_incident_a",
            "no chromium on PATH (install the Debian package `chromium`, or set \
             CHROMIUM=/path/to/chrome)",
        );
        return;
    };
    let dir = tmpdir("chromium");
    let (results, opts) = incident_a();
    let page = dir.join("incident-a.html");
    write(&page, "incident A", &results, &mut rerun(&opts)).expect("write");
    let url = format!("file://{}", page.display());

    // The DOM Chromium built: every finding's card, its ladder and the outcome table.
    let dom = headless(
        &bin,
        &dir.join("profile-dom"),
        &["--dump-dom".into(), url.clone()],
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("id=\"outcomes\""),
        "no outcome table in the DOM"
    );
    for (i, f) in results[0].findings.iter().enumerate() {
        assert!(
            dom.contains(&format!(
                "id=\"finding-{}\" data-kind=\"{}\"",
                i + 1,
                f.kind
            )),
            "finding {} missing from the DOM",
            i + 1
        );
    }
    assert_eq!(dom.matches("<svg ").count(), 57, "ladders in the DOM");

    // The pixels: not blank, with the red of the lost RSTs and findings in it.
    let shot = dir.join("incident-a.png");
    let out = headless(
        &bin,
        &dir.join("profile-shot"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1200,1600".into(),
            url,
        ],
    );
    assert!(
        shot.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&shot).expect("open png"),
    ));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    assert_eq!((info.width, info.height), (1200, 1600));
    let px = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("unexpected colour type {other:?}"),
    };
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    let colours: BTreeSet<[u8; 3]> = pixels.iter().map(|p| [p[0], p[1], p[2]]).collect();
    let inked = pixels
        .iter()
        .filter(|p| p[0] < 200 || p[1] < 200 || p[2] < 200)
        .count();
    let red = pixels
        .iter()
        .filter(|p| p[0] > 150 && p[1] < 80 && p[2] < 80)
        .count();
    eprintln!(
        "screenshot {}x{}: {} colours, {:.1}% inked, {red} red pixels",
        info.width,
        info.height,
        colours.len(),
        100.0 * inked as f64 / pixels.len() as f64
    );
    assert!(colours.len() > 16, "{} colours: blank page", colours.len());
    assert!(inked * 50 > pixels.len(), "under 2% of the page inked");
    assert!(red > 100, "no red marks (lost RSTs, finding borders)");
    let _ = std::fs::remove_dir_all(&dir);
}

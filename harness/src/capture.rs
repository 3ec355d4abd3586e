//! Getting frames out of any input: a pcap, a scenario (run once) or a script (run once).

use crate::ladder::{ladder_of_trace, Ladder, Selection};
use crate::options::RunOptions;

use crate::trace::{Fate, FrameRecord, NodeId, SegmentId, Trace, TraceEvent, TraceKind};
use stack::Instant;
use std::path::Path;

/// Frames of a capture or of one run of a scenario/script (first segment of a scenario that
/// has several; the host-side segment of a script).
pub fn frames_of(file: &Path) -> Result<Vec<(Instant, Vec<u8>)>, String> {
    match file.extension().and_then(|e| e.to_str()) {
        Some("pcap") | Some("cap") | Some("pcapng") => crate::pcap::read_pcap(file)
            .map(|v| v.into_iter().map(|f| (f.time, f.data)).collect())
            .map_err(|e| e.to_string()),
        Some("toml") | Some("pkt") => {
            let trace = trace_of(file)?;
            Ok(trace
                .events
                .iter()
                .filter_map(|e| match &e.kind {
                    TraceKind::Frame(f) if f.segment.0 == 0 => Some((f.time, f.bytes.clone())),
                    _ => None,
                })
                .collect())
        }
        _ => Err(format!(
            "{}: expected a .pcap, .pcapng, .toml or .pkt file",
            file.display()
        )),
    }
}

/// Runs a scenario or script once (reference stack, the file's own settings) and returns its
/// trace.
pub fn trace_of(file: &Path) -> Result<Trace, String> {
    trace_with(file, &RunOptions::default())
}

/// Runs a scenario or script once with `opts` (stack, profile, knobs, seed) and returns its
/// trace: every segment of a scenario; the one segment of a script.
pub fn trace_with(file: &Path, opts: &RunOptions) -> Result<Trace, String> {
    let errors = |errors: Vec<crate::location::Diagnostic>| {
        errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    match crate::input::load(file).map_err(errors)? {
        crate::input::Input::Scenario(sc) => {
            let mut ov = opts.overrides.clone();
            ov.stack = ov.stack.or(opts.stack.clone());
            Ok(sc.run(&ov).map_err(|e| e.to_string())?.trace)
        }
        crate::input::Input::Script(s) => {
            let profile = crate::script::runner::profiles_to_run(&s, opts)
                .map_err(|e| e.to_string())?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    format!(
                        "{}: its %applies line excludes profile {}",
                        file.display(),
                        opts.overrides.profile.as_deref().unwrap_or("?")
                    )
                })?;
            Ok(crate::script::runner::run_parsed(&s, &profile, opts)
                .map_err(|e| e.to_string())?
                .trace)
        }
    }
}

/// A ladder of a file: pcaps as captured; runs with lost frames marked and findings noted;
/// `sel` picks the host, connection or finding shown and summarises look-alike connections.
pub fn ladder_of(file: &Path, sel: &Selection) -> Result<Ladder, String> {
    let (trace, findings) = match file.extension().and_then(|e| e.to_str()) {
        Some("toml") | Some("pkt") => {
            let trace = trace_of(file)?;
            let findings = crate::oracle::analyze(&trace, &crate::oracle::OracleConfig::default());
            (trace, findings)
        }
        _ => (trace_of_frames(&frames_of(file)?), Vec::new()),
    };
    ladder_of_trace(&trace, &findings, sel).map_err(|e| e.to_string())
}

/// The connections of a file's run or capture, in order of first appearance (`ladder --conns`).
pub fn connections_of(file: &Path) -> Result<Vec<(String, usize)>, String> {
    let trace = match file.extension().and_then(|e| e.to_str()) {
        Some("toml") | Some("pkt") => trace_of(file)?,
        _ => trace_of_frames(&frames_of(file)?),
    };
    Ok(crate::ladder::select::connections(&trace))
}

/// A capture as a trace of one segment, every frame delivered.
fn trace_of_frames(frames: &[(Instant, Vec<u8>)]) -> Trace {
    let mut t = Trace::default();
    t.meta.segment_names.push("capture".into());
    for (i, (time, bytes)) in frames.iter().enumerate() {
        t.events.push(TraceEvent {
            time: *time,
            kind: TraceKind::Frame(FrameRecord {
                time: *time,
                segment: SegmentId(0),
                number: i + 1,
                from: NodeId(0),
                bytes: bytes.clone(),
                fate: Fate::Delivered,
                delivered_at: Some(*time),
            }),
        });
    }
    t.end = frames.last().map_or(Instant::ZERO, |f| f.0);
    t
}

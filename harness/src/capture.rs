//! Getting frames out of any input: a pcap, a scenario (run once) or a script (run once).

use crate::ladder::Ladder;
use crate::options::RunOptions;
use crate::scenario::{Overrides, Scenario};
use crate::trace::{Fate, Trace, TraceKind};
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

/// Runs a scenario or script once and returns its trace.
pub fn trace_of(file: &Path) -> Result<Trace, String> {
    match file.extension().and_then(|e| e.to_str()) {
        Some("toml") => {
            let sc = Scenario::load(file).map_err(|e| e.to_string())?;
            Ok(sc
                .run(&Overrides::default())
                .map_err(|e| e.to_string())?
                .trace)
        }
        Some("pkt") => match crate::input::load(file) {
            Ok(crate::input::Input::Script(s)) => {
                let opts = RunOptions::default();
                let profile = crate::script::runner::profiles_to_run(&s, &opts)
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| "rfc9293".to_string());
                Ok(crate::script::runner::run_parsed(&s, &profile, &opts)
                    .map_err(|e| e.to_string())?
                    .trace)
            }
            Ok(_) => Err(format!("{}: not a script", file.display())),
            Err(errors) => Err(errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")),
        },
        _ => Err(format!("{}: expected a .toml or .pkt file", file.display())),
    }
}

/// A ladder of a file: pcaps as captured; runs with dropped frames marked and findings noted.
pub fn ladder_of(file: &Path) -> Result<Ladder, String> {
    match file.extension().and_then(|e| e.to_str()) {
        Some("toml") | Some("pkt") => {
            let trace = trace_of(file)?;
            let mut l = Ladder::from_frames(&[]);
            for e in &trace.events {
                if let TraceKind::Frame(f) = &e.kind {
                    if f.segment.0 != 0 {
                        continue;
                    }
                    match &f.fate {
                        Fate::Delivered => l.frame(f.time, f.bytes.clone()),
                        Fate::Dropped(_) => l.dropped_frame(f.time, f.bytes.clone()),
                    };
                }
            }
            if file.extension().and_then(|e| e.to_str()) == Some("toml") {
                let cfg = crate::oracle::OracleConfig::default();
                for f in crate::oracle::analyze(&trace, &cfg) {
                    l.note(Instant::from_micros(f.time_us), &f.to_string());
                }
            }
            Ok(l)
        }
        _ => Ok(Ladder::from_frames(&frames_of(file)?)),
    }
}

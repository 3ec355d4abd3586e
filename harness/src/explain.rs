//! `harness explain KIND`: what a finding kind means, the RFC text behind it, the incident it
//! comes from, and the usual fixes (the workarounds of the seed incidents are the model).

use crate::oracle::FindingKind;

/// Everything `explain` says about one finding kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Explanation {
    pub kind: FindingKind,
    /// What happened, in one paragraph.
    pub meaning: &'static str,
    /// The section cited and the requirement's text.
    pub rfc: &'static str,
    /// The incident (seed) the kind comes from.
    pub incident: &'static str,
    /// What people do about it.
    pub fixes: &'static [&'static str],
    /// Scenarios of `conformance/scenarios/` that show it (and its fixes).
    pub scenarios: &'static [&'static str],
}

/// The explanation of `kind`. Every kind has one (a test checks it).
pub fn explain(kind: FindingKind) -> Explanation {
    match kind {
        FindingKind::RstLoss => Explanation {
            kind,
            meaning: "A stack generated an RST for a connection its peer still had, and the RST \
                      never reached the peer. RSTs are not retransmitted, so the peer keeps a \
                      connection the other end has forgotten (see half-open) and its next use \
                      fails. The cause names where it was lost: arp-queue-overflow (the next \
                      hop was being resolved and the ARP queue kept another packet), \
                      link-loss / link-outage (the wire), nat-no-mapping (a NAT had forgotten \
                      the connection).",
            rfc: "RFC 1122 §2.3.2.2: \"The link layer SHOULD save (rather than discard) at least \
                  one (the latest) packet of each set of packets destined to the same \
                  unresolved IP address, and transmit the saved packet when the address has \
                  been resolved.\" \"At least one\" allows a queue of one: several RSTs sent \
                  to one unresolved next hop in the same instant lose all but one. RFC 9293 \
                  §3.5.2: an RST is never acknowledged, so nothing retransmits it.",
            incident: "A (seeds/000): IIS on Windows Server 2008 R2 reaps idle keep-alive \
                       connections after 120 s with RSTs, every 5 s; when several are reaped in \
                       one tick behind a gateway whose ARP entry has expired, every RST but the \
                       last is dropped.",
            fixes: &[
                "a static ARP entry for the next hop (no resolution, no queue)",
                "a client idle timeout shorter than the server's, so the client closes first",
                "disable HTTP keep-alive, so no idle connection is left to reap",
                "a stack whose ARP queue holds more packets (Linux keeps up to unres_qlen)",
            ],
            scenarios: &[
                "a1-iis-rst-loss-windows",
                "a2-workaround-static-arp",
                "a3-workaround-client-idle-timeout",
                "a4-workaround-no-keepalive",
                "a5-linux-arp-queue",
            ],
        },
        FindingKind::HalfOpen => Explanation {
            kind,
            meaning: "One end holds a synchronized connection that the other end, or a \
                      middlebox on the path, no longer has, for longer than the grace period \
                      (5 s). The cause says why the other side forgot it: lost-rst, \
                      nat-expiry, peer-reboot, peer-closed.",
            rfc: "RFC 9293 §3.5.1: \"An established connection is said to be 'half-open' if one \
                  of the TCPs has closed or aborted the connection at its end without the \
                  knowledge of the other, or if the two ends of the connection have become \
                  desynchronized owing to a failure or reboot that resulted in loss of \
                  memory.\"",
            incident: "A (seeds/000) after the lost RSTs, and B (seeds/001) after a NAT dropped \
                       an idle mapping: both ends believe the connection is alive.",
            fixes: &[
                "TCP keepalive (SO_KEEPALIVE, idle 300 s) so a dead peer is noticed",
                "an application heartbeat (OpenSSH ClientAliveInterval 60 x ClientAliveCountMax 3 = 180 s)",
                "fix what lost the RST or the mapping (see rst-loss, nat-expiry)",
            ],
            scenarios: &[
                "a1-iis-rst-loss-windows",
                "b1-nat-expiry-no-keepalive",
                "b3-linux-keepalive-detects-dead-peer",
            ],
        },
        FindingKind::TimeWaitAssassination => Explanation {
            kind,
            meaning: "A connection in TIME-WAIT was ended before 2·MSL by a segment it \
                      received (usually an RST answering the ACK that an old duplicate \
                      provoked), so an old duplicate can now be accepted by a new incarnation \
                      of the same socket pair.",
            rfc: "RFC 9293 §3.10.7.4 (as RFC 793): in TIME-WAIT, \"If the RST bit is set then, \
                  enter the CLOSED state, delete the TCB, and return.\" RFC 1337 names the \
                  hazards (old duplicates accepted, desynchronization, a new connection \
                  wrongly reset) and recommends: \"ignore RST segments in TIME-WAIT state.\"",
            incident: "D (seeds/003, Effective TCP/IP Programming): an old duplicate arrives in \
                       TIME-WAIT, the ACK it provokes is answered with an RST by the host that \
                       no longer knows the connection, and the RST assassinates TIME-WAIT.",
            fixes: &[
                "ignore RST in TIME-WAIT (RFC 1337; Linux net.ipv4.tcp_rfc1337=1; profile rfc1337)",
                "RFC 5961 challenge ACKs narrow which RSTs are accepted (profile rfc5961)",
                "never shorten TIME-WAIT from the application (no SO_LINGER 0)",
            ],
            scenarios: &[
                "d1-time-wait-assassination-rfc793",
                "d2-rfc1337-ignores-rst-in-time-wait",
            ],
        },
        FindingKind::DeliberateAbort => Explanation {
            kind,
            meaning: "An application closed with SO_LINGER and a zero timeout: the stack \
                      aborted with an RST and skipped TIME-WAIT on purpose. Reported apart \
                      from assassinations because nobody attacked the connection.",
            rfc: "RFC 9293 §3.10.5 ABORT call: \"all queued SENDs and RECEIVEs should be given \
                  'connection reset' notification; delete the TCB, enter CLOSED state, and \
                  return\" after sending \"a reset segment\".",
            incident: "D (seeds/003): SO_LINGER 0 is how applications kill TIME-WAIT themselves; \
                       \"a correct application never manipulates TIME-WAIT\".",
            fixes: &[
                "close normally (FIN) and let TIME-WAIT run its 2·MSL",
                "use SO_REUSEADDR for quick server restarts instead of killing TIME-WAIT",
            ],
            scenarios: &["d3-zero-linger-deliberate-abort"],
        },
        FindingKind::StaleReuse => Explanation {
            kind,
            meaning: "An application wrote a request on a pooled keep-alive connection that \
                      the peer had already dropped; the request fails (reset, or a timeout when \
                      nothing answers).",
            rfc: "RFC 9112 §9.3 / §9.6: a persistent connection may be closed by either end at \
                  any time; \"A client, server, or proxy MAY close the transport connection at \
                  any time\", so a client reusing an idle connection must be ready for it to \
                  be gone.",
            incident: "C (seeds/002): a .NET 1.1 SOAP client reuses a pooled HTTP/1.1 connection \
                       after IIS reset it during 10+ minutes of idleness; every later request \
                       times out. Also the last step of A.",
            fixes: &[
                "Connection: close on the last request (KeepAlive = false): FIN, then a new connection",
                "a client pool idle timeout shorter than the server's",
                "retry idempotent requests once on a fresh connection",
            ],
            scenarios: &[
                "c1-pooled-reuse-after-reset",
                "c2-connection-close-on-last-request",
            ],
        },
        FindingKind::NatExpiry => Explanation {
            kind,
            meaning: "A NAT on the path dropped the mapping of a live connection that had been \
                      idle longer than the NAT's timeout. Neither end is told; the next packet \
                      either vanishes or is answered with an RST.",
            rfc: "RFC 5382 §5 (REQ-5): \"If a NAT cannot determine whether the endpoints of a \
                  TCP connection are active, it MAY abandon the session if it has been idle \
                  for some time. In such cases, the value of the 'established connection \
                  idle-timeout' MUST NOT be less than 2 hours 4 minutes.\" Many NATs use \
                  minutes (about 10 measured on Linux 2.4 iptables).",
            incident: "B (seeds/001): remote GUI/terminal sessions through a NAT die after \
                       about 10 idle minutes (\"connection reset by peer\").",
            fixes: &[
                "TCP keepalive shorter than the NAT timeout (tcp_keepalive_time 300 s, with SO_KEEPALIVE)",
                "an application heartbeat (OpenSSH ClientAliveInterval 60)",
                "a longer NAT timeout for established TCP",
            ],
            scenarios: &[
                "b1-nat-expiry-no-keepalive",
                "b2-keepalive-300s-keeps-mapping",
            ],
        },
        FindingKind::KeepaliveDetection => Explanation {
            kind,
            meaning: "A stack (keepalive) or an application (heartbeat) declared a connection \
                      dead; the finding gives how long that took, or that the peer was in fact \
                      alive (a short outage exhausted the probes).",
            rfc: "RFC 1122 §4.2.3.6: keep-alives MAY be included; \"the application MUST be able \
                  to turn them on or off for each TCP connection, and they MUST default to \
                  off\"; the idle interval \"MUST be configurable and MUST default to no less \
                  than two hours.\" Detection = idle + interval x probes (Linux 300 + 75 x 9 = \
                  975 s; Windows 300 + 1 x 10 = 310 s).",
            incident: "B (seeds/001): keepalive notices a dead peer, and can also kill a live \
                       connection when probes fall into a transient outage.",
            fixes: &[
                "choose idle + interval x probes below the NAT timeout and above outages you must survive",
                "more probes at a longer interval ride out short outages (Linux 75 s x 9)",
            ],
            scenarios: &[
                "b3-linux-keepalive-detects-dead-peer",
                "b4-windows-keepalive-detects-dead-peer",
                "b5-windows-keepalive-killed-by-outage",
                "b6-linux-keepalive-survives-outage",
                "b7-ssh-heartbeat-detects-dead-client",
            ],
        },
        FindingKind::RfcViolation => Explanation {
            kind,
            meaning: "A segment a stack sent (or failed to send) breaks a MUST of RFC 9293 / \
                      RFC 1122 (or the option rules of RFC 7323 and RFC 2018); the finding \
                      names the rule and the frame.",
            rfc: "RFC 9293 Appendix B lists the MUST/SHLD requirements by label (MUST-1 ...); \
                  conformance/REQUIREMENTS.md maps each one to the scripts that check it.",
            incident: "None of the four: this is conformance, found by scripts, hunts and \
                       `harness check` of captures.",
            fixes: &[
                "fix the stack at the cited rule; the script named in REQUIREMENTS.md reproduces it",
            ],
            scenarios: &[],
        },
    }
}

/// The text `harness explain KIND` prints.
pub fn render(e: &Explanation) -> String {
    let mut s = format!("{}\n\n{}\n\n", e.kind, wrap(e.meaning));
    s.push_str(&format!("{}\n\n", wrap(&format!("RFC: {}", e.rfc))));
    s.push_str(&format!(
        "{}\n\nUsual fixes:\n",
        wrap(&format!("Incident: {}", e.incident))
    ));
    for f in e.fixes {
        s.push_str(&format!("  - {}\n", squeeze(f)));
    }
    if !e.scenarios.is_empty() {
        s.push_str("\nSee it happen:\n");
        for sc in e.scenarios {
            s.push_str(&format!("  harness run conformance/scenarios/{sc}.toml\n"));
        }
    }
    s
}

/// `harness explain KIND` (or every kind's name when none is given).
pub fn command(kind: Option<&str>) -> Result<u8, String> {
    match kind {
        None => {
            for k in FindingKind::ALL {
                println!("{:<24} {}", k.name(), first_sentence(explain(k).meaning));
            }
            Ok(0)
        }
        Some(k) => {
            let kind = FindingKind::parse_named(k)?;
            print!("{}", render(&explain(kind)));
            Ok(0)
        }
    }
}

/// Runs of spaces (from the line continuations above) as one.
fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn first_sentence(s: &str) -> String {
    let s = squeeze(s);
    match s.find(". ") {
        Some(i) => s[..=i].to_string(),
        None => s,
    }
}

/// Wrapped at 96 columns.
fn wrap(s: &str) -> String {
    let mut out = String::new();
    let mut line = 0;
    for w in s.split_whitespace() {
        if line > 0 && line + 1 + w.chars().count() > 96 {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(w);
        line += w.chars().count();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_explained_with_rfc_incident_and_fixes() {
        for k in FindingKind::ALL {
            let e = explain(k);
            assert_eq!(e.kind, k);
            assert!(e.rfc.contains("RFC "), "{k}");
            assert!(!e.meaning.is_empty() && !e.incident.is_empty(), "{k}");
            assert!(!e.fixes.is_empty(), "{k}");
            let text = render(&e);
            assert!(
                text.starts_with(k.name()) && text.contains("Usual fixes:"),
                "{text}"
            );
            assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        }
    }

    #[test]
    fn scenarios_named_exist() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/scenarios");
        for k in FindingKind::ALL {
            for sc in explain(k).scenarios {
                assert!(dir.join(format!("{sc}.toml")).is_file(), "{k}: {sc}");
            }
        }
    }

    #[test]
    fn rst_loss_cites_rfc_1122_and_the_seed_workarounds() {
        let text = render(&explain(FindingKind::RstLoss));
        assert!(text.contains("RFC 1122 §2.3.2.2"), "{text}");
        assert!(
            text.contains("static ARP entry") && text.contains("keep-alive"),
            "{text}"
        );
    }

    #[test]
    fn unknown_kind_is_an_error_listing_the_kinds() {
        let err = command(Some("rst-lost")).expect_err("unknown");
        assert!(
            err.contains("unknown finding kind `rst-lost`") && err.contains("rst-loss"),
            "{err}"
        );
    }
}

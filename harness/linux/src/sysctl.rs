//! Knobs of [`stack::policy::Profile`] as sysctls of the namespace, and the kernel's fixed
//! behaviour for the knobs it cannot change. Every value a run depends on is written, defaults
//! included (per-device neighbour settings live as long as the device).

use dut::KnobSupport;
use stack::policy::Profile;

/// How the live kernel treats each knob. Fixed values are Linux's (6.x defaults, the
/// reference `linux` profile).
pub const KNOBS: &[(&str, KnobSupport)] = &[
    ("tcp.time_wait_rst", KnobSupport::Honoured),
    ("tcp.challenge_ack_limit", KnobSupport::Honoured),
    ("tcp.keepalive.idle", KnobSupport::Honoured),
    ("tcp.keepalive.intvl", KnobSupport::Honoured),
    ("tcp.keepalive.probes", KnobSupport::Honoured),
    ("tcp.max_retries", KnobSupport::Honoured),
    ("tcp.syn_retries", KnobSupport::Honoured),
    ("arp.queue_depth", KnobSupport::Honoured),
    ("arp.queue_bytes", KnobSupport::Honoured),
    ("arp.reachable_time", KnobSupport::Honoured),
    ("arp.retransmit_interval", KnobSupport::Honoured),
    ("arp.max_requests", KnobSupport::Honoured),
    fixed("tcp.rfc5961", "on", "RFC 5961 checks are always on"),
    fixed(
        "tcp.syn_in_time_wait",
        "accept",
        "tcp_timewait_state_process accepts a SYN with a higher sequence number",
    ),
    fixed(
        "tcp.isn",
        "rfc6528",
        "secure_tcp_seq: RFC 6528 hash plus clock",
    ),
    fixed(
        "tcp.rst_on_bad_synrecv",
        "on",
        "an unacceptable ACK in SYN-RECEIVED draws a reset",
    ),
    fixed(
        "tcp.keepalive.enabled",
        "off",
        "SO_KEEPALIVE is off by default",
    ),
    fixed(
        "tcp.keepalive.probe_garbage_byte",
        "off",
        "probes carry no data",
    ),
    fixed(
        "tcp.keepalive.rst_on_drop",
        "on",
        "tcp_keepalive_timer resets the connection it drops",
    ),
    fixed(
        "tcp.delayed_ack",
        "40ms",
        "the delayed-ACK timer starts at TCP_ATO_MIN (40 ms)",
    ),
    fixed("tcp.msl", "30s", "TIME-WAIT lasts TCP_TIMEWAIT_LEN (60 s)"),
    fixed("tcp.rto_initial", "1s", "TCP_TIMEOUT_INIT"),
    fixed("tcp.rto_min", "200ms", "TCP_RTO_MIN"),
    fixed("tcp.rto_max", "120s", "TCP_RTO_MAX"),
    fixed(
        "tcp.mss",
        "1460",
        "MSS follows the TAP device's 1500-byte MTU",
    ),
    fixed("tcp.rcv_buf", "131072", "tcp_rmem default"),
    fixed(
        "tcp.snd_buf",
        "65536",
        "the reference linux profile's send buffer",
    ),
    ("tcp.window_scale", KnobSupport::Honoured),
    fixed("tcp.nagle", "on", "Nagle is on unless TCP_NODELAY"),
    fixed(
        "tcp.zero_window_probe",
        "una-minus-one",
        "tcp_xmit_probe_skb sends SND.UNA-1",
    ),
    fixed(
        "tcp.user_timeout",
        "off",
        "TCP_USER_TIMEOUT is off by default",
    ),
    fixed("tcp.timestamps", "on", "tcp_timestamps default 1"),
    fixed("tcp.sack", "on", "tcp_sack default 1"),
    fixed(
        "tcp.syn_layout",
        "linux",
        "tcp_options_write: mss, sackOK, TS, nop, wscale",
    ),
    fixed(
        "tcp.buf_round_to_mss",
        "off",
        "socket buffers are not rounded to the MSS",
    ),
    fixed(
        "tcp.insecure_syn",
        "off",
        "every SYN in a synchronized state draws a challenge ACK",
    ),
    fixed("tcp.drop_synfin", "off", "a SYN-FIN is processed as a SYN"),
    fixed(
        "tcp.fin_on_acks",
        "off",
        "ACKs in FIN-WAIT-1/CLOSING/LAST-ACK are plain (SEQ = SND.NXT)",
    ),
    fixed(
        "tcp.rcv_wnd_from_buffer",
        "off",
        "tcp_sequence checks against the advertised window (rcv_wup + tcp_receive_window)",
    ),
    fixed(
        "tcp.abort_rst_ack",
        "on",
        "tcp_send_active_reset sends TCPHDR_ACK | TCPHDR_RST",
    ),
    fixed(
        "tcp.time_wait_bsd",
        "off",
        "tcp_timewait_state_process, not BSD tcp_twcheck",
    ),
    fixed(
        "tcp.old_segment_ack",
        "off",
        "tcp_validate_incoming drops an old segment after a duplicate ACK",
    ),
    fixed(
        "tcp.rst_error_after_fin",
        "on",
        "tcp_reset reports ECONNRESET in CLOSING and LAST-ACK",
    ),
    fixed(
        "tcp.listener_close_resets_embryonic",
        "off",
        "inet_csk_listen_stop frees request sockets silently",
    ),
    fixed(
        "tcp.listen_synack_rst",
        "on",
        "tcp_rcv_state_process answers any ACK in LISTEN with RST",
    ),
    fixed(
        "tcp.initial_window",
        "10",
        "TCP_INIT_CWND (RFC 6928); a route's initcwnd could change it",
    ),
    fixed(
        "tcp.quickack",
        "16",
        "TCP_MAX_QUICKACKS: quick-ACK mode at connection start",
    ),
    fixed(
        "arp.overflow",
        "drop-oldest",
        "__neigh_event_send drops the oldest queued packet",
    ),
];

const fn fixed(
    name: &'static str,
    value: &'static str,
    reason: &'static str,
) -> (&'static str, KnobSupport) {
    (name, KnobSupport::Fixed { value, reason })
}

/// A knob value such as `75s`, `200ms`, `1s` in milliseconds.
fn millis(v: &str) -> Option<u64> {
    if let Some(ms) = v.strip_suffix("ms") {
        return ms.trim().parse().ok();
    }
    if let Some(s) = v.strip_suffix('s') {
        return s.trim().parse::<u64>().ok().map(|s| s * 1000);
    }
    v.parse().ok()
}

/// `(path under /proc/sys, value)` for every honoured knob of `p`, in the order they must be
/// written (`unres_qlen` before `unres_qlen_bytes`: writing the first rewrites the second).
/// `dev` is the TAP device. Also the settings that switch off what the reference stack does
/// not model (timestamps, SACK, ECN, tail loss probes and RACK-TLP early retransmission of
/// RFC 8985, F-RTO of RFC 5682) and select Reno congestion control (RFC 5681). A tail loss
/// probe left on fires one probe timeout (about two round trips) after a lone segment, which on
/// the wall clock races with the script's next ACK: a run would pass or fail by chance.
pub fn settings(p: &Profile, dev: &str) -> Result<Vec<(String, String)>, String> {
    let get = |k: &str| p.get(k).map_err(|e| e.to_string());
    let ms = |k: &str| -> Result<u64, String> {
        let v = get(k)?;
        millis(&v).ok_or_else(|| format!("{k}={v}: not a duration"))
    };
    let num = |k: &str| -> Result<u64, String> {
        let v = get(k)?;
        v.parse().map_err(|_| format!("{k}={v}: not a number"))
    };
    let tcp = |n: &str| format!("net/ipv4/tcp_{n}");
    let neigh = |n: &str| format!("net/ipv4/neigh/{dev}/{n}");
    let mut out = vec![
        (tcp("timestamps"), "0".into()),
        (tcp("sack"), "0".into()),
        (tcp("ecn"), "0".into()),
        (tcp("early_retrans"), "0".into()),
        (tcp("frto"), "0".into()),
        // Linux 6.18+: the first SYN retransmissions back off linearly (1 s apart); RFC 6298
        // §5.5 doubles the timeout, as the reference stack does.
        (
            tcp("syn_linear_timeouts"),
            if std::path::Path::new("/proc/sys/net/ipv4/tcp_syn_linear_timeouts").exists() {
                "0"
            } else {
                ""
            }
            .into(),
        ),
        // RFC 7323 window scaling: off, or the shift the largest receive buffer gives
        // (the kernel picks the smallest shift that fits tcp_rmem's maximum in 16 bits).
        match get("tcp.window_scale")?.as_str() {
            "off" => (tcp("window_scaling"), "0".into()),
            _ => (tcp("window_scaling"), "1".into()),
        },
        (
            tcp("rmem"),
            match get("tcp.window_scale")?.parse::<u32>() {
                Ok(shift) => format!("4096 131072 {}", 65_535u64 << shift.min(14)),
                Err(_) => "4096 131072 6291456".into(),
            },
        ),
        (tcp("congestion_control"), "reno".into()),
        (
            tcp("rfc1337"),
            if get("tcp.time_wait_rst")? == "ignore" {
                "1"
            } else {
                "0"
            }
            .into(),
        ),
        (
            tcp("challenge_ack_limit"),
            match num("tcp.challenge_ack_limit")? {
                0 => i32::MAX.to_string(),
                n => n.to_string(),
            },
        ),
        (
            tcp("keepalive_time"),
            (ms("tcp.keepalive.idle")? / 1000).max(1).to_string(),
        ),
        (
            tcp("keepalive_intvl"),
            (ms("tcp.keepalive.intvl")? / 1000).max(1).to_string(),
        ),
        (
            tcp("keepalive_probes"),
            num("tcp.keepalive.probes")?.to_string(),
        ),
        (tcp("retries2"), num("tcp.max_retries")?.to_string()),
        (tcp("syn_retries"), num("tcp.syn_retries")?.to_string()),
        (tcp("synack_retries"), num("tcp.syn_retries")?.to_string()),
        (neigh("unres_qlen"), num("arp.queue_depth")?.to_string()),
        (
            neigh("unres_qlen_bytes"),
            match num("arp.queue_bytes")? {
                0 => i32::MAX.to_string(),
                n => n.to_string(),
            },
        ),
        (
            neigh("base_reachable_time_ms"),
            ms("arp.reachable_time")?.to_string(),
        ),
        (
            neigh("retrans_time_ms"),
            ms("arp.retransmit_interval")?.to_string(),
        ),
        (neigh("mcast_solicit"), num("arp.max_requests")?.to_string()),
    ];
    out.retain(|(_, v)| !v.is_empty());
    Ok(out)
}

/// What [`write_raw`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    /// The namespace took the value.
    Done,
    /// `tcp_congestion_control` named an algorithm the host keeps out of child namespaces
    /// (not in its `tcp_allowed_congestion_control`): the namespace default cannot be it, but
    /// every socket can still select it (`TCP_CONGESTION` with CAP_NET_ADMIN, as root has).
    PerSocketCongestion(String),
}

/// Writes a script's sysctl in the namespace the calling thread is in, which must be a
/// private one: the thread's network namespace is compared with the process's (the namespace
/// the harness was started in) and nothing is written when they are the same. A name the
/// namespace does not have, or has read-only (a host-wide setting the kernel shows but does
/// not let a child namespace change), is refused by name. `dev` stands in for packetdrill's
/// `tun0`.
pub fn write_raw(s: &dut::RawSysctl, dev: &str) -> Result<Written, String> {
    use std::os::unix::fs::MetadataExt;
    let ns = |p: &str| {
        std::fs::metadata(p)
            .map(|m| (m.dev(), m.ino()))
            .map_err(|e| format!("{p}: {e}"))
    };
    if ns("/proc/thread-self/ns/net")? == ns("/proc/self/ns/net")? {
        return Err(format!(
            "sysctl {s}: refused outside the stack's own network namespace"
        ));
    }
    let path = format!("/proc/sys/{}", s.proc_path(dev));
    if !std::path::Path::new(&path).is_file() {
        return Err(format!(
            "sysctl {}: this kernel has no such setting in a network namespace (unknown, or \
             host-wide)",
            s.name
        ));
    }
    match std::fs::write(&path, &s.value) {
        Ok(()) => Ok(Written::Done),
        // net/ipv4/tcp_cong.c tcp_set_default_congestion_control: a child namespace may only
        // default to an algorithm the host allows.
        Err(e)
            if e.raw_os_error() == Some(1)
                && s.name == "net.ipv4.tcp_congestion_control"
                && std::fs::read_to_string(
                    "/proc/sys/net/ipv4/tcp_available_congestion_control",
                )
                .is_ok_and(|a| a.split_whitespace().any(|c| c == s.value)) =>
        {
            Ok(Written::PerSocketCongestion(s.value.clone()))
        }
        // EACCES: the sysctl's mode has no write bit in this namespace (host-wide data).
        Err(e) if e.raw_os_error() == Some(13) => Err(format!(
            "sysctl {}: read-only in a network namespace (host-wide, not per namespace)",
            s.name
        )),
        Err(e) => Err(format!("sysctl {s}: the kernel refused it: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(millis("75s"), Some(75_000));
        assert_eq!(millis("200ms"), Some(200));
        assert_eq!(millis("x"), None);
    }

    #[test]
    fn linux_profile_maps_to_the_kernel_defaults() {
        let s = settings(&Profile::named("linux").unwrap(), "tap0").unwrap();
        let get = |k: &str| {
            s.iter()
                .find(|(p, _)| p.ends_with(k))
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("tcp_rfc1337"), Some("0"));
        assert_eq!(get("tcp_early_retrans"), Some("0"), "no tail loss probes");
        assert_eq!(get("tcp_keepalive_time"), Some("7200"));
        assert_eq!(get("tcp_keepalive_intvl"), Some("75"));
        assert_eq!(get("tcp_keepalive_probes"), Some("9"));
        assert_eq!(get("tcp_syn_retries"), Some("6"));
        assert_eq!(get("neigh/tap0/unres_qlen"), Some("101"));
        assert_eq!(get("neigh/tap0/unres_qlen_bytes"), Some("212992"));
        let qlen = s
            .iter()
            .position(|(p, _)| p.ends_with("unres_qlen"))
            .unwrap();
        let bytes = s
            .iter()
            .position(|(p, _)| p.ends_with("unres_qlen_bytes"))
            .unwrap();
        assert!(qlen < bytes, "unres_qlen must be written first");
    }

    #[test]
    fn every_profile_knob_has_a_stated_treatment() {
        for k in Profile::rfc9293().knobs() {
            assert!(
                KNOBS.iter().any(|(n, _)| *n == k.name),
                "knob {} has no entry for the live kernel",
                k.name
            );
        }
    }
}

//! What a profile looks like on the wire, for `harness profiles NAME` and script writers: the
//! SYN the reference stack sends under it (built by the stack itself, not restated) and when it
//! acknowledges data.

use std::net::{Ipv4Addr, SocketAddrV4};

use stack::policy::Profile;
use stack::tcp::Tcp;
use stack::Instant;

use crate::render::{flags_str, option_str};

/// The SYN an active open sends under `profile`: `S 0:0(0) win 65535 <mss 1460,...>`.
pub fn syn_line(profile: &Profile) -> String {
    let mut tcp = Tcp::new(profile.tcp.clone(), 1);
    let local = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 0);
    let remote = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 2), 8080);
    if tcp.connect(Instant::ZERO, local, remote).is_err() {
        return "(the profile cannot open a connection)".into();
    }
    match tcp.poll_transmit(Instant::ZERO) {
        Some(out) => {
            let seg = &out.seg;
            let opts: Vec<String> = seg.options.iter().map(|o| option_str(o, 0)).collect();
            let mut s = format!("{} 0:0(0) win {}", flags_str(seg.flags), seg.window);
            if !opts.is_empty() {
                s.push_str(&format!(" <{}>", opts.join(",")));
            }
            s
        }
        None => "(no SYN sent)".into(),
    }
}

/// When the stack acknowledges in-order data under `profile` (RFC 1122 §4.2.3.2, RFC 5681 §4.2).
pub fn ack_policy(profile: &Profile) -> String {
    match profile.tcp.delayed_ack {
        Some(d) => format!(
            "delayed ACK: a lone in-order segment is acknowledged {d} after it arrives \
             (tcp.delayed_ack, RFC 1122 §4.2.3.2), or at once with the next data sent; every \
             second full-sized segment is acknowledged at once; out-of-order segments and the \
             segment that fills a gap are acknowledged at once (RFC 5681 §4.2)"
        ),
        None => "every segment is acknowledged at once (tcp.delayed_ack = off)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syn_shows_the_profiles_options() {
        let linux = Profile::named("linux").expect("linux");
        let line = syn_line(&linux);
        assert!(line.starts_with("S 0:0(0) win "), "{line}");
        assert!(
            line.contains("mss 1460") && line.contains("wscale 7"),
            "{line}"
        );
        let mut off = linux.clone();
        off.set("tcp.window_scale", "off").expect("knob");
        assert!(!syn_line(&off).contains("wscale"), "{}", syn_line(&off));
    }

    #[test]
    fn ack_policy_follows_the_delayed_ack_knob() {
        let mut p = Profile::named("linux").expect("linux");
        assert!(ack_policy(&p).contains("0.040000s"), "{}", ack_policy(&p));
        p.set("tcp.delayed_ack", "off").expect("knob");
        assert!(ack_policy(&p).contains("at once"), "{}", ack_policy(&p));
    }
}

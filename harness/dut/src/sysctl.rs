//! Raw kernel sysctl writes, as packetdrill scripts make them (`sysctl -q net.ipv4.x=y`,
//! `set_sysctls.py /proc/sys/net/ipv4/x=y`), for a stack that can take them itself
//! ([`crate::Capabilities::raw_sysctls`]). Names and values are checked here, before any adapter
//! sees them: only network-namespace sysctls (`net.ipv4.*`, `net.ipv6.*`, `net.core.*`), with
//! plain names and plain values. Nothing in a script is ever run by a shell.

use core::fmt;

/// The longest value accepted (the longest the suites write is `tcp_fastopen_key`, 35 bytes,
/// and `tcp_rmem`, three numbers).
pub const MAX_VALUE_LEN: usize = 256;

/// The sysctl trees a network namespace has its own copy of (net/ipv4/sysctl_net_ipv4.c
/// `ipv4_net_table`, net/core/sysctl_net_core.c `netns_core_table`, net/ipv6/sysctl_net_ipv6.c).
/// Entries of these trees that are not per namespace do not exist in a child namespace, or are
/// read-only there: the adapter reports those as not namespaced.
pub const NAMESPACED_TREES: &[&str] = &["net.ipv4.", "net.ipv6.", "net.core."];

/// One checked sysctl write: `name` in dotted form (`net.ipv4.tcp_sack`), `value` trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawSysctl {
    pub name: String,
    pub value: String,
}

/// Why a sysctl write is refused before it reaches a stack.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SysctlError {
    /// Not a sysctl name or value at all: bad script input.
    #[error("bad sysctl name `{0}`: expected dotted words of letters, digits, `_` and `-` (net.ipv4.tcp_sack), or /proc/sys/net/... ")]
    BadName(String),
    #[error("bad value `{value}` for sysctl {name}: {why}")]
    BadValue {
        name: String,
        value: String,
        why: &'static str,
    },
    /// A well-formed name outside the network-namespace trees: it would change the host.
    #[error("sysctl {0} is not per network namespace (only net.ipv4.*, net.ipv6.* and net.core.* are written, in the stack's own namespace)")]
    NotNamespaced(String),
}

impl SysctlError {
    /// True for bad input (a script that is wrong whatever the stack); false for a valid write
    /// that no stack may make ([`SysctlError::NotNamespaced`]).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, SysctlError::NotNamespaced(_))
    }
}

impl RawSysctl {
    /// Checks one write. `name` may be dotted (`net.ipv4.tcp_sack`), slashed (`net/ipv4/tcp_sack`,
    /// as `sysctl` also takes it) or a `/proc/sys/` path (packetdrill's `set_sysctls.py`).
    pub fn parse(name: &str, value: &str) -> Result<RawSysctl, SysctlError> {
        let bad_name = || SysctlError::BadName(name.to_string());
        let n = name.trim();
        let (rest, sep) = match n.strip_prefix("/proc/sys/") {
            Some(r) => (r, '/'),
            None if n.contains('/') => (n, '/'),
            None => (n, '.'),
        };
        let parts: Vec<&str> = rest.split(sep).collect();
        if parts.len() < 2
            || parts.iter().any(|p| {
                p.is_empty()
                    || p.len() > 64
                    || !p
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            })
        {
            return Err(bad_name());
        }
        let dotted = parts.join(".");
        let bad_value = |why| SysctlError::BadValue {
            name: dotted.clone(),
            value: value.to_string(),
            why,
        };
        let v = value.trim();
        if v.is_empty() {
            return Err(bad_value("empty"));
        }
        if v.len() > MAX_VALUE_LEN {
            return Err(bad_value("longer than 256 bytes"));
        }
        // Numbers (decimal or 0x hex), lists of numbers, names (`cubic`), keys
        // (`a1a1a1a1-b2b2b2b2-...`): anything else is shell text the script meant a shell to
        // expand, which the harness does not do.
        if !v.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, ' ' | '\t' | '_' | '-' | '.' | ',' | ':' | '+')
        }) {
            return Err(bad_value(
                "only letters, digits, spaces and `_ - . , : +` (no shell expansion is done)",
            ));
        }
        if !NAMESPACED_TREES.iter().any(|t| dotted.starts_with(t)) {
            return Err(SysctlError::NotNamespaced(dotted));
        }
        Ok(RawSysctl {
            name: dotted,
            value: v.to_string(),
        })
    }

    /// The path under `/proc/sys/`, with `dev` standing in for packetdrill's test device
    /// (`tun0`) in per-device entries (`net.ipv4.conf.tun0.*`, `net.ipv4.neigh.tun0.*`).
    pub fn proc_path(&self, dev: &str) -> String {
        self.name
            .split('.')
            .map(|p| if p == "tun0" { dev } else { p })
            .collect::<Vec<_>>()
            .join("/")
    }
}

impl fmt::Display for RawSysctl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_slashed_and_proc_names_are_one_name() {
        for n in [
            "net.ipv4.tcp_sack",
            "net/ipv4/tcp_sack",
            "/proc/sys/net/ipv4/tcp_sack",
        ] {
            let s = RawSysctl::parse(n, " 1 ").unwrap();
            assert_eq!(s.name, "net.ipv4.tcp_sack");
            assert_eq!(s.value, "1");
        }
        let s = RawSysctl::parse("net.ipv4.tcp_rmem", "4096 540000 15728640").unwrap();
        assert_eq!(s.proc_path("tap0"), "net/ipv4/tcp_rmem");
        let s = RawSysctl::parse("net.ipv4.conf.tun0.rp_filter", "0").unwrap();
        assert_eq!(s.proc_path("tap0"), "net/ipv4/conf/tap0/rp_filter");
        RawSysctl::parse(
            "net.ipv4.tcp_fastopen_key",
            "a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4",
        )
        .unwrap();
        RawSysctl::parse("net.ipv4.tcp_fastopen", "0x70403").unwrap();
    }

    #[test]
    fn bad_names_and_values_are_input_errors() {
        for n in [
            "net..ipv4",
            "net.ipv4.tcp_sack;reboot",
            "net.ipv4.../x",
            "../../etc/passwd",
            "/proc/sys/net/ipv4/../../kernel/x",
            "net",
            "",
        ] {
            let e = RawSysctl::parse(n, "1").unwrap_err();
            assert!(matches!(e, SysctlError::BadName(_)), "{n}: {e}");
            assert!(e.is_bad_input());
        }
        for v in ["", "$HOME", "1; reboot", "`id`", "a\nb", &"9".repeat(257)] {
            let e = RawSysctl::parse("net.ipv4.tcp_sack", v).unwrap_err();
            assert!(matches!(e, SysctlError::BadValue { .. }), "{v:?}: {e}");
            assert!(e.is_bad_input());
        }
    }

    #[test]
    fn host_wide_trees_are_refused_by_name() {
        for n in [
            "kernel.panic",
            "vm.swappiness",
            "net.netfilter.nf_conntrack_max",
        ] {
            let e = RawSysctl::parse(n, "1").unwrap_err();
            assert_eq!(e, SysctlError::NotNamespaced(n.to_string()));
            assert!(!e.is_bad_input());
            assert!(e.to_string().contains(n), "{e}");
        }
    }
}

//! Shell scripts a packetdrill line runs by path (packetdrill's own suite opens every script with
//! `../common/defaults.sh`, which sets the production sysctls the scripts were recorded with).
//! The harness cannot run them, but it can read their `sysctl [-q] [-w] name=value` lines (with
//! double quotes and `$((...))` arithmetic, as defaults.sh writes `tcp_rmem`) and apply those;
//! every other line is reported as not run.

use std::path::Path;

use crate::script::ast::Sysctl;

/// What a shell file holds: its sysctl writes in order, and the lines that are anything else.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Sourced {
    pub sysctls: Vec<Sysctl>,
    pub other: Vec<String>,
}

/// What a backtick command does when one of its lines is a lone path ending in `.sh` (resolved
/// against the directory of `script_file`) or a sysctl write: that file's content in its place,
/// the command's other lines as they are. `None` when no line names a readable shell file and
/// none writes a sysctl.
pub(super) fn read(script_file: &str, command: &str) -> Option<Sourced> {
    let dir = Path::new(script_file).parent()?;
    let mut out = Sourced::default();
    let mut found = false;
    for line in command.replace("\\\n", " ").lines() {
        let cmd = line.trim();
        if !cmd.is_empty() && !cmd.contains(char::is_whitespace) && cmd.ends_with(".sh") {
            if let Ok(text) = std::fs::read_to_string(dir.join(cmd)) {
                let inner = parse(&text);
                out.sysctls.extend(inner.sysctls);
                out.other.extend(inner.other);
                found = true;
                continue;
            }
        }
        let inner = parse(line);
        // packetdrill's `set_sysctls.py` lines are understood on their own too.
        found |= !inner.sysctls.is_empty();
        out.sysctls.extend(inner.sysctls);
        out.other.extend(inner.other);
    }
    found.then_some(out)
}

/// Splits a shell file into sysctl writes and other lines (comments and blank lines dropped,
/// backslash-newline joined, redirections to /dev/null ignored).
pub(super) fn parse(text: &str) -> Sourced {
    let mut out = Sourced::default();
    let joined = text.replace("\\\n", " ");
    for line in joined.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match sysctl_writes(line) {
            Some(list) => out.sysctls.extend(list),
            None if already_so(line) => {}
            None => out.other.push(line.to_string()),
        }
    }
    out
}

/// Commands whose effect the simulation already has: flushing Linux's per-destination TCP
/// metrics cache (the stack keeps none: every connection starts from the profile's defaults)
/// and a plain FIFO queue on the test device (the simulated link is one).
fn already_so(line: &str) -> bool {
    let Some(words) = shell_words(line) else {
        return false;
    };
    let words: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !is_redirection(w))
        .collect();
    matches!(words.as_slice(), ["ip", "tcp_metrics", "flush", ..])
        // Segmentation offload off on the test device: the simulated link carries segments as
        // sent, and a TAP device without a virtio-net header cannot take TSO/GSO frames (the
        // kernel segments them before they reach it).
        || matches!(words.as_slice(), ["ethtool", "-K", "tun0", rest @ ..]
            if !rest.is_empty() && rest.chunks(2).all(|c| matches!(c, ["tso" | "gso", "off"])))
        || matches!(
            words.as_slice(),
            ["tc", "qdisc", "add" | "replace", "dev", _, "root", "pfifo"]
        )
}

/// `sysctl [-q|-w|-e] name=value ...` with shell words expanded, or packetdrill's
/// `.../set_sysctls.py /proc/sys/net/.../name=value ...` (which also saves the old values for
/// a restore script: each run here starts from a fresh configuration anyway); names in dotted
/// form. `None` for anything else.
fn sysctl_writes(line: &str) -> Option<Vec<Sysctl>> {
    let words = shell_words(line)?;
    let mut words = words.into_iter().filter(|w| !is_redirection(w));
    let first = words.next()?;
    if first != "sysctl" && !first.ends_with("/set_sysctls.py") {
        return None;
    }
    let mut list = Vec::new();
    for w in words {
        if let Some(flags) = w.strip_prefix('-') {
            if flags.is_empty() || !flags.chars().all(|c| matches!(c, 'q' | 'w' | 'e')) {
                return None;
            }
            continue;
        }
        let (name, value) = w.split_once('=')?;
        if name.is_empty() || value.is_empty() {
            return None;
        }
        let name = match name.strip_prefix("/proc/sys/") {
            Some(path) => path.replace('/', "."),
            None if first == "sysctl" => name.replace('/', "."),
            None => return None,
        };
        list.push(Sysctl {
            name,
            value: value.to_string(),
        });
    }
    (!list.is_empty()).then_some(list)
}

fn is_redirection(w: &str) -> bool {
    w == ">" || w == "/dev/null" || w.starts_with(">/") || w.ends_with(">&1") || w == "2>"
}

/// Shell words: whitespace-separated, `"..."` and `'...'` quoting, `$((expr))` arithmetic
/// expanded outside single quotes. `None` for anything it does not understand (other `$`
/// expansions, unbalanced quotes, a bad expression).
fn shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('\''), '\'') | (Some('"'), '"') => quote = None,
            (Some('\''), _) => cur.push(c),
            (_, '$') => {
                let rest: String = chars.clone().collect();
                let body = rest.strip_prefix("((")?;
                let end = body.find("))")?;
                cur.push_str(&eval(&body[..end])?.to_string());
                for _ in 0..end + 4 {
                    chars.next();
                }
                in_word = true;
            }
            (Some(_), _) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, '#') if !in_word => break,
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return None;
    }
    if in_word {
        words.push(cur);
    }
    Some(words)
}

/// Integer arithmetic as in `$((15*1024*1024))`: `+ - * /`, parentheses, decimal literals.
fn eval(expr: &str) -> Option<i64> {
    let toks: Vec<char> = expr.chars().filter(|c| !c.is_whitespace()).collect();
    let mut pos = 0;
    let v = sum(&toks, &mut pos)?;
    (pos == toks.len()).then_some(v)
}

fn sum(t: &[char], pos: &mut usize) -> Option<i64> {
    let mut v = product(t, pos)?;
    while let Some(&op @ ('+' | '-')) = t.get(*pos) {
        *pos += 1;
        let r = product(t, pos)?;
        v = if op == '+' {
            v.checked_add(r)?
        } else {
            v.checked_sub(r)?
        };
    }
    Some(v)
}

fn product(t: &[char], pos: &mut usize) -> Option<i64> {
    let mut v = atom(t, pos)?;
    while let Some(&op @ ('*' | '/')) = t.get(*pos) {
        *pos += 1;
        let r = atom(t, pos)?;
        v = if op == '*' {
            v.checked_mul(r)?
        } else {
            v.checked_div(r)?
        };
    }
    Some(v)
}

fn atom(t: &[char], pos: &mut usize) -> Option<i64> {
    match t.get(*pos)? {
        '(' => {
            *pos += 1;
            let v = sum(t, pos)?;
            (t.get(*pos) == Some(&')')).then(|| *pos += 1)?;
            Some(v)
        }
        '-' => {
            *pos += 1;
            atom(t, pos)?.checked_neg()
        }
        c if c.is_ascii_digit() => {
            let start = *pos;
            while t.get(*pos).is_some_and(char::is_ascii_digit) {
                *pos += 1;
            }
            t[start..*pos].iter().collect::<String>().parse().ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &Sourced) -> Vec<(&str, &str)> {
        s.sysctls
            .iter()
            .map(|x| (x.name.as_str(), x.value.as_str()))
            .collect()
    }

    #[test]
    fn reads_sysctl_lines_with_quotes_and_arithmetic() {
        let s = parse(
            "#!/bin/bash\n# comment\nip tcp_metrics flush all > /dev/null 2>&1\n\
             sysctl -q net.ipv4.tcp_rmem=\"4096 540000 $((15*1024*1024))\"\n\
             sysctl -q net.ipv4.tcp_early_retrans=4 net.ipv4.tcp_recovery=1\n\
             sysctl -q net.ipv4.tcp_notsent_lowat=4294967295 > /dev/null 2>&1\n\
             tc qdisc add dev tun0 root pfifo\n\
             ethtool -K tun0 tso off gso off\n\
             ../common/set_sysctls.py /proc/sys/net/ipv4/tcp_slow_start_after_idle=1 \\\n\
             \t/proc/sys/net/ipv4/tcp_min_tso_segs=10\n\
             sysctl -q net/ipv4/tcp_pacing_ss_ratio=200\n",
        );
        assert_eq!(
            pairs(&s),
            vec![
                ("net.ipv4.tcp_rmem", "4096 540000 15728640"),
                ("net.ipv4.tcp_early_retrans", "4"),
                ("net.ipv4.tcp_recovery", "1"),
                ("net.ipv4.tcp_notsent_lowat", "4294967295"),
                ("net.ipv4.tcp_slow_start_after_idle", "1"),
                ("net.ipv4.tcp_min_tso_segs", "10"),
                ("net.ipv4.tcp_pacing_ss_ratio", "200"),
            ]
        );
        // Flushing a metrics cache the stack does not keep and a FIFO qdisc are no-ops here.
        assert!(s.other.is_empty(), "{:?}", s.other);
        let s = parse("tc qdisc replace dev tun0 root fq\nethtool -K tun0 gro off\n");
        assert_eq!(
            s.other,
            vec![
                "tc qdisc replace dev tun0 root fq",
                "ethtool -K tun0 gro off"
            ]
        );
    }

    #[test]
    fn anything_it_cannot_expand_is_another_line() {
        let s = parse("sysctl -q a=$HOME\nsysctl -q b=\"unterminated\nsysctl -q c=$((2*3+4))\n");
        assert_eq!(pairs(&s), vec![("c", "10")]);
        assert_eq!(s.other.len(), 2);
    }

    #[test]
    fn arithmetic() {
        assert_eq!(eval("15*1024*1024"), Some(15_728_640));
        assert_eq!(eval("256*1024"), Some(262_144));
        assert_eq!(eval("(1+2)*-3"), Some(-9));
        assert_eq!(eval("7/0"), None);
        assert_eq!(eval("1+"), None);
    }

    #[test]
    fn only_lone_shell_file_paths_are_read() {
        assert_eq!(read("/nonexistent/x.pkt", "sysctl -a"), None);
        assert_eq!(read("/nonexistent/x.pkt", "../common/defaults.sh"), None);
        let dir = std::env::temp_dir().join(format!("sourced-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("common")).unwrap();
        std::fs::create_dir_all(dir.join("t")).unwrap();
        std::fs::write(dir.join("common/defaults.sh"), "sysctl -q x=1\n").unwrap();
        let script = dir.join("t/a.pkt");
        let s = read(script.to_str().unwrap(), "../common/defaults.sh").unwrap();
        assert_eq!(pairs(&s), vec![("x", "1")]);
        // More lines after the file, as packetdrill's ECN scripts write it.
        let s = read(
            script.to_str().unwrap(),
            "../common/defaults.sh\nsysctl -q y=2  # on\nfoo bar\n",
        )
        .unwrap();
        assert_eq!(pairs(&s), vec![("x", "1"), ("y", "2")]);
        assert_eq!(s.other, vec!["foo bar"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! Shell lines during the run, honoured where the harness can: sysctl writes that leave the
//! stack's configuration as it is, FreeBSD `sockstat ... | grep -c STATE | grep N` state counts
//! (the tcp-testsuite's checks) and `tcpdrop -s STATE`. Anything else is noted as not run.

use super::engine::{unsupported, Engine, Stop};
use super::setup::{at, map_sysctl, raw_sysctl};
use super::NotRun;
use crate::dut::{Dut, RawSysctl};
use crate::options::RunError;
use crate::script::{Location, ShellCommand};
use stack::tcp::State;

/// A FreeBSD `sockstat -4 -P tcp [-p PORT] -s | [grep packetdril |] grep -c STATE | grep N`.
#[derive(Debug, PartialEq, Eq)]
struct SockstatCheck {
    port: Option<u16>,
    state: State,
    count: usize,
}

/// FreeBSD's state spellings (`tcp_fsm.h` `tcpstates[]`) and ours.
fn freebsd_state(s: &str) -> Option<State> {
    match s {
        "SYN_RCVD" => Some(State::SynReceived),
        "FIN_WAIT_1" => Some(State::FinWait1),
        "FIN_WAIT_2" => Some(State::FinWait2),
        other => State::from_name(other),
    }
}

fn parse_sockstat(raw: &str) -> Option<SockstatCheck> {
    let parts: Vec<Vec<&str>> = raw
        .split('|')
        .map(|p| p.split_whitespace().collect())
        .collect();
    let first = parts.first()?;
    if first.first() != Some(&"sockstat") {
        return None;
    }
    let port = first
        .iter()
        .position(|w| *w == "-p")
        .and_then(|i| first.get(i + 1))
        .and_then(|p| p.parse().ok());
    let mut state = None;
    let mut count = None;
    for p in &parts[1..] {
        match p.as_slice() {
            ["grep", "-c", s] => state = Some(freebsd_state(s)?),
            ["grep", n] if state.is_some() => count = Some(n.parse().ok()?),
            // The suite keeps only packetdrill's own sockets: here every socket is the script's.
            ["grep", _] => {}
            _ => return None,
        }
    }
    Some(SockstatCheck {
        port,
        state: state?,
        count: count?,
    })
}

impl Engine {
    /// Runs one timed shell line at the current time.
    pub(super) fn shell(&mut self, loc: &Location, cmd: &ShellCommand) -> Result<(), Stop> {
        if let (Some(list), true) = (&cmd.sysctls, self.raw_sysctls) {
            let list = list
                .iter()
                .map(|sc| Ok((loc.clone(), raw_sysctl(loc, sc, None)?)))
                .collect::<Result<Vec<_>, RunError>>()?;
            self.set_sysctls(&list)?;
            return self.settle();
        }
        if let Some(list) = &cmd.sysctls {
            // Honoured when the stack already runs with these values (applied before the first
            // event, or a write that restores them); otherwise the run cannot change them now.
            let mut p = self.profile.clone();
            let all_known = list
                .iter()
                .all(|s| matches!(map_sysctl(&mut p, &s.name, &s.value), Ok(true)));
            if all_known && p == self.profile {
                return Ok(());
            }
            // The suite's clean-up writes after the last packet and call: the new values
            // could only change what happens after the script, which nothing observes.
            if all_known && self.after_last_event {
                self.profile = p;
                return Ok(());
            }
        } else if let Some(c) = parse_sockstat(&cmd.raw) {
            return self.sockstat(loc, &c);
        } else if let Some(state) = cmd
            .raw
            .strip_prefix("tcpdrop -s ")
            .and_then(|s| freebsd_state(s.trim()))
        {
            let socks: Vec<_> = self.fds.values().filter_map(|f| f.sock).collect();
            for s in socks {
                if self.dut.state(s) == Some(state) {
                    let _ = self.dut.abort(self.now, s);
                }
            }
            return self.settle();
        }
        self.notes.push(NotRun {
            location: loc.clone(),
            what: format!("shell command `{}` at {}", cmd.raw, self.now),
        });
        Ok(())
    }

    /// Hands sysctl writes to a stack that takes them itself, in order, now; the first that
    /// no stack may make, or that the stack refuses, ends the run `unsupported` there.
    pub(super) fn set_sysctls(
        &mut self,
        list: &[(Location, Result<RawSysctl, String>)],
    ) -> Result<(), Stop> {
        for (loc, r) in list {
            match r {
                Ok(r) => self
                    .dut
                    .set_sysctl(self.now, r)
                    .map_err(|e| unsupported(loc, e.to_string()))?,
                Err(what) => return Err(unsupported(loc, what.clone())),
            }
        }
        Ok(())
    }

    fn sockstat(&mut self, loc: &Location, c: &SockstatCheck) -> Result<(), Stop> {
        self.advance(self.now)?;
        let mut n = self
            .dut
            .connections()
            .into_iter()
            .filter(|(t, st)| *st == c.state && c.port.is_none_or(|p| t.local.port() == p))
            .count();
        if c.state == State::Closed {
            // Sockets the script holds whose connection is gone (sockstat lists them CLOSED).
            n += self
                .fds
                .values()
                .filter(|f| {
                    f.sock
                        .is_some_and(|s| self.dut.state(s).is_none_or(|st| st == State::Closed))
                })
                .count();
        }
        if n != c.count {
            return Err(Stop::Fail(format!(
                "{}: {} connection(s) in {}{}, expected {}",
                at(loc),
                n,
                c.state,
                c.port.map_or(String::new(), |p| format!(" on port {p}")),
                c.count
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_testsuite_sockstat_forms_parse() {
        assert_eq!(
            parse_sockstat("sockstat -4 -P tcp -p 8080 -s | grep -c SYN_RCVD | grep 1"),
            Some(SockstatCheck {
                port: Some(8080),
                state: State::SynReceived,
                count: 1
            })
        );
        assert_eq!(
            parse_sockstat("sockstat -6 -P tcp -s | grep packetdril | grep -c TIME_WAIT | grep 0"),
            Some(SockstatCheck {
                port: None,
                state: State::TimeWait,
                count: 0
            })
        );
        assert_eq!(parse_sockstat("sockstat -4 | wc -l"), None);
        assert_eq!(parse_sockstat("ls"), None);
    }
}

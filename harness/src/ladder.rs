//! An exchange drawn as a ladder (sequence) diagram, like the charts in TCP/IP textbooks:
//! one column per endpoint, time running down the left, one arrow per frame from sender to
//! receiver, labelled with the short form of the frame (`S 0:0(0)`, `. ack 1`, `R 1:1(0)`,
//! `arp who-has 192.0.2.1`). A frame the caller marks as dropped stops halfway, in an `X`.
//! Notes (`RST dropped: arp queue overflow`) sit in time order between the arrows.
//!
//! ```text
//!                  192.0.2.2               192.0.2.1
//!                    peer                    stack
//!                      |                       |
//!   0.000100           |------ S 0:0(0) ------>|
//!   0.000200           |<-- S. 0:0(0) ack 1 ---|
//! ```
//!
//! [`ladder_text`] draws it in ASCII with fixed-width columns; [`ladder_svg`] draws the same
//! layout as a standalone SVG document. Both follow the same drawing choices, held by the
//! [`Ladder`]: a quiet stretch longer than [`Ladder::fold_idle`] becomes one `… 124 s idle …`
//! line, and [`Ladder::width`] caps the width in characters (narrower columns, cut labels).
//! A packet lost inside its sender (an ARP queue that overflowed) is a short arrow ending in an
//! `X` right beside the sender, with the reason; a frame lost on the wire stops halfway.
//!
//! [`select`] builds the ladder of a run's trace: which host, connection or finding to show,
//! and many connections that did the same thing summarised as one.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};

use stack::{Duration, Instant};

use crate::render::{fmt_time, FrameEnds, Renderer};

pub mod select;
mod svg;
pub use select::{ladder_of_trace, LadderError, Selection};
pub(crate) use svg::escape;
pub use svg::ladder_svg;

/// What a column stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ColumnKey {
    /// One column per IP address (ARP and TCP of a host share it).
    #[default]
    Host,
    /// One column per TCP socket (`ip:port`); ARP and other IPv4 go to the first column of the
    /// address.
    Socket,
}

/// A column declared up front, to fix the order and give it a name ("stack", "peer").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub addr: Ipv4Addr,
    /// With [`ColumnKey::Socket`], the port of the socket; `None` makes a host column that also
    /// collects every socket of the address not declared separately.
    pub port: Option<u16>,
    /// Printed under the address.
    pub name: Option<String>,
}

/// One frame of the exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LadderFrame {
    pub time: Instant,
    pub bytes: Vec<u8>,
    /// The frame never arrived: its arrow ends in an `X` halfway.
    pub dropped: bool,
    /// Why it never arrived (`loss`, `outage`), shown after the label.
    pub why: Option<String>,
    /// The label to show instead of the one rendered from the bytes (a caller that numbers
    /// sequence numbers over the whole run, when the ladder shows only part of it).
    pub label: Option<String>,
}

/// A packet its sender built but never put on the wire (dropped at its own ARP queue): drawn
/// as a short arrow from the sender ending in an `X` beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lost {
    pub time: Instant,
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    /// Short form of the packet (`R 41`).
    pub label: String,
    /// Why (`ARP queue full`).
    pub why: String,
}

/// A remark at a point in time, optionally beside one endpoint's column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub time: Instant,
    pub text: String,
    pub at: Option<Ipv4Addr>,
}

/// Everything a ladder diagram shows. Build it with the chained methods, then draw it with
/// [`ladder_text`] or [`ladder_svg`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ladder {
    pub columns: ColumnKey,
    pub endpoints: Vec<Endpoint>,
    pub frames: Vec<LadderFrame>,
    pub notes: Vec<Note>,
    pub lost: Vec<Lost>,
    /// A stretch of at least this long without a frame or note is folded into one line.
    pub fold_idle: Option<Duration>,
    /// The widest a line may be, in characters (`None`: as wide as the labels need).
    pub width: Option<usize>,
}

impl Ladder {
    /// An empty diagram with the given column grouping.
    pub fn new(columns: ColumnKey) -> Self {
        Ladder {
            columns,
            ..Ladder::default()
        }
    }

    /// A diagram of captured frames, one column per host, none dropped.
    pub fn from_frames(frames: &[(Instant, Vec<u8>)]) -> Self {
        let mut l = Ladder::new(ColumnKey::Host);
        for (t, b) in frames {
            l.frame(*t, b.clone());
        }
        l
    }

    /// A diagram of frames read from a pcap file, one column per host.
    pub fn from_captured(frames: &[crate::pcap::CapturedFrame]) -> Self {
        let mut l = Ladder::new(ColumnKey::Host);
        for f in frames {
            l.frame(f.time, f.data.clone());
        }
        l
    }

    /// Declares a column (in order), with an optional name.
    pub fn endpoint(&mut self, addr: Ipv4Addr, port: Option<u16>, name: Option<&str>) -> &mut Self {
        self.endpoints.push(Endpoint {
            addr,
            port,
            name: name.map(str::to_string),
        });
        self
    }

    /// Adds a frame that was delivered.
    pub fn frame(&mut self, time: Instant, bytes: Vec<u8>) -> &mut Self {
        self.frames.push(LadderFrame {
            time,
            bytes,
            dropped: false,
            why: None,
            label: None,
        });
        self
    }

    /// Adds a frame that was sent but never delivered.
    pub fn dropped_frame(&mut self, time: Instant, bytes: Vec<u8>) -> &mut Self {
        self.frames.push(LadderFrame {
            time,
            bytes,
            dropped: true,
            why: None,
            label: None,
        });
        self
    }

    /// Adds a packet lost inside its sender, before the wire.
    pub fn lost(
        &mut self,
        time: Instant,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        label: &str,
        why: &str,
    ) -> &mut Self {
        self.lost.push(Lost {
            time,
            src,
            dst,
            label: label.to_string(),
            why: why.to_string(),
        });
        self
    }

    /// Adds a note across the diagram.
    pub fn note(&mut self, time: Instant, text: &str) -> &mut Self {
        self.notes.push(Note {
            time,
            text: text.to_string(),
            at: None,
        });
        self
    }

    /// Adds a note beside the column of `addr`.
    pub fn note_at(&mut self, time: Instant, addr: Ipv4Addr, text: &str) -> &mut Self {
        self.notes.push(Note {
            time,
            text: text.to_string(),
            at: Some(addr),
        });
        self
    }
}

/// A column of the laid-out diagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Column {
    addr: Ipv4Addr,
    port: Option<u16>,
    /// `192.0.2.1` or `192.0.2.1:8080`.
    pub(crate) title: String,
    pub(crate) name: Option<String>,
}

/// Where an arrow ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reach {
    /// At the receiver, with a head.
    Delivered,
    /// Halfway, in an `X`: lost on the wire.
    Midway,
    /// Right beside the sender, in an `X`: never left it.
    Sender,
}

/// One line of the diagram below the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Row {
    Arrow {
        time: Instant,
        from: usize,
        to: usize,
        label: String,
        reach: Reach,
    },
    Note {
        time: Instant,
        col: Option<usize>,
        text: String,
    },
    /// Nothing happened for `span` after `time`.
    Idle { time: Instant, span: Duration },
}

impl Row {
    fn time(&self) -> Instant {
        match self {
            Row::Arrow { time, .. } | Row::Note { time, .. } | Row::Idle { time, .. } => *time,
        }
    }
}

/// `… 124 s idle …`: whole seconds from ten seconds up, tenths below.
pub(crate) fn idle_text(span: Duration) -> String {
    let us = span.total_micros();
    if us >= 10_000_000 {
        format!("… {} s idle …", (us + 500_000) / 1_000_000)
    } else {
        format!("… {:.1} s idle …", us as f64 / 1e6)
    }
}

/// Columns and rows, independent of how they are drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) columns: Vec<Column>,
    pub(crate) rows: Vec<Row>,
}

impl Layout {
    pub(crate) fn new(ladder: &Ladder) -> Self {
        let mut columns: Vec<Column> = Vec::new();
        for e in &ladder.endpoints {
            let port = match ladder.columns {
                ColumnKey::Host => None,
                ColumnKey::Socket => e.port,
            };
            if !columns.iter().any(|c| c.addr == e.addr && c.port == port) {
                columns.push(Column {
                    addr: e.addr,
                    port,
                    title: title(e.addr, port),
                    name: e.name.clone(),
                });
            }
        }
        let mut renderer = Renderer::relative();
        let mut rows = Vec::new();
        for f in &ladder.frames {
            let view = renderer.view(&f.bytes);
            let ends = match view.ends {
                FrameEnds::Tcp { src, dst } => {
                    let port = |p| (ladder.columns == ColumnKey::Socket).then_some(p);
                    Some((
                        socket_column(&mut columns, *src.ip(), port(src.port())),
                        socket_column(&mut columns, *dst.ip(), port(dst.port())),
                    ))
                }
                FrameEnds::Arp { sender, target } => Some((
                    host_column(&mut columns, sender),
                    host_column(&mut columns, target),
                )),
                FrameEnds::Ipv4 { src, dst } => Some((
                    host_column(&mut columns, src),
                    host_column(&mut columns, dst),
                )),
                FrameEnds::Malformed => None,
            };
            let mut label = f.label.clone().unwrap_or(view.label);
            if let (true, Some(why)) = (f.dropped, &f.why) {
                let _ = write!(label, " lost: {why}");
            }
            rows.push(match ends {
                Some((from, to)) => Row::Arrow {
                    time: f.time,
                    from,
                    to,
                    label,
                    reach: if f.dropped {
                        Reach::Midway
                    } else {
                        Reach::Delivered
                    },
                },
                None => Row::Note {
                    time: f.time,
                    col: None,
                    text: if f.dropped {
                        format!("{} (dropped)", view.line)
                    } else {
                        view.line
                    },
                },
            });
        }
        for l in &ladder.lost {
            let port = |p| (ladder.columns == ColumnKey::Socket).then_some(p);
            let from = socket_column(&mut columns, *l.src.ip(), port(l.src.port()));
            let to = socket_column(&mut columns, *l.dst.ip(), port(l.dst.port()));
            rows.push(Row::Arrow {
                time: l.time,
                from,
                to,
                label: one_line(&format!("{} lost: {}", l.label, l.why)),
                reach: Reach::Sender,
            });
        }
        for n in &ladder.notes {
            let col = n.at.map(|a| host_column(&mut columns, a));
            rows.push(Row::Note {
                time: n.time,
                col,
                text: one_line(&n.text),
            });
        }
        // Stable: frames keep their order, and a note follows the frames of its instant.
        rows.sort_by_key(Row::time);
        let mut rows = merge_repeats(rows);
        if let Some(min) = ladder.fold_idle.filter(|d| d.total_micros() > 0) {
            rows = fold(rows, min);
        }
        Layout { columns, rows }
    }
}

/// Identical arrows at the same instant (four keepalive probes dropped together) become one
/// arrow labelled `(×4)`.
fn merge_repeats(rows: Vec<Row>) -> Vec<Row> {
    let mut out: Vec<(Row, usize)> = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some((last, n)) = out.last_mut() {
            if *last == row && matches!(row, Row::Arrow { .. }) {
                *n += 1;
                continue;
            }
        }
        out.push((row, 1));
    }
    out.into_iter()
        .map(|(mut row, n)| {
            if let (Row::Arrow { label, .. }, true) = (&mut row, n > 1) {
                let _ = write!(label, " (×{n})");
            }
            row
        })
        .collect()
}

/// Inserts an [`Row::Idle`] wherever two consecutive rows are at least `min` apart.
fn fold(rows: Vec<Row>, min: Duration) -> Vec<Row> {
    let mut out = Vec::with_capacity(rows.len());
    let mut last: Option<Instant> = None;
    for row in rows {
        let t = row.time();
        if let Some(prev) = last {
            let span = t.saturating_since(prev);
            if span >= min {
                out.push(Row::Idle { time: prev, span });
            }
        }
        last = Some(t);
        out.push(row);
    }
    out
}

/// Control characters (newlines included) become spaces: a note is one line.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn title(addr: Ipv4Addr, port: Option<u16>) -> String {
    match port {
        Some(p) => format!("{addr}:{p}"),
        None => addr.to_string(),
    }
}

/// The column of a socket: exact match, else the host column of its address, else a new one.
fn socket_column(columns: &mut Vec<Column>, addr: Ipv4Addr, port: Option<u16>) -> usize {
    if let Some(i) = columns
        .iter()
        .position(|c| c.addr == addr && c.port == port)
    {
        return i;
    }
    if let Some(i) = columns
        .iter()
        .position(|c| c.addr == addr && c.port.is_none())
    {
        return i;
    }
    columns.push(Column {
        addr,
        port,
        title: title(addr, port),
        name: None,
    });
    columns.len() - 1
}

/// The first column of an address, or a new host column.
fn host_column(columns: &mut Vec<Column>, addr: Ipv4Addr) -> usize {
    if let Some(i) = columns.iter().position(|c| c.addr == addr) {
        return i;
    }
    columns.push(Column {
        addr,
        port: None,
        title: title(addr, None),
        name: None,
    });
    columns.len() - 1
}

/// Width of the time column in characters, and the gap after it.
const TIME_WIDTH: usize = 10;
const MARGIN: usize = TIME_WIDTH + 2;
/// Narrowest and widest distance between adjacent columns.
const MIN_GAP: usize = 16;
const MAX_GAP: usize = 64;
/// The narrowest a width limit may squeeze the columns.
const SQUEEZED_GAP: usize = 8;
/// The stub of an arrow lost beside its sender: dashes, then the `X`.
const STUB: usize = 3;

/// Character geometry shared by the text and SVG drawings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// Distance between adjacent columns.
    pub(crate) gap: usize,
    /// Position of column 0.
    pub(crate) first: usize,
    /// The widest a line may be (from [`Ladder::width`]).
    pub(crate) limit: Option<usize>,
}

impl Geometry {
    pub(crate) fn new(layout: &Layout, limit: Option<usize>) -> Self {
        let mut gap = MIN_GAP;
        for c in &layout.columns {
            let w = c
                .title
                .len()
                .max(c.name.as_ref().map_or(0, |n| n.chars().count()));
            gap = gap.max(w + 2);
        }
        for row in &layout.rows {
            if let Row::Arrow {
                from,
                to,
                label,
                reach,
                ..
            } = row
            {
                let span = from.abs_diff(*to).max(1);
                let len = label.chars().count();
                let need = match reach {
                    Reach::Delivered => (len + 7).div_ceil(span),
                    // Dashes, padded label and X within half the span (see `draw_arrow`).
                    Reach::Midway => (2 * (len + 7)).div_ceil(span),
                    // The label runs on past the X.
                    Reach::Sender => STUB + 2,
                };
                gap = gap.max(need);
            }
        }
        let mut gap = gap.min(MAX_GAP);
        // Column 0 sits just far enough right for its centred title and name.
        let half = layout.columns.first().map_or(0, |c| {
            let w = c
                .title
                .len()
                .max(c.name.as_ref().map_or(0, |n| n.chars().count()));
            w / 2
        });
        let first = MARGIN + half + 1;
        if let Some(limit) = limit {
            let n = layout.columns.len();
            if n > 1 {
                // Room from column 0 to the last one, keeping half a gap after it.
                let room = limit.saturating_sub(first + 1);
                let fit = (2 * room) / (2 * (n - 1) + 1);
                gap = gap.min(fit).max(SQUEEZED_GAP);
            }
        }
        Geometry { gap, first, limit }
    }

    pub(crate) fn x(&self, col: usize) -> usize {
        self.first + col * self.gap
    }

    pub(crate) fn width(&self, columns: usize) -> usize {
        let w = self.x(columns.saturating_sub(1)) + self.gap / 2;
        self.limit.map_or(w, |l| w.min(l))
    }

    /// Where a note starts, and the text cut to fit the width: beside its column (or the first
    /// one) when it fits there, else ending left of the column, else as far left as it can.
    pub(crate) fn place_note(&self, col: Option<usize>, text: &str) -> (usize, String) {
        let x = self.x(col.unwrap_or(0));
        let len = text.chars().count();
        let Some(limit) = self.limit else {
            return (x + 2, text.to_string());
        };
        if x + 2 + len <= limit {
            return (x + 2, text.to_string());
        }
        if col.is_some() && x >= MARGIN + len + 2 {
            return (x - 2 - len, text.to_string());
        }
        let at = limit.saturating_sub(len).clamp(MARGIN, self.first + 2);
        (at, fit(text, limit.saturating_sub(at)))
    }
}

/// Draws the diagram in ASCII, one line per frame or note, every line ending in a newline and
/// without trailing spaces.
pub fn ladder_text(ladder: &Ladder) -> String {
    let layout = Layout::new(ladder);
    let geo = Geometry::new(&layout, ladder.width);
    let width = geo.width(layout.columns.len());
    let mut out = String::new();
    let limit = geo.limit;

    let blank = || vec![' '; width];
    let mut titles = blank();
    let mut names = blank();
    let mut bars = blank();
    for (i, c) in layout.columns.iter().enumerate() {
        put_centered(&mut titles, geo.x(i), &c.title);
        if let Some(n) = &c.name {
            put_centered(&mut names, geo.x(i), n);
        }
        if let Some(b) = bars.get_mut(geo.x(i)) {
            *b = '|';
        }
    }
    push_line(&mut out, &titles, limit);
    if layout.columns.iter().any(|c| c.name.is_some()) {
        push_line(&mut out, &names, limit);
    }
    push_line(&mut out, &bars, limit);

    for row in &layout.rows {
        let mut line = bars.clone();
        if let Row::Idle { span, .. } = row {
            for c in line.iter_mut().filter(|c| **c == '|') {
                *c = ':';
            }
            put(&mut line, geo.first + 2, &format!(" {} ", idle_text(*span)));
            push_line(&mut out, &line, limit);
            continue;
        }
        put(
            &mut line,
            0,
            &format!("{:>TIME_WIDTH$}", fmt_time(row.time())),
        );
        match row {
            Row::Arrow {
                from,
                to,
                label,
                reach,
                ..
            } => draw_arrow(&mut line, geo.x(*from), geo.x(*to), label, *reach, limit),
            Row::Note { col, text, .. } => {
                let (at, text) = geo.place_note(*col, &format!("note: {text}"));
                put(&mut line, at, &text);
            }
            Row::Idle { .. } => {}
        }
        push_line(&mut out, &line, limit);
    }
    out
}

/// Draws one arrow from column position `a` to `b` into `line`.
fn draw_arrow(
    line: &mut Vec<char>,
    a: usize,
    b: usize,
    label: &str,
    reach: Reach,
    limit: Option<usize>,
) {
    if a == b {
        put(line, a + 1, &format!("<> {label}"));
        return;
    }
    if reach == Reach::Sender {
        // `|--X label` beside the sender, the label on the side the packet was headed.
        if a < b {
            for c in &mut line[a + 1..a + STUB] {
                *c = '-';
            }
            line[a + STUB] = 'X';
            let at = a + STUB + 2;
            let room = limit.map_or(usize::MAX, |l| l.saturating_sub(at));
            put(line, at, &fit(label, room));
        } else {
            let x = a.saturating_sub(STUB).max(MARGIN);
            for c in &mut line[x + 1..a] {
                *c = '-';
            }
            line[x] = 'X';
            let text = fit(label, x.saturating_sub(MARGIN + 1));
            put(line, x - 1 - text.chars().count(), &text);
        }
        return;
    }
    let dropped = reach == Reach::Midway;
    let (lo, hi) = (a.min(b), a.max(b));
    let mid = midpoint(a, b);
    let (start, end) = dashes(a, b, dropped);
    for c in &mut line[start..end] {
        *c = '-';
    }
    if dropped {
        line[mid] = 'X';
    } else if a < b {
        line[hi - 1] = '>';
    } else {
        line[lo + 1] = '<';
    }
    let text = fit(label, label_room(a, b, dropped));
    let len = text.chars().count();
    if len > 0 {
        let at = start + (end - start - (len + 2)) / 2;
        put(line, at, &format!(" {text} "));
    }
}

/// Where a dropped frame's arrow stops.
pub(crate) fn midpoint(a: usize, b: usize) -> usize {
    a.min(b) + a.abs_diff(b) / 2
}

/// The stretch of dashes of an arrow from `a` to `b` (`a != b`), as a half-open range of
/// positions between the two columns, or up to the midpoint when dropped.
pub(crate) fn dashes(a: usize, b: usize, dropped: bool) -> (usize, usize) {
    let (lo, hi) = (a.min(b), a.max(b));
    let mid = midpoint(a, b);
    match (dropped, a < b) {
        (false, _) => (lo + 1, hi),
        (true, true) => (lo + 1, mid),
        (true, false) => (mid + 1, hi),
    }
}

/// How many characters of label fit on an arrow: the label is padded by a space each side and
/// centred in the dashes, leaving the head and one dash at each end.
pub(crate) fn label_room(a: usize, b: usize, dropped: bool) -> usize {
    let (start, end) = dashes(a, b, dropped);
    (end - start).saturating_sub(6)
}

/// `s` cut to at most `max` characters, a cut marked by a final `~`.
pub(crate) fn fit(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut t: String = s.chars().take(max - 1).collect();
    t.push('~');
    t
}

/// Writes `s` into `line` from `at`, growing the line when it runs past the end.
fn put(line: &mut Vec<char>, at: usize, s: &str) {
    for (i, ch) in s.chars().enumerate() {
        let p = at + i;
        if p < line.len() {
            line[p] = ch;
        } else {
            line.resize(p, ' ');
            line.push(ch);
        }
    }
}

fn put_centered(line: &mut Vec<char>, x: usize, s: &str) {
    let len = s.chars().count();
    put(line, x.saturating_sub(len / 2), s);
}

fn push_line(out: &mut String, line: &[char], limit: Option<usize>) {
    let s: String = line.iter().take(limit.unwrap_or(usize::MAX)).collect();
    let _ = writeln!(out, "{}", s.trim_end());
}

#[cfg(test)]
pub(crate) mod tests;

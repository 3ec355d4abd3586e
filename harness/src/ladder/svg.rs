//! The ladder diagram as a standalone SVG document, drawn on the same character grid as the
//! text form so that both agree on column order, spacing and label cuts.

use std::fmt::Write as _;

use super::{
    fit, idle_text, label_room, midpoint, Geometry, Ladder, Layout, Reach, Row, STUB, TIME_WIDTH,
};
use crate::render::fmt_time;

/// Pixels per character of the grid (13 px monospace is about 7.8 px wide).
const CH: f64 = 8.0;
/// Vertical distance between rows.
const ROW: f64 = 28.0;
/// How far an arrow falls while crossing, as in textbook charts where transit takes time.
const FALL: f64 = 8.0;

/// Draws the diagram as an SVG document (UTF-8, valid XML, every text escaped).
pub fn ladder_svg(ladder: &Ladder) -> String {
    let layout = Layout::new(ladder);
    let geo = Geometry::new(&layout, ladder.width);
    let named = layout.columns.iter().any(|c| c.name.is_some());
    let top = if named { 48.0 } else { 30.0 };
    let first_row = top + 22.0;
    let rows = layout.rows.len() as f64;
    let bottom = first_row + rows * ROW;
    let height = bottom + 12.0;

    // Widest line in characters: the columns, or a note running past them.
    let mut chars = geo.width(layout.columns.len()).max(TIME_WIDTH + 4);
    for row in &layout.rows {
        match row {
            Row::Note { col, text, .. } => {
                let (at, text) = geo.place_note(*col, &format!("note: {text}"));
                chars = chars.max(at + text.chars().count() + 1);
            }
            Row::Arrow {
                from,
                to,
                label,
                reach: Reach::Sender,
                ..
            } if to > from => {
                chars = chars.max(geo.x(*from) + STUB + 3 + label.chars().count());
            }
            _ => {}
        }
    }
    if let Some(limit) = geo.limit {
        chars = chars.min(limit.max(TIME_WIDTH + 4));
    }
    let width = chars as f64 * CH;

    let mut s = String::new();
    let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="monospace" font-size="13">"#
    );
    s.push_str(concat!(
        "<defs><marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" ",
        "markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\">",
        "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#000\"/></marker></defs>\n"
    ));
    let _ = writeln!(
        s,
        r##"<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>"##
    );

    for (i, c) in layout.columns.iter().enumerate() {
        let x = geo.x(i) as f64 * CH;
        let _ = writeln!(
            s,
            r#"<text class="column" x="{x}" y="18" text-anchor="middle" font-weight="bold">{}</text>"#,
            escape(&c.title)
        );
        if let Some(n) = &c.name {
            let _ = writeln!(
                s,
                r#"<text class="name" x="{x}" y="36" text-anchor="middle">{}</text>"#,
                escape(n)
            );
        }
        let _ = writeln!(
            s,
            r##"<line class="lifeline" x1="{x}" y1="{top}" x2="{x}" y2="{bottom}" stroke="#888"/>"##
        );
    }

    for (i, row) in layout.rows.iter().enumerate() {
        let y = first_row + i as f64 * ROW;
        if let Row::Idle { span, .. } = row {
            // A break in every lifeline, and how long nothing happened.
            let _ = writeln!(
                s,
                r##"<rect class="idle" x="0" y="{}" width="{width}" height="{}" fill="#f4f4f4"/>"##,
                y - ROW / 2.0 + 4.0,
                ROW - 8.0
            );
            let _ = writeln!(
                s,
                r##"<text class="idle" x="{}" y="{}" fill="#555">{}</text>"##,
                geo.first as f64 * CH + 2.0 * CH,
                y + 4.0,
                escape(&idle_text(*span))
            );
            continue;
        }
        let _ = writeln!(
            s,
            r##"<text class="time" x="{}" y="{}" text-anchor="end" fill="#555">{}</text>"##,
            TIME_WIDTH as f64 * CH,
            y + 4.0,
            fmt_time(row.time())
        );
        match row {
            Row::Arrow {
                from,
                to,
                label,
                reach,
                ..
            } => draw_arrow(&mut s, &geo, y, *from, *to, label, *reach),
            Row::Note { col, text, .. } => {
                let (at, text) = geo.place_note(*col, &format!("note: {text}"));
                let _ = writeln!(
                    s,
                    r##"<text class="note" x="{}" y="{}" font-style="italic" fill="#a40000">{}</text>"##,
                    at as f64 * CH,
                    y + 4.0,
                    escape(&text)
                );
            }
            Row::Idle { .. } => {}
        }
    }
    s.push_str("</svg>\n");
    s
}

fn draw_arrow(
    s: &mut String,
    geo: &Geometry,
    y: f64,
    from: usize,
    to: usize,
    label: &str,
    reach: Reach,
) {
    let (xa, xb) = (geo.x(from), geo.x(to));
    let (pa, pb) = (xa as f64 * CH, xb as f64 * CH);
    if from == to {
        let _ = writeln!(
            s,
            r#"<text class="label" x="{}" y="{}">&lt;&gt; {}</text>"#,
            pa + CH,
            y + 4.0,
            escape(label)
        );
        return;
    }
    if reach == Reach::Sender {
        // A stub towards the receiver, the X right beside the sender, the reason after it.
        let dir = if xb > xa { 1.0 } else { -1.0 };
        let end_x = pa + dir * STUB as f64 * CH;
        let _ = writeln!(
            s,
            r##"<line class="arrow lost" x1="{pa}" y1="{y}" x2="{end_x}" y2="{y}" stroke="#c00" stroke-width="2"/>"##
        );
        draw_x(s, end_x, y);
        let room = match geo.limit {
            Some(l) if dir > 0.0 => l.saturating_sub(xa + STUB + 2),
            _ if dir > 0.0 => usize::MAX,
            _ => (xa - STUB).saturating_sub(TIME_WIDTH + 3),
        };
        let _ = writeln!(
            s,
            r##"<text class="label lost" x="{}" y="{}" text-anchor="{}" fill="#c00">{}</text>"##,
            end_x + dir * 1.5 * CH,
            y + 4.0,
            if dir > 0.0 { "start" } else { "end" },
            escape(&fit(label, room))
        );
        return;
    }
    let dropped = reach == Reach::Midway;
    // The same character room as the text drawing, so labels are cut identically.
    let text = fit(label, label_room(xa, xb, dropped));
    let (end_x, end_y) = if dropped {
        (midpoint(xa, xb) as f64 * CH, y + FALL / 2.0)
    } else {
        (pb, y + FALL)
    };
    if dropped {
        let _ = writeln!(
            s,
            r##"<line class="arrow dropped" x1="{pa}" y1="{y}" x2="{end_x}" y2="{end_y}" stroke="#000" stroke-dasharray="4 2"/>"##
        );
        draw_x(s, end_x, end_y);
    } else {
        let _ = writeln!(
            s,
            r##"<line class="arrow" x1="{pa}" y1="{y}" x2="{end_x}" y2="{end_y}" stroke="#000" marker-end="url(#head)"/>"##
        );
    }
    if !text.is_empty() {
        let _ = writeln!(
            s,
            r#"<text class="label" x="{}" y="{}" text-anchor="middle">{}</text>"#,
            (pa + end_x) / 2.0,
            y - 4.0,
            escape(&text)
        );
    }
}

/// The red `X` where a packet was lost.
fn draw_x(s: &mut String, x: f64, y: f64) {
    let r = 5.0;
    let _ = writeln!(
        s,
        r##"<path class="drop" d="M{},{} L{},{} M{},{} L{},{}" stroke="#c00" stroke-width="2"/>"##,
        x - r,
        y - r,
        x + r,
        y + r,
        x - r,
        y + r,
        x + r,
        y - r
    );
}

/// Escapes text for XML character data and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even when escaped.
            c if ((c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
                || matches!(c, '\u{fffe}' | '\u{ffff}') =>
            {
                out.push('\u{fffd}')
            }
            c => out.push(c),
        }
    }
    out
}

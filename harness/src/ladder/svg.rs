//! The ladder diagram as a standalone SVG document, drawn on the same character grid as the
//! text form so that both agree on column order, spacing and label cuts.

use std::fmt::Write as _;

use super::{fit, label_room, midpoint, Geometry, Ladder, Layout, Row, TIME_WIDTH};
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
    let geo = Geometry::new(&layout);
    let named = layout.columns.iter().any(|c| c.name.is_some());
    let top = if named { 48.0 } else { 30.0 };
    let first_row = top + 22.0;
    let rows = layout.rows.len() as f64;
    let bottom = first_row + rows * ROW;
    let height = bottom + 12.0;

    // Widest line in characters: the columns, or a note running past them.
    let mut chars = geo.width(layout.columns.len()).max(TIME_WIDTH + 4);
    for row in &layout.rows {
        if let Row::Note { col, text, .. } = row {
            let x = col.map_or(geo.first, |c| geo.x(c));
            chars = chars.max(x + 2 + "note: ".len() + text.chars().count() + 3);
        }
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
                dropped,
                ..
            } => draw_arrow(&mut s, &geo, y, *from, *to, label, *dropped),
            Row::Note { col, text, .. } => {
                let x = col.map_or(geo.first, |c| geo.x(c)) as f64 * CH + 2.0 * CH;
                let _ = writeln!(
                    s,
                    r##"<text class="note" x="{x}" y="{}" font-style="italic" fill="#a40000">note: {}</text>"##,
                    y + 4.0,
                    escape(text)
                );
            }
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
    dropped: bool,
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
        let r = 5.0;
        let _ = writeln!(
            s,
            r##"<path class="drop" d="M{},{} L{},{} M{},{} L{},{}" stroke="#c00" stroke-width="2"/>"##,
            end_x - r,
            end_y - r,
            end_x + r,
            end_y + r,
            end_x - r,
            end_y + r,
            end_x + r,
            end_y - r
        );
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

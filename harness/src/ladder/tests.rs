use super::*;
use crate::render::testframes::*;
use proptest::prelude::*;
use rstest::rstest;
use stack::wire::TcpFlags as F;

/// The handshake with the server (the stack under test) declared as the right-hand column.
fn handshake_ladder() -> Ladder {
    let mut l = Ladder::new(ColumnKey::Host);
    l.endpoint(CLIENT, None, Some("peer"))
        .endpoint(SERVER, None, Some("stack"));
    for (t, b) in handshake(0x0bad_cafe, 0x600d_f00d) {
        l.frame(t, b);
    }
    l
}

/// Lines of the body (after the header lines), as (time, rest).
fn body(text: &str, header_lines: usize) -> Vec<String> {
    text.lines()
        .skip(header_lines)
        .map(str::to_string)
        .collect()
}

/// Column of the first `|` at or after `from` in a header bars line.
fn bar_positions(line: &str) -> Vec<usize> {
    line.char_indices()
        .filter(|(_, c)| *c == '|')
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn header_has_columns_in_declared_order_with_names() {
    let text = ladder_text(&handshake_ladder());
    let lines: Vec<&str> = text.lines().collect();
    let client_at = lines[0].find("192.0.2.2").expect("client title");
    let server_at = lines[0].find("192.0.2.1").expect("server title");
    assert!(client_at < server_at, "{}", lines[0]);
    assert!(
        lines[1].find("peer") < lines[1].find("stack"),
        "{}",
        lines[1]
    );
    let bars = bar_positions(lines[2]);
    assert_eq!(bars.len(), 2, "{}", lines[2]);
    // Titles are centred on their bars.
    assert!(client_at < bars[0] && bars[0] < client_at + "192.0.2.2".len());
    assert!(server_at < bars[1] && bars[1] < server_at + "192.0.2.1".len());
}

#[test]
fn arrows_point_from_sender_to_receiver_with_labels() {
    let text = ladder_text(&handshake_ladder());
    let lines: Vec<&str> = text.lines().collect();
    let bars = bar_positions(lines[2]);
    let (c, s) = (bars[0], bars[1]);
    let rows = body(&text, 3);
    assert_eq!(rows.len(), 7);
    let expect = [
        ("0.000000", true, "arp who-has 192.0.2.1"),
        ("0.000050", false, "arp is-at 02:00:00:00:00:01"),
        ("0.000100", true, "S 0:0(0)"),
        ("0.000200", false, "S. 0:0(0) ack 1"),
        ("0.000300", true, ". ack 1"),
        ("0.001000", true, "P. 1:6(5) ack 1"),
        ("0.001100", false, ". ack 6"),
    ];
    for (row, (time, rightward, label)) in rows.iter().zip(expect) {
        let chars: Vec<char> = row.chars().collect();
        assert_eq!(row[..10].trim_start(), time, "{row}");
        assert_eq!((chars[c], chars[s]), ('|', '|'), "{row}");
        if rightward {
            assert_eq!((chars[c + 1], chars[s - 1]), ('-', '>'), "{row}");
        } else {
            assert_eq!((chars[c + 1], chars[s - 1]), ('<', '-'), "{row}");
        }
        assert!(row.contains(&format!(" {label} ")), "{row}");
        assert!(!row.contains('X'), "{row}");
    }
}

#[test]
fn dropped_frame_ends_in_x_halfway_and_note_follows() {
    let mut l = handshake_ladder();
    let t = Instant::from_secs(2);
    let rst = Seg::new(server(), client(), F::RST, 0x600d_f00d_u32.wrapping_add(1)).bytes();
    l.note_at(t, SERVER, "RST dropped: arp queue overflow")
        .dropped_frame(t, rst);
    let text = ladder_text(&l);
    let lines: Vec<&str> = text.lines().collect();
    let bars = bar_positions(lines[2]);
    let (c, s) = (bars[0], bars[1]);
    let n = lines.len();
    let drop_row: Vec<char> = lines[n - 2].chars().collect();
    let note_row = lines[n - 1];
    // The note was added first but follows the frame of the same instant.
    assert!(lines[n - 2].contains(" R 1:1(0) "), "{}", lines[n - 2]);
    let x = drop_row.iter().position(|ch| *ch == 'X').expect("X");
    assert_eq!(x, c + (s - c) / 2, "{}", lines[n - 2]);
    // Leftward: dashes from the sender up to the X, nothing between the X and the receiver.
    assert_eq!(drop_row[s], '|');
    assert_eq!(drop_row[s - 1], '-');
    assert!(
        drop_row[c + 1..x].iter().all(|ch| *ch == ' '),
        "{}",
        lines[n - 2]
    );
    assert!(!lines[n - 2].contains('<') && !lines[n - 2].contains('>'));
    assert!(note_row.trim_start().starts_with("2.000000"), "{note_row}");
    assert!(
        note_row[s..].starts_with("| note: RST dropped: arp queue overflow"),
        "{note_row}"
    );
}

#[rstest]
#[case::rightward(true)]
#[case::leftward(false)]
fn dropped_label_fits_in_half_the_span(#[case] rightward: bool) {
    let (from, to) = if rightward {
        (client(), server())
    } else {
        (server(), client())
    };
    let long = Seg::new(from, to, F::PSH, 1)
        .ack(1)
        .data(&[7; 1400])
        .bytes();
    let mut l = Ladder::from_frames(&[]);
    l.dropped_frame(Instant::ZERO, long);
    let text = ladder_text(&l);
    let row = text.lines().last().expect("row");
    assert!(row.contains(" P. 0:1400(1400) ack 1 "), "{row}");
    assert!(row.contains('X'), "{row}");
}

#[test]
fn socket_columns_and_arp_on_host_column() {
    let mut l = Ladder::new(ColumnKey::Socket);
    for (t, b) in handshake(1, 2) {
        l.frame(t, b);
    }
    let text = ladder_text(&l);
    let lines: Vec<&str> = text.lines().collect();
    // Undeclared: ARP comes first and creates host columns, which then collect the sockets
    // of their address.
    assert!(lines[0].contains("192.0.2.2") && lines[0].contains("192.0.2.1"));
    assert_eq!(bar_positions(lines[1]).len(), 2, "{text}");

    // Declared sockets get their own columns, in order, and ARP lands on the first column of
    // its address.
    let mut l = Ladder::new(ColumnKey::Socket);
    l.endpoint(SERVER, Some(SERVER_PORT), None)
        .endpoint(CLIENT, Some(CLIENT_PORT), None);
    for (t, b) in handshake(1, 2) {
        l.frame(t, b);
    }
    let text = ladder_text(&l);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].find("192.0.2.1:8080") < lines[0].find("192.0.2.2:40000"),
        "{}",
        lines[0]
    );
    assert_eq!(bar_positions(lines[1]).len(), 2, "{text}");
    assert!(lines[2].contains(" arp who-has 192.0.2.1 "), "{}", lines[2]);
    assert!(
        lines[2].contains("|<-"),
        "client is right of server: {}",
        lines[2]
    );
}

#[test]
fn third_host_gets_a_column_and_arrows_cross_the_middle_one() {
    let other = stack::wire::Ipv4Addr::new(192, 0, 2, 9);
    let mut l = Ladder::new(ColumnKey::Host);
    l.endpoint(CLIENT, None, None)
        .endpoint(other, None, None)
        .endpoint(SERVER, None, None);
    l.frame(
        Instant::ZERO,
        Seg::new(client(), server(), F::SYN, 5).bytes(),
    );
    let text = ladder_text(&l);
    let lines: Vec<&str> = text.lines().collect();
    let bars = bar_positions(lines[1]);
    assert_eq!(bars.len(), 3);
    let row: Vec<char> = lines[2].chars().collect();
    assert_eq!(
        (row[bars[0]], row[bars[2]], row[bars[2] - 1]),
        ('|', '|', '>')
    );
    assert_ne!(row[bars[1]], '|', "the arrow passes over the middle column");
}

#[test]
fn malformed_frame_becomes_a_note() {
    let mut l = handshake_ladder();
    l.frame(Instant::from_secs(1), vec![1, 2, 3]);
    let text = ladder_text(&l);
    let last = text.lines().last().expect("line");
    assert!(
        last.contains("note: malformed: ethernet: truncated len 3"),
        "{last}"
    );
}

#[test]
fn lines_have_no_trailing_spaces_and_end_with_newline() {
    let text = ladder_text(&handshake_ladder());
    assert!(text.ends_with('\n'));
    assert!(text.lines().all(|l| !l.ends_with(' ')));
}

#[rstest]
#[case("abcdef", 6, "abcdef")]
#[case("abcdef", 5, "abcd~")]
#[case("abcdef", 1, "~")]
#[case("abcdef", 0, "")]
fn fit_cuts_with_tilde(#[case] s: &str, #[case] max: usize, #[case] expect: &str) {
    assert_eq!(fit(s, max), expect);
}

#[test]
fn handshake_ladder_snapshot() {
    let mut l = handshake_ladder();
    let t = Instant::from_secs(3);
    l.note_at(t, SERVER, "RST dropped: arp queue overflow");
    l.dropped_frame(
        t,
        Seg::new(server(), client(), F::RST, 0x600d_f00d_u32.wrapping_add(1)).bytes(),
    );
    insta::assert_snapshot!(ladder_text(&l));
}

/// A tiny XML well-formedness check: balanced, properly nested tags, quoted attributes, a
/// single root, and `&`/`<` only as markup or entity starts.
pub(crate) fn check_xml(doc: &str) -> Result<(), String> {
    let mut stack: Vec<String> = Vec::new();
    let mut roots = 0;
    let mut rest = doc;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<?") {
            let end = after.find("?>").ok_or("unterminated <?")?;
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix("</") {
            let end = after.find('>').ok_or("unterminated end tag")?;
            let name = after[..end].trim();
            match stack.pop() {
                Some(open) if open == name => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            rest = &after[end + 1..];
        } else if let Some(after) = rest.strip_prefix('<') {
            // Find the closing '>' outside quotes.
            let mut quote = None;
            let mut end = None;
            for (i, ch) in after.char_indices() {
                match (quote, ch) {
                    (None, '"' | '\'') => quote = Some(ch),
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), '<') => return Err("'<' in attribute".into()),
                    (None, '>') => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let end = end.ok_or("unterminated tag")?;
            let inner = &after[..end];
            let self_closing = inner.ends_with('/');
            let name: String = inner
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '/')
                .collect();
            if name.is_empty() {
                return Err(format!("empty tag name in <{inner}>"));
            }
            check_entities(inner)?;
            if stack.is_empty() {
                roots += 1;
            }
            if !self_closing {
                stack.push(name);
            }
            rest = &after[end + 1..];
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let text = &rest[..end];
            if stack.is_empty() && !text.trim().is_empty() {
                return Err(format!("text outside the root: {text:?}"));
            }
            check_entities(text)?;
            rest = &rest[end..];
        }
    }
    if !stack.is_empty() {
        return Err(format!("unclosed {stack:?}"));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    Ok(())
}

fn check_entities(s: &str) -> Result<(), String> {
    for (i, _) in s.match_indices('&') {
        let tail = &s[i + 1..];
        let ok = ["amp;", "lt;", "gt;", "quot;", "apos;", "#"]
            .iter()
            .any(|e| tail.starts_with(e));
        if !ok {
            return Err(format!("raw '&' in {s:?}"));
        }
    }
    Ok(())
}

#[test]
fn xml_checker_rejects_broken_documents() {
    assert!(check_xml("<svg><g></svg>").is_err());
    assert!(check_xml("<svg>a & b</svg>").is_err());
    assert!(check_xml("<svg></svg><svg></svg>").is_err());
    assert!(check_xml("<svg><text>a</text>").is_err());
    assert!(check_xml(r#"<svg a="x<y"/>"#).is_err());
    assert!(check_xml(r#"<?xml version="1.0"?><svg><a b="1"/>x &amp; y</svg>"#).is_ok());
}

#[test]
fn svg_is_well_formed_and_has_every_element() {
    let mut l = handshake_ladder();
    let t = Instant::from_secs(3);
    l.note(t, "<script> & \"quotes\" 'too'");
    l.dropped_frame(
        t,
        Seg::new(server(), client(), F::RST, 0x600d_f00d_u32.wrapping_add(1)).bytes(),
    );
    let svg = ladder_svg(&l);
    check_xml(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
    assert!(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_eq!(svg.matches("class=\"column\"").count(), 2);
    assert_eq!(svg.matches("class=\"lifeline\"").count(), 2);
    assert_eq!(svg.matches("class=\"arrow\"").count(), 7);
    assert_eq!(svg.matches("class=\"arrow dropped\"").count(), 1);
    assert_eq!(svg.matches("class=\"drop\"").count(), 1);
    assert_eq!(svg.matches("class=\"time\"").count(), 9);
    assert!(svg.contains(">S. 0:0(0) ack 1</text>"));
    assert!(svg.contains(">peer</text>") && svg.contains(">stack</text>"));
    assert!(svg.contains("note: &lt;script&gt; &amp; &quot;quotes&quot; &apos;too&apos;</text>"));
    assert!(!svg.contains("<script>"));
}

#[test]
fn svg_arrow_direction_follows_the_frame() {
    let svg = ladder_svg(&handshake_ladder());
    let arrows: Vec<(f64, f64)> = svg
        .lines()
        .filter(|l| l.starts_with("<line class=\"arrow\""))
        .map(|l| (attr(l, "x1"), attr(l, "x2")))
        .collect();
    let rightward: Vec<bool> = arrows.iter().map(|(a, b)| b > a).collect();
    assert_eq!(rightward, [true, false, true, false, true, true, false]);
}

fn attr(line: &str, name: &str) -> f64 {
    let key = format!(" {name}=\"");
    let start = line.find(&key).expect("attribute") + key.len();
    let end = line[start..].find('"').expect("quote") + start;
    line[start..end].parse().expect("number")
}

#[test]
fn escape_replaces_markup_and_controls() {
    assert_eq!(
        svg::escape("a<b>&\"'\u{1}"),
        "a&lt;b&gt;&amp;&quot;&apos;\u{fffd}"
    );
}

proptest! {
    #[test]
    fn any_frames_and_notes_draw_without_panic(
        frames in proptest::collection::vec(
            (0u64..5_000_000, proptest::collection::vec(any::<u8>(), 0..80), any::<bool>()),
            0..6,
        ),
        note in ".{0,40}",
        socket in any::<bool>(),
    ) {
        let mut l = Ladder::new(if socket { ColumnKey::Socket } else { ColumnKey::Host });
        for (i, (t, bytes, dropped)) in frames.into_iter().enumerate() {
            // Mix garbage with real frames so arrows are drawn too.
            let bytes = if i % 2 == 0 {
                handshake(i as u32, 7)[i % 7].1.clone()
            } else {
                bytes
            };
            if dropped {
                l.dropped_frame(Instant::from_micros(t), bytes);
            } else {
                l.frame(Instant::from_micros(t), bytes);
            }
        }
        l.note(Instant::from_micros(1), &note);
        let text = ladder_text(&l);
        prop_assert!(text.ends_with('\n'));
        let svg = ladder_svg(&l);
        prop_assert!(check_xml(&svg).is_ok(), "{:?}\n{}", check_xml(&svg), svg);
    }
}
#[test]
fn from_captured_matches_from_frames() {
    let frames = handshake(3, 4);
    let bytes = crate::pcap::write_pcap_bytes(&frames).expect("write");
    let captured = crate::pcap::read_pcap_bytes(&bytes).expect("read");
    assert_eq!(
        ladder_text(&Ladder::from_captured(&captured)),
        ladder_text(&Ladder::from_frames(&frames))
    );
    assert_eq!(Ladder::from_captured(&captured).frames.len(), 7);
}

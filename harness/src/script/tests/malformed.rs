//! The malformed corpus: each script fails with exactly this error kind at this line:column.

use rstest::rstest;

use crate::script::{parse, parse_all, parse_bytes, ErrorKind, MAX_ERRORS};

fn expected(e: &'static str, found: &str) -> ErrorKind {
    ErrorKind::Expected {
        expected: e,
        found: found.to_string(),
    }
}

fn range(what: &'static str, value: i64, max: u64) -> ErrorKind {
    ErrorKind::OutOfRange { what, value, max }
}

#[rstest]
// --- lexical ---
#[case::unterminated_string("0 write(3, \"abc, 3) = 3", 1, 12, ErrorKind::UnterminatedString)]
#[case::unterminated_backtick("0 `sysctl -w a=1", 1, 3, ErrorKind::UnterminatedBacktick)]
#[case::unterminated_comment(
    "/* never closed\n0 close(3) = 0\n",
    1,
    1,
    ErrorKind::UnterminatedComment
)]
#[case::hash_comment_line("# a shell-style comment\n", 1, 1, ErrorKind::HashComment)]
#[case::hash_comment_trailing("0 close(3) = 0 # note", 1, 16, ErrorKind::HashComment)]
#[case::control_char("0 close(3) = 0 \u{1}", 1, 16, ErrorKind::UnexpectedChar('\u{1}'))]
#[case::bad_hex("0 write(3, 0x, 1) = 1", 1, 12, ErrorKind::BadNumber("0x".into()))]
#[case::number_glued_to_word("0 write(3, 12xy, 1) = 1", 1, 12, ErrorKind::BadNumber("12xy".into()))]
#[case::code_block_unterminated("%{ print('hi') }", 1, 1, ErrorKind::CodeBlock)]
#[case::hash_directive_unknown("#define X 1\n", 1, 1, ErrorKind::HashComment)]
#[case::ifdef_unterminated("#ifdef X\n0 close(3) = 0\n", 1, 1, ErrorKind::UnterminatedIfDef)]
#[case::hash_endif_stray("#endif\n", 1, 1, ErrorKind::StrayEndif)]
#[case::hash_else_closes_percent_if(
    "%if profile=linux\n#else\n%endif\n",
    2,
    1,
    ErrorKind::CondMismatch("#else")
)]
#[case::percent_endif_closes_ifdef("#ifdef X\n%endif\n", 2, 1, ErrorKind::CondMismatch("%endif"))]
#[case::option_without_name("--=5", 1, 3, expected("an option name after `--`", "`=`"))]
// --- times ---
#[case::missing_time_syscall("close(3) = 0", 1, 1, ErrorKind::MissingTime)]
#[case::missing_time_packet("< S 0:0(0) win 10", 1, 1, ErrorKind::MissingTime)]
#[case::negative_relative_time("+-0.1 close(3) = 0", 1, 2, ErrorKind::NegativeTime)]
#[case::negative_absolute_time("-1 close(3) = 0", 1, 1, ErrorKind::NegativeTime)]
#[case::time_too_precise("0.0000001 close(3) = 0", 1, 1, ErrorKind::TimeTooPrecise("0.0000001".into()))]
#[case::backwards_range("0.2~0.1 > S 0:0(0)", 1, 1, ErrorKind::BackwardsTimeRange)]
#[case::mixed_range("+0~0.2 > S 0:0(0)", 1, 4, ErrorKind::MixedTimeRange)]
#[case::range_on_inbound("0~0.1 < S 0:0(0) win 10", 1, 1, ErrorKind::TimeRangeNotOutbound)]
#[case::star_on_syscall("* close(3) = 0", 1, 1, ErrorKind::TimeRangeNotOutbound)]
#[case::directive_after_time(
    "0 %profile linux",
    1,
    3,
    expected("a packet, system call or command after the time", "`%`")
)]
// --- TCP lines ---
#[case::bad_flag("0 < X 0:0(0) win 1000", 1, 5, ErrorKind::BadTcpFlag('X'))]
#[case::bad_flag_second_letter("0 < SX 0:0(0)", 1, 6, ErrorKind::BadTcpFlag('X'))]
#[case::duplicate_flag("0 < SS 0:0(0)", 1, 6, ErrorKind::DuplicateTcpFlag('S'))]
#[case::seq_mismatch("0 < P. 1:11(5) ack 1", 1, 8, ErrorKind::SeqMismatch { start: 1, end: 11, len: 5 })]
#[case::seq_end_too_large("0 < S 0:4294967296(0)", 1, 9, range("end sequence number", 4_294_967_296, u32::MAX as u64))]
#[case::window_too_large("0 < S 0:0(0) win 70000", 1, 18, range("window", 70000, 65535))]
#[case::negative_window("0 < S 0:0(0) win -5", 1, 18, range("window", -5, 65535))]
#[case::unknown_option("0 > S 0:0(0) <mss 1460,foo 3>", 1, 24, ErrorKind::UnknownTcpOption("foo".into()))]
#[case::any_options_inbound("0 < S 0:0(0) <...>", 1, 14, ErrorKind::AnyOptionsInbound)]
#[case::any_seq_inbound("0 < S ...(0) win 10", 1, 7, ErrorKind::AnySeqInbound)]
#[case::any_seq_without_len("0 > S. ... ack 1", 1, 12, ErrorKind::Expected { expected: "`(` and the payload length after `...`", found: "`ack`".into() })]
#[case::too_many_sack_blocks(
    "0 < . 1:1(0) ack 1 win 10 <sack 1:2 3:4 5:6 7:8 9:10>",
    1,
    49,
    ErrorKind::TooManySackBlocks
)]
#[case::ts_without_ecr(
    "0 < S 0:0(0) <TS val 1>",
    1,
    23,
    expected("`ecr` in the TS option", "`>`")
)]
#[case::options_missing_comma(
    "0 > S 0:0(0) <mss 1460 nop>",
    1,
    24,
    expected("`,` or `>` in the option list", "`nop`")
)]
#[case::wscale_out_of_range_line3(
    "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 < S. 0:0(0) ack 1 win 10 <wscale 300>",
    3, 37, range("window scale", 300, 255)
)]
#[case::trailing_word("0 < S 0:0(0) win 10 foo", 1, 21, ErrorKind::TrailingInput("`foo`".into()))]
#[case::fuzz_annotation(
    "0 > S 0:0(0) <mss 1460> { mut tcp mss }",
    1,
    25,
    ErrorKind::Unsupported("packetdrill fuzz annotations `{...}`")
)]
#[case::udp_packet("0 < udp (100)", 1, 5, ErrorKind::Unsupported("UDP and ICMP packets"))]
#[case::ip_info_unknown_in_parens(
    "0 < (foo) S 0:0(0)",
    1,
    6,
    ErrorKind::Expected {
        expected: "IP info (`ect0`, `ect1`, `ce`, `noecn`, `tos 0x..`)",
        found: "`foo`".into()
    }
)]
#[case::md5_without_digest(
    "0 < S 0:0(0) <md5>",
    1,
    18,
    ErrorKind::Expected {
        expected: "the MD5 digest in hex after `md5`",
        found: "`>`".into()
    }
)]
#[case::unclosed_conn_tag(
    "0 < [c1 S 0:0(0)",
    1,
    9,
    expected("`]` after the connection tag", "`S`")
)]
#[case::empty_conn_tag("0 < [] S 0:0(0)", 1, 5, ErrorKind::BadConnTag("expected a name or `fd=N`, found `]`".into()))]
// --- ARP lines ---
#[case::arp_bad_octet("0 > arp who-has 192.0.2.300 tell 192.0.2.2", 1, 17, ErrorKind::BadIpv4("192.0.2.300".into()))]
#[case::arp_short_ip("0 > arp who-has 192.0.2 tell 192.0.2.2", 1, 17, ErrorKind::BadIpv4("192.0.2".into()))]
#[case::arp_short_mac("0 < arp reply 192.0.2.1 is-at 02:00:00:00:00", 1, 31, ErrorKind::BadMac("02:00:00:00:00".into()))]
#[case::arp_unknown_op("0 < arp is-at 1.2.3.4", 1, 9, ErrorKind::UnknownArpOp("is-at".into()))]
#[case::arp_missing_tell(
    "0 > arp who-has 192.0.2.1",
    1,
    26,
    expected("`tell` and the sender address", "end of file")
)]
// --- system calls ---
#[case::missing_equals("0 close(3) 0", 1, 12, ErrorKind::MissingEquals)]
#[case::missing_result("0 close(3)", 1, 11, ErrorKind::MissingEquals)]
#[case::lowercase_errno("0 close(3) = -1 econnreset", 1, 17, ErrorKind::BadErrno("econnreset".into()))]
#[case::word_after_result("0 close(3) = 0 extra", 1, 16, ErrorKind::BadErrno("extra".into()))]
#[case::unclosed_note(
    "0 close(3) = -1 ECONNRESET (Connection reset",
    1,
    45,
    expected("words and `)` in the note", "end of file")
)]
#[case::struct_missing_comma(
    "0 setsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1 l_linger=0}, 8) = 0",
    1,
    51,
    expected("`,` or `}` in the struct", "`l_linger`")
)]
#[case::list_closed_by_paren(
    "0 write(3, [1, 2, 3) = 1",
    1,
    20,
    expected("`,` or `]` in the list", "`)`")
)]
#[case::bad_sysctl("0 `sysctl -w net.ipv4.tcp_rfc1337`", 1, 3, ErrorKind::BadSysctl("`-w` needs `name=value` arguments".into()))]
// --- directives and options ---
#[case::unknown_directive("%frobnicate x", 1, 2, ErrorKind::UnknownDirective("frobnicate".into(), String::new()))]
#[case::stray_endif("%endif", 1, 1, ErrorKind::StrayEndif)]
#[case::stray_else("%else", 1, 1, ErrorKind::StrayElse)]
#[case::double_else("%if profile=linux\n%else\n%else\n%endif", 3, 1, ErrorKind::StrayElse)]
#[case::unterminated_if("%if profile=linux\n0 close(3) = 0\n", 1, 1, ErrorKind::UnterminatedIf)]
#[case::header_after_event("0 close(3) = 0\n%profile linux", 2, 1, ErrorKind::HeaderDirectiveAfterEvent("profile".into()))]
#[case::option_after_event("0 close(3) = 0\n--tolerance_usecs=10", 2, 1, ErrorKind::OptionAfterEvent("tolerance_usecs".into()))]
#[case::unknown_state("%assert state FOO-BAR", 1, 15, ErrorKind::UnknownTcpState("FOO-BAR".into()))]
#[case::assert_bad_fd(
    "0 < S 0:0(0) win 10\n%assert state fd=x TIME-WAIT",
    2,
    18,
    expected("file descriptor", "`x`")
)]
#[case::expect_without_name("%expect finding", 1, 16, expected("a finding name", "end of file"))]
#[case::set_without_value(
    "%set tcp.time_wait_rst",
    1,
    23,
    expected("`=` after the knob name", "end of file")
)]
#[case::if_without_profile(
    "%if stack=reference\n%endif",
    1,
    5,
    expected("`profile=NAME`", "`stack`")
)]
fn malformed(#[case] src: &str, #[case] line: u32, #[case] col: u32, #[case] kind: ErrorKind) {
    let err = match parse("bad.pkt", src) {
        Ok(s) => panic!("parsed, but should fail: {s:?}"),
        Err(e) => e,
    };
    assert_eq!(
        (err.line, err.col, &err.kind),
        (line, col, &kind),
        "got: {err}"
    );
    assert_eq!(err.file, "bad.pkt");
    assert!(
        err.to_string()
            .starts_with(&format!("bad.pkt:{line}:{col}: ")),
        "{err}"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let src = format!("0 f({}1{}) = 0", "[".repeat(100_000), "]".repeat(100_000));
    let err = parse("deep.pkt", &src).unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooDeep(crate::script::MAX_DEPTH));
    assert_eq!((err.line, err.col), (1, 5 + crate::script::MAX_DEPTH));
    let src = "%if profile=a\n".repeat(10_000);
    let err = parse("deep.pkt", &src).unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooDeep(crate::script::MAX_DEPTH));
    assert_eq!(err.line, crate::script::MAX_DEPTH + 1);
}

#[test]
fn invalid_utf8_points_at_the_bad_byte() {
    let err = parse_bytes("u.pkt", b"0 close(3) = 0\n+0 w\xffrite").unwrap_err();
    assert_eq!(
        (err.line, err.col, err.kind),
        (2, 5, ErrorKind::InvalidUtf8)
    );
}

#[test]
fn earliest_error_wins_over_later_lexical_error() {
    // A syntax error on line 1 is reported even though line 2 holds an unterminated string.
    let err = parse("e.pkt", "0 < Q 0:0(0)\n0 write(3, \"x, 1) = 1").unwrap_err();
    assert_eq!((err.line, err.col), (1, 5));
    assert_eq!(err.kind, ErrorKind::BadTcpFlag('Q'));
}

#[test]
fn error_display_is_file_line_col_message() {
    let err = parse("dir/x.pkt", "\n\n  %endif").unwrap_err();
    assert_eq!(
        err.to_string(),
        "dir/x.pkt:3:3: `%endif` without a matching `%if`"
    );
}

/// Every broken line is reported once, in file order; good lines between them are not.
#[test]
fn every_broken_line_is_reported() {
    let src = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
               +0 > bogus\n\
               +0 close(3) = 0\n\
               +0 < S 0:0(0) win\n\
               %endif\n\
               %aplies linux\n\
               +0 close(3) = 0\n";
    let errors = parse_all("m.pkt", src).unwrap_err();
    let at: Vec<(u32, u32)> = errors.iter().map(|e| (e.line, e.col)).collect();
    assert_eq!(at, [(2, 6), (4, 18), (5, 1), (6, 2)], "{errors:?}");
    assert_eq!(errors[2].kind, ErrorKind::StrayEndif);
    // The first error is what `parse` reports.
    assert_eq!(parse("m.pkt", src).unwrap_err(), errors[0]);
}

/// The search stops at [`MAX_ERRORS`] errors, and at a lexical error (nothing after it can be
/// read reliably).
#[test]
fn error_search_is_bounded() {
    let src = "+0 > bogus\n".repeat(50);
    assert_eq!(parse_all("m.pkt", &src).unwrap_err().len(), MAX_ERRORS);
    let src = "+0 > bogus\n0 write(3, \"abc, 3) = 3\n+0 > bogus\n";
    let errors = parse_all("m.pkt", src).unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[1].kind, ErrorKind::UnterminatedString);
}

#[rstest]
#[case::unknown_key("%expect finding rst-loss cout=2", 1, 26, ErrorKind::UnknownExpectKey("cout".into(), " — did you mean `count`?".into()))]
#[case::count_not_a_number("%expect finding rst-loss count=x", 1, 32, expected("a count", "`x`"))]
#[case::duration_unquoted(
    "%expect finding rst-loss duration=2",
    1,
    35,
    expected("a quoted duration such as \"120s\"", "`2`")
)]
#[case::duration_bad("%expect finding rst-loss duration=\"2 parsecs\"", 1, 35, ErrorKind::BadDuration("bad duration `2 parsecs`: unknown unit `parsecs` (use us, ms, s, min, h)".into()))]
#[case::key_without_value(
    "%expect finding rst-loss host",
    1,
    30,
    expected("`=` after the key", "end of file")
)]
fn bad_expect_keys(
    #[case] src: &str,
    #[case] line: u32,
    #[case] col: u32,
    #[case] kind: ErrorKind,
) {
    let e = parse("t.pkt", src).unwrap_err();
    assert_eq!((e.line, e.col, &e.kind), (line, col, &kind), "{e}");
}

"""The cases of test_differential.py: malformed (and a few valid, borderline) HTTP/1 and HTTP/2
requests, each with the RFC clause it exercises.

A case's request carries the token `{T}` (replaced by `dc<NNN>z`) in its target and in an
`X-Diff-Case` field so the recording backend can attribute what reaches it; a case with a
`followup` sends its first request with `{P}` (`dc<NNN>p`) and measures the follow-up (sent on
the same connection after the first answer) instead: that is how a tunnel opened by mistake
shows (the follow-up is not valid HTTP, so only a tunnel passes it).

`unsafe(head)` says whether a head received by the backend carries the case's offending element
as sent (default: any arrival is the offence). `body_case`: the offence is in the body, so only a
completely received body counts (the head may be forwarded before the body error is seen).
`control`: a valid request every proxy must forward (the setup works). `valid`: the RFC allows
the request; a proxy refusing it is stricter than required, so Ferry forwarding it is reported
but not a failure."""

ANY = None


def parse_headers(head):
    """[(lowercase name, value)] of a raw HTTP/1 head (names and values stripped)."""
    out = []
    for line in head.split(b"\r\n")[1:]:
        if b":" in line:
            k, _, v = line.partition(b":")
            out.append((k.strip().lower(), v.strip()))
    return out


def _first_line(head):
    return head.split(b"\r\n", 1)[0]


def hdr(name, substr=None):
    return lambda h: any(k == name and (substr is None or substr in v.lower()) for k, v in parse_headers(h))


def raw_has(s):
    return lambda h: s.lower() in h.lower()


def line_has(s):
    return lambda h: s in _first_line(h)


def host_has(s):
    return lambda h: any(s in v for k, v in parse_headers(h) if k == b"host")


def host_not(expected):
    return lambda h: [v.lower() for k, v in parse_headers(h) if k == b"host"] != [expected]


def no_host(h):
    return not any(k == b"host" for k, _ in parse_headers(h))


def cl_and_te(h):
    names = [k for k, _ in parse_headers(h)]
    return b"content-length" in names and b"transfer-encoding" in names


class Case:
    def __init__(self, name, clause, proto, request=None, followup=None, fields=None, body=None,
                 trailers=None, end_on_headers=False, unsafe=ANY, body_case=False, control=False, valid=False):
        self.name, self.clause, self.proto = name, clause, proto
        self.request, self.followup = request, followup
        self.fields, self.body, self.trailers, self.end_on_headers = fields, body, trailers, end_on_headers
        self._unsafe = unsafe
        self.body_case, self.control, self.valid = body_case, control, valid
        self.token = None

    def unsafe(self, head):
        return True if self._unsafe is None else bool(self._unsafe(head))

    def bind(self, index):
        """Substitutes the case's tokens (number `index`)."""
        t, p = "dc%03dz" % index, "dc%03dp" % index
        self.token = t
        sub = lambda b: b.replace(b"{T}", t.encode()).replace(b"{P}", p.encode())  # noqa: E731
        subf = lambda fs: [(_b(k).replace(b"{T}", t.encode()), sub(_b(v))) for k, v in fs]  # noqa: E731
        if self.request is not None:
            self.request = sub(self.request)
        if self.followup is not None:
            self.followup = sub(self.followup)
        if self.fields is not None:
            self.fields = subf(self.fields)
        if self.trailers is not None:
            self.trailers = subf(self.trailers)
        return self

    def describe(self):
        if self.proto == "h1":
            d = {"request": self.request[:300].decode("latin-1")}
            if self.followup is not None:
                d["followup"] = self.followup.decode("latin-1")
            return d
        d = {"fields": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in self.fields]}
        if self.body is not None:
            d["body"] = self.body.decode("latin-1")
        if self.trailers is not None:
            d["trailers"] = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in self.trailers]
        if self.end_on_headers:
            d["end_stream_on_headers"] = True
        return d


def _b(s):
    return s if isinstance(s, bytes) else s.encode("latin-1")


# ----------------------------------------------------------------------------------------------
# HTTP/1
# ----------------------------------------------------------------------------------------------

XC = "X-Diff-Case: {T}\r\n"
HOST = "Host: a.test\r\n"


def h1(name, clause, *parts, **kw):
    return Case(name, clause, "h1", request=b"".join(_b(p) for p in parts), **kw)


def get(*headers, line="GET /{T} HTTP/1.1", **kw):
    """A request head: `line`, X-Diff-Case, then `headers` (each ending in CRLF), CRLF."""
    return line + "\r\n" + XC + "".join(headers) + "\r\n"


def post(body, *headers, line="POST /{T} HTTP/1.1"):
    return get(HOST, *headers, line=line) + body


# A follow-up that is not valid HTTP (space in a field name): any parsing proxy refuses it, so it
# reaches the backend only through a tunnel.
FOLLOWUP = b"GET /{T} HTTP/1.1\r\nHost: a.test\r\nX-Diff-Case: {T}\r\nBad Name: smuggled\r\n\r\n"
UPGRADE = "Connection: upgrade\r\nUpgrade: foo\r\n"

H1_CASES = [
    # -- controls
    h1("h1_control_get", "RFC 9112 §3.2.1", get(HOST), control=True),
    h1("h1_control_post_cl", "RFC 9112 §6.2", post("hello", "Content-Length: 5\r\n"), control=True),
    h1("h1_control_post_chunked", "RFC 9112 §7.1", post("5\r\nhello\r\n0\r\n\r\n", "Transfer-Encoding: chunked\r\n"),
       control=True, body_case=True),
    h1("h1_control_absolute_form", "RFC 9112 §3.2.2", get(HOST, line="GET http://a.test/{T} HTTP/1.1"), control=True),
    # -- request-target forms
    h1("h1_absolute_host_mismatch", "RFC 9112 §3.2.2", get("Host: b.test\r\n", line="GET http://a.test/{T} HTTP/1.1"),
       unsafe=host_not(b"a.test")),
    h1("h1_absolute_userinfo", "RFC 9110 §4.2.4", get(HOST, line="GET http://evil@a.test/{T} HTTP/1.1"),
       unsafe=raw_has(b"evil@")),
    h1("h1_authority_form_get", "RFC 9112 §3.2.3", get(HOST, line="GET a.test:80 HTTP/1.1")),
    h1("h1_asterisk_form_get", "RFC 9112 §3.2.4", get(HOST, line="GET * HTTP/1.1")),
    h1("h1_asterisk_form_options", "RFC 9112 §3.2.4", get(HOST, line="OPTIONS * HTTP/1.1"), valid=True),
    h1("h1_target_fragment", "RFC 9112 §3.2.1", get(HOST, line="GET /{T}#frag HTTP/1.1"), unsafe=line_has(b"#")),
    h1("h1_target_no_slash", "RFC 9112 §3.2", get(HOST, line="GET {T} HTTP/1.1")),
    h1("h1_target_space", "RFC 9112 §3", get(HOST, line="GET /{T} x HTTP/1.1"), unsafe=line_has(b"z x")),
    h1("h1_target_tab", "RFC 9112 §3", get(HOST, line="GET /{T}\tx HTTP/1.1"), unsafe=line_has(b"\t")),
    h1("h1_target_ctl", "RFC 9112 §3.2", get(HOST, line="GET /{T}\x01x HTTP/1.1"), unsafe=line_has(b"\x01")),
    h1("h1_target_del", "RFC 9112 §3.2", get(HOST, line="GET /{T}\x7fx HTTP/1.1"), unsafe=line_has(b"\x7f")),
    h1("h1_target_high_byte", "RFC 9112 §3.2", get(HOST, line="GET /{T}\xff HTTP/1.1"), unsafe=line_has(b"\xff")),
    h1("h1_target_utf8", "RFC 9112 §3.2", get(HOST, line="GET /{T}/\xc3\xa9 HTTP/1.1"), unsafe=line_has(b"\xc3\xa9")),
    h1("h1_target_double_space", "RFC 9112 §3", get(HOST, line="GET  /{T} HTTP/1.1"), valid=True),
    h1("h1_target_8000", "RFC 9112 §3", get(HOST, line="GET /{T}?" + "a" * (8000 - 25) + " HTTP/1.1"), valid=True),
    h1("h1_target_20k", "RFC 9112 §3", get(HOST, line="GET /{T}?" + "a" * 20000 + " HTTP/1.1")),
    # -- versions
    h1("h1_version_1_2", "RFC 9112 §2.3", get(HOST, line="GET /{T} HTTP/1.2"), valid=True),
    h1("h1_version_2_0", "RFC 9110 §6.2", get(HOST, line="GET /{T} HTTP/2.0")),
    h1("h1_version_0_9", "RFC 9112 §2.3", "GET /{T}\r\n"),
    h1("h1_version_lowercase", "RFC 9112 §2.3", get(HOST, line="GET /{T} http/1.1")),
    # -- methods
    h1("h1_method_bad_char", "RFC 9110 §9.1", get(HOST, line="G(T /{T} HTTP/1.1"), unsafe=line_has(b"G(T")),
    h1("h1_method_ctl", "RFC 9110 §9.1", get(HOST, line="GE\x01T /{T} HTTP/1.1")),
    # -- Host
    h1("h1_host_missing", "RFC 9112 §3.2", get()),
    h1("h1_host_duplicate", "RFC 9112 §3.2", get(HOST, "Host: b.test\r\n")),
    h1("h1_host_empty", "RFC 9112 §3.2", get("Host:\r\n"), valid=True),
    h1("h1_host_userinfo", "RFC 9110 §7.2", get("Host: evil@a.test\r\n"), unsafe=host_has(b"@")),
    h1("h1_host_path", "RFC 9110 §7.2", get("Host: a.test/x\r\n"), unsafe=host_has(b"/")),
    h1("h1_host_bad_port", "RFC 9110 §7.2", get("Host: a.test:8x0\r\n"), unsafe=host_has(b"8x0")),
    h1("h1_http10_no_host", "RFC 9112 §3.2", get(line="GET /{T} HTTP/1.0"), unsafe=no_host),
    h1("h1_connection_host", "RFC 9110 §7.6.1", get(HOST, "Connection: host\r\n"), unsafe=no_host),
    # -- Content-Length
    h1("h1_cl_duplicate_differ", "RFC 9112 §6.3", post("hello!", "Content-Length: 5\r\nContent-Length: 6\r\n")),
    h1("h1_cl_duplicate_same", "RFC 9110 §8.6", post("hello", "Content-Length: 5\r\nContent-Length: 5\r\n"), valid=True),
    h1("h1_cl_list", "RFC 9110 §8.6", post("hello!", "Content-Length: 5, 6\r\n")),
    h1("h1_cl_negative", "RFC 9110 §8.6", post("", "Content-Length: -1\r\n")),
    h1("h1_cl_plus", "RFC 9110 §8.6", post("hello", "Content-Length: +5\r\n")),
    h1("h1_cl_hex", "RFC 9110 §8.6", post("hello", "Content-Length: 0x5\r\n")),
    h1("h1_cl_huge", "RFC 9112 §6.3", post("hello", "Content-Length: 99999999999999999999999\r\n")),
    h1("h1_cl_and_te", "RFC 9112 §6.3", post("0\r\n\r\n", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
       unsafe=cl_and_te),
    # -- Transfer-Encoding
    h1("h1_te_identity", "RFC 9112 §6.1", post("hello", "Transfer-Encoding: identity\r\nContent-Length: 5\r\n")),
    h1("h1_te_chunked_gzip", "RFC 9112 §6.3", post("0\r\n\r\n", "Transfer-Encoding: chunked, gzip\r\n")),
    h1("h1_te_gzip_chunked", "RFC 9112 §6.1", post("0\r\n\r\n", "Transfer-Encoding: gzip, chunked\r\n"), valid=True),
    h1("h1_te_xchunked", "RFC 9112 §6.1", post("0\r\n\r\n", "Transfer-Encoding: xchunked\r\n")),
    h1("h1_te_duplicate_chunked", "RFC 9112 §6.1", post("0\r\n\r\n", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")),
    h1("h1_te_obs_fold", "RFC 9112 §5.2", post("0\r\n\r\n", "Transfer-Encoding:\r\n chunked\r\n")),
    h1("h1_te_vtab", "RFC 9112 §6.1", post("0\r\n\r\n", "Transfer-Encoding: \x0bchunked\r\n")),
    h1("h1_te_http10", "RFC 9112 §6.1", post("0\r\n\r\n", "Transfer-Encoding: chunked\r\n", line="POST /{T} HTTP/1.0")),
    # -- chunked body
    h1("h1_chunk_size_overflow", "RFC 9112 §7.1", post("ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n", "Transfer-Encoding: chunked\r\n"),
       body_case=True),
    h1("h1_chunk_ext_valid", "RFC 9112 §7.1.1", post("5;name=\"v\"\r\nhello\r\n0\r\n\r\n", "Transfer-Encoding: chunked\r\n"),
       body_case=True, valid=True),
    h1("h1_chunk_ext_empty_name", "RFC 9112 §7.1.1", post("5;=x\r\nhello\r\n0\r\n\r\n", "Transfer-Encoding: chunked\r\n"),
       body_case=True),
    h1("h1_chunk_bare_lf", "RFC 9112 §7.1", post("5\nhello\n0\n\n", "Transfer-Encoding: chunked\r\n"), body_case=True),
    h1("h1_chunk_missing_crlf", "RFC 9112 §7.1", post("5\r\nhelloX0\r\n\r\n", "Transfer-Encoding: chunked\r\n"),
       body_case=True),
    h1("h1_chunk_size_trailing_space", "RFC 9112 §7.1", post("5 \r\nhello\r\n0\r\n\r\n", "Transfer-Encoding: chunked\r\n"),
       body_case=True),
    h1("h1_chunk_size_0x", "RFC 9112 §7.1", post("0x5\r\nhello\r\n0\r\n\r\n", "Transfer-Encoding: chunked\r\n"),
       body_case=True),
    # -- header fields
    h1("h1_hdr_space_before_colon", "RFC 9112 §5.1", post("0\r\n\r\n", "Transfer-Encoding : chunked\r\n"),
       unsafe=lambda h: b"encoding :" in h.lower() or hdr(b"transfer-encoding")(h)),
    h1("h1_hdr_no_colon", "RFC 9112 §5.1", get(HOST, "X-NoColon\r\n"), unsafe=raw_has(b"x-nocolon")),
    h1("h1_hdr_nul", "RFC 9110 §5.5", get(HOST, "X-A: a\x00b\r\n"), unsafe=raw_has(b"\x00")),
    h1("h1_hdr_bare_cr", "RFC 9110 §5.5", get(HOST, "X-A: a\rb\r\n"), unsafe=raw_has(b"a\rb")),
    h1("h1_hdr_bare_lf", "RFC 9112 §2.2", get(HOST, "X-A: a\nX-B: b\r\n"), unsafe=raw_has(b"a\nx-b")),
    h1("h1_hdr_obs_fold", "RFC 9112 §5.2", get(HOST, "X-Fold: a\r\n b\r\n"), unsafe=raw_has(b"\r\n b")),
    h1("h1_hdr_ws_after_startline", "RFC 9112 §2.2", "GET /{T} HTTP/1.1\r\n Host: evil.test\r\n", XC, HOST, "\r\n",
       unsafe=raw_has(b"evil")),
    h1("h1_hdr_long_name_40k", "RFC 9110 §5.4", get(HOST, "X" * 40000 + ": v\r\n")),
    h1("h1_hdr_empty_name", "RFC 9110 §5.1", get(HOST, ": emptyname\r\n"), unsafe=raw_has(b"emptyname")),
    h1("h1_hdr_bad_token", "RFC 9110 §5.1", get(HOST, "X\"A: b\r\n"), unsafe=raw_has(b"x\"a")),
    h1("h1_hdr_ctl_in_name", "RFC 9110 §5.1", get(HOST, "X\x01A: b\r\n"), unsafe=raw_has(b"x\x01a")),
    h1("h1_hdr_underscore_xff", "RFC 9110 §5.1", get(HOST, "X_Forwarded_For: 6.6.6.6\r\n"),
       unsafe=hdr(b"x_forwarded_for")),
    # -- CONNECT and Upgrade
    h1("h1_connect", "RFC 9110 §9.3.6", get("Host: a.test:80\r\n", line="CONNECT a.test:80 HTTP/1.1")),
    h1("h1_connect_upgrade", "RFC 9110 §9.3.6", get("Host: a.test:80\r\n", UPGRADE, line="CONNECT a.test:80 HTTP/1.1")),
    h1("h1_connect_tunnel_followup", "RFC 9110 §9.3.6",
       get("Host: a.test:80\r\n", UPGRADE, line="CONNECT a.test:80 HTTP/1.1").replace("{T}", "{P}"), followup=FOLLOWUP),
    h1("h1_upgrade_h2c", "RFC 9113 §3.1",
       get(HOST, "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"),
       unsafe=hdr(b"upgrade", b"h2c")),
    h1("h1_upgrade_200_followup", "RFC 9110 §7.8", get(HOST, UPGRADE).replace("{T}", "{P}"), followup=FOLLOWUP),
    # -- Expect
    h1("h1_expect_unknown", "RFC 9110 §10.1.1", get(HOST, "Expect: foo\r\n"), valid=True),
    h1("h1_expect_100_http10", "RFC 9110 §10.1.1", post("hello", "Expect: 100-continue\r\nContent-Length: 5\r\n",
                                                       line="POST /{T} HTTP/1.0"), valid=True),
    h1("h1_expect_100_no_body", "RFC 9110 §10.1.1", get(HOST, "Expect: 100-continue\r\n"), valid=True),
]


# ----------------------------------------------------------------------------------------------
# HTTP/2 (h2c with prior knowledge)
# ----------------------------------------------------------------------------------------------

def P(method="GET", scheme="http", authority="a.test", path="/{T}"):
    return [(":method", method), (":scheme", scheme), (":authority", authority), (":path", path)]


XF = [("x-diff-case", "{T}")]


def h2(name, clause, fields, **kw):
    return Case(name, clause, "h2", fields=fields, **kw)


H2_CASES = [
    h2("h2_control_get", "RFC 9113 §8.3.1", P() + XF, control=True),
    h2("h2_control_post", "RFC 9113 §8.1", P("POST") + XF + [("content-length", "5")], body=b"hello",
       control=True, body_case=True),
    h2("h2_control_te_trailers", "RFC 9113 §8.2.2", P() + XF + [("te", "trailers")], control=True),
    h2("h2_trailers_valid", "RFC 9113 §8.1", P("POST") + XF, body=b"hello", trailers=[("x-trailer", "1")],
       body_case=True, valid=True),
    # -- field names and values
    h2("h2_uppercase_name", "RFC 9113 §8.2.1", P() + XF + [("X-Upper", "1")]),
    h2("h2_name_space", "RFC 9113 §8.2.1", P() + XF + [("x a", "b")], unsafe=raw_has(b"x a:")),
    h2("h2_name_colon", "RFC 9113 §8.2.1", P() + XF + [("x:a", "b")], unsafe=raw_has(b"x:a")),
    h2("h2_name_empty", "RFC 9110 §5.1", P() + XF + [("", "emptyname")], unsafe=raw_has(b"emptyname")),
    h2("h2_name_bad_token", "RFC 9110 §5.1", P() + XF + [("x\"a", "b")], unsafe=raw_has(b"x\"a")),
    h2("h2_value_cr", "RFC 9113 §8.2.1", P() + XF + [("x-a", "a\rb")], unsafe=raw_has(b"a\rb")),
    h2("h2_value_lf", "RFC 9113 §8.2.1", P() + XF + [("x-a", "a\nb")], unsafe=raw_has(b"a\nb")),
    h2("h2_value_nul", "RFC 9113 §8.2.1", P() + XF + [("x-a", "a\x00b")], unsafe=raw_has(b"a\x00b")),
    h2("h2_value_leading_space", "RFC 9113 §8.2.1", P() + XF + [("x-lead", " b")], unsafe=hdr(b"x-lead")),
    h2("h2_hdr_underscore_xff", "RFC 9110 §5.1", P() + XF + [("x_forwarded_for", "6.6.6.6")],
       unsafe=hdr(b"x_forwarded_for")),
    # -- connection-specific fields
    h2("h2_conn_connection", "RFC 9113 §8.2.2", P() + XF + [("connection", "keep-alive")]),
    h2("h2_conn_keep_alive", "RFC 9113 §8.2.2", P() + XF + [("keep-alive", "timeout=5")]),
    h2("h2_conn_proxy_connection", "RFC 9113 §8.2.2", P() + XF + [("proxy-connection", "keep-alive")]),
    h2("h2_conn_transfer_encoding", "RFC 9113 §8.2.2", P("POST") + XF + [("transfer-encoding", "chunked")],
       body=b"0\r\n\r\n"),
    h2("h2_conn_upgrade", "RFC 9113 §8.2.2", P() + XF + [("upgrade", "h2c")]),
    h2("h2_te_gzip", "RFC 9113 §8.2.2", P() + XF + [("te", "gzip")]),
    # -- pseudo-header fields
    h2("h2_missing_method", "RFC 9113 §8.3.1", P()[1:] + XF),
    h2("h2_missing_scheme", "RFC 9113 §8.3.1", [P()[0]] + P()[2:] + XF),
    h2("h2_missing_path", "RFC 9113 §8.3.1", P()[:3] + XF),
    h2("h2_dup_method", "RFC 9113 §8.3", P() + [(":method", "POST")] + XF),
    h2("h2_dup_path", "RFC 9113 §8.3", P() + [(":path", "/other/{T}")] + XF),
    h2("h2_dup_authority", "RFC 9113 §8.3", P() + [(":authority", "b.test")] + XF),
    h2("h2_pseudo_after_regular", "RFC 9113 §8.3", P()[:3] + XF + [P()[3]]),
    h2("h2_unknown_pseudo", "RFC 9113 §8.3", P() + [(":foo", "bar")] + XF),
    h2("h2_status_in_request", "RFC 9113 §8.3.2", P() + [(":status", "200")] + XF),
    h2("h2_empty_path", "RFC 9113 §8.3.1", P(path="") + XF),
    h2("h2_path_no_slash", "RFC 9113 §8.3.1", P(path="{T}") + XF),
    h2("h2_path_asterisk_get", "RFC 9113 §8.3.1", P(path="*") + XF),
    h2("h2_path_fragment", "RFC 9113 §8.3.1", P(path="/{T}#frag") + XF, unsafe=line_has(b"#")),
    h2("h2_path_space", "RFC 9113 §8.3.1", P(path="/{T} x") + XF, unsafe=line_has(b"z x")),
    h2("h2_method_bad_char", "RFC 9110 §9.1", P(method="G(T") + XF, unsafe=line_has(b"G(T")),
    # -- authority and Host
    h2("h2_authority_userinfo", "RFC 9113 §8.3.1", P(authority="evil@a.test") + XF, unsafe=host_has(b"@")),
    h2("h2_authority_host_mismatch", "RFC 9113 §8.3.1", P() + XF + [("host", "b.test")], unsafe=host_not(b"a.test")),
    h2("h2_authority_bad_port", "RFC 9110 §7.2", P(authority="a.test:8x0") + XF, unsafe=host_has(b"8x0")),
    h2("h2_authority_path", "RFC 9110 §7.2", P(authority="a.test/x") + XF, unsafe=host_has(b"/")),
    h2("h2_no_authority_no_host", "RFC 9113 §8.3.1", P()[:2] + P()[3:] + XF),
    h2("h2_host_only", "RFC 9113 §8.3.1", P()[:2] + P()[3:] + XF + [("host", "a.test")], valid=True),
    h2("h2_host_userinfo", "RFC 9110 §7.2", P()[:2] + P()[3:] + XF + [("host", "evil@a.test")], unsafe=host_has(b"@")),
    # -- bodies and trailers
    h2("h2_cl_more_than_data", "RFC 9113 §8.1.1", P("POST") + XF + [("content-length", "10")], body=b"hello",
       body_case=True),
    h2("h2_cl_less_than_data", "RFC 9113 §8.1.1", P("POST") + XF + [("content-length", "2")], body=b"hello",
       body_case=True),
    h2("h2_cl_no_data", "RFC 9113 §8.1.1", P("POST") + XF + [("content-length", "5")], body=b"",
       end_on_headers=True, body_case=True),
    h2("h2_trailer_pseudo", "RFC 9113 §8.1", P("POST") + XF, body=b"hello", trailers=[(":path", "/x")],
       body_case=True),
    # -- CONNECT
    h2("h2_connect", "RFC 9113 §8.5", [(":method", "CONNECT"), (":authority", "a.test:80")] + XF),
    h2("h2_connect_with_path", "RFC 9113 §8.5", P("CONNECT", authority="a.test:80") + XF),
]


def cases():
    """Every case, numbered (tokens bound), HTTP/1 first."""
    import copy
    return [copy.copy(c).bind(i) for i, c in enumerate(H1_CASES + H2_CASES)]

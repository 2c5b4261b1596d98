"""Malformed and smuggling-prone requests: 400, then the connection is closed.

For every case the request bytes are sent on a fresh connection; expected: a 400 response with
a short body, then EOF. Cases whose head is invalid must also never reach the upstream."""
from ferrykit.backends import HttpBackend
from ferrykit.config import backend_section, base_config, section
from ferrykit.runner import Ferry
from ferrykit.suite import main, oneline
from ferrykit.wire import RawConn, request

GOOD_HEAD = "POST /ok HTTP/1.1\r\nHost: app.test\r\n"

# (name, bytes, head_is_invalid): head_is_invalid=False means only the body is bad, so the
# head may legitimately have been forwarded before the error was seen.
CASES = [
    ("cl_and_te",
     b"POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", True),
    ("te_and_cl",
     b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", True),
    ("duplicate_cl",
     b"POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", True),
    ("cl_list_differs",
     b"POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5, 6\r\n\r\nhello!", True),
    ("cl_not_a_number",
     b"POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5x\r\n\r\nhello", True),
    ("cl_negative",
     b"POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: -1\r\n\r\n", True),
    ("bad_chunk_size",
     b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", False),
    ("chunk_size_overflow",
     b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nhello\r\n0\r\n\r\n", False),
    ("obs_fold",
     b"GET / HTTP/1.1\r\nHost: app.test\r\nX-Folded: a\r\n  b\r\n\r\n", True),
    ("bare_lf_request_line",
     b"GET / HTTP/1.1\nHost: app.test\r\n\r\n", True),
    ("bare_lf_header",
     b"GET / HTTP/1.1\r\nHost: app.test\nX-A: b\r\n\r\n", True),
    ("bare_cr_header",
     b"GET / HTTP/1.1\r\nHost: app.test\r\nX-A: a\rb\r\n\r\n", True),
    ("nul_in_value",
     b"GET / HTTP/1.1\r\nHost: app.test\r\nX-A: a\x00b\r\n\r\n", True),
    ("space_in_name",
     b"GET / HTTP/1.1\r\nHost: app.test\r\nX A: b\r\n\r\n", True),
    ("space_before_colon",
     b"GET / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", True),
    ("bad_char_in_name",
     b"GET / HTTP/1.1\r\nHost: app.test\r\nX(A): b\r\n\r\n", True),
    ("unknown_transfer_coding",
     b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: foo\r\n\r\n0\r\n\r\n", True),
    ("chunked_not_last",
     b"POST / HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", True),
    ("http10_with_te",
     b"POST / HTTP/1.0\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", True),
    ("garbage_request_line",
     b"HELLO\r\n\r\n", True),
    ("bad_version",
     b"GET / HTTP/9.7x\r\nHost: app.test\r\n\r\n", True),
    ("duplicate_host",
     b"GET / HTTP/1.1\r\nHost: app.test\r\nHost: other.test\r\n\r\n", True),
]


def _setup():
    be = HttpBackend("victim")
    cfg = base_config() + section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a") \
        + backend_section("pool", [("s1", be.port)]) + section("app a", "hosts app.test", "backend pool")
    return Ferry(cfg), be


def test_bad_requests_get_400_and_close():
    f, be = _setup()
    port = f.port("web")
    failures = []
    for name, data, head_invalid in CASES:
        before = be.hits
        c = RawConn(port)
        try:
            c.send(data)
            try:
                r = c.read_response(timeout=5)
            except Exception as e:
                failures.append("%s: no response (%s)" % (name, oneline(e)))
                continue
            if r.status != 400:
                failures.append("%s: expected 400, got %d %r" % (name, r.status, r.body[:80]))
                continue
            if not (0 < len(r.body) < 1024):
                failures.append("%s: 400 body should be a short text, got %r" % (name, r.body[:100]))
            if not c.wait_closed(3):
                failures.append("%s: connection not closed after the 400" % name)
            if head_invalid and be.hits != before:
                failures.append("%s: the request reached the upstream" % name)
        finally:
            c.close()
    print("  %d/%d cases ok" % (len(CASES) - len(failures), len(CASES)))
    assert not failures, "\n".join(failures)


def test_smuggled_second_request_not_forwarded():
    # Classic CL.TE: if Ferry framed by CL while the upstream framed by TE (or the reverse),
    # the tail "GET /smuggled" would become a second request.
    f, be = _setup()
    c = RawConn(f.port("web"))
    c.send(b"POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: app.test\r\n\r\n")
    r = c.read_response()
    assert r.status == 400, r
    c.wait_closed(3)
    paths = [q["path"] for q in be.requests]
    assert "/smuggled" not in paths, "smuggled request reached the upstream: %r" % paths


def test_good_request_after_bad_ones_still_works():
    f, be = _setup()
    port = f.port("web")
    for _, data, _ in CASES[:5]:
        c = RawConn(port)
        c.send(data)
        c.read_all(2)
        c.close()
    r = request(port, "/fine", method="POST", body=b"hello")
    assert r.status == 200 and r.json()["body"] == "hello", r


def test_valid_edge_cases_accepted():
    # Things that look odd but are valid HTTP/1.1 must not be rejected.
    f, be = _setup()
    port = f.port("web")
    ok_cases = [
        ("te_case_insensitive", b"POST /b HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "hello"),
        ("chunk_extension", b"POST /c HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n5;name=val\r\nhello\r\n0\r\n\r\n", "hello"),
        ("trailer_fields", b"POST /d HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n", "hello"),
        ("header_no_space", b"POST /e HTTP/1.1\r\nHost:app.test\r\nContent-Length:5\r\n\r\nhello", "hello"),
        ("value_tab_and_obs_text", b"GET /f HTTP/1.1\r\nHost: app.test\r\nX-A: a\tb \xe9\r\n\r\n", ""),
    ]
    bad = []
    for name, data, body in ok_cases:
        c = RawConn(port)
        c.send(data)
        try:
            r = c.read_response()
            if r.status != 200:
                bad.append("%s: expected 200, got %d %r" % (name, r.status, r.body[:80]))
            elif r.json()["body"] != body:
                bad.append("%s: upstream got body %r" % (name, r.json()["body"]))
        except Exception as e:
            bad.append("%s: %s" % (name, oneline(e)))
        c.close()
    assert not bad, "\n".join(bad)


if __name__ == "__main__":
    main()

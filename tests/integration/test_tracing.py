"""Tracing against the real ferryd: a tiny OTLP/HTTP collector (stdlib http.server) receives
the spans that a request through edge -> mesh backhaul -> worker -> backend produces, and the
test checks their ids (one trace, the worker's span a child of the edge's, the backend's
traceparent naming the worker's span), their timings (the worker's span inside the edge's),
the access log's trace and span ids, who may continue a trace (a trusted peer's traceparent
and tracestate carry on; an untrusted client's are replaced), the request id alias
(X-Request-ID), and sampling: with `sample 0` only errors are exported."""
import http.client
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ferrykit.backends import HttpBackend
from ferrykit.config import backend_section, base_config, loopback_mesh, mesh_key_file, section
from ferrykit.runner import Ferry, metric_value, parse_metrics, scrape_metrics
from ferrykit.suite import main, register, tmpdir, wait_until
from ferrykit.wire import dead_port, free_port_closed, request, upstream_header


class Collector:
    """An OTLP/HTTP JSON traces receiver: keeps every span with its resource's attributes."""

    def __init__(self):
        self.spans, self.posts, self.lock = [], [], threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                doc = json.loads(body)
                with outer.lock:
                    outer.posts.append((self.path, self.headers.get("Content-Type")))
                    for rs in doc["resourceSpans"]:
                        res = {a["key"]: a["value"]["stringValue"] for a in rs["resource"]["attributes"]}
                        for ss in rs["scopeSpans"]:
                            for sp in ss["spans"]:
                                sp["resource"] = res
                                sp["attrs"] = {a["key"]: list(a["value"].values())[0] for a in sp["attributes"]}
                                outer.spans.append(sp)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        register(self)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def wait(self, pred, what):
        def found():
            with self.lock:
                return [s for s in self.spans if pred(s)]
        wait_until(lambda: found(), timeout=10, what=what)
        return found()


def get(port, path, host, source=None, headers=None):
    """One GET over a new connection, from the local address `source` if given: (status, echo
    JSON or the raw body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0) if source else None)
    try:
        r = request(port, path, host=host, headers=headers, conn=conn)
    finally:
        conn.close()
    try:
        return r.status, json.loads(r.body)
    except ValueError:
        return r.status, r.body


def tracing_section(collector, *extra):
    return section("tracing", "endpoint http://127.0.0.1:%d/v1/traces" % collector.port, "interval 200ms", *extra)


def test_spans_across_the_backhaul():
    col = Collector()
    backend = HttpBackend("app-1")
    d = tmpdir()
    edge_bh = "127.0.0.2:%d" % free_port_closed("127.0.0.2")
    worker_bh = "127.0.0.3:%d" % free_port_closed("127.0.0.3")
    wpub, epub = mesh_key_file(os.path.join(d, "w.key")), mesh_key_file(os.path.join(d, "e.key"))
    wcfg = base_config(global_extra=["region worker"])
    wcfg += backend_section("web", [("w1", backend.port)])
    wcfg += section("app a", "hosts a.test", "backend web")
    wcfg += tracing_section(col, "sample 1", "service-name ferry-worker")
    wcfg += loopback_mesh(worker_bh, "edge", edge_bh, os.path.join(d, "w.key"), epub, index=0)
    Ferry(wcfg, name="worker")
    log_path = os.path.join(d, "edge-access.log")
    ecfg = base_config(global_extra=["region edge", "access-log %s json" % log_path], admin=True)
    ecfg += section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a", "trust-forwarded 127.0.0.5/32")
    ecfg += backend_section("web", [("w1", backend.port, "node worker")])
    ecfg += section("app a", "hosts a.test", "backend web")
    ecfg += tracing_section(col, "sample 100%", "service-name ferry-edge")
    ecfg += loopback_mesh(edge_bh, "worker", worker_bh, os.path.join(d, "e.key"), wpub, index=1)
    edge = Ferry(ecfg, name="edge")
    port = edge.port("web")

    def reachable():
        try:
            return get(port, "/ready", "a.test")[0] == 200
        except (OSError, AssertionError):
            return False
    wait_until(reachable, timeout=20, what="the worker reachable over the backhaul")

    # An untrusted client's traceparent, tracestate and X-Request-ID are not taken.
    client_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    status, echo = get(port, "/items?secret=1", "a.test", headers={
        "traceparent": "00-%s-00f067aa0ba902b7-01" % client_trace, "tracestate": "vendor=x",
        "X-Request-ID": "client-chosen"})
    assert status == 200, (status, echo)
    tp = upstream_header(echo, "traceparent")
    assert tp and tp.startswith("00-") and client_trace not in tp, tp
    assert upstream_header(echo, "tracestate") is None, echo["headers"]
    rid = upstream_header(echo, "ferry-request-id")
    assert rid and rid != "client-chosen" and upstream_header(echo, "x-request-id") == rid, echo["headers"]
    trace_id, backend_parent = tp.split("-")[1], tp.split("-")[2]

    spans = col.wait(lambda s: s["traceId"] == trace_id and len([1 for x in col.spans if x["traceId"] == trace_id]) >= 2,
                     "the edge's and the worker's spans of trace %s" % trace_id)
    by_hop = {s["attrs"]["ferry.hop"]: s for s in spans}
    assert set(by_hop) == {"edge", "backhaul"}, spans
    e, w = by_hop["edge"], by_hop["backhaul"]
    assert "parentSpanId" not in e, e                      # the trace started at the edge
    assert w["parentSpanId"] == e["spanId"], (w, e)        # the worker's hop is its child
    assert backend_parent == w["spanId"], (tp, w)          # and the backend's parent is the worker's span
    assert e["resource"]["service.name"] == "ferry-edge" and w["resource"]["service.name"] == "ferry-worker"
    assert e["resource"]["cloud.region"] == "edge" and w["resource"]["cloud.region"] == "worker"
    for s in (e, w):
        assert s["kind"] == 2 and s["name"] == "GET a", s
        assert s["attrs"]["http.response.status_code"] == "200" and s["attrs"]["url.path"] == "/items", s
        assert "status" not in s, s
    es, ee = int(e["startTimeUnixNano"]), int(e["endTimeUnixNano"])
    ws, we = int(w["startTimeUnixNano"]), int(w["endTimeUnixNano"])
    slack = 1000000  # 1 ms: each node maps its steady clock onto the wall clock once per request
    assert es <= ws + slack and we <= ee + slack and es < ee and ws < we, (es, ws, we, ee)
    assert col.posts[0] == ("/v1/traces", "application/json"), col.posts[0]

    # The edge's access log names the same trace and span.
    def logged():
        with open(log_path) as fh:
            return [json.loads(l) for l in fh if l.strip() and json.loads(l).get("trace_id") == trace_id]
    wait_until(lambda: logged(), timeout=5, what="the access log line of trace %s" % trace_id)
    line = logged()[0]
    assert line["span_id"] == e["spanId"] and line["request_id"] == rid, line

    # A trusted peer in front continues its trace: its span becomes the edge span's parent, its
    # tracestate and request id go on.
    parent = "00f067aa0ba902b7"
    status, echo = get(port, "/t", "a.test", source="127.0.0.5", headers={
        "traceparent": "00-%s-%s-01" % (client_trace, parent), "tracestate": "vendor=x",
        "X-Request-ID": "req-42"})
    assert status == 200 and upstream_header(echo, "traceparent").split("-")[1] == client_trace, echo["headers"]
    assert upstream_header(echo, "tracestate") == "vendor=x", echo["headers"]
    assert upstream_header(echo, "x-request-id") == "req-42" == upstream_header(echo, "ferry-request-id")
    spans = col.wait(lambda s: s["traceId"] == client_trace and s["attrs"]["ferry.hop"] == "edge",
                     "the edge span continuing the trusted trace")
    assert spans[0]["parentSpanId"] == parent, spans[0]

    samples = parse_metrics(scrape_metrics(edge)[2])
    assert metric_value(samples, "ferry_trace_spans_exported_total") >= 2, samples
    assert metric_value(samples, "ferry_trace_export_requests_total", result="error") == 0


def test_sampling_keeps_errors():
    """`sample 0`: a 200 is not exported, a 5xx (the server refuses connections) is, with an
    error status; a trace a trusted peer sampled is exported whatever the ratio."""
    col = Collector()
    ok = HttpBackend("ok")
    cfg = base_config()
    cfg += section("frontend web", "bind 127.0.0.1:0", "mode http", "default-app a", "trust-forwarded 127.0.0.5/32")
    cfg += backend_section("web", [("w1", ok.port)])
    cfg += backend_section("dead", [("d1", dead_port())])
    cfg += section("app a", "hosts a.test", "backend web")
    cfg += section("app b", "hosts b.test", "backend dead")
    cfg += tracing_section(col, "sample 0", "errors on")
    f = Ferry(cfg)
    port = f.port("web")
    for _ in range(5):
        assert get(port, "/fine", "a.test")[0] == 200
    status = get(port, "/broken", "b.test")[0]
    assert status >= 500, status
    sampled = "0af7651916cd43dd8448eb211c80319c"
    assert get(port, "/kept", "a.test", source="127.0.0.5",
               headers={"traceparent": "00-%s-b7ad6b7169203331-01" % sampled})[0] == 200
    col.wait(lambda s: s["attrs"].get("url.path") == "/broken", "the 502's span")
    col.wait(lambda s: s["traceId"] == sampled, "the span of the trace a trusted peer sampled")
    with col.lock:
        paths = sorted(s["attrs"].get("url.path") for s in col.spans)
        broken = [s for s in col.spans if s["attrs"].get("url.path") == "/broken"][0]
    assert paths == ["/broken", "/kept"], paths
    assert broken["status"] == {"code": 2} and broken["attrs"]["http.response.status_code"] == str(status), broken


if __name__ == "__main__":
    main()

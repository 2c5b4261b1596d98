"""The catalog's file provider (`catalog` / `instances-dir PATH`): a directory of NAME.json
instance files, watched with inotify, registered as this node's instances (docs/CATALOG.md,
"Instance files"). One ferryd, two HTTP backends, a backend with `instances catalog` only.

test_instance_files:
  add       a new file is routed to within 2 s; its instance carries ferry.source=file:NAME;
  change    the file rewritten with the other backend's address: routed there;
  bad file  invalid JSON is logged with the file's name and the instance stays as it was;
  api       an instance registered through the API is left alone by the rescans;
  remove    the file deleted: its instance goes (503: no instance left for the file's app);
  restart   a file deleted while ferryd is down: its instance is removed at start (found by
            its source tag), the API's stays.
"""
import json
import os
import time

from ferrykit.backends import HttpBackend
from ferrykit.config import base_config, section
from ferrykit.runner import Ferry
from ferrykit.suite import main, tmpdir, wait_until
from ferrykit.wire import request


def write(d, name, body):
    tmp = os.path.join(d, "." + name + ".tmp")
    with open(tmp, "w") as f:
        f.write(body if isinstance(body, str) else json.dumps(body))
    os.replace(tmp, os.path.join(d, name))


def who(f):
    r = request(f.port("web"), "/", host="app.test", timeout=5)
    return r.json()["name"] if r.status == 200 else r.status


def instances(f):
    r = request(f.admin_port, "/api/v1/instances", host="127.0.0.1:%d" % f.admin_port)
    return {i["id"]: i for i in r.json()["instances"]}


def test_instance_files():
    a, b = HttpBackend("a"), HttpBackend("b")
    d = os.path.join(tmpdir(), "instances.d")
    os.makedirs(d)
    cfg = base_config() + section("catalog", "instances-dir %s" % d)
    cfg += section("frontend web", "bind 127.0.0.1:0", "default-app web")
    cfg += section("backend pool", "instances catalog")
    cfg += section("app web", "hosts app.test", "backend pool")
    cfg += section("backend other", "instances catalog")
    cfg += section("app side", "hosts side.test", "backend other")
    f = Ferry(cfg)
    assert who(f) == 503

    write(d, "web-1.json", {"app": "web", "address": "127.0.0.1:%d" % a.port})
    wait_until(lambda: who(f) == "a", timeout=2, interval=0.02, what="the file's instance routed")
    inst = instances(f)["web-1"]
    assert inst["metadata"] == {"ferry.source": "file:web-1"} and inst["local"] is True, inst

    write(d, "web-1.json", {"app": "web", "address": "127.0.0.1:%d" % b.port, "metadata": {"v": "2"}})
    wait_until(lambda: who(f) == "b", timeout=2, interval=0.02, what="the changed file's address routed")
    version = instances(f)["web-1"]["version"]

    write(d, "web-1.json", "{not json")
    f.wait_log(r"instances-dir .*/web-1\.json: the body must be a JSON object")
    time.sleep(0.3)
    assert who(f) == "b" and instances(f)["web-1"]["version"] == version  # kept as it was

    req = request(f.admin_port, "/api/v1/instances", host="127.0.0.1:%d" % f.admin_port, method="POST",
                  body=json.dumps({"app": "side", "id": "api-1", "address": "127.0.0.1:%d" % a.port}).encode(),
                  headers={"Content-Type": "application/json"})
    assert req.status == 200, req.body

    os.unlink(os.path.join(d, "web-1.json"))
    wait_until(lambda: who(f) == 503, timeout=2, interval=0.02, what="the deleted file's instance gone")
    assert set(instances(f)) == {"api-1"}
    f.wait_log(r"admin action user=file action=instance-remove app=web id=web-1")

    write(d, "web-2.json", {"app": "web", "id": "w2", "address": "127.0.0.1:%d" % a.port})
    wait_until(lambda: who(f) == "a", timeout=2, interval=0.02, what="web-2.json routed")
    f.stop()
    os.unlink(os.path.join(d, "web-2.json"))
    f.start()
    wait_until(lambda: set(instances(f)) == {"api-1"}, timeout=5, interval=0.05,
               what="the instance of a file deleted while ferryd was down removed at start")
    assert who(f) == 503


if __name__ == "__main__":
    main()

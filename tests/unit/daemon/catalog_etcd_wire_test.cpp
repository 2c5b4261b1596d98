// The etcd JSON gateway wire of the catalog's etcd back end (catalog/etcd_wire.h): keys,
// request bodies, and answers as etcd 3.4 writes them (captured from a real member).
#include <catch2/catch.hpp>

#include "catalog/etcd_wire.h"

using namespace ferry::daemon::catalog::etcd;

TEST_CASE("etcd keys: node/app/id under the prefix", "[catalog][etcd]") {
  CHECK(instance_key("/ferry/catalog/", "dfw", "web", "web-1") == "/ferry/catalog/dfw/web/web-1");
  std::string node, app, id;
  REQUIRE(split_key("/ferry/catalog/", "/ferry/catalog/dfw/web/web-1", node, app, id));
  CHECK(node == "dfw");
  CHECK(app == "web");
  CHECK(id == "web-1");
  CHECK_FALSE(split_key("/ferry/catalog/", "/other/dfw/web/web-1", node, app, id));
  CHECK_FALSE(split_key("/ferry/catalog/", "/ferry/catalog/dfw/web", node, app, id));
  CHECK_FALSE(split_key("/ferry/catalog/", "/ferry/catalog/dfw/web/a/b", node, app, id));  // '/' is not a name byte
  CHECK_FALSE(split_key("/ferry/catalog/", "/ferry/catalog//web/a", node, app, id));
  // A node's acknowledgement key: no instance key can be one ('@' is no name byte).
  CHECK(ack_key("/ferry/catalog/", "dfw") == "/ferry/catalog/dfw/@applied");
  REQUIRE(ack_key_node("/ferry/catalog/", "/ferry/catalog/dfw/@applied", node));
  CHECK(node == "dfw");
  CHECK_FALSE(split_key("/ferry/catalog/", "/ferry/catalog/dfw/@applied", node, app, id));
  CHECK_FALSE(ack_key_node("/ferry/catalog/", "/ferry/catalog//@applied", node));
  CHECK_FALSE(ack_key_node("/ferry/catalog/", "/ferry/catalog/dfw/web/@applied", node));
  CHECK_FALSE(ack_key_node("/ferry/catalog/", "/ferry/catalog/dfw/web/web-1", node));
  CHECK_FALSE(ack_key_node("/ferry/catalog/", "/other/dfw/@applied", node));
  CHECK(range_end("/ferry/") == "/ferry0");
  CHECK(range_end(std::string("a\xff", 2)) == "b");
}

TEST_CASE("etcd request bodies", "[catalog][etcd]") {
  CHECK(range_body("/f/") == R"({"key":"L2Yv","range_end":"L2Yw"})");
  CHECK(range_body("/f/", true) == R"({"key":"L2Yv","range_end":"L2Yw","keys_only":true})");
  CHECK(watch_body("/f/", 7) == R"({"create_request":{"key":"L2Yv","range_end":"L2Yw","start_revision":"7"}})");
  CHECK(grant_body(5) == R"({"TTL":"5"})");
  CHECK(keepalive_body(42) == R"({"ID":"42"})");
  CHECK(txn_body({{"/f/a", "x", false}, {"/f/b", "", true}}, 9) ==
        R"({"success":[{"request_put":{"key":"L2YvYQ==","value":"eA==","lease":"9"}},)"
        R"({"request_delete_range":{"key":"L2YvYg=="}}]})");
  CHECK(auth_body("ops", "p\"w") == R"({"name":"ops","password":"p\"w"})");
}

TEST_CASE("etcd answers", "[catalog][etcd]") {
  std::string error;
  int64_t lease = 0;
  REQUIRE(parse_grant(R"({"header":{"revision":"1"},"ID":"7587899405735033861","TTL":"5"})", lease, error));
  CHECK(lease == 7587899405735033861);
  int64_t ttl = -1;
  REQUIRE(parse_keepalive(R"({"result":{"header":{"revision":"2"},"ID":"7587899405735033863","TTL":"5"}})", ttl, error));
  CHECK(ttl == 5);
  REQUIRE(parse_keepalive(R"({"result":{"header":{"revision":"2"},"ID":"123"}})", ttl, error));
  CHECK(ttl == 0);  // the lease is gone: TTL omitted
  int64_t rev = 0;
  std::vector<Kv> kvs;
  REQUIRE(parse_range(R"({"header":{"revision":"5"}})", rev, kvs, error));
  CHECK(rev == 5);
  CHECK(kvs.empty());
  REQUIRE(parse_range(R"({"header":{"revision":"6"},"kvs":[{"key":"L2YvYQ==","value":"eA==","mod_revision":"6"}],"count":"1"})",
                      rev, kvs, error));
  REQUIRE(kvs.size() == 1);
  CHECK(kvs[0].key == "/f/a");
  CHECK(kvs[0].value == "x");
  REQUIRE(parse_txn(R"({"header":{"cluster_id":"1","member_id":"2","revision":"41","raft_term":"3"},"succeeded":true,)"
                    R"("responses":[{"response_put":{"header":{"revision":"41"}}}]})", rev, error));
  CHECK(rev == 41);
  CHECK_FALSE(parse_txn(R"({"error":"etcdserver: permission denied","code":7})", rev, error));
  CHECK_FALSE(parse_txn(R"({"header":{}})", rev, error));
  std::string token;
  REQUIRE(parse_token(R"({"header":{},"token":"abc.123"})", token, error));
  CHECK(token == "abc.123");
  CHECK_FALSE(parse_grant(R"({"error":"etcdserver: user name is empty","code":3})", lease, error));
  CHECK(error == "etcd: etcdserver: user name is empty");
  CHECK_FALSE(parse_range("not json", rev, kvs, error));
  CHECK_FALSE(parse_range(R"({"header":{"revision":"5"},"kvs":[{"key":"*"}]})", rev, kvs, error));
  CHECK(error_text(R"({"error":"etcdserver: permission denied","code":7})") == "etcdserver: permission denied");
}

TEST_CASE("etcd watch messages", "[catalog][etcd]") {
  WatchMessage m;
  std::string error;
  REQUIRE(parse_watch(R"({"result":{"header":{"revision":"3"},"created":true}})", m, error));
  CHECK(m.created);
  CHECK(m.events.empty());
  REQUIRE(parse_watch(R"({"result":{"header":{"revision":"5"},"events":[)"
                      R"({"kv":{"key":"L2YvYQ==","create_revision":"2","mod_revision":"2","version":"1","value":"eA==","lease":"7"}},)"
                      R"({"type":"DELETE","kv":{"key":"L2YvYQ==","mod_revision":"3"}}]}})",
                      m, error));
  REQUIRE(m.events.size() == 2);
  CHECK_FALSE(m.events[0].remove);  // PUT is the zero value: no "type"
  CHECK(m.events[0].key == "/f/a");
  CHECK(m.events[0].value == "x");
  CHECK(m.events[0].mod_revision == 2);
  CHECK(m.events[1].remove);
  CHECK(m.events[1].mod_revision == 3);
  REQUIRE(parse_watch(R"({"result":{"header":{"revision":"9"},"canceled":true,"compact_revision":"8"}})", m, error));
  CHECK(m.canceled);
  CHECK(m.compact_revision == 8);
  CHECK_FALSE(parse_watch(R"({"result":{"events":[{"type":"BOGUS","kv":{}}]}})", m, error));
  CHECK_FALSE(parse_watch(R"({"nothing":1})", m, error));
}

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "mesh/plan.h"

using namespace ferry;
using namespace ferry::daemon::mesh;

namespace {

const char* kPriv = "EMfMTJ5g8Vw8cek2IOgSQqoiC4ePuazTwWUX7r9ugFA=";
const char* kPub = "q48NkSN2PG6gm9UhxtXY6JFHCN1uOueHdp0XxULF+GM=";

std::string write_temp(const std::string& content, mode_t mode) {
  char path[] = "/tmp/ferry-mesh-key-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  close(fd);
  chmod(path, mode);
  return path;
}

config::Mesh sample_mesh() {
  config::Mesh m;
  m.interface = "ferry0";
  m.address = {"fdaa:0:1::1", 48};
  m.listen_port = 51820;
  config::MeshPeer p;
  p.name = "worker-dfw-1";
  p.public_key = kPub;
  p.endpoint = config::Address{"198.51.100.7", 51820};
  p.allowed_ips = {{"fdaa:0:2::", 48}, {"10.2.0.0", 16}, {"fdaa:0:1::99", 128}};
  p.keepalive = std::chrono::seconds(25);
  m.peers.push_back(p);
  config::MeshPeer q;
  q.name = "worker-syd-1";
  q.public_key = "Q48NkSN2PG6gm9UhxtXY6JFHCN1uOueHdp0XxULF+GM=";
  q.allowed_ips = {{"fdaa:0:3::", 48}, {"10.2.0.0", 16}};
  m.peers.push_back(q);
  return m;
}

}  // namespace

TEST_CASE("read_private_key", "[mesh]") {
  ferry::netlink::WgKey key;
  std::string error;
  std::string good = write_temp(std::string(kPriv) + "\n", 0600);
  CHECK(read_private_key(good, key, error));
  CHECK(key.to_base64() == kPriv);

  std::string open = write_temp(std::string(kPriv) + "\n", 0644);
  CHECK_FALSE(read_private_key(open, key, error));
  CHECK(error == "private key " + open + ": group or others may access it (mode 0644); chmod 600 it");

  std::string bad = write_temp("not a key\n", 0600);
  CHECK_FALSE(read_private_key(bad, key, error));
  CHECK(error.find("private key " + bad + ": not a base64 WireGuard key") == 0);

  CHECK_FALSE(read_private_key("/nonexistent/mesh.key", key, error));
  CHECK(error == "private key /nonexistent/mesh.key: No such file or directory");
  for (const auto& p : {good, open, bad}) unlink(p.c_str());
}

TEST_CASE("device_config and peer_routes", "[mesh]") {
  config::Mesh m = sample_mesh();
  ferry::netlink::WgDeviceConfig dev;
  std::string error;
  auto key = *ferry::netlink::WgKey::from_base64(kPriv);
  REQUIRE(device_config(m, key, dev, error));
  CHECK(dev.listen_port == 51820);
  REQUIRE(dev.peers.size() == 2);
  CHECK(dev.peers[0].public_key.to_base64() == kPub);
  REQUIRE(dev.peers[0].endpoint);
  CHECK(dev.peers[0].endpoint->to_string() == "198.51.100.7:51820");
  CHECK(dev.peers[0].keepalive == 25);
  CHECK(dev.peers[0].allowed_ips.size() == 3);
  CHECK_FALSE(dev.peers[1].endpoint);

  // fdaa:0:1::99/128 is inside the node's own /48: no route; 10.2.0.0/16 once.
  auto routes = peer_routes(m);
  std::vector<std::string> r;
  for (const auto& p : routes) r.push_back(p.to_string());
  CHECK(r == std::vector<std::string>{"fdaa:0:2::/48", "10.2.0.0/16", "fdaa:0:3::/48"});

  m.peers[1].public_key = "short";
  CHECK_FALSE(device_config(m, key, dev, error));
  CHECK(error == "mesh peer worker-syd-1: public-key is not a base64 WireGuard key");
}

TEST_CASE("mesh status JSON", "[mesh]") {
  config::Mesh m = sample_mesh();
  ferry::netlink::WgDeviceStatus dev;
  ferry::netlink::WgPeerStatus p;
  p.public_key = *ferry::netlink::WgKey::from_base64(kPub);
  p.endpoint = ferry::netlink::IpEndpoint::parse("198.51.100.7:51820");
  p.last_handshake_sec = 1000;
  p.rx_bytes = 5;
  p.tx_bytes = 6;
  p.allowed_ips = {*ferry::netlink::IpPrefix::parse("fdaa:0:2::/48")};
  dev.peers = {p};
  MeshStatus s;
  s.configured = true;
  s.interface = "ferry0";
  s.driver = "userspace";
  s.peers = peer_status(&m, dev, 1010);
  REQUIRE(s.peers.size() == 1);
  CHECK(s.peers[0].name == "worker-dfw-1");
  CHECK(s.peers[0].handshake_age == 10);
  s.anycast.push_back({"10.9.9.9/32", "lo", true, true});
  CHECK(to_json(s) ==
        "{\"configured\":true,\"interface\":\"ferry0\",\"driver\":\"userspace\",\"public_key\":\"\","
        "\"listen_port\":0,\"error\":\"\",\"peers\":[{\"name\":\"worker-dfw-1\",\"public_key\":\"" +
            std::string(kPub) +
            "\",\"endpoint\":\"198.51.100.7:51820\",\"last_handshake\":1000,\"handshake_age_seconds\":10,"
            "\"rx_bytes\":5,\"tx_bytes\":6,\"allowed_ips\":[\"fdaa:0:2::/48\"]}],"
            "\"anycast\":[{\"address\":\"10.9.9.9/32\",\"interface\":\"lo\",\"added_by_ferry\":true,\"present\":true}],"
            "\"backhaul\":[]}");
  BackhaulPeerStatus bh{"worker-dfw-1", "dfw", "[fdaa:0:2::1]:4280", 812, false, true, 120, 130, 9, 1};
  const std::string j = to_json(s, {bh});
  CHECK(j.find("\"backhaul\":[{\"name\":\"worker-dfw-1\",\"region\":\"dfw\",\"address\":\"[fdaa:0:2::1]:4280\","
               "\"reachable\":true,\"rtt_us\":812,\"rtt_fixed\":false,\"last_answer_age_ms\":120,"
               "\"last_report_age_ms\":130,\"pings\":9,\"ping_failures\":1}]}") != std::string::npos);
}

#include "catalog/record.h"

#include <arpa/inet.h>

#include <algorithm>

#include "ferry/util/number.h"

namespace ferry::daemon::catalog {

namespace {

bool name_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool plain_value_char(unsigned char c) {
  return name_char(c) || c == '~' || c == ':' || c == '/' || c == '@' || c == '+';
}

void append_value(std::string& out, std::string_view v) {
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : v) {
    if (plain_value_char(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool decode_value(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_digit(in[i + 1]), lo = hex_digit(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (plain_value_char(static_cast<unsigned char>(c))) {
      out += c;
    } else {
      return false;
    }
  }
  return true;
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  while (!line.empty()) {
    const size_t sp = line.find(' ');
    out.push_back(line.substr(0, sp));
    if (sp == std::string_view::npos) break;
    line = line.substr(sp + 1);
  }
  return out;
}

}  // namespace

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return name_char(static_cast<unsigned char>(c)); });
}

const char* state_name(proxy::InstanceState s) {
  switch (s) {
    case proxy::InstanceState::starting: return "starting";
    case proxy::InstanceState::started: return "started";
    case proxy::InstanceState::stopping: return "stopping";
    case proxy::InstanceState::stopped: return "stopped";
  }
  return "stopped";
}

bool parse_state(std::string_view s, proxy::InstanceState& out) {
  for (auto st : {proxy::InstanceState::starting, proxy::InstanceState::started, proxy::InstanceState::stopping,
                  proxy::InstanceState::stopped})
    if (s == state_name(st)) {
      out = st;
      return true;
    }
  return false;
}

bool parse_address(std::string_view s, config::Address& out) {
  std::string_view host;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return false;  // IPv6 needs brackets
  }
  unsigned p = 0;
  if (!util::parse_whole(port, p) || p == 0 || p > 65535) return false;
  const std::string h(host);
  unsigned char buf[16];
  const bool v6 = h.find(':') != std::string::npos;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, h.c_str(), buf) != 1) return false;
  out.host = h;
  out.port = static_cast<uint16_t>(p);
  return true;
}

std::string check(Record& r) {
  const proxy::Instance& in = r.inst;
  if (!valid_name(in.app)) return "invalid app name (1..128 of A-Z a-z 0-9 . _ -)";
  if (!valid_name(in.id)) return "invalid instance id (1..128 of A-Z a-z 0-9 . _ -)";
  if (!in.region.empty() && !valid_name(in.region)) return "invalid region (1..128 of A-Z a-z 0-9 . _ -)";
  if (in.addr.port == 0) return "missing address";
  if (in.weight < 0 || in.weight > 256) return "weight must be 0..256";
  if (in.soft < 0 || in.hard < 0 || in.soft > 1'000'000 || in.hard > 1'000'000) return "soft and hard must be 0..1000000";
  if (r.metadata.size() > kMaxMetadata) return "at most " + std::to_string(kMaxMetadata) + " metadata entries";
  std::sort(r.metadata.begin(), r.metadata.end());
  for (size_t i = 0; i < r.metadata.size(); ++i) {
    if (!valid_name(r.metadata[i].first)) return "invalid metadata key (1..128 of A-Z a-z 0-9 . _ -)";
    if (r.metadata[i].second.size() > 256) return "metadata value of '" + r.metadata[i].first + "' is over 256 bytes";
    if (i > 0 && r.metadata[i].first == r.metadata[i - 1].first) return "metadata key '" + r.metadata[i].first + "' twice";
  }
  return {};
}

std::string encode(const Record& r) {
  const proxy::Instance& in = r.inst;
  std::string out = "i ";
  out += in.app + ' ' + in.id + ' ' + in.addr.to_string() + ' ' + state_name(in.state) + ' ';
  out += in.region.empty() ? std::string("-") : in.region;
  out += ' ' + std::to_string(in.weight) + ' ' + std::to_string(in.soft) + ' ' + std::to_string(in.hard) + ' ' +
         std::to_string(r.version) + ' ' + std::to_string(r.changed_ms);
  for (const auto& [k, v] : r.metadata) {
    out += ' ' + k + '=';
    append_value(out, v);
  }
  out += '\n';
  return out;
}

std::string encode_removal(const Record& r) {
  return "r " + r.inst.app + ' ' + r.inst.id + ' ' + std::to_string(r.version) + ' ' + std::to_string(r.changed_ms) + '\n';
}

bool decode(std::string_view line, Record& out, bool& removal, std::string& error) {
  out = Record{};
  const auto f = fields(line);
  if (f.empty() || (f[0] != "i" && f[0] != "r")) {
    error = "not a record line";
    return false;
  }
  removal = f[0] == "r";
  if (removal) {
    if (f.size() != 5 || !valid_name(f[1]) || !valid_name(f[2]) || !util::parse_whole(f[3], out.version) ||
        !util::parse_whole(f[4], out.changed_ms)) {
      error = "malformed removal";
      return false;
    }
    out.inst.app = f[1];
    out.inst.id = f[2];
    return true;
  }
  if (f.size() < 11 || f.size() > 11 + kMaxMetadata) {
    error = "wrong number of fields";
    return false;
  }
  proxy::Instance& in = out.inst;
  in.app = f[1];
  in.id = f[2];
  if (!parse_address(f[3], in.addr) || !parse_state(f[4], in.state) || !util::parse_whole(f[6], in.weight) ||
      !util::parse_whole(f[7], in.soft) || !util::parse_whole(f[8], in.hard) || !util::parse_whole(f[9], out.version) ||
      !util::parse_whole(f[10], out.changed_ms)) {
    error = "malformed field";
    return false;
  }
  if (f[5] != "-") in.region = f[5];
  // f[11..]: metadata.
  for (size_t i = 11; i < f.size(); ++i) {
    const size_t eq = f[i].find('=');
    std::string value;
    if (eq == std::string_view::npos || !decode_value(f[i].substr(eq + 1), value)) {
      error = "malformed metadata";
      return false;
    }
    out.metadata.emplace_back(std::string(f[i].substr(0, eq)), std::move(value));
  }
  error = check(out);
  return error.empty();
}

}  // namespace ferry::daemon::catalog

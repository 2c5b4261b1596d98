// `global` section: process-wide settings (once per configuration).
#include <limits.h>
#include <unistd.h>

#include "common.h"
#include "ferry/util/password_hash.h"
#include "keywords.h"
#include "resolve.h"
#include "values.h"

namespace ferry::config::detail {

namespace {

using R = DirectiveSpec::Repeat;

void name_arg(Ctx& ctx, const Directive& d, const std::string& syntax, std::string& out) {
  if (!ctx.arity(d, 1, 1, syntax)) return;
  if (d.args[0].text.empty()) {
    ctx.error(d.args[0].loc, "empty value: expected '" + syntax + "'");
    return;
  }
  out = d.args[0].text;
}

const std::vector<std::string> kLevels = {"trace", "debug", "info", "notice", "warning", "error"};

bool is_loopback(const std::string& host) {
  if (host == "::1") return true;
  if (host.rfind("::ffff:127.", 0) == 0) return true;
  return is_ipv4(host) && host.rfind("127.", 0) == 0;
}

// A non-loopback admin listener needs TLS and at least one user: it would otherwise hand the
// console to anyone on the network, or send passwords and cookies in clear.
void check_admin(const Draft& dr, Ctx& ctx) {
  const Global& g = dr.global;
  if (!g.admin || is_loopback(g.admin->host) || !dr.admin_arg) return;
  std::string missing;
  if (g.admin_tls_cert.empty()) missing = "'admin-tls CERT_PEM [KEY_PEM]'";
  if (g.admin_users.empty())
    missing += std::string(missing.empty() ? "" : " and ") + "at least one 'admin-user NAME HASH'";
  if (missing.empty()) return;
  ctx.error(dr.admin_arg->loc, "admin address " + g.admin->to_string() +
                                   " is not loopback: it needs " + missing +
                                   " (or use 'admin 127.0.0.1:PORT')");
}

// Pass names: the global values every later pass reads (`node` defaults to the host name).
void resolve_global(Resolution& r) {
  r.cfg.global = r.dr.global;
  check_admin(r.dr, r.ctx);
  if (!r.dr.node_set) {
    char host[HOST_NAME_MAX + 1] = {};
    if (::gethostname(host, sizeof host - 1) == 0) r.cfg.global.node = host;
  }
}

void admin_host(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "admin-host NAME")) return;
  std::string why;
  auto h = parse_host_pattern(d.args[0].text, why);
  if (h && h->find('*') != std::string::npos) why = "admin-host takes a plain name, no '*'";
  if (!h || !why.empty()) {
    ctx.error(d.args[0].loc, why);
    return;
  }
  dr.global.admin_hosts.push_back(*h);
}

void admin_tls(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 2, "admin-tls CERT_PEM [KEY_PEM]")) return;
  for (const Arg& a : d.args)
    if (a.text.empty()) {
      ctx.error(a.loc, "empty path: expected 'admin-tls CERT_PEM [KEY_PEM]'");
      return;
    }
  dr.global.admin_tls_cert = input_path(ctx, d.args[0]);
  dr.global.admin_tls_key = d.args.size() == 2 ? input_path(ctx, d.args[1]) : dr.global.admin_tls_cert;
  dr.global.admin_tls_loc = ctx.source_loc(d.args[0].loc);
}

void admin_session_timeout(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "admin-session-timeout DURATION")) return;
  auto v = ctx.duration(d.args[0]);
  if (!v) return;
  if (*v < std::chrono::seconds(1) || *v > std::chrono::hours(24 * 30)) {
    ctx.error(d.args[0].loc, "admin-session-timeout must be between 1s and 720h");
    return;
  }
  dr.global.admin_session_timeout = *v;
}

void admin_user(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 2, 2, "admin-user NAME HASH")) return;
  for (const auto& u : dr.global.admin_users)
    if (u.name == d.args[0].text) {
      ctx.error(d.args[0].loc, "admin user '" + u.name + "' is already defined");
      return;
    }
  if (d.args[0].text.empty() || d.args[1].text.empty()) {
    ctx.error(d.args[d.args[0].text.empty() ? 0 : 1].loc, "empty value: expected 'admin-user NAME HASH'");
    return;
  }
  std::string why;
  if (!util::parse_password_hash(d.args[1].text, why)) {
    ctx.error(d.args[1].loc, why);
    return;
  }
  dr.global.admin_users.push_back({d.args[0].text, d.args[1].text});
}

void log_directive(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 2, "log stderr|PATH [trace|debug|info|notice|warning|error]")) return;
  if (d.args[0].text.empty()) {
    ctx.error(d.args[0].loc, "empty log target");
    return;
  }
  dr.global.log_target = d.args[0].text;
  if (d.args.size() == 2)
    if (auto l = ctx.choice(d.args[1], kLevels, "log level")) dr.global.log_level = static_cast<LogLevel>(*l);
}

void access_log(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 2, "access-log off|stderr|PATH [common|json]")) return;
  if (d.args[0].text == "off") {
    if (d.args.size() == 2) {
      ctx.error(d.args[1].loc, "unexpected extra argument '" + d.args[1].text + "' after 'access-log off'");
      return;
    }
    dr.global.access_log_format = AccessLogFormat::off;
    return;
  }
  if (d.args[0].text.empty()) {
    ctx.error(d.args[0].loc, "empty access log target");
    return;
  }
  dr.global.access_log_target = d.args[0].text;
  dr.global.access_log_loc = ctx.source_loc(d.args[0].loc);
  dr.global.access_log_format = AccessLogFormat::common;
  if (d.args.size() == 2)
    if (auto f = ctx.choice(d.args[1], {"common", "json"}, "access log format"))
      dr.global.access_log_format = *f == 0 ? AccessLogFormat::common : AccessLogFormat::json;
}

void history_sample_interval(Ctx& ctx, const Directive& d, Draft& dr) {
  if (!ctx.arity(d, 1, 1, "history-sample-interval DURATION")) return;
  auto v = ctx.duration(d.args[0]);
  if (!v) return;
  if (*v < std::chrono::seconds(1)) {
    ctx.error(d.args[0].loc, "history-sample-interval must be at least 1s");
    return;
  }
  dr.global.history_sample_interval = *v;
}

void history_retention(Ctx& ctx, const Directive& d, Draft& dr) {
  const std::string syntax = "history-retention MINUTES HOURS|off";
  if (!d.args.empty() && d.args[0].text == "off") {
    if (d.args.size() > 1) {
      ctx.error(d.args[1].loc, "unexpected extra argument '" + d.args[1].text + "' after 'history-retention off'");
      return;
    }
    dr.global.history_enabled = false;
    return;
  }
  if (!ctx.arity(d, 2, 2, syntax)) return;
  auto minutes = ctx.duration(d.args[0]);
  auto hours = ctx.duration(d.args[1]);
  if (!minutes || !hours) return;
  // Minute rows are rolled into hour rows once their hour is over: keep them at least that long.
  if (*minutes < std::chrono::hours(1)) {
    ctx.error(d.args[0].loc, "history-retention: minute rows must be kept at least 1h");
    return;
  }
  if (*hours < std::chrono::hours(1)) {
    ctx.error(d.args[1].loc, "history-retention: hour rows must be kept at least 1h");
    return;
  }
  dr.global.history_enabled = true;
  dr.global.history_minute_retention = *minutes;
  dr.global.history_hour_retention = *hours;
}

}  // namespace

void register_section_global(Registry& r) {
  SectionSpec s;
  s.kind = "global";
  s.begin = [](Ctx& ctx, const Section& sec, const Arg&, Draft& draft) {
    if (draft.global_loc) {
      ctx.error(sec.kind.loc, "duplicate 'global' section (only one is allowed)");
      ctx.note(*draft.global_loc, "first defined here");
      return;
    }
    draft.global_loc = sec.kind.loc;
  };
  s.directives = {
      {"node", [](Ctx& ctx, const Directive& d, Draft& dr) {
         name_arg(ctx, d, "node NAME", dr.global.node);
         dr.node_set = true;
       }},
      {"region", [](Ctx& ctx, const Directive& d, Draft& dr) { name_arg(ctx, d, "region NAME", dr.global.region); }},
      {"workers", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "workers N|auto")) return;
         if (d.args[0].text == "auto") dr.global.workers = 0;
         else if (auto v = ctx.integer(d.args[0], 1, 256)) dr.global.workers = static_cast<int>(*v);
       }},
      {"state-dir", [](Ctx& ctx, const Directive& d, Draft& dr) { name_arg(ctx, d, "state-dir PATH", dr.global.state_dir); }},
      {"admin", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "admin ADDR|off")) return;
         if (d.args[0].text == "off") dr.global.admin.reset();
         else if (auto a = ctx.address(d.args[0])) dr.global.admin = *a;
         dr.admin_arg = d.args[0];
         dr.global.admin_loc = ctx.source_loc(d.args[0].loc);
       }},
      {"admin-host", admin_host, R::many},
      {"admin-tls", admin_tls},
      {"admin-session-timeout", admin_session_timeout},
      {"metrics-public", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "metrics-public on|off")) return;
         if (auto c = ctx.choice(d.args[0], {"on", "off"}, "value")) dr.global.metrics_public = *c == 0;
       }},
      {"admin-user", admin_user, R::many},
      {"log", log_directive},
      {"access-log", access_log},
      {"replay-buffer-budget", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "replay-buffer-budget SIZE")) return;
         if (auto v = ctx.size(d.args[0])) dr.global.replay_buffer_budget = *v;
       }},
      {"maxconn", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "maxconn N")) return;
         if (auto v = ctx.integer(d.args[0], 1, 10'000'000)) dr.global.max_connections = static_cast<uint32_t>(*v);
       }},
      {"request-id-header", [](Ctx& ctx, const Directive& d, Draft& dr) {
         if (!ctx.arity(d, 1, 1, "request-id-header NAME|off")) return;
         const Arg& a = d.args[0];
         if (a.text == "off") {
           dr.global.request_id_header.clear();
           return;
         }
         std::string name;
         bool ok = !a.text.empty() && a.text.size() <= 64;
         for (char c : a.text) {
           ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_');
           name += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
         }
         // Fields Ferry states with other meanings cannot double as the request id.
         static const char* kTaken[] = {"host", "content-length", "transfer-encoding", "connection", "traceparent",
                                        "tracestate", "x-forwarded-for", "x-forwarded-proto", "via"};
         for (const char* t : kTaken) ok = ok && name != t;
         if (!ok || name.rfind("ferry-", 0) == 0) {
           ctx.error(a.loc, "invalid request-id-header '" + a.text +
                                "': a field name of letters, digits, '-' and '_' (at most 64), not one Ferry states "
                                "otherwise; or 'off'");
           return;
         }
         dr.global.request_id_header = name;
       }},
      {"history-sample-interval", history_sample_interval},
      {"history-retention", history_retention},
  };
  s.resolve = {{Pass::names, resolve_global}};
  r.add(std::move(s));
}

}  // namespace ferry::config::detail

// Source layer: see source.h.
#include "source.h"

#include <glob.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace ferry::config::detail {

namespace {

constexpr int kMaxIncludeDepth = 16;
constexpr size_t kMaxFiles = 256;
constexpr size_t kMaxFileSize = 16u << 20;

std::string canonical(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf)) return buf;
  return path;
}

bool has_wildcard(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

struct Reader {
  const SourceOptions& opts;
  SourceSet& src;
  Diags& diags;
  std::vector<Line> out;
  std::vector<std::string> stack;  // canonical paths being read
  int seq = 0;

  void text(std::string_view body, const std::string& name, const std::string& dir) {
    int file = static_cast<int>(src.files.size());
    src.files.push_back(SourceFile{name, {}});
    // Split into lines first so diagnostics can show any line.
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos <= body.size()) {
      size_t nl = body.find('\n', pos);
      if (nl == std::string_view::npos) nl = body.size();
      std::string l(body.substr(pos, nl - pos));
      if (!l.empty() && l.back() == '\r') l.pop_back();
      lines.push_back(std::move(l));
      pos = nl + 1;
    }
    if (!lines.empty() && lines.back().empty()) lines.pop_back();
    src.files[file].lines = lines;
    for (size_t n = 0; n < lines.size(); ++n) {
      Line line;
      line.loc = Loc{seq++, file, static_cast<int>(n) + 1, 1};
      lex_line(lines[n], opts.getenv, line.indent, line.tokens, [&](int col, std::string msg) {
        diags.error(Loc{line.loc.seq, file, line.loc.line, col}, std::move(msg));
      });
      if (line.tokens.empty()) continue;
      for (auto& t : line.tokens) {
        t.loc.seq = line.loc.seq;
        t.loc.file = file;
        t.loc.line = line.loc.line;
      }
      if (line.indent == 0 && line.tokens[0].text == "include" && !line.tokens[0].quoted) {
        include(line, dir);
        continue;
      }
      out.push_back(std::move(line));
    }
  }

  void include(const Line& line, const std::string& dir) {
    const Arg& kw = line.tokens[0];
    if (line.tokens.size() < 2) {
      Loc l = kw.loc;
      l.col = kw.end_col;
      diags.error(l, "missing path: expected 'include PATH'");
      return;
    }
    if (line.tokens.size() > 2) {
      diags.error(line.tokens[2].loc, "unexpected extra argument '" + line.tokens[2].text +
                                          "': expected 'include PATH'");
      return;
    }
    const Arg& arg = line.tokens[1];
    if (arg.bad) return;
    if (!opts.allow_includes) {
      diags.error(arg.loc, "include is disabled here");
      return;
    }
    if (arg.text.empty()) {
      diags.error(arg.loc, "empty include path");
      return;
    }
    if (static_cast<int>(stack.size()) >= kMaxIncludeDepth) {
      diags.error(arg.loc, "includes nested too deeply (more than " + std::to_string(kMaxIncludeDepth) + " levels)");
      return;
    }
    std::string pattern = arg.text[0] == '/' || dir.empty() ? arg.text : dir + "/" + arg.text;
    std::vector<std::string> paths;
    bool wild = has_wildcard(arg.text);
    if (wild) {
      glob_t g{};
      int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
      if (rc == 0)
        for (size_t k = 0; k < g.gl_pathc; ++k) paths.emplace_back(g.gl_pathv[k]);
      ::globfree(&g);
      // Directories matched by a pattern are skipped.
      std::vector<std::string> files;
      for (auto& p : paths) {
        struct stat st {};
        if (::stat(p.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) files.push_back(p);
      }
      paths = std::move(files);
      if (paths.empty()) {
        diags.warning(arg.loc, "include pattern '" + arg.text + "' matched no files");
        return;
      }
    } else {
      paths.push_back(pattern);
    }
    for (const auto& p : paths) {
      if (src.files.size() >= kMaxFiles) {
        diags.error(arg.loc, "too many included files (more than " + std::to_string(kMaxFiles) + ")");
        return;
      }
      std::string canon = canonical(p);
      bool cycle = false;
      for (const auto& s : stack) cycle = cycle || s == canon;
      if (cycle) {
        diags.error(arg.loc, "include cycle: '" + p + "' is already being read");
        continue;
      }
      std::string body, why;
      if (!read_text_file(p, body, why)) {
        diags.error(arg.loc, "cannot include '" + p + "': " + why);
        continue;
      }
      stack.push_back(canon);
      text(body, p, dir_of(p));
      stack.pop_back();
    }
  }
};

}  // namespace

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool read_text_file(const std::string& path, std::string& out, std::string& why) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    why = std::strerror(errno);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    why = "is a directory";
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    why = "not a regular file";
    return false;
  }
  if (static_cast<size_t>(st.st_size) > kMaxFileSize) {
    why = "file is larger than 16 MiB";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = std::strerror(errno);
    return false;
  }
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (out.size() > kMaxFileSize) {
    why = "file is larger than 16 MiB";
    return false;
  }
  return true;
}

std::vector<Line> read_sources(std::string_view main_text, const std::string& main_name,
                               const std::string& base_dir, const std::string& main_path,
                               const SourceOptions& opts, SourceSet& src, Diags& diags) {
  Reader r{opts, src, diags, {}, {}, 0};
  if (!main_path.empty()) r.stack.push_back(main_path);
  r.text(main_text, main_name, base_dir);
  return std::move(r.out);
}

}  // namespace ferry::config::detail

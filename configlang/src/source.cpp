// Source layer: see source.h.
#include "source.h"

#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
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

std::string mib(size_t bytes) {
  return bytes % (1u << 20) == 0 ? std::to_string(bytes >> 20) + " MiB" : std::to_string(bytes) + " bytes";
}

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
  const std::function<void(Line&&)>& on_line;
  std::vector<std::string> stack;  // canonical paths being read
  size_t total = 0;                // bytes of text read so far (main + includes)
  int seq = 0;

  void text(std::string body, const std::string& name, const std::string& dir) {
    int file = static_cast<int>(src.files.size());
    src.files.push_back(SourceFile{name, std::move(body), {}});
    SourceFile& sf = src.files.back();  // a deque element: stays put while includes are added
    const std::string& t = sf.text;
    // Line starts first, so diagnostics can show any line of the file.
    for (size_t pos = 0; pos < t.size();) {
      sf.line_starts.push_back(static_cast<uint32_t>(pos));
      size_t nl = t.find('\n', pos);
      pos = nl == std::string::npos ? t.size() : nl + 1;
    }
    std::vector<std::string> names;  // untrusted: the placeholders of each token
    for (size_t n = 1; n <= sf.line_count(); ++n) {
      Line line;
      line.loc = Loc{seq++, file, static_cast<int>(n), 1};
      lex_line(sf.line(n), opts.getenv, line.indent, line.tokens, [&](int col, std::string msg) {
        diags.error(Loc{line.loc.seq, file, line.loc.line, col}, std::move(msg));
      }, opts.placeholders ? &names : nullptr);
      if (line.tokens.empty()) continue;
      for (size_t k = 0; k < line.tokens.size(); ++k) {
        Arg& tok = line.tokens[k];
        tok.loc.seq = line.loc.seq;
        tok.loc.file = file;
        tok.loc.line = line.loc.line;
        if (opts.placeholders && !names[k].empty())
          src.placeholders.push_back(PlaceholderSpan{tok.loc.seq, tok.loc.col, tok.end_col, std::move(names[k])});
      }
      if (line.indent == 0 && line.tokens[0].text == "include" && !line.tokens[0].quoted) {
        include(line, dir);
        continue;
      }
      on_line(std::move(line));
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
    const FileAccess* access = opts.access;
    std::vector<std::string> paths;
    bool wild = has_wildcard(arg.text);
    if (wild) {
      if (access && !access->allows_pattern(pattern)) {
        diags.refuse(arg.loc, FileAccess::refusal(arg.text));
        return;
      }
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
      // Untrusted: a match leading out (through a symlink) refuses the whole pattern, naming
      // only the pattern as written.
      for (const auto& p : paths)
        if (access && !access->allows(p)) {
          diags.refuse(arg.loc, FileAccess::refusal(arg.text));
          return;
        }
      if (paths.empty()) {
        diags.warning(arg.loc, "include pattern '" + arg.text + "' matched no files");
        return;
      }
    } else {
      if (access && !access->allows(pattern)) {
        diags.refuse(arg.loc, FileAccess::refusal(arg.text));
        return;
      }
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
      size_t left = opts.max_total_bytes > total ? opts.max_total_bytes - total : 0;
      bool too_big = false;
      if (!read_text_file(p, body, why, std::min(kMaxFileSize, left), &too_big)) {
        if (too_big && left < kMaxFileSize)
          diags.error(arg.loc, "cannot include '" + p + "': the configuration text would exceed " +
                                   mib(opts.max_total_bytes) + " in total (the main text and every included file)");
        else
          diags.error(arg.loc, "cannot include '" + p + "': " + why);
        if (too_big) return;
        continue;
      }
      total += body.size();
      stack.push_back(canon);
      text(std::move(body), p, dir_of(p));
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

bool read_text_file(const std::string& path, std::string& out, std::string& why, size_t limit, bool* too_big) {
  auto big = [&] {
    why = "file is larger than " + mib(limit);
    if (too_big) *too_big = true;
    return false;
  };
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
  if (static_cast<size_t>(st.st_size) > limit) return big();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = std::strerror(errno);
    return false;
  }
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (out.size() > limit) return big();
  return true;
}

void read_sources(std::string_view main_text, const std::string& main_name, const std::string& base_dir,
                  const std::string& main_path, const SourceOptions& opts, SourceSet& src, Diags& diags,
                  const std::function<void(Line&&)>& on_line) {
  Reader r{opts, src, diags, on_line, {}, main_text.size(), 0};
  if (!main_path.empty()) r.stack.push_back(main_path);
  if (main_text.size() > opts.max_total_bytes) {
    diags.error_nopos(main_name, "the configuration is larger than " + mib(opts.max_total_bytes));
    return;
  }
  r.text(std::string(main_text), main_name, base_dir);
}

}  // namespace ferry::config::detail

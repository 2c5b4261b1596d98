// Lexer: see lexer.h for the rules.
#include "lexer.h"

namespace ferry::config::detail {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

struct Lexer {
  std::string_view s;
  const GetEnv& getenv;
  const LexError& err;
  std::vector<std::string>* placeholders = nullptr;
  size_t i = 0;

  // At s[i] == '$' and s[i+1] == '{': expands into `out`; advances i.
  void expand(std::string& out, Arg& tok) {
    size_t start = i;
    size_t close = s.find('}', i + 2);
    if (close == std::string_view::npos) {
      err(static_cast<int>(start) + 1, "unterminated '${': expected '${NAME}'");
      tok.bad = true;
      i = s.size();
      return;
    }
    std::string_view name = s.substr(i + 2, close - i - 2);
    i = close + 1;
    bool valid = !name.empty() && is_name_start(name[0]);
    for (char c : name) valid = valid && is_name_char(c);
    if (!valid) {
      err(static_cast<int>(start) + 1, "invalid environment variable name '" + std::string(name) +
                                           "' (letters, digits and '_')");
      tok.bad = true;
      return;
    }
    if (placeholders) {
      std::string ph = "${" + std::string(name) + "}";
      out += ph;
      std::string& names = placeholders->back();  // this token's entry (see token())
      if (names.find(ph) == std::string::npos) names += (names.empty() ? "" : " ") + ph;
      return;
    }
    const char* v = getenv ? getenv(std::string(name).c_str()) : nullptr;
    if (!v) {
      err(static_cast<int>(start) + 1, "environment variable '" + std::string(name) + "' is not defined");
      tok.bad = true;
      return;
    }
    out += v;
  }

  bool at_var() const { return s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{'; }

  void token(std::vector<Arg>& tokens) {
    if (placeholders) placeholders->emplace_back();
    Arg tok;
    tok.loc.col = static_cast<int>(i) + 1;
    std::string text;
    while (i < s.size() && !is_blank(s[i])) {
      char c = s[i];
      if (c == '#') break;
      if (c == '"') {
        tok.quoted = true;
        size_t open = i++;
        bool closed = false;
        while (i < s.size()) {
          if (s[i] == '"') { ++i; closed = true; break; }
          if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\')) {
            text += s[i + 1];
            i += 2;
          } else if (at_var()) {
            expand(text, tok);
          } else {
            text += s[i++];
          }
        }
        if (!closed) {
          err(static_cast<int>(open) + 1, "unterminated double quote");
          tok.bad = true;
        }
      } else if (c == '\'') {
        tok.quoted = true;
        size_t open = i++;
        size_t close = s.find('\'', i);
        if (close == std::string_view::npos) {
          err(static_cast<int>(open) + 1, "unterminated single quote");
          tok.bad = true;
          text += s.substr(i);
          i = s.size();
        } else {
          text += s.substr(i, close - i);
          i = close + 1;
        }
      } else if (at_var()) {
        expand(text, tok);
      } else {
        text += c;
        ++i;
      }
    }
    tok.text = std::move(text);
    tok.end_col = static_cast<int>(i) + 1;
    tokens.push_back(std::move(tok));
  }
};

}  // namespace

void lex_line(std::string_view text, const GetEnv& getenv, int& indent, std::vector<Arg>& tokens,
              const LexError& err, std::vector<std::string>* placeholders) {
  if (placeholders) placeholders->clear();
  Lexer lx{text, getenv, err, placeholders};
  while (lx.i < text.size() && is_blank(text[lx.i])) ++lx.i;
  indent = static_cast<int>(lx.i);
  while (lx.i < text.size()) {
    if (is_blank(text[lx.i])) { ++lx.i; continue; }
    if (text[lx.i] == '#') break;
    lx.token(tokens);
  }
}

}  // namespace ferry::config::detail

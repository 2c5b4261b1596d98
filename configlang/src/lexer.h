// Lexer: one physical line -> tokens with columns. Rules: blanks separate tokens; an unquoted
// '#' starts a comment; "double quotes" allow \" and \\ escapes and ${VAR}; 'single quotes'
// are literal; ${VAR} also expands in unquoted text (an undefined variable is an error at the
// '$'). Quoted and unquoted parts next to each other form one token. Pure; never throws.
// With `placeholders` (untrusted text) ${VAR} is never looked up: it stays in the token as
// written, and (*placeholders)[i] lists the ones token i holds ("${A} ${B}"; "" for none).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ast.h"

namespace ferry::config::detail {

using GetEnv = std::function<const char*(const char*)>;
using LexError = std::function<void(int col, std::string msg)>;

// Fills `indent` and `tokens` (each token's loc.col/end_col set; loc.seq/file/line left to
// the caller). Errors go to `err`; the token they occur in is marked `bad` and lexing goes on.
void lex_line(std::string_view text, const GetEnv& getenv, int& indent, std::vector<Arg>& tokens,
              const LexError& err, std::vector<std::string>* placeholders = nullptr);

}  // namespace ferry::config::detail

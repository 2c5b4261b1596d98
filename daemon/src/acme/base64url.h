// base64url without padding (RFC 4648 §5), as JOSE/ACME use it (RFC 7515 §2).
// Pure functions, any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ferry::acme {

std::string base64url_encode(std::string_view bytes);
// nullopt for characters outside the alphabet, padding, or an impossible length (4n+1).
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace ferry::acme

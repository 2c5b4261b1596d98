// Asio conventions of the data plane: completion tokens that never throw (the data plane
// reports errors as std::error_code, DESIGN.md), and common aliases.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace ferry::proxy {

using tcp = asio::ip::tcp;
template <typename T>
using awaitable = asio::awaitable<T>;

// `co_await op(..., use_nothrow)` yields std::tuple<std::error_code, ...> instead of throwing.
inline constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace ferry::proxy

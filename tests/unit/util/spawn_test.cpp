// util/spawn: the child's argv, environment, PATH lookup and exit descriptions.
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include "ferry/util/spawn.h"

using ferry::util::describe_exit;
using ferry::util::spawn;
using ferry::util::SpawnOptions;

namespace {
int run(const SpawnOptions& o, int& status) {
  pid_t pid = -1;
  const int rc = spawn(o, pid);
  if (rc == 0) ::waitpid(pid, &status, 0);
  return rc;
}
}  // namespace

TEST_CASE("spawn runs a program with the given environment", "[util][spawn]") {
  int status = 0;
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "[ \"$FERRY_APP\" = web ] && [ -z \"$HOME\" ] && exit 3"};
  o.env = {"FERRY_APP=web"};
  REQUIRE(run(o, status) == 0);
  CHECK(describe_exit(status) == "exited with status 3");

  SpawnOptions bare;
  bare.argv = {"true"};
  bare.env = {"PATH=/usr/bin:/bin"};
  CHECK(run(bare, status) == ENOENT);  // not looked up on PATH unless asked
  bare.search_path = true;
  REQUIRE(run(bare, status) == 0);
  CHECK(describe_exit(status) == "exited with status 0");

  SpawnOptions none;
  CHECK(run(none, status) == EINVAL);
  SpawnOptions killed;
  killed.argv = {"/bin/sh", "-c", "kill -9 $$"};
  REQUIRE(run(killed, status) == 0);
  CHECK(describe_exit(status) == "killed by signal Killed");
}

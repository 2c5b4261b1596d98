// `ferryctl instances [APP]` and `ferryctl instance add|update|remove|start|stop`: the live
// instance catalog through the admin API's /api/v1/instances routes (docs/API.md, "Instances
// (live catalog)"). The command line is parsed by instance_spec.h before anything is sent.
// Owned by ferryctl (ctl/); the routes are the daemon's (daemon/src/api/instances.cpp).
#pragma once

#include <string>

#include "client.h"
#include "instance_spec.h"

namespace ferryctl {

// Lists the instances (of `app` when not empty) and the catalog's peers; the API's JSON with
// `json`. Returns the exit code; throws ApiError / ConnectError like every command.
int cmd_instances(Client& c, const std::string& app, bool json);

// Runs a parsed `instance` command. `update` reads the record this node hosts first (an
// ApiError when there is none), applies the changes and writes it back.
int cmd_instance(Client& c, const InstanceCommand& cmd, bool json);

}  // namespace ferryctl

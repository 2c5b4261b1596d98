// The mesh manager: the WireGuard interface of the `mesh` section and the `anycast` addresses.
//
// What it does: on start and on every reload it makes the system match the configuration:
// - mesh: ensures the interface (kernel driver: creates a link of kind wireguard; userspace:
//   starts and supervises the `userspace` program, or, without one, expects another's UAPI
//   socket), reads the private key file (refused when group/others may access it), sets the
//   private key and listen port, reconciles the peers (unchanged peers are left alone, so their
//   sessions and handshakes survive a reload; peers dropped from the config are removed), adds
//   the mesh address, brings the link up and adds a route per peer allowed-ips prefix that the
//   mesh address's prefix does not cover. A changed interface/driver/program tears the old one
//   down first. A restarted userspace program gets everything applied again.
// - anycast: adds each address to its interface (default lo, brought up if down), and removes
//   the ones dropped from the config, but only those Ferry added: an address that was already
//   there is left alone (the record of what Ferry added is kept in memory).
// Failures (EPERM, a missing interface, a bad key file) are logged as warnings naming the
// interface or address, and retried every 30 s; they never stop ferryd.
// Every 2 s the thread reads the device (handshakes, transfer counters) into the status
// snapshot that status() / the admin API (`GET /api/v1/mesh`) return.
// On stop: removes the anycast addresses Ferry added, stops the userspace program (which removes
// its interface), deletes a kernel link Ferry created.
//
// Ownership: the Daemon owns one MeshManager; it owns its thread (a Follower of the
// configuration, lifecycle/follower.h), the netlink sockets and the supervised program.
// Threads: apply() and stop() on the main thread; the rest on the manager's thread; status()
// and status_cell() from any thread. apply() waits (bounded) until the manager's thread has
// applied the configuration, so at start-up and at every reload the addresses are in place
// before the engine binds listeners on them, and `ready` is logged with the mesh in place.
#pragma once

#include <chrono>
#include <memory>

#include "ferry/configlang/config.h"
#include "lifecycle/follower.h"
#include "mesh/plan.h"

namespace ferry::daemon {

class MeshManager {
 public:
  MeshManager();
  ~MeshManager();  // stop()s
  MeshManager(const MeshManager&) = delete;
  MeshManager& operator=(const MeshManager&) = delete;

  // Makes the system match `cfg` (start-up, a reload, or putting back the configuration in
  // force after a reload failed): starts the manager's thread on the first call, hands it
  // `cfg` and waits until it applied it, at most `bound`. An apply that fails (EPERM, a bad key
  // file) is logged and retried by the thread as always; it still counts as applied. False
  // when the bound passed first (the thread goes on applying; the caller logs it).
  bool apply(std::shared_ptr<const config::Config> cfg, std::chrono::milliseconds bound);
  // Joins the thread, then removes what Ferry added (anycast addresses, the interface).
  // Idempotent.
  void stop();

  mesh::MeshStatus status() const { return cell_->get(); }
  // For handlers that may outlive the manager (admin server threads).
  std::shared_ptr<const mesh::MeshStatusCell> status_cell() const { return cell_; }

  struct State;  // the thread's own (mesh_manager.cpp)

 private:
  using Snapshot = std::shared_ptr<const config::Config>;
  // The follower's step: a new configuration is applied at once; every tick (2 s) checks the
  // supervised program, retries a failed apply when due and refreshes the status.
  std::chrono::milliseconds step(const Snapshot& cfg, bool fresh);

  std::unique_ptr<State> state_;
  std::shared_ptr<mesh::MeshStatusCell> cell_;
  bool torn_down_ = false;
  Follower<Snapshot> follower_;  // last: its thread uses state_ and cell_
};

}  // namespace ferry::daemon

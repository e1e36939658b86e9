// SPDX-License-Identifier: MIT
// The one adapter between the trainer and libtorch's c10d: rendezvous on a TCPStore,
// a Gloo (CPU) or NCCL (CUDA builds) process group, and the few collectives the
// trainer uses. Nothing else includes c10d headers. With world size 1 every
// collective is a no-op, so the single-process trainer runs the same code.
//
// Every collective either completes or throws DistError (naming the operation and
// this rank) within the process-group timeout: a dead rank never makes the others
// hang. After an error the process group is abandoned, not destroyed, because
// tearing down Gloo with a lost peer can block.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common.h"

namespace repvk::train {

struct DistError : TrainError {
  using TrainError::TrainError;
};

struct DistOptions {
  int rank = 0, world = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string backend = "gloo";   // gloo | nccl
  std::string gloo_ifname;        // network interface for Gloo (GLOO_SOCKET_IFNAME); empty: by address
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  bool sync_bn = false;
};

// Fills rank/world/master from RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT
// and GLOO_SOCKET_IFNAME where the corresponding flag was not given (`flags_given`
// lists the flags the user set), then checks them. The only place the trainer reads
// these variables.
struct DistFlags {
  int rank = -1, world = -1;
  std::string master;  // ADDR:PORT
  std::string backend, gloo_ifname;
  double timeout_s = 300;
  bool sync_bn = false;
};
DistOptions resolve_dist_options(const DistFlags& f);

// Intra-op threads for one worker: `requested` if > 0, else the cores divided among
// the LOCAL_WORLD_SIZE workers on this machine (1 when unset).
int worker_threads(int requested);

class Comm {
 public:
  // World size 1: a local stand-in, no sockets. Otherwise rendezvous (checking that
  // every rank agrees on the world size) and build the process group.
  static std::unique_ptr<Comm> connect(const DistOptions& o);
  ~Comm();
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  int rank() const { return o_.rank; }
  int world() const { return o_.world; }
  bool distributed() const { return o_.world > 1; }
  const DistOptions& options() const { return o_; }
  std::string describe() const;

  // In place. One collective per call; `what` names it in errors.
  void allreduce_sum(torch::Tensor& t, const char* what);
  void broadcast(torch::Tensor& t, int root, const char* what);
  void barrier(const char* what);
  // Broadcasts an int decided by rank 0 (e.g. "does the checkpoint exist").
  int64_t broadcast_int(int64_t v, const char* what);
  // Throws DistError unless every tensor equals rank 0's copy on every rank.
  void check_identical(const std::vector<torch::Tensor>& ts, const std::string& what);

  struct Impl;  // the c10d objects; defined in comm.cpp only

 private:
  explicit Comm(DistOptions o);
  DistOptions o_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace repvk::train

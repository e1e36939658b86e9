// SPDX-License-Identifier: MIT
// `--nproc N`: runs this very command as N local worker processes (ranks 0..N-1),
// the way torchrun does on one machine. The workers get RANK, LOCAL_RANK,
// WORLD_SIZE, MASTER_ADDR=127.0.0.1 and MASTER_PORT (a free port unless --master
// names one) in their environment; every line they print is prefixed "[rank i] ".
// Ctrl-C (SIGINT) and SIGTERM are forwarded to every worker (they checkpoint and
// stop together). When a worker fails, the others normally fail their next
// collective at once; any still running after `grace` are killed.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace repvk::train {

struct LaunchOptions {
  int nproc = 1;
  std::string master;  // ADDR:PORT given on the command line; empty: 127.0.0.1 and a free port
  std::chrono::milliseconds grace{std::chrono::seconds(30)};
};

// `args` is the full command line (args[0] the program) without --nproc. Returns the
// exit status: 0 when every worker succeeded, else the first failure's status.
int launch_local_workers(const std::vector<std::string>& args, const LaunchOptions& o);

// A TCP port on 127.0.0.1 that was free a moment ago.
int pick_free_port();

}  // namespace repvk::train

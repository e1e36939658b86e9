// SPDX-License-Identifier: MIT
#include "dist/comm.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef REPVK_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace repvk::train {
namespace {

std::string message(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

int parse_int(const std::string& s, const std::string& what) {
  try {
    size_t used = 0;
    const int v = std::stoi(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  throw DistError(what + ": '" + s + "' is not an integer");
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

}  // namespace

DistOptions resolve_dist_options(const DistFlags& f) {
  DistOptions o;
  o.world = f.world >= 0 ? f.world : env("WORLD_SIZE").empty() ? 1 : parse_int(env("WORLD_SIZE"), "WORLD_SIZE");
  o.rank = f.rank >= 0 ? f.rank : env("RANK").empty() ? 0 : parse_int(env("RANK"), "RANK");
  o.local_rank = env("LOCAL_RANK").empty() ? o.rank : parse_int(env("LOCAL_RANK"), "LOCAL_RANK");
  if (o.world < 1) throw DistError("world size " + std::to_string(o.world) + " (--world-size/WORLD_SIZE) must be >= 1");
  if (o.rank < 0 || o.rank >= o.world)
    throw DistError("rank " + std::to_string(o.rank) + " (--rank/RANK) must be in [0, " +
                    std::to_string(o.world) + ") for world size " + std::to_string(o.world));
  if (!f.master.empty()) {
    const size_t colon = f.master.rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw DistError("--master must be ADDR:PORT, got '" + f.master + "'");
    o.master_addr = f.master.substr(0, colon);
    o.master_port = parse_int(f.master.substr(colon + 1), "--master port");
  } else {
    if (!env("MASTER_ADDR").empty()) o.master_addr = env("MASTER_ADDR");
    if (!env("MASTER_PORT").empty()) o.master_port = parse_int(env("MASTER_PORT"), "MASTER_PORT");
  }
  if (o.master_port < 1 || o.master_port > 65535)
    throw DistError("master port " + std::to_string(o.master_port) + " must be in 1..65535");
  o.gloo_ifname = !f.gloo_ifname.empty() ? f.gloo_ifname : env("GLOO_SOCKET_IFNAME");
  if (!f.backend.empty()) o.backend = f.backend;
  if (o.backend != "gloo" && o.backend != "nccl")
    throw DistError("--backend must be gloo or nccl, got '" + o.backend + "'");
  if (!(f.timeout_s > 0)) throw DistError("--timeout must be > 0 seconds");
  o.timeout = std::chrono::milliseconds(int64_t(f.timeout_s * 1000));
  o.sync_bn = f.sync_bn;
  return o;
}

int worker_threads(int requested) {
  if (requested > 0) return requested;
  const int local = env("LOCAL_WORLD_SIZE").empty() ? 1 : std::max(1, parse_int(env("LOCAL_WORLD_SIZE"), "LOCAL_WORLD_SIZE"));
  return std::max(1, int(std::thread::hardware_concurrency()) / local);
}

struct Comm::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  bool broken = false;
};

Comm::Comm(DistOptions o) : o_(std::move(o)) {}

Comm::~Comm() {
  // A process group whose peer died may block in its destructor (Gloo joins its
  // threads); the process is about to exit with an error, so let it go.
  if (impl_ && impl_->broken) {
    (void)impl_->pg.release();
    (void)impl_->store.release();
  }
}

std::string Comm::describe() const {
  if (!distributed()) return "single process";
  return "rank " + std::to_string(o_.rank) + " of " + std::to_string(o_.world) + ", " + o_.backend +
         ", master " + o_.master_addr + ":" + std::to_string(o_.master_port) +
         (o_.gloo_ifname.empty() ? "" : ", interface " + o_.gloo_ifname) + ", timeout " +
         std::to_string(o_.timeout.count() / 1000) + " s" + (o_.sync_bn ? ", sync-bn" : "");
}

std::unique_ptr<Comm> Comm::connect(const DistOptions& o) {
  std::unique_ptr<Comm> c(new Comm(o));
  if (o.world == 1) return c;
  c->impl_ = std::make_unique<Impl>();
  Impl& im = *c->impl_;
  const std::string where = o.master_addr + ":" + std::to_string(o.master_port);
  const std::string me = "rank " + std::to_string(o.rank);
  const double secs = double(o.timeout.count()) / 1000;

  // Rendezvous. Rank 0 hosts the store; nobody waits inside the constructor, so the
  // world-size check below can say what went wrong instead of timing out silently.
  c10d::TCPStoreOptions so;
  so.port = uint16_t(o.master_port);
  so.isServer = o.rank == 0;
  so.numWorkers = c10::nullopt;
  so.waitWorkers = false;
  so.timeout = o.timeout;
  try {
    im.store = c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
  } catch (const std::exception& e) {
    if (o.rank == 0)
      throw DistError("rank 0 cannot host the rendezvous store on " + where +
                      " (port in use? pick another with --master ADDR:PORT or MASTER_PORT): " + message(e));
    throw DistError(me + " cannot reach the master at " + where + " within " + std::to_string(secs) +
                    " s (is rank 0 running? MASTER_ADDR/MASTER_PORT right?): " + message(e));
  }
  const std::string ws = std::to_string(o.world);
  try {
    if (im.store->add("repvk/joined/" + std::to_string(o.rank), 1) > 1)
      throw DistError(me + ": another process already joined as rank " + std::to_string(o.rank) +
                      " (each process needs its own RANK)");
    if (o.rank == 0) {
      im.store->set("repvk/world/0", bytes(ws));
      std::string verdict = "ok";
      std::vector<int> missing;
      for (int r = 1; r < o.world; ++r) {
        const std::string key = "repvk/world/" + std::to_string(r);
        try {
          im.store->wait({key}, missing.empty() ? o.timeout : std::chrono::milliseconds(1));
        } catch (const std::exception&) {
          missing.push_back(r);
          continue;
        }
        const std::string theirs = text(im.store->get(key));
        if (theirs != ws && verdict == "ok")
          verdict = "rank " + std::to_string(r) + " was started with world size " + theirs +
                    " but rank 0 with " + ws + " (WORLD_SIZE/--world-size must agree)";
      }
      if (!missing.empty()) {
        std::string m;
        for (int r : missing) m += (m.empty() ? "" : ",") + std::to_string(r);
        verdict = "only " + std::to_string(o.world - int(missing.size())) + " of " + ws +
                  " ranks joined " + where + " within " + std::to_string(secs) + " s (missing rank(s) " + m +
                  "); check WORLD_SIZE and that every process was started";
      }
      im.store->set("repvk/verdict", bytes(verdict));
      if (verdict != "ok") throw DistError("rendezvous failed: " + verdict);
    } else {
      // Check against rank 0 before publishing: rank 0 gives up as soon as it sees a
      // mismatch, and this rank should still be able to say why.
      im.store->wait({"repvk/world/0"}, o.timeout);
      const std::string theirs = text(im.store->get("repvk/world/0"));
      im.store->set("repvk/world/" + std::to_string(o.rank), bytes(ws));
      if (theirs != ws)
        throw DistError(me + " was started with world size " + ws + " but rank 0 with " + theirs +
                        " (WORLD_SIZE/--world-size must agree)");
      im.store->wait({"repvk/verdict"}, o.timeout);
      const std::string verdict = text(im.store->get("repvk/verdict"));
      if (verdict != "ok") throw DistError("rendezvous failed (decided by rank 0): " + verdict);
    }
  } catch (const DistError&) {
    throw;
  } catch (const std::exception& e) {
    throw DistError(me + ": rendezvous on " + where + " failed within " + std::to_string(secs) +
                    " s: " + message(e));
  }

  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("repvk/pg", im.store);
  try {
    if (o.backend == "nccl") {
#ifdef REPVK_HAVE_NCCL
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = o.timeout;
      im.pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, o.rank, o.world, opts);
#else
      throw DistError("--backend nccl: this repvk-train was built against a libtorch without CUDA "
                      "(NCCL); rebuild with -DTorch_DIR=<a CUDA libtorch> or use --backend gloo");
#endif
    } else {
      auto opts = c10d::ProcessGroupGloo::Options::create(o.timeout);
      if (!o.gloo_ifname.empty()) {
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(o.gloo_ifname));
      } else if (is_loopback(o.master_addr)) {
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        // Gloo's default device resolves this host's name and silently falls back to
        // loopback, which only works on one machine: ask for the interface instead.
        throw DistError("master " + o.master_addr +
                        " is not a loopback address: name the network interface the ranks "
                        "talk over with --gloo-ifname or GLOO_SOCKET_IFNAME (e.g. eth0)");
      }
      im.pg = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, o.rank, o.world, opts);
    }
  } catch (const DistError&) {
    throw;
  } catch (const std::exception& e) {
    throw DistError(me + ": cannot connect the " + o.backend + " process group via " + where + ": " +
                    message(e));
  }
  return c;
}

namespace {
template <class F>
void run_collective(Comm::Impl& im, int rank, const char* what, F&& f) {
  try {
    auto work = f(*im.pg);
    work->wait();
  } catch (const std::exception& e) {
    im.broken = true;
    throw DistError("rank " + std::to_string(rank) + ": collective '" + what +
                    "' failed (another rank died or timed out?): " + message(e));
  }
}
}  // namespace

void Comm::allreduce_sum(torch::Tensor& t, const char* what) {
  if (!distributed()) return;
  std::vector<at::Tensor> v{t};
  run_collective(*impl_, rank(), what, [&](c10d::ProcessGroup& pg) { return pg.allreduce(v); });
}

void Comm::broadcast(torch::Tensor& t, int root, const char* what) {
  if (!distributed()) return;
  std::vector<at::Tensor> v{t};
  c10d::BroadcastOptions bo;
  bo.rootRank = root;
  run_collective(*impl_, rank(), what, [&](c10d::ProcessGroup& pg) { return pg.broadcast(v, bo); });
}

void Comm::barrier(const char* what) {
  if (!distributed()) return;
  run_collective(*impl_, rank(), what, [&](c10d::ProcessGroup& pg) { return pg.barrier(); });
}

int64_t Comm::broadcast_int(int64_t v, const char* what) {
  torch::Tensor t = torch::tensor({v}, torch::kInt64);
  broadcast(t, 0, what);
  return t.item<int64_t>();
}

void Comm::check_identical(const std::vector<torch::Tensor>& ts, const std::string& what) {
  if (!distributed()) return;
  int64_t differs = 0;
  for (const auto& t : ts) {
    torch::Tensor mine = t.detach().contiguous().clone();
    torch::Tensor ref = mine.clone();
    broadcast(ref, 0, "consistency check");
    if (!torch::equal(mine, ref)) ++differs;
  }
  torch::Tensor d = torch::tensor({differs}, torch::kInt64);
  allreduce_sum(d, "consistency check");
  if (d.item<int64_t>() != 0)
    throw DistError(what + ": " + std::to_string(d.item<int64_t>()) +
                    " tensor(s) differ between ranks (rank " + std::to_string(rank()) + " has " +
                    std::to_string(differs) + " off rank 0's)");
}

}  // namespace repvk::train

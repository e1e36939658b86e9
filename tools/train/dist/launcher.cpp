// SPDX-License-Identifier: MIT
#include "dist/launcher.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace repvk::train {
namespace {

std::atomic<int> g_forward{0};
extern "C" void on_forwarded_signal(int sig) { g_forward = sig; }

struct Worker {
  pid_t pid = -1;
  int out = -1, err = -1;  // read ends
  std::string out_buf, err_buf;
  bool running = true;
  int status = 0;  // exit status once done
};

void emit(int rank, std::string& buf, FILE* to, bool flush_all) {
  size_t nl;
  while ((nl = buf.find('\n')) != std::string::npos) {
    std::fprintf(to, "[rank %d] %s\n", rank, buf.substr(0, nl).c_str());
    buf.erase(0, nl + 1);
  }
  if (flush_all && !buf.empty()) {
    std::fprintf(to, "[rank %d] %s\n", rank, buf.c_str());
    buf.clear();
  }
  std::fflush(to);
}

// Reads what is available on `fd` into `buf`; closes it at EOF.
void drain(int& fd, std::string& buf) {
  if (fd < 0) return;
  char tmp[4096];
  const ssize_t n = ::read(fd, tmp, sizeof tmp);
  if (n > 0) {
    buf.append(tmp, size_t(n));
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    ::close(fd);
    fd = -1;
  }
}

}  // namespace

int pick_free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(s);
    throw std::runtime_error(std::string("cannot find a free port on 127.0.0.1: ") + std::strerror(errno));
  }
  ::close(s);
  return ntohs(a.sin_port);
}

int launch_local_workers(const std::vector<std::string>& args, const LaunchOptions& o) {
  std::string addr = "127.0.0.1", port;
  if (o.master.empty()) port = std::to_string(pick_free_port());
  std::fprintf(stderr, "repvk-train: starting %d workers, rendezvous on %s\n", o.nproc,
               o.master.empty() ? (addr + ":" + port).c_str() : o.master.c_str());
  std::vector<Worker> ws(size_t(o.nproc));
  struct sigaction sa {}, old_int{}, old_term{};
  sa.sa_handler = on_forwarded_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);
  for (int r = 0; r < o.nproc; ++r) {
    int po[2], pe[2];
    if (::pipe(po) != 0 || ::pipe(pe) != 0) throw std::runtime_error("pipe failed");
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
    if (pid == 0) {
      // Own process group: a terminal's Ctrl-C reaches the launcher only, which
      // forwards it, so every worker sees exactly one SIGINT.
      ::setpgid(0, 0);
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGTERM, SIG_DFL);
      ::dup2(po[1], 1);
      ::dup2(pe[1], 2);
      ::close(po[0]); ::close(po[1]); ::close(pe[0]); ::close(pe[1]);
      ::setenv("RANK", std::to_string(r).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);
      if (o.master.empty()) {
        ::setenv("MASTER_ADDR", addr.c_str(), 1);
        ::setenv("MASTER_PORT", port.c_str(), 1);
      }
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv("/proc/self/exe", argv.data());
      std::fprintf(stderr, "cannot run %s: %s\n", args[0].c_str(), std::strerror(errno));
      ::_exit(127);
    }
    ::close(po[1]);
    ::close(pe[1]);
    ws[size_t(r)].pid = pid;
    ws[size_t(r)].out = po[0];
    ws[size_t(r)].err = pe[0];
    ::fcntl(po[0], F_SETFL, O_NONBLOCK);
    ::fcntl(pe[0], F_SETFL, O_NONBLOCK);
  }

  int result = 0, failed_rank = -1;
  bool killed = false;
  auto failed_at = std::chrono::steady_clock::now();
  for (;;) {
    std::vector<pollfd> fds;
    for (auto& w : ws) {
      if (w.out >= 0) fds.push_back({w.out, POLLIN, 0});
      if (w.err >= 0) fds.push_back({w.err, POLLIN, 0});
    }
    if (!fds.empty()) ::poll(fds.data(), nfds_t(fds.size()), 200);
    else std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (const int sig = g_forward.exchange(0)) {
      for (auto& w : ws)
        if (w.running) ::kill(w.pid, sig);
    }
    bool any_running = false;
    for (int r = 0; r < o.nproc; ++r) {
      Worker& w = ws[size_t(r)];
      drain(w.out, w.out_buf);
      drain(w.err, w.err_buf);
      emit(r, w.out_buf, stdout, false);
      emit(r, w.err_buf, stderr, false);
      if (w.running) {
        int st = 0;
        if (::waitpid(w.pid, &st, WNOHANG) == w.pid) {
          w.running = false;
          w.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
          if (WIFSIGNALED(st))
            std::fprintf(stderr, "repvk-train: rank %d (pid %d) was killed by signal %d\n", r, int(w.pid),
                         WTERMSIG(st));
          if (w.status != 0 && result == 0) {
            result = w.status;
            failed_rank = r;
            failed_at = std::chrono::steady_clock::now();
            std::fprintf(stderr, "repvk-train: rank %d failed (status %d); the other ranks will stop\n", r,
                         w.status);
          }
        }
      }
      any_running = any_running || w.running || w.out >= 0 || w.err >= 0;
    }
    if (!any_running) break;
    if (failed_rank >= 0 && !killed && std::chrono::steady_clock::now() - failed_at > o.grace) {
      std::fprintf(stderr, "repvk-train: killing the ranks still running %lld s after rank %d failed\n",
                   static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(o.grace).count()),
                   failed_rank);
      for (auto& w : ws)
        if (w.running) ::kill(w.pid, SIGKILL);
      killed = true;
    }
  }
  for (int r = 0; r < o.nproc; ++r) {
    emit(r, ws[size_t(r)].out_buf, stdout, true);
    emit(r, ws[size_t(r)].err_buf, stderr, true);
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  return result;
}

}  // namespace repvk::train

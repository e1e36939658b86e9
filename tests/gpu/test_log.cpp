// SPDX-License-Identifier: MIT
// The library's log (repvk/log.h): each message reaches DeviceOptions::on_log at its
// level, nothing is printed without a callback, and the C API's callback gets its
// user pointer. The messages come from real events: a pipeline cache written (info)
// and one that cannot be written (warning).
#include <gtest/gtest.h>

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "repvk/environment.h"
#include "repvk/error.h"
#include "repvk/log.h"
#include "repvk/network.h"
#include "repvk/repvk.h"
#include "repvk/synthetic.h"

namespace repvk {
namespace {

struct Captured {
  std::mutex mutex;
  std::vector<std::pair<LogLevel, std::string>> lines;
  std::vector<std::string> validation;

  // Lines at `level` that contain `text`.
  size_t count(LogLevel level, const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex);
    size_t n = 0;
    for (const auto& [l, m] : lines) n += l == level && m.find(text) != std::string::npos;
    return n;
  }
  size_t at_least(LogLevel level) {
    std::lock_guard<std::mutex> lock(mutex);
    size_t n = 0;
    for (const auto& line : lines) n += line.first >= level;
    return n;
  }
};

Model small_model() {
  SyntheticConfig cfg = synthetic_preset("small");
  cfg.stage_widths = {8, 8, 16, 16, 32};
  return make_synthetic_model(cfg);
}

// A fresh directory for cache files; removed with the object.
struct TempDir {
  std::string path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "repvk-log-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw Error("mkdtemp failed");
    path = pattern;
  }
  // A path that can never be written: its "directory" is a regular file.
  std::string unwritable() const {
    const std::string blocker = path + "/blocker";
    if (FILE* f = std::fopen(blocker.c_str(), "w")) std::fclose(f);
    return blocker + "/cache.bin";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::unique_ptr<Device> make_device(Captured* captured) {
  DeviceOptions o = options_from_environment().device;
  o.validation = true;
  o.on_debug_message = [captured](const DebugMessage& m) {
    std::lock_guard<std::mutex> lock(captured->mutex);
    captured->validation.push_back(m.id_name + ": " + m.text);
  };
  if (captured)
    o.on_log = [captured](LogLevel level, const std::string& message) {
      std::lock_guard<std::mutex> lock(captured->mutex);
      captured->lines.emplace_back(level, message);
    };
  return Device::create(o);
}

TEST(Log, MessagesArriveAtTheirLevel) {
  Captured captured;
  TempDir dir;
  const Model model = small_model();
  {
    auto device = make_device(&captured);
    const std::string good = dir.path + "/cache.bin";
    {
      NetworkOptions n;  // no on_note: the notes go to the device's log
      n.pipeline_cache_path = good;
      Network net(*device, model, n);
    }
    EXPECT_GE(captured.count(LogLevel::Info, "pipeline cache " + good + ": wrote"), 1u);
    EXPECT_EQ(captured.at_least(LogLevel::Warning), 0u) << "a written cache is no warning";

    const std::string bad = dir.unwritable();
    {
      NetworkOptions n;
      n.pipeline_cache_path = bad;
      Network net(*device, model, n);
    }
    EXPECT_GE(captured.count(LogLevel::Warning, "blocker/cache.bin"), 1u)
        << "a cache that cannot be written is a warning naming it";
    EXPECT_EQ(captured.count(LogLevel::Info, "blocker/cache.bin: wrote"), 0u);

    // An on_note still takes the notes instead of the log.
    const size_t info_before = captured.count(LogLevel::Info, "pipeline cache");
    std::vector<std::string> notes;
    {
      NetworkOptions n;
      n.pipeline_cache_path = good;
      n.on_note = [&notes](const std::string& note) { notes.push_back(note); };
      Network net(*device, model, n);
    }
    EXPECT_FALSE(notes.empty());
    EXPECT_EQ(captured.count(LogLevel::Info, "pipeline cache"), info_before);
  }
  for (const auto& m : captured.validation) ADD_FAILURE() << "validation message: " << m;
}

TEST(Log, DefaultPrintsNothing) {
  Captured validation_only;  // on_debug_message only, no on_log
  TempDir dir;
  const Model model = small_model();
  {
    DeviceOptions o = options_from_environment().device;
    o.validation = true;
    o.on_debug_message = [&validation_only](const DebugMessage& m) {
      std::lock_guard<std::mutex> lock(validation_only.mutex);
      validation_only.validation.push_back(m.id_name + ": " + m.text);
    };
    auto device = Device::create(o);  // outside the capture: drivers may print here
    ::testing::internal::CaptureStderr();
    ::testing::internal::CaptureStdout();
    {
      NetworkOptions n;
      n.pipeline_cache_path = dir.unwritable();  // a warning to drop
      Network net(*device, model, n);
      std::vector<float> input(net.input_size(), 0.25f);
      net.infer(input, 1);
    }
    const std::string out = ::testing::internal::GetCapturedStdout();
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(err, "") << "the library wrote to stderr";
    EXPECT_EQ(out, "") << "the library wrote to stdout";
  }
  for (const auto& m : validation_only.validation) ADD_FAILURE() << "validation message: " << m;
}

struct CRecord {
  void* user_seen = nullptr;
  int warnings = 0, infos = 0, others = 0;
  std::string last_warning;
};

int g_null_user_calls = 0;  // calls that lost the user pointer

extern "C" void c_log(void* user, repvk_log_level level, const char* message) {
  if (!user) {
    ++g_null_user_calls;
    return;
  }
  auto* r = static_cast<CRecord*>(user);
  r->user_seen = user;
  if (level == REPVK_LOG_WARNING) {
    ++r->warnings;
    r->last_warning = message;
  } else if (level == REPVK_LOG_INFO) {
    ++r->infos;
  } else {
    ++r->others;
  }
}

TEST(Log, CApiCallbackGetsItsUserPointer) {
  TempDir dir;
  CRecord record;
  repvk_device_options dopt;
  repvk_device_options_init(&dopt);
  EXPECT_EQ(dopt.on_log, nullptr);
  EXPECT_EQ(dopt.log_user, nullptr);
  dopt.on_log = c_log;
  dopt.log_user = &record;
  repvk_device* device = nullptr;
  ASSERT_EQ(repvk_device_create(&dopt, &device), REPVK_OK) << repvk_last_error();
  const std::vector<uint8_t> bytes = serialize_model(small_model());
  const std::string bad = dir.unwritable();
  repvk_network_options nopt;
  repvk_network_options_init(&nopt);
  nopt.pipeline_cache_path = bad.c_str();
  repvk_network* net = nullptr;
  ASSERT_EQ(repvk_network_load_memory(device, bytes.data(), bytes.size(), "small", &nopt, &net),
            REPVK_OK)
      << repvk_last_error();
  EXPECT_GE(record.infos, 1) << "the cache note (info)";
  repvk_network_destroy(net);  // saving the cache fails here: a warning
  EXPECT_EQ(g_null_user_calls, 0) << "the callback was called without its user pointer";
  EXPECT_EQ(record.user_seen, &record);
  EXPECT_GE(record.warnings, 1);
  EXPECT_NE(record.last_warning.find("blocker/cache.bin"), std::string::npos)
      << record.last_warning;
  EXPECT_EQ(record.others, 0);
  EXPECT_EQ(repvk_device_destroy(device), REPVK_OK);
}

}  // namespace
}  // namespace repvk

// SPDX-License-Identifier: MIT
// The on-disk pipeline cache: writers racing on one file (threads here; processes
// through tests/gpu/cache_two_processes.sh) always leave a valid file, and a
// truncated, corrupt or foreign file is ignored, reported and rewritten.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "gpu_fixture.h"
#include "repvk/model.h"  // crc32
#include "runtime/pipeline.h"

namespace fs = std::filesystem;

namespace repvk::test {
namespace {

std::vector<char> read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& p, const std::vector<char>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

class PipelineCacheTest : public GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("repvk_pcache_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    vkGetPhysicalDeviceProperties(device().physical_device(), &props_);
  }
  void TearDown() override {
    fs::remove_all(dir_);
    GpuTest::TearDown();
  }

  // A cache that holds one compiled pipeline, saved to `path`.
  void write_filled_cache(const std::string& path) {
    PipelineCache cache(device(), path);
    ComputePipeline p(device(), cache.handle(), "softmax_f32", 2, 16, {{0, 64}});
    cache.save();
  }

  std::vector<std::string> temp_files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().filename().string().find(".tmp") != std::string::npos)
        out.push_back(e.path().string());
    return out;
  }

  fs::path dir_;
  VkPhysicalDeviceProperties props_{};
};

TEST_F(PipelineCacheTest, SavedCacheLoadsAndSaysSo) {
  const std::string path = (dir_ / "sub" / "pipelines.bin").string();  // directory made on save
  std::vector<std::string> notes;
  {
    PipelineCache first(device(), path, VK_NULL_HANDLE,
                        [&](const std::string& n) { notes.push_back(n); });
    EXPECT_FALSE(first.loaded_from_disk());
    ComputePipeline p(device(), first.handle(), "softmax_f32", 2, 16, {{0, 64}});
  }
  ASSERT_TRUE(fs::exists(path));
  EXPECT_EQ(PipelineCache::check_file(read_all(path), props_), "");
  PipelineCache second(device(), path, VK_NULL_HANDLE,
                       [&](const std::string& n) { notes.push_back(n); });
  EXPECT_TRUE(second.loaded_from_disk());
  ASSERT_GE(notes.size(), 3u);
  EXPECT_NE(notes[0].find("none yet"), std::string::npos) << notes[0];
  EXPECT_NE(notes[1].find("wrote"), std::string::npos) << notes[1];
  EXPECT_NE(notes[2].find("loaded"), std::string::npos) << notes[2];
  EXPECT_TRUE(temp_files().empty());
}

// Two writers save the same file as fast as they can while a reader checks every
// version it sees. With REPVK_SHARED_CACHE_PATH set (cache_two_processes.sh) two
// processes run this at once on one file.
TEST_F(PipelineCacheTest, ConcurrentWritersAlwaysLeaveAValidFile) {
  const char* shared = std::getenv("REPVK_SHARED_CACHE_PATH");
  const std::string path = shared && shared[0] ? shared : (dir_ / "pipelines.bin").string();
  write_filled_cache(path);
  PipelineCache a(device(), path), b(device(), path);
  ComputePipeline pa(device(), a.handle(), "softmax_f32", 2, 16, {{0, 64}});
  ComputePipeline pb(device(), b.handle(), "softmax_f32", 2, 16, {{0, 128}});
  constexpr int kSaves = 300;
  std::atomic<bool> writing{true};
  std::atomic<int> failures{0}, reads{0};
  std::string first_problem;
  std::thread reader([&] {
    while (writing.load()) {
      const std::vector<char> file = read_all(path);
      const std::string problem = PipelineCache::check_file(file, props_);
      if (!problem.empty() && failures.fetch_add(1) == 0) first_problem = problem;
      reads.fetch_add(1);
    }
  });
  auto writer = [&](const PipelineCache& cache) {
    for (int i = 0; i < kSaves; ++i) {
      try {
        cache.save();
      } catch (const std::exception& e) {
        if (failures.fetch_add(1) == 0) first_problem = e.what();
      }
    }
  };
  std::thread wa(writer, std::cref(a)), wb(writer, std::cref(b));
  wa.join();
  wb.join();
  writing = false;
  reader.join();
  EXPECT_EQ(failures.load(), 0) << "first problem: " << first_problem;
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(PipelineCache::check_file(read_all(path), props_), "");
  if (!shared) {
    EXPECT_TRUE(temp_files().empty());
  }
  PipelineCache after(device(), path);
  EXPECT_TRUE(after.loaded_from_disk());
}

TEST_F(PipelineCacheTest, DamagedFileIsIgnoredReportedAndRewritten) {
  const std::string path = (dir_ / "pipelines.bin").string();
  write_filled_cache(path);
  const std::vector<char> good = read_all(path);
  ASSERT_EQ(PipelineCache::check_file(good, props_), "");
  ASSERT_GE(good.size(), 24u + 32u);  // frame + VkPipelineCacheHeaderVersionOne at least

  std::vector<char> flipped = good;
  flipped.back() ^= 0x40;
  std::vector<char> foreign = good;  // valid frame, another device's UUID
  foreign[24 + 16] ^= 0x01;
  const uint32_t crc = crc32(reinterpret_cast<const uint8_t*>(foreign.data()) + 24,
                             foreign.size() - 24);
  std::memcpy(foreign.data() + 16, &crc, sizeof(crc));
  std::vector<char> old_format(good.begin() + 24, good.end());  // the driver data, unframed
  struct Case {
    const char* name;
    std::vector<char> bytes;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"empty", {}, "truncated"},
      {"cut inside the frame", std::vector<char>(good.begin(), good.begin() + 10), "truncated"},
      {"cut in half", std::vector<char>(good.begin(), good.begin() + good.size() / 2),
       "truncated"},
      {"one byte flipped", flipped, "checksum"},
      {"garbage", std::vector<char>(200, 'x'), "not a repvk pipeline cache"},
      {"unframed driver data", old_format, "not a repvk pipeline cache"},
      {"another device", foreign, "another device"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    write_all(path, c.bytes);
    EXPECT_NE(PipelineCache::check_file(c.bytes, props_).find(c.reason), std::string::npos);
    std::string note;
    {
      PipelineCache cache(device(), path, VK_NULL_HANDLE,
                          [&](const std::string& n) { note += n + "\n"; });
      EXPECT_FALSE(cache.loaded_from_disk());
      ComputePipeline p(device(), cache.handle(), "softmax_f32", 2, 16, {{0, 64}});
    }  // saves
    EXPECT_NE(note.find("ignored"), std::string::npos) << note;
    EXPECT_NE(note.find(c.reason), std::string::npos) << note;
    EXPECT_NE(note.find("rewritten"), std::string::npos) << note;
    EXPECT_NE(note.find("wrote"), std::string::npos) << note;
    EXPECT_EQ(PipelineCache::check_file(read_all(path), props_), "");
    PipelineCache again(device(), path);
    EXPECT_TRUE(again.loaded_from_disk());
  }
}

}  // namespace
}  // namespace repvk::test

// SPDX-License-Identifier: MIT
// Drives the C API (repvk/repvk.h only) through random call sequences with random
// arguments: NULL handles and pointers, zero and huge sizes and dimensions, calls in the
// wrong order, handles already destroyed. Every buffer the test passes is a heap block of
// exactly the size it claims, so AddressSanitizer catches any read or write the library
// makes past a size it was given. Meant to run under ASan and UBSan (the `cli` label's
// sanitizer build); it also runs in the plain build.
//
// Each call is checked against a model of what it must do: the status is one of the
// documented codes; it is the status the arguments call for (OK exactly when every
// argument is valid, INVALID_ARGUMENT for a size, NULL or dead handle, ENGINE for a
// refused destroy or a call out of order); a failure leaves a message and a success
// leaves none; outputs match the first successful run of the same input.
//
// usage: c_api_sequences FIXTURE_DIR [--calls N] [--seed S]
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "repvk/repvk.h"

namespace {

int g_failures = 0;
int g_messages = 0;
uint64_t g_call = 0;

void on_debug(void*, int severity, const char* id, const char* text) {
  std::fprintf(stderr, "validation message (severity %d): %s: %s\n", severity, id, text);
  ++g_messages;
}

void fail(const std::string& what) {
  if (++g_failures <= 20) std::fprintf(stderr, "call %llu: %s\n", (unsigned long long)g_call, what.c_str());
}

// A heap block of exactly `n` elements (ASan places a redzone right after it); NULL
// when n is 0 half of the time, a 1-element block else, so size 0 is tested both ways.
template <typename T>
struct Block {
  std::unique_ptr<T[]> data;
  size_t n = 0;
  T* get() const { return data.get(); }
};
template <typename T>
Block<T> block(size_t n, T fill) {
  Block<T> b;
  b.n = n;
  if (n) {
    b.data.reset(new T[n]);
    for (size_t i = 0; i < n; ++i) b.data[i] = fill;
  }
  return b;
}

bool known_status(int s) { return s <= 0 && s >= -6; }

struct DeviceSlot {
  repvk_device* handle = nullptr;
  bool alive = false;
  int networks = 0;
};
struct NetworkSlot {
  repvk_network* handle = nullptr;
  bool alive = false;
  size_t device = 0;
  bool image_calls = false;  // never succeeds here: no VkImage exists in this test
};

class Sequencer {
 public:
  Sequencer(std::string fixture, uint32_t seed) : fixture_(std::move(fixture)), rng_(seed) {
    std::ifstream f(fixture_ + "/model.rpvk", std::ios::binary);
    model_bytes_.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (model_bytes_.empty()) {
      std::fprintf(stderr, "cannot read %s/model.rpvk\n", fixture_.c_str());
      std::exit(2);
    }
  }

  // Time per kind of step, printed with SEQ_TIMES=1 (to keep the run affordable).
  double spent[40] = {};
  void step() {
    // Kinds 0-12 as below; 13-39 the cheap queries, so that real inferences, which
    // cost milliseconds on lavapipe, are about 6% of the calls.
    const uint32_t kind = pick(40);
    const auto t0 = std::chrono::steady_clock::now();
    step(kind);
    spent[kind] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  void step(uint32_t kind) {
    switch (kind) {
      case 0: create_device(); break;
      case 1: destroy_device(); break;
      case 2: case 3: load_network(); break;
      case 4: destroy_network(); break;
      case 5: case 6: case 7: infer(); break;
      case 8: case 9: classify_pixels(); break;
      case 10: image_calls(); break;
      case 11: case 12: poll_and_read(); break;
      default: queries(); break;
    }
  }

  // Destroys everything still alive; every destroy must succeed in this order.
  void finish() {
    for (NetworkSlot& n : networks_)
      if (n.alive) {
        repvk_network_destroy(n.handle);
        n.alive = false;
        --devices_[n.device].networks;
      }
    for (DeviceSlot& d : devices_)
      if (d.alive) {
        if (repvk_device_destroy(d.handle) != REPVK_OK) fail("final repvk_device_destroy failed");
        d.alive = false;
      }
  }

  uint64_t successes() const { return successes_; }
  uint64_t inferences() const { return inferences_; }

 private:
  uint32_t pick(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  // A size: mostly small, sometimes 0, sometimes huge.
  size_t any_size(size_t typical) {
    switch (pick(6)) {
      case 0: return 0;
      case 1: return SIZE_MAX - pick(3);
      case 2: return size_t(1) << (20 + pick(40));
      default: return pick(uint32_t(typical * 2 + 2));
    }
  }
  uint32_t any_u32(uint32_t typical) {
    switch (pick(6)) {
      case 0: return 0;
      case 1: return UINT32_MAX - pick(3);
      case 2: return 1u << (14 + pick(18));
      default: return pick(typical * 2 + 2);
    }
  }

  // Checks a status against the expected one and the message rules.
  void expect(const char* call, int got, int want, const char* handle_error) {
    if (!known_status(got)) fail(std::string(call) + " returned an undocumented status " + std::to_string(got));
    if (got != want)
      fail(std::string(call) + " returned " + repvk_status_name(repvk_status(got)) + ", expected " +
           repvk_status_name(repvk_status(want)) + " (" + repvk_last_error() + ")");
    const char* thread_error = repvk_last_error();
    if (got == REPVK_OK) {
      ++successes_;
      if (*thread_error) fail(std::string(call) + " succeeded but repvk_last_error() is \"" + thread_error + "\"");
      if (handle_error && *handle_error) fail(std::string(call) + " succeeded but the handle keeps an error");
    } else if (got != REPVK_ERROR_NOT_READY) {
      if (!*thread_error) fail(std::string(call) + " failed without a message");
    }
  }

  // A device handle: live, destroyed, NULL, or a pointer that was never a handle.
  size_t choose_device(repvk_device** out, bool* alive) {
    const uint32_t r = pick(10);
    if (r == 0 || devices_.empty()) {
      *out = nullptr;
      *alive = false;
      return SIZE_MAX;
    }
    if (r == 1) {
      *out = reinterpret_cast<repvk_device*>(&bogus_);
      *alive = false;
      return SIZE_MAX;
    }
    const size_t i = pick(uint32_t(devices_.size()));
    *out = devices_[i].handle;
    *alive = devices_[i].alive || live_device_at(*out);
    return i;
  }
  size_t choose_network(repvk_network** out, bool* alive) {
    const uint32_t r = pick(12);
    if (r == 0 || networks_.empty()) {
      *out = nullptr;
      *alive = false;
      return SIZE_MAX;
    }
    if (r == 1) {
      *out = reinterpret_cast<repvk_network*>(&bogus_);
      *alive = false;
      return SIZE_MAX;
    }
    // Prefer live networks so that the interesting checks run.
    std::vector<size_t> live;
    for (size_t i = 0; i < networks_.size(); ++i)
      if (networks_[i].alive) live.push_back(i);
    const size_t i = (!live.empty() && r > 3) ? live[pick(uint32_t(live.size()))]
                                              : pick(uint32_t(networks_.size()));
    *out = networks_[i].handle;
    if (networks_[i].alive) {
      *alive = true;
      return i;
    }
    // A destroyed handle whose address a newer network now has is that network.
    for (size_t j = 0; j < networks_.size(); ++j)
      if (networks_[j].alive && networks_[j].handle == *out) {
        *alive = true;
        return j;
      }
    *alive = false;
    return i;
  }
  bool live_device_at(const repvk_device* p) const {
    for (const DeviceSlot& d : devices_)
      if (d.alive && d.handle == p) return true;
    return false;
  }
  size_t live_device_index(const repvk_device* p) const {
    for (size_t i = 0; i < devices_.size(); ++i)
      if (devices_[i].alive && devices_[i].handle == p) return i;
    return SIZE_MAX;
  }

  void create_device() {
    size_t alive = 0;
    for (const DeviceSlot& d : devices_) alive += d.alive;
    // Instance creation costs ~100 ms: a few devices per run are enough.
    const bool allowed = alive < 2 && device_creations_ < kMaxDeviceCreations;
    repvk_device_options o;
    repvk_device_options_init(&o);
    o.validation = 1;
    o.on_debug_message = on_debug;
    if (!allowed || chance(0.5)) {
      // Only cheap failures: NULL out, or a selector that matches nothing.
      if (chance(0.5)) {
        expect("repvk_device_create(out NULL)", repvk_device_create(&o, nullptr),
               REPVK_ERROR_INVALID_ARGUMENT, nullptr);
      } else {
        repvk_adopted_handles h;
        std::memset(&h, 0, sizeof h);
        repvk_device* d = reinterpret_cast<repvk_device*>(&bogus_);
        const int s = repvk_device_adopt(chance(0.5) ? &h : nullptr, &o, &d);
        // A NULL VkInstance is not something repvk can use: refused, never used.
        if (s == REPVK_OK) fail("repvk_device_adopt accepted NULL handles");
        if (!known_status(s)) fail("repvk_device_adopt: undocumented status");
        if (d != nullptr) fail("repvk_device_adopt left *out set after failing");
      }
      return;
    }
    ++device_creations_;
    repvk_device* d = nullptr;
    expect("repvk_device_create", repvk_device_create(chance(0.8) ? &o : nullptr, &d), REPVK_OK,
           nullptr);
    if (d) devices_.push_back({d, true, 0});
  }

  void destroy_device() {
    repvk_device* d;
    bool alive;
    choose_device(&d, &alive);
    const size_t i = live_device_index(d);
    // A device without networks is usually spared: the pool needs devices to load on.
    if (alive && devices_[i].networks == 0 &&
        (device_creations_ >= kMaxDeviceCreations || !chance(0.2)))
      return;
    int want = REPVK_OK;
    if (d && !alive) want = REPVK_ERROR_INVALID_ARGUMENT;
    if (alive && devices_[i].networks > 0) want = REPVK_ERROR_ENGINE;
    const int s = repvk_device_destroy(d);
    expect("repvk_device_destroy", s, want, nullptr);
    if (s == REPVK_OK && alive) devices_[i].alive = false;
    if (want == REPVK_ERROR_ENGINE && !std::strstr(repvk_device_last_error(d), "network"))
      fail("refused repvk_device_destroy does not say why");
  }

  void load_network() {
    repvk_device* d;
    bool alive;
    choose_device(&d, &alive);
    const size_t di = live_device_index(d);
    size_t live_networks = 0;
    for (const NetworkSlot& n : networks_) live_networks += n.alive;
    // Pipeline creation costs tens of ms: a few real loads per run.
    const bool may_succeed = alive && live_networks < 4 && network_loads_ < kMaxLoads;

    repvk_network_options o;
    repvk_network_options_init(&o);
    // A cache of this test's own: only the first load compiles the pipelines.
    const std::string cache = fixture_ + "/sequences-pipelines.bin";
    o.pipeline_cache_path = cache.c_str();
    o.precision = REPVK_PRECISION_FP32;
    const repvk_network_options* options = &o;
    int want = alive ? REPVK_OK : REPVK_ERROR_INVALID_ARGUMENT;
    repvk_network* n = reinterpret_cast<repvk_network*>(&bogus_);
    repvk_network** out = &n;
    const std::string missing = fixture_ + "/no-such-model.rpvk";
    const std::string model = fixture_ + "/model.rpvk";
    const char* path = model.c_str();
    std::vector<uint8_t> data(model_bytes_.begin(), model_bytes_.end());
    size_t size = data.size();
    bool from_memory = chance(0.5);

    const uint32_t variant = may_succeed ? pick(11) : 1 + pick(7);
    switch (variant > 7 ? 0 : variant) {
      case 0: break;  // valid
      case 1: out = nullptr; if (alive) want = REPVK_ERROR_INVALID_ARGUMENT; break;
      case 2:
        if (from_memory) { size = pick(uint32_t(data.size())); }  // truncated
        else path = missing.c_str();
        if (alive) want = REPVK_ERROR_MODEL;
        break;
      case 3:
        if (from_memory) {
          for (int k = 0; k < 8; ++k) data[pick(uint32_t(data.size()))] ^= uint8_t(1 + pick(255));
          // A flipped byte may fall where the format has no check (a codebook value):
          // any documented status, but never a crash.
          want = -100;
        } else {
          path = nullptr;
          if (alive) want = REPVK_ERROR_INVALID_ARGUMENT;
        }
        break;
      // 3 is the only undefined value C++ may store in this enum (its range is 0..3).
      case 4: o.precision = repvk_precision(3); if (alive) want = REPVK_ERROR_INVALID_ARGUMENT; break;
      case 5: from_memory = true; size = 0; if (alive) want = REPVK_ERROR_MODEL; break;
      case 6: from_memory = true; size = data.size() + 1 + pick(1000); data.resize(size, 0); if (alive) want = REPVK_ERROR_MODEL; break;
      default: from_memory = true; if (alive) want = REPVK_ERROR_INVALID_ARGUMENT; size = 100; data.clear(); break;
    }
    if (want == REPVK_OK && !may_succeed) return;
    if (want == REPVK_OK) {
      ++network_loads_;
      // max_batch 0 means the default; a huge one is capped to the device's limits.
      if (chance(0.3)) o.max_batch = chance(0.5) ? 0 : UINT32_MAX;
      if (chance(0.1)) options = nullptr;  // the defaults
    }
    const uint8_t* bytes = data.empty() ? nullptr : data.data();
    const int s = from_memory ? repvk_network_load_memory(d, bytes, size, "fuzz", options, out)
                              : repvk_network_load(d, path, options, out);
    if (want == -100) {
      if (!known_status(s)) fail("repvk_network_load_memory (corrupted): undocumented status");
      if (s != REPVK_OK && n != nullptr) fail("failed load left *out set");
      // Loaded despite the flipped bytes: other weights, so not comparable with the
      // pool's results. Destroyed at once.
      if (s == REPVK_OK) repvk_network_destroy(n);
      return;
    }
    expect(from_memory ? "repvk_network_load_memory" : "repvk_network_load", s, want,
           alive ? repvk_device_last_error(d) : nullptr);
    if (s != REPVK_OK && out && n != nullptr) fail("failed load left *out set");
    if (s == REPVK_OK) {
      networks_.push_back({n, true, di, false});
      ++devices_[di].networks;
    }
  }

  void destroy_network() {
    repvk_network* n;
    bool alive;
    const size_t i = choose_network(&n, &alive);
    // Keep a pool of live networks: destroy one only now and then, and only while
    // another load may replace it.
    if (alive && (network_loads_ >= kMaxLoads || !chance(0.3))) return;
    repvk_network_destroy(n);  // void: must simply not crash on NULL or dead handles
    if (alive) {
      networks_[i].alive = false;
      --devices_[networks_[i].device].networks;
    }
  }

  void infer() {
    repvk_network* n;
    bool alive;
    choose_network(&n, &alive);
    const bool logits = chance(0.3);
    uint32_t c = 3, h = 20, w = 24, classes = 7;
    const size_t per = size_t(c) * h * w;
    uint32_t batch = pick(4) == 0 ? any_u32(4) : 1 + pick(3);
    size_t in_n = size_t(batch) * per, out_n = size_t(batch) * classes;
    bool null_in = false, null_out = false;
    switch (pick(6)) {
      case 0: in_n = any_size(in_n); break;
      case 1: out_n = any_size(out_n); break;
      case 2: null_in = chance(0.5); null_out = !null_in; break;
      default: break;
    }
    // Never allocate what the test claims when it is huge: then another argument must
    // make the call fail before anything is read (batch over what the input holds).
    const bool honest_in = in_n <= (size_t(1) << 22);
    const bool honest_out = out_n <= (size_t(1) << 22);
    const bool batch_fits = batch != 0 && in_n / per >= batch && out_n / classes >= batch;
    if ((!honest_in || !honest_out) && batch_fits) {
      // Claiming a huge buffer with a batch that fits would be the caller's lie, not a
      // size mistake the library can detect: shrink the batch claim instead.
      batch = 0;
    }
    const bool valid = alive && batch_fits && batch != 0 && !null_in && !null_out;
    if (valid && batch > 4) {
      batch = 1 + pick(3);  // a real run: keep it short
      in_n = size_t(batch) * per;
      out_n = size_t(batch) * classes;
    }
    // Off by one on either buffer, half of the valid calls: real runs stay affordable.
    if (valid && chance(0.5)) (chance(0.5) ? in_n : out_n) -= 1;
    Block<float> in = block<float>(honest_in && !null_in ? in_n : 0, 0.0f);
    Block<float> out = block<float>(honest_out && !null_out ? out_n : 0, -7.0f);
    // The actual values: the same pattern for every image, so outputs are comparable.
    for (size_t i = 0; i < in.n; ++i) in.data[i] = float(int(i % per) % 17 - 8) / 8.0f;
    // A huge claimed size comes with a non-NULL pointer, so that only the size check
    // can stop the call (a NULL pointer would be caught first).
    std::vector<float> dummy(1, 0.0f);
    const float* in_ptr = null_in ? nullptr : (in.get() ? in.get() : dummy.data());
    float dummy_out = -7.0f;
    float* out_ptr = null_out ? nullptr : (out.get() ? out.get() : &dummy_out);
    const bool ok = alive && batch != 0 && in_n / per >= batch && out_n / classes >= batch &&
                    !null_in && !null_out;
    const int want = ok ? REPVK_OK : REPVK_ERROR_INVALID_ARGUMENT;
    const int s = logits ? repvk_network_infer_logits(n, in_ptr, in_n, batch, out_ptr, out_n)
                         : repvk_network_infer(n, in_ptr, in_n, batch, out_ptr, out_n);
    expect(logits ? "repvk_network_infer_logits" : "repvk_network_infer", s, want,
           alive ? repvk_network_last_error(n) : nullptr);
    if (s == REPVK_OK) {
      ++inferences_;
      std::vector<float>& ref = logits ? ref_logits_ : ref_probs_;
      for (uint32_t b = 0; b < batch; ++b) {
        const float* got = out.get() + size_t(b) * classes;
        if (ref.empty()) ref.assign(got, got + classes);
        for (uint32_t k = 0; k < classes; ++k)
          if (!(std::fabs(got[k] - ref[k]) <= 1e-4f)) {
            fail("inference result differs from the first run of the same input");
            break;
          }
      }
    } else if (out.get()) {
      for (size_t i = 0; i < out.n; ++i)
        if (out.data[i] != -7.0f) {
          fail("a refused inference wrote to out");
          break;
        }
    }
  }

  void classify_pixels() {
    repvk_network* n;
    bool alive;
    choose_network(&n, &alive);
    uint32_t w = 1 + pick(40), h = 1 + pick(40), c = 1 + pick(4);
    size_t stride = chance(0.5) ? 0 : size_t(w) * c + pick(8);
    switch (pick(8)) {
      case 0: w = any_u32(40); break;
      case 1: h = any_u32(40); break;
      case 2: c = pick(8); break;
      case 3: stride = any_size(size_t(w) * c); break;
      default: break;
    }
    const uint64_t row = uint64_t(w) * c;
    const uint64_t eff_stride = stride ? stride : row;
    const bool dims_ok = w >= 1 && h >= 1 && w <= REPVK_MAX_IMAGE_DIMENSION &&
                         h <= REPVK_MAX_IMAGE_DIMENSION && c >= 1 && c <= 4 && eff_stride >= row;
    // Needed bytes, saturating (a huge stride must not wrap around).
    long double needed_ld = dims_ok ? (long double)eff_stride * (h - 1) + row : 0;
    size_t bytes = needed_ld < (long double)(size_t(1) << 22) ? size_t(needed_ld) : 0;
    bool null_px = false, null_out = false;
    size_t out_n = 7;
    switch (pick(5)) {
      case 0: bytes = any_size(bytes); break;
      case 1: out_n = any_size(7); break;
      case 2: null_px = chance(0.5); null_out = !null_px; break;
      default: break;
    }
    const bool honest = bytes <= (size_t(1) << 22);
    if (!honest && dims_ok && (long double)bytes >= needed_ld) bytes = size_t(needed_ld) / 2;
    const bool fits = dims_ok && (long double)bytes >= needed_ld;
    if (alive && fits && !null_px && !null_out && out_n >= 7 && chance(0.5))
      (chance(0.5) ? bytes : out_n) -= 1;  // off by one
    Block<uint8_t> px = block<uint8_t>(honest && !null_px ? bytes : 0, uint8_t(pick(256)));
    Block<float> out = block<float>(out_n <= 1024 && !null_out ? out_n : 0, -7.0f);
    uint8_t dummy = 0;
    float dummy_out = -7.0f;
    const uint8_t* px_ptr = null_px ? nullptr : (px.get() ? px.get() : &dummy);
    float* out_ptr = null_out ? nullptr : (out.get() ? out.get() : &dummy_out);
    const bool ok = alive && dims_ok && (long double)bytes >= needed_ld && !null_px &&
                    !null_out && out_n >= 7;
    // Only a real image of reasonable size is worth running; others must fail anyway.
    if (ok && (out_n > 1024 || bytes > (size_t(1) << 22))) return;
    const int s = repvk_network_classify_pixels(n, px_ptr, bytes, w, h, c, stride, out_ptr, out_n);
    expect("repvk_network_classify_pixels", s, ok ? REPVK_OK : REPVK_ERROR_INVALID_ARGUMENT,
           alive ? repvk_network_last_error(n) : nullptr);
    if (s == REPVK_OK) {
      ++inferences_;
      float sum = 0;
      for (int k = 0; k < 7; ++k) sum += out.data[k];
      if (!(std::fabs(sum - 1.0f) <= 1e-3f)) fail("classify_pixels: probabilities do not sum to 1");
    }
  }

  void image_calls() {
    repvk_network* n;
    bool alive;
    choose_network(&n, &alive);
    repvk_image_input image;
    std::memset(&image, 0, sizeof image);
    image.width = pick(100);
    image.height = pick(100);
    image.channels = pick(6);
    image.layout = chance(0.5) ? VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL : VK_IMAGE_LAYOUT_UNDEFINED;
    // No VkImage exists here, so the view stays VK_NULL_HANDLE: every call must fail
    // (an invented non-null Vulkan handle would be the caller's undefined behaviour).
    const repvk_image_input* img = chance(0.3) ? nullptr : &image;
    if (chance(0.5)) {
      // A null command buffer is a NULL handle: the caller's mistake, whatever the image.
      expect("repvk_network_record_classify_image",
             repvk_network_record_classify_image(n, VK_NULL_HANDLE, img),
             REPVK_ERROR_INVALID_ARGUMENT, alive ? repvk_network_last_error(n) : nullptr);
    } else {
      const uint32_t wait_count = chance(0.5) ? 0 : 1 + pick(4);
      const bool null_waits = chance(0.5);
      std::vector<VkSemaphore> waits(wait_count ? wait_count : 1, VK_NULL_HANDLE);
      int want = REPVK_ERROR_INVALID_ARGUMENT;
      if (alive && img && !(wait_count && null_waits)) want = REPVK_ERROR_ENGINE;  // null view
      expect("repvk_network_submit_classify_image",
             repvk_network_submit_classify_image(n, img, null_waits ? nullptr : waits.data(),
                                                 wait_count, VK_NULL_HANDLE, VK_NULL_HANDLE),
             want, alive ? repvk_network_last_error(n) : nullptr);
    }
  }

  void poll_and_read() {
    repvk_network* n;
    bool alive;
    choose_network(&n, &alive);
    if (chance(0.5)) {
      // Nothing was ever submitted successfully (no VkImage here): a defined error.
      expect("repvk_network_poll", repvk_network_poll(n),
             alive ? REPVK_ERROR_ENGINE : REPVK_ERROR_INVALID_ARGUMENT,
             alive ? repvk_network_last_error(n) : nullptr);
    } else {
      const size_t out_n = any_size(7);
      Block<float> out = block<float>(out_n <= 1024 ? out_n : 0, -7.0f);
      float dummy = -7.0f;
      float* p = chance(0.2) ? nullptr : (out.get() ? out.get() : &dummy);
      int want = REPVK_ERROR_INVALID_ARGUMENT;
      if (alive && p && out_n >= 7) want = REPVK_ERROR_ENGINE;  // read before any submit
      expect("repvk_network_read_result", repvk_network_read_result(n, p, out_n), want,
             alive ? repvk_network_last_error(n) : nullptr);
      for (size_t i = 0; i < out.n; ++i)
        if (out.data[i] != -7.0f) {
          fail("a refused read_result wrote to out");
          break;
        }
    }
  }

  // Calls without a status: they must return defaults for bad handles, never crash.
  void queries() {
    repvk_network* n;
    bool n_alive;
    choose_network(&n, &n_alive);
    repvk_device* d;
    bool d_alive;
    choose_device(&d, &d_alive);
    switch (pick(8)) {
      case 0: {
        const uint32_t classes = repvk_network_num_classes(n);
        if (classes != (n_alive ? 7u : 0u)) fail("repvk_network_num_classes: wrong count");
        const uint32_t label = chance(0.5) ? pick(10) : any_u32(7);
        const char* name = repvk_network_class_name(n, label);
        if ((name != nullptr) != (n_alive && label < 7)) fail("repvk_network_class_name: wrong NULL-ness");
        break;
      }
      case 1: {
        uint32_t c = 99, h = 99, w = 99;
        repvk_network_input_shape(n, chance(0.7) ? &c : nullptr, chance(0.7) ? &h : nullptr,
                                  chance(0.7) ? &w : nullptr);
        break;
      }
      case 2: (void)std::strlen(repvk_network_last_error(n)); break;
      case 3:
        (void)std::strlen(repvk_device_name(d));
        (void)std::strlen(repvk_device_last_error(d));
        if (!d_alive && repvk_device_queue_family(d) != UINT32_MAX)
          fail("repvk_device_queue_family of a bad handle is not UINT32_MAX");
        break;
      case 4: {
        const uint64_t bytes = repvk_device_allocated_bytes(d);
        if (!d_alive && bytes != 0) fail("repvk_device_allocated_bytes of a bad handle is not 0");
        break;
      }
      // -8..7 is the enum's value range in C++: -8, -7 and 1..7 are undocumented codes.
      case 5: (void)std::strlen(repvk_status_name(repvk_status(int(pick(16)) - 8))); break;
      case 6:
        repvk_device_options_init(chance(0.5) ? nullptr : &device_options_);
        repvk_network_options_init(chance(0.5) ? nullptr : &network_options_);
        break;
      default:
        if (repvk_version() != REPVK_VERSION) fail("repvk_version differs from the header");
        (void)std::strlen(repvk_version_string());
        (void)repvk_model_format_version();
        break;
    }
  }

  std::string fixture_;
  std::vector<char> model_bytes_;
  std::mt19937 rng_;
  std::vector<DeviceSlot> devices_;
  std::vector<NetworkSlot> networks_;
  std::vector<float> ref_probs_, ref_logits_;
  repvk_device_options device_options_;
  repvk_network_options network_options_;
  uint64_t bogus_[8] = {};  // an address that was never a handle
  // Instance creation and network loads cost ~0.1-0.5 s each on lavapipe with
  // validation: a few per run, the rest of the calls on the pool they leave.
  static constexpr int kMaxDeviceCreations = 6, kMaxLoads = 8;
  int device_creations_ = 0, network_loads_ = 0;
  uint64_t successes_ = 0, inferences_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: c_api_sequences FIXTURE_DIR [--calls N] [--seed S]\n");
    return 2;
  }
  uint64_t calls = 100000;
  uint32_t seed = 1;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--calls") == 0) calls = std::strtoull(argv[i + 1], nullptr, 10);
    else if (std::strcmp(argv[i], "--seed") == 0) seed = uint32_t(std::strtoul(argv[i + 1], nullptr, 10));
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  Sequencer seq(argv[1], seed);
  for (g_call = 0; g_call < calls; ++g_call) seq.step();
  seq.finish();
  if (std::getenv("SEQ_TIMES"))
    for (int k = 0; k < 13; ++k) std::fprintf(stderr, "kind %d: %.2f s\n", k, seq.spent[k]);
  std::printf("%llu calls (seed %u): %llu succeeded, %llu inferences ran, %d failure(s), %d "
              "validation message(s)\n",
              (unsigned long long)calls, seed, (unsigned long long)seq.successes(),
              (unsigned long long)seq.inferences(), g_failures, g_messages);
  return g_failures == 0 && g_messages == 0 ? 0 : 1;
}

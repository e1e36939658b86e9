// SPDX-License-Identifier: MIT
// The C API (repvk/repvk.h) over the C++ one. Every entry point catches everything:
// an exception must never cross into C, Rust or Python. Every entry point also checks
// its handle against the registry of live handles and its buffers against the sizes
// passed with them before doing any work.
#include "repvk/repvk.h"

#include <atomic>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "repvk/device.h"
#include "repvk/environment.h"
#include "repvk/error.h"
#include "repvk/image_io.h"
#include "repvk/model.h"
#include "repvk/network.h"

static_assert(REPVK_MODEL_FORMAT_VERSION == repvk::kModelVersion,
              "version.h.in and model.h disagree on the model format version");
static_assert(REPVK_MAX_IMAGE_DIMENSION == repvk::ImageLimits::kMaxDimension,
              "repvk.h and image_io.h disagree on the image size limit");
static_assert(int(repvk::LogLevel::Debug) == REPVK_LOG_DEBUG &&
                  int(repvk::LogLevel::Info) == REPVK_LOG_INFO &&
                  int(repvk::LogLevel::Warning) == REPVK_LOG_WARNING &&
                  int(repvk::LogLevel::Error) == REPVK_LOG_ERROR,
              "repvk_log_level has repvk::LogLevel's values");

struct repvk_device {
  std::unique_ptr<repvk::Device> device;
  std::string name;
  std::string last_error;
  std::atomic<uint32_t> networks{0};  // live repvk_network handles on this device
};

struct repvk_network {
  repvk_device* device = nullptr;
  std::unique_ptr<repvk::Network> network;
  std::string last_error;
  // A classification was submitted by repvk (poll can tell) or recorded into the
  // app's command buffer (only the app's wait can tell).
  enum class Image { None, Submitted, Recorded } image = Image::None;
};

namespace {

thread_local std::string t_last_error;

// Every live handle, so that a call on a destroyed one is refused instead of reading
// freed memory. Process-wide on purpose (handles are process-wide); never destroyed,
// so that calls from static destructors of the application still find it.
class HandleRegistry {
 public:
  void add(const void* h) {
    std::lock_guard<std::mutex> lock(mutex_);
    live_.insert(h);
  }
  void remove(const void* h) {
    std::lock_guard<std::mutex> lock(mutex_);
    live_.erase(h);
  }
  bool contains(const void* h) const {
    if (!h) return false;
    std::lock_guard<std::mutex> lock(mutex_);
    return live_.count(h) != 0;
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_set<const void*> live_;
};

// One registry per handle type: a freed network's address reused by a device must
// not make the stale network pointer look live.
template <typename Handle>
HandleRegistry& registry() {
  static HandleRegistry* r = new HandleRegistry;
  return *r;
}

bool live(const repvk_device* d) { return registry<repvk_device>().contains(d); }
bool live(const repvk_network* n) { return registry<repvk_network>().contains(n); }

void clear_errors(std::string* handle_error) noexcept {
  t_last_error.clear();
  if (handle_error) handle_error->clear();
}

// Runs `body`, turning any exception into a status and a message stored for the
// thread and, when there is one, the handle.
template <typename Body>
repvk_status guarded(std::string* handle_error, Body&& body) {
  repvk_status status = REPVK_OK;
  std::string message;
  try {
    body();
    clear_errors(handle_error);
    return REPVK_OK;
  } catch (const repvk::InvalidArgument& e) {
    status = REPVK_ERROR_INVALID_ARGUMENT;
    message = e.what();
  } catch (const repvk::ModelError& e) {
    status = REPVK_ERROR_MODEL;
    message = e.what();
  } catch (const repvk::VulkanError& e) {
    status = REPVK_ERROR_VULKAN;
    message = e.what();
  } catch (const repvk::Error& e) {
    status = REPVK_ERROR_ENGINE;
    message = e.what();
  } catch (const std::invalid_argument& e) {
    status = REPVK_ERROR_INVALID_ARGUMENT;
    message = e.what();
  } catch (const std::bad_alloc&) {
    status = REPVK_ERROR_INTERNAL;
    message = "out of host memory";
  } catch (const std::exception& e) {
    status = REPVK_ERROR_INTERNAL;
    message = e.what();
  } catch (...) {
    status = REPVK_ERROR_INTERNAL;
    message = "unknown error";
  }
  try {
    t_last_error = message;
    if (handle_error) *handle_error = message;
  } catch (...) {
    // Out of memory while storing the message: the status still tells what happened.
  }
  return status;
}

repvk_status invalid(std::string* handle_error, const std::string& message) {
  return guarded(handle_error, [&] { throw std::invalid_argument(message); });
}

// The message for a handle that is NULL or not (any longer) live.
std::string bad_handle(const char* call, const char* what, const void* h) {
  return std::string(call) + ": " + what +
         (h ? " is not a live handle (destroyed, or never created by repvk)" : " is NULL");
}


// The environment (repvk/environment.h) first, then the caller's options on top.
repvk::DeviceOptions device_options(const repvk_device_options* o) {
  repvk::DeviceOptions d = repvk::options_from_environment().device;
  if (!o) return d;
  if (o->select && o->select[0]) d.select = o->select;
  d.validation = d.validation || o->validation != 0;
  d.force_fp32 = d.force_fp32 || o->force_fp32 != 0;
  if (o->on_debug_message) {
    const repvk_debug_callback cb = o->on_debug_message;
    void* user = o->debug_user;
    d.on_debug_message = [cb, user](const repvk::DebugMessage& m) {
      cb(user, int(m.severity), m.id_name.c_str(), m.text.c_str());
    };
  }
  if (o->on_log) {
    const repvk_log_callback cb = o->on_log;
    void* user = o->log_user;
    d.on_log = [cb, user](repvk::LogLevel level, const std::string& message) {
      cb(user, static_cast<repvk_log_level>(level), message.c_str());
    };
  }
  return d;
}

repvk::NetworkOptions network_options(const repvk_network_options* o) {
  repvk::NetworkOptions n = repvk::options_from_environment().network;
  if (!o) return n;
  // Read as an int: a C caller may store any int in an enum, which C++ must not load
  // as the enum type.
  int precision = 0;
  static_assert(sizeof precision == sizeof o->precision, "repvk_precision is an int");
  std::memcpy(&precision, &o->precision, sizeof precision);
  switch (precision) {
    case REPVK_PRECISION_AUTO: n.precision = repvk::Precision::Auto; break;
    case REPVK_PRECISION_FP32: n.precision = repvk::Precision::Fp32; break;
    case REPVK_PRECISION_FP16: n.precision = repvk::Precision::Fp16; break;
    default: throw std::invalid_argument("unknown precision " + std::to_string(precision));
  }
  if (o->max_batch) n.max_batch = o->max_batch;
  if (o->pipeline_cache_path) n.pipeline_cache_path = o->pipeline_cache_path;
  n.pipeline_cache = o->pipeline_cache;
  return n;
}

repvk::ImageInput image_input(const repvk_image_input& c) {
  repvk::ImageInput in;
  in.view = c.view;
  in.layout = c.layout;
  in.width = c.width;
  in.height = c.height;
  in.channels = c.channels;
  in.srgb = c.srgb != 0;
  in.image = c.image;
  return in;
}

// Throws InvalidArgument unless `out` can take `needed` floats. Called before the
// work, so that a too-small buffer costs nothing and is never written.
void check_output(const char* call, const float* out, size_t out_floats, size_t needed,
                  const char* what) {
  if (out_floats < needed)
    throw repvk::InvalidArgument(std::string(call) + ": out holds " + std::to_string(out_floats) +
                                 " floats, " + what + " needs " + std::to_string(needed));
  if (!out) throw repvk::InvalidArgument(std::string(call) + ": out is NULL");
}

void copy_out(const std::vector<float>& v, float* out, size_t out_floats) {
  if (v.size() > out_floats)  // checked before the work; kept as the last line of defence
    throw repvk::InvalidArgument("output holds " + std::to_string(out_floats) + " floats, " +
                                 std::to_string(v.size()) + " needed");
  std::memcpy(out, v.data(), v.size() * sizeof(float));
}

repvk_status finish_load(repvk_device* device, const repvk::Model& model,
                         const repvk_network_options* options, repvk_network** out) {
  auto n = std::make_unique<repvk_network>();
  n->device = device;
  n->network = std::make_unique<repvk::Network>(*device->device, model, network_options(options));
  registry<repvk_network>().add(n.get());
  ++device->networks;
  *out = n.release();
  return REPVK_OK;
}

// infer and infer_logits: every size checked, then the work.
repvk_status run_infer(const char* call, repvk_network* network, const float* input,
                       size_t input_floats, uint32_t batch, float* out, size_t out_floats,
                       bool logits) {
  if (!live(network)) return invalid(nullptr, bad_handle(call, "network", network));
  return guarded(&network->last_error, [&] {
    repvk::Network& net = *network->network;
    if (batch == 0) throw repvk::InvalidArgument(std::string(call) + ": batch is 0");
    const size_t per_image = net.input_size();
    if (input_floats / per_image < batch)
      throw repvk::InvalidArgument(std::string(call) + ": input holds " +
                                   std::to_string(input_floats) + " floats, batch " +
                                   std::to_string(batch) + " needs " +
                                   std::to_string(size_t(batch) * per_image) + " (" +
                                   std::to_string(per_image) + " per image)");
    if (!input) throw repvk::InvalidArgument(std::string(call) + ": input is NULL");
    const size_t needed = size_t(batch) * net.num_classes();
    check_output(call, out, out_floats, needed, ("batch " + std::to_string(batch)).c_str());
    copy_out(logits ? net.infer_logits(input, input_floats, batch)
                    : net.infer(input, input_floats, batch),
             out, out_floats);
  });
}

}  // namespace

extern "C" {

const char* repvk_version_string(void) { return REPVK_VERSION_STRING; }
uint32_t repvk_version(void) { return REPVK_VERSION; }
uint32_t repvk_model_format_version(void) { return repvk::kModelVersion; }

const char* repvk_status_name(repvk_status status) {
  int code = 0;  // as an int, for the same reason as the precision above
  static_assert(sizeof code == sizeof status, "repvk_status is an int");
  std::memcpy(&code, &status, sizeof code);
  switch (code) {
    case REPVK_OK: return "REPVK_OK";
    case REPVK_ERROR_INVALID_ARGUMENT: return "REPVK_ERROR_INVALID_ARGUMENT";
    case REPVK_ERROR_MODEL: return "REPVK_ERROR_MODEL";
    case REPVK_ERROR_VULKAN: return "REPVK_ERROR_VULKAN";
    case REPVK_ERROR_ENGINE: return "REPVK_ERROR_ENGINE";
    case REPVK_ERROR_NOT_READY: return "REPVK_ERROR_NOT_READY";
    case REPVK_ERROR_INTERNAL: return "REPVK_ERROR_INTERNAL";
  }
  return "REPVK_ERROR_UNKNOWN";
}

const char* repvk_last_error(void) { return t_last_error.c_str(); }

void repvk_device_options_init(repvk_device_options* options) {
  if (options) *options = repvk_device_options{};
}

repvk_status repvk_device_create(const repvk_device_options* options, repvk_device** out) {
  if (!out) return invalid(nullptr, "repvk_device_create: out is NULL");
  *out = nullptr;
  return guarded(nullptr, [&] {
    auto d = std::make_unique<repvk_device>();
    d->device = repvk::Device::create(device_options(options));
    d->name = d->device->info().name;
    registry<repvk_device>().add(d.get());
    *out = d.release();
  });
}

repvk_status repvk_device_adopt(const repvk_adopted_handles* handles,
                                const repvk_device_options* options, repvk_device** out) {
  if (out) *out = nullptr;  // on every failure, whatever the reason
  if (!out || !handles) return invalid(nullptr, "repvk_device_adopt: handles or out is NULL");
  return guarded(nullptr, [&] {
    repvk::AdoptedHandles h;
    h.instance = handles->instance;
    h.physical_device = handles->physical_device;
    h.device = handles->device;
    h.queue = handles->queue;
    h.queue_family = handles->queue_family;
    h.storage_16bit_enabled = handles->storage_16bit_enabled != 0;
    h.float16_enabled = handles->float16_enabled != 0;
    if ((handles->queue_lock == nullptr) != (handles->queue_unlock == nullptr))
      throw std::invalid_argument(
          "repvk_device_adopt: queue_lock and queue_unlock must be set together");
    if (handles->queue_lock) {
      void (*lock)(void*) = handles->queue_lock;
      void (*unlock)(void*) = handles->queue_unlock;
      void* user = handles->queue_lock_user;
      h.queue_lock = [lock, user] { lock(user); };
      h.queue_unlock = [unlock, user] { unlock(user); };
    }
    auto d = std::make_unique<repvk_device>();
    d->device = repvk::Device::adopt(h, device_options(options));
    d->name = d->device->info().name;
    registry<repvk_device>().add(d.get());
    *out = d.release();
  });
}

repvk_status repvk_device_destroy(repvk_device* device) {
  if (!device) return guarded(nullptr, [] {});
  if (!live(device))
    return invalid(nullptr, bad_handle("repvk_device_destroy", "device", device));
  const uint32_t networks = device->networks.load();
  if (networks != 0)
    return guarded(&device->last_error, [&] {
      throw repvk::Error("repvk_device_destroy: " + std::to_string(networks) +
                         " network(s) on this device still exist; destroy them first "
                         "(the device was not destroyed)");
    });
  registry<repvk_device>().remove(device);
  delete device;
  clear_errors(nullptr);
  return REPVK_OK;
}

const char* repvk_device_name(const repvk_device* device) {
  return live(device) ? device->name.c_str() : "";
}

uint32_t repvk_device_queue_family(const repvk_device* device) {
  return live(device) ? device->device->queue_family() : UINT32_MAX;
}

const char* repvk_device_last_error(const repvk_device* device) {
  return live(device) ? device->last_error.c_str() : "";
}

uint64_t repvk_device_allocated_bytes(const repvk_device* device) {
  return live(device) ? device->device->allocated_bytes() : 0;
}

void repvk_network_options_init(repvk_network_options* options) {
  if (!options) return;
  *options = repvk_network_options{};
  options->precision = REPVK_PRECISION_AUTO;
  options->max_batch = 16;
}

repvk_status repvk_network_load(repvk_device* device, const char* model_path,
                                const repvk_network_options* options, repvk_network** out) {
  if (out) *out = nullptr;  // on every failure, whatever the reason
  if (!live(device)) return invalid(nullptr, bad_handle("repvk_network_load", "device", device));
  if (!out || !model_path)
    return invalid(&device->last_error, "repvk_network_load: model_path and out must not be NULL");
  return guarded(&device->last_error,
                 [&] { finish_load(device, repvk::read_model(model_path), options, out); });
}

repvk_status repvk_network_load_memory(repvk_device* device, const void* data, size_t size,
                                       const char* source, const repvk_network_options* options,
                                       repvk_network** out) {
  if (out) *out = nullptr;  // on every failure, whatever the reason
  if (!live(device))
    return invalid(nullptr, bad_handle("repvk_network_load_memory", "device", device));
  if (!out || (!data && size))
    return invalid(&device->last_error,
                   "repvk_network_load_memory: out must not be NULL, nor data when size is not 0");
  return guarded(&device->last_error, [&] {
    const repvk::Model model = repvk::parse_model(static_cast<const uint8_t*>(data), size,
                                                  source ? source : "memory");
    finish_load(device, model, options, out);
  });
}

void repvk_network_destroy(repvk_network* network) {
  if (!live(network)) return;  // NULL, or destroyed already: nothing to do
  registry<repvk_network>().remove(network);
  repvk_device* device = network->device;
  delete network;  // ~Network waits for its own submissions
  --device->networks;
}

const char* repvk_network_last_error(const repvk_network* network) {
  return live(network) ? network->last_error.c_str() : "";
}

uint32_t repvk_network_num_classes(const repvk_network* network) {
  return live(network) ? network->network->num_classes() : 0;
}

const char* repvk_network_class_name(const repvk_network* network, uint32_t label) {
  if (!live(network) || label >= network->network->num_classes()) return nullptr;
  return network->network->model().class_names[label].c_str();
}

void repvk_network_input_shape(const repvk_network* network, uint32_t* channels,
                               uint32_t* height, uint32_t* width) {
  const repvk::InputSpec* in = live(network) ? &network->network->model().input : nullptr;
  if (channels) *channels = in ? in->channels : 0;
  if (height) *height = in ? in->height : 0;
  if (width) *width = in ? in->width : 0;
}

repvk_status repvk_network_infer(repvk_network* network, const float* input,
                                 size_t input_floats, uint32_t batch, float* out,
                                 size_t out_floats) {
  return run_infer("repvk_network_infer", network, input, input_floats, batch, out, out_floats,
                   false);
}

repvk_status repvk_network_infer_logits(repvk_network* network, const float* input,
                                        size_t input_floats, uint32_t batch, float* out,
                                        size_t out_floats) {
  return run_infer("repvk_network_infer_logits", network, input, input_floats, batch, out,
                   out_floats, true);
}

repvk_status repvk_network_classify_pixels(repvk_network* network, const uint8_t* pixels,
                                           size_t pixel_bytes, uint32_t width, uint32_t height,
                                           uint32_t channels, size_t row_stride, float* out,
                                           size_t out_floats) {
  static const char* call = "repvk_network_classify_pixels";
  if (!live(network)) return invalid(nullptr, bad_handle(call, "network", network));
  return guarded(&network->last_error, [&] {
    using repvk::InvalidArgument;
    if (width == 0 || height == 0 || width > REPVK_MAX_IMAGE_DIMENSION ||
        height > REPVK_MAX_IMAGE_DIMENSION)
      throw InvalidArgument(std::string(call) + ": image is " + std::to_string(width) + "x" +
                            std::to_string(height) + " pixels; each side must be 1 to " +
                            std::to_string(REPVK_MAX_IMAGE_DIMENSION));
    if (channels < 1 || channels > 4)
      throw InvalidArgument(std::string(call) + ": unsupported image channel count " +
                            std::to_string(channels) + " (1 to 4)");
    // Bounded by the limits above: no overflow in size_t.
    const size_t row_bytes = size_t(width) * channels;
    const size_t stride = row_stride ? row_stride : row_bytes;
    if (stride < row_bytes)
      throw InvalidArgument(std::string(call) + ": row_stride " + std::to_string(stride) +
                            " bytes is less than a row (" + std::to_string(width) + " x " +
                            std::to_string(channels) + " = " + std::to_string(row_bytes) + ")");
    if (height > 1 && stride > (SIZE_MAX - row_bytes) / (height - 1))
      throw InvalidArgument(std::string(call) + ": row_stride " + std::to_string(stride) +
                            " bytes is too large");
    const size_t needed = stride * (height - 1) + row_bytes;
    if (pixel_bytes < needed)
      throw InvalidArgument(std::string(call) + ": pixels hold " + std::to_string(pixel_bytes) +
                            " bytes, a " + std::to_string(width) + "x" + std::to_string(height) +
                            "x" + std::to_string(channels) + " image with row_stride " +
                            std::to_string(stride) + " needs " + std::to_string(needed));
    if (!pixels) throw InvalidArgument(std::string(call) + ": pixels is NULL");
    check_output(call, out, out_floats, network->network->num_classes(), "one image");
    repvk::Image img;
    img.width = width;
    img.height = height;
    img.channels = channels;
    img.pixels.resize(row_bytes * height);
    for (uint32_t y = 0; y < height; ++y)
      std::memcpy(img.pixels.data() + y * row_bytes, pixels + y * stride, row_bytes);
    copy_out(network->network->classify(img), out, out_floats);
  });
}

repvk_status repvk_network_record_classify_image(repvk_network* network, VkCommandBuffer cmd,
                                                 const repvk_image_input* image) {
  static const char* call = "repvk_network_record_classify_image";
  if (!live(network)) return invalid(nullptr, bad_handle(call, "network", network));
  if (!image) return invalid(&network->last_error, std::string(call) + ": image is NULL");
  return guarded(&network->last_error, [&] {
    network->network->record_classify_image(cmd, image_input(*image));
    network->image = repvk_network::Image::Recorded;
  });
}

repvk_status repvk_network_submit_classify_image(repvk_network* network,
                                                 const repvk_image_input* image,
                                                 const VkSemaphore* wait_semaphores,
                                                 uint32_t wait_count, VkSemaphore signal_semaphore,
                                                 VkFence fence) {
  static const char* call = "repvk_network_submit_classify_image";
  if (!live(network)) return invalid(nullptr, bad_handle(call, "network", network));
  if (!image) return invalid(&network->last_error, std::string(call) + ": image is NULL");
  if (wait_count && !wait_semaphores)
    return invalid(&network->last_error,
                   std::string(call) + ": wait_semaphores is NULL but wait_count is " +
                       std::to_string(wait_count));
  return guarded(&network->last_error, [&] {
    repvk::SubmitSync sync;
    if (wait_count) sync.wait_semaphores.assign(wait_semaphores, wait_semaphores + wait_count);
    sync.wait_stages.assign(wait_count, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
    if (signal_semaphore != VK_NULL_HANDLE) sync.signal_semaphores.push_back(signal_semaphore);
    sync.fence = fence;
    network->network->submit_classify_image(image_input(*image), sync);
    network->image = repvk_network::Image::Submitted;
  });
}

repvk_status repvk_network_poll(repvk_network* network) {
  if (!live(network)) return invalid(nullptr, bad_handle("repvk_network_poll", "network", network));
  if (network->image == repvk_network::Image::None)
    return guarded(&network->last_error, [] {
      throw repvk::Error("repvk_network_poll: nothing submitted (no image was classified "
                         "with record_/submit_classify_image yet)");
    });
  bool ready = false;
  const repvk_status s =
      guarded(&network->last_error, [&] { ready = network->network->result_ready(); });
  if (s != REPVK_OK) return s;
  return ready ? REPVK_OK : REPVK_ERROR_NOT_READY;
}

repvk_status repvk_network_read_result(repvk_network* network, float* out, size_t out_floats) {
  static const char* call = "repvk_network_read_result";
  if (!live(network)) return invalid(nullptr, bad_handle(call, "network", network));
  return guarded(&network->last_error, [&] {
    check_output(call, out, out_floats, network->network->num_classes(), "one image");
    copy_out(network->network->read_result(), out, out_floats);
  });
}

}  // extern "C"

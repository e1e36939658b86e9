// The C API (repvk/repvk.h) over the C++ one. Every entry point catches everything:
// an exception must never cross into C, Rust or Python.
#include "repvk/repvk.h"

#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "repvk/device.h"
#include "repvk/environment.h"
#include "repvk/error.h"
#include "repvk/model.h"
#include "repvk/network.h"

static_assert(REPVK_MODEL_FORMAT_VERSION == repvk::kModelVersion,
              "version.h.in and model.h disagree on the model format version");

struct repvk_device {
  std::unique_ptr<repvk::Device> device;
  std::string name;
  std::string last_error;
};

struct repvk_network {
  repvk_device* device = nullptr;
  std::unique_ptr<repvk::Network> network;
  std::string last_error;
};

namespace {

thread_local std::string t_last_error;

// Runs `body`, turning any exception into a status and a message stored for the
// thread and, when there is one, the handle.
template <typename Body>
repvk_status guarded(std::string* handle_error, Body&& body) {
  repvk_status status = REPVK_OK;
  std::string message;
  try {
    body();
    return REPVK_OK;
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

repvk_status invalid(std::string* handle_error, const char* message) {
  return guarded(handle_error, [&] { throw std::invalid_argument(message); });
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
  return d;
}

repvk::NetworkOptions network_options(const repvk_network_options* o) {
  repvk::NetworkOptions n = repvk::options_from_environment().network;
  if (!o) return n;
  switch (o->precision) {
    case REPVK_PRECISION_AUTO: n.precision = repvk::Precision::Auto; break;
    case REPVK_PRECISION_FP32: n.precision = repvk::Precision::Fp32; break;
    case REPVK_PRECISION_FP16: n.precision = repvk::Precision::Fp16; break;
    default: throw std::invalid_argument("unknown precision " + std::to_string(int(o->precision)));
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

void copy_out(const std::vector<float>& v, float* out, size_t capacity) {
  if (v.size() > capacity)
    throw std::invalid_argument("output holds " + std::to_string(capacity) + " floats, " +
                                std::to_string(v.size()) + " needed");
  std::memcpy(out, v.data(), v.size() * sizeof(float));
}

repvk_status finish_load(repvk_device* device, const repvk::Model& model,
                         const repvk_network_options* options, repvk_network** out) {
  auto n = std::make_unique<repvk_network>();
  n->device = device;
  n->network = std::make_unique<repvk::Network>(*device->device, model, network_options(options));
  *out = n.release();
  return REPVK_OK;
}

}  // namespace

extern "C" {

const char* repvk_version_string(void) { return REPVK_VERSION_STRING; }
uint32_t repvk_version(void) { return REPVK_VERSION; }
uint32_t repvk_model_format_version(void) { return repvk::kModelVersion; }

const char* repvk_status_name(repvk_status status) {
  switch (status) {
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
    *out = d.release();
  });
}

repvk_status repvk_device_adopt(const repvk_adopted_handles* handles,
                                const repvk_device_options* options, repvk_device** out) {
  if (!out || !handles) return invalid(nullptr, "repvk_device_adopt: handles or out is NULL");
  *out = nullptr;
  return guarded(nullptr, [&] {
    repvk::AdoptedHandles h;
    h.instance = handles->instance;
    h.physical_device = handles->physical_device;
    h.device = handles->device;
    h.queue = handles->queue;
    h.queue_family = handles->queue_family;
    h.storage_16bit_enabled = handles->storage_16bit_enabled != 0;
    auto d = std::make_unique<repvk_device>();
    d->device = repvk::Device::adopt(h, device_options(options));
    d->name = d->device->info().name;
    *out = d.release();
  });
}

void repvk_device_destroy(repvk_device* device) { delete device; }

const char* repvk_device_name(const repvk_device* device) {
  return device ? device->name.c_str() : "";
}

uint32_t repvk_device_queue_family(const repvk_device* device) {
  return device ? device->device->queue_family() : UINT32_MAX;
}

const char* repvk_device_last_error(const repvk_device* device) {
  return device ? device->last_error.c_str() : "";
}

uint64_t repvk_device_allocated_bytes(const repvk_device* device) {
  return device ? device->device->allocated_bytes() : 0;
}

void repvk_network_options_init(repvk_network_options* options) {
  if (!options) return;
  *options = repvk_network_options{};
  options->precision = REPVK_PRECISION_AUTO;
  options->max_batch = 16;
}

repvk_status repvk_network_load(repvk_device* device, const char* model_path,
                                const repvk_network_options* options, repvk_network** out) {
  if (!out || !device || !model_path)
    return invalid(device ? &device->last_error : nullptr,
                   "repvk_network_load: device, model_path and out must not be NULL");
  *out = nullptr;
  return guarded(&device->last_error,
                 [&] { finish_load(device, repvk::read_model(model_path), options, out); });
}

repvk_status repvk_network_load_memory(repvk_device* device, const void* data, size_t size,
                                       const char* source, const repvk_network_options* options,
                                       repvk_network** out) {
  if (!out || !device || (!data && size))
    return invalid(device ? &device->last_error : nullptr,
                   "repvk_network_load_memory: device, data and out must not be NULL");
  *out = nullptr;
  return guarded(&device->last_error, [&] {
    const repvk::Model model = repvk::parse_model(static_cast<const uint8_t*>(data), size,
                                                  source ? source : "memory");
    finish_load(device, model, options, out);
  });
}

void repvk_network_destroy(repvk_network* network) { delete network; }

const char* repvk_network_last_error(const repvk_network* network) {
  return network ? network->last_error.c_str() : "";
}

uint32_t repvk_network_num_classes(const repvk_network* network) {
  return network ? network->network->num_classes() : 0;
}

const char* repvk_network_class_name(const repvk_network* network, uint32_t label) {
  if (!network || label >= network->network->num_classes()) return nullptr;
  return network->network->model().class_names[label].c_str();
}

void repvk_network_input_shape(const repvk_network* network, uint32_t* channels,
                               uint32_t* height, uint32_t* width) {
  const repvk::InputSpec* in = network ? &network->network->model().input : nullptr;
  if (channels) *channels = in ? in->channels : 0;
  if (height) *height = in ? in->height : 0;
  if (width) *width = in ? in->width : 0;
}

repvk_status repvk_network_infer(repvk_network* network, const float* input, uint32_t batch,
                                 float* out, size_t capacity) {
  if (!network || (!input && batch) || (!out && capacity))
    return invalid(network ? &network->last_error : nullptr,
                   "repvk_network_infer: network, input and out must not be NULL");
  return guarded(&network->last_error,
                 [&] { copy_out(network->network->infer(input, batch), out, capacity); });
}

repvk_status repvk_network_infer_logits(repvk_network* network, const float* input,
                                        uint32_t batch, float* out, size_t capacity) {
  if (!network || (!input && batch) || (!out && capacity))
    return invalid(network ? &network->last_error : nullptr,
                   "repvk_network_infer_logits: network, input and out must not be NULL");
  return guarded(&network->last_error,
                 [&] { copy_out(network->network->infer_logits(input, batch), out, capacity); });
}

repvk_status repvk_network_classify_pixels(repvk_network* network, const uint8_t* pixels,
                                           uint32_t width, uint32_t height, uint32_t channels,
                                           float* out, size_t capacity) {
  if (!network || !pixels || !out)
    return invalid(network ? &network->last_error : nullptr,
                   "repvk_network_classify_pixels: network, pixels and out must not be NULL");
  return guarded(&network->last_error, [&] {
    repvk::Image img;
    img.width = width;
    img.height = height;
    img.channels = channels;
    img.pixels.assign(pixels, pixels + size_t(width) * height * channels);
    copy_out(network->network->classify(img), out, capacity);
  });
}

repvk_status repvk_network_record_classify_image(repvk_network* network, VkCommandBuffer cmd,
                                                 const repvk_image_input* image) {
  if (!network || !image)
    return invalid(network ? &network->last_error : nullptr,
                   "repvk_network_record_classify_image: network and image must not be NULL");
  return guarded(&network->last_error,
                 [&] { network->network->record_classify_image(cmd, image_input(*image)); });
}

repvk_status repvk_network_submit_classify_image(repvk_network* network,
                                                 const repvk_image_input* image,
                                                 const VkSemaphore* wait_semaphores,
                                                 uint32_t wait_count, VkSemaphore signal_semaphore,
                                                 VkFence fence) {
  if (!network || !image || (wait_count && !wait_semaphores))
    return invalid(network ? &network->last_error : nullptr,
                   "repvk_network_submit_classify_image: network, image and wait_semaphores "
                   "must not be NULL");
  return guarded(&network->last_error, [&] {
    repvk::SubmitSync sync;
    sync.wait_semaphores.assign(wait_semaphores, wait_semaphores + wait_count);
    sync.wait_stages.assign(wait_count, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
    if (signal_semaphore != VK_NULL_HANDLE) sync.signal_semaphores.push_back(signal_semaphore);
    sync.fence = fence;
    network->network->submit_classify_image(image_input(*image), sync);
  });
}

repvk_status repvk_network_poll(repvk_network* network) {
  if (!network) return invalid(nullptr, "repvk_network_poll: network is NULL");
  bool ready = false;
  const repvk_status s =
      guarded(&network->last_error, [&] { ready = network->network->result_ready(); });
  if (s != REPVK_OK) return s;
  return ready ? REPVK_OK : REPVK_ERROR_NOT_READY;
}

repvk_status repvk_network_read_result(repvk_network* network, float* out, size_t capacity) {
  if (!network || !out)
    return invalid(network ? &network->last_error : nullptr,
                   "repvk_network_read_result: network and out must not be NULL");
  return guarded(&network->last_error,
                 [&] { copy_out(network->network->read_result(), out, capacity); });
}

}  // extern "C"

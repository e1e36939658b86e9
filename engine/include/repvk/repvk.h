// SPDX-License-Identifier: MIT
/* repvk C API: opaque handles and status codes over the C++ API, for C, Rust,
 * Python (ctypes) and game engines. Pure C99; no function here throws or aborts.
 *
 * Errors: every fallible call returns a repvk_status and checks its arguments before
 * doing any work: NULL handles, handles already destroyed (as far as repvk can tell:
 * see below), and every buffer against the size the caller passes with it. The
 * message of the last call is kept per handle (repvk_device_last_error,
 * repvk_network_last_error) and per thread (repvk_last_error); a successful call
 * empties both, so a non-empty message always belongs to the last call that failed
 * there. Messages name the file, layer, size or Vulkan result involved.
 *
 * Sizes: every pointer to a caller's buffer comes with its size, in floats for float
 * buffers and in bytes for pixels. A call needing more than the size says refuses with
 * REPVK_ERROR_INVALID_ARGUMENT and a message giving both numbers; nothing is read or
 * written past the sizes given. Larger buffers are fine.
 *
 * Ownership: *_create / *_load / *_adopt return a handle the caller destroys with the
 * matching *_destroy. repvk_device_destroy refuses (REPVK_ERROR_ENGINE, the device
 * stays valid) while networks created on the device still exist. Vulkan handles passed
 * in are borrowed and never destroyed. Strings returned are owned by repvk.
 * repvk keeps a registry of its live handles, so a call on a destroyed handle is
 * refused with REPVK_ERROR_INVALID_ARGUMENT, unless a newer handle of the same kind has
 * since been given the same address: do not rely on it beyond debugging.
 *
 * Threads: a handle may be used by one thread at a time. Different networks, also on
 * one device, may be used concurrently from different threads; repvk serializes its
 * own queue submissions per device. The device calls below that only read
 * (repvk_device_name, _queue_family, _allocated_bytes) may run concurrently with
 * network calls on that device. docs/embedding.md has the whole model.
 */
#ifndef REPVK_REPVK_H
#define REPVK_REPVK_H

#include <stddef.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#include "repvk/export.h"
#include "repvk/version.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum repvk_status {
  REPVK_OK = 0,
  REPVK_ERROR_INVALID_ARGUMENT = -1, /* null pointer, bad size, bad option */
  REPVK_ERROR_MODEL = -2,            /* model file missing, malformed or unsupported */
  REPVK_ERROR_VULKAN = -3,           /* a Vulkan call failed (device lost, out of memory) */
  REPVK_ERROR_ENGINE = -4,           /* refused: device limits or features, a bad image,
                                        calls out of order; the message says which */
  REPVK_ERROR_NOT_READY = -5,        /* no result yet */
  REPVK_ERROR_INTERNAL = -6          /* anything else; the message says what */
} repvk_status;

typedef struct repvk_device repvk_device;
typedef struct repvk_network repvk_network;

/* Version of the library actually loaded (compare with REPVK_VERSION from the header). */
REPVK_API const char* repvk_version_string(void);
REPVK_API uint32_t repvk_version(void);
REPVK_API uint32_t repvk_model_format_version(void);
/* "REPVK_OK", "REPVK_ERROR_MODEL", ... */
REPVK_API const char* repvk_status_name(repvk_status status);
/* Message of the last call on this thread: "" when it succeeded (or none was made). */
REPVK_API const char* repvk_last_error(void);

/* Called for each validation/driver message: severity is a
 * VkDebugUtilsMessageSeverityFlagBitsEXT value. May run on any thread. */
typedef void (*repvk_debug_callback)(void* user, int severity, const char* id,
                                     const char* text);

/* Severity of a library message; the values of repvk::LogLevel (repvk/log.h). */
typedef enum repvk_log_level {
  REPVK_LOG_DEBUG = 0,
  REPVK_LOG_INFO = 1,    /* what the engine did (pipeline cache loaded, written) */
  REPVK_LOG_WARNING = 2, /* went wrong, repvk carried on (a cache file not written) */
  REPVK_LOG_ERROR = 3
} repvk_log_level;

/* Receives the library's messages about a device and its networks: one line each, no
 * newline. repvk never writes to stdout or stderr; without a callback the messages are
 * discarded. May run on any thread; must not call into repvk. */
typedef void (*repvk_log_callback)(void* user, repvk_log_level level, const char* message);

typedef struct repvk_device_options {
  const char* select;     /* NULL or "": automatic; index or name substring */
  int validation;         /* nonzero: VK_LAYER_KHRONOS_validation (owned devices only) */
  int force_fp32;         /* nonzero: never use fp16 storage */
  repvk_debug_callback on_debug_message; /* NULL: to on_log (warning or error level) */
  void* debug_user;
  repvk_log_callback on_log; /* NULL: messages are discarded */
  void* log_user;            /* passed to on_log */
} repvk_device_options;

/* Fills *options with the defaults. */
REPVK_API void repvk_device_options_init(repvk_device_options* options);

/* Creates an instance and device owned by repvk. options may be NULL.
 * repvk_device_create and repvk_device_adopt start from the environment
 * (options_from_environment(), repvk/environment.h: REPVK_DEVICE, REPVK_VALIDATION,
 * REPVK_FORCE_FP32): a non-empty select replaces REPVK_DEVICE, and validation and
 * force_fp32 are on when either the option or the variable says so. A variable with
 * a bad value fails the call with REPVK_ERROR_ENGINE naming it. */
REPVK_API repvk_status repvk_device_create(const repvk_device_options* options,
                                           repvk_device** out);

/* Borrowed handles of the application's device; none is ever destroyed by repvk.
 * The queue must support compute. Vulkan requires vkQueueSubmit on one queue to be
 * externally synchronized: an application that submits to the same queue from other
 * threads passes its lock as queue_lock/queue_unlock, which repvk calls around each of
 * its own submissions (repvk::AdoptedHandles::queue_lock in C++). Without them, do not
 * submit to that queue while a repvk call is running. Zero-initialize the struct
 * (= {0} or memset) so that fields added later stay off. */
typedef struct repvk_adopted_handles {
  VkInstance instance;
  VkPhysicalDevice physical_device;
  VkDevice device;
  VkQueue queue;
  uint32_t queue_family;
  int storage_16bit_enabled; /* the app enabled storageBuffer16BitAccess */
  int float16_enabled;       /* the app enabled shaderFloat16 (fp16 arithmetic) */
  /* Both or neither (REPVK_ERROR_INVALID_ARGUMENT otherwise); called with queue_lock_user. */
  void (*queue_lock)(void* user);
  void (*queue_unlock)(void* user);
  void* queue_lock_user;
} repvk_adopted_handles;

REPVK_API repvk_status repvk_device_adopt(const repvk_adopted_handles* handles,
                                          const repvk_device_options* options,
                                          repvk_device** out);
/* REPVK_OK, also for NULL. REPVK_ERROR_ENGINE while networks loaded on the device
 * still exist: nothing is destroyed then, and the message says how many. */
REPVK_API repvk_status repvk_device_destroy(repvk_device* device);
REPVK_API const char* repvk_device_name(const repvk_device* device);
REPVK_API uint32_t repvk_device_queue_family(const repvk_device* device);
REPVK_API const char* repvk_device_last_error(const repvk_device* device);
/* Device memory repvk holds on this device now (all its networks together). */
REPVK_API uint64_t repvk_device_allocated_bytes(const repvk_device* device);

typedef enum repvk_precision {
  REPVK_PRECISION_AUTO = 0,
  REPVK_PRECISION_FP32 = 1,
  REPVK_PRECISION_FP16 = 2
} repvk_precision;

typedef struct repvk_network_options {
  repvk_precision precision;
  uint32_t max_batch;              /* images per submission; default 16 */
  const char* pipeline_cache_path; /* NULL or "": default location; "none": off */
  VkPipelineCache pipeline_cache;  /* the app's cache (borrowed), or VK_NULL_HANDLE */
} repvk_network_options;

REPVK_API void repvk_network_options_init(repvk_network_options* options);

/* Reads, validates (format version included) and uploads a model file.
 * Both loads start from the environment too (REPVK_CONV, REPVK_CONV_TILE,
 * REPVK_CONV_SG; XDG_CACHE_HOME or HOME give the default pipeline cache location). */
REPVK_API repvk_status repvk_network_load(repvk_device* device, const char* model_path,
                                          const repvk_network_options* options,
                                          repvk_network** out);
/* Same from memory; `source` names the data in messages. */
REPVK_API repvk_status repvk_network_load_memory(repvk_device* device, const void* data,
                                                 size_t size, const char* source,
                                                 const repvk_network_options* options,
                                                 repvk_network** out);
REPVK_API void repvk_network_destroy(repvk_network* network);
REPVK_API const char* repvk_network_last_error(const repvk_network* network);

REPVK_API uint32_t repvk_network_num_classes(const repvk_network* network);
/* NULL for a label out of range. */
REPVK_API const char* repvk_network_class_name(const repvk_network* network, uint32_t label);
/* Model input: channels, height, width (any pointer may be NULL). */
REPVK_API void repvk_network_input_shape(const repvk_network* network, uint32_t* channels,
                                         uint32_t* height, uint32_t* width);

/* Largest width and height repvk_network_classify_pixels accepts (also the image
 * decoder's limit, repvk::ImageLimits::kMaxDimension). */
#define REPVK_MAX_IMAGE_DIMENSION 16384u

/* batch preprocessed images in: NCHW floats, channels*height*width each, from
 * `input`, which holds `input_floats` floats. batch*num_classes probabilities out,
 * into `out`, which holds `out_floats` floats. Both sizes are checked before any work;
 * batch 0 is REPVK_ERROR_INVALID_ARGUMENT. Any batch that fits the buffers runs: it
 * is split into submissions of at most the network's max_batch images. */
REPVK_API repvk_status repvk_network_infer(repvk_network* network, const float* input,
                                           size_t input_floats, uint32_t batch, float* out,
                                           size_t out_floats);
/* Same, the logits before softmax. */
REPVK_API repvk_status repvk_network_infer_logits(repvk_network* network, const float* input,
                                                  size_t input_floats, uint32_t batch,
                                                  float* out, size_t out_floats);
/* One 8-bit image on the host (interleaved, 1/2/3/4 channels; rows `row_stride` bytes
 * apart, 0 meaning width*channels), in a buffer of `pixel_bytes` bytes: resized,
 * converted and normalized like the model expects, then classified; num_classes
 * probabilities into `out` (`out_floats` floats). width and height must be 1 to
 * REPVK_MAX_IMAGE_DIMENSION, and the buffer must hold
 * row_stride*(height-1) + width*channels bytes. */
REPVK_API repvk_status repvk_network_classify_pixels(repvk_network* network,
                                                     const uint8_t* pixels, size_t pixel_bytes,
                                                     uint32_t width, uint32_t height,
                                                     uint32_t channels, size_t row_stride,
                                                     float* out, size_t out_floats);

/* An application's VkImage (see repvk/image_input.h and docs/embedding.md; the C
 * struct mirrors repvk::ImageInput without the region of interest and transfers). */
typedef struct repvk_image_input {
  VkImageView view;
  VkImageLayout layout; /* SHADER_READ_ONLY_OPTIMAL or GENERAL */
  uint32_t width, height;
  uint32_t channels;    /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
  int srgb;             /* the view has an _SRGB format */
  VkImage image;        /* optional: repvk records the visibility barrier itself */
} repvk_image_input;

/* Records the classification into the app's command buffer (recording, outside a
 * render pass, from a pool of repvk_device_queue_family()). After the app's own
 * wait on that submission, repvk_network_read_result() returns the probabilities. */
REPVK_API repvk_status repvk_network_record_classify_image(repvk_network* network,
                                                           VkCommandBuffer cmd,
                                                           const repvk_image_input* image);
/* Submits on repvk's queue: waits on wait_semaphores (at compute stage), then signals
 * signal_semaphore and fence when they are not VK_NULL_HANDLE. Returns at once. */
REPVK_API repvk_status repvk_network_submit_classify_image(
    repvk_network* network, const repvk_image_input* image, const VkSemaphore* wait_semaphores,
    uint32_t wait_count, VkSemaphore signal_semaphore, VkFence fence);
/* After repvk_network_submit_classify_image: REPVK_OK once it finished, else
 * REPVK_ERROR_NOT_READY. After repvk_network_record_classify_image: REPVK_OK (the
 * application's own wait decides). Before either was ever called successfully:
 * REPVK_ERROR_ENGINE, "nothing submitted". Never blocks. */
REPVK_API repvk_status repvk_network_poll(repvk_network* network);
/* num_classes probabilities of the last image classification into `out`, which holds
 * `out_floats` floats; waits for a classification repvk submitted. Before any
 * record/submit: REPVK_ERROR_ENGINE, and `out` is untouched. */
REPVK_API repvk_status repvk_network_read_result(repvk_network* network, float* out,
                                                 size_t out_floats);

#ifdef __cplusplus
}
#endif

#endif /* REPVK_REPVK_H */

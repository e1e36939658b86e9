// SPDX-License-Identifier: MIT
#include "runtime/pipeline.h"

#include <sys/stat.h>

#include <cerrno>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "repvk/error.h"
#include "repvk/model.h"  // crc32
#include "repvk/util/atomic_file.h"
#include "runtime/shader_registry.h"

namespace repvk {
namespace {

// mkdir -p; failures surface later when the file is written.
void make_dirs(const std::string& dir) {
  std::string partial;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      if (!partial.empty()) ::mkdir(partial.c_str(), 0755);
    }
    if (i < dir.size()) partial += dir[i];
  }
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

// The cache file is this 24-byte frame followed by the driver's VkPipelineCache
// data. The driver's own header has no length or checksum, so without the frame a
// truncated or damaged file would reach the driver.
constexpr char kCacheMagic[8] = {'R', 'P', 'V', 'K', 'P', 'C', 'v', '1'};
struct CacheFrame {
  char magic[8];
  uint64_t payload_bytes;
  uint32_t payload_crc32;
  uint32_t reserved;
};
static_assert(sizeof(CacheFrame) == 24, "the on-disk frame is 24 bytes");

std::string bytes_text(uint64_t n) { return std::to_string(n) + " bytes"; }

// Reads the whole file; false when it does not exist or cannot be read.
bool read_cache_file(const std::string& path, std::vector<char>& bytes, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno != ENOENT) error = std::strerror(errno);
    return false;
  }
  bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) {
    error = "read error";
    return false;
  }
  return true;
}

}  // namespace

std::string PipelineCache::check_file(const std::vector<char>& file,
                                      const VkPhysicalDeviceProperties& props) {
  if (file.size() < sizeof(CacheFrame))
    return "truncated (" + bytes_text(file.size()) + ", shorter than its header)";
  CacheFrame frame;
  std::memcpy(&frame, file.data(), sizeof(frame));
  if (std::memcmp(frame.magic, kCacheMagic, sizeof(kCacheMagic)) != 0)
    return "not a repvk pipeline cache (bad magic)";
  const uint64_t payload = file.size() - sizeof(CacheFrame);
  if (frame.payload_bytes != payload)
    return "truncated or damaged (header says " + bytes_text(frame.payload_bytes) +
           " of pipeline data, the file holds " + bytes_text(payload) + ")";
  const auto* data = reinterpret_cast<const uint8_t*>(file.data()) + sizeof(CacheFrame);
  if (crc32(data, payload) != frame.payload_crc32) return "corrupt (checksum mismatch)";
  // The driver's VkPipelineCacheHeaderVersionOne.
  if (payload < 32) return "corrupt (pipeline data shorter than its header)";
  uint32_t header[4];
  std::memcpy(header, data, sizeof(header));
  if (header[0] < 32 || header[0] > payload || header[1] != VK_PIPELINE_CACHE_HEADER_VERSION_ONE)
    return "corrupt (bad pipeline cache header)";
  if (header[2] != props.vendorID || header[3] != props.deviceID ||
      std::memcmp(data + 16, props.pipelineCacheUUID, VK_UUID_SIZE) != 0)
    return "made by another device or driver version";
  return "";
}

std::string PipelineCache::default_path(const PhysicalDeviceInfo& info, const std::string& dir) {
  char name[96];
  std::snprintf(name, sizeof(name), "/pipelines-%04x-%04x.bin", info.vendor_id, info.device_id);
  return dir + name;
}

PipelineCache::PipelineCache(Device& device, const std::string& path, VkPipelineCache borrowed,
                             std::function<void(const std::string&)> note)
    : device_(device), note_(std::move(note)) {
  if (borrowed != VK_NULL_HANDLE) {
    cache_ = borrowed;
    borrowed_ = true;
    path_ = "none";
    return;
  }
  path_ = path.empty() ? std::string("none") : path;
  // A compile-only device shares its vendor/device IDs with the real GPU: keep its
  // cache off that GPU's file.
  if (device.compile_only()) path_ = "none";
  std::vector<char> file;
  std::string problem;
  if (path_ == "none") {
    tell("pipeline cache: off");
  } else if (!read_cache_file(path_, file, problem)) {
    tell("pipeline cache " + path_ + ": " +
         (problem.empty() ? "none yet; it will be created" : "unreadable (" + problem + "); it will be rewritten"));
  } else {
    // Anything that fails the checks is ignored and overwritten, never fed to the driver.
    VkPhysicalDeviceProperties props{};
    vkGetPhysicalDeviceProperties(device.physical_device(), &props);
    problem = check_file(file, props);
    if (problem.empty()) {
      loaded_ = true;
      tell("pipeline cache " + path_ + ": loaded " + bytes_text(file.size()));
    } else {
      tell("pipeline cache " + path_ + ": ignored, " + problem + "; it will be rewritten");
    }
  }
  VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  if (loaded_) {
    ci.initialDataSize = file.size() - sizeof(CacheFrame);
    ci.pInitialData = file.data() + sizeof(CacheFrame);
  }
  vk_check(vkCreatePipelineCache(device.handle(), &ci, nullptr, &cache_), "vkCreatePipelineCache");
}

PipelineCache::~PipelineCache() {
  try {
    save();
  } catch (const std::exception& e) {
    device_.log(LogLevel::Warning, e.what());
  }
  if (!borrowed_) vkDestroyPipelineCache(device_.handle(), cache_, nullptr);
}

void PipelineCache::tell(const std::string& message) const {
  if (note_)
    note_(message);
  else
    device_.log(LogLevel::Info, message);
}

void PipelineCache::save() const {
  if (path_ == "none") return;
  size_t size = 0;
  vk_check(vkGetPipelineCacheData(device_.handle(), cache_, &size, nullptr),
           "vkGetPipelineCacheData");
  std::vector<char> file(sizeof(CacheFrame) + size);
  vk_check(vkGetPipelineCacheData(device_.handle(), cache_, &size, file.data() + sizeof(CacheFrame)),
           "vkGetPipelineCacheData");
  file.resize(sizeof(CacheFrame) + size);  // the driver may return less the second time
  CacheFrame frame{};
  std::memcpy(frame.magic, kCacheMagic, sizeof(kCacheMagic));
  frame.payload_bytes = size;
  frame.payload_crc32 = crc32(reinterpret_cast<const uint8_t*>(file.data()) + sizeof(CacheFrame), size);
  std::memcpy(file.data(), &frame, sizeof(frame));
  make_dirs(parent_dir(path_));
  try {
    write_file_atomically(path_, std::string_view(file.data(), file.size()));
  } catch (const FileWriteError& e) {
    throw Error("cannot write pipeline cache " + path_ + ": " + e.problem());
  }
  if (!saved_) tell("pipeline cache " + path_ + ": wrote " + bytes_text(file.size()));
  saved_ = true;
}

ComputePipeline::ComputePipeline(Device& device, VkPipelineCache cache,
                                 std::string_view shader_name, uint32_t bindings,
                                 uint32_t push_constant_bytes, const std::vector<SpecConstant>& spec)
    : ComputePipeline(device, cache, shader_name,
                      std::vector<VkDescriptorType>(bindings, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER),
                      push_constant_bytes, spec) {}

namespace {

// What makes two pipelines interchangeable: everything the create call receives
// except the VkPipelineCache (which only saves compile time).
std::string pool_key(std::string_view shader_name, const std::vector<VkDescriptorType>& types,
                     uint32_t push_constant_bytes, const std::vector<SpecConstant>& spec) {
  std::string key(shader_name);
  key += "|b";
  for (VkDescriptorType t : types) key += std::to_string(int(t)) + ",";
  key += "|p" + std::to_string(push_constant_bytes) + "|s";
  for (const SpecConstant& c : spec) key += std::to_string(c.id) + "=" + std::to_string(c.value) + ",";
  return key;
}

std::unique_ptr<PipelineObjects> compile(Device& device, VkPipelineCache cache,
                                         std::string_view shader_name, const ShaderBlob& blob,
                                         const std::vector<VkDescriptorType>& types,
                                         uint32_t push_constant_bytes,
                                         const std::vector<SpecConstant>& spec) {
  VkDevice dev = device.handle();
  // Its destructor releases whatever was made so far when a step below throws.
  auto made = std::make_unique<PipelineObjects>();
  made->device = dev;

  const uint32_t bindings = static_cast<uint32_t>(types.size());
  std::vector<VkDescriptorSetLayoutBinding> layout_bindings(bindings);
  for (uint32_t i = 0; i < bindings; ++i) {
    layout_bindings[i].binding = i;
    layout_bindings[i].descriptorType = types[i];
    layout_bindings[i].descriptorCount = 1;
    layout_bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo set_ci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  set_ci.bindingCount = bindings;
  set_ci.pBindings = layout_bindings.data();
  vk_check(vkCreateDescriptorSetLayout(dev, &set_ci, nullptr, &made->set_layout),
           "vkCreateDescriptorSetLayout");

  VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_constant_bytes};
  VkPipelineLayoutCreateInfo layout_ci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  layout_ci.setLayoutCount = 1;
  layout_ci.pSetLayouts = &made->set_layout;
  layout_ci.pushConstantRangeCount = push_constant_bytes ? 1 : 0;
  layout_ci.pPushConstantRanges = push_constant_bytes ? &push : nullptr;
  vk_check(vkCreatePipelineLayout(dev, &layout_ci, nullptr, &made->layout),
           "vkCreatePipelineLayout");

  VkShaderModuleCreateInfo module_ci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  module_ci.codeSize = blob.word_count * sizeof(uint32_t);
  module_ci.pCode = blob.words;
  VkShaderModule module = VK_NULL_HANDLE;
  VkResult r = vkCreateShaderModule(dev, &module_ci, nullptr, &module);
  if (r == VK_SUCCESS) {
    std::vector<VkSpecializationMapEntry> entries(spec.size());
    std::vector<uint32_t> values(spec.size());
    for (uint32_t i = 0; i < spec.size(); ++i) {
      entries[i] = {spec[i].id, static_cast<uint32_t>(i * sizeof(uint32_t)), sizeof(uint32_t)};
      values[i] = spec[i].value;
    }
    VkSpecializationInfo spec_info{static_cast<uint32_t>(entries.size()), entries.data(),
                                   values.size() * sizeof(uint32_t), values.data()};
    VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    ci.stage.module = module;
    ci.stage.pName = "main";
    ci.stage.pSpecializationInfo = spec.empty() ? nullptr : &spec_info;
    ci.layout = made->layout;
    if (device.captures_pipeline_statistics())
      ci.flags |= VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR |
                  VK_PIPELINE_CREATE_CAPTURE_INTERNAL_REPRESENTATIONS_BIT_KHR;
    r = vkCreateComputePipelines(dev, cache, 1, &ci, nullptr, &made->pipeline);
    vkDestroyShaderModule(dev, module, nullptr);
  }
  if (r != VK_SUCCESS) throw VulkanError(r, "creating compute pipeline " + std::string(shader_name));
  return made;
}

}  // namespace

ComputePipeline::ComputePipeline(Device& device, VkPipelineCache cache,
                                 std::string_view shader_name, std::vector<VkDescriptorType> types,
                                 uint32_t push_constant_bytes, const std::vector<SpecConstant>& spec)
    : bindings_(static_cast<uint32_t>(types.size())), types_(types),
      push_bytes_(push_constant_bytes), shader_name_(shader_name) {
  const ShaderBlob* blob = find_shader(shader_name);
  if (!blob) throw Error("no embedded shader named \"" + std::string(shader_name) + "\"");
  if (push_constant_bytes > device.info().limits.max_push_constants)
    throw Error("shader " + std::string(shader_name) + " needs " +
                std::to_string(push_constant_bytes) + " bytes of push constants; the device " +
                "allows " + std::to_string(device.info().limits.max_push_constants));
  objects_ = device.pipeline_pool().get(pool_key(shader_name, types_, push_constant_bytes, spec), [&] {
    return compile(device, cache, shader_name, *blob, types_, push_constant_bytes, spec);
  });
  // Listed for every user, so that each Network's per-layer statistics name its pipelines
  // even when another Network compiled them.
  if (device.captures_pipeline_statistics()) {
    CreatedPipeline created{std::string(shader_name), {}, objects_->pipeline};
    for (const SpecConstant& c : spec) created.spec.emplace_back(c.id, c.value);
    device.note_pipeline(std::move(created));
  }
}

ComputePipeline::~ComputePipeline() = default;

void DescriptorCounts::add(const ComputePipeline& pipeline) {
  ++sets;
  for (VkDescriptorType t : pipeline.binding_types()) {
    if (t == VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER) ++texel_buffers;
    else ++storage_buffers;
  }
}

// Every binding may be either kind (the *_texel kernels read through texel buffers).
DescriptorArena::DescriptorArena(Device& device, uint32_t max_sets, uint32_t max_buffers)
    : DescriptorArena(device, DescriptorCounts{max_sets, max_buffers, max_buffers}) {}

DescriptorArena::DescriptorArena(Device& device, const DescriptorCounts& counts) : device_(device) {
  // A pool size may not be 0; an unused type costs one descriptor.
  const VkDescriptorPoolSize sizes[2] = {
      {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, std::max(1u, counts.storage_buffers)},
      {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, std::max(1u, counts.texel_buffers)}};
  VkDescriptorPoolCreateInfo ci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  ci.maxSets = std::max(1u, counts.sets);
  ci.poolSizeCount = 2;
  ci.pPoolSizes = sizes;
  vk_check(vkCreateDescriptorPool(device.handle(), &ci, nullptr, &pool_), "vkCreateDescriptorPool");
}

DescriptorArena::~DescriptorArena() { vkDestroyDescriptorPool(device_.handle(), pool_, nullptr); }

VkDescriptorSet DescriptorArena::allocate_bindings(const ComputePipeline& pipeline,
                                                   const std::vector<Binding>& bindings) {
  if (bindings.size() != pipeline.bindings())
    throw Error("descriptor set needs " + std::to_string(pipeline.bindings()) + " bindings, got " +
                std::to_string(bindings.size()));
  VkDescriptorSetLayout layout = pipeline.set_layout();
  VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ai.descriptorPool = pool_;
  ai.descriptorSetCount = 1;
  ai.pSetLayouts = &layout;
  VkDescriptorSet set = VK_NULL_HANDLE;
  vk_check(vkAllocateDescriptorSets(device_.handle(), &ai, &set), "vkAllocateDescriptorSets");
  if (device_.compile_only()) return set;  // its buffers have no memory to point at
  std::vector<VkDescriptorBufferInfo> infos(bindings.size());
  std::vector<VkWriteDescriptorSet> writes(bindings.size());
  for (size_t i = 0; i < bindings.size(); ++i) {
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = set;
    writes[i].dstBinding = static_cast<uint32_t>(i);
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = bindings[i].type;
    if (bindings[i].type == VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER) {
      writes[i].pTexelBufferView = &bindings[i].view;
    } else {
      infos[i] = {bindings[i].buffer, 0, VK_WHOLE_SIZE};
      writes[i].pBufferInfo = &infos[i];
    }
  }
  vkUpdateDescriptorSets(device_.handle(), static_cast<uint32_t>(writes.size()), writes.data(), 0,
                         nullptr);
  return set;
}

VkDescriptorSet DescriptorArena::allocate(const ComputePipeline& pipeline,
                                          const std::vector<VkBuffer>& buffers) {
  std::vector<Binding> bindings;
  for (VkBuffer b : buffers) bindings.push_back({VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, b, VK_NULL_HANDLE});
  return allocate_bindings(pipeline, bindings);
}

void record_dispatch(VkCommandBuffer cmd, const ComputePipeline& pipeline, VkDescriptorSet set,
                     const void* push_constants, uint32_t groups_x, uint32_t groups_y,
                     uint32_t groups_z) {
  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.handle());
  vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.layout(), 0, 1, &set, 0,
                          nullptr);
  if (pipeline.push_constant_bytes())
    vkCmdPushConstants(cmd, pipeline.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0,
                       pipeline.push_constant_bytes(), push_constants);
  vkCmdDispatch(cmd, groups_x, groups_y, groups_z);
}

}  // namespace repvk

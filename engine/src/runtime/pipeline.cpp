#include "runtime/pipeline.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "repvk/error.h"
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

}  // namespace

std::string PipelineCache::default_path(const PhysicalDeviceInfo& info, const std::string& dir) {
  char name[96];
  std::snprintf(name, sizeof(name), "/pipelines-%04x-%04x.bin", info.vendor_id, info.device_id);
  return dir + name;
}

PipelineCache::PipelineCache(Device& device, const std::string& path, VkPipelineCache borrowed)
    : device_(device) {
  if (borrowed != VK_NULL_HANDLE) {
    cache_ = borrowed;
    borrowed_ = true;
    path_ = "none";
    return;
  }
  path_ = path.empty() ? std::string("none") : path;
  std::vector<char> data;
  if (path_ != "none") {
    std::ifstream in(path_, std::ios::binary);
    if (in) data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // A cache from another driver or device is silently dropped, never fed to the driver.
  VkPhysicalDeviceProperties props{};
  vkGetPhysicalDeviceProperties(device.physical_device(), &props);
  bool usable = data.size() >= 32;
  if (usable) {
    uint32_t header[4];
    std::memcpy(header, data.data(), sizeof(header));
    usable = header[0] >= 32 && header[1] == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
             header[2] == props.vendorID && header[3] == props.deviceID &&
             std::memcmp(data.data() + 16, props.pipelineCacheUUID, VK_UUID_SIZE) == 0;
  }
  VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  if (usable) {
    ci.initialDataSize = data.size();
    ci.pInitialData = data.data();
  }
  vk_check(vkCreatePipelineCache(device.handle(), &ci, nullptr, &cache_), "vkCreatePipelineCache");
  loaded_ = usable;
}

PipelineCache::~PipelineCache() {
  try {
    save();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "repvk: warning: %s\n", e.what());
  }
  if (!borrowed_) vkDestroyPipelineCache(device_.handle(), cache_, nullptr);
}

void PipelineCache::save() const {
  if (path_ == "none") return;
  size_t size = 0;
  vk_check(vkGetPipelineCacheData(device_.handle(), cache_, &size, nullptr),
           "vkGetPipelineCacheData");
  std::vector<char> data(size);
  vk_check(vkGetPipelineCacheData(device_.handle(), cache_, &size, data.data()),
           "vkGetPipelineCacheData");
  make_dirs(parent_dir(path_));
  try {
    write_file_atomically(path_, std::string_view(data.data(), size));
  } catch (const FileWriteError& e) {
    throw Error("cannot write pipeline cache " + path_ + ": " + e.problem());
  }
}

ComputePipeline::ComputePipeline(Device& device, VkPipelineCache cache,
                                 std::string_view shader_name, uint32_t bindings,
                                 uint32_t push_constant_bytes, const std::vector<uint32_t>& spec)
    : ComputePipeline(device, cache, shader_name,
                      std::vector<VkDescriptorType>(bindings, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER),
                      push_constant_bytes, spec) {}

ComputePipeline::ComputePipeline(Device& device, VkPipelineCache cache,
                                 std::string_view shader_name, std::vector<VkDescriptorType> types,
                                 uint32_t push_constant_bytes, const std::vector<uint32_t>& spec)
    : device_(device), bindings_(static_cast<uint32_t>(types.size())),
      push_bytes_(push_constant_bytes) {
  const ShaderBlob* blob = find_shader(shader_name);
  if (!blob) throw Error("no embedded shader named \"" + std::string(shader_name) + "\"");
  if (push_constant_bytes > device.info().limits.max_push_constants)
    throw Error("shader " + std::string(shader_name) + " needs " +
                std::to_string(push_constant_bytes) + " bytes of push constants; the device " +
                "allows " + std::to_string(device.info().limits.max_push_constants));
  VkDevice dev = device.handle();

  std::vector<VkDescriptorSetLayoutBinding> layout_bindings(bindings_);
  for (uint32_t i = 0; i < bindings_; ++i) {
    layout_bindings[i].binding = i;
    layout_bindings[i].descriptorType = types[i];
    layout_bindings[i].descriptorCount = 1;
    layout_bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo set_ci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  set_ci.bindingCount = bindings_;
  set_ci.pBindings = layout_bindings.data();
  vk_check(vkCreateDescriptorSetLayout(dev, &set_ci, nullptr, &set_layout_),
           "vkCreateDescriptorSetLayout");

  VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_constant_bytes};
  VkPipelineLayoutCreateInfo layout_ci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  layout_ci.setLayoutCount = 1;
  layout_ci.pSetLayouts = &set_layout_;
  layout_ci.pushConstantRangeCount = push_constant_bytes ? 1 : 0;
  layout_ci.pPushConstantRanges = push_constant_bytes ? &push : nullptr;
  VkResult r = vkCreatePipelineLayout(dev, &layout_ci, nullptr, &layout_);
  if (r != VK_SUCCESS) {
    vkDestroyDescriptorSetLayout(dev, set_layout_, nullptr);
    throw VulkanError(r, "vkCreatePipelineLayout");
  }

  VkShaderModuleCreateInfo module_ci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  module_ci.codeSize = blob->word_count * sizeof(uint32_t);
  module_ci.pCode = blob->words;
  VkShaderModule module = VK_NULL_HANDLE;
  r = vkCreateShaderModule(dev, &module_ci, nullptr, &module);
  if (r == VK_SUCCESS) {
    std::vector<VkSpecializationMapEntry> entries(spec.size());
    for (uint32_t i = 0; i < spec.size(); ++i)
      entries[i] = {i, static_cast<uint32_t>(i * sizeof(uint32_t)), sizeof(uint32_t)};
    VkSpecializationInfo spec_info{static_cast<uint32_t>(entries.size()), entries.data(),
                                   spec.size() * sizeof(uint32_t), spec.data()};
    VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    ci.stage.module = module;
    ci.stage.pName = "main";
    ci.stage.pSpecializationInfo = spec.empty() ? nullptr : &spec_info;
    ci.layout = layout_;
    r = vkCreateComputePipelines(dev, cache, 1, &ci, nullptr, &pipeline_);
    vkDestroyShaderModule(dev, module, nullptr);
  }
  if (r != VK_SUCCESS) {
    vkDestroyPipelineLayout(dev, layout_, nullptr);
    vkDestroyDescriptorSetLayout(dev, set_layout_, nullptr);
    throw VulkanError(r, "creating compute pipeline " + std::string(shader_name));
  }
}

ComputePipeline::~ComputePipeline() {
  VkDevice dev = device_.handle();
  vkDestroyPipeline(dev, pipeline_, nullptr);
  vkDestroyPipelineLayout(dev, layout_, nullptr);
  vkDestroyDescriptorSetLayout(dev, set_layout_, nullptr);
}

DescriptorArena::DescriptorArena(Device& device, uint32_t max_sets, uint32_t max_buffers)
    : device_(device) {
  // Every binding may be either kind (the *_texel kernels read through texel buffers).
  const uint32_t n = max_buffers ? max_buffers : 1;
  const VkDescriptorPoolSize sizes[2] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, n},
                                         {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, n}};
  VkDescriptorPoolCreateInfo ci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  ci.maxSets = max_sets ? max_sets : 1;
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

// SPDX-License-Identifier: MIT
#include "import/checkpoint_reader.h"

#include <caffe2/serialize/inline_container.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "import/state_dict_pickle.h"

namespace repvk::train {
namespace {

torch::ScalarType to_torch(pickle::ScalarType t) {
  using P = pickle::ScalarType;
  switch (t) {
    case P::Float32: return torch::kFloat32;
    case P::Float16: return torch::kFloat16;
    case P::BFloat16: return torch::kBFloat16;
    case P::Float64: return torch::kFloat64;
    case P::Int64: return torch::kInt64;
    case P::Int32: return torch::kInt32;
    case P::Int16: return torch::kInt16;
    case P::Int8: return torch::kInt8;
    case P::UInt8: return torch::kUInt8;
    case P::Bool: return torch::kBool;
  }
  return torch::kFloat32;
}

// The first bytes tell a zip archive from the legacy format (a pickled magic number).
void check_container(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw TrainError(path + ": no such file");
  std::ifstream f(path, std::ios::binary);
  char head[4] = {};
  f.read(head, 4);
  if (f.gcount() < 4) throw TrainError(path + ": file too short to be a PyTorch checkpoint");
  if (head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return;
  if (uint8_t(head[0]) == 0x80 && uint8_t(head[1]) == 2)
    throw TrainError(path + ": legacy PyTorch format (torch.save before 1.6, or "
                            "_use_new_zipfile_serialization=False); re-save it with torch >= 1.6: "
                            "torch.save(torch.load(f), g)");
  throw TrainError(path + ": not a PyTorch checkpoint (no zip archive)");
}

}  // namespace

CheckpointTensors read_checkpoint_tensors(const std::string& path) {
  check_container(path);
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    if (!reader.hasRecord("data.pkl"))
      throw TrainError(path + ": the archive has no data.pkl (a TorchScript file? save a state dict)");
    auto [pkl, pkl_size] = reader.getRecord("data.pkl");
    pickle::StateDict sd;
    try {
      sd = pickle::parse_state_dict_pickle(static_cast<const uint8_t*>(pkl.get()), pkl_size);
    } catch (const pickle::PickleError& e) {
      throw TrainError(path + ": " + e.what());
    }
    std::map<std::string, std::pair<at::DataPtr, size_t>> storages;
    CheckpointTensors out;
    out.wrapper_key = sd.wrapper_key;
    for (const auto& [name, ref] : sd.tensors) {
      const std::string record = "data/" + ref.storage_key;
      auto it = storages.find(ref.storage_key);
      if (it == storages.end()) {
        if (!reader.hasRecord(record))
          throw TrainError(path + ": tensor '" + name + "': storage record " + record + " is missing");
        auto [ptr, bytes] = reader.getRecord(record);
        it = storages.emplace(ref.storage_key, std::make_pair(std::move(ptr), bytes)).first;
      }
      const size_t bytes = it->second.second, esize = pickle::scalar_type_bytes(ref.dtype);
      if (ref.storage_numel > bytes / esize)
        throw TrainError(path + ": tensor '" + name + "': storage " + record + " holds " +
                         std::to_string(bytes) + " bytes, fewer than its " +
                         std::to_string(ref.storage_numel) + " " + pickle::scalar_type_name(ref.dtype) +
                         " elements");
      // The view lies inside the storage (checked by the parser), which lies inside
      // the record (checked above).
      auto* base = static_cast<uint8_t*>(it->second.first.get());
      torch::Tensor t = torch::from_blob(base + ref.offset * esize, ref.sizes, ref.strides,
                                         torch::TensorOptions().dtype(to_torch(ref.dtype)))
                            .clone();
      out.tensors.emplace_back(name, std::move(t));
    }
    return out;
  } catch (const c10::Error& e) {
    // PyTorchStreamReader reports a damaged or truncated archive this way.
    throw TrainError(path + ": cannot read the archive (truncated or damaged?): " +
                     e.what_without_backtrace());
  }
}

}  // namespace repvk::train

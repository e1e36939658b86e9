// SPDX-License-Identifier: MIT
#include "checkpoint.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "repvk/util/atomic_file.h"

namespace repvk::train {
namespace {

torch::Tensor string_tensor(const std::string& s) {
  return torch::from_blob(const_cast<char*>(s.data()), {int64_t(s.size())}, torch::kUInt8).clone();
}

std::string tensor_string(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), size_t(c.numel()));
}

torch::serialize::InputArchive open_archive(const std::string& path) {
  if (!std::filesystem::exists(path)) throw TrainError(path + ": checkpoint not found");
  torch::serialize::InputArchive a;
  try {
    a.load_from(path);
  } catch (const c10::Error& e) {
    throw TrainError(path + ": not a repvk-train checkpoint (" + e.what_without_backtrace() + ")");
  }
  return a;
}

}  // namespace

void save_checkpoint(const std::string& path, torch::nn::Module& module,
                     torch::optim::Optimizer* optimizer, const nlohmann::json& meta,
                     const ArchiveWriter& extra) {
  torch::serialize::OutputArchive a;
  a.write("meta", string_tensor(meta.dump()));
  torch::serialize::OutputArchive m;
  module.save(m);
  a.write("module", m);
  if (optimizer) {
    torch::serialize::OutputArchive o;
    optimizer->save(o);
    a.write("optimizer", o);
  }
  if (extra) {
    torch::serialize::OutputArchive e;
    extra(e);
    a.write("extra", e);
  }
  // Serialized in memory (checkpoints are a few MiB), then written atomically.
  std::ostringstream bytes;
  a.save_to(bytes);
  try {
    write_file_atomically(path, bytes.str());
  } catch (const FileWriteError& e) {
    throw TrainError(e.what());
  }
}

nlohmann::json read_checkpoint_meta(const std::string& path) {
  auto a = open_archive(path);
  torch::Tensor t;
  if (!a.try_read("meta", t)) throw TrainError(path + ": checkpoint has no metadata");
  try {
    return nlohmann::json::parse(tensor_string(t));
  } catch (const nlohmann::json::exception&) {
    throw TrainError(path + ": checkpoint metadata is corrupt");
  }
}

void load_checkpoint(const std::string& path, torch::nn::Module& module,
                     torch::optim::Optimizer* optimizer, const ArchiveReader& extra) {
  auto a = open_archive(path);
  try {
    torch::serialize::InputArchive m;
    a.read("module", m);
    module.load(m);
    if (optimizer) {
      torch::serialize::InputArchive o;
      if (a.try_read("optimizer", o)) optimizer->load(o);
    }
    if (extra) {
      torch::serialize::InputArchive e;
      a.read("extra", e);
      extra(e);
    }
  } catch (const c10::Error& e) {
    throw TrainError(path + ": checkpoint does not match this network (" +
                     e.what_without_backtrace() + ")");
  }
}

}  // namespace repvk::train

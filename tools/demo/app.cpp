// SPDX-License-Identifier: MIT
#include "app.h"

#include <atomic>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "classifier.h"
#include "input_fit.h"
#include "models.h"
#include "renderer.h"
#include "repvk/error.h"
#include "repvk/image_io.h"
#include "samples.h"
#include "screenshot.h"
#include "ui.h"

namespace fs = std::filesystem;

namespace repvk::demo {

namespace {

std::string class_name(const Model& m, uint32_t label) {
  if (label < m.class_names.size() && !m.class_names[label].empty()) return m.class_names[label];
  return "class " + std::to_string(label);
}

const char* channels_name(uint32_t c) {
  return c == 1 ? "gray" : c == 3 ? "RGB" : c == 4 ? "RGBA" : "?";
}

// Everything the loop mutates, in one place.
struct State {
  size_t sample = 0;
  size_t loaded_sample = SIZE_MAX;
  uint64_t image_id = 0;  // bumps with every image uploaded
  size_t model = 0;
  bool continuous = false;
  bool quit = false;
  std::optional<Result> shown;
  uint64_t logged_image = 0;
  size_t logged_model = SIZE_MAX;
  std::string image_name, image_size, image_truth, error;
  std::string image_path;
  uint32_t image_width = 0, image_height = 0, image_channels = 0;
  bool image_colour = false;  // tools::has_colour: for the input-fit notice
};

bool result_current(const State& s) {
  return s.shown && s.shown->image_id == s.image_id && s.shown->model == s.model &&
         s.shown->warm;
}

bool label_current(const State& s) {
  return s.shown && s.shown->image_id == s.image_id && s.shown->model == s.model;
}

void apply(State& s, const InputEvent& e, SampleList& samples, size_t models, Window& window) {
  switch (e.action) {
    case Action::Next:
      if (!samples.empty()) s.sample = samples.next(s.sample);
      break;
    case Action::Previous:
      if (!samples.empty()) s.sample = samples.previous(s.sample);
      break;
    case Action::Random:
      if (!samples.empty()) s.sample = samples.random(s.sample);
      break;
    case Action::Model:
      if (e.model < models) s.model = e.model;
      break;
    case Action::ToggleContinuous:
      s.continuous = !s.continuous;
      break;
    case Action::Resize:
      window.set_size(e.width, e.height);
      break;
    case Action::Quit:
      s.quit = true;
      break;
  }
}

// Empty when the image suits the model; else what the model expects and what
// pre-processing did to the image (the photo case: a colour picture into the
// grayscale clothing models).
std::string input_notice(const State& s, const Model& model) {
  const tools::InputFit fit = tools::input_fit(
      model, {s.image_width, s.image_height, s.image_channels, s.image_colour});
  return fit.fits ? std::string() : fit.notice() + ", so its labels say little about it";
}

nlohmann::json result_json(const State& s, const Classifier& c, const std::string& device,
                           uint64_t frames, const std::string& screenshot, uint64_t messages) {
  nlohmann::json j;
  j["image"] = s.image_path;
  j["width"] = s.image_width;
  j["height"] = s.image_height;
  j["channels"] = s.image_channels;
  const ModelEntry& m = c.model(s.shown ? s.shown->model : s.model);
  j["input_notice"] = input_notice(s, m.model);  // "" when the image suits the model
  j["model"] = m.model.name;
  j["model_source"] = m.source;
  j["bits"] = m.bits;
  j["input"] = {{"channels", m.model.input.channels},
                {"height", m.model.input.height},
                {"width", m.model.input.width},
                {"classes", m.model.num_classes()},
                {"resize_shorter", m.model.input.resize_shorter}};  // 0: stretched
  j["model_label"] = m.label();  // as the model switcher shows it: "4-bit", "mixed", "fp32"
  j["synthetic"] = m.synthetic;
  j["device"] = device;
  j["precision"] = precision_name(c.precision());
  j["frames"] = frames;
  j["screenshot"] = screenshot;
  j["validation_messages"] = messages;
  j["top"] = nlohmann::json::array();
  j["gpu_ms"] = nullptr;
  if (s.shown) {
    for (const auto& p : s.shown->top)
      j["top"].push_back({{"label", p.label},
                          {"name", class_name(m.model, p.label)},
                          {"probability", p.probability}});
    if (s.shown->timed) j["gpu_ms"] = s.shown->gpu_ms;
  }
  return j;
}

// The bundled (or --sample-dir) samples plus the images named on the command line;
// `first` is the first named one's index. Throws for a named file that does not exist.
SampleList load_samples(const DemoOptions& o, size_t& first) {
  SampleList samples;
  samples.add_directory(o.sample_dir.empty() ? default_sample_dir() : o.sample_dir);
  first = 0;
  for (size_t i = 0; i < o.images.size(); ++i) {
    std::error_code ec;
    if (!fs::is_regular_file(o.images[i], ec))
      throw Error("image file '" + o.images[i] + "' does not exist");
    const size_t index = samples.add_file(o.images[i]);
    if (i == 0) first = index;
  }
  if (samples.empty() && !o.screenshot.empty())
    throw Error("--screenshot needs an image: name one, or install the bundled samples");
  return samples;
}

// Dropped files, keys, the panel's buttons of the last frame, then the next scripted
// key (--press), which waits for each step's classification so that every step is
// actually classified and shown.
void handle_input(State& s, Window& window, SampleList& samples, size_t model_count,
                  PanelActions& actions, std::deque<InputEvent>& scripted) {
  for (const auto& path : window.dropped_files) {
    if (is_image_file(path))
      s.sample = samples.add_file(path);
    else
      s.error = "not a PNG or JPEG file: " + path;
  }
  window.dropped_files.clear();
  const auto act = [&](const InputEvent& e) { apply(s, e, samples, model_count, window); };
  for (; !window.events.empty(); window.events.pop_front()) act(window.events.front());
  if (actions.select_model >= 0) act({Action::Model, uint32_t(actions.select_model)});
  if (actions.step > 0) act({Action::Next});
  if (actions.step < 0) act({Action::Previous});
  if (actions.random) act({Action::Random});
  if (actions.toggle_continuous) act({Action::ToggleContinuous});
  actions = PanelActions{};
  if (!scripted.empty() && result_current(s) && s.sample == s.loaded_sample) {
    act(scripted.front());
    scripted.pop_front();
  }
}

// Puts the selected sample in the texture. Nothing may read the texture or its staging
// buffer meanwhile, so the frames in flight are waited for first.
void load_selected_image(State& s, const SampleList& samples, Renderer& renderer,
                         Classifier& classifier, bool capture) {
  renderer.wait_frames();
  if (classifier.busy()) s.shown = classifier.collect();  // for the old image
  s.loaded_sample = s.sample;
  const Sample& sample = samples.at(s.sample);
  try {
    const Image img = load_image(sample.path);
    if (renderer.texture().set(img)) {
      renderer.texture_replaced();
      // Their descriptor sets may name the view that set() just destroyed.
      classifier.drop_networks_except(s.model);
    }
    ++s.image_id;
    s.image_path = sample.path;
    s.image_name = fs::path(sample.path).filename().string();
    s.image_width = img.width;
    s.image_height = img.height;
    s.image_channels = img.channels;
    s.image_colour = tools::has_colour(img.pixels.data(), img.width, img.height, img.channels);
    s.image_size = std::to_string(img.width) + "x" + std::to_string(img.height) + " " +
                   channels_name(img.channels);
    s.image_truth = sample.truth;
    s.error.clear();
  } catch (const Error& e) {
    s.error = e.what();  // keep showing the previous image
    std::fprintf(stderr, "repvk-demo: %s\n", e.what());
    if (capture && s.image_id == 0) throw;
  }
}

// Takes the finished classification; prints each new (image, model) result once,
// unless the report is JSON.
void collect_result(State& s, Classifier& classifier, bool json) {
  s.shown = classifier.collect();
  if (json || (s.shown->image_id == s.logged_image && s.shown->model == s.logged_model) ||
      s.shown->image_id != s.image_id || !s.shown->warm || s.shown->top.empty())
    return;
  const ModelEntry& m = classifier.model(s.shown->model);
  const Prediction& best = s.shown->top.front();
  std::printf("%s: %s %.1f%% (model %s, %s, %.3f ms GPU)\n", s.image_name.c_str(),
              class_name(m.model, best.label).c_str(), double(best.probability) * 100.0,
              m.model.name.c_str(), m.label().c_str(), s.shown->gpu_ms);
  std::fflush(stdout);
  s.logged_image = s.shown->image_id;
  s.logged_model = s.shown->model;
}

std::string input_description(const Model& model) {
  const InputSpec& in = model.input;
  return std::to_string(in.channels) + "x" + std::to_string(in.height) + "x" +
         std::to_string(in.width) + ", " + std::to_string(model.num_classes()) + " classes, " +
         (in.resize == InputResize::ShorterSideCrop
              ? "shorter side " + std::to_string(in.resize_shorter) + " + centre crop"
              : std::string("image stretched to fit"));
}

// What the side panel shows this frame.
PanelState panel_state(const State& s, const Classifier& classifier, const Texture& texture,
                       const SampleList& samples, const std::string& device) {
  PanelState p;
  p.device = device;
  p.precision = precision_name(classifier.precision());
  p.precision_note = classifier.precision_note();
  for (const auto& m : classifier.models().models) p.model_keys.push_back(m.label());
  p.model = s.model;
  const ModelEntry& current = classifier.model(s.model);
  p.model_name = current.model.name;
  p.model_source =
      current.synthetic ? current.source : fs::path(current.source).filename().string();
  p.model_input = input_description(current.model);
  p.synthetic = current.synthetic;
  p.synthetic_note = classifier.models().note;
  p.image_name = s.image_name;
  p.image_size = s.image_size;
  p.image_truth = s.image_truth;
  p.image_note = texture.note();
  if (!s.image_path.empty()) p.input_notice = input_notice(s, current.model);
  p.image_index = s.loaded_sample == SIZE_MAX ? 0 : s.loaded_sample;
  p.image_count = samples.size();
  p.error = samples.empty() ? "no images: drop a PNG or JPEG on the window" : s.error;
  if (s.shown) {
    const ModelEntry& m = classifier.model(s.shown->model);
    p.have_result = true;
    p.stale = !label_current(s);
    for (const auto& t : s.shown->top) p.top.emplace_back(class_name(m.model, t.label), t.probability);
    p.timed = s.shown->timed;
    p.gpu_ms = s.shown->gpu_ms;
    p.warm = s.shown->warm;
  }
  p.continuous = s.continuous;
  return p;
}

// Teardown in dependency order (the renderer idles the device first), then the JSON
// report and the exit status: 1 when the validation layer reported anything.
int finish(const DemoOptions& o, const State& s, const std::string& device, uint64_t frames,
           const std::atomic<uint64_t>& messages, std::unique_ptr<Renderer>& renderer,
           std::unique_ptr<Ui>& ui, std::unique_ptr<Classifier>& classifier,
           std::unique_ptr<VulkanContext>& ctx) {
  renderer.reset();
  ui.reset();
  nlohmann::json report;
  if (o.json) report = result_json(s, *classifier, device, frames, o.screenshot, 0);
  classifier.reset();
  ctx.reset();
  const uint64_t count = messages.load();
  if (o.json) {
    report["validation_messages"] = count;
    std::cout << report.dump(2) << std::endl;
  }
  if (count > 0) {
    std::fprintf(stderr,
                 "repvk-demo: error: the Vulkan validation layer reported %llu message(s) "
                 "(printed above)\n",
                 static_cast<unsigned long long>(count));
    return 1;
  }
  return 0;
}

}  // namespace

int run_demo(const DemoOptions& o) {
  // Models and files first: a bad path fails before any window opens.
  ModelSet models = load_models(o.model_files, o.model_dir);
  if (!models.note.empty()) std::fprintf(stderr, "repvk-demo: note: %s\n", models.note.c_str());
  size_t first_sample = 0;
  SampleList samples = load_samples(o, first_sample);
  const bool capture = !o.screenshot.empty();

  // Outlives the context, so messages from tearing the context down count as well.
  std::atomic<uint64_t> messages{0};
  ContextOptions copts = o.context;
  copts.message_counter = &messages;

  Window window(o.width, o.height, "repvk-demo");
  auto ctx = std::make_unique<VulkanContext>(copts, window.handle());
  ClassifierOptions clopts;
  clopts.precision = o.precision;
  clopts.pipeline_cache = o.pipeline_cache;
  clopts.verbose = o.verbose;
  clopts.environment = o.environment;
  auto classifier = std::make_unique<Classifier>(*ctx, std::move(models), clopts);
  auto ui = std::make_unique<Ui>(window.handle());
  auto renderer = std::make_unique<Renderer>(*ctx, classifier->device(), window, capture);
  const std::string device = ctx->device_name;

  State s;
  s.model = classifier->models().initial;
  s.sample = first_sample;
  std::deque<InputEvent> scripted(o.press.begin(), o.press.end());
  PanelActions actions;
  uint64_t frames = 0;
  const uint64_t give_up = uint64_t(o.frames) + 2000 + 200 * scripted.size();

  while (!s.quit && !window.should_close()) {
    const bool idle = !capture && !s.continuous && !classifier->busy() &&
                      (samples.empty() || s.sample == s.loaded_sample) &&
                      (result_current(s) || !renderer->texture().has_content());
    if (idle)
      window.wait_events(0.25);  // nothing changes until an event arrives
    else
      window.poll_events();

    handle_input(s, window, samples, classifier->models().models.size(), actions, scripted);
    if (s.quit) break;
    if (!samples.empty() && s.sample != s.loaded_sample)
      load_selected_image(s, samples, *renderer, *classifier, capture);

    // ---- one frame -----------------------------------------------------------------
    VkCommandBuffer cmd = renderer->begin_frame();
    if (cmd == VK_NULL_HANDLE) {
      window.wait_events(0.1);  // minimized, or the swapchain was just rebuilt
      continue;
    }
    if (classifier->busy() && renderer->frame_complete(classifier->pending_frame()))
      collect_result(s, *classifier, o.json);
    Texture& texture = renderer->texture();
    texture.record_upload(cmd);
    if (!classifier->busy() && texture.has_content() && (s.continuous || !result_current(s)))
      classifier->record(cmd, s.model, texture.input(), s.image_id, renderer->frame_number());

    const PanelState p = panel_state(s, *classifier, texture, samples, device);
    const VkExtent2D extent = renderer->extent();
    const Rect area = ui->build(p, extent.width, extent.height, actions);

    ++frames;
    const bool last = capture && frames >= o.frames && scripted.empty() && result_current(s) &&
                      !classifier->busy();
    Capture shot;
    renderer->end_frame(ui->draw_data(), area, last ? &shot : nullptr);
    if (last) {
      write_png_atomic(o.screenshot, shot);
      std::fprintf(stderr, "repvk-demo: wrote %s (%ux%u, frame %llu)\n", o.screenshot.c_str(),
                   shot.width, shot.height, static_cast<unsigned long long>(frames));
      break;
    }
    if (capture && frames > give_up)
      throw Error("--screenshot: no classification result after " + std::to_string(frames) +
                  " frames");
  }

  return finish(o, s, device, frames, messages, renderer, ui, classifier, ctx);
}

}  // namespace repvk::demo

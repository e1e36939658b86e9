// SPDX-License-Identifier: MIT
#include "ui.h"

#include <algorithm>
#include <cstdio>

#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_vulkan.h>

namespace repvk::demo {

namespace {

const ImVec4 kWarning(1.0f, 0.75f, 0.3f, 1.0f);
const ImVec4 kDim(0.65f, 0.65f, 0.68f, 1.0f);

void heading(const char* text) {
  ImGui::Spacing();
  ImGui::TextColored(kDim, "%s", text);
  ImGui::Separator();
}

}  // namespace

Ui::Ui(GLFWwindow* window) {
  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // no imgui.ini in the user's working directory
  ImGui::StyleColorsDark();
  ImGuiStyle& style = ImGui::GetStyle();
  style.WindowRounding = 0.0f;
  style.FrameRounding = 3.0f;
  // Chains to the key/drop callbacks Window installed before.
  ImGui_ImplGlfw_InitForVulkan(window, true);
}

Ui::~Ui() {
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
}

Rect Ui::build(const PanelState& s, uint32_t width, uint32_t height, PanelActions& actions) {
  ImGui_ImplVulkan_NewFrame();
  ImGui_ImplGlfw_NewFrame();
  ImGui::NewFrame();

  const float w = float(width), h = float(height);
  const float panel = std::clamp(w * 0.38f, 300.0f, 440.0f);
  ImGui::SetNextWindowPos(ImVec2(w - panel, 0.0f));
  ImGui::SetNextWindowSize(ImVec2(panel, h));
  ImGui::Begin("repvk-demo", nullptr,
               ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                   ImGuiWindowFlags_NoTitleBar);
  ImGui::Text("repvk-demo");
  ImGui::TextColored(kDim, "%s", s.device.c_str());

  heading("Model");
  // Buttons flow into rows: the next one goes on the same line only while it fits
  // inside the panel (six bundled models overflow one row of a 960-pixel window).
  const ImGuiStyle& style = ImGui::GetStyle();
  const float right_edge = ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x;
  for (size_t i = 0; i < s.model_keys.size(); ++i) {
    char label[64];
    std::snprintf(label, sizeof label, "%zu: %s", i + 1, s.model_keys[i].c_str());
    const float width = ImGui::CalcTextSize(label).x + 2 * style.FramePadding.x;
    if (i && ImGui::GetItemRectMax().x + style.ItemSpacing.x + width <= right_edge)
      ImGui::SameLine();
    const bool current = i == s.model;
    if (current) ImGui::PushStyleColor(ImGuiCol_Button, ImGui::GetStyleColorVec4(ImGuiCol_ButtonActive));
    if (ImGui::Button(label)) actions.select_model = int(i);
    if (current) ImGui::PopStyleColor();
  }
  ImGui::Text("%s, %s weights", s.model_name.c_str(),
              s.model < s.model_keys.size() ? s.model_keys[s.model].c_str() : "?");
  ImGui::TextColored(kDim, "%s", s.model_source.c_str());
  ImGui::PushTextWrapPos(0.0f);  // the input description can be wider than the panel
  ImGui::TextColored(kDim, "%s", s.model_input.c_str());
  ImGui::PopTextWrapPos();
  ImGui::Text("precision %s", s.precision.c_str());
  if (!s.precision_note.empty()) ImGui::TextColored(kWarning, "%s", s.precision_note.c_str());
  if (s.synthetic) {
    ImGui::PushTextWrapPos(0.0f);
    ImGui::TextColored(kWarning, "%s", s.synthetic_note.c_str());
    ImGui::PopTextWrapPos();
  }

  heading("Image");
  if (ImGui::Button("<")) actions.step = -1;
  ImGui::SameLine();
  if (ImGui::Button(">")) actions.step = 1;
  ImGui::SameLine();
  if (ImGui::Button("random")) actions.random = true;
  ImGui::SameLine();
  ImGui::Text("%zu / %zu", s.image_count ? s.image_index + 1 : 0, s.image_count);
  ImGui::Text("%s", s.image_name.c_str());
  ImGui::TextColored(kDim, "%s", s.image_size.c_str());
  if (!s.image_truth.empty()) ImGui::Text("true class: %s", s.image_truth.c_str());
  if (!s.image_note.empty()) ImGui::TextColored(kWarning, "%s", s.image_note.c_str());
  if (!s.input_notice.empty()) {
    ImGui::PushTextWrapPos(0.0f);
    ImGui::TextColored(kWarning, "%s", s.input_notice.c_str());
    ImGui::PopTextWrapPos();
  }
  if (!s.error.empty()) {
    ImGui::PushTextWrapPos(0.0f);
    ImGui::TextColored(kWarning, "%s", s.error.c_str());
    ImGui::PopTextWrapPos();
  }

  heading("Top 5");
  if (s.have_result) {
    const float bar = ImGui::GetContentRegionAvail().x;
    for (const auto& [name, p] : s.top) {
      char overlay[96];
      std::snprintf(overlay, sizeof overlay, "%s  %.1f%%", name.c_str(), double(p) * 100.0);
      ImGui::ProgressBar(p, ImVec2(bar, 0.0f), overlay);
    }
  } else {
    ImGui::TextColored(kDim, "classifying...");
  }
  if (s.stale) ImGui::TextColored(kDim, "updating...");

  heading("GPU time per inference");
  if (!s.have_result)
    ImGui::TextColored(kDim, "-");
  else if (s.timed && s.warm)
    ImGui::Text("%.3f ms  (preprocess + all layers)", s.gpu_ms);
  else if (s.timed)
    ImGui::TextColored(kDim, "%.3f ms  (first run, with driver warm-up)", s.gpu_ms);
  else
    ImGui::TextColored(kWarning, "no timestamp support on this queue");
  bool continuous = s.continuous;
  if (ImGui::Checkbox("classify every frame (c)", &continuous)) actions.toggle_continuous = true;

  heading("Keys");
  ImGui::TextColored(kDim, "left/right  browse    space  random");
  ImGui::TextColored(kDim, "1..%zu  switch model    c  every frame", s.model_keys.size());
  ImGui::TextColored(kDim, "drop a PNG/JPEG on the window    esc  quit");
  ImGui::End();
  ImGui::Render();

  const float margin = 16.0f;
  return Rect{margin, margin, std::max(0.0f, w - panel - 2 * margin), std::max(0.0f, h - 2 * margin)};
}

ImDrawData* Ui::draw_data() { return ImGui::GetDrawData(); }

}  // namespace repvk::demo

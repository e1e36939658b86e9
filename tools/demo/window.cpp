// SPDX-License-Identifier: MIT
#include "window.h"

#include <cstdio>

#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>

namespace repvk::demo {

namespace {

std::string last_glfw_error() {
  const char* description = nullptr;
  glfwGetError(&description);
  return description ? description : "no reason given";
}

}  // namespace

std::vector<InputEvent> parse_key_list(const std::string& keys) {
  std::vector<InputEvent> out;
  size_t start = 0;
  while (start <= keys.size()) {
    const size_t end = keys.find(',', start);
    const std::string k = keys.substr(start, end == std::string::npos ? end : end - start);
    if (k == "right" || k == "next") {
      out.push_back({Action::Next});
    } else if (k == "left" || k == "previous") {
      out.push_back({Action::Previous});
    } else if (k == "space" || k == "random") {
      out.push_back({Action::Random});
    } else if (k == "c") {
      out.push_back({Action::ToggleContinuous});
    } else if (k.rfind("size=", 0) == 0) {
      unsigned w = 0, h = 0;
      char x = 0;
      if (std::sscanf(k.c_str() + 5, "%u%c%u", &w, &x, &h) != 3 || x != 'x' || w < 64 || h < 64)
        throw std::invalid_argument("bad window size in '" + k + "' (expected size=WxH)");
      InputEvent e{Action::Resize};
      e.width = w;
      e.height = h;
      out.push_back(e);
    } else if (k.size() == 1 && k[0] >= '1' && k[0] <= '9') {
      out.push_back({Action::Model, uint32_t(k[0] - '1')});
    } else if (!k.empty() || end != std::string::npos) {
      throw std::invalid_argument("unknown key '" + k +
                                  "' (known: left, right, space, c, 1..9, size=WxH)");
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

Window::Window(uint32_t width, uint32_t height, const std::string& title) {
  if (!glfwInit()) throw NoDisplayError("GLFW could not start: " + last_glfw_error());
  if (!glfwVulkanSupported()) {
    glfwTerminate();
    throw NoDisplayError("GLFW found no Vulkan loader with window-system support");
  }
  // Vulkan draws into the window; GLFW must not create an OpenGL context for it.
  glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API);
  glfwWindowHint(GLFW_RESIZABLE, GLFW_TRUE);
  window_ = glfwCreateWindow(int(width), int(height), title.c_str(), nullptr, nullptr);
  if (!window_) {
    const std::string why = last_glfw_error();
    glfwTerminate();
    throw NoDisplayError("GLFW could not open a window: " + why);
  }
  glfwSetWindowUserPointer(window_, this);
  // Installed before ImGui's GLFW backend, which chains to these.
  glfwSetKeyCallback(window_, &Window::on_key);
  glfwSetDropCallback(window_, &Window::on_drop);
  glfwSetFramebufferSizeCallback(window_, &Window::on_resize);
}

Window::~Window() {
  glfwDestroyWindow(window_);
  glfwTerminate();
}

bool Window::should_close() const { return glfwWindowShouldClose(window_) != 0; }

void Window::framebuffer_size(uint32_t& width, uint32_t& height) const {
  int w = 0, h = 0;
  glfwGetFramebufferSize(window_, &w, &h);
  width = w > 0 ? uint32_t(w) : 0;
  height = h > 0 ? uint32_t(h) : 0;
}

void Window::wait_events(double timeout_s) const { glfwWaitEventsTimeout(timeout_s); }
void Window::poll_events() const { glfwPollEvents(); }
void Window::set_size(uint32_t width, uint32_t height) {
  glfwSetWindowSize(window_, int(width), int(height));
}

void Window::on_key(GLFWwindow* w, int key, int, int action, int) {
  if (action != GLFW_PRESS && action != GLFW_REPEAT) return;
  auto* self = static_cast<Window*>(glfwGetWindowUserPointer(w));
  switch (key) {
    case GLFW_KEY_RIGHT: self->events.push_back({Action::Next}); break;
    case GLFW_KEY_LEFT: self->events.push_back({Action::Previous}); break;
    case GLFW_KEY_SPACE: self->events.push_back({Action::Random}); break;
    case GLFW_KEY_C: self->events.push_back({Action::ToggleContinuous}); break;
    case GLFW_KEY_ESCAPE: self->events.push_back({Action::Quit}); break;
    default:
      if (key >= GLFW_KEY_1 && key <= GLFW_KEY_9 && action == GLFW_PRESS)
        self->events.push_back({Action::Model, uint32_t(key - GLFW_KEY_1)});
      else if (key >= GLFW_KEY_KP_1 && key <= GLFW_KEY_KP_9 && action == GLFW_PRESS)
        self->events.push_back({Action::Model, uint32_t(key - GLFW_KEY_KP_1)});
  }
}

void Window::on_drop(GLFWwindow* w, int count, const char** paths) {
  auto* self = static_cast<Window*>(glfwGetWindowUserPointer(w));
  for (int i = 0; i < count; ++i) self->dropped_files.emplace_back(paths[i]);
}

void Window::on_resize(GLFWwindow* w, int, int) {
  static_cast<Window*>(glfwGetWindowUserPointer(w))->resized = true;
}

}  // namespace repvk::demo

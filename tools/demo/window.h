// SPDX-License-Identifier: MIT
// The GLFW side: library start-up (which is where "no display" is detected), one
// resizable window, and the input it delivers (keys, dropped files, resizes) as a
// queue the main loop drains once per frame.
#pragma once

#include <cstdint>
#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

struct GLFWwindow;

namespace repvk::demo {

// glfwInit failed or GLFW has no Vulkan loader: there is no display to draw on.
class NoDisplayError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What the demo does with a key, independent of GLFW key codes, so that
// `--press` can inject the same actions a user would type.
enum class Action { Next, Previous, Random, Model, ToggleContinuous, Resize, Quit };
struct InputEvent {
  Action action = Action::Next;
  uint32_t model = 0;  // Action::Model: 0-based index (key 1 = model 0)
  uint32_t width = 0, height = 0;  // Action::Resize (only from --press: size=WxH)
};

// Parses "right,left,space,3,c,size=800x500" into events (size= resizes the window,
// which tests use to exercise swapchain recreation); throws std::invalid_argument
// naming the first unknown key.
std::vector<InputEvent> parse_key_list(const std::string& keys);

class Window {
 public:
  // Starts GLFW (throws NoDisplayError when that fails) and opens the window.
  Window(uint32_t width, uint32_t height, const std::string& title);
  ~Window();
  Window(const Window&) = delete;
  Window& operator=(const Window&) = delete;

  GLFWwindow* handle() const { return window_; }
  bool should_close() const;
  // Framebuffer size in pixels; 0x0 while minimized.
  void framebuffer_size(uint32_t& width, uint32_t& height) const;
  // Blocks until an event arrives (or `timeout_s` passes): used while minimized
  // and while nothing changes, so an idle demo does not spin a core.
  void wait_events(double timeout_s) const;
  void poll_events() const;
  void set_size(uint32_t width, uint32_t height);

  // Drained by the main loop.
  std::deque<InputEvent> events;
  std::vector<std::string> dropped_files;
  bool resized = false;

 private:
  static void on_key(GLFWwindow* w, int key, int scancode, int action, int mods);
  static void on_drop(GLFWwindow* w, int count, const char** paths);
  static void on_resize(GLFWwindow* w, int width, int height);

  GLFWwindow* window_ = nullptr;
};

}  // namespace repvk::demo

// SPDX-License-Identifier: MIT
// Reads JSON on stdin and checks that it parses and that every JSON pointer given
// as an argument (e.g. /results/0/top/0/name) exists. Exit 0 only if all hold.
#include <iostream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

int main(int argc, char** argv) {
  const std::string text{std::istreambuf_iterator<char>(std::cin), {}};
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    std::cerr << "json_check: not valid JSON: " << e.what() << "\n--- input ---\n" << text;
    return 1;
  }
  int missing = 0;
  for (int i = 1; i < argc; ++i) {
    try {
      const nlohmann::json::json_pointer ptr(argv[i]);
      if (!j.contains(ptr)) {
        std::cerr << "json_check: missing " << argv[i] << "\n";
        ++missing;
      }
    } catch (const nlohmann::json::exception& e) {
      std::cerr << "json_check: bad pointer " << argv[i] << ": " << e.what() << "\n";
      ++missing;
    }
  }
  if (missing) std::cerr << "--- input ---\n" << text;
  return missing ? 1 : 0;
}

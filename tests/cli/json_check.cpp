// SPDX-License-Identifier: MIT
// Reads JSON on stdin and checks that it parses and that every argument holds:
//   /a/b          the JSON pointer exists
//   /a/b=VALUE    it exists and equals VALUE: a string's text, or a number, boolean
//                 or null as JSON writes it (e.g. /schema_version=1, /used=false)
//   /a/b~REGEX    it is a string matching REGEX (ECMAScript, whole-string match)
// Exit 0 only if all hold. `json_check --get POINTER` prints that value instead (a
// string's text, anything else as JSON) for scripts to compare against.
#include <iostream>
#include <iterator>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

namespace {

// Empty when the check holds, else what was wrong.
std::string check(const nlohmann::json& j, const std::string& arg) {
  const size_t op = arg.find_first_of("=~");
  const std::string pointer = arg.substr(0, op);
  const nlohmann::json::json_pointer ptr(pointer);
  if (!j.contains(ptr)) return "missing " + pointer;
  if (op == std::string::npos) return "";
  const nlohmann::json& v = j.at(ptr);
  const std::string want = arg.substr(op + 1);
  const std::string got = v.is_string() ? v.get<std::string>() : v.dump();
  if (arg[op] == '=')
    return got == want ? "" : pointer + " is " + v.dump() + ", expected " + want;
  if (!v.is_string()) return pointer + " is " + v.dump() + ", not a string matching " + want;
  return std::regex_match(got, std::regex(want)) ? ""
                                                 : pointer + " is " + v.dump() + ", not matching " + want;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string text{std::istreambuf_iterator<char>(std::cin), {}};
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    std::cerr << "json_check: not valid JSON: " << e.what() << "\n--- input ---\n" << text;
    return 1;
  }
  if (argc == 3 && std::string(argv[1]) == "--get") {
    const nlohmann::json::json_pointer ptr(argv[2]);
    if (!j.contains(ptr)) {
      std::cerr << "json_check: missing " << argv[2] << "\n";
      return 1;
    }
    const nlohmann::json& v = j.at(ptr);
    std::cout << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
    return 0;
  }
  int failed = 0;
  for (int i = 1; i < argc; ++i) {
    std::string problem;
    try {
      problem = check(j, argv[i]);
    } catch (const std::exception& e) {
      problem = std::string("bad check ") + argv[i] + ": " + e.what();
    }
    if (!problem.empty()) {
      std::cerr << "json_check: " << problem << "\n";
      ++failed;
    }
  }
  if (failed) std::cerr << "--- input ---\n" << text;
  return failed ? 1 : 0;
}

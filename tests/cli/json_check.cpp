// SPDX-License-Identifier: MIT
// Reads JSON on stdin and checks each argument against it. Exit 0 only if all hold.
//   /a/b            the JSON pointer exists
//   /a/b==V /a/b!=V equal / not equal to V, a JSON value ("Pullover" with quotes, 3, true)
//   /a/b>=X /a/b<=X /a/b>X /a/b<X   a number compared with the number X
//   /a/b~=R         a string that matches the ECMAScript regular expression R (whole)
//   /a/b#=N         an array or object with N elements
//   /a/b==@/c/d     (any comparison) the value at another pointer instead of a constant
// `json_check --get POINTER` prints that value instead (a string's text, anything else as
// JSON), for scripts to compare against.
#include <iostream>
#include <iterator>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

namespace {

using nlohmann::json;

struct Check {
  std::string pointer, op, operand;
};

// Splits "/a/b>=3" at its first operator; no operator: existence only.
Check parse(const std::string& arg) {
  static const char* const kOps[] = {"==", "!=", ">=", "<=", "~=", "#=", ">", "<"};
  size_t best = std::string::npos;
  std::string op;
  for (const char* o : kOps) {
    const size_t at = arg.find(o);
    if (at != std::string::npos && (at < best || (at == best && std::string(o).size() > op.size()))) {
      best = at;
      op = o;
    }
  }
  if (best == std::string::npos) return {arg, "", ""};
  return {arg.substr(0, best), op, arg.substr(best + op.size())};
}

// The right-hand side: a value at another pointer (@/x), else JSON, else a plain string.
json operand(const json& doc, const std::string& text) {
  if (!text.empty() && text[0] == '@') return doc.at(json::json_pointer(text.substr(1)));
  try {
    return json::parse(text);
  } catch (const json::exception&) {
    return json(text);
  }
}

// "" when the check holds, else why not.
std::string evaluate(const json& doc, const Check& c) {
  const json::json_pointer ptr(c.pointer);
  if (!doc.contains(ptr)) return "missing " + c.pointer;
  if (c.op.empty()) return "";
  const json& v = doc.at(ptr);
  const json rhs = operand(doc, c.operand);
  bool ok = false;
  if (c.op == "==" || c.op == "!=") {
    bool equal = false;
    if (v.is_number() && rhs.is_number())
      equal = v.get<double>() == rhs.get<double>();
    else if (v.is_string() && !rhs.is_string() && c.operand[0] != '@')
      equal = v.get<std::string>() == c.operand;  // text that also parses as JSON: "0123", "1e5"
    else
      equal = v == rhs;
    ok = (c.op == "==") == equal;
  } else if (c.op == "~=") {
    ok = v.is_string() && rhs.is_string() &&
         std::regex_match(v.get<std::string>(), std::regex(rhs.get<std::string>()));
  } else if (c.op == "#=") {
    ok = (v.is_array() || v.is_object()) && rhs.is_number_integer() &&
         v.size() == rhs.get<size_t>();
  } else {
    if (!v.is_number() || !rhs.is_number()) return c.pointer + " or " + c.operand + " is not a number";
    const double a = v.get<double>(), b = rhs.get<double>();
    ok = c.op == ">=" ? a >= b : c.op == "<=" ? a <= b : c.op == ">" ? a > b : a < b;
  }
  if (ok) return "";
  const std::string shown = c.op == "#=" ? std::to_string(v.size()) + " elements" : v.dump();
  return c.pointer + " is " + shown.substr(0, 200) + ", expected " + c.op + " " + rhs.dump();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string text{std::istreambuf_iterator<char>(std::cin), {}};
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    std::cerr << "json_check: not valid JSON: " << e.what() << "\n--- input ---\n" << text;
    return 1;
  }
  if (argc == 3 && std::string(argv[1]) == "--get") {
    const json::json_pointer ptr(argv[2]);
    if (!doc.contains(ptr)) {
      std::cerr << "json_check: missing " << argv[2] << "\n";
      return 1;
    }
    const json& v = doc.at(ptr);
    std::cout << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
    return 0;
  }
  int bad = 0;
  for (int i = 1; i < argc; ++i) {
    std::string why;
    try {
      why = evaluate(doc, parse(argv[i]));
    } catch (const std::exception& e) {
      why = std::string("bad check ") + argv[i] + ": " + e.what();
    }
    if (!why.empty()) {
      std::cerr << "json_check: " << why << "\n";
      ++bad;
    }
  }
  if (bad) std::cerr << "--- input ---\n" << text;
  return bad ? 1 : 0;
}

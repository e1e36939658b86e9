// SPDX-License-Identifier: MIT
// The tools' progress bar (tools/common): its text, and its one-line-per-tenth
// output where stderr is not a terminal.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "progress_bar.h"

namespace {

TEST(ProgressBar, RendersCountsRateAndEta) {
  const std::string s = repvk::tools::ProgressBar::render(250, 1000, 2.0, 20);
  EXPECT_NE(s.find("[#####               ]"), std::string::npos) << s;
  EXPECT_NE(s.find("250/1000"), std::string::npos) << s;
  EXPECT_NE(s.find("125.0 img/s"), std::string::npos) << s;
  EXPECT_NE(s.find("ETA 0:06"), std::string::npos) << s;
  const std::string done = repvk::tools::ProgressBar::render(1000, 1000, 4.0, 20);
  EXPECT_EQ(done.find("ETA"), std::string::npos) << done;
}

TEST(ProgressBar, WritesOneLinePerTenthOffTerminal) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    repvk::tools::ProgressBar bar(100, true, "epoch 1/2", "step", f);
    for (uint64_t i = 1; i <= 100; ++i) bar.update(i, "loss 0.5");
  }
  std::rewind(f);
  std::string text;
  for (int c; (c = std::fgetc(f)) != EOF;) text += char(c);
  std::fclose(f);
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  EXPECT_EQ(lines, 11u) << text;  // at the first step (it started), then 10%, 20%, ..., 100%
  EXPECT_NE(text.substr(0, text.find('\n')).find("] 1/100 "), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
  EXPECT_NE(text.find("epoch 1/2 ["), std::string::npos) << text;
  EXPECT_NE(text.find("100/100"), std::string::npos) << text;
  EXPECT_NE(text.find("step/s"), std::string::npos) << text;
  EXPECT_NE(text.find("  loss 0.5\n"), std::string::npos) << text;
}

TEST(ProgressBar, DisabledWritesNothing) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    repvk::tools::ProgressBar bar(10, false, "", "img", f);
    bar.update(5);
    bar.finish();
  }
  EXPECT_EQ(std::ftell(f), 0L);
  std::fclose(f);
}

}  // namespace

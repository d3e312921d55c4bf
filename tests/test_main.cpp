// The doctest main of every test executable. A test case skipped by a skip decorator (one that
// needs root, say) makes the executable exit with kSkipReturnCode, which tcc_add_test declares as
// ctest's SKIP_RETURN_CODE: a run that left something out shows as skipped, never as passed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr int kSkipReturnCode = 77;

std::vector<std::string>& SkippedCases() {
  static std::vector<std::string> skipped;
  return skipped;
}

// Notes the cases a skip decorator left out, with the reason their description gives.
class SkipListener : public doctest::IReporter {
 public:
  explicit SkipListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData& test_case) override {
    // Also called for cases a filter (-tc, ...) left out; only the decorator is a skip.
    if (!test_case.m_skip) return;
    std::string line = test_case.m_name;
    if (test_case.m_description != nullptr)
      line += std::string(" (") + test_case.m_description + ")";
    SkippedCases().push_back(std::move(line));
  }
};

}  // namespace

DOCTEST_REGISTER_LISTENER("tcc_skips", 1, SkipListener);

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit() || result != 0 || SkippedCases().empty()) return result;
  for (const auto& skipped : SkippedCases()) std::cerr << "SKIPPED: " << skipped << "\n";
  return kSkipReturnCode;
}

// The demo's statistics, given known inputs: the Student-t interval of paired seed
// differences and its verdict, the convergence check of a run's validations, the table
// that puts them together, and the progress line's plan, ETA and status.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "convergence.hpp"
#include "figures.hpp"
#include "paired.hpp"
#include "progress.hpp"
#include "test_support.hpp"
#include "tolerance.hpp"

using segdistill_test::contains;
using segdistill_test::TempDir;
namespace demo = segdistill::demo;

namespace {

// Expected values from scipy.stats.t.ppf and numpy (ddof = 1), printed to 15 digits.
// Boost.Math's quantile stops its root search earlier than scipy's: they differ by at most
// 5.0e-9 on these (measured; deterministic double arithmetic, no CPU kernel involved),
// hence kBoostAgreement.
constexpr double kBoostAgreement = 2e-8;

void expect_near(const std::string& what, double value, double expected) {
  segdistill_test::expect_within(what, std::fabs(value - expected), kBoostAgreement);
}

TEST(DemoStatistics, TQuantilesAreStudentsT) {
  expect_near("demo::t_quantile(0.95, 1)", demo::t_quantile(0.95, 1), 12.706204736432095);
  expect_near("demo::t_quantile(0.95, 2)", demo::t_quantile(0.95, 2), 4.302652729911275);
  expect_near("demo::t_quantile(0.90, 4)", demo::t_quantile(0.90, 4), 2.13184678133629);
  EXPECT_THROW(demo::t_quantile(0.95, 0), std::invalid_argument);
  EXPECT_THROW(demo::t_quantile(1.0, 3), std::invalid_argument);
}

TEST(DemoStatistics, PairedIntervalsAndTheirVerdicts) {
  const std::vector<double> base{70, 72, 74};
  // Differences 3, 2, 5: mean 3.333, sd 1.528; the interval spans zero.
  const auto unclear = demo::compare_paired({73, 74, 79}, base);
  EXPECT_EQ(unclear.differences, (std::vector<double>{3, 2, 5}));
  expect_near("unclear.mean", unclear.mean, 3.3333333333333335);
  expect_near("unclear.low", unclear.low, -0.46124970040613134);
  expect_near("unclear.high", unclear.high, 7.127916367072798);
  EXPECT_EQ(demo::verdict(unclear, "student"), "no difference shown: +3.33 [-0.46, +7.13]");
  // Differences 5, 4, 4: the whole interval above zero.
  const auto better = demo::compare_paired({75, 76, 78}, base);
  expect_near("better.low", better.low, 2.8991157566962413);
  expect_near("better.high", better.high, 5.767550909970424);
  EXPECT_EQ(demo::verdict(better, "student"), "beats student by 4.33 [+2.90, +5.77]");
  // Differences -10, -9, -8: the whole interval below zero.
  const auto worse = demo::compare_paired({60, 63, 66}, base);
  expect_near("worse.low", worse.low, -11.484137711843752);
  expect_near("worse.high", worse.high, -6.515862288156248);
  EXPECT_EQ(demo::verdict(worse, "student"), "worse than student by 9.00 [-11.48, -6.52]");
  // Four seeds: 3 degrees of freedom.
  const auto four = demo::compare_paired({51, 61, 72, 81}, {50, 60, 70, 80});
  expect_near("four.low", four.low, 0.4543884236789343);
  expect_near("four.high", four.high, 2.0456115763210656);
  // One seed has no interval; unpaired inputs are refused.
  const auto one = demo::compare_paired({75}, {70});
  EXPECT_FALSE(one.has_interval);
  EXPECT_EQ(demo::verdict(one, "student"), "one seed: no interval");
  EXPECT_THROW(demo::compare_paired({1, 2}, {1, 2, 3}), std::invalid_argument);
  EXPECT_THROW(demo::compare_paired({}, {}), std::invalid_argument);
}

std::vector<demo::Validation> curve(const std::vector<double>& miou) {
  std::vector<demo::Validation> out;
  for (std::size_t i = 0; i < miou.size(); ++i) out.push_back({static_cast<long long>(100 * (i + 1)), miou[i]});
  return out;
}

TEST(DemoStatistics, ConvergenceWantsSixValidationsAndTheLastTwoWithinAPoint) {
  const auto settled = demo::check_convergence(curve({10, 30, 50, 60, 70.5, 71.5}));
  EXPECT_TRUE(settled.converged);
  EXPECT_EQ(settled.reason, "last two validations 70.50 (iteration 500) and 71.50 (iteration 600): 1.00 points apart");
  const auto climbing = demo::check_convergence(curve({10, 30, 50, 60, 70.5, 71.6}));
  EXPECT_FALSE(climbing.converged);
  EXPECT_EQ(climbing.reason, "last two validations 70.50 (iteration 500) and 71.60 (iteration 600): 1.10 points apart");
  EXPECT_FALSE(demo::check_convergence(curve({10, 50, 49.5})).converged);
  EXPECT_EQ(demo::check_convergence(curve({10, 50, 49.5})).reason, "3 validations, 6 wanted");
  EXPECT_TRUE(demo::check_convergence(curve({10, 50, 49.5}), 3, 1.0).converged);
}

TEST(DemoStatistics, ValidationsAreReadOncePerIterationAndPartialLinesSkipped) {
  TempDir dir;
  dir.write("run/metrics.jsonl",
            "{\"type\":\"train\",\"iter\":10,\"loss\":1.0}\n"
            "{\"type\":\"val\",\"iter\":20,\"mIoU\":0.25}\n"
            "{\"type\":\"val\",\"iter\":10,\"mIoU\":0.125}\n"
            "{\"type\":\"val\",\"iter\":20,\"mIoU\":0.5}\n"  // the end of training validates again
            "{\"type\":\"val\",\"iter\":30,\"mI");           // being written
  const auto v = demo::read_validations((dir.path() / "run").string());
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].iteration, 10);
  EXPECT_DOUBLE_EQ(v[0].miou, 12.5);
  EXPECT_EQ(v[1].iteration, 20);
  EXPECT_DOUBLE_EQ(v[1].miou, 50.0);
  EXPECT_THROW(demo::read_validations((dir.path() / "none").string()), std::runtime_error);
}

demo::ModelScores scores(const std::string& name, std::vector<double> miou, std::vector<bool> converged) {
  demo::ModelScores m{name, std::move(miou), {}, 1000};
  for (bool c : converged) m.convergence.push_back({c, c ? "fine" : "last two 1.50 apart"});
  return m;
}

TEST(DemoStatistics, TableShowsEachSeedTheUnconvergedRunsAndTheVerdicts) {
  const std::vector<demo::ModelScores> models{
      scores("teacher", {90}, {true}), scores("student", {70, 72, 74}, {true, true, true}),
      scores("tat", {75, 76, 78}, {true, true, false}), scores("kd", {73, 74, 79}, {true, true, true})};
  const auto table = demo::format_table(models, {"10", "11", "12"}, {{"student", 250.0}}, "student", "tat");
  EXPECT_TRUE(contains(table, "model           mIoU mean +- sd   seed 10  seed 11  seed 12  parameters  converged\n")) << table;
  EXPECT_TRUE(contains(table, "teacher         90.00                                        1000        1 of 1\n")) << table;
  EXPECT_TRUE(contains(table, "tat             76.33 +- 1.53     75.00    76.00    78.00    1000        2 of 3\n")) << table;
  EXPECT_TRUE(contains(table, "  tat seed 12: last two 1.50 apart\n")) << table;
  EXPECT_TRUE(contains(table, "student 250.0 images/s")) << table;
  EXPECT_TRUE(contains(
      table, "  tat             +4.33   [+2.90, +5.77]    +5.00 +4.00 +4.00          beats student by 4.33 [+2.90, +5.77]\n"))
      << table;
  EXPECT_TRUE(contains(
      table,
      "  kd              +3.33   [-0.46, +7.13]    +3.00 +2.00 +5.00          no difference shown: +3.33 [-0.46, +7.13]\n"))
      << table;
  EXPECT_TRUE(contains(table,
                       "headline (tat against student, mIoU points, 95% t-interval over 3 seeds): beats student by 4.33 "
                       "[+2.90, +5.77]; 1 of these runs did not converge (named above)\n"))
      << table;
}

TEST(DemoProgress, PlanEtaAndStatusLine) {
  TempDir dir;
  const auto root = dir.path();
  dir.write("plan.tsv", "a seed 0\t" + (root / "a0").string() + "\t100\t" + (root / "a0.start").string() + "\t" +
                            (root / "a0.done").string() + "\n" + "a seed 1\t" + (root / "a1").string() + "\t100\t" +
                            (root / "a1.start").string() + "\t" + (root / "a1.done").string() + "\n" + "b seed 0\t" +
                            (root / "b0").string() + "\t200\t" + (root / "b0.start").string() + "\t" +
                            (root / "b0.done").string() + "\n");
  const auto plan = demo::read_plan((root / "plan.tsv").string());
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(demo::setting_of(plan[1].label), "a");
  // Seen from outside: a0 finished its 100 iterations in 50 s, a1 has run 40 in 20 s,
  // b0 has not started: it costs as the dearest measured setting (0.5 s per iteration).
  std::vector<demo::RunState> states(3);
  states[0] = {true, true, 100, 60.0, 50.0};
  states[1] = {true, false, 40, 55.5, 20.0};
  // a: (50 + 20) s / 140 iterations = 0.5 s; left: 60 * 0.5 + 200 * 0.5 = 130 s, two at a time.
  EXPECT_DOUBLE_EQ(demo::eta_seconds(plan, states, 2), 65.0);
  EXPECT_EQ(demo::status_line(plan, states, 2), "runs 1/3 | a seed 1: it 40/100 val 55.50 | ETA 1:05");
  EXPECT_LT(demo::eta_seconds(plan, std::vector<demo::RunState>(3), 2), 0);  // nothing measured yet
  // The files: a1 started (its marker) and logged.
  dir.write("a1.start", "");
  dir.write("a1/metrics.jsonl", "{\"type\":\"train\",\"iter\":10}\n{\"type\":\"val\",\"iter\":20,\"mIoU\":0.5}\n{\"type\":\"tr");
  const auto seen = demo::observe(plan[1]);
  EXPECT_TRUE(seen.started);
  EXPECT_FALSE(seen.done);
  EXPECT_EQ(seen.iteration, 20);
  EXPECT_DOUBLE_EQ(seen.last_miou, 50.0);
  EXPECT_FALSE(demo::observe(plan[2]).started);
  // A malformed plan names its file and line.
  dir.write("bad.tsv", "a\tb\tmany\tc\td\n");
  try {
    demo::read_plan((root / "bad.tsv").string());
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(contains(e.what(), "bad.tsv:1: expected LABEL<TAB>WORK_DIR<TAB>ITERATIONS")) << e.what();
  }
}

}  // namespace

#include "segdistill/core/closest_match.hpp"

#include <algorithm>

#include "segdistill/core/error.hpp"

namespace segdistill {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  // Optimal string alignment: a swap of two neighbouring characters (resnet81 for
  // resnet18) is one edit, as users make it.
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::optional<std::string> closest_match(const std::string& name, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = 0;
  for (const auto& candidate : candidates) {
    const std::size_t d = edit_distance(name, candidate);
    if (!best || d < best_distance || (d == best_distance && candidate < *best)) {
      best = candidate;
      best_distance = d;
    }
  }
  // A third of the longer name, at least 2: catches typos and near misses such as
  // resnet81 -> resnet18, without suggesting unrelated names.
  if (best) {
    const std::size_t limit = std::max<std::size_t>(2, std::max(name.size(), best->size()) / 3);
    if (best_distance > limit) best.reset();
  }
  return best;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += separator;
    out += items[i];
  }
  return out;
}

std::string describe_choices(const std::string& name, std::vector<std::string> candidates) {
  if (candidates.empty()) return "(none registered)";
  std::sort(candidates.begin(), candidates.end());
  if (auto best = closest_match(name, candidates)) {
    candidates.erase(std::find(candidates.begin(), candidates.end(), *best));
    candidates.insert(candidates.begin(), *best);
  }
  return join(candidates, ", ");
}

UnknownName::UnknownName(std::string what, std::string name, std::vector<std::string> valid)
    : what_(std::move(what)), name_(std::move(name)), valid_(std::move(valid)) {}

UnknownName& UnknownName::listed_as(std::string label) {
  label_ = std::move(label);
  return *this;
}

UnknownName& UnknownName::order(ChoiceOrder order) {
  order_ = order;
  return *this;
}

UnknownName& UnknownName::unquoted() {
  quoted_ = false;
  return *this;
}

UnknownName& UnknownName::when_none_valid(std::string text) {
  when_none_ = std::move(text);
  return *this;
}

std::string UnknownName::message() const {
  const auto quote = [&](const std::string& s) { return quoted_ ? "'" + s + "'" : s; };
  std::string out = what_ + " " + quote(name_);
  if (auto best = closest_match(name_, valid_)) out += " (did you mean " + quote(*best) + "?)";
  if (valid_.empty() && !when_none_.empty()) return out + "; " + when_none_;
  std::string listed;
  switch (order_) {
    case ChoiceOrder::kSortedClosestFirst:
      listed = describe_choices(name_, valid_);
      break;
    case ChoiceOrder::kSorted: {
      std::vector<std::string> sorted = valid_;
      std::sort(sorted.begin(), sorted.end());
      listed = join(sorted, ", ");
      break;
    }
    case ChoiceOrder::kAsGiven:
      listed = join(valid_, ", ");
      break;
  }
  return out + "; " + label_ + ": " + listed;
}

void UnknownName::raise() const { throw Error(message()); }

}  // namespace segdistill

#pragma once
#include <optional>
#include <string>
#include <vector>

#include "segdistill/core/api.hpp"

namespace segdistill {

// Edit distance between two strings (insertions, deletions, substitutions).
SEGDISTILL_API std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `name`, when it is close enough to be a likely typo.
SEGDISTILL_API std::optional<std::string> closest_match(const std::string& name, const std::vector<std::string>& candidates);

// "a, b, c" of the candidates sorted, with the closest match to `name` moved first
// (written as "did you mean 'x'?" by the callers that want it).
SEGDISTILL_API std::string describe_choices(const std::string& name, std::vector<std::string> candidates);

SEGDISTILL_API std::string join(const std::vector<std::string>& items, const std::string& separator);

// How an UnknownName message lists the valid names.
enum class ChoiceOrder {
  kSorted,              // alphabetical
  kSortedClosestFirst,  // alphabetical, the likely intended name first
  kAsGiven,             // in the caller's order (a network's features, shallow to deep)
};

// The one message for a name that is not among the valid ones:
//
//   <what> 'name' (did you mean 'closest'?); <label>: a, b, c
//
// e.g. UnknownName("run.toml:3: model.backbone.type: unknown backbone", name, names)
//          .listed_as("available backbones").message()
class SEGDISTILL_API UnknownName {
 public:
  UnknownName(std::string what, std::string name, std::vector<std::string> valid);
  UnknownName& listed_as(std::string label);       // default "valid names"
  UnknownName& order(ChoiceOrder order);           // default kSortedClosestFirst
  UnknownName& unquoted();                         // for values that carry their own quotes
  UnknownName& when_none_valid(std::string text);  // replaces "; <label>: ..." when nothing is valid
  std::string message() const;
  [[noreturn]] void raise() const;  // throws Error(message())

 private:
  std::string what_, name_, label_ = "valid names", when_none_;
  std::vector<std::string> valid_;
  ChoiceOrder order_ = ChoiceOrder::kSortedClosestFirst;
  bool quoted_ = true;
};

}  // namespace segdistill

#include "segdistill/distill/distiller.hpp"

#include "segdistill/core/error.hpp"

namespace segdistill {

DistillLosses LabelledPairDistiller::distill(const FeatureList& student, const FeatureList& teacher, const at::Tensor& labels) {
  if (!labels.defined()) throw Error("this distiller takes the batch's labels beside the features, and was called without them");
  return forward(student.front(), teacher.front(), labels);
}

}  // namespace segdistill

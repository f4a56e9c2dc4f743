#include "engine/step.hpp"

#include <ATen/record_function.h>

#include <cmath>
#include <optional>
#include <sstream>

#include "engine/gradient_layout.hpp"

namespace segdistill {

namespace {

// The step's phases are RecordFunction user scopes named "segdistill::<phase>": free when
// nothing observes them, and what tools/bench/step_profile attributes time (and, through
// the autograd sequence numbers, backward time) to.
#define SEGDISTILL_PHASE(name) RECORD_USER_SCOPE("segdistill::" name)

// The losses of one rank's part of the batch. The segmentation loss comes as a sum and
// its normaliser, so that the mean can be taken over the labelled pixels of the global batch.
struct StepLosses {
  PixelSum segmentation;
  std::optional<PixelSum> aux;                // train.aux_weight > 0: the same loss on the auxiliary head's logits
  std::map<std::string, at::Tensor> distill;  // "loss_<name>": weighted term, mean over this rank's samples
  std::map<std::string, at::Tensor> terms;    // "loss_<name>.<key>": its weighted parts, for the logs
};

// The losses and distillers compute in fp32 whatever train.precision is: their softmaxes,
// sums and attention maps need its range and precision.
void features_to_fp32(FeatureMap& features, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    auto it = features.find(name);
    if (it == features.end()) continue;
    if (it->second.scalar_type() != at::kFloat) it->second = it->second.to(at::kFloat);
    it->second = with_gradient_in_own_layout(it->second);
  }
}

StepLosses losses_of(Run& run, const Batch& batch) {
  at::Tensor images, labels;
  {
    SEGDISTILL_PHASE("input_copy");
    images = batch.images.to(run.device);
    labels = batch.labels.to(run.device);
  }
  // Each network gets the images in its own memory format (see train.channels_last).
  const auto input_for = [&](bool channels_last) {
    return channels_last ? images.contiguous(at::MemoryFormat::ChannelsLast) : images;
  };
  StepLosses losses;
  SegmentorOutput student;
  {
    SEGDISTILL_PHASE("student_forward");
    AutocastScope autocast(run.device, run.precision);
    student = run.student->forward(input_for(run.student_channels_last));
  }
  {
    SEGDISTILL_PHASE("segmentation_loss");
    losses.segmentation = run.loss->pixel_sum(student.logits.to(at::kFloat), labels);
    if (run.train.aux_weight > 0) {
      // Resized as the head's logits are (Segmentor::forward), in fp32.
      const at::Tensor aux = student.features.at(run.train.aux_logits).to(at::kFloat);
      losses.aux = run.loss->pixel_sum(
          torch::nn::functional::interpolate(aux, torch::nn::functional::InterpolateFuncOptions()
                                                      .size(std::vector<std::int64_t>{labels.size(1), labels.size(2)})
                                                      .mode(torch::kBilinear)
                                                      .align_corners(true)),
          labels);
    }
  }
  if (run.distillers.empty()) return losses;
  SegmentorOutput teacher;
  {
    // The teacher only hands features over: no autograd graph is kept for it.
    SEGDISTILL_PHASE("teacher_forward");
    torch::NoGradGuard no_grad;
    AutocastScope autocast(run.device, run.precision);
    teacher = run.teacher->forward(input_for(run.teacher_channels_last));
  }
  {
    SEGDISTILL_PHASE("feature_casts");
    features_to_fp32(student.features, run.distilled_student_features);
    features_to_fp32(teacher.features, run.distilled_teacher_features);
  }
  SEGDISTILL_PHASE("distill_loss");
  for (auto& d : run.distillers) {
    const DistillLosses terms = distill_step(d, student.features, teacher.features, labels);
    at::Tensor sum;
    for (const auto& [key, value] : terms) {
      // Logged only, and only where they add to the sum's curve: one term is the sum.
      if (terms.size() > 1) losses.terms[d.loss_name + "." + key] = value.detach() * d.weight;
      sum = sum.defined() ? sum + value : value;
    }
    losses.distill[d.loss_name] = sum * d.weight;
  }
  return losses;
}

// What the ranks agree on each iteration, in one small all-reduce: the global pixel
// count of the segmentation loss, the values to log and whether any rank was asked to stop.
struct StepAgreement {
  double normaliser = 0;
  double mean = 0;      // of the segmentation loss's pixel term over the global batch
  double aux_mean = 0;  // of the auxiliary loss's (same labels, same normaliser)
  std::map<std::string, double> logged;
  bool stop = false;
};

// train.ce_batch_average: the published code divides its (pixel-mean) segmentation loss
// by the batch size once more.
double batch_average_factor(const Run& run) {
  return run.train.ce_batch_average ? 1.0 / static_cast<double>(run.train.batch_size) : 1.0;
}

StepAgreement agree(Run& run, const StepLosses& losses) {
  // One device-to-host copy for every value, not one per value.
  std::vector<at::Tensor> scalars{losses.segmentation.normaliser.detach().to(torch::kDouble),
                                  losses.segmentation.sum.detach().to(torch::kDouble)};
  if (losses.aux) scalars.push_back(losses.aux->sum.detach().to(torch::kDouble));
  for (const auto& [name, term] : losses.distill) scalars.push_back(term.detach().to(torch::kDouble));
  for (const auto& [name, term] : losses.terms) scalars.push_back(term.to(torch::kDouble));
  const at::Tensor host = torch::stack(scalars).cpu();
  std::vector<double> values(host.data_ptr<double>(), host.data_ptr<double>() + host.numel());
  values.push_back(stop_signal().load() != 0 ? 1.0 : 0.0);
  if (run.parallel) {
    std::vector<at::Tensor> reduced{torch::tensor(values, torch::kDouble)};
    run.parallel->collectives().all_reduce_sum(reduced);
    values.assign(reduced[0].data_ptr<double>(), reduced[0].data_ptr<double>() + reduced[0].numel());
  }
  StepAgreement a;
  a.normaliser = values[0];
  // NaN when nothing is labelled: stops the run as a NaN loss would.
  a.mean = values[1] / values[0];
  const double segmentation = run.loss->of_mean(torch::tensor(a.mean, torch::kDouble)).item<double>() * batch_average_factor(run);
  a.logged["loss_" + run.loss->log_name()] = segmentation;
  double total = segmentation;
  std::size_t i = 2;
  if (losses.aux) {
    a.aux_mean = values[i++] / values[0];
    const double aux = run.train.aux_weight * run.loss->of_mean(torch::tensor(a.aux_mean, torch::kDouble)).item<double>() *
                       batch_average_factor(run);
    a.logged["loss_aux"] = aux;
    total += aux;
  }
  for (const auto& [name, term] : losses.distill) {
    a.logged[name] = values[i++] / run.world_size;
    total += a.logged[name];
  }
  for (const auto& [name, term] : losses.terms) a.logged[name] = values[i++] / run.world_size;
  a.logged["loss"] = total;
  a.stop = values[i] > 0;
  return a;
}

[[noreturn]] void stop_on_nonfinite(const Run& run, const std::map<std::string, double>& losses) {
  std::ostringstream terms;
  for (const auto& [name, value] : losses) terms << " " << name << "=" << value;
  throw Error("loss is not finite at iteration " + std::to_string(run.state.iteration + 1) + ":" + terms.str() +
              "; training stopped. The last good checkpoint is " +
              (run.last_checkpoint.empty() ? std::string("(none yet)") : run.last_checkpoint) +
              "; lower the learning rate or check the data, then resume with --resume");
}

// The segmentation loss whose gradient, averaged over the ranks, is the gradient of the
// loss of the global batch's mean: this rank's sum scaled to the global normaliser, and
// for a loss that is a function of the mean, its derivative at the global mean applied
// through a term whose value is the global mean and whose gradient is this rank's.
at::Tensor segmentation_objective(const Run& run, const PixelSum& local, double global_normaliser, double global_mean) {
  const at::Tensor share = local.sum * (static_cast<double>(run.world_size) / global_normaliser);
  const at::Tensor mean = share - share.detach() + global_mean;
  return run.loss->of_mean(mean) * batch_average_factor(run);
}

}  // namespace

StepResult run_step(Run& run, const Batch& batch) {
  const StepLosses losses = losses_of(run, batch);
  StepAgreement agreed;
  {
    SEGDISTILL_PHASE("agree");
    agreed = agree(run, losses);
  }
  if (!std::isfinite(agreed.logged.at("loss"))) stop_on_nonfinite(run, agreed.logged);
  at::Tensor total;
  {
    SEGDISTILL_PHASE("loss_total");
    total = segmentation_objective(run, losses.segmentation, agreed.normaliser, agreed.mean);
    if (losses.aux)
      total = total + run.train.aux_weight * segmentation_objective(run, *losses.aux, agreed.normaliser, agreed.aux_mean);
    for (const auto& [name, term] : losses.distill) total = total + term;
  }
  {
    SEGDISTILL_PHASE("optimizer");
    run.optimizer->zero_grad();
  }
  {
    SEGDISTILL_PHASE("backward");
    run.scaler.scaled(total).backward();
  }
  if (run.parallel) {
    SEGDISTILL_PHASE("gradient_averaging");
    run.parallel->average_gradients();
  }
  SEGDISTILL_PHASE("optimizer");
  std::vector<at::Tensor> params;
  for (auto& g : run.optimizer->param_groups())
    for (auto& p : g.params()) params.push_back(p);
  // Averaged gradients overflow on every rank alike: the ranks skip the same steps.
  const bool finite = run.scaler.unscale(params);
  if (finite && run.train.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params, run.train.grad_clip);
  if (finite) run.optimizer->step();
  StepResult result{agreed.logged, agreed.stop};
  {
    SEGDISTILL_PHASE("distiller_own_steps");
    for (auto& d : run.distillers)
      for (const auto& [key, value] : d.module->after_student_step())
        result.losses[d.loss_name.substr(std::string("loss_").size()) + "." + key] = value;
  }
  if (run.scaler.enabled()) {
    result.losses["amp_loss_scale"] = run.scaler.scale();
    result.losses["amp_skipped_steps"] = static_cast<double>(run.scaler.skipped_steps());
  }
  return result;
}

}  // namespace segdistill

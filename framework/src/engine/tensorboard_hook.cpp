// TensorBoard: what metrics.jsonl records, plus per-class IoU and a prediction grid, as
// event files TensorBoard reads live (tensorboard --logdir WORK_DIR).
#include <cmath>
#include <memory>
#include <random>

#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "engine/builtin_hooks.hpp"
#include "engine/tensorboard/event_writer.hpp"
#include "segdistill/core/error.hpp"
#include "segdistill/core/log.hpp"
#include "segdistill/data/sections.hpp"
#include "segdistill/engine/train_section.hpp"
#include "segdistill/evaluation/evaluation.hpp"
#include "segdistill/evaluation/evaluator.hpp"
#include "segdistill/evaluation/inference.hpp"
#include "segdistill/evaluation/overlay.hpp"
#include "segdistill/modeling/segmentor.hpp"

namespace segdistill {

namespace {

// Rows of the prediction grid: the first val images.
constexpr std::size_t kGridRows = 4;
// Tiles are scaled to this height so that the grid stays small in the event file.
constexpr int kTileHeight = 160;

cv::Mat fit_height(const cv::Mat& image, int interpolation) {
  const double scale = static_cast<double>(kTileHeight) / image.rows;
  cv::Mat out;
  cv::resize(image, out, cv::Size(std::max(1, static_cast<int>(std::lround(image.cols * scale))), kTileHeight), 0, 0,
             interpolation);
  return out;
}

class TensorBoardHook : public Hook {
 public:
  int priority() const override { return priority::kBelowNormal; }

  void before_run(Trainer& trainer) override {
    if (!trainer.writes_outputs()) return;
    writer_ = std::make_unique<tensorboard::EventWriter>(trainer.output_path("tensorboard"));
    writer_->add_session_start(trainer.state().iteration + 1);
    logger()->info("TensorBoard: {} (tensorboard --logdir {})", writer_->path(), trainer.work_dir());
  }

  // What metrics.jsonl records, under train/.
  void after_record(Trainer&, const IterationRecord& record) override {
    if (!writer_ || !record.logged) return;
    std::vector<std::pair<std::string, double>> scalars;
    for (const auto& [name, value] : *record.values) scalars.emplace_back("train/" + name, value);
    writer_->add_scalars(record.iteration, scalars);
  }

  // The student's under val/ and val_IoU/ with the prediction grid; another validated
  // model's (the EMA's) under val_<name>/.
  void after_validation(Trainer& trainer, const ValidationResult& validation) override {
    if (!writer_) return;
    const Metrics& metrics = validation.result->metrics;
    const std::string prefix = validation.is_student() ? "val/" : "val_" + validation.model + "/";
    std::vector<std::pair<std::string, double>> scalars{{prefix + "mIoU", 100 * metrics.miou},
                                                        {prefix + "mAcc", 100 * metrics.macc},
                                                        {prefix + "aAcc", 100 * metrics.aacc},
                                                        {prefix + "fwIoU", 100 * metrics.fwiou}};
    if (validation.is_student()) {
      const std::vector<std::string>& names = validation.result->class_names;
      for (std::size_t c = 0; c < metrics.classes.size(); ++c)
        if (!std::isnan(metrics.classes[c].iou))
          scalars.emplace_back("val_IoU/" + (c < names.size() ? names[c] : std::to_string(c)), 100 * metrics.classes[c].iou);
    }
    writer_->add_scalars(validation.iteration, scalars);
    if (!validation.is_student()) return;
    try {
      write_grid(trainer, validation.iteration);
    } catch (const std::exception& e) {
      // A picture is a convenience: a sample that cannot be drawn must not stop training.
      logger()->warn("TensorBoard: no prediction grid at iteration {}: {}", validation.iteration, e.what());
    }
    trainer.student().train();  // inference left it in eval mode
  }

 private:
  // image | label | prediction for the first val images, at the network's input after the
  // val pipeline (as validation sees them).
  void write_grid(Trainer& trainer, std::int64_t step) {
    const DataSplit& split = trainer.validation_split();
    const DatasetInfo& info = split.dataset->info();
    const EvalSection& options = trainer.eval_options();
    Segmentor& model = trainer.student();
    std::vector<cv::Mat> rows;
    for (std::size_t i = 0; i < std::min(kGridRows, split.dataset->size()); ++i) {
      Sample sample = split.dataset->load(i);
      const cv::Mat shown = sample.image.clone();
      std::mt19937_64 rng(0);
      for (const auto& step_transform : split.pipeline) step_transform->apply(sample, rng);
      cv::Mat image = sample.image;
      if (image.type() != CV_32FC3) image.convertTo(image, CV_32FC3);
      const at::Tensor batch =
          torch::from_blob(image.data, {1, image.rows, image.cols, 3}, torch::kFloat).permute({0, 3, 1, 2}).contiguous();
      const at::Tensor logits = infer_logits(model, batch, options);
      const at::Tensor prediction = logits.argmax(1)[0].to(torch::kByte).cpu().contiguous();
      const cv::Mat predicted = cv::Mat(image.rows, image.cols, CV_8UC1, prediction.data_ptr()).clone();
      cv::Mat picture;
      cv::resize(displayable(shown), picture, predicted.size(), 0, 0, cv::INTER_AREA);
      std::vector<cv::Mat> tiles{fit_height(picture, cv::INTER_AREA)};
      if (!sample.label.empty()) tiles.push_back(fit_height(colourize(sample.label, info), cv::INTER_NEAREST));
      tiles.push_back(fit_height(colourize(predicted, info), cv::INTER_NEAREST));
      cv::Mat row;
      cv::hconcat(tiles, row);
      rows.push_back(row);
    }
    if (rows.empty()) return;
    int width = 0;
    for (const auto& r : rows) width = std::max(width, r.cols);
    for (auto& r : rows)
      if (r.cols < width) cv::copyMakeBorder(r, r, 0, 0, 0, width - r.cols, cv::BORDER_CONSTANT, cv::Scalar(255, 255, 255));
    cv::Mat grid;
    cv::vconcat(rows, grid);
    cv::Mat bgr;
    cv::cvtColor(grid, bgr, cv::COLOR_RGB2BGR);
    std::vector<unsigned char> png;
    if (!cv::imencode(".png", bgr, png)) throw Error("cannot encode the grid as PNG");
    writer_->add_image(step, "val/predictions", png, grid.rows, grid.cols);  // columns: image | label | prediction
  }

  std::unique_ptr<tensorboard::EventWriter> writer_;
};

}  // namespace

std::shared_ptr<Hook> make_tensorboard_hook() { return std::make_shared<TensorBoardHook>(); }

}  // namespace segdistill

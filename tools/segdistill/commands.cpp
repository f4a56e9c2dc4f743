#include "command.hpp"

namespace segdistill::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table{
      {"plugins", "list the loaded plugin libraries and every registry's names", attach_plugins},
      {"config", "show, check and document configurations", attach_config},
      {"train", "train a network, alone or distilled from a teacher", attach_train},
      {"eval", "mIoU of a checkpoint (or of saved predictions) on a configured split", attach_eval},
      {"predict", "masks and overlays for images with a trained checkpoint", attach_predict},
      {"plot", "training curves of one or more runs from their metrics.jsonl, side by side", attach_plot},
      {"import-checkpoint", "convert a PyTorch state dict (torch.save file) into a segdistill checkpoint",
       attach_import_checkpoint},
      {"export-checkpoint",
       "write a checkpoint's (or a config's starting) model, teacher or distiller weights as a PyTorch state dict",
       attach_export_checkpoint},
      {"analyze-model", "parameters and multiply-adds per module and in total, of the model and the teacher",
       attach_analyze_model},
      {"make-toy-dataset", "write the embedded toy data set (VOC layout, procedurally drawn scenes)", attach_make_toy_dataset},
      {"data", "check a configured split or show what the network will see", attach_data},
  };
  return table;
}

}  // namespace segdistill::cli

#include "command.hpp"

namespace segdistill::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table{
      {"plugins", "list the loaded plugin libraries and every registry's names", attach_plugins},
      {"config", "show, check and document configurations", attach_config},
  };
  return table;
}

}  // namespace segdistill::cli

# Batched compilation (CMake unity builds) for the libraries and the command: a file that
# includes LibTorch spends ~7 s loading the 570 MB precompiled header and more parsing
# spdlog, fmt and toml++; compiled 16 at a time, the sources of libsegdistill, the plugins
# and the command take a fraction of that, which keeps a clean build (and CI) short.
# Sources compiled together share one translation unit, so file-local names
# (anonymous namespaces) must differ between files of one target. The tests stay one
# file per compilation: their helpers reuse names freely.
option(SEGDISTILL_UNITY_BUILD
       "Compile libsegdistill, the plugins and the command in batches of files (faster clean builds; OFF for quicker rebuilds of one edited file)"
       ON)

function(segdistill_batch_sources target)
  if(SEGDISTILL_UNITY_BUILD)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 16)
  endif()
endfunction()

# One precompiled LibTorch header for the whole build: torch/torch.h costs ~20 s to
# parse on this class of machine, so every target that includes it reuses this one.
add_library(segdistill_torch_pch OBJECT "${CMAKE_CURRENT_LIST_DIR}/torch_pch.cpp")
target_link_libraries(segdistill_torch_pch PRIVATE ${TORCH_LIBRARIES})
if(SEGDISTILL_WITH_OPENMP)  # the flags of every target that reuses the header
  target_link_libraries(segdistill_torch_pch PRIVATE OpenMP::OpenMP_CXX)
endif()
set_target_properties(segdistill_torch_pch PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_precompile_headers(segdistill_torch_pch PRIVATE <torch/torch.h>)
# The header is reused only by compilations with the same language options, and
# -Wpedantic is one (it changes the predefined __cpp_runtime_arrays).
segdistill_warnings(segdistill_torch_pch)

function(segdistill_use_torch_pch target)
  if(NOT SEGDISTILL_USE_PCH)
    return()
  endif()
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE" AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    # A header precompiled with -fPIC is refused by -fPIE compilations; -fPIC code
    # links into a PIE executable all the same.
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
  target_precompile_headers(${target} REUSE_FROM segdistill_torch_pch)
endfunction()
